//! Outbound emails, written once for both backends (included by
//! `store/sqlite` and `store/postgres`; see [`crate::store`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{DbRow, DbStore};
use crate::domain::model::{EmailState, NewOutboundEmail, OutboundEmail};
use crate::store::shared::{from_ms, from_ms_opt, ms, to_u32, to_u64};
use crate::store::{Insertion, Outbound, StoreError, StoreResult};

const EMAIL_COLUMNS: &str = "id, tenant_id, campaign_id, lead_id, step, mailbox, to_address, \
     subject, body, message_id, state, error, queued_at, attempted_at, sent_at";

fn email_from_row(row: &DbRow) -> StoreResult<OutboundEmail> {
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
        queued_at: from_ms("outbound_emails.queued_at", row.try_get("queued_at")?)?,
        attempted_at: from_ms_opt("outbound_emails.attempted_at", row.try_get("attempted_at")?)?,
        sent_at: from_ms_opt("outbound_emails.sent_at", row.try_get("sent_at")?)?,
    })
}

/// The one extra value a state change binds as `$3`.
enum BindValue<'a> {
    Millis(i64),
    Text(&'a str),
}

impl DbStore {
    /// Runs a guarded state change; `Conflict` (or `NotFound`) when it did not apply.
    async fn change_email_state(
        &self,
        tenant: &str,
        id: i64,
        set: &str,
        allowed_from: &[EmailState],
        to: EmailState,
        bind_value: BindValue<'_>,
    ) -> StoreResult<()> {
        let from: Vec<String> = allowed_from.iter().map(|s| format!("'{}'", s.as_str())).collect();
        let sql = format!(
            "UPDATE outbound_emails SET state = '{}', {set} WHERE tenant_id = $1 AND id = $2 AND state IN ({})",
            to.as_str(),
            from.join(", ")
        );
        let query = sqlx::query(&sql).bind(tenant).bind(id);
        let query = match bind_value {
            BindValue::Millis(v) => query.bind(v),
            BindValue::Text(v) => query.bind(v),
        };
        if query.execute(&self.pool).await?.rows_affected() == 1 {
            return Ok(());
        }
        let current = self.get_email(tenant, id).await?;
        Err(StoreError::Conflict(format!(
            "email {id} is {}, cannot become {}",
            current.state.as_str(),
            to.as_str()
        )))
    }

    /// Emails of a campaign or a mailbox attempted since `since`.
    async fn count_attempted_since(
        &self,
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
        let query = sqlx::query_scalar::<_, i64>(&sql).bind(tenant).bind(ms(since));
        let query = match (campaign_id, mailbox) {
            (Some(id), _) => query.bind(id),
            (None, mailbox) => query.bind(mailbox.unwrap_or_default()),
        };
        Ok(to_u64(query.fetch_one(&self.pool).await?))
    }
}

#[async_trait]
impl Outbound for DbStore {
    async fn lead_emails(&self, tenant: &str, lead_id: i64) -> StoreResult<Vec<OutboundEmail>> {
        let sql = format!("SELECT {EMAIL_COLUMNS} FROM outbound_emails WHERE tenant_id = $1 AND lead_id = $2 ORDER BY step");
        let rows = sqlx::query(&sql)
            .bind(tenant)
            .bind(lead_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(email_from_row).collect()
    }

    async fn queue_email(&self, tenant: &str, e: &NewOutboundEmail) -> StoreResult<Insertion> {
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
        .bind(ms(Utc::now()))
        .fetch_optional(&self.pool)
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
                .fetch_optional(&self.pool)
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

    async fn get_email(&self, tenant: &str, id: i64) -> StoreResult<OutboundEmail> {
        let sql = format!("SELECT {EMAIL_COLUMNS} FROM outbound_emails WHERE tenant_id = $1 AND id = $2");
        let row = sqlx::query(&sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("email", id))?;
        email_from_row(&row)
    }

    async fn email_by_message_id(&self, tenant: &str, message_id: &str) -> StoreResult<Option<OutboundEmail>> {
        let sql = format!("SELECT {EMAIL_COLUMNS} FROM outbound_emails WHERE tenant_id = $1 AND message_id = $2");
        let row = sqlx::query(&sql)
            .bind(tenant)
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(email_from_row).transpose()
    }

    async fn mark_email_sending(&self, tenant: &str, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        let (from, to) = (&[EmailState::Queued], EmailState::Sending);
        self.change_email_state(tenant, id, "attempted_at = $3", from, to, BindValue::Millis(ms(at)))
            .await
    }

    async fn mark_email_sent(&self, tenant: &str, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        let (from, to) = (&[EmailState::Sending], EmailState::Sent);
        let set = "sent_at = $3, error = NULL";
        self.change_email_state(tenant, id, set, from, to, BindValue::Millis(ms(at)))
            .await
    }

    async fn mark_email_failed(&self, tenant: &str, id: i64, error: &str) -> StoreResult<()> {
        let (from, to) = (&[EmailState::Queued, EmailState::Sending], EmailState::Failed);
        self.change_email_state(tenant, id, "error = $3", from, to, BindValue::Text(error))
            .await
    }

    async fn mark_email_uncertain(&self, tenant: &str, id: i64, note: &str) -> StoreResult<()> {
        let (from, to) = (&[EmailState::Sending], EmailState::Uncertain);
        self.change_email_state(tenant, id, "error = $3", from, to, BindValue::Text(note))
            .await
    }

    async fn requeue_email(&self, tenant: &str, id: i64, note: &str) -> StoreResult<()> {
        let (from, to) = (&[EmailState::Sending], EmailState::Queued);
        let set = "error = $3, attempted_at = NULL";
        self.change_email_state(tenant, id, set, from, to, BindValue::Text(note))
            .await
    }

    async fn resolve_uncertain_email(
        &self,
        tenant: &str,
        id: i64,
        sent: bool,
        note: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let from = &[EmailState::Uncertain];
        if sent {
            self.change_email_state(
                tenant,
                id,
                "sent_at = $3",
                from,
                EmailState::Sent,
                BindValue::Millis(ms(at)),
            )
            .await
        } else {
            self.change_email_state(
                tenant,
                id,
                "error = $3",
                from,
                EmailState::Failed,
                BindValue::Text(note),
            )
            .await
        }
    }

    async fn mark_stale_sending_uncertain(&self, tenant: &str, attempted_before: DateTime<Utc>) -> StoreResult<u64> {
        let result = sqlx::query(
            "UPDATE outbound_emails SET state = 'UNCERTAIN', \
             error = 'worker stopped while sending; check the mail server before resending' \
             WHERE tenant_id = $1 AND state = 'SENDING' AND attempted_at < $2",
        )
        .bind(tenant)
        .bind(ms(attempted_before))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    async fn emails_in_state(
        &self,
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
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(email_from_row).collect()
    }

    async fn count_sent_since(&self, tenant: &str, campaign_id: i64, since: DateTime<Utc>) -> StoreResult<u64> {
        self.count_attempted_since(tenant, Some(campaign_id), None, since).await
    }

    async fn count_sent_by_mailbox_since(&self, tenant: &str, mailbox: &str, since: DateTime<Utc>) -> StoreResult<u64> {
        self.count_attempted_since(tenant, None, Some(mailbox), since).await
    }
}
