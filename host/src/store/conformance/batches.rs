//! Batch writes of the cycle: enrichments with their transitions, scores,
//! and paging through leads still to be scored.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;

use super::{conformance_tests, lead, tenant_with_campaign};
use crate::domain::lifecycle::LeadState;
use crate::domain::model::{Lead, LeadEnrichment, LeadTransition};
use crate::store::{EnrichmentUpdate, ScoreUpdate, Store, StoreError};

conformance_tests!(
    a_batch_of_enrichments_moves_its_leads_and_skips_those_moved_meanwhile,
    an_illegal_transition_refuses_the_whole_enrichment_batch,
    a_batch_of_scores_is_stored_and_unscored_pages_leave_them_out,
    batches_never_touch_another_tenants_leads,
);

/// Inserts `n` leads and returns them by id.
async fn leads(store: &Arc<dyn Store>, tenant: &str, campaign: i64, n: usize) -> Vec<Lead> {
    let batch: Vec<_> = (0..n).map(|i| lead(&format!("p{i}@{tenant}.example"))).collect();
    store.insert_leads(tenant, campaign, &batch).await.unwrap();
    let mut all = store
        .leads_in_state(tenant, campaign, LeadState::New, n as u32 + 10)
        .await
        .unwrap();
    all.sort_by_key(|l| l.id);
    all
}

fn enrich(lead: &Lead, to: LeadState) -> EnrichmentUpdate {
    EnrichmentUpdate {
        lead_id: lead.id,
        enrichment: LeadEnrichment {
            company: Some(format!("Company of {}", lead.id)),
            employees: Some(7),
            attributes: BTreeMap::from([("industry".to_string(), "saas".to_string())]),
            ..LeadEnrichment::default()
        },
        transition: Some(LeadTransition {
            lead_id: lead.id,
            from: LeadState::New,
            to,
            reason: "enriched".into(),
            plugin_version: Some("basic@1".into()),
            actor: None,
            at: Utc::now(),
        }),
    }
}

async fn a_batch_of_enrichments_moves_its_leads_and_skips_those_moved_meanwhile(store: Arc<dyn Store>) {
    let id = tenant_with_campaign(&store, "default").await;
    // 1,200 rows cross the backends' statement chunks.
    let all = leads(&store, "default", id, 1200).await;
    let moved = &all[3];
    store
        .transition_lead(
            "default",
            &LeadTransition {
                lead_id: moved.id,
                from: LeadState::New,
                to: LeadState::Enriched,
                reason: "someone else".into(),
                plugin_version: None,
                actor: None,
                at: Utc::now(),
            },
        )
        .await
        .unwrap();
    let mut updates: Vec<_> = all.iter().map(|l| enrich(l, LeadState::Enriched)).collect();
    updates[5] = enrich(&all[5], LeadState::Dead);
    // Enrichment without a move.
    updates[7].transition = None;
    let outcome = store.apply_enrichments("default", &updates).await.unwrap();
    assert_eq!(outcome.applied, 1199);
    assert_eq!(outcome.skipped, vec![moved.id]);

    let first = store.get_lead("default", all[0].id).await.unwrap();
    assert_eq!(first.state, LeadState::Enriched);
    assert_eq!(first.fields.company, format!("Company of {}", all[0].id));
    assert_eq!(first.fields.employees, Some(7));
    assert_eq!(first.fields.title, "CTO", "fields the enricher left out stay");
    assert_eq!(
        first.fields.attributes.get("industry").map(String::as_str),
        Some("saas")
    );
    assert_eq!(first.fields.attributes.get("source_row").map(String::as_str), Some("1"));
    let transitions = store.lead_transitions("default", all[0].id).await.unwrap();
    assert_eq!(transitions.len(), 1);
    assert_eq!(transitions[0].reason, "enriched");
    assert_eq!(transitions[0].plugin_version.as_deref(), Some("basic@1"));

    let skipped = store.get_lead("default", moved.id).await.unwrap();
    assert_eq!(skipped.fields.company, "Analytical", "a skipped row changes nothing");
    assert_eq!(store.lead_transitions("default", moved.id).await.unwrap().len(), 1);
    assert_eq!(
        store.get_lead("default", all[5].id).await.unwrap().state,
        LeadState::Dead
    );
    let unmoved = store.get_lead("default", all[7].id).await.unwrap();
    assert_eq!(unmoved.state, LeadState::New);
    assert_eq!(unmoved.fields.employees, Some(7));
    assert!(store.lead_transitions("default", all[7].id).await.unwrap().is_empty());
    let counts = store.count_leads_by_state("default", id).await.unwrap();
    assert!(counts.contains(&(LeadState::Enriched, 1198)), "{counts:?}");

    // A lead with no attributes takes the enricher's as they are; an
    // enrichment adding none leaves them empty.
    let mut bare = lead("bare@default.example");
    bare.attributes.clear();
    let mut none = lead("none@default.example");
    none.attributes.clear();
    store.insert_leads("default", id, &[bare, none]).await.unwrap();
    let bare = store
        .lead_by_email("default", "bare@default.example")
        .await
        .unwrap()
        .unwrap();
    let none = store
        .lead_by_email("default", "none@default.example")
        .await
        .unwrap()
        .unwrap();
    let mut nothing = enrich(&none, LeadState::Enriched);
    nothing.enrichment.attributes.clear();
    let outcome = store
        .apply_enrichments("default", &[enrich(&bare, LeadState::Enriched), nothing])
        .await
        .unwrap();
    assert_eq!(outcome.applied, 2);
    let bare = store.get_lead("default", bare.id).await.unwrap();
    assert_eq!(
        bare.fields.attributes,
        BTreeMap::from([("industry".to_string(), "saas".to_string())])
    );
    assert!(
        store
            .get_lead("default", none.id)
            .await
            .unwrap()
            .fields
            .attributes
            .is_empty()
    );
}

