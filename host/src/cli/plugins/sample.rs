//! The input `cam plugins check` calls a plugin's main function with: a
//! built-in sample per kind, or a JSON file of the same shape (`--input`),
//! and the output shown as JSON.
//!
//! The JSON shapes (every field may be left out; it is then empty, zero or
//! none; an unknown field is an error, so a typo does not go unnoticed):
//!
//! - lead-source: `{"cursor": null, "limit": 10}`
//! - enricher, scorer: a list of leads, `[{"email": "ada@acme.com",
//!   "first_name": "Ada", "last_name": "Lovelace", "company": "Acme",
//!   "domain": "acme.com", "title": "CTO", "country": "DE", "timezone":
//!   "Europe/Berlin", "employees": 120, "attributes": {"hiring": "true"}}]`
//! - reply-classifier: `{"from": "ada@acme.com", "subject": "Re: hello",
//!   "body": "Sounds good, call me.", "headers": {"Auto-Submitted": "no"},
//!   "lead": {...a lead...}, "received_at": 1767225600}`
//! - decision-rule: `{"campaign": "q1", "status": "running", "goal": 10,
//!   "daily_cap": 50, "started_at": 1767225600, "now": 1769904000,
//!   "metrics": {"sent": 400, "replied": 30, "positive": 6, "negative": 12,
//!   "bounced": 14, "unsubscribed": 3, "complaints": 0, "qualified": 2},
//!   "leads_by_state": {"new": 120, "contacted": 380, "qualified": 2}}`

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::plugins::PluginKind;
use crate::runtime::bindings::types::{
    Action, Attribute, BounceKind, CampaignMetrics, CampaignSnapshot, CampaignStatus, Classification, Decision,
    Enrichment, InboundReply, Lead, LeadPage, LeadState, ReplyLabel, Score, StateCount,
};

/// The `--help` text of `--input`: the shape per kind.
pub const INPUT_HELP: &str = "A JSON file to call the plugin's main function with instead of the built-in sample. \
Its shape depends on the kind (fields may be left out; unknown fields are an error): \
lead-source: {\"cursor\": null, \"limit\": 10}; \
enricher and scorer: a list of leads, [{\"email\": \"ada@acme.com\", \"first_name\": \"Ada\", \"last_name\": \"Lovelace\", \
\"company\": \"Acme\", \"domain\": \"acme.com\", \"title\": \"CTO\", \"country\": \"DE\", \"timezone\": \"Europe/Berlin\", \
\"employees\": 120, \"attributes\": {\"hiring\": \"true\"}}]; \
reply-classifier: {\"from\": \"ada@acme.com\", \"subject\": \"Re: hello\", \"body\": \"Sounds good\", \
\"headers\": {\"Auto-Submitted\": \"no\"}, \"lead\": null, \"received_at\": 1767225600}; \
decision-rule: {\"campaign\": \"q1\", \"status\": \"running\", \"goal\": 10, \"daily_cap\": 50, \"started_at\": 1767225600, \
\"now\": 1769904000, \"metrics\": {\"sent\": 400, \"replied\": 30, \"positive\": 6, \"negative\": 12, \"bounced\": 14, \
\"unsubscribed\": 3, \"complaints\": 0, \"qualified\": 2}, \"leads_by_state\": {\"new\": 120, \"contacted\": 380}}";

/// What the main function of a plugin is called with.
#[derive(Debug, Clone)]
pub enum CallInput {
    /// `next_page(cursor, limit)`.
    NextPage {
        /// Where to start; `None` from the beginning.
        cursor: Option<String>,
        /// Most leads wanted.
        limit: u32,
    },
    /// `enrich(leads)` or `score(leads)`.
    Leads(Vec<Lead>),
    /// `classify(reply)`.
    Reply(Box<InboundReply>),
    /// `decide(snapshot)`.
    Snapshot(Box<CampaignSnapshot>),
}

impl CallInput {
    /// The call in words: `score(3 leads)`.
    pub fn describe(&self, kind: PluginKind) -> String {
        match self {
            CallInput::NextPage { cursor, limit } => match cursor {
                Some(cursor) => format!("next-page({cursor:?}, {limit})"),
                None => format!("next-page(none, {limit})"),
            },
            CallInput::Leads(leads) => {
                let function = if kind == PluginKind::Enricher {
                    "enrich"
                } else {
                    "score"
                };
                format!(
                    "{function}({} lead{})",
                    leads.len(),
                    if leads.len() == 1 { "" } else { "s" }
                )
            }
            CallInput::Reply(reply) => format!("classify(reply {:?})", reply.subject),
            CallInput::Snapshot(snapshot) => format!("decide(campaign {:?})", snapshot.campaign),
        }
    }
}

