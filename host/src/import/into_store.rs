//! Importing a CSV file into a campaign: the one code path that `cam import`
//! and the import benchmark share.
//!
//! Reading and storing overlap: a blocking thread parses the file with
//! [`LeadImport`] and hands batches of leads ([`BATCH_SIZE`] on SQLite, ten
//! times that on PostgreSQL) with the
//! rows it rejected in between over a channel two batches deep, while the
//! calling task stores each batch with [`Leads::insert_leads`](crate::store::Leads::insert_leads). Memory holds a
//! few batches, whatever the size of the file: nothing is kept per row. The
//! summary lists the first [`MAX_LISTED_REJECTIONS`] rejected rows and counts
//! the rest; [`import_leads_streaming`] hands every one of them, in line
//! order, to a callback.
//!
//! The database is the dedupe authority. Each lead records where it came
//! from as its `source_version`, `<file>:<line>` (`leads.csv:42`), and its
//! address is unique per tenant, so a row whose address is already stored
//! is skipped by the insert, whether it came earlier in this file or from
//! anywhere before. Only for those (rare) rows does the import look the
//! stored lead up, to tell the two apart and to name the line the address
//! first appeared on. That is also why importing the same file again
//! imports nothing and changes nothing. A dry run writes nothing the
//! database could catch repeats with, so it keeps the reader's in-file set
//! (a 16-byte digest per distinct address) instead.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};
use serde::Serialize;
use tokio::sync::mpsc;

use super::{BATCH_SIZE, ImportError, ImportOptions, ImportRow, LeadImport, RejectReason, RowOutcome};
use crate::domain::model::{Lead, NewLead, SuppressionKind};
use crate::domain::suppression::SuppressionList;
use crate::store::{Backend, Store, StoreError};

/// Batches in flight between the reading thread and the store: one being
/// stored, one being read, one waiting. More would only hold memory.
const BATCHES_IN_FLIGHT: usize = 2;

/// Rejected rows listed in [`ImportSummary::rejected_rows`]; the rest are
/// counted (in [`ImportSummary::rejected`] and
/// [`ImportSummary::rejected_rows_not_listed`]) but not kept, so a file of
/// millions of bad rows imports in flat memory too.
pub const MAX_LISTED_REJECTIONS: usize = 10_000;

/// The `kind` of a row whose address is already a lead of the tenant.
pub const ALREADY_IMPORTED: &str = "already_imported";

/// The `source_plugin` recorded on imported leads.
pub const IMPORT_SOURCE: &str = "csv-import";

/// Where the leads go.
#[derive(Debug, Clone)]
pub struct ImportTarget {
    /// The tenant.
    pub tenant: String,
    /// The campaign that owns the new leads.
    pub campaign_id: i64,
    /// Recorded with the line in each lead's `source_version`
    /// (`<source_name>:<line>`, the file name, say: `leads.csv:42`), so a
    /// lead can be traced to the row it came from.
    pub source_name: String,
    /// Read and check everything, compare with the database, write nothing.
    pub dry_run: bool,
}

/// One row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RejectedRow {
    /// The physical line where the record starts (1 is the header).
    pub line: u64,
    /// A stable short name: [`super::RejectReason::kind`] or
    /// [`ALREADY_IMPORTED`].
    pub kind: &'static str,
    /// The reason, as a sentence.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ImportSummary {
    /// Records read, header excluded: `imported` plus every rejection.
    pub rows: u64,
    /// Leads stored (in a dry run: that would have been stored).
    pub imported: u64,
    /// Rows not imported, by kind (every one, listed or not).
    pub rejected: BTreeMap<&'static str, u64>,
    /// Addresses repeated within the file.
    pub duplicates_in_file: u64,
    /// Addresses the tenant already had as leads.
    pub duplicates_in_database: u64,
    /// Addresses (or domains) on the tenant's suppression list.
    pub suppressed: u64,
    /// The rejected rows by line: all of them, or the first
    /// [`MAX_LISTED_REJECTIONS`] when there are more.
    pub rejected_rows: Vec<RejectedRow>,
    /// Rejected rows after the listed ones: counted, not listed
    /// (`rejected_total() == rejected_rows.len() + rejected_rows_not_listed`).
    pub rejected_rows_not_listed: u64,
    /// What was odd about the header row (duplicate headers, unused mappings).
    pub warnings: Vec<String>,
    /// Bytes of the file read.
    pub bytes: u64,
    /// Whether nothing was written.
    pub dry_run: bool,
}

