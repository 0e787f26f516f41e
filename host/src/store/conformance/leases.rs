//! Worker leases and campaign claiming.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::{campaign, conformance_tests};
use crate::domain::model::CampaignStatus;
use crate::store::{Claimable, Store};

conformance_tests!(
    a_held_lease_is_refused_to_another_worker_until_it_expires,
    concurrent_claimers_never_get_the_same_campaign,
    claiming_skips_paused_campaigns_and_takes_over_expired_leases,
    a_disabled_tenants_campaigns_are_never_claimed,
    a_claim_for_one_tenant_never_takes_another_tenants_campaign,
    tenants_take_turns_and_each_campaign_runs_once_per_round,
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
    running_campaigns(&store, "a", 3).await;
    running_campaigns(&store, "b", 3).await;
    let claimers = (0..10).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .claim_next_campaign(&format!("w{w}"), LONG, Claimable::any_tenant())
                .await
        })
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
    assert!(
        store
            .claim_next_campaign("late", LONG, Claimable::any_tenant())
            .await
            .unwrap()
            .is_none()
    );
}

async fn claiming_skips_paused_campaigns_and_takes_over_expired_leases(store: Arc<dyn Store>) {
    let paused = super::tenant_with_campaign(&store, "default").await;
    let running = store.create_campaign("default", &campaign("live")).await.unwrap().id;
    store
        .set_campaign_status("default", running, CampaignStatus::Running, "go", "test")
        .await
        .unwrap();

    let lease = store
        .claim_next_campaign("w1", Duration::from_millis(200), Claimable::any_tenant())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((lease.campaign_id, lease.tenant_id.as_str()), (running, "default"));
    assert_ne!(lease.campaign_id, paused);
    assert!(
        store
            .claim_next_campaign("w2", LONG, Claimable::any_tenant())
            .await
            .unwrap()
            .is_none()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let taken = store
        .claim_next_campaign("w2", LONG, Claimable::any_tenant())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((taken.campaign_id, taken.worker_id.as_str()), (running, "w2"));
    assert!(!store.renew_lease("default", running, "w1", LONG).await.unwrap());
}

/// `n` RUNNING campaigns of a new tenant `tenant`; their ids.
async fn running_campaigns(store: &Arc<dyn Store>, tenant: &str, n: usize) -> Vec<i64> {
    store.ensure_tenant(tenant, tenant).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let c = store
            .create_campaign(tenant, &campaign(&format!("{tenant}-{i}")))
            .await
            .unwrap();
        store
            .set_campaign_status(tenant, c.id, CampaignStatus::Running, "go", "test")
            .await
            .unwrap();
        ids.push(c.id);
    }
    ids
}

async fn a_disabled_tenants_campaigns_are_never_claimed(store: Arc<dyn Store>) {
    running_campaigns(&store, "off", 2).await;
    let on = running_campaigns(&store, "on", 1).await;
    let disabled = store.set_tenant_disabled("off", true).await.unwrap();
    assert!(disabled.disabled_at.is_some());
    let lease = store
        .claim_next_campaign("w", LONG, Claimable::any_tenant())
        .await
        .unwrap()
        .expect("the enabled tenant's campaign");
    assert_eq!((lease.tenant_id.as_str(), lease.campaign_id), ("on", on[0]));
    assert!(
        store
            .claim_next_campaign("w", LONG, Claimable::any_tenant())
            .await
            .unwrap()
            .is_none(),
        "nothing of the disabled tenant is claimed"
    );
    assert!(
        store
            .claim_next_campaign("w", LONG, Claimable::of_tenant("off"))
            .await
            .unwrap()
            .is_none(),
        "not even by a worker of that tenant"
    );
    store.set_tenant_disabled("off", false).await.unwrap();
    let lease = store
        .claim_next_campaign("w", LONG, Claimable::of_tenant("off"))
        .await
        .unwrap()
        .expect("enabled again");
    assert_eq!(lease.tenant_id, "off");
}

async fn a_claim_for_one_tenant_never_takes_another_tenants_campaign(store: Arc<dyn Store>) {
    running_campaigns(&store, "b", 3).await;
    let a = running_campaigns(&store, "a", 1).await;
    let lease = store
        .claim_next_campaign("wa", LONG, Claimable::of_tenant("a"))
        .await
        .unwrap()
        .expect("a's campaign");
    assert_eq!((lease.tenant_id.as_str(), lease.campaign_id), ("a", a[0]));
    assert!(
        store
            .claim_next_campaign("wa", LONG, Claimable::of_tenant("a"))
            .await
            .unwrap()
            .is_none(),
        "b's three free campaigns are not a's worker's to run"
    );
}

async fn tenants_take_turns_and_each_campaign_runs_once_per_round(store: Arc<dyn Store>) {
    let big = running_campaigns(&store, "big", 6).await;
    let small = running_campaigns(&store, "small", 1).await;
    // A round: claim, run, release, until nothing is left for this round.
    let round = Claimable::any_tenant();
    let mut order = Vec::new();
    while let Some(lease) = store.claim_next_campaign("w", LONG, round).await.unwrap() {
        store
            .release_lease(&lease.tenant_id, lease.campaign_id, "w")
            .await
            .unwrap();
        order.push((lease.tenant_id, lease.campaign_id));
        assert!(order.len() <= 7, "a campaign ran twice in one round: {order:?}");
    }
    assert_eq!(order.len(), 7, "every campaign once: {order:?}");
    let small_at = order
        .iter()
        .position(|(t, c)| t == "small" && *c == small[0])
        .expect("the small tenant's campaign ran");
    assert!(
        small_at <= 1,
        "the tenant with one campaign waits for at most one of the other's six: {order:?}"
    );
    let big_ran: HashSet<i64> = order.iter().filter(|(t, _)| t == "big").map(|(_, c)| *c).collect();
    assert_eq!(big_ran, big.into_iter().collect());
    // Next round: the small tenant, served less recently, goes first again
    // after at most one of the big tenant's.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let next = Claimable::any_tenant();
    let first = store.claim_next_campaign("w", LONG, next).await.unwrap().unwrap();
    store
        .release_lease(&first.tenant_id, first.campaign_id, "w")
        .await
        .unwrap();
    let second = store.claim_next_campaign("w", LONG, next).await.unwrap().unwrap();
    assert!(
        first.tenant_id == "small" || second.tenant_id == "small",
        "{first:?} {second:?}"
    );
}
