//! Tenants and API tokens.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};

use super::conformance_tests;
use crate::domain::model::{NewApiToken, Role, TenantCeilings};
use crate::store::{Store, StoreError};

conformance_tests!(
    tenants_are_created_once_listed_and_disabled,
    tokens_are_stored_by_hash_listed_per_tenant_and_revoked,
    settings_are_stored_per_tenant_with_revisions_that_refuse_stale_writes,
    ceilings_are_set_and_cleared,
);

async fn tenants_are_created_once_listed_and_disabled(store: Arc<dyn Store>) {
    let acme = store.create_tenant("acme", "Acme Ltd").await.unwrap();
    assert_eq!((acme.id.as_str(), acme.name.as_str()), ("acme", "Acme Ltd"));
    assert_eq!(acme.disabled_at, None);
    match store.create_tenant("acme", "Someone else").await {
        Err(StoreError::Duplicate { entity: "tenant", key }) => assert_eq!(key, "acme"),
        other => panic!("a taken id is a duplicate, got {other:?}"),
    }
    store.create_tenant("beta", "Beta").await.unwrap();
    let ids: Vec<String> = store.list_tenants().await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(ids, ["acme", "beta"]);

    let disabled = store.set_tenant_disabled("acme", true).await.unwrap();
    let at = disabled.disabled_at.expect("disabled");
    let again = store.set_tenant_disabled("acme", true).await.unwrap();
    assert_eq!(again.disabled_at, Some(at), "disabling twice keeps the first instant");
    assert_eq!(store.get_tenant("acme").await.unwrap().disabled_at, Some(at));
    assert_eq!(
        store.set_tenant_disabled("acme", false).await.unwrap().disabled_at,
        None
    );
    assert!(matches!(
        store.set_tenant_disabled("nobody", true).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn tokens_are_stored_by_hash_listed_per_tenant_and_revoked(store: Arc<dyn Store>) {
    store.create_tenant("acme", "Acme").await.unwrap();
    store.create_tenant("beta", "Beta").await.unwrap();
    // Instants are stored as unix milliseconds.
    let expires = chrono::DateTime::from_timestamp_millis((Utc::now() + TimeDelta::days(90)).timestamp_millis())
        .expect("a valid instant");
    let new = |id: &str, tenant: Option<&str>, role| NewApiToken {
        id: id.to_string(),
        tenant_id: tenant.map(str::to_string),
        role,
        name: format!("token {id}"),
        secret_sha256: format!("{id:0>64}"),
        expires_at: Some(expires),
    };
    let stored = store
        .insert_token(&new("a1", Some("acme"), Role::Viewer))
        .await
        .unwrap();
    assert_eq!(stored.token, new("a1", Some("acme"), Role::Viewer));
    assert_eq!((stored.revoked_at, stored.last_used_at), (None, None));
    store.insert_token(&new("a2", Some("acme"), Role::Admin)).await.unwrap();
    store
        .insert_token(&new("b1", Some("beta"), Role::Operator))
        .await
        .unwrap();
    store.insert_token(&new("h1", None, Role::Host)).await.unwrap();

    let ids = |tokens: Vec<crate::domain::model::ApiToken>| -> Vec<String> {
        let mut ids: Vec<String> = tokens.into_iter().map(|t| t.token.id).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(store.list_tokens(Some("acme")).await.unwrap()), ["a1", "a2"]);
    assert_eq!(ids(store.list_tokens(Some("beta")).await.unwrap()), ["b1"]);
    assert_eq!(ids(store.list_tokens(None).await.unwrap()), ["h1"]);

    let used = Utc::now();
    store.touch_token("a1", used).await.unwrap();
    let a1 = store.token_by_id("a1").await.unwrap().expect("a1");
    assert_eq!(
        a1.last_used_at.map(|t| t.timestamp_millis()),
        Some(used.timestamp_millis())
    );
    assert!(store.revoke_token("a1").await.unwrap());
    assert!(!store.revoke_token("a1").await.unwrap(), "revoked already");
    assert!(!store.revoke_token("nope").await.unwrap());
    assert!(store.token_by_id("a1").await.unwrap().unwrap().revoked_at.is_some());
    assert!(store.token_by_id("nope").await.unwrap().is_none());
}

async fn settings_are_stored_per_tenant_with_revisions_that_refuse_stale_writes(store: Arc<dyn Store>) {
    store.create_tenant("acme", "Acme").await.unwrap();
    store.create_tenant("beta", "Beta").await.unwrap();
    assert_eq!(store.tenant_settings("acme").await.unwrap(), None);
    assert_eq!(
        store
            .save_tenant_settings("acme", "cam1.k1.A", "k1", None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .save_tenant_settings("acme", "cam1.k1.B", "k1", None)
            .await
            .unwrap(),
        2
    );
    let stored = store.tenant_settings("acme").await.unwrap().expect("stored");
    assert_eq!((stored.sealed.as_str(), stored.revision), ("cam1.k1.B", 2));
    assert_eq!(
        store.tenant_settings("beta").await.unwrap(),
        None,
        "one tenant's settings only"
    );

    // A re-seal over the revision it read goes through; over a stale one it is refused.
    assert_eq!(
        store
            .save_tenant_settings("acme", "cam1.k2.B", "k2", Some(2))
            .await
            .unwrap(),
        3
    );
    match store.save_tenant_settings("acme", "cam1.k2.stale", "k2", Some(2)).await {
        Err(StoreError::Conflict(message)) => assert!(message.contains("acme"), "{message}"),
        other => panic!("a stale revision is a conflict, got {other:?}"),
    }
    assert_eq!(
        store.tenant_settings("acme").await.unwrap().unwrap().sealed,
        "cam1.k2.B"
    );
    store
        .save_tenant_settings("beta", "cam1.k1.C", "k1", None)
        .await
        .unwrap();
    let revisions: Vec<(String, i64, String)> = store
        .settings_revisions()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.tenant, r.revision, r.key_id))
        .collect();
    assert_eq!(
        revisions,
        [
            ("acme".to_string(), 3, "k2".to_string()),
            ("beta".to_string(), 1, "k1".to_string())
        ]
    );
}

async fn ceilings_are_set_and_cleared(store: Arc<dyn Store>) {
    store.create_tenant("acme", "Acme").await.unwrap();
    assert_eq!(
        store.get_tenant("acme").await.unwrap().ceilings,
        TenantCeilings::default()
    );
    let ceilings = TenantCeilings {
        max_memory_mib: Some(64),
        max_timeout_ms: Some(500),
        max_kv_bytes: Some(1 << 20),
        max_concurrent_calls: Some(4),
    };
    assert_eq!(
        store.set_tenant_ceilings("acme", ceilings).await.unwrap().ceilings,
        ceilings
    );
    assert_eq!(store.get_tenant("acme").await.unwrap().ceilings, ceilings);
    let cleared = store
        .set_tenant_ceilings("acme", TenantCeilings::default())
        .await
        .unwrap();
    assert_eq!(cleared.ceilings, TenantCeilings::default());
    assert!(matches!(
        store.set_tenant_ceilings("nobody", ceilings).await,
        Err(StoreError::NotFound { .. })
    ));
}