impl ImportSummary {
    /// All rows not imported.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Counts one rejected row and lists it while the list has room.
    fn reject(&mut self, row: RejectedRow) {
        *self.rejected.entry(row.kind).or_default() += 1;
        match row.kind {
            "duplicate" => self.duplicates_in_file += 1,
            ALREADY_IMPORTED => self.duplicates_in_database += 1,
            "suppressed" => self.suppressed += 1,
            _ => {}
        }
        if self.rejected_rows.len() < MAX_LISTED_REJECTIONS {
            self.rejected_rows.push(row);
        } else {
            self.rejected_rows_not_listed += 1;
        }
    }
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportRunError {
    /// The file cannot be read as leads (nothing after the failing point
    /// was imported; what came before was, and importing again is safe).
    #[error(transparent)]
    File(#[from] ImportError),
    /// Reading failed part-way, after some leads were stored.
    #[error("reading the file stopped after {imported} leads were imported (importing it again is safe)")]
    Interrupted {
        /// Leads stored before the failure.
        imported: u64,
        /// The cause.
        #[source]
        source: ImportError,
    },
    /// The database refused a batch.
    #[error("storing leads failed after {imported} were imported (importing the file again is safe)")]
    Store {
        /// Leads stored before the failure.
        imported: u64,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// The reading thread died (a bug).
    #[error("the file reader stopped unexpectedly")]
    ReaderPanicked,
}

impl ImportRow {
    /// The lead to store, recording where it came from.
    pub fn into_new_lead(self, source_version: &str) -> NewLead {
        NewLead {
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
            company: self.company,
            domain: self.domain,
            title: self.title,
            country: self.country,
            time_zone: self.timezone,
            employees: self.employees,
            attributes: self.attributes.into_iter().collect(),
            source_plugin: IMPORT_SOURCE.to_owned(),
            source_version: source_version.to_owned(),
        }
    }
}

/// The `source_version` of the lead imported from `line` of `source_name`.
pub fn import_source_version(source_name: &str, line: u64) -> String {
    format!("{source_name}:{line}")
}

/// Where an imported lead came from: (source name, line), read back from
/// its `source_version`; `None` for leads from anywhere else (or imported
/// before lines were recorded).
pub fn import_origin(lead: &NewLead) -> Option<(&str, u64)> {
    if lead.source_plugin != IMPORT_SOURCE {
        return None;
    }
    let (name, line) = lead.source_version.rsplit_once(':')?;
    Some((name, line.parse().ok()?))
}

/// The tenant's suppression list from the store, for [`ImportOptions`].
pub async fn load_suppression_list(store: &dyn Store, tenant: &str) -> Result<SuppressionList, StoreError> {
    let mut list = SuppressionList::new();
    for entry in store.list_suppressions(tenant).await? {
        let added = match entry.kind {
            SuppressionKind::Address => list.add_raw_address(&entry.value),
            SuppressionKind::Domain => list.add_domain(&entry.value),
        };
        if let Err(error) = added {
            // The store re-checks every insert against its own table, so an
            // entry the domain rules cannot read still suppresses.
            tracing::warn!(value = %entry.value, %error, "suppression entry is not a valid address or domain");
        }
    }
    Ok(list)
}

/// Leads per batch handed to the store: [`BATCH_SIZE`] on SQLite (its
/// insert keeps one prepared statement of that size), ten times that on
/// PostgreSQL, where each batch is a `COPY` and a transaction whose fixed
/// cost (round trips, the commit's flush) is worth spreading.
fn batch_rows(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => BATCH_SIZE,
        Backend::Postgres => BATCH_SIZE * 10,
    }
}

/// A batch on its way from the reader to the store.
struct Batch {
    /// Rows (or rejections) that make it full.
    rows: usize,
    /// Good rows, in line order.
    leads: Vec<NewLead>,
    /// The line of each of `leads`.
    lines: Vec<u64>,
    /// Rows the reader rejected since the previous batch, in line order:
    /// all after the previous batch's rows and before the next batch's.
    rejected: Vec<RejectedRow>,
}

impl Batch {
    fn new(rows: usize) -> Self {
        Self {
            rows,
            leads: Vec::with_capacity(rows),
            lines: Vec::with_capacity(rows),
            rejected: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.leads.is_empty() && self.rejected.is_empty()
    }

    /// Full of leads, or of rejections (a file of bad rows must not pile
    /// them up either).
    fn is_full(&self) -> bool {
        self.leads.len() >= self.rows || self.rejected.len() >= self.rows
    }
}

/// What the reading thread found besides the batches it sent.
struct ReadResult {
    rows: u64,
    warnings: Vec<String>,
    bytes: u64,
}

/// Imports `input` into `target.campaign_id`.
///
/// The tenant's suppression list is loaded into `options` first, so a
/// suppressed address is rejected with its line. `on_progress` gets the
/// bytes read so far after each batch (for a progress bar against the file
/// size). Bad rows never stop the import; only an unreadable file, a file
/// without an email column or a database error do.
pub async fn import_leads<R>(
    store: &dyn Store,
    target: &ImportTarget,
    input: R,
    options: ImportOptions,
    on_progress: impl Fn(u64) + Send + 'static,
) -> Result<ImportSummary, ImportRunError>
where
    R: Read + Send + 'static,
{
    import_leads_streaming(store, target, input, options, on_progress, |_| {}).await
}

/// [`import_leads`], handing every rejected row to `on_rejected` as soon as
/// its batch is stored, in line order — all of them, also those past the
/// summary's [`MAX_LISTED_REJECTIONS`] (to write a full report of a file
/// with millions of bad rows without holding them).
#[tracing::instrument(skip_all, fields(tenant = %target.tenant, campaign = target.campaign_id, dry_run = target.dry_run))]
pub async fn import_leads_streaming<R>(
    store: &dyn Store,
    target: &ImportTarget,
    input: R,
    mut options: ImportOptions,
    on_progress: impl Fn(u64) + Send + 'static,
    mut on_rejected: impl FnMut(&RejectedRow) + Send,
) -> Result<ImportSummary, ImportRunError>
where
    R: Read + Send + 'static,
{
    options.suppression = load_suppression_list(store, &target.tenant)
        .await
        .map_err(|source| ImportRunError::Store { imported: 0, source })?;
    // Leads this run stores are created at or after this instant (the
    // stores stamp `created_at` from this clock, to the millisecond).
    let started = Utc::now()
        .duration_trunc(TimeDelta::milliseconds(1))
        .unwrap_or_else(|_| Utc::now());
    let (sender, mut receiver) = mpsc::channel::<Batch>(BATCHES_IN_FLIGHT);
    let source_name = target.source_name.clone();
    // Without writes the database cannot catch repeats: a dry run keeps
    // the reader's in-file set.
    let dedupe_in_file = target.dry_run;
    let rows = batch_rows(store.backend());
    let reader = tokio::task::spawn_blocking(move || {
        read_batches(input, rows, options, dedupe_in_file, &source_name, sender, on_progress)
    });

    let mut summary = ImportSummary {
        dry_run: target.dry_run,
        ..ImportSummary::default()
    };
    let mut failure = None;
    while let Some(mut batch) = receiver.recv().await {
        let mut db_rejected = Vec::new();
        let stored = if batch.leads.is_empty() {
            Ok(0)
        } else if target.dry_run {
            check_batch(store, target, &batch, &mut db_rejected).await
        } else {
            store_batch(store, target, started, &batch, &mut db_rejected).await
        };
        match stored {
            Ok(imported) => summary.imported += imported,
            Err(source) => {
                failure = Some(source);
                break;
            }
        }
        // Both lists are in line order and every row of this batch comes
        // after every row of the previous one: merging keeps the file's order.
        db_rejected.sort_by_key(|r| r.line);
        let reader_rejected = std::mem::take(&mut batch.rejected);
        for row in merge_by_line(reader_rejected, db_rejected) {
            on_rejected(&row);
            summary.reject(row);
        }
    }
    // Dropping the receiver stops the reader at its next batch.
    drop(receiver);
    let read = reader.await.map_err(|_| ImportRunError::ReaderPanicked)?;
    if let Some(source) = failure {
        return Err(ImportRunError::Store {
            imported: summary.imported,
            source,
        });
    }
    let read = match read {
        Ok(read) => read,
        Err(source) if summary.imported > 0 => {
            return Err(ImportRunError::Interrupted {
                imported: summary.imported,
                source,
            });
        }
        Err(source) => return Err(source.into()),
    };
    summary.rows = read.rows;
    summary.bytes = read.bytes;
    summary.warnings = read.warnings;
    Ok(summary)
}

/// Two lists sorted by line, as one.
fn merge_by_line(a: Vec<RejectedRow>, b: Vec<RejectedRow>) -> impl Iterator<Item = RejectedRow> {
    let mut a = a.into_iter().peekable();
    let mut b = b.into_iter().peekable();
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if y.line < x.line => b.next(),
        (Some(_), _) => a.next(),
        (None, _) => b.next(),
    })
}

/// The reading thread: parses `input`, sends batches with the rows it
/// rejected on the way.
fn read_batches<R: Read>(
    input: R,
    rows: usize,
    options: ImportOptions,
    dedupe_in_file: bool,
    source_name: &str,
    sender: mpsc::Sender<Batch>,
    on_progress: impl Fn(u64),
) -> Result<ReadResult, ImportError> {
    let mut import = LeadImport::new(input, options)?.dedupe_in_file(dedupe_in_file);
    let mut result = ReadResult {
        rows: 0,
        warnings: import.warnings().iter().map(ToString::to_string).collect(),
        bytes: 0,
    };
    let mut batch = Batch::new(rows);
    while let Some(outcome) = import.next() {
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(error) => {
                // Keep what was read before the failure: store it, then report.
                if !batch.is_empty() {
                    let _ = sender.blocking_send(batch);
                }
                return Err(error);
            }
        };
        result.rows += 1;
        match outcome {
            RowOutcome::Accepted { line, row } => {
                batch
                    .leads
                    .push(row.into_new_lead(&import_source_version(source_name, line)));
                batch.lines.push(line);
            }
            RowOutcome::Rejected { line, reason } => batch.rejected.push(RejectedRow {
                line,
                kind: reason.kind(),
                reason: reason.to_string(),
            }),
        }
        if batch.is_full() {
            if sender
                .blocking_send(std::mem::replace(&mut batch, Batch::new(rows)))
                .is_err()
            {
                // The store side gave up; it reports why.
                break;
            }
            on_progress(import.bytes_read());
        }
    }
    if !batch.is_empty() {
        // An error here means the store side gave up; it reports why.
        let _ = sender.blocking_send(batch);
    }
    result.bytes = import.bytes_read();
    on_progress(result.bytes);
    Ok(result)
}

