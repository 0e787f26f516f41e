//! Conversions between stored leads and what plugins see.

use crate::domain::lifecycle::LeadState;
use crate::domain::model::Lead;
use crate::runtime::bindings::types;

/// A stored lead as the WIT `lead` record.
pub fn lead(lead: &Lead) -> types::Lead {
    let f = &lead.fields;
    types::Lead {
        email: f.email.clone(),
        first_name: f.first_name.clone(),
        last_name: f.last_name.clone(),
        company: f.company.clone(),
        domain: f.domain.clone(),
        title: f.title.clone(),
        country: f.country.clone(),
        timezone: f.time_zone.clone(),
        employees: f.employees,
        attributes: f
            .attributes
            .iter()
            .map(|(key, value)| types::Attribute {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
    }
}

/// A lifecycle state as the WIT enum.
pub fn state(state: LeadState) -> types::LeadState {
    match state {
        LeadState::New => types::LeadState::New,
        LeadState::Enriched => types::LeadState::Enriched,
        LeadState::Contacted => types::LeadState::Contacted,
        LeadState::Interested => types::LeadState::Interested,
        LeadState::Qualified => types::LeadState::Qualified,
        LeadState::Lost => types::LeadState::Lost,
        LeadState::Nurture => types::LeadState::Nurture,
        LeadState::Dead => types::LeadState::Dead,
    }
}

/// A WIT lead state as the lifecycle's.
pub fn from_state(state: types::LeadState) -> LeadState {
    match state {
        types::LeadState::New => LeadState::New,
        types::LeadState::Enriched => LeadState::Enriched,
        types::LeadState::Contacted => LeadState::Contacted,
        types::LeadState::Interested => LeadState::Interested,
        types::LeadState::Qualified => LeadState::Qualified,
        types::LeadState::Lost => LeadState::Lost,
        types::LeadState::Nurture => LeadState::Nurture,
        types::LeadState::Dead => LeadState::Dead,
    }
}
