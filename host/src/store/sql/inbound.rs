//! Inbound messages and inbox cursors, written once for both backends
//! (included by `store/sqlite` and `store/postgres`; see [`crate::store`]).

use async_trait::async_trait;
use chrono::Utc;
use sqlx::Row;
use sqlx::types::Json;

use super::{DbRow, DbStore};
use crate::domain::model::{InboundMessage, InboxCursor, NewInboundMessage};
use crate::store::shared::{from_ms, inbound_message_id, ms, to_u32, to_u64, touched};
use crate::store::{Inbound, InboundFilter, Insertion, ReplyRelabel, StoreError, StoreResult};

const INBOUND_COLUMNS: &str = "id, tenant_id, mailbox, message_id, in_reply_to, refs, from_address, \
     subject, body_text, raw, received_at, matched_lead_id, label, label_confidence, \
     classifier_version, alert_sent";

fn inbound_from_row(row: &DbRow) -> StoreResult<InboundMessage> {
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
            received_at: from_ms("inbound_messages.received_at", row.try_get("received_at")?)?,
        },
        matched_lead_id: row.try_get("matched_lead_id")?,
        label: row.try_get("label")?,
        label_confidence: row.try_get("label_confidence")?,
        classifier_version: row.try_get("classifier_version")?,
        alert_sent: row.try_get("alert_sent")?,
    })
}

impl DbStore {
    /// Inbound messages matching a fixed `condition` (never user input), oldest first.
    async fn inbound_where(
        &self,
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
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(inbound_from_row).collect()
    }
}

#[async_trait]
impl Inbound for DbStore {
    async fn insert_inbound(&self, tenant: &str, m: &NewInboundMessage) -> StoreResult<Insertion> {
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
        .bind(ms(m.received_at))
        .bind(ms(Utc::now()))
        .fetch_optional(&self.pool)
        .await?;
        if let Some(id) = inserted {
            return Ok(Insertion::New(id));
        }
        let id: i64 = sqlx::query_scalar("SELECT id FROM inbound_messages WHERE tenant_id = $1 AND message_id = $2")
            .bind(tenant)
            .bind(&message_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(Insertion::Existing(id))
    }

    async fn get_inbound(&self, tenant: &str, id: i64) -> StoreResult<InboundMessage> {
        let sql = format!("SELECT {INBOUND_COLUMNS} FROM inbound_messages WHERE tenant_id = $1 AND id = $2");
        let row = sqlx::query(&sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("inbound message", id))?;
        inbound_from_row(&row)
    }

    async fn set_inbound_match(&self, tenant: &str, id: i64, lead_id: i64) -> StoreResult<()> {
        // The lead must be the tenant's too.
        let result = sqlx::query(
            "UPDATE inbound_messages SET matched_lead_id = \
             (SELECT id FROM leads WHERE tenant_id = $1 AND id = $3) \
             WHERE tenant_id = $1 AND id = $2 AND EXISTS (SELECT 1 FROM leads WHERE tenant_id = $1 AND id = $3)",
        )
        .bind(tenant)
        .bind(id)
        .bind(lead_id)
        .execute(&self.pool)
        .await?;
        touched(result.rows_affected(), "inbound message or lead", id)
    }

    async fn set_inbound_label(
        &self,
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
        .execute(&self.pool)
        .await?;
        touched(result.rows_affected(), "inbound message", id)
    }

    async fn mark_inbound_alerted(&self, tenant: &str, id: i64) -> StoreResult<()> {
        let result = sqlx::query("UPDATE inbound_messages SET alert_sent = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .bind(true)
            .execute(&self.pool)
            .await?;
        touched(result.rows_affected(), "inbound message", id)
    }

    async fn unmatched_inbound(&self, tenant: &str, limit: u32) -> StoreResult<Vec<InboundMessage>> {
        self.inbound_where(tenant, "matched_lead_id IS NULL", limit).await
    }

    async fn unlabeled_inbound(&self, tenant: &str, limit: u32) -> StoreResult<Vec<InboundMessage>> {
        self.inbound_where(tenant, "label IS NULL", limit).await
    }

    async fn unalerted_positive_inbound(&self, tenant: &str, limit: u32) -> StoreResult<Vec<InboundMessage>> {
        let unalerted = "label = 'interested' AND NOT alert_sent AND matched_lead_id IS NOT NULL";
        self.inbound_where(tenant, unalerted, limit).await
    }

    async fn count_inbound_labelled(&self, tenant: &str, lead_id: i64, label: &str) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM inbound_messages WHERE tenant_id = $1 AND matched_lead_id = $2 AND label = $3",
        )
        .bind(tenant)
        .bind(lead_id)
        .bind(label)
        .fetch_one(&self.pool)
        .await?;
        Ok(to_u64(n))
    }

