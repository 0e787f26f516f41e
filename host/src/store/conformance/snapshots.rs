//! A campaign's working set, copied into a scratch SQLite store.

use std::sync::Arc;

use chrono::{Duration, Utc};

use super::{campaign, conformance_tests, lead, tenant_with_campaign};
use crate::domain::model::{NewOutboundEmail, SuppressionKind, SuppressionReason};
use crate::store::{SqliteStore, Store};

conformance_tests!(a_campaigns_working_set_reads_back_the_same_from_a_scratch_copy,);

async fn a_campaigns_working_set_reads_back_the_same_from_a_scratch_copy(store: Arc<dyn Store>) {
    let ours = tenant_with_campaign(&store, "acme").await;
    let other = store
        .create_campaign("acme", &campaign("other"))
        .await
        .expect("other campaign")
        .id;
    let elsewhere = tenant_with_campaign(&store, "beta").await;
    store
        .insert_leads("acme", ours, &[lead("a@x.com"), lead("b@x.com")])
        .await
        .unwrap();
    store.insert_leads("acme", other, &[lead("c@x.com")]).await.unwrap();
    store.insert_leads("beta", elsewhere, &[lead("z@x.com")]).await.unwrap();
    let c = store.lead_by_email("acme", "c@x.com").await.unwrap().unwrap();
    // The other campaign sent from the same mailbox an hour ago: it counts
    // against the mailbox's rolling cap in a copy too.
    let now = Utc::now();
    let sent = store
        .queue_email(
            "acme",
            &NewOutboundEmail {
                campaign_id: other,
                lead_id: c.id,
                step: 0,
                mailbox: "sales@example.com".into(),
                to_address: "c@x.com".into(),
                subject: "hi".into(),
                body: "Hello".into(),
                message_id: "<c0@cam>".into(),
            },
        )
        .await
        .unwrap()
        .id();
    store
        .mark_email_sending("acme", sent, now - Duration::hours(1))
        .await
        .unwrap();
    store
        .mark_email_sent("acme", sent, now - Duration::hours(1))
        .await
        .unwrap();
    store
        .add_suppression(
            "acme",
            SuppressionKind::Domain,
            "blocked.com",
            SuppressionReason::Manual,
            "test",
        )
        .await
        .unwrap();
    store.kv_set("acme", "scorer", "cursor", b"42", 1024).await.unwrap();

    let set = store
        .campaign_working_set("acme", ours, now - Duration::hours(24))
        .await
        .expect("working set");
    assert!(set.row_count() > 0);
    let scratch = SqliteStore::connect("sqlite::memory:").await.expect("scratch");
    scratch.migrate().await.expect("migrated");
    scratch.load_working_set(&set).await.expect("loads");
    let copy: Arc<dyn Store> = Arc::new(scratch);

    assert_eq!(copy.get_campaign("acme", ours).await.unwrap().config.name, "outreach");
    let a = copy.lead_by_email("acme", "a@x.com").await.unwrap().expect("a copied");
    let original = store.lead_by_email("acme", "a@x.com").await.unwrap().unwrap();
    assert_eq!(a.id, original.id, "ids are kept");
    assert_eq!(a.fields, original.fields);
    assert_eq!(
        copy.count_sent_by_mailbox_since("acme", "sales@example.com", now - Duration::hours(24))
            .await
            .unwrap(),
        1
    );
    assert!(copy.is_suppressed("acme", "someone@blocked.com").await.unwrap());
    assert_eq!(
        copy.kv_get("acme", "scorer", "cursor").await.unwrap().as_deref(),
        Some(&b"42"[..])
    );
    assert!(
        copy.lead_by_email("beta", "z@x.com").await.unwrap().is_none(),
        "no other tenant's rows"
    );
    assert!(copy.list_tenants().await.unwrap().iter().all(|t| t.id == "acme"));
}
