//! Outbound emails, inbound messages, inbox cursors and alerts on PostgreSQL.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgPool, Row};

use super::touched;
use crate::domain::model::{
    Alert, EmailState, InboundMessage, InboxCursor, NewAlert, NewInboundMessage, NewOutboundEmail, OutboundEmail,
};
use crate::store::shared::{inbound_message_id, to_u32, to_u64};
use crate::store::{Insertion, StoreError, StoreResult};

const EMAIL_COLUMNS: &str = "id, tenant_id, campaign_id, lead_id, step, mailbox, to_address, \
     subject, body, message_id, state, error, queued_at, attempted_at, sent_at";

fn email_from_row(row: &PgRow) -> StoreResult<OutboundEmail> {
    let state: String = row.try_get("state")?;
    Ok(OutboundEmail {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        email: NewOutboundEmail {
            campaign_id: row.try_get("campaign_id")?,
            lead_id: row.try_get("lead_id")?,
            step: to_u32("outbound_emails.step", row.try_get("step")?)?,
            mailbox: row.try_get("mailbox")?,
            to_address: row.try_get("to_address")?,
            subject: row.try_get("subject")?,
            body: row.try_get("body")?,
            message_id: row.try_get("message_id")?,
        },
        state: EmailState::parse(&state).ok_or_else(|| StoreError::corrupt("outbound_emails.state", &state))?,
        error: row.try_get("error")?,
        queued_at: row.try_get("queued_at")?,
        attempted_at: row.try_get("attempted_at")?,
        sent_at: row.try_get("sent_at")?,
    })
}

pub(super) async fn queue(pool: &PgPool, tenant: &str, e: &NewOutboundEmail) -> StoreResult<Insertion> {
    // Inserting through a SELECT of the tenant's own lead and campaign keeps
    // another tenant's ids out without a separate check.
    let inserted: Result<Option<i64>, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO outbound_emails (tenant_id, campaign_id, lead_id, step, mailbox, to_address, \
         subject, body, message_id, state, queued_at) \
         SELECT l.tenant_id, c.id, l.id, $4, $5, $6, $7, $8, $9, 'QUEUED', $10 \
         FROM leads l JOIN campaigns c ON c.id = $2 AND c.tenant_id = l.tenant_id \
         WHERE l.tenant_id = $1 AND l.id = $3 \
         ON CONFLICT (lead_id, step) DO NOTHING RETURNING id",
    )
    .bind(tenant)
    .bind(e.campaign_id)
    .bind(e.lead_id)
    .bind(i64::from(e.step))
    .bind(&e.mailbox)
    .bind(&e.to_address)
    .bind(&e.subject)
    .bind(&e.body)
    .bind(&e.message_id)
    .bind(Utc::now())
    .fetch_optional(pool)
    .await;
    let unique_violation = match inserted {
        Ok(Some(id)) => return Ok(Insertion::New(id)),
        Ok(None) => false,
        Err(err) if crate::store::error::is_unique_violation(&err) => true,
        Err(err) => return Err(err.into()),
    };
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM outbound_emails WHERE tenant_id = $1 AND lead_id = $2 AND step = $3")
            .bind(tenant)
            .bind(e.lead_id)
            .bind(i64::from(e.step))
            .fetch_optional(pool)
            .await?;
    match existing {
        Some(id) => Ok(Insertion::Existing(id)),
        // Another (lead, step) already uses this Message-ID.
        None if unique_violation => Err(StoreError::Duplicate {
            entity: "Message-ID",
            key: e.message_id.clone(),
        }),
        None => Err(StoreError::not_found(
            "lead or campaign",
            format!("{}/{}", e.lead_id, e.campaign_id),
        )),
    }
}