/// One address the insert skipped: where it occurs in the batch.
#[derive(Default)]
struct Skipped {
    /// Its lines in the batch, in order.
    lines: Vec<u64>,
    /// Times the store reported it as a duplicate.
    duplicates: usize,
    /// Times the store reported it as suppressed.
    suppressed: usize,
}

/// Stores one batch; records the rows the store skipped.
///
/// The store takes the rows in order: an address's first row in the batch
/// is stored, suppressed, or skipped as already known; each later row of it
/// is skipped as a repeat. A repeat names the batch's first row of the
/// address; a first row that was skipped is looked up (once per address)
/// to find out whether this import stored it from an earlier line.
async fn store_batch(
    store: &dyn Store,
    target: &ImportTarget,
    started: DateTime<Utc>,
    batch: &Batch,
    rejected: &mut Vec<RejectedRow>,
) -> Result<u64, StoreError> {
    let outcome = store
        .insert_leads(&target.tenant, target.campaign_id, &batch.leads)
        .await?;
    if outcome.duplicates.is_empty() && outcome.suppressed.is_empty() {
        return Ok(outcome.inserted);
    }
    let mut skipped: HashMap<&str, Skipped> = HashMap::new();
    for email in &outcome.duplicates {
        skipped.entry(email.as_str()).or_default().duplicates += 1;
    }
    for email in &outcome.suppressed {
        skipped.entry(email.as_str()).or_default().suppressed += 1;
    }
    for (lead, &line) in batch.leads.iter().zip(&batch.lines) {
        if let Some(entry) = skipped.get_mut(lead.email.as_str()) {
            entry.lines.push(line);
        }
    }
    // Addresses whose first row in the batch was skipped as already known.
    let known: Vec<&str> = skipped
        .iter()
        .filter(|(_, s)| s.suppressed == 0 && s.duplicates >= s.lines.len() && !s.lines.is_empty())
        .map(|(email, _)| *email)
        .collect();
    let wanted: Vec<String> = known.iter().map(|e| e.to_string()).collect();
    let found = store.leads_by_emails(&target.tenant, &wanted).await?;
    let mut stored: HashMap<&str, Option<Lead>> = known.iter().map(|&email| (email, None)).collect();
    for lead in found {
        if let Some(slot) = stored.get_mut(lead.fields.email.as_str()) {
            *slot = Some(lead);
        }
    }

    for (email, entry) in &skipped {
        let Some((&first, repeats)) = entry.lines.split_first() else {
            continue; // not this batch's address (cannot happen)
        };
        if entry.suppressed > 0 {
            rejected.push(RejectedRow {
                line: first,
                kind: "suppressed",
                reason: format!("the address {email} or its domain is suppressed; it will not be contacted"),
            });
        } else if entry.duplicates >= entry.lines.len() {
            let lead = stored.get(email).and_then(Option::as_ref);
            rejected.push(known_address(target, started, first, lead));
        }
        for &line in repeats {
            rejected.push(RejectedRow {
                line,
                kind: "duplicate",
                reason: RejectReason::Duplicate { first_line: first }.to_string(),
            });
        }
    }
    Ok(outcome.inserted)
}

