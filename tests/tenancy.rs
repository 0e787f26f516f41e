//! Tenants on one database: a worker runs only the campaigns of the tenant
//! it serves (its plugins, mailboxes and alert channels are that tenant's),
//! and a disabled tenant's campaigns are never claimed.

use cam::domain::model::CampaignStatus;
use cam::store::Claimable;

use crate::support::cam_ok;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_never_runs_another_tenants_campaign() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    cam_ok(root, &["init"]);
    cam_ok(root, &["campaigns", "create", "ours", "--start"]);
    cam_ok(root, &["tenants", "create", "beta"]);
    let store = cam::store::open(&format!("sqlite://{}", root.join("cam.db").display()))
        .await
        .expect("store");
    let ours = store.list_campaigns("default").await.expect("ours")[0].clone();
    let theirs = store
        .create_campaign("beta", &ours.config)
        .await
        .expect("beta's campaign");
    store
        .set_campaign_status("beta", theirs.id, CampaignStatus::Running, "go", "test")
        .await
        .expect("running");

    let out = cam_ok(root, &["run", "--once"]);
    assert!(out.contains("ours"), "our campaign ran: {out}");
    let beta_reports = store.recent_cycle_reports("beta", None, 10).await.expect("reports");
    assert!(
        beta_reports.is_empty(),
        "beta's campaign ran with our plugins and mailboxes: {beta_reports:?}"
    );
    assert_eq!(
        store
            .recent_cycle_reports("default", None, 10)
            .await
            .expect("reports")
            .len(),
        1
    );
    // Beta's campaign is still free for beta's own workers.
    let lease = store
        .claim_next_campaign(
            "beta-worker",
            std::time::Duration::from_secs(60),
            Claimable::of_tenant("beta"),
        )
        .await
        .expect("claim")
        .expect("beta's campaign is claimable");
    assert_eq!(lease.campaign_id, theirs.id);

    cam_ok(root, &["tenants", "disable", "default"]);
    let out = cam_ok(root, &["run", "--once"]);
    assert!(
        out.contains("no campaign to work on"),
        "a disabled tenant's campaigns are not claimed: {out}"
    );
    let listed = cam_ok(root, &["tenants", "list"]);
    assert!(
        listed.contains("default") && listed.contains("disabled") && listed.contains("beta"),
        "{listed}"
    );
}