    async fn list_inbound(
        &self,
        tenant: &str,
        filter: &InboundFilter,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<InboundMessage>> {
        let matched = if filter.matched {
            "matched_lead_id IS NOT NULL"
        } else {
            "matched_lead_id IS NULL"
        };
        let mut sql =
            format!("SELECT {INBOUND_COLUMNS} FROM inbound_messages WHERE tenant_id = $1 AND id > $2 AND {matched}");
        let mut n = 3;
        if filter.label.is_some() {
            sql.push_str(&format!(" AND label = ${n}"));
            n += 1;
        }
        if filter.campaign_id.is_some() {
            sql.push_str(&format!(
                " AND matched_lead_id IN (SELECT id FROM leads WHERE tenant_id = $1 AND campaign_id = ${n})"
            ));
            n += 1;
        }
        if filter.lead_id.is_some() {
            sql.push_str(&format!(" AND matched_lead_id = ${n}"));
            n += 1;
        }
        sql.push_str(&format!(" ORDER BY id LIMIT ${n}"));
        let mut query = sqlx::query(&sql).bind(tenant).bind(after_id);
        if let Some(label) = &filter.label {
            query = query.bind(label);
        }
        if let Some(campaign_id) = filter.campaign_id {
            query = query.bind(campaign_id);
        }
        if let Some(lead_id) = filter.lead_id {
            query = query.bind(lead_id);
        }
        let rows = query.bind(i64::from(limit)).fetch_all(&self.pool).await?;
        rows.iter().map(inbound_from_row).collect()
    }

    async fn relabel_inbound(
        &self,
        tenant: &str,
        id: i64,
        label: &str,
        reason: &str,
        actor: &str,
    ) -> StoreResult<ReplyRelabel> {
        let mut tx = super::begin_write(&self.pool).await?;
        let previous: Option<(Option<String>, Option<f64>, Option<String>)> = sqlx::query_as(
            "SELECT label, label_confidence, classifier_version FROM inbound_messages \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let (previous_label, previous_confidence, previous_classifier) =
            previous.ok_or_else(|| StoreError::not_found("inbound message", id))?;
        let at = Utc::now();
        // Only if nobody relabelled it since the read (PostgreSQL's read
        // above takes no lock), so the recorded previous label is the one
        // this replaced.
        let updated = sqlx::query(
            "UPDATE inbound_messages SET label = $3, label_confidence = $4, classifier_version = $5 \
             WHERE tenant_id = $1 AND id = $2 AND label IS NOT DISTINCT FROM $6 \
             AND classifier_version IS NOT DISTINCT FROM $7",
        )
        .bind(tenant)
        .bind(id)
        .bind(label)
        .bind(1.0_f64)
        .bind(actor)
        .bind(previous_label.as_deref())
        .bind(previous_classifier.as_deref())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "inbound message {id} was relabelled meanwhile; look at it again and retry"
            )));
        }
        sqlx::query(
            "INSERT INTO reply_relabels (tenant_id, inbound_id, previous_label, previous_confidence, \
             previous_classifier, label, reason, actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(tenant)
        .bind(id)
        .bind(previous_label.as_deref())
        .bind(previous_confidence)
        .bind(previous_classifier.as_deref())
        .bind(label)
        .bind(reason)
        .bind(actor)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ReplyRelabel {
            inbound_id: id,
            previous_label,
            previous_confidence,
            previous_classifier,
            label: label.to_string(),
            reason: reason.to_string(),
            actor: actor.to_string(),
            at: from_ms("reply_relabels.at", ms(at))?,
        })
    }

    async fn inbound_relabels(&self, tenant: &str, id: i64) -> StoreResult<Vec<ReplyRelabel>> {
        let rows = sqlx::query(
            "SELECT inbound_id, previous_label, previous_confidence, previous_classifier, label, reason, \
             actor, at FROM reply_relabels WHERE tenant_id = $1 AND inbound_id = $2 ORDER BY id",
        )
        .bind(tenant)
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ReplyRelabel {
                    inbound_id: row.try_get("inbound_id")?,
                    previous_label: row.try_get("previous_label")?,
                    previous_confidence: row.try_get("previous_confidence")?,
                    previous_classifier: row.try_get("previous_classifier")?,
                    label: row.try_get("label")?,
                    reason: row.try_get("reason")?,
                    actor: row.try_get("actor")?,
                    at: from_ms("reply_relabels.at", row.try_get("at")?)?,
                })
            })
            .collect()
    }

    async fn inbox_cursor(&self, tenant: &str, mailbox: &str) -> StoreResult<Option<InboxCursor>> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT uid_validity, last_uid FROM inbox_cursors WHERE tenant_id = $1 AND mailbox = $2")
                .bind(tenant)
                .bind(mailbox)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(v, u)| {
            Ok(InboxCursor {
                uid_validity: to_u32("inbox_cursors.uid_validity", v)?,
                last_uid: to_u32("inbox_cursors.last_uid", u)?,
            })
        })
        .transpose()
    }

    async fn set_inbox_cursor(&self, tenant: &str, mailbox: &str, cursor: InboxCursor) -> StoreResult<()> {
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
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
