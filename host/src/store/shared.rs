//! Helpers both backends share: the column encoding (timestamps as unix
//! milliseconds), normalization, parsing stored names, batching.

use sha2::{Digest, Sha256};

use crate::domain::lifecycle::LeadState;
use crate::domain::model::{NewInboundMessage, NewLead};
use crate::store::error::{StoreError, StoreResult};

/// Rows per multi-row INSERT when importing leads. 500 rows of 20 columns
/// stays well under SQLite's 32766 and PostgreSQL's 65535 bind parameters
/// while amortizing statement overhead; larger batches measured no faster.
pub(crate) const LEAD_BATCH_ROWS: usize = 500;

/// A timestamp as stored (both backends): unix milliseconds, UTC.
pub(crate) fn ms(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_millis()
}

/// A stored timestamp back.
pub(crate) fn from_ms(what: &'static str, ms: i64) -> StoreResult<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone as _;
    chrono::Utc
        .timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| StoreError::corrupt(what, ms))
}

/// An optional stored timestamp back.
pub(crate) fn from_ms_opt(what: &'static str, ms: Option<i64>) -> StoreResult<Option<chrono::DateTime<chrono::Utc>>> {
    ms.map(|ms| from_ms(what, ms)).transpose()
}

/// `NotFound` unless the statement touched a row.
pub(crate) fn touched(rows_affected: u64, entity: &'static str, key: i64) -> StoreResult<()> {
    if rows_affected == 0 {
        Err(StoreError::not_found(entity, key))
    } else {
        Ok(())
    }
}

/// Parses a stored lead state name.
pub(crate) fn parse_lead_state(s: &str) -> StoreResult<LeadState> {
    crate::domain::lifecycle::ALL_STATES
        .into_iter()
        .find(|state| state.as_str() == s)
        .ok_or_else(|| StoreError::corrupt("lead state", s))
}

/// The store's last-line normalization of an address: trimmed, lower case,
/// without NUL characters (which PostgreSQL's text cannot hold, and no
/// address has). (Source-specific rules live in the domain; this one is
/// idempotent with them.)
pub(crate) fn normalize_email(email: &str) -> String {
    let mut normalized = email.trim().to_lowercase();
    if normalized.contains('\0') {
        normalized.retain(|c| c != '\0');
    }
    normalized
}

/// One chunk of an insert: each lead whose normalized address is new to
/// this call, with that address. A later row of an address already seen is
/// recorded in `duplicates` instead (the first row wins).
pub(crate) fn first_rows<'a>(
    chunk: &'a [NewLead],
    seen: &mut std::collections::HashSet<String>,
    duplicates: &mut Vec<String>,
) -> Vec<(&'a NewLead, String)> {
    let mut batch = Vec::with_capacity(chunk.len());
    for lead in chunk {
        let email = normalize_email(&lead.email);
        if seen.insert(email.clone()) {
            batch.push((lead, email));
        } else {
            duplicates.push(email);
        }
    }
    batch
}

/// Takes the `suppressed` addresses out of `batch`, recording them.
pub(crate) fn drop_suppressed(
    batch: &mut Vec<(&NewLead, String)>,
    suppressed: Vec<String>,
    recorded: &mut Vec<String>,
) {
    if suppressed.is_empty() {
        return;
    }
    let set: std::collections::HashSet<&str> = suppressed.iter().map(String::as_str).collect();
    batch.retain(|(_, email)| !set.contains(email.as_str()));
    recorded.extend(suppressed);
}

/// The domain stored for a lead: the source's, normalized, else the
/// address's.
pub(crate) fn lead_domain(lead: &NewLead, email: &str) -> String {
    let domain = lead.domain.trim();
    if domain.is_empty() {
        email_domain(email).to_string()
    } else {
        domain.to_lowercase()
    }
}

