//! Importing a CSV file into a campaign: the one code path that `cam import`
//! and the import benchmark share.
//!
//! Reading and storing overlap: a blocking thread parses the file with
//! [`LeadImport`] and hands batches of [`BATCH_SIZE`] leads over a channel
//! two batches deep, while the calling task stores each batch with
//! [`Store::insert_leads`]. Memory holds a few batches, whatever the size
//! of the file, plus the in-file dedupe set (one entry per distinct address)
//! and the rejected rows kept for the report.
//!
//! Deduplication happens twice: within the file (the reader, which knows
//! the line an address first appeared on) and against the tenant's leads
//! (the store's insert, which skips known addresses). That is also why
//! importing the same file again imports nothing and changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use serde::Serialize;
use tokio::sync::mpsc;

use super::{BATCH_SIZE, ImportError, ImportOptions, ImportRow, LeadImport, RowOutcome};
use crate::domain::model::{NewLead, SuppressionKind};
use crate::domain::suppression::SuppressionList;
use crate::store::{Store, StoreError};

/// Batches in flight between the reading thread and the store: one being
/// stored, one being read, one waiting. More would only hold memory.
const BATCHES_IN_FLIGHT: usize = 2;

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
    /// Recorded as each lead's `source_version` (the file name, say), so a
    /// lead can be traced to the file it came from.
    pub source_name: String,
    /// Read and check everything, compare with the database, write nothing.
    pub dry_run: bool,
}

/// One row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Records read, header excluded: `imported` plus every rejection.
    pub rows: u64,
    /// Leads stored (in a dry run: that would have been stored).
    pub imported: u64,
    /// Rows not imported, by kind.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Addresses repeated within the file.
    pub duplicates_in_file: u64,
    /// Addresses the tenant already had as leads.
    pub duplicates_in_database: u64,
    /// Addresses (or domains) on the tenant's suppression list.
    pub suppressed: u64,
    /// Every rejected row, by line.
    pub rejected_rows: Vec<RejectedRow>,
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

    fn reject(&mut self, line: u64, kind: &'static str, reason: String) {
        *self.rejected.entry(kind).or_default() += 1;
        match kind {
            "duplicate" => self.duplicates_in_file += 1,
            ALREADY_IMPORTED => self.duplicates_in_database += 1,
            "suppressed" => self.suppressed += 1,
            _ => {}
        }
        self.rejected_rows.push(RejectedRow { line, kind, reason });
    }
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
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

/// A batch on its way from the reader to the store.
struct Batch {
    leads: Vec<NewLead>,
    lines: Vec<u64>,
}

/// What the reading thread found besides the leads it sent.
struct ReadResult {
    rows: u64,
    rejected: Vec<RejectedRow>,
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
#[tracing::instrument(skip_all, fields(tenant = %target.tenant, campaign = target.campaign_id, dry_run = target.dry_run))]
pub async fn import_leads<R>(
    store: &dyn Store,
    target: &ImportTarget,
    input: R,
    mut options: ImportOptions,
    on_progress: impl Fn(u64) + Send + 'static,
) -> Result<ImportSummary, ImportRunError>
where
    R: Read + Send + 'static,
{
    options.suppression = load_suppression_list(store, &target.tenant)
        .await
        .map_err(|source| ImportRunError::Store { imported: 0, source })?;
    let (sender, mut receiver) = mpsc::channel::<Batch>(BATCHES_IN_FLIGHT);
    let source_name = target.source_name.clone();
    let reader = tokio::task::spawn_blocking(move || read_batches(input, options, &source_name, sender, on_progress));

    let mut summary = ImportSummary {
        dry_run: target.dry_run,
        ..ImportSummary::default()
    };
    let mut db_rejected = Vec::new();
    let mut failure = None;
    while let Some(batch) = receiver.recv().await {
        let stored = if target.dry_run {
            check_batch(store, target, &batch, &mut db_rejected).await
        } else {
            store_batch(store, target, &batch, &mut db_rejected).await
        };
        match stored {
            Ok(imported) => summary.imported += imported,
            Err(source) => {
                failure = Some(source);
                break;
            }
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
    let mut rejected = read.rejected;
    rejected.append(&mut db_rejected);
    rejected.sort_by_key(|r| r.line);
    for row in rejected {
        summary.reject(row.line, row.kind, row.reason);
    }
    Ok(summary)
}

/// The reading thread: parses `input`, sends batches, keeps the rejections.
fn read_batches<R: Read>(
    input: R,
    options: ImportOptions,
    source_name: &str,
    sender: mpsc::Sender<Batch>,
    on_progress: impl Fn(u64),
) -> Result<ReadResult, ImportError> {
    let mut import = LeadImport::new(input, options)?;
    let mut result = ReadResult {
        rows: 0,
        rejected: Vec::new(),
        warnings: import.warnings().iter().map(ToString::to_string).collect(),
        bytes: 0,
    };
    let new_batch = || Batch {
        leads: Vec::with_capacity(BATCH_SIZE),
        lines: Vec::with_capacity(BATCH_SIZE),
    };
    let mut batch = new_batch();
    while let Some(outcome) = import.next() {
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(error) => {
                // Keep what was read before the failure: store it, then report.
                if !batch.leads.is_empty() {
                    let _ = sender.blocking_send(batch);
                }
                return Err(error);
            }
        };
        result.rows += 1;
        match outcome {
            RowOutcome::Accepted { line, row } => {
                batch.leads.push(row.into_new_lead(source_name));
                batch.lines.push(line);
            }
            RowOutcome::Rejected { line, reason } => result.rejected.push(RejectedRow {
                line,
                kind: reason.kind(),
                reason: reason.to_string(),
            }),
        }
        if batch.leads.len() == BATCH_SIZE {
            if sender
                .blocking_send(std::mem::replace(&mut batch, new_batch()))
                .is_err()
            {
                // The store side gave up; it reports why.
                break;
            }
            on_progress(import.bytes_read());
        }
    }
    if !batch.leads.is_empty() {
        // An error here means the store side gave up; it reports why.
        let _ = sender.blocking_send(batch);
    }
    result.bytes = import.bytes_read();
    on_progress(result.bytes);
    Ok(result)
}

/// Stores one batch; records the rows the store skipped.
async fn store_batch(
    store: &dyn Store,
    target: &ImportTarget,
    batch: &Batch,
    rejected: &mut Vec<RejectedRow>,
) -> Result<u64, StoreError> {
    let outcome = store
        .insert_leads(&target.tenant, target.campaign_id, &batch.leads)
        .await?;
    if !outcome.duplicates.is_empty() || !outcome.suppressed.is_empty() {
        let line_of: HashMap<&str, u64> = batch
            .leads
            .iter()
            .zip(&batch.lines)
            .map(|(lead, &line)| (lead.email.as_str(), line))
            .collect();
        let line = |email: &str| line_of.get(email).copied().unwrap_or(0);
        for email in &outcome.duplicates {
            rejected.push(already_imported(line(email)));
        }
        for email in &outcome.suppressed {
            rejected.push(RejectedRow {
                line: line(email),
                kind: "suppressed",
                reason: format!("the address {email} or its domain is suppressed; it will not be contacted"),
            });
        }
    }
    Ok(outcome.inserted)
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
        assert_eq!(anna.fields.source_version, "leads.csv");
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
