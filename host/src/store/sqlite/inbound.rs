//! Inbound messages, inbox cursors and alerts on SQLite.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use super::{from_ms, from_ms_opt, ms, touched};
use crate::domain::model::{
    Alert, AlertAttempt, InboundMessage, InboxCursor, NewAlert, NewAlertAttempt, NewInboundMessage,
};
use crate::store::shared::{from_json, inbound_message_id, to_json, to_u32};
use crate::store::{Insertion, StoreError, StoreResult};

const INBOUND_COLUMNS: &str = "id, tenant_id, mailbox, message_id, in_reply_to, refs, from_address, \
     subject, body_text, raw, received_at, matched_lead_id, label, label_confidence, \
     classifier_version, alert_sent";

fn inbound_from_row(row: &SqliteRow) -> StoreResult<InboundMessage> {
    Ok(InboundMessage {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        message: NewInboundMessage {
            mailbox: row.try_get("mailbox")?,
            message_id: row.try_get("message_id")?,
            in_reply_to: row.try_get("in_reply_to")?,
            references: from_json("inbound_messages.refs", row.try_get("refs")?)?,
            from_address: row.try_get("from_address")?,
            subject: row.try_get("subject")?,
            body_text: row.try_get("body_text")?,
            raw: row.try_get("raw")?,
            received_at: from_ms("inbound_messages.received_at", row.try_get("received_at")?)?,
        },
        matched_lead_id: row.try_get("matched_lead_id")?,
        label: row.try_get("label")?,
        label_confidence: row.try_get("label_confidence")?,
        classifier_version: row.try_get("classifier_version")?,
        alert_sent: row.try_get("alert_sent")?,
    })
}

pub(super) async fn insert_inbound(pool: &SqlitePool, tenant: &str, m: &NewInboundMessage) -> StoreResult<Insertion> {
    let message_id = inbound_message_id(m);
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO inbound_messages (tenant_id, mailbox, message_id, in_reply_to, refs, \
         from_address, subject, body_text, raw, received_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (tenant_id, message_id) DO NOTHING RETURNING id",
    )
    .bind(tenant)
    .bind(&m.mailbox)
    .bind(&message_id)
    .bind(m.in_reply_to.as_deref())
    .bind(to_json("inbound_messages.refs", &m.references)?)
    .bind(&m.from_address)
    .bind(&m.subject)
    .bind(&m.body_text)
    .bind(&m.raw)
    .bind(ms(m.received_at))
    .bind(ms(Utc::now()))
    .fetch_optional(pool)
    .await?;
    if let Some(id) = inserted {
        return Ok(Insertion::New(id));
    }
    let id: i64 = sqlx::query_scalar("SELECT id FROM inbound_messages WHERE tenant_id = $1 AND message_id = $2")
        .bind(tenant)
        .bind(&message_id)
        .fetch_one(pool)
        .await?;
    Ok(Insertion::Existing(id))
}

