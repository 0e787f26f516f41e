//! Tenants, campaigns, cursors and cycle reports.

use std::sync::Arc;

use chrono::{Duration, Utc};

use super::{campaign, conformance_tests};
use crate::domain::model::{CampaignStatus, NewCycleReport};
use crate::store::{Store, StoreError};

conformance_tests!(
    campaigns_round_trip_and_record_who_changed_their_status,
    a_campaign_name_is_unique_within_a_tenant_only,
    lead_source_cursors_persist_per_campaign_and_plugin,
    cycle_reports_list_newest_first,
);

async fn campaigns_round_trip_and_record_who_changed_their_status(store: Arc<dyn Store>) {
    let tenant = store.ensure_tenant("default", "Default").await.unwrap();
    assert_eq!(tenant.id, "default");
    // ensure_tenant is idempotent and keeps the first name.
    assert_eq!(store.ensure_tenant("default", "Other").await.unwrap().name, "Default");

    let created = store.create_campaign("default", &campaign("q3")).await.unwrap();
    assert_eq!(created.config, campaign("q3"));
    assert_eq!(created.status, CampaignStatus::Paused);
    assert!(!created.config.live, "dry-run is the default");

    let running = store
        .set_campaign_status(
            "default",
            created.id,
            CampaignStatus::Running,
            "operator started it",
            "alice",
        )
        .await
        .unwrap();
    assert_eq!(running.status, CampaignStatus::Running);
    assert_eq!(running.status_reason, "operator started it");
    assert_eq!(running.status_actor, "alice");

    store.set_daily_cap("default", created.id, 7).await.unwrap();
    let by_name = store.campaign_by_name("default", "q3").await.unwrap();
    assert_eq!(by_name.config.daily_cap, 7);
    assert_eq!(by_name.id, created.id);

    let mut changed = campaign("q3-renamed");
    changed.live = true;
    let updated = store
        .update_campaign_config("default", created.id, &changed)
        .await
        .unwrap();
    assert_eq!(updated.config, changed);
    assert_eq!(
        updated.status,
        CampaignStatus::Running,
        "config changes keep the status"
    );

    assert_eq!(store.list_campaigns("default").await.unwrap().len(), 1);
    assert!(matches!(
        store.get_campaign("default", created.id + 1000).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn a_campaign_name_is_unique_within_a_tenant_only(store: Arc<dyn Store>) {
    store.ensure_tenant("a", "A").await.unwrap();
    store.ensure_tenant("b", "B").await.unwrap();
    store.create_campaign("a", &campaign("same")).await.unwrap();
    assert!(matches!(
        store.create_campaign("a", &campaign("same")).await,
        Err(StoreError::Duplicate { .. })
    ));
    let other = store.create_campaign("b", &campaign("same")).await.unwrap();
    assert!(matches!(
        store.get_campaign("a", other.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .set_campaign_status("a", other.id, CampaignStatus::Done, "x", "y")
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn lead_source_cursors_persist_per_campaign_and_plugin(store: Arc<dyn Store>) {
    let id = super::tenant_with_campaign(&store, "default").await;
    assert_eq!(store.source_cursor("default", id, "csv").await.unwrap(), None);
    store.set_source_cursor("default", id, "csv", "row:500").await.unwrap();
    store.set_source_cursor("default", id, "csv", "row:1000").await.unwrap();
    store.set_source_cursor("default", id, "crm", "page:2").await.unwrap();
    assert_eq!(
        store.source_cursor("default", id, "csv").await.unwrap().as_deref(),
        Some("row:1000")
    );
    assert_eq!(
        store.source_cursor("default", id, "crm").await.unwrap().as_deref(),
        Some("page:2")
    );
    store.ensure_tenant("other", "Other").await.unwrap();
    assert_eq!(store.source_cursor("other", id, "csv").await.unwrap(), None);
    assert!(store.set_source_cursor("other", id, "csv", "x").await.is_err());
}

async fn cycle_reports_list_newest_first(store: Arc<dyn Store>) {
    let id = super::tenant_with_campaign(&store, "default").await;
    let start = Utc::now() - Duration::hours(3);
    for hour in 0..3 {
        let started_at = start + Duration::hours(hour);
        store
            .insert_cycle_report(
                "default",
                &NewCycleReport {
                    campaign_id: Some(id),
                    started_at,
                    finished_at: started_at + Duration::seconds(5),
                    summary: format!("cycle {hour}"),
                    report: serde_json::json!({ "hour": hour, "steps": ["discover"] }),
                },
            )
            .await
            .unwrap();
    }
    let recent = store.recent_cycle_reports("default", Some(id), 2).await.unwrap();
    assert_eq!(recent.len(), 2);
    assert_eq!(recent[0].report.summary, "cycle 2");
    assert_eq!(recent[1].report.summary, "cycle 1");
    assert_eq!(recent[0].report.report["hour"], 2);
    assert_eq!(
        recent[0].report.started_at.timestamp_millis(),
        (start + Duration::hours(2)).timestamp_millis()
    );
    assert_eq!(store.recent_cycle_reports("default", None, 10).await.unwrap().len(), 3);
    store.ensure_tenant("other", "Other").await.unwrap();
    assert!(store.recent_cycle_reports("other", None, 10).await.unwrap().is_empty());
}
