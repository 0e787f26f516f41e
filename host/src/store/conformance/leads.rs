//! Leads: import, dedupe, suppression, scoring, transitions, isolation.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Duration, Utc};

use super::{conformance_tests, lead, tenant_with_campaign};
use crate::domain::lifecycle::LeadState;
use crate::domain::model::{LeadEnrichment, LeadTransition, NewOutboundEmail, SuppressionKind, SuppressionReason};
use crate::store::{Store, StoreError};

conformance_tests!(
    duplicate_emails_are_reported_and_never_inserted_twice,
    any_text_is_stored_as_given_except_nul_on_postgres,
    a_call_larger_than_one_bulk_statement_keeps_the_first_row_of_each_address,
    a_repeat_within_one_call_keeps_the_first_row_and_is_reported_in_order,
    suppression_by_address_and_domain_survives_lead_deletion_and_reimport,
    tenant_b_never_sees_tenant_a_leads_kv_or_emails,
    leads_in_a_state_come_best_score_first,
    transitions_are_recorded_and_a_stale_from_state_is_refused,
    enrichment_merges_attributes_and_keeps_unknown_fields,
    due_leads_and_counts_by_state_follow_the_schedule,
);

async fn any_text_is_stored_as_given_except_nul_on_postgres(store: Arc<dyn Store>) {
    let id = tenant_with_campaign(&store, "default").await;
    let mut odd = lead("odd@example.com");
    odd.first_name = "Tab\there, line\nbreak, return\r, back\\slash \\N, 'quote' \"dq\" — ünï".into();
    odd.company = "Nul\0Byte GmbH".into();
    odd.attributes = BTreeMap::from([
        ("note\0".to_string(), "a\0b\\c\td".to_string()),
        ("empty".to_string(), String::new()),
    ]);
    odd.employees = None;
    let outcome = store
        .insert_leads("default", id, &[odd.clone(), lead("nul\0@example.com")])
        .await
        .unwrap();
    assert_eq!(outcome.inserted, 2, "{outcome:?}");
    let stored = store
        .lead_by_email("default", "odd@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.fields.first_name, odd.first_name);
    assert_eq!(stored.fields.employees, None);
    // PostgreSQL's text cannot hold U+0000: it is dropped there rather than
    // failing the batch; SQLite keeps what it was given.
    let nul = |text: &str| match store.backend() {
        crate::store::Backend::Postgres => text.replace('\0', ""),
        crate::store::Backend::Sqlite => text.to_string(),
    };
    assert_eq!(stored.fields.company, nul("Nul\0Byte GmbH"));
    assert_eq!(
        stored.fields.attributes.get(&nul("note\0")).map(String::as_str),
        Some(nul("a\0b\\c\td").as_str())
    );
    assert_eq!(stored.fields.attributes.get("empty").map(String::as_str), Some(""));
    assert!(
        store
            .lead_by_email("default", "nul@example.com")
            .await
            .unwrap()
            .is_some(),
        "an address never keeps a NUL"
    );
}

async fn a_call_larger_than_one_bulk_statement_keeps_the_first_row_of_each_address(store: Arc<dyn Store>) {
    let id = tenant_with_campaign(&store, "default").await;
    store
        .insert_leads("default", id, &[lead("stored@example.com")])
        .await
        .unwrap();
    let mut batch: Vec<_> = (0..12_000).map(|i| lead(&format!("p{i}@example.com"))).collect();
    let mut repeat = lead("P3@example.com");
    repeat.first_name = "Second".into();
    batch.push(repeat);
    batch.push(lead("stored@example.com"));
    let outcome = store.insert_leads("default", id, &batch).await.unwrap();
    assert_eq!(outcome.inserted, 12_000);
    assert_eq!(
        outcome.duplicates,
        vec!["p3@example.com".to_string(), "stored@example.com".to_string()]
    );
    let first = store.lead_by_email("default", "p3@example.com").await.unwrap().unwrap();
    assert_eq!(first.fields.first_name, "Ada", "the first row of an address wins");
    assert!(
        store
            .lead_by_email("default", "p11999@example.com")
            .await
            .unwrap()
            .is_some()
    );
}

async fn duplicate_emails_are_reported_and_never_inserted_twice(store: Arc<dyn Store>) {
    let id = tenant_with_campaign(&store, "default").await;
    // 1,200 rows cross several insert batches.
    let mut batch: Vec<_> = (0..1200).map(|i| lead(&format!("person{i}@example.com"))).collect();
    batch.push(lead("  Person7@Example.COM "));
    let first = store.insert_leads("default", id, &batch).await.unwrap();
    assert_eq!(first.inserted, 1200);
    assert_eq!(first.duplicates, vec!["person7@example.com".to_string()]);

    let again = store
        .insert_leads("default", id, &[lead("person1@example.com"), lead("new@example.com")])
        .await
        .unwrap();
    assert_eq!(again.inserted, 1);
    assert_eq!(again.duplicates, vec!["person1@example.com".to_string()]);

    let stored = store
        .lead_by_email("default", "PERSON1@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.fields.email, "person1@example.com");
    assert_eq!(stored.fields.domain, "example.com", "domain defaults to the address's");
    assert_eq!(stored.state, LeadState::New);
    assert_eq!(
        stored.fields.attributes.get("source_row").map(String::as_str),
        Some("1")
    );
    assert_eq!(stored.fields.employees, Some(42));
    assert_eq!(store.get_lead("default", stored.id).await.unwrap(), stored);

    // Many at once: normalized, unknown addresses left out, no other tenant's.
    let other = tenant_with_campaign(&store, "other").await;
    store
        .insert_leads("other", other, &[lead("person2@example.com")])
        .await
        .unwrap();
    let asked: Vec<String> = ["PERSON1@example.com", "person2@example.com", "nobody@example.com"]
        .map(String::from)
        .to_vec();
    let mut found = store.leads_by_emails("default", &asked).await.unwrap();
    found.sort_by_key(|l| l.id);
    let emails: Vec<&str> = found.iter().map(|l| l.fields.email.as_str()).collect();
    assert_eq!(emails, ["person1@example.com", "person2@example.com"]);
    assert!(found.iter().all(|l| l.tenant_id == "default"));
    assert_eq!(found[0], stored);
    assert!(store.leads_by_emails("default", &[]).await.unwrap().is_empty());
}

/// `cam import` relies on this to name the line an address first appeared
/// on: within one call the first row of an address is the one stored (or
/// reported suppressed or known), and every later row of it is reported as
/// a duplicate, once per row.
async fn a_repeat_within_one_call_keeps_the_first_row_and_is_reported_in_order(store: Arc<dyn Store>) {
    let id = tenant_with_campaign(&store, "default").await;
    let row = |email: &str, version: &str| {
        let mut lead = lead(email);
        lead.source_version = version.into();
        lead
    };
    store
        .add_suppression(
            "default",
            SuppressionKind::Address,
            "gone@example.com",
            SuppressionReason::Manual,
            "",
        )
        .await
        .unwrap();
    store
        .insert_leads("default", id, &[row("old@example.com", "before")])
        .await
        .unwrap();
    // Enough rows to cross the store's own multi-row statements too.
    let mut batch = vec![
        row("zed@example.com", "first"),
        row("old@example.com", "again"),
        row("gone@example.com", "x"),
    ];
    batch.extend((0..700).map(|i| row(&format!("filler{i}@example.com"), "filler")));
    batch.push(row("ZED@example.com", "second"));
    batch.push(row("gone@example.com", "y"));
    batch.push(row("zed@example.com", "third"));
    let outcome = store.insert_leads("default", id, &batch).await.unwrap();
    assert_eq!(outcome.inserted, 701);
    let mut duplicates = outcome.duplicates.clone();
    duplicates.sort();
    assert_eq!(
        duplicates,
        vec![
            "gone@example.com".to_string(),
            "old@example.com".to_string(),
            "zed@example.com".to_string(),
            "zed@example.com".to_string(),
        ]
    );
    assert_eq!(outcome.suppressed, vec!["gone@example.com".to_string()]);
    let zed = store
        .lead_by_email("default", "zed@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(zed.fields.source_version, "first");
    let old = store
        .lead_by_email("default", "old@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.fields.source_version, "before", "never overwritten");
}

async fn suppression_by_address_and_domain_survives_lead_deletion_and_reimport(store: Arc<dyn Store>) {
    let id = tenant_with_campaign(&store, "default").await;
    store
        .insert_leads("default", id, &[lead("gone@example.com")])
        .await
        .unwrap();
    store
        .add_suppression(
            "default",
            SuppressionKind::Address,
            "Gone@Example.com",
            SuppressionReason::Unsubscribe,
            "",
        )
        .await
        .unwrap();
    store
        .add_suppression(
            "default",
            SuppressionKind::Domain,
            "competitor.io",
            SuppressionReason::Manual,
            "rival",
        )
        .await
        .unwrap();
    assert!(store.is_suppressed("default", "gone@example.com").await.unwrap());
    assert!(store.is_suppressed("default", "anyone@COMPETITOR.io").await.unwrap());
    assert!(!store.is_suppressed("default", "ok@example.com").await.unwrap());

    let lead_id = store
        .lead_by_email("default", "gone@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let moved = LeadTransition {
        lead_id,
        from: LeadState::New,
        to: LeadState::Lost,
        reason: "asked to leave".into(),
        plugin_version: None,
        actor: None,
        at: Utc::now(),
    };
    store.transition_lead("default", &moved).await.unwrap();
    store.delete_lead("default", lead_id).await.unwrap();
    assert!(
        store.lead_transitions("default", lead_id).await.unwrap().is_empty(),
        "a deleted lead's history goes with it"
    );
    assert!(
        store
            .lead_by_email("default", "gone@example.com")
            .await
            .unwrap()
            .is_none()
    );

    let outcome = store
        .insert_leads(
            "default",
            id,
            &[
                lead("gone@example.com"),
                lead("ceo@competitor.io"),
                lead("fine@example.com"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(outcome.inserted, 1);
    let mut suppressed = outcome.suppressed.clone();
    suppressed.sort();
    assert_eq!(
        suppressed,
        vec!["ceo@competitor.io".to_string(), "gone@example.com".to_string()]
    );
    assert!(
        store
            .lead_by_email("default", "gone@example.com")
            .await
            .unwrap()
            .is_none()
    );

    let subset = store
        .suppressed_subset(
            "default",
            &[
                "x@competitor.io".to_string(),
                "fine@example.com".to_string(),
                "GONE@example.com".to_string(),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        subset,
        vec!["gone@example.com".to_string(), "x@competitor.io".to_string()]
    );

    let list = store.list_suppressions("default").await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(
        list.iter()
            .any(|s| s.value == "gone@example.com" && s.reason == SuppressionReason::Unsubscribe)
    );

    store.ensure_tenant("other", "Other").await.unwrap();
    assert!(!store.is_suppressed("other", "gone@example.com").await.unwrap());
}

async fn tenant_b_never_sees_tenant_a_leads_kv_or_emails(store: Arc<dyn Store>) {
    let a = tenant_with_campaign(&store, "a").await;
    let b = tenant_with_campaign(&store, "b").await;
    store.insert_leads("a", a, &[lead("shared@example.com")]).await.unwrap();
    // The same address is a different lead in another tenant.
    let in_b = store.insert_leads("b", b, &[lead("shared@example.com")]).await.unwrap();
    assert_eq!(in_b.inserted, 1);
    let lead_a = store.lead_by_email("a", "shared@example.com").await.unwrap().unwrap();
    let lead_b = store.lead_by_email("b", "shared@example.com").await.unwrap().unwrap();
    assert_ne!(lead_a.id, lead_b.id);

    assert!(matches!(
        store.get_lead("b", lead_a.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.update_score("b", lead_a.id, 0.9, &[], "v1").await.is_err());
    assert!(store.delete_lead("b", lead_a.id).await.is_err());
    assert!(
        store
            .leads_in_state("b", a, LeadState::New, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.count_leads_by_state("b", a).await.unwrap().is_empty());
    assert!(store.insert_leads("b", a, &[lead("x@example.com")]).await.is_err());

    store.kv_set("a", "scorer", "model", b"weights", 1024).await.unwrap();
    assert_eq!(store.kv_get("b", "scorer", "model").await.unwrap(), None);
    assert!(!store.kv_delete("b", "scorer", "model").await.unwrap());
    assert_eq!(
        store.kv_get("a", "scorer", "model").await.unwrap().as_deref(),
        Some(&b"weights"[..])
    );

    let email = NewOutboundEmail {
        campaign_id: a,
        lead_id: lead_a.id,
        step: 0,
        mailbox: "sales@example.com".into(),
        to_address: "shared@example.com".into(),
        subject: "Hi".into(),
        body: "Hello".into(),
        message_id: "<a-1@cam>".into(),
    };
    let queued = store.queue_email("a", &email).await.unwrap();
    assert!(matches!(
        store.get_email("b", queued.id()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.email_by_message_id("b", "<a-1@cam>").await.unwrap().is_none());
    assert!(store.mark_email_sending("b", queued.id(), Utc::now()).await.is_err());
    assert!(
        store
            .emails_in_state("b", None, crate::domain::model::EmailState::Queued, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Tenant b cannot queue to tenant a's lead either.
    assert!(
        store
            .queue_email(
                "b",
                &NewOutboundEmail {
                    message_id: "<b-1@cam>".into(),
                    ..email
                }
            )
            .await
            .is_err()
    );
}

async fn leads_in_a_state_come_best_score_first(store: Arc<dyn Store>) {
    let id = tenant_with_campaign(&store, "default").await;
    let emails = ["low@x.com", "high@x.com", "unscored@x.com", "mid@x.com"];
    let batch: Vec<_> = emails.iter().map(|e| lead(e)).collect();
    store.insert_leads("default", id, &batch).await.unwrap();
    for (email, score) in [("low@x.com", 0.1), ("high@x.com", 0.9), ("mid@x.com", 0.5)] {
        let l = store.lead_by_email("default", email).await.unwrap().unwrap();
        store
            .update_score("default", l.id, score, &[format!("because {score}")], "scorer@sha:1")
            .await
            .unwrap();
    }
    let ordered: Vec<String> = store
        .leads_in_state("default", id, LeadState::New, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.fields.email)
        .collect();
    assert_eq!(ordered, vec!["high@x.com", "mid@x.com", "low@x.com", "unscored@x.com"]);
    let top = store.leads_in_state("default", id, LeadState::New, 1).await.unwrap();
    assert_eq!(top[0].score, Some(0.9));
    assert_eq!(top[0].score_reasons, vec!["because 0.9".to_string()]);
    assert_eq!(top[0].scorer_version.as_deref(), Some("scorer@sha:1"));
}

async fn transitions_are_recorded_and_a_stale_from_state_is_refused(store: Arc<dyn Store>) {
    let id = tenant_with_campaign(&store, "default").await;
    store.insert_leads("default", id, &[lead("t@x.com")]).await.unwrap();
    let l = store.lead_by_email("default", "t@x.com").await.unwrap().unwrap();
    let at = Utc::now();
    let step = |from, to, reason: &str, version: Option<&str>| LeadTransition {
        lead_id: l.id,
        from,
        to,
        reason: reason.to_string(),
        plugin_version: version.map(str::to_string),
        actor: None,
        at,
    };
    store
        .transition_lead(
            "default",
            &step(LeadState::New, LeadState::Enriched, "enriched", Some("clearbit@sha:9")),
        )
        .await
        .unwrap();
    store
        .transition_lead(
            "default",
            &step(LeadState::Enriched, LeadState::Contacted, "step 0 sent", None),
        )
        .await
        .unwrap();
    let stale = store
        .transition_lead("default", &step(LeadState::New, LeadState::Dead, "late writer", None))
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert_eq!(
        store.get_lead("default", l.id).await.unwrap().state,
        LeadState::Contacted
    );

    let history = store.lead_transitions("default", l.id).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].from, LeadState::New);
    assert_eq!(history[0].to, LeadState::Enriched);
    assert_eq!(history[0].plugin_version.as_deref(), Some("clearbit@sha:9"));
    assert_eq!(history[1].reason, "step 0 sent");
    assert_eq!(history[1].at.timestamp_millis(), at.timestamp_millis());
    store.ensure_tenant("other", "Other").await.unwrap();
    assert!(store.lead_transitions("other", l.id).await.unwrap().is_empty());
}

async fn enrichment_merges_attributes_and_keeps_unknown_fields(store: Arc<dyn Store>) {
    let id = tenant_with_campaign(&store, "default").await;
    store.insert_leads("default", id, &[lead("e@x.com")]).await.unwrap();
    let l = store.lead_by_email("default", "e@x.com").await.unwrap().unwrap();
    let enrichment = LeadEnrichment {
        company: Some("Acme".into()),
        employees: Some(500),
        attributes: BTreeMap::from([("industry".to_string(), "saas".to_string())]),
        ..LeadEnrichment::default()
    };
    store.update_enrichment("default", l.id, &enrichment).await.unwrap();
    let after = store.get_lead("default", l.id).await.unwrap();
    assert_eq!(after.fields.company, "Acme");
    assert_eq!(after.fields.employees, Some(500));
    assert_eq!(after.fields.title, "CTO", "fields the enricher left out stay");
    assert_eq!(
        after.fields.attributes.get("industry").map(String::as_str),
        Some("saas")
    );
    assert_eq!(after.fields.attributes.get("source_row").map(String::as_str), Some("1"));
    assert!(
        store
            .update_enrichment("default", l.id + 99, &enrichment)
            .await
            .is_err()
    );
}

async fn due_leads_and_counts_by_state_follow_the_schedule(store: Arc<dyn Store>) {
    let id = tenant_with_campaign(&store, "default").await;
    store
        .insert_leads(
            "default",
            id,
            &[lead("soon@x.com"), lead("later@x.com"), lead("never@x.com")],
        )
        .await
        .unwrap();
    let now = Utc::now();
    let soon = store.lead_by_email("default", "soon@x.com").await.unwrap().unwrap();
    let later = store.lead_by_email("default", "later@x.com").await.unwrap().unwrap();
    store
        .set_lead_schedule("default", soon.id, 1, Some(now - Duration::minutes(5)))
        .await
        .unwrap();
    store
        .set_lead_schedule("default", later.id, 1, Some(now + Duration::days(3)))
        .await
        .unwrap();
    let due = store.leads_due("default", id, now, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, soon.id);
    assert_eq!(due[0].current_step, 1);
    assert_eq!(
        store
            .leads_due("default", id, now + Duration::days(4), 10)
            .await
            .unwrap()
            .len(),
        2
    );

    store
        .transition_lead(
            "default",
            &LeadTransition {
                lead_id: soon.id,
                from: LeadState::New,
                to: LeadState::Enriched,
                reason: "r".into(),
                plugin_version: None,
                actor: None,
                at: now,
            },
        )
        .await
        .unwrap();
    let counts = store.count_leads_by_state("default", id).await.unwrap();
    assert!(counts.contains(&(LeadState::New, 2)));
    assert!(counts.contains(&(LeadState::Enriched, 1)));
}