/// The rejection of a row at `line` whose address the tenant already has
/// as `lead`: a repeat of an earlier line of this file, or an older lead.
fn known_address(target: &ImportTarget, started: DateTime<Utc>, line: u64, lead: Option<&Lead>) -> RejectedRow {
    let earlier_line = lead.and_then(|lead| {
        let (name, first_line) = import_origin(&lead.fields)?;
        (name == target.source_name && first_line < line).then_some((first_line, lead.created_at >= started))
    });
    match earlier_line {
        // Stored by this import from an earlier line.
        Some((first_line, true)) => RejectedRow {
            line,
            kind: "duplicate",
            reason: RejectReason::Duplicate { first_line }.to_string(),
        },
        // An earlier import of a file of this name stored it from an
        // earlier line: importing the same file again, in all likelihood,
        // where this row repeats an address of the file as it did then.
        Some((first_line, false)) => RejectedRow {
            line,
            kind: "duplicate",
            reason: format!(
                "the address is already a lead, imported earlier from line {first_line} of {}",
                target.source_name
            ),
        },
        None => already_imported(line),
    }
}

/// A dry run's stand-in for [`store_batch`]: looks each address up instead
/// of inserting it. (One query per row: slower than a real import.)
async fn check_batch(
    store: &dyn Store,
    target: &ImportTarget,
    batch: &Batch,
    rejected: &mut Vec<RejectedRow>,
) -> Result<u64, StoreError> {
    let mut new = 0;
    for (lead, &line) in batch.leads.iter().zip(&batch.lines) {
        if store.lead_by_email(&target.tenant, &lead.email).await?.is_some() {
            rejected.push(already_imported(line));
        } else {
            new += 1;
        }
    }
    Ok(new)
}

