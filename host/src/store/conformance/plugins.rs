//! Plugin key-value data and plugin versions.

use std::sync::Arc;

use super::conformance_tests;
use crate::domain::model::NewPluginVersion;
use crate::store::{Store, StoreError};

conformance_tests!(
    kv_writes_past_the_quota_are_refused_with_the_numbers,
    concurrent_kv_writers_never_exceed_the_quota_together,
    plugin_versions_are_recorded_listed_and_activated_one_at_a_time,
    plugin_bytes_are_kept_per_tenant_for_every_worker,
    plugin_controls_shadows_releases_health_and_comparisons_are_per_tenant,
);

async fn kv_writes_past_the_quota_are_refused_with_the_numbers(store: Arc<dyn Store>) {
    store.ensure_tenant("default", "Default").await.unwrap();
    store.kv_set("default", "scorer", "a", &[0; 40], 100).await.unwrap(); // 41 bytes
    store.kv_set("default", "scorer", "b", &[0; 40], 100).await.unwrap(); // 82 bytes
    let refused = store.kv_set("default", "scorer", "c", &[0; 40], 100).await;
    match refused {
        Err(StoreError::QuotaExceeded { used, requested, limit }) => {
            assert_eq!((used, requested, limit), (82, 41, 100));
        }
        other => panic!("expected QuotaExceeded, got {other:?}"),
    }
    assert_eq!(store.kv_get("default", "scorer", "c").await.unwrap(), None);
    // Overwriting a key only counts its new size.
    store.kv_set("default", "scorer", "a", &[1; 58], 100).await.unwrap();
    assert_eq!(store.kv_usage("default", "scorer").await.unwrap(), 100);
    assert_eq!(store.kv_get("default", "scorer", "a").await.unwrap(), Some(vec![1; 58]));
    // Quotas are per plugin.
    store.kv_set("default", "enricher", "c", &[0; 40], 100).await.unwrap();
    assert!(store.kv_delete("default", "scorer", "a").await.unwrap());
    assert!(!store.kv_delete("default", "scorer", "a").await.unwrap());
    store.kv_set("default", "scorer", "c", &[0; 40], 100).await.unwrap();
}

async fn concurrent_kv_writers_never_exceed_the_quota_together(store: Arc<dyn Store>) {
    store.ensure_tenant("default", "Default").await.unwrap();
    // Ten writers of 20 bytes each against a 100-byte quota: exactly five fit.
    let writers = (0..10).map(|i| {
        let store = store.clone();
        tokio::spawn(async move { store.kv_set("default", "p", &format!("k{i}"), &[0; 18], 100).await })
    });
    let results = futures::future::join_all(writers).await;
    let ok = results.iter().filter(|r| matches!(r, Ok(Ok(())))).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Ok(Err(StoreError::QuotaExceeded { .. }))))
        .count();
    assert_eq!((ok, refused), (5, 5), "{results:?}");
    assert_eq!(store.kv_usage("default", "p").await.unwrap(), 100);
}

fn version(sha: &str, v: &str) -> NewPluginVersion {
    NewPluginVersion {
        name: "icp-scorer".into(),
        kind: "scorer".into(),
        version: v.into(),
        sha256: sha.into(),
        source: format!("plugins/icp-scorer-{v}.wasm"),
    }
}

async fn plugin_versions_are_recorded_listed_and_activated_one_at_a_time(store: Arc<dyn Store>) {
    store.ensure_tenant("default", "Default").await.unwrap();
    let v1 = store
        .record_plugin_version("default", &version("aa11", "1.0.0"))
        .await
        .unwrap();
    assert!(!v1.active, "new versions start inactive");
    let again = store
        .record_plugin_version("default", &version("aa11", "1.0.0"))
        .await
        .unwrap();
    assert_eq!(again.id, v1.id, "recording the same bytes twice is one version");
    store
        .record_plugin_version("default", &version("bb22", "1.1.0"))
        .await
        .unwrap();

    store
        .activate_plugin_version("default", "icp-scorer", "bb22")
        .await
        .unwrap();
    let rolled_back = store
        .activate_plugin_version("default", "icp-scorer", "aa11")
        .await
        .unwrap();
    assert!(rolled_back.active);
    let active = store.active_plugin_versions("default").await.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].plugin.sha256, "aa11");

    let history = store.plugin_history("default", "icp-scorer").await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history.iter().filter(|v| v.active).count(), 1);
    assert!(
        history
            .iter()
            .any(|v| v.plugin == version("bb22", "1.1.0") && !v.active)
    );

    assert!(matches!(
        store.activate_plugin_version("default", "icp-scorer", "cc33").await,
        Err(StoreError::NotFound { .. })
    ));
    store.ensure_tenant("other", "Other").await.unwrap();
    assert!(store.plugin_history("other", "icp-scorer").await.unwrap().is_empty());
    assert!(
        store
            .activate_plugin_version("other", "icp-scorer", "aa11")
            .await
            .is_err()
    );
}

