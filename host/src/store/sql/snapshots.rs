//! Reading a campaign's working set, written once for both backends
//! (included by `store/sqlite` and `store/postgres`; see [`crate::store`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Column as _, Row as _, TypeInfo as _, ValueRef as _};

use super::{DbRow, DbStore};
use crate::store::shared::ms;
use crate::store::snapshots::{CellValue, Snapshots, TableRows, WorkingSet};
use crate::store::{StoreError, StoreResult};

/// The campaign's leads.
const CAMPAIGN_LEADS: &str = "SELECT id FROM leads WHERE tenant_id = $1 AND campaign_id = $2";

/// Each table and which of its rows a cycle reads ($1 tenant, $2 campaign,
/// $3 the start of the caps' window in unix ms), parents before children.
const TABLES: &[(&str, &str)] = &[
    ("tenants", "id = $1 AND $2 = $2 AND $3 = $3"),
    ("campaigns", "tenant_id = $1 AND $2 = $2 AND $3 = $3"),
    (
        "leads",
        "tenant_id = $1 AND (campaign_id = $2 OR id IN (SELECT lead_id FROM outbound_emails \
         WHERE tenant_id = $1 AND campaign_id <> $2 AND attempted_at >= $3))",
    ),
    ("lead_transitions", "tenant_id = $1 AND lead_id IN (CAMPAIGN_LEADS) AND $3 = $3"),
    (
        "outbound_emails",
        "tenant_id = $1 AND (campaign_id = $2 OR attempted_at >= $3)",
    ),
    ("inbound_messages", "tenant_id = $1 AND matched_lead_id IN (CAMPAIGN_LEADS) AND $3 = $3"),
    ("alerts", "tenant_id = $1 AND lead_id IN (CAMPAIGN_LEADS) AND $3 = $3"),
    (
        "alert_attempts",
        "tenant_id = $1 AND alert_id IN (SELECT id FROM alerts WHERE tenant_id = $1 AND lead_id IN (CAMPAIGN_LEADS)) \
         AND $3 = $3",
    ),
    ("suppressions", "tenant_id = $1 AND $2 = $2 AND $3 = $3"),
    ("plugin_kv", "tenant_id = $1 AND $2 = $2 AND $3 = $3"),
    ("source_cursors", "tenant_id = $1 AND campaign_id = $2 AND $3 = $3"),
];

#[async_trait]
impl Snapshots for DbStore {
    async fn campaign_working_set(
        &self,
        tenant: &str,
        campaign_id: i64,
        since: DateTime<Utc>,
    ) -> StoreResult<WorkingSet> {
        let mut set = WorkingSet::default();
        for (table, filter) in TABLES {
            let filter = filter.replace("CAMPAIGN_LEADS", CAMPAIGN_LEADS);
            let rows = sqlx::query(&format!("SELECT * FROM {table} WHERE {filter} ORDER BY 1"))
                .bind(tenant)
                .bind(campaign_id)
                .bind(ms(since))
                .fetch_all(&self.pool)
                .await?;
            let mut copied = TableRows {
                table,
                ..TableRows::default()
            };
            if let Some(first) = rows.first() {
                copied.columns = first.columns().iter().map(|c| c.name().to_string()).collect();
            }
            for row in &rows {
                copied.rows.push(cells(table, row)?);
            }
            set.tables.push(copied);
        }
        Ok(set)
    }
}

/// A row's cells, decoded by each value's type.
fn cells(table: &str, row: &DbRow) -> StoreResult<Vec<CellValue>> {
    let mut cells = Vec::with_capacity(row.len());
    for i in 0..row.len() {
        let raw = row.try_get_raw(i)?;
        if raw.is_null() {
            cells.push(CellValue::Null);
            continue;
        }
        let type_name = raw.type_info().name().to_ascii_uppercase();
        let cell = match type_name.as_str() {
            "BOOL" | "BOOLEAN" => CellValue::Int(i64::from(row.try_get::<bool, _>(i)?)),
            "INT2" | "INT4" | "INT8" | "INTEGER" | "BIGINT" | "SMALLINT" | "INT" => {
                CellValue::Int(row.try_get::<i64, _>(i)?)
            }
            "FLOAT4" | "FLOAT8" | "REAL" | "DOUBLE PRECISION" | "DOUBLE" => CellValue::Real(row.try_get::<f64, _>(i)?),
            "TEXT" | "VARCHAR" | "NAME" | "CHAR" | "BPCHAR" => CellValue::Text(row.try_get::<String, _>(i)?),
            "JSON" | "JSONB" => CellValue::Text(
                row.try_get::<sqlx::types::Json<serde_json::Value>, _>(i)?
                    .0
                    .to_string(),
            ),
            "BYTEA" | "BLOB" => CellValue::Bytes(row.try_get::<Vec<u8>, _>(i)?),
            other => {
                return Err(StoreError::Corrupt {
                    what: "working set",
                    detail: format!("{table} column {i} has a type a copy cannot carry: {other}"),
                });
            }
        };
        cells.push(cell);
    }
    Ok(cells)
}