/// The built-in sample for `kind`. `now` is the check's clock, unix seconds.
pub fn sample(kind: PluginKind, now: i64) -> CallInput {
    match kind {
        PluginKind::LeadSource => CallInput::NextPage {
            cursor: None,
            limit: 10,
        },
        PluginKind::Enricher | PluginKind::Scorer => CallInput::Leads(sample_leads()),
        PluginKind::ReplyClassifier => CallInput::Reply(Box::new(InboundReply {
            from: "ada.lovelace@analytical-engines.de".into(),
            subject: "Re: Faster onboarding for Analytical Engines".into(),
            body: "Hi,\n\nthanks for reaching out. This sounds interesting: could we talk next Tuesday \
                   afternoon? Please send me a few times that suit you.\n\nBest,\nAda\n\n\
                   > On Mon, you wrote:\n> Would a 15-minute call be worth it?"
                .into(),
            headers: vec![attribute("In-Reply-To", "<cam-1-0@outreach.example>")],
            lead: sample_leads().into_iter().next(),
            received_at: now,
        })),
        PluginKind::DecisionRule => CallInput::Snapshot(Box::new(CampaignSnapshot {
            campaign: "sample".into(),
            status: CampaignStatus::Running,
            goal: 10,
            daily_cap: 50,
            started_at: now - 30 * 86_400,
            now,
            metrics: CampaignMetrics {
                sent: 400,
                replied: 30,
                positive: 6,
                negative: 12,
                bounced: 14,
                unsubscribed: 3,
                complaints: 0,
                qualified: 2,
            },
            leads_by_state: vec![
                StateCount {
                    state: LeadState::New,
                    count: 120,
                },
                StateCount {
                    state: LeadState::Contacted,
                    count: 360,
                },
                StateCount {
                    state: LeadState::Interested,
                    count: 6,
                },
                StateCount {
                    state: LeadState::Qualified,
                    count: 2,
                },
                StateCount {
                    state: LeadState::Lost,
                    count: 12,
                },
            ],
        })),
    }
}

fn attribute(key: &str, value: &str) -> Attribute {
    Attribute {
        key: key.into(),
        value: value.into(),
    }
}

