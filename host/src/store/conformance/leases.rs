//! Worker leases and campaign claiming.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::{campaign, conformance_tests};
use crate::domain::model::CampaignStatus;
use crate::store::Store;

conformance_tests!(
    a_held_lease_is_refused_to_another_worker_until_it_expires,
    concurrent_claimers_never_get_the_same_campaign,
    claiming_skips_paused_campaigns_and_takes_over_expired_leases,
);

/// Long enough that a held lease never lapses mid-test.
const LONG: Duration = Duration::from_secs(600);

async fn a_held_lease_is_refused_to_another_worker_until_it_expires(store: Arc<dyn Store>) {
    let id = super::tenant_with_campaign(&store, "default").await;
    let short = Duration::from_millis(300);
    assert!(store.try_acquire_lease("default", id, "w1", short).await.unwrap());
    assert!(!store.try_acquire_lease("default", id, "w2", LONG).await.unwrap());
    assert!(
        store.try_acquire_lease("default", id, "w1", short).await.unwrap(),
        "re-acquiring our own lease works"
    );
    assert!(store.renew_lease("default", id, "w1", short).await.unwrap());
    assert!(!store.renew_lease("default", id, "w2", short).await.unwrap());

    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        store.try_acquire_lease("default", id, "w2", LONG).await.unwrap(),
        "an expired lease is taken over"
    );
    assert!(
        !store.renew_lease("default", id, "w1", LONG).await.unwrap(),
        "the old holder lost it"
    );
    store.release_lease("default", id, "w1").await.unwrap(); // not ours: no-op
    assert!(!store.try_acquire_lease("default", id, "w1", LONG).await.unwrap());
    store.release_lease("default", id, "w2").await.unwrap();
    assert!(store.try_acquire_lease("default", id, "w1", LONG).await.unwrap());

    store.ensure_tenant("other", "Other").await.unwrap();
    assert!(store.try_acquire_lease("other", id, "w3", LONG).await.is_err());
}

async fn concurrent_claimers_never_get_the_same_campaign(store: Arc<dyn Store>) {
    store.ensure_tenant("a", "A").await.unwrap();
    store.ensure_tenant("b", "B").await.unwrap();
    for i in 0..6 {
        let tenant = if i % 2 == 0 { "a" } else { "b" };
        let c = store
            .create_campaign(tenant, &campaign(&format!("c{i}")))
            .await
            .unwrap();
        store
            .set_campaign_status(tenant, c.id, CampaignStatus::Running, "go", "test")
            .await
            .unwrap();
    }
    let claimers = (0..10).map(|w| {
        let store = store.clone();
        tokio::spawn(async move { store.claim_next_campaign(&format!("w{w}"), LONG).await })
    });
    let claimed: Vec<_> = futures::future::join_all(claimers)
        .await
        .into_iter()
        .filter_map(|joined| joined.unwrap().unwrap())
        .collect();
    let distinct: HashSet<i64> = claimed.iter().map(|l| l.campaign_id).collect();
    assert_eq!(
        distinct.len(),
        claimed.len(),
        "a campaign was handed out twice: {claimed:?}"
    );
    assert_eq!(claimed.len(), 6, "every running campaign is claimed once: {claimed:?}");
    assert!(store.claim_next_campaign("late", LONG).await.unwrap().is_none());
}

async fn claiming_skips_paused_campaigns_and_takes_over_expired_leases(store: Arc<dyn Store>) {
    let paused = super::tenant_with_campaign(&store, "default").await;
    let running = store.create_campaign("default", &campaign("live")).await.unwrap().id;
    store
        .set_campaign_status("default", running, CampaignStatus::Running, "go", "test")
        .await
        .unwrap();

    let lease = store
        .claim_next_campaign("w1", Duration::from_millis(200))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((lease.campaign_id, lease.tenant_id.as_str()), (running, "default"));
    assert_ne!(lease.campaign_id, paused);
    assert!(store.claim_next_campaign("w2", LONG).await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let taken = store.claim_next_campaign("w2", LONG).await.unwrap().unwrap();
    assert_eq!((taken.campaign_id, taken.worker_id.as_str()), (running, "w2"));
    assert!(!store.renew_lease("default", running, "w1", LONG).await.unwrap());
}
