//! How many bytes a value puts across the component boundary: strings and
//! lists by their length, scalars by their size. Used to enforce the input
//! and output caps of a call.

use super::bindings::http::Response;
use super::bindings::types::{
    Attribute, CampaignSnapshot, Classification, Decision, Enrichment, InboundReply, Lead, LeadPage, PluginInfo,
    ReplyLabel, Score,
};

/// The size of a value as it crosses the boundary.
pub trait WireSize {
    /// Bytes, counting string and list contents plus a fixed cost per scalar.
    fn wire_size(&self) -> usize;
}

/// Flat cost of a scalar or a list/string header.
const SCALAR: usize = 8;

impl WireSize for String {
    fn wire_size(&self) -> usize {
        SCALAR + self.len()
    }
}

impl WireSize for str {
    fn wire_size(&self) -> usize {
        SCALAR + self.len()
    }
}

impl WireSize for u8 {
    fn wire_size(&self) -> usize {
        1
    }
}

impl<T: WireSize> WireSize for [T] {
    fn wire_size(&self) -> usize {
        SCALAR + self.iter().map(WireSize::wire_size).sum::<usize>()
    }
}

impl<T: WireSize> WireSize for Vec<T> {
    fn wire_size(&self) -> usize {
        self.as_slice().wire_size()
    }
}

impl<T: WireSize> WireSize for Option<T> {
    fn wire_size(&self) -> usize {
        SCALAR + self.as_ref().map_or(0, WireSize::wire_size)
    }
}

impl<T: WireSize, E: WireSize> WireSize for Result<T, E> {
    fn wire_size(&self) -> usize {
        SCALAR
            + match self {
                Ok(v) => v.wire_size(),
                Err(e) => e.wire_size(),
            }
    }
}

impl<A: WireSize + ?Sized> WireSize for &A {
    fn wire_size(&self) -> usize {
        (**self).wire_size()
    }
}

impl WireSize for Attribute {
    fn wire_size(&self) -> usize {
        self.key.wire_size() + self.value.wire_size()
    }
}

impl WireSize for Lead {
    fn wire_size(&self) -> usize {
        self.email.wire_size()
            + self.first_name.wire_size()
            + self.last_name.wire_size()
            + self.company.wire_size()
            + self.domain.wire_size()
            + self.title.wire_size()
            + self.country.wire_size()
            + self.timezone.wire_size()
            + SCALAR
            + self.attributes.wire_size()
    }
}

impl WireSize for Enrichment {
    fn wire_size(&self) -> usize {
        self.email.wire_size()
            + SCALAR
            + self.company.wire_size()
            + self.domain.wire_size()
            + self.title.wire_size()
            + self.country.wire_size()
            + SCALAR
            + self.attributes.wire_size()
            + self.notes.wire_size()
    }
}

impl WireSize for Score {
    fn wire_size(&self) -> usize {
        SCALAR + self.reasons.wire_size()
    }
}

impl WireSize for ReplyLabel {
    fn wire_size(&self) -> usize {
        SCALAR
            + match self {
                ReplyLabel::Referral(r) => r.email.wire_size() + r.name.wire_size(),
                _ => SCALAR,
            }
    }
}

impl WireSize for Classification {
    fn wire_size(&self) -> usize {
        self.label.wire_size() + SCALAR + self.reason.wire_size()
    }
}

impl WireSize for InboundReply {
    fn wire_size(&self) -> usize {
        self.from.wire_size()
            + self.subject.wire_size()
            + self.body.wire_size()
            + self.headers.wire_size()
            + self.lead.wire_size()
            + SCALAR
    }
}

impl WireSize for Decision {
    fn wire_size(&self) -> usize {
        use super::bindings::types::Action;
        let action = match &self.action {
            Action::MoveLead(m) => m.email.wire_size(),
            Action::RaiseAlert(text) => text.wire_size(),
            _ => SCALAR,
        };
        SCALAR + action + self.reason.wire_size()
    }
}

impl WireSize for CampaignSnapshot {
    fn wire_size(&self) -> usize {
        self.campaign.wire_size() + 16 * SCALAR + self.leads_by_state.len() * 2 * SCALAR
    }
}

impl WireSize for LeadPage {
    fn wire_size(&self) -> usize {
        self.leads.wire_size() + self.next_cursor.wire_size()
    }
}

impl WireSize for PluginInfo {
    fn wire_size(&self) -> usize {
        self.name.wire_size()
            + self.version.wire_size()
            + self.description.wire_size()
            + SCALAR * (1 + self.needs.len())
    }
}

impl WireSize for Response {
    fn wire_size(&self) -> usize {
        SCALAR + self.headers.wire_size() + self.body.wire_size()
    }
}
