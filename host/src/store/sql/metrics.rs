//! A campaign's daily activity, written once for both backends (included
//! by `store/sqlite` and `store/postgres`; see [`crate::store`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::DbStore;
use crate::domain::reply_label::{BOUNCE_LABELS, POSITIVE_LABELS, REPLY_LABELS, UNSUBSCRIBE_LABELS};
use crate::store::shared::{from_ms, ms, to_u64};
use crate::store::{Campaigns, DailyMetrics, DayActivity, StoreResult};

/// Milliseconds in a UTC day: timestamps are unix milliseconds, so
/// `at / DAY_MS` is the day's number since 1970-01-01 on both backends.
const DAY_MS: i64 = 86_400_000;

/// `SUM(CASE WHEN label IN ('a', 'b') THEN 1 ELSE 0 END)` over fixed labels (never user input).
fn count_labelled(labels: &[&str]) -> String {
    let list: Vec<String> = labels.iter().map(|l| format!("'{l}'")).collect();
    format!("SUM(CASE WHEN m.label IN ({}) THEN 1 ELSE 0 END)", list.join(", "))
}

fn day_of(number: i64) -> StoreResult<NaiveDate> {
    Ok(from_ms("day", number * DAY_MS)?.date_naive())
}

#[async_trait]
impl DailyMetrics for DbStore {
    async fn daily_activity(&self, tenant: &str, campaign_id: i64, since: DateTime<Utc>) -> StoreResult<Vec<DayActivity>> {
        // Scopes the campaign to the tenant (another tenant's is a 404).
        self.get_campaign(tenant, campaign_id).await?;
        let mut days: BTreeMap<i64, DayActivity> = BTreeMap::new();
        let sent: Vec<(i64, i64)> = sqlx::query_as(&format!(
            "SELECT sent_at / {DAY_MS} AS day, COUNT(*) FROM outbound_emails \
             WHERE tenant_id = $1 AND campaign_id = $2 AND sent_at >= $3 GROUP BY 1"
        ))
        .bind(tenant)
        .bind(campaign_id)
        .bind(ms(since))
        .fetch_all(&self.pool)
        .await?;
        for (day, n) in sent {
            days.entry(day).or_insert(DayActivity::empty(day_of(day)?)).sent = to_u64(n);
        }
        let sql = format!(
            "SELECT m.received_at / {DAY_MS} AS day, {}, {}, {}, {} FROM inbound_messages m \
             JOIN leads l ON l.id = m.matched_lead_id AND l.tenant_id = m.tenant_id \
             WHERE m.tenant_id = $1 AND l.campaign_id = $2 AND m.received_at >= $3 GROUP BY 1",
            count_labelled(&REPLY_LABELS),
            count_labelled(&POSITIVE_LABELS),
            count_labelled(&BOUNCE_LABELS),
            count_labelled(&UNSUBSCRIBE_LABELS),
        );
        let replies: Vec<(i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>)> = sqlx::query_as(&sql)
            .bind(tenant)
            .bind(campaign_id)
            .bind(ms(since))
            .fetch_all(&self.pool)
            .await?;
        for (day, replies, positive, bounces, unsubscribes) in replies {
            let entry = days.entry(day).or_insert(DayActivity::empty(day_of(day)?));
            entry.replies = to_u64(replies.unwrap_or(0));
            entry.positive = to_u64(positive.unwrap_or(0));
            entry.bounces = to_u64(bounces.unwrap_or(0));
            entry.unsubscribes = to_u64(unsubscribes.unwrap_or(0));
        }
        Ok(days.into_values().collect())
    }
}