/// Three leads as a source and an enricher would pass them on: a CTO at a
/// mid-sized German company, a marketing manager at a small Austrian one,
/// and a role account on a free-mail domain with little known.
fn sample_leads() -> Vec<Lead> {
    vec![
        Lead {
            email: "ada.lovelace@analytical-engines.de".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            company: "Analytical Engines GmbH".into(),
            domain: "analytical-engines.de".into(),
            title: "CTO".into(),
            country: "DE".into(),
            timezone: "Europe/Berlin".into(),
            employees: Some(120),
            attributes: vec![attribute("hiring", "true"), attribute("employee_band", "51-200")],
        },
        Lead {
            email: "grace.hopper@cobol-consulting.at".into(),
            first_name: "Grace".into(),
            last_name: "Hopper".into(),
            company: "COBOL Consulting".into(),
            domain: "cobol-consulting.at".into(),
            title: "Marketing Manager".into(),
            country: "AT".into(),
            timezone: "Europe/Vienna".into(),
            employees: Some(12),
            attributes: vec![],
        },
        Lead {
            email: "info@gmail.com".into(),
            first_name: String::new(),
            last_name: String::new(),
            company: String::new(),
            domain: "gmail.com".into(),
            title: String::new(),
            country: "US".into(),
            timezone: String::new(),
            employees: None,
            attributes: vec![attribute("role_account", "true"), attribute("free_mail", "true")],
        },
    ]
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct PageJson {
    cursor: Option<String>,
    limit: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct LeadJson {
    email: String,
    first_name: String,
    last_name: String,
    company: String,
    domain: String,
    title: String,
    country: String,
    timezone: String,
    employees: Option<u32>,
    attributes: BTreeMap<String, String>,
}

impl From<LeadJson> for Lead {
    fn from(l: LeadJson) -> Lead {
        Lead {
            email: l.email,
            first_name: l.first_name,
            last_name: l.last_name,
            company: l.company,
            domain: l.domain,
            title: l.title,
            country: l.country,
            timezone: l.timezone,
            employees: l.employees,
            attributes: attributes(l.attributes),
        }
    }
}

fn attributes(map: BTreeMap<String, String>) -> Vec<Attribute> {
    map.into_iter().map(|(key, value)| Attribute { key, value }).collect()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ReplyJson {
    from: String,
    subject: String,
    body: String,
    headers: BTreeMap<String, String>,
    lead: Option<LeadJson>,
    received_at: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct MetricsJson {
    sent: u32,
    replied: u32,
    positive: u32,
    negative: u32,
    bounced: u32,
    unsubscribed: u32,
    complaints: u32,
    qualified: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum StatusJson {
    #[default]
    Running,
    Paused,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
enum StateJson {
    New,
    Enriched,
    Contacted,
    Interested,
    Qualified,
    Lost,
    Nurture,
    Dead,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SnapshotJson {
    campaign: String,
    status: StatusJson,
    goal: u32,
    daily_cap: u32,
    started_at: Option<i64>,
    now: Option<i64>,
    metrics: MetricsJson,
    leads_by_state: BTreeMap<StateJson, u32>,
}

/// Reads `--input FILE` as the input of a `kind` plugin. `now` (unix
/// seconds) fills the times the file leaves out. The error names the file,
/// the kind and what is wrong, with line and column.
pub fn read_input(path: &Path, kind: PluginKind, now: i64) -> anyhow::Result<CallInput> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read the input file {}: {e}", path.display()))?;
    let wrong = |e: serde_json::Error| {
        anyhow::anyhow!(
            "the input file {} is not valid {kind} input: {e}. Expected {}; see `cam plugins check --help`",
            path.display(),
            expected(kind)
        )
    };
    Ok(match kind {
        PluginKind::LeadSource => {
            let page: PageJson = serde_json::from_str(&text).map_err(wrong)?;
            CallInput::NextPage {
                cursor: page.cursor,
                limit: page.limit.unwrap_or(10),
            }
        }
        PluginKind::Enricher | PluginKind::Scorer => {
            let leads: Vec<LeadJson> = serde_json::from_str(&text).map_err(wrong)?;
            CallInput::Leads(leads.into_iter().map(Lead::from).collect())
        }
        PluginKind::ReplyClassifier => {
            let reply: ReplyJson = serde_json::from_str(&text).map_err(wrong)?;
            CallInput::Reply(Box::new(InboundReply {
                from: reply.from,
                subject: reply.subject,
                body: reply.body,
                headers: attributes(reply.headers),
                lead: reply.lead.map(Lead::from),
                received_at: reply.received_at.unwrap_or(now),
            }))
        }
        PluginKind::DecisionRule => {
            let s: SnapshotJson = serde_json::from_str(&text).map_err(wrong)?;
            let m = s.metrics;
            CallInput::Snapshot(Box::new(CampaignSnapshot {
                campaign: s.campaign,
                status: match s.status {
                    StatusJson::Running => CampaignStatus::Running,
                    StatusJson::Paused => CampaignStatus::Paused,
                    StatusJson::Done => CampaignStatus::Done,
                },
                goal: s.goal,
                daily_cap: s.daily_cap,
                started_at: s.started_at.unwrap_or(now),
                now: s.now.unwrap_or(now),
                metrics: CampaignMetrics {
                    sent: m.sent,
                    replied: m.replied,
                    positive: m.positive,
                    negative: m.negative,
                    bounced: m.bounced,
                    unsubscribed: m.unsubscribed,
                    complaints: m.complaints,
                    qualified: m.qualified,
                },
                leads_by_state: s
                    .leads_by_state
                    .into_iter()
                    .map(|(state, count)| StateCount {
                        state: lead_state(state),
                        count,
                    })
                    .collect(),
            }))
        }
    })
}

fn expected(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::LeadSource => "an object such as {\"cursor\": null, \"limit\": 10}",
        PluginKind::Enricher | PluginKind::Scorer => {
            "a list of leads such as [{\"email\": \"ada@acme.com\", \"title\": \"CTO\", \"employees\": 120, \"attributes\": {}}]"
        }
        PluginKind::ReplyClassifier => {
            "an object such as {\"from\": \"ada@acme.com\", \"subject\": \"Re: hello\", \"body\": \"...\", \"headers\": {}}"
        }
        PluginKind::DecisionRule => {
            "an object such as {\"campaign\": \"q1\", \"status\": \"running\", \"goal\": 10, \"metrics\": {\"sent\": 400}, \"leads_by_state\": {\"new\": 120}}"
        }
    }
}

fn lead_state(state: StateJson) -> LeadState {
    match state {
        StateJson::New => LeadState::New,
        StateJson::Enriched => LeadState::Enriched,
        StateJson::Contacted => LeadState::Contacted,
        StateJson::Interested => LeadState::Interested,
        StateJson::Qualified => LeadState::Qualified,
        StateJson::Lost => LeadState::Lost,
        StateJson::Nurture => LeadState::Nurture,
        StateJson::Dead => LeadState::Dead,
    }
}

fn state_name(state: LeadState) -> &'static str {
    match state {
        LeadState::New => "new",
        LeadState::Enriched => "enriched",
        LeadState::Contacted => "contacted",
        LeadState::Interested => "interested",
        LeadState::Qualified => "qualified",
        LeadState::Lost => "lost",
        LeadState::Nurture => "nurture",
        LeadState::Dead => "dead",
    }
}

fn attributes_json(attributes: &[Attribute]) -> Value {
    Value::Object(
        attributes
            .iter()
            .map(|a| (a.key.clone(), Value::String(a.value.clone())))
            .collect(),
    )
}

fn lead_json(lead: &Lead) -> Value {
    json!({
        "email": lead.email,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "company": lead.company,
        "domain": lead.domain,
        "title": lead.title,
        "country": lead.country,
        "timezone": lead.timezone,
        "employees": lead.employees,
        "attributes": attributes_json(&lead.attributes),
    })
}

/// A lead page as JSON.
pub fn page_json(page: &LeadPage) -> Value {
    json!({
        "leads": page.leads.iter().map(lead_json).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
    })
}

/// An enricher's results as JSON: `{"ok": {...}}` or `{"error": "..."}` per lead.
pub fn enrichments_json(results: &[Result<Enrichment, String>]) -> Value {
    Value::Array(
        results
            .iter()
            .map(|r| match r {
                Ok(e) => json!({ "ok": {
                    "email": e.email,
                    "deliverable": e.deliverable,
                    "company": e.company,
                    "domain": e.domain,
                    "title": e.title,
                    "country": e.country,
                    "employees": e.employees,
                    "attributes": attributes_json(&e.attributes),
                    "notes": e.notes,
                }}),
                Err(message) => json!({ "error": message }),
            })
            .collect(),
    )
}

/// Scores as JSON.
pub fn scores_json(scores: &[Score]) -> Value {
    Value::Array(
        scores
            .iter()
            .map(|s| json!({ "value": s.value, "reasons": s.reasons }))
            .collect(),
    )
}

/// A classification as JSON.
pub fn classification_json(c: &Classification) -> Value {
    let (label, detail) = match &c.label {
        ReplyLabel::Interested => ("interested", Value::Null),
        ReplyLabel::NotInterested => ("not-interested", Value::Null),
        ReplyLabel::Referral(r) => ("referral", json!({ "email": r.email, "name": r.name })),
        ReplyLabel::Question => ("question", Value::Null),
        ReplyLabel::OutOfOffice(date) => (
            "out-of-office",
            date.as_ref()
                .map(|d| json!(format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)))
                .unwrap_or(Value::Null),
        ),
        ReplyLabel::Unsubscribe => ("unsubscribe", Value::Null),
        ReplyLabel::Bounce(kind) => (
            "bounce",
            json!(match kind {
                BounceKind::Hard => "hard",
                BounceKind::Soft => "soft",
            }),
        ),
        ReplyLabel::AutoReply => ("auto-reply", Value::Null),
        ReplyLabel::Unknown => ("unknown", Value::Null),
    };
    let mut out = json!({ "label": label, "confidence": c.confidence, "reason": c.reason });
    if !detail.is_null() {
        out["detail"] = detail;
    }
    out
}

/// Decisions as JSON.
pub fn decisions_json(decisions: &[Decision]) -> Value {
    Value::Array(
        decisions
            .iter()
            .map(|d| {
                let action = match &d.action {
                    Action::PauseCampaign => json!("pause-campaign"),
                    Action::ResumeCampaign => json!("resume-campaign"),
                    Action::CompleteCampaign => json!("complete-campaign"),
                    Action::SetDailyCap(cap) => json!({ "set-daily-cap": cap }),
                    Action::MoveLead(m) => json!({ "move-lead": { "email": m.email, "to": state_name(m.to) } }),
                    Action::RaiseAlert(text) => json!({ "raise-alert": text }),
                    Action::Nothing => json!("nothing"),
                };
                json!({ "action": action, "reason": d.reason })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_sample_and_a_lead_list_reads_with_defaults() {
        for kind in PluginKind::ALL {
            assert!(!sample(kind, 1_767_225_600).describe(kind).is_empty());
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("leads.json");
        std::fs::write(&file, r#"[{"email": "a@b.de", "attributes": {"hiring": "true"}}]"#).expect("write");
        let CallInput::Leads(leads) = read_input(&file, PluginKind::Scorer, 0).expect("reads") else {
            panic!("not leads");
        };
        assert_eq!(leads[0].email, "a@b.de");
        assert_eq!(leads[0].attributes[0].key, "hiring");
    }

    #[test]
    fn a_malformed_input_names_the_file_and_the_field() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("snapshot.json");
        std::fs::write(&file, r#"{"campaign": "q1", "metrcs": {}}"#).expect("write");
        let error = read_input(&file, PluginKind::DecisionRule, 0)
            .expect_err("fails")
            .to_string();
        assert!(error.contains("snapshot.json") && error.contains("metrcs"), "{error}");
        assert!(error.contains("decision-rule"), "{error}");
    }
}
