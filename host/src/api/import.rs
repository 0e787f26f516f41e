//! `POST /api/v1/campaigns/{id}/import`: a CSV file of leads as the request
//! body (`Content-Type: text/csv`), streamed into the importer `cam import`
//! uses, answered with the same report: counts, and every rejected row
//! with its line number and reason.
//!
//! The body is read as it arrives, never held whole, so the route takes
//! files up to [`MAX_IMPORT_BYTES`] — far above the API's usual body limit
//! — in flat memory. Options come in the query string, as `cam import`'s
//! flags: `map=COLUMN=FIELD` (repeatable), `delimiter=;`, `dry_run=true`,
//! `file=NAME` (the name recorded with each lead, `upload.csv` by default).

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use futures::StreamExt as _;
use serde::Serialize;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::ApiState;
use super::auth::Caller;
use super::problem::Problem;
use crate::domain::model::Role;
use crate::import::{ImportOptions, ImportRunError, ImportSummary, ImportTarget, import_leads, parse_mapping_entry};

/// The largest CSV body accepted: about half a million leads, the largest
/// list a person uploads in one go; larger files belong to `cam import`.
pub const MAX_IMPORT_BYTES: u64 = 64 << 20;

/// The name recorded with each lead (`upload.csv:42`) unless `file=` says.
const DEFAULT_FILE_NAME: &str = "upload.csv";

/// What the import did, as `cam import --json` prints it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ImportReport {
    /// The counts and the rejected rows.
    #[serde(flatten)]
    pub summary: ImportSummary,
    /// The name recorded with the leads.
    pub file: String,
    /// The campaign's name.
    pub campaign: String,
}

/// The import's options from the query string.
struct UploadOptions {
    options: ImportOptions,
    file: String,
    dry_run: bool,
}

fn options_of(query: Option<&str>) -> Result<UploadOptions, Problem> {
    let mut mapping = HashMap::new();
    let mut options = ImportOptions::default();
    let mut file = DEFAULT_FILE_NAME.to_string();
    let mut dry_run = false;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "map" => {
                let (column, field) = parse_mapping_entry(&value)
                    .map_err(|e| Problem::invalid_field("map", format!("{value:?}: {e}")))?;
                mapping.insert(column, field);
            }
            "delimiter" => {
                options.delimiter = match value.as_bytes() {
                    [byte] if byte.is_ascii() => *byte,
                    _ => return Err(Problem::invalid_field("delimiter", "must be a single ASCII character")),
                };
            }
            "dry_run" => {
                dry_run = value
                    .parse()
                    .map_err(|_| Problem::invalid_field("dry_run", "must be true or false"))?;
            }
            "file" if !value.trim().is_empty() => file = value.trim().to_string(),
            "file" => {}
            other => {
                return Err(Problem::invalid_field(
                    other,
                    "is not an import option; use map, delimiter, dry_run or file",
                ));
            }
        }
    }
    options.mapping = mapping;
    Ok(UploadOptions { options, file, dry_run })
}

/// `POST /campaigns/{id}/import`.
pub async fn upload(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Json<ImportReport>, Problem> {
    let tenant = caller.tenant(Role::Operator)?;
    let campaign = state.store.get_campaign(tenant, id).await?;
    let upload = options_of(query.as_deref())?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    if !mime.eq_ignore_ascii_case("text/csv") {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the CSV file itself as the body with `Content-Type: text/csv` (curl --data-binary @leads.csv)",
        ));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_IMPORT_BYTES) {
        return Err(too_large(0));
    }

    // Bodies without a length are counted as they arrive and cut at the limit.
    let over_limit = Arc::new(AtomicBool::new(false));
    let flag = over_limit.clone();
    let mut received = 0_u64;
    let chunks = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(io::Error::other)?;
        received += chunk.len() as u64;
        if received > MAX_IMPORT_BYTES {
            flag.store(true, Ordering::Relaxed);
            return Err(io::Error::other("the upload is over the size limit"));
        }
        Ok(chunk)
    });
    // The importer reads on a blocking thread; the bridge hands it the body.
    let input = SyncIoBridge::new(StreamReader::new(chunks));
    let target = ImportTarget {
        tenant: tenant.to_string(),
        campaign_id: campaign.id,
        source_name: upload.file.clone(),
        dry_run: upload.dry_run,
    };
    let result = import_leads(state.store.as_ref(), &target, input, upload.options, |_| {}).await;
    match result {
        Ok(summary) => Ok(Json(ImportReport {
            summary,
            file: upload.file,
            campaign: campaign.config.name,
        })),
        Err(error) if over_limit.load(Ordering::Relaxed) => Err(too_large(imported_before(&error))),
        Err(ImportRunError::File(error)) => Err(Problem::invalid(
            format!("the body cannot be read as leads: {error}"),
            Vec::new(),
        )),
        Err(error @ ImportRunError::Interrupted { .. }) => {
            Err(Problem::bad_request(format!("the upload broke off: {error}")))
        }
        Err(error) => Err(Problem::internal(&error)),
    }
}

fn imported_before(error: &ImportRunError) -> u64 {
    match error {
        ImportRunError::Interrupted { imported, .. } | ImportRunError::Store { imported, .. } => *imported,
        _ => 0,
    }
}

fn too_large(imported: u64) -> Problem {
    let mib = MAX_IMPORT_BYTES >> 20;
    let detail = if imported == 0 {
        format!("the CSV is larger than {mib} MiB; split it, or import it with `cam import`")
    } else {
        format!(
            "the CSV is larger than {mib} MiB; the {imported} leads before the limit were imported \
             (importing again is safe); split the rest, or import it with `cam import`"
        )
    };
    Problem::new(StatusCode::PAYLOAD_TOO_LARGE, detail).with("imported", imported)
}