async fn plugin_bytes_are_kept_per_tenant_for_every_worker(store: Arc<dyn Store>) {
    store.ensure_tenant("default", "Default").await.unwrap();
    store.ensure_tenant("other", "Other").await.unwrap();
    let wasm = vec![0x00, 0x61, 0x73, 0x6d, 0xff, 0x00];
    store
        .save_plugin_blob("default", "aa11", &wasm, "name = \"icp\"")
        .await
        .unwrap();
    // Saving the same bytes again is a no-op for the bytes.
    store
        .save_plugin_blob("default", "aa11", &wasm, "name = \"icp\"")
        .await
        .unwrap();
    let (bytes, manifest) = store.plugin_blob("default", "aa11").await.unwrap().unwrap();
    assert_eq!(bytes, wasm);
    assert_eq!(manifest, "name = \"icp\"");
    assert!(store.plugin_blob("default", "bb22").await.unwrap().is_none());
    assert!(store.plugin_blob("other", "aa11").await.unwrap().is_none());
    store.announce_plugin_change("default", "icp").await.unwrap();
}

async fn plugin_controls_shadows_releases_health_and_comparisons_are_per_tenant(store: Arc<dyn Store>) {
    use crate::store::plugin_controls::{HealthReport, StoredShadowRecord};
    store.ensure_tenant("acme", "Acme").await.unwrap();
    store.ensure_tenant("beta", "Beta").await.unwrap();
    store.set_plugin_shadow("acme", "scorer", Some("abc")).await.unwrap();
    assert_eq!(
        store
            .plugin_shadows("acme")
            .await
            .unwrap()
            .get("scorer")
            .map(String::as_str),
        Some("abc")
    );
    assert!(store.plugin_shadows("beta").await.unwrap().is_empty());
    // A release request keeps the shadow, and clearing the shadow keeps the request.
    let at = chrono::DateTime::from_timestamp_millis(1_780_000_000_000).expect("instant");
    store.request_plugin_release("acme", "scorer", at).await.unwrap();
    store.set_plugin_shadow("acme", "scorer", None).await.unwrap();
    assert!(store.plugin_shadows("acme").await.unwrap().is_empty());
    assert_eq!(
        store.plugin_release_requests("acme").await.unwrap().get("scorer"),
        Some(&at)
    );

    let report = |worker: &str, calls: u64, quarantined: bool| HealthReport {
        name: "scorer".into(),
        sha256: "abc".into(),
        worker_id: worker.into(),
        calls,
        failures: 2,
        consecutive_failures: 1,
        quarantined,
        last_failure: quarantined.then(|| "timeout: 2000 ms".to_string()),
        updated_at: at,
    };
    store
        .report_plugin_health("acme", &[report("w1", 5, false)])
        .await
        .unwrap();
    store
        .report_plugin_health("acme", &[report("w1", 9, true), report("w2", 1, false)])
        .await
        .unwrap();
    let health = store.plugin_health("acme").await.unwrap();
    assert_eq!(
        health,
        vec![report("w1", 9, true), report("w2", 1, false)],
        "one row per worker, the latest"
    );
    assert!(store.plugin_health("beta").await.unwrap().is_empty());

    let record = |input: &str, agree: bool| StoredShadowRecord {
        at,
        name: "scorer".into(),
        input: input.into(),
        active_version: "1".into(),
        active_output: "0.5".into(),
        candidate_version: "2".into(),
        candidate_output: if agree { "0.5" } else { "0.9" }.into(),
        agree,
    };
    store
        .record_shadow(
            "acme",
            &[record("a@x", true), record("b@x", false), record("c@x", true)],
        )
        .await
        .unwrap();
    let newest_two: Vec<String> = store
        .shadow_records("acme", "scorer", 2)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.input)
        .collect();
    assert_eq!(newest_two, ["b@x", "c@x"], "the newest, oldest first");
    assert!(store.shadow_records("beta", "scorer", 10).await.unwrap().is_empty());
    store.clear_shadow_records("acme", "scorer").await.unwrap();
    assert!(store.shadow_records("acme", "scorer", 10).await.unwrap().is_empty());
}
