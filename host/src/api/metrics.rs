//! `/api/v1/campaigns/{id}/metrics/daily`: a campaign's activity per UTC
//! day — sent, replies, positive, bounces, unsubscribes — counted from the
//! stored emails and replies, every day of the range listed (zeros too).

use axum::Json;
use axum::extract::{Path, State};
use chrono::{Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::Caller;
use super::params::Params;
use super::problem::Problem;
use crate::domain::model::Role;
use crate::store::DayActivity;

/// Days shown when the request does not say: a month, what a weekly review looks back on.
pub const DEFAULT_DAYS: u32 = 30;
/// The longest range: a year, enough for any trend and still one small answer.
pub const MAX_DAYS: u32 = 366;

/// `?days=` of the series.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyQuery {
    /// How many days, ending today (UTC): 1..=366, default 30.
    pub days: Option<u32>,
}

/// The series.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DailySeries {
    /// The campaign.
    pub campaign_id: i64,
    /// The first day (UTC).
    pub from: NaiveDate,
    /// The last day (UTC): today.
    pub to: NaiveDate,
    /// One entry per day, oldest first.
    pub days: Vec<DayActivity>,
}

/// `GET /campaigns/{id}/metrics/daily`.
pub async fn daily(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    Params(query): Params<DailyQuery>,
) -> Result<Json<DailySeries>, Problem> {
    let tenant = caller.tenant(Role::Viewer)?;
    let days = query.days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(Problem::invalid_field(
            "days",
            format!("must be between 1 and {MAX_DAYS}"),
        ));
    }
    let to = Utc::now().date_naive();
    let from = to - Days::new(u64::from(days - 1));
    let since = from.and_time(chrono::NaiveTime::MIN).and_utc();
    let active = state.store.daily_activity(tenant, id, since).await?;
    Ok(Json(DailySeries {
        campaign_id: id,
        from,
        to,
        days: fill(from, to, active),
    }))
}

/// Every day from `from` to `to`, with the activity of those that had any.
fn fill(from: NaiveDate, to: NaiveDate, active: Vec<DayActivity>) -> Vec<DayActivity> {
    let mut active = active.into_iter().peekable();
    from.iter_days()
        .take_while(|day| *day <= to)
        .map(|day| {
            while active.peek().is_some_and(|a| a.day < day) {
                active.next();
            }
            match active.peek() {
                Some(a) if a.day == day => *a,
                _ => DayActivity::empty(day),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_day_of_the_range_is_listed_with_zeros_where_nothing_happened() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        let busy = DayActivity {
            sent: 4,
            replies: 1,
            ..DayActivity::empty(day(2))
        };
        let series = fill(day(1), day(3), vec![busy]);
        assert_eq!(
            series,
            vec![DayActivity::empty(day(1)), busy, DayActivity::empty(day(3))]
        );
    }
}