async fn an_illegal_transition_refuses_the_whole_enrichment_batch(store: Arc<dyn Store>) {
    let id = tenant_with_campaign(&store, "default").await;
    let all = leads(&store, "default", id, 3).await;
    let mut updates: Vec<_> = all.iter().map(|l| enrich(l, LeadState::Enriched)).collect();
    updates[2] = enrich(&all[2], LeadState::Qualified);
    let refused = store.apply_enrichments("default", &updates).await;
    assert!(matches!(refused, Err(StoreError::IllegalTransition(_))), "{refused:?}");
    let mut mismatched = enrich(&all[0], LeadState::Enriched);
    mismatched.lead_id = all[1].id;
    let refused = store.apply_enrichments("default", &[mismatched]).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    for l in &all {
        let after = store.get_lead("default", l.id).await.unwrap();
        assert_eq!(after.state, LeadState::New);
        assert_eq!(after.fields.company, "Analytical");
    }
    let empty = store.apply_enrichments("default", &[]).await.unwrap();
    assert_eq!(empty.applied, 0);
}

async fn a_batch_of_scores_is_stored_and_unscored_pages_leave_them_out(store: Arc<dyn Store>) {
    let id = tenant_with_campaign(&store, "default").await;
    let all = leads(&store, "default", id, 1200).await;
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .leads_in_state_after("default", id, LeadState::New, after, 500, Some("v1"))
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        assert!(page.len() <= 500);
        after = last.id;
        paged.extend(page.into_iter().map(|l| l.id));
    }
    assert_eq!(
        paged,
        all.iter().map(|l| l.id).collect::<Vec<_>>(),
        "every lead once, by id"
    );

    let mut updates: Vec<_> = all[..700]
        .iter()
        .enumerate()
        .map(|(i, l)| ScoreUpdate {
            lead_id: l.id,
            score: 0.1 + 0.2 + i as f64 / 1000.0,
            reasons: vec![format!("reason {i}"), "title: CTO".into()],
            scorer_version: "v1".into(),
        })
        .collect();
    updates.push(ScoreUpdate {
        lead_id: all[1199].id + 1000,
        score: 1.0,
        reasons: vec![],
        scorer_version: "v1".into(),
    });
    let outcome = store.update_scores("default", &updates).await.unwrap();
    assert_eq!(outcome.applied, 700);
    assert_eq!(outcome.skipped, vec![all[1199].id + 1000]);

    let scored = store.get_lead("default", all[1].id).await.unwrap();
    assert_eq!(scored.score, Some(0.1 + 0.2 + 0.001), "scores keep every bit");
    assert_eq!(
        scored.score_reasons,
        vec!["reason 1".to_string(), "title: CTO".to_string()]
    );
    assert_eq!(scored.scorer_version.as_deref(), Some("v1"));

    let rest = store
        .leads_in_state_after("default", id, LeadState::New, 0, 2000, Some("v1"))
        .await
        .unwrap();
    assert_eq!(rest.len(), 500);
    assert!(rest.iter().all(|l| l.scorer_version.is_none()));
    let for_new_scorer = store
        .leads_in_state_after("default", id, LeadState::New, 0, 2000, Some("v2"))
        .await
        .unwrap();
    assert_eq!(for_new_scorer.len(), 1200, "a new scorer version rescores everyone");
    let paged = for_new_scorer.iter().find(|l| l.id == all[1].id).expect("in the page");
    assert_eq!(
        paged, &scored,
        "a page read returns the lead exactly, score bits included"
    );
    let every = store
        .leads_in_state_after("default", id, LeadState::New, all[99].id, 2000, None)
        .await
        .unwrap();
    assert_eq!(every.len(), 1100, "without a scorer version, scored leads count too");
    assert_eq!(every[0].id, all[100].id);
    let enriched = store
        .leads_in_state_after("default", id, LeadState::Enriched, 0, 2000, Some("v2"))
        .await
        .unwrap();
    assert!(enriched.is_empty());
}

async fn batches_never_touch_another_tenants_leads(store: Arc<dyn Store>) {
    let a = tenant_with_campaign(&store, "tenant-a").await;
    let b = tenant_with_campaign(&store, "tenant-b").await;
    let theirs = leads(&store, "tenant-a", a, 2).await;
    leads(&store, "tenant-b", b, 1).await;
    let updates: Vec<_> = theirs.iter().map(|l| enrich(l, LeadState::Enriched)).collect();
    let outcome = store.apply_enrichments("tenant-b", &updates).await.unwrap();
    assert_eq!(outcome.applied, 0);
    assert_eq!(outcome.skipped, theirs.iter().map(|l| l.id).collect::<Vec<_>>());
    let scores = [ScoreUpdate {
        lead_id: theirs[0].id,
        score: 0.9,
        reasons: vec![],
        scorer_version: "v1".into(),
    }];
    let outcome = store.update_scores("tenant-b", &scores).await.unwrap();
    assert_eq!(outcome.skipped, vec![theirs[0].id]);
    let untouched = store.get_lead("tenant-a", theirs[0].id).await.unwrap();
    assert_eq!(untouched.state, LeadState::New);
    assert_eq!(untouched.score, None);
    assert!(
        store
            .leads_in_state_after("tenant-b", a, LeadState::New, 0, 10, Some("v1"))
            .await
            .unwrap()
            .is_empty()
    );
}