/// The part after the last `@`, or "" when there is none.
pub(crate) fn email_domain(email: &str) -> &str {
    email.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

/// The Message-ID to dedupe on: the header, or a stable one derived from the
/// raw bytes when the message has none (so a re-poll still dedupes).
pub(crate) fn inbound_message_id(message: &NewInboundMessage) -> String {
    let id = message.message_id.trim();
    if id.is_empty() {
        format!("<{}@sha256.cam.invalid>", hex::encode(Sha256::digest(&message.raw)))
    } else {
        id.to_string()
    }
}

/// Distinct normalized addresses and domains of `emails`, for one
/// suppression lookup.
pub(crate) fn addresses_and_domains(emails: &[String]) -> (Vec<String>, Vec<String>) {
    let mut addresses: Vec<String> = emails.iter().map(|e| normalize_email(e)).collect();
    addresses.sort_unstable();
    addresses.dedup();
    let mut domains: Vec<String> = addresses
        .iter()
        .map(|a| email_domain(a).to_string())
        .filter(|d| !d.is_empty())
        .collect();
    domains.sort_unstable();
    domains.dedup();
    (addresses, domains)
}

/// Which of `emails` (normalized) are covered by the suppressed `values`
/// (addresses and domains as returned by the lookup).
pub(crate) fn covered_by(emails: &[String], values: &[String]) -> Vec<String> {
    let set: std::collections::HashSet<&str> = values.iter().map(String::as_str).collect();
    let mut out: Vec<String> = emails
        .iter()
        .map(|e| normalize_email(e))
        .filter(|e| set.contains(e.as_str()) || set.contains(email_domain(e)))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Converts a count from the database.
pub(crate) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Converts a small unsigned number from the database.
pub(crate) fn to_u32(what: &'static str, n: i64) -> StoreResult<u32> {
    u32::try_from(n).map_err(|_| StoreError::corrupt(what, n))
}

/// A `Duration` in whole milliseconds for timestamp arithmetic.
pub(crate) fn chrono_ttl(ttl: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)
}

/// `now + ttl`, saturating far in the future instead of overflowing.
pub(crate) fn expiry(now: chrono::DateTime<chrono::Utc>, ttl: std::time::Duration) -> chrono::DateTime<chrono::Utc> {
    now.checked_add_signed(chrono_ttl(ttl))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

/// The JSON column holding a campaign's structured configuration.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct CampaignConfigJson {
    pub mailboxes: Vec<crate::domain::model::Mailbox>,
    pub send_window: crate::domain::model::SendWindowSpec,
    pub steps: Vec<crate::domain::model::SequenceStep>,
    pub plugins: crate::domain::model::PluginBindings,
    /// Added after the first release: older rows read as the defaults.
    #[serde(default)]
    pub goal: String,
    #[serde(default)]
    pub after_last_step: crate::domain::model::AfterLastStep,
}

impl CampaignConfigJson {
    /// The JSON part of `c`.
    pub fn new(c: &crate::domain::model::NewCampaign) -> Self {
        CampaignConfigJson {
            mailboxes: c.mailboxes.clone(),
            send_window: c.send_window.clone(),
            steps: c.steps.clone(),
            plugins: c.plugins.clone(),
            goal: c.goal.clone(),
            after_last_step: c.after_last_step,
        }
    }
}

/// Serializes a value for a JSON column.
pub(crate) fn to_json<T: serde::Serialize>(what: &'static str, v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::corrupt(what, e))
}

/// Parses a JSON column.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(what: &'static str, s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::corrupt(what, e))
}

/// Checks a batch of enrichments before any row is written: every
/// transition is a lifecycle edge and belongs to its row's lead. Returns the
/// indexes of rows to write, leaving out repeats of a lead already in the
/// batch (those are reported as skipped).
pub(crate) fn check_enrichments(
    updates: &[crate::store::EnrichmentUpdate],
    skipped: &mut Vec<i64>,
) -> StoreResult<Vec<usize>> {
    let mut seen = std::collections::HashSet::with_capacity(updates.len());
    let mut keep = Vec::with_capacity(updates.len());
    for (i, u) in updates.iter().enumerate() {
        if let Some(t) = &u.transition {
            crate::domain::lifecycle::transition(t.from, t.to)?;
            if t.lead_id != u.lead_id {
                return Err(StoreError::Conflict(format!(
                    "the transition of lead {} is recorded for lead {}",
                    u.lead_id, t.lead_id
                )));
            }
        }
        if seen.insert(u.lead_id) {
            keep.push(i);
        } else {
            skipped.push(u.lead_id);
        }
    }
    Ok(keep)
}

/// The ids of `ids` not in `applied`, in order.
pub(crate) fn not_applied(ids: impl Iterator<Item = i64>, applied: &std::collections::HashSet<i64>) -> Vec<i64> {
    ids.filter(|id| !applied.contains(id)).collect()
}