fn already_imported(line: u64) -> RejectedRow {
    RejectedRow {
        line,
        kind: ALREADY_IMPORTED,
        reason: "the address is already a lead (imported before or found by a lead source)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::campaign_def::CampaignDef;
    use crate::domain::model::SuppressionReason;

    const CSV: &str = "email,first_name,company,industry\n\
                       anna@acme.example,Anna,Acme,logistics\n\
                       bob@acme.example,Bob,Acme,\n\
                       ANNA@acme.example,Anna again,Acme,\n\
                       not-an-address,X,Y,\n\
                       eve@blocked.example,Eve,Blocked,\n";

    async fn setup() -> (std::sync::Arc<dyn Store>, ImportTarget) {
        let store = crate::store::open("sqlite::memory:").await.expect("store");
        store.ensure_tenant("t", "T").await.expect("tenant");
        let campaign = CampaignDef::with_defaults("c").to_new_campaign().expect("campaign");
        let campaign = store.create_campaign("t", &campaign).await.expect("campaign");
        let target = ImportTarget {
            tenant: "t".into(),
            campaign_id: campaign.id,
            source_name: "leads.csv".into(),
            dry_run: false,
        };
        (store, target)
    }

    async fn run(store: &dyn Store, target: &ImportTarget) -> ImportSummary {
        let input = std::io::Cursor::new(CSV.as_bytes().to_vec());
        import_leads(store, target, input, ImportOptions::default(), |_| {})
            .await
            .expect("import")
    }

    #[tokio::test]
    async fn every_row_is_counted_once_and_reimporting_changes_nothing() {
        let (store, target) = setup().await;
        store
            .add_suppression(
                "t",
                SuppressionKind::Domain,
                "blocked.example",
                SuppressionReason::Manual,
                "",
            )
            .await
            .expect("suppress");
        let first = run(store.as_ref(), &target).await;
        assert_eq!((first.rows, first.imported), (5, 2));
        assert_eq!((first.duplicates_in_file, first.suppressed), (1, 1));
        assert_eq!(first.rejected.get("invalid_email"), Some(&1));
        assert_eq!(first.rows, first.imported + first.rejected_total());
        let lines: Vec<u64> = first.rejected_rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![4, 5, 6]);

        let second = run(store.as_ref(), &target).await;
        assert_eq!((second.imported, second.duplicates_in_database), (0, 2));
        assert_eq!(second.rows, second.imported + second.rejected_total());

        let anna = store
            .lead_by_email("t", "anna@acme.example")
            .await
            .unwrap()
            .expect("stored");
        assert_eq!(anna.fields.first_name, "Anna");
        assert_eq!(anna.fields.source_plugin, IMPORT_SOURCE);
        assert_eq!(anna.fields.source_version, "leads.csv:2");
        assert_eq!(
            anna.fields.attributes.get("industry").map(String::as_str),
            Some("logistics")
        );
    }

    #[tokio::test]
    async fn a_dry_run_counts_like_an_import_but_stores_nothing() {
        let (store, mut target) = setup().await;
        target.dry_run = true;
        let summary = run(store.as_ref(), &target).await;
        assert!(summary.dry_run);
        assert_eq!(summary.imported, 3);
        assert!(store.lead_by_email("t", "anna@acme.example").await.unwrap().is_none());
    }

    /// A file of `rows` good rows (lines 2..) where line `repeat_at`
    /// repeats the address of line 3 and line `bad_at` has no address.
    fn big_file(rows: u64, repeat_at: u64, bad_at: u64) -> Vec<u8> {
        let mut csv = String::from("email,first_name\n");
        for line in 2..rows + 2 {
            if line == repeat_at {
                csv.push_str("Person3@Example.com,Again\n");
            } else if line == bad_at {
                csv.push_str(",Nobody\n");
            } else {
                csv.push_str(&format!("person{line}@example.com,P{line}\n"));
            }
        }
        csv.into_bytes()
    }

    #[tokio::test]
    async fn a_repeat_in_a_later_batch_names_its_first_line_and_rows_stay_in_line_order() {
        let (store, target) = setup().await;
        // Line 1,702 is in the fourth batch of 500; line 3 was stored by the first.
        let file = big_file(2_000, 1_702, 1_500);
        let mut streamed = Vec::new();
        let first = import_leads_streaming(
            store.as_ref(),
            &target,
            std::io::Cursor::new(file.clone()),
            ImportOptions::default(),
            |_| {},
            |row: &RejectedRow| streamed.push(row.clone()),
        )
        .await
        .expect("import");
        assert_eq!((first.rows, first.imported), (2_000, 1_998));
        assert_eq!((first.duplicates_in_file, first.duplicates_in_database), (1, 0));
        let listed: Vec<(u64, &str)> = first
            .rejected_rows
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(
            listed,
            vec![
                (1_500, "no email address"),
                (1_702, "the same address is already on line 3")
            ]
        );
        assert_eq!(streamed, first.rejected_rows);
        let lead = store.lead_by_email("t", "person3@example.com").await.unwrap().unwrap();
        assert_eq!(lead.fields.first_name, "P3", "the first row wins");
        assert_eq!(import_origin(&lead.fields), Some(("leads.csv", 3)));

        // Again: the same counts as the first time, nothing new.
        let again = import_leads(
            store.as_ref(),
            &target,
            std::io::Cursor::new(file),
            ImportOptions::default(),
            |_| {},
        )
        .await
        .expect("import");
        assert_eq!(again.imported, 0);
        assert_eq!((again.duplicates_in_file, again.duplicates_in_database), (1, 1_998));
        let repeat = again.rejected_rows.iter().find(|r| r.line == 1_702).expect("listed");
        assert_eq!(repeat.kind, "duplicate");
        assert!(repeat.reason.contains("line 3 of leads.csv"), "{}", repeat.reason);
        let lines: Vec<u64> = again.rejected_rows.iter().map(|r| r.line).collect();
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "in line order");
    }

    #[tokio::test]
    async fn the_summary_lists_a_bounded_number_of_rejected_rows_and_counts_them_all() {
        let (store, target) = setup().await;
        let bad = MAX_LISTED_REJECTIONS as u64 + 1_234;
        let mut csv = String::from("email\nfirst@example.com\n");
        for i in 0..bad {
            csv.push_str(&format!("bad{i}\n"));
        }
        csv.push_str("last@example.com\n");
        let mut streamed = 0u64;
        let mut last_line = 0;
        let summary = import_leads_streaming(
            store.as_ref(),
            &target,
            std::io::Cursor::new(csv.into_bytes()),
            ImportOptions::default(),
            |_| {},
            |row: &RejectedRow| {
                assert!(row.line > last_line);
                last_line = row.line;
                streamed += 1;
            },
        )
        .await
        .expect("import");
        assert_eq!(summary.imported, 2);
        assert_eq!(summary.rejected.get("invalid_email"), Some(&bad));
        assert_eq!(summary.rejected_rows.len(), MAX_LISTED_REJECTIONS);
        assert_eq!(summary.rejected_rows_not_listed, 1_234);
        assert_eq!(summary.rejected_rows[0].line, 3);
        assert_eq!(streamed, bad);
        assert_eq!(last_line, bad + 2);
    }

    #[tokio::test]
    async fn a_file_without_an_email_column_is_refused_before_anything_is_stored() {
        let (store, target) = setup().await;
        let input = std::io::Cursor::new(b"name,company\nAnna,Acme\n".to_vec());
        let err = import_leads(store.as_ref(), &target, input, ImportOptions::default(), |_| {})
            .await
            .expect_err("no email column");
        assert!(
            matches!(err, ImportRunError::File(ImportError::NoEmailColumn { .. })),
            "{err}"
        );
    }
}