pub(super) async fn get_inbound(pool: &SqlitePool, tenant: &str, id: i64) -> StoreResult<InboundMessage> {
    let sql = format!("SELECT {INBOUND_COLUMNS} FROM inbound_messages WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("inbound message", id))?;
    inbound_from_row(&row)
}

pub(super) async fn set_inbound_match(pool: &SqlitePool, tenant: &str, id: i64, lead_id: i64) -> StoreResult<()> {
    // The lead must be the tenant's too.
    let result = sqlx::query(
        "UPDATE inbound_messages SET matched_lead_id = \
         (SELECT id FROM leads WHERE tenant_id = $1 AND id = $3) \
         WHERE tenant_id = $1 AND id = $2 AND EXISTS (SELECT 1 FROM leads WHERE tenant_id = $1 AND id = $3)",
    )
    .bind(tenant)
    .bind(id)
    .bind(lead_id)
    .execute(pool)
    .await?;
    touched(result, "inbound message or lead", id)
}

pub(super) async fn set_inbound_label(
    pool: &SqlitePool,
    tenant: &str,
    id: i64,
    label: &str,
    confidence: f64,
    classifier_version: &str,
) -> StoreResult<()> {
    let result = sqlx::query(
        "UPDATE inbound_messages SET label = $3, label_confidence = $4, classifier_version = $5 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(label)
    .bind(confidence)
    .bind(classifier_version)
    .execute(pool)
    .await?;
    touched(result, "inbound message", id)
}

pub(super) async fn mark_inbound_alerted(pool: &SqlitePool, tenant: &str, id: i64) -> StoreResult<()> {
    let result = sqlx::query("UPDATE inbound_messages SET alert_sent = 1 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .execute(pool)
        .await?;
    touched(result, "inbound message", id)
}

/// Inbound messages matching a fixed `condition` (never user input).
pub(super) async fn list_inbound(
    pool: &SqlitePool,
    tenant: &str,
    condition: &'static str,
    limit: u32,
) -> StoreResult<Vec<InboundMessage>> {
    let sql = format!(
        "SELECT {INBOUND_COLUMNS} FROM inbound_messages WHERE tenant_id = $1 AND {condition} \
         ORDER BY id LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter().map(inbound_from_row).collect()
}

pub(super) async fn inbox_cursor(pool: &SqlitePool, tenant: &str, mailbox: &str) -> StoreResult<Option<InboxCursor>> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT uid_validity, last_uid FROM inbox_cursors WHERE tenant_id = $1 AND mailbox = $2")
            .bind(tenant)
            .bind(mailbox)
            .fetch_optional(pool)
            .await?;
    row.map(|(v, u)| {
        Ok(InboxCursor {
            uid_validity: to_u32("inbox_cursors.uid_validity", v)?,
            last_uid: to_u32("inbox_cursors.last_uid", u)?,
        })
    })
    .transpose()
}

pub(super) async fn set_inbox_cursor(
    pool: &SqlitePool,
    tenant: &str,
    mailbox: &str,
    cursor: InboxCursor,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO inbox_cursors (tenant_id, mailbox, uid_validity, last_uid, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, mailbox) DO UPDATE SET \
         uid_validity = excluded.uid_validity, last_uid = excluded.last_uid, updated_at = excluded.updated_at \
         WHERE inbox_cursors.uid_validity <> excluded.uid_validity OR inbox_cursors.last_uid < excluded.last_uid",
    )
    .bind(tenant)
    .bind(mailbox)
    .bind(i64::from(cursor.uid_validity))
    .bind(i64::from(cursor.last_uid))
    .bind(ms(Utc::now()))
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn insert_alert(pool: &SqlitePool, tenant: &str, a: &NewAlert) -> StoreResult<Insertion> {
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO alerts (tenant_id, idempotency_key, kind, lead_id, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(tenant)
    .bind(&a.idempotency_key)
    .bind(&a.kind)
    .bind(a.lead_id)
    .bind(to_json("alerts.payload", &a.payload)?)
    .bind(ms(Utc::now()))
    .fetch_optional(pool)
    .await?;
    if let Some(id) = inserted {
        return Ok(Insertion::New(id));
    }
    let id: i64 = sqlx::query_scalar("SELECT id FROM alerts WHERE tenant_id = $1 AND idempotency_key = $2")
        .bind(tenant)
        .bind(&a.idempotency_key)
        .fetch_one(pool)
        .await?;
    Ok(Insertion::Existing(id))
}

pub(super) async fn mark_alert_delivered(
    pool: &SqlitePool,
    tenant: &str,
    id: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let result = sqlx::query("UPDATE alerts SET delivered_at = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .bind(ms(at))
        .execute(pool)
        .await?;
    touched(result, "alert", id)
}

/// Alerts matching `filter` (a fixed SQL condition), in `order`.
pub(super) async fn list_alerts_where(
    pool: &SqlitePool,
    tenant: &str,
    filter: &str,
    order: &str,
    limit: u32,
) -> StoreResult<Vec<Alert>> {
    let sql = format!(
        "SELECT id, tenant_id, idempotency_key, kind, lead_id, payload, created_at, delivered_at \
         FROM alerts WHERE tenant_id = $1 AND {filter} ORDER BY {order} LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Alert {
                id: row.try_get("id")?,
                tenant_id: row.try_get("tenant_id")?,
                alert: NewAlert {
                    idempotency_key: row.try_get("idempotency_key")?,
                    kind: row.try_get("kind")?,
                    lead_id: row.try_get("lead_id")?,
                    payload: from_json("alerts.payload", row.try_get("payload")?)?,
                },
                created_at: from_ms("alerts.created_at", row.try_get("created_at")?)?,
                delivered_at: from_ms_opt("alerts.delivered_at", row.try_get("delivered_at")?)?,
            })
        })
        .collect()
}

pub(super) async fn record_alert_attempt(pool: &SqlitePool, tenant: &str, a: &NewAlertAttempt) -> StoreResult<()> {
    let result = sqlx::query(
        "INSERT INTO alert_attempts (tenant_id, alert_id, channel, ok, detail, attempted_at) \
         SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM alerts WHERE tenant_id = $1 AND id = $2)",
    )
    .bind(tenant)
    .bind(a.alert_id)
    .bind(&a.channel)
    .bind(a.ok)
    .bind(&a.detail)
    .bind(ms(a.at))
    .execute(pool)
    .await?;
    touched(result, "alert", a.alert_id)
}

pub(super) async fn alert_attempts(pool: &SqlitePool, tenant: &str, alert_id: i64) -> StoreResult<Vec<AlertAttempt>> {
    let rows = sqlx::query(
        "SELECT id, alert_id, channel, ok, detail, attempted_at FROM alert_attempts \
         WHERE tenant_id = $1 AND alert_id = $2 ORDER BY id",
    )
    .bind(tenant)
    .bind(alert_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(AlertAttempt {
                id: row.try_get("id")?,
                attempt: NewAlertAttempt {
                    alert_id: row.try_get("alert_id")?,
                    channel: row.try_get("channel")?,
                    ok: row.try_get("ok")?,
                    detail: row.try_get("detail")?,
                    at: from_ms("alert_attempts.attempted_at", row.try_get("attempted_at")?)?,
                },
            })
        })
        .collect()
}

pub(super) async fn count_labelled(pool: &SqlitePool, tenant: &str, lead_id: i64, label: &str) -> StoreResult<u64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM inbound_messages WHERE tenant_id = $1 AND matched_lead_id = $2 AND label = $3",
    )
    .bind(tenant)
    .bind(lead_id)
    .bind(label)
    .fetch_one(pool)
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}
