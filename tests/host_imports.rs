//! The `kv` and `clock` imports through the real store: per-tenant data, the
//! quota enforced by the host, the cycle's clock.

use std::sync::Arc;

use cam::plugins::store_kv::StoreKv;

use crate::support::{lead, load, plugin, runtime};

#[tokio::test(flavor = "multi_thread")]
async fn kv_data_persists_in_the_database_per_tenant_and_the_quota_is_enforced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("cam.db").display());
    let store = cam::store::open(&url).await.expect("store opens");
    let plugin = load(plugin::KV_COUNTER).await.expect("loads");
    let scope_for = |tenant: &str| {
        let mut scope = runtime().scope(tenant, Some(Arc::new(StoreKv(store.clone()))));
        scope.now_ms = 1_700_000_000_123;
        scope
    };
    for tenant in ["acme", "globex"] {
        store.ensure_tenant(tenant, tenant).await.expect("tenant");
    }
    let mut last = Vec::new();
    for _ in 0..3 {
        last = plugin
            .score(scope_for("acme"), &[lead("a@b.com", "CTO")])
            .await
            .expect("scores")[0]
            .reasons
            .clone();
    }
    assert_eq!(last[0], "calls=3", "{last:?}");
    assert_eq!(
        last[1], "now=1700000000123",
        "the clock import returns the cycle's clock: {last:?}"
    );
    assert!(
        last[2].contains("refused") && last[2].contains("QuotaExceeded"),
        "{last:?}"
    );

    let other = plugin
        .score(scope_for("globex"), &[lead("a@b.com", "CTO")])
        .await
        .expect("scores");
    assert_eq!(other[0].reasons[0], "calls=1", "another tenant has its own kv data");

    // A new process (a new store handle) sees the same data.
    drop(store);
    let store = cam::store::open(&url).await.expect("reopens");
    let value = store.kv_get("acme", "kv_counter", "calls").await.expect("reads");
    assert_eq!(value.as_deref(), Some(&b"3"[..]));
}