pub(super) async fn get(pool: &PgPool, tenant: &str, id: i64) -> StoreResult<OutboundEmail> {
    let sql = format!("SELECT {EMAIL_COLUMNS} FROM outbound_emails WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("email", id))?;
    email_from_row(&row)
}

pub(super) async fn by_message_id(pool: &PgPool, tenant: &str, message_id: &str) -> StoreResult<Option<OutboundEmail>> {
    let sql = format!("SELECT {EMAIL_COLUMNS} FROM outbound_emails WHERE tenant_id = $1 AND message_id = $2");
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(message_id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(email_from_row).transpose()
}

/// Runs a guarded state change; `Conflict` (or `NotFound`) when it did not apply.
async fn change_state(
    pool: &PgPool,
    tenant: &str,
    id: i64,
    set: &str,
    allowed_from: &[EmailState],
    to: EmailState,
    bind_value: Option<BindValue<'_>>,
) -> StoreResult<()> {
    let from: Vec<String> = allowed_from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let sql = format!(
        "UPDATE outbound_emails SET state = '{}', {set} WHERE tenant_id = $1 AND id = $2 AND state IN ({})",
        to.as_str(),
        from.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(tenant).bind(id);
    query = match bind_value {
        Some(BindValue::Time(v)) => query.bind(v),
        Some(BindValue::Text(v)) => query.bind(v),
        None => query,
    };
    if query.execute(pool).await?.rows_affected() == 1 {
        return Ok(());
    }
    let current = get(pool, tenant, id).await?;
    Err(StoreError::Conflict(format!(
        "email {id} is {}, cannot become {}",
        current.state.as_str(),
        to.as_str()
    )))
}

/// The one extra value a state change binds as `$3`.
enum BindValue<'a> {
    Time(DateTime<Utc>),
    Text(&'a str),
}

pub(super) async fn mark_sending(pool: &PgPool, tenant: &str, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
    change_state(
        pool,
        tenant,
        id,
        "attempted_at = $3",
        &[EmailState::Queued],
        EmailState::Sending,
        Some(BindValue::Time(at)),
    )
    .await
}

pub(super) async fn mark_sent(pool: &PgPool, tenant: &str, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
    change_state(
        pool,
        tenant,
        id,
        "sent_at = $3, error = NULL",
        &[EmailState::Sending],
        EmailState::Sent,
        Some(BindValue::Time(at)),
    )
    .await
}

pub(super) async fn mark_failed(pool: &PgPool, tenant: &str, id: i64, error: &str) -> StoreResult<()> {
    change_state(
        pool,
        tenant,
        id,
        "error = $3",
        &[EmailState::Queued, EmailState::Sending],
        EmailState::Failed,
        Some(BindValue::Text(error)),
    )
    .await
}

pub(super) async fn mark_uncertain(pool: &PgPool, tenant: &str, id: i64, note: &str) -> StoreResult<()> {
    change_state(
        pool,
        tenant,
        id,
        "error = $3",
        &[EmailState::Sending],
        EmailState::Uncertain,
        Some(BindValue::Text(note)),
    )
    .await
}

pub(super) async fn mark_stale_uncertain(
    pool: &PgPool,
    tenant: &str,
    attempted_before: DateTime<Utc>,
) -> StoreResult<u64> {
    let result = sqlx::query(
        "UPDATE outbound_emails SET state = 'UNCERTAIN', \
         error = 'worker stopped while sending; check the mail server before resending' \
         WHERE tenant_id = $1 AND state = 'SENDING' AND attempted_at < $2",
    )
    .bind(tenant)
    .bind(attempted_before)
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}

pub(super) async fn in_state(
    pool: &PgPool,
    tenant: &str,
    campaign_id: Option<i64>,
    state: EmailState,
    limit: u32,
) -> StoreResult<Vec<OutboundEmail>> {
    let sql = format!(
        "SELECT {EMAIL_COLUMNS} FROM outbound_emails WHERE tenant_id = $1 AND state = $2 \
         AND ($3 IS NULL OR campaign_id = $3) ORDER BY id LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(state.as_str())
        .bind(campaign_id)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter().map(email_from_row).collect()
}

pub(super) async fn count_sent_since(
    pool: &PgPool,
    tenant: &str,
    campaign_id: Option<i64>,
    mailbox: Option<&str>,
    since: DateTime<Utc>,
) -> StoreResult<u64> {
    let filter = if campaign_id.is_some() {
        "campaign_id = $3"
    } else {
        "mailbox = $3"
    };
    let sql = format!(
        "SELECT COUNT(*) FROM outbound_emails WHERE {filter} AND tenant_id = $1 \
         AND attempted_at >= $2 AND state IN ('SENDING', 'SENT', 'UNCERTAIN')"
    );
    let query = sqlx::query_scalar::<_, i64>(&sql).bind(tenant).bind(since);
    let query = match (campaign_id, mailbox) {
        (Some(id), _) => query.bind(id),
        (None, mailbox) => query.bind(mailbox.unwrap_or_default()),
    };
    Ok(to_u64(query.fetch_one(pool).await?))
}

const INBOUND_COLUMNS: &str = "id, tenant_id, mailbox, message_id, in_reply_to, refs, from_address, \
     subject, body_text, raw, received_at, matched_lead_id, label, label_confidence, \
     classifier_version, alert_sent";

fn inbound_from_row(row: &PgRow) -> StoreResult<InboundMessage> {
    Ok(InboundMessage {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        message: NewInboundMessage {
            mailbox: row.try_get("mailbox")?,
            message_id: row.try_get("message_id")?,
            in_reply_to: row.try_get("in_reply_to")?,
            references: row.try_get::<Json<_>, _>("refs")?.0,
            from_address: row.try_get("from_address")?,
            subject: row.try_get("subject")?,
            body_text: row.try_get("body_text")?,
            raw: row.try_get("raw")?,
            received_at: row.try_get("received_at")?,
        },
        matched_lead_id: row.try_get("matched_lead_id")?,
        label: row.try_get("label")?,
        label_confidence: row.try_get("label_confidence")?,
        classifier_version: row.try_get("classifier_version")?,
        alert_sent: row.try_get("alert_sent")?,
    })
}

pub(super) async fn insert_inbound(pool: &PgPool, tenant: &str, m: &NewInboundMessage) -> StoreResult<Insertion> {
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
    .bind(Json(&m.references))
    .bind(&m.from_address)
    .bind(&m.subject)
    .bind(&m.body_text)
    .bind(&m.raw)
    .bind(m.received_at)
    .bind(Utc::now())
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

pub(super) async fn get_inbound(pool: &PgPool, tenant: &str, id: i64) -> StoreResult<InboundMessage> {
    let sql = format!("SELECT {INBOUND_COLUMNS} FROM inbound_messages WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::not_found("inbound message", id))?;
    inbound_from_row(&row)
}

pub(super) async fn set_inbound_match(pool: &PgPool, tenant: &str, id: i64, lead_id: i64) -> StoreResult<()> {
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
    pool: &PgPool,
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

pub(super) async fn mark_inbound_alerted(pool: &PgPool, tenant: &str, id: i64) -> StoreResult<()> {
    let result = sqlx::query("UPDATE inbound_messages SET alert_sent = TRUE WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .execute(pool)
        .await?;
    touched(result, "inbound message", id)
}

/// Inbound messages matching a fixed `condition` (never user input).
pub(super) async fn list_inbound(
    pool: &PgPool,
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

pub(super) async fn inbox_cursor(pool: &PgPool, tenant: &str, mailbox: &str) -> StoreResult<Option<InboxCursor>> {
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
    pool: &PgPool,
    tenant: &str,
    mailbox: &str,
    cursor: InboxCursor,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO inbox_cursors (tenant_id, mailbox, uid_validity, last_uid, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, mailbox) DO UPDATE SET \
         uid_validity = excluded.uid_validity, last_uid = excluded.last_uid, updated_at = excluded.updated_at",
    )
    .bind(tenant)
    .bind(mailbox)
    .bind(i64::from(cursor.uid_validity))
    .bind(i64::from(cursor.last_uid))
    .bind(Utc::now())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn insert_alert(pool: &PgPool, tenant: &str, a: &NewAlert) -> StoreResult<Insertion> {
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO alerts (tenant_id, idempotency_key, kind, lead_id, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(tenant)
    .bind(&a.idempotency_key)
    .bind(&a.kind)
    .bind(a.lead_id)
    .bind(Json(&a.payload))
    .bind(Utc::now())
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

pub(super) async fn mark_alert_delivered(pool: &PgPool, tenant: &str, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
    let result = sqlx::query("UPDATE alerts SET delivered_at = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .bind(at)
        .execute(pool)
        .await?;
    touched(result, "alert", id)
}

pub(super) async fn list_alerts(pool: &PgPool, tenant: &str, limit: u32) -> StoreResult<Vec<Alert>> {
    let rows = sqlx::query(
        "SELECT id, tenant_id, idempotency_key, kind, lead_id, payload, created_at, delivered_at \
         FROM alerts WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2",
    )
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
                    payload: row.try_get::<Json<_>, _>("payload")?.0,
                },
                created_at: row.try_get("created_at")?,
                delivered_at: row.try_get("delivered_at")?,
            })
        })
        .collect()
}
