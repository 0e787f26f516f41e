//! What the REST API reads and records: filtered lead lists, a person's
//! transitions, relabelled replies, removed suppressions, daily activity.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::{campaign, conformance_tests, lead, tenant_with_campaign};
use crate::domain::lifecycle::LeadState;
use crate::domain::model::{
    LeadTransition, NewInboundMessage, NewLead, NewOutboundEmail, SuppressionKind, SuppressionReason,
};
use crate::store::{InboundFilter, LeadFilter, Store, StoreError};

conformance_tests!(
    leads_are_listed_by_every_filter_a_page_at_a_time,
    a_transition_made_by_a_person_keeps_who_made_it,
    a_relabelled_reply_keeps_the_label_it_replaced_and_who_changed_it,
    replies_and_unmatched_messages_are_listed_apart,
    a_removed_suppression_is_gone_and_its_removal_recorded,
    daily_activity_counts_each_campaign_s_emails_and_replies_by_day,
);

fn company_lead(email: &str, company: &str) -> NewLead {
    NewLead {
        company: company.into(),
        ..lead(email)
    }
}

async fn leads_are_listed_by_every_filter_a_page_at_a_time(store: Arc<dyn Store>) {
    let spring = tenant_with_campaign(&store, "acme").await;
    let autumn = store.create_campaign("acme", &campaign("autumn")).await.unwrap().id;
    store
        .insert_leads(
            "acme",
            spring,
            &[
                company_lead("ann@one.example", "Blue Widgets"),
                company_lead("bob@two.example", "Red 100%"),
                company_lead("cy@three.example", "blue sky"),
            ],
        )
        .await
        .unwrap();
    store
        .insert_leads("acme", autumn, &[company_lead("dee@BLUE.example", "Acme")])
        .await
        .unwrap();
    tenant_with_campaign(&store, "beta").await;
    let beta_campaign = store.list_campaigns("beta").await.unwrap()[0].id;
    store
        .insert_leads("beta", beta_campaign, &[company_lead("eve@blue.example", "Blue")])
        .await
        .unwrap();
    let id = |email: &str| {
        let store = store.clone();
        let email = email.to_string();
        async move { store.lead_by_email("acme", &email).await.unwrap().unwrap().id }
    };
    store
        .update_score("acme", id("ann@one.example").await, 0.9, &[], "icp@1")
        .await
        .unwrap();
    store
        .update_score("acme", id("cy@three.example").await, 0.4, &[], "icp@1")
        .await
        .unwrap();

    let emails =
        |leads: Vec<crate::domain::model::Lead>| -> Vec<String> { leads.into_iter().map(|l| l.fields.email).collect() };
    let all = store.list_leads("acme", &LeadFilter::default(), 0, 100).await.unwrap();
    assert_eq!(all.len(), 4, "beta's lead is not listed");
    let blue = LeadFilter {
        text: Some("BLUE".into()),
        ..LeadFilter::default()
    };
    assert_eq!(
        emails(store.list_leads("acme", &blue, 0, 100).await.unwrap()),
        vec!["ann@one.example", "cy@three.example", "dee@blue.example"],
        "address or company, any case"
    );
    let percent = LeadFilter {
        text: Some("%".into()),
        ..LeadFilter::default()
    };
    assert_eq!(
        emails(store.list_leads("acme", &percent, 0, 100).await.unwrap()),
        vec!["bob@two.example"],
        "% matches only itself"
    );
    let scored = LeadFilter {
        min_score: Some(0.5),
        campaign_id: Some(spring),
        ..LeadFilter::default()
    };
    assert_eq!(
        emails(store.list_leads("acme", &scored, 0, 100).await.unwrap()),
        vec!["ann@one.example"]
    );
    let low = LeadFilter {
        max_score: Some(0.5),
        state: Some(LeadState::New),
        ..LeadFilter::default()
    };
    assert_eq!(
        emails(store.list_leads("acme", &low, 0, 100).await.unwrap()),
        vec!["cy@three.example"],
        "unscored leads match no score bound"
    );
    let contacted = LeadFilter {
        state: Some(LeadState::Contacted),
        ..LeadFilter::default()
    };
    assert!(store.list_leads("acme", &contacted, 0, 100).await.unwrap().is_empty());

    let first = store.list_leads("acme", &LeadFilter::default(), 0, 2).await.unwrap();
    let rest = store
        .list_leads("acme", &LeadFilter::default(), first[1].id, 2)
        .await
        .unwrap();
    let paged: Vec<i64> = first.iter().chain(&rest).map(|l| l.id).collect();
    assert_eq!(paged, all.iter().map(|l| l.id).collect::<Vec<_>>());
}

async fn a_transition_made_by_a_person_keeps_who_made_it(store: Arc<dyn Store>) {
    let campaign = tenant_with_campaign(&store, "acme").await;
    store
        .insert_leads("acme", campaign, &[lead("a@x.example")])
        .await
        .unwrap();
    let lead = store.lead_by_email("acme", "a@x.example").await.unwrap().unwrap();
    let transition = LeadTransition {
        lead_id: lead.id,
        from: LeadState::New,
        to: LeadState::Lost,
        reason: "competitor".into(),
        plugin_version: None,
        actor: Some("api:tok1".into()),
        at: Utc::now(),
    };
    store.transition_lead("acme", &transition).await.unwrap();
    let history = store.lead_transitions("acme", lead.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].actor.as_deref(), Some("api:tok1"));
    assert_eq!(history[0].reason, "competitor");
}

fn inbound(message_id: &str, from: &str, received_at: DateTime<Utc>) -> NewInboundMessage {
    NewInboundMessage {
        mailbox: "INBOX".into(),
        message_id: message_id.into(),
        in_reply_to: None,
        references: Vec::new(),
        from_address: from.into(),
        subject: "Re: Hi".into(),
        body_text: "Thanks".into(),
        raw: b"raw".to_vec(),
        received_at,
    }
}

/// A tenant `acme` with one campaign and one lead; (campaign, lead).
async fn one_lead(store: &Arc<dyn Store>) -> (i64, i64) {
    let campaign = tenant_with_campaign(store, "acme").await;
    store
        .insert_leads("acme", campaign, &[lead("to@x.example")])
        .await
        .unwrap();
    let lead = store.lead_by_email("acme", "to@x.example").await.unwrap().unwrap();
    (campaign, lead.id)
}

async fn a_relabelled_reply_keeps_the_label_it_replaced_and_who_changed_it(store: Arc<dyn Store>) {
    let (_, lead) = one_lead(&store).await;
    let id = store
        .insert_inbound("acme", &inbound("<r1@x>", "to@x.example", Utc::now()))
        .await
        .unwrap()
        .id();
    store.set_inbound_match("acme", id, lead).await.unwrap();
    store
        .set_inbound_label("acme", id, "interested", 0.62, "heuristic@3")
        .await
        .unwrap();

    let record = store
        .relabel_inbound("acme", id, "not-interested", "they said no", "api:tok1")
        .await
        .unwrap();
    assert_eq!(record.previous_label.as_deref(), Some("interested"));
    assert_eq!(record.previous_confidence, Some(0.62));
    assert_eq!(record.previous_classifier.as_deref(), Some("heuristic@3"));
    let message = store.get_inbound("acme", id).await.unwrap();
    assert_eq!(message.label.as_deref(), Some("not-interested"));
    assert_eq!(message.label_confidence, Some(1.0));
    assert_eq!(message.classifier_version.as_deref(), Some("api:tok1"));

    store
        .relabel_inbound("acme", id, "question", "on second reading", "api:tok2")
        .await
        .unwrap();
    let history = store.inbound_relabels("acme", id).await.unwrap();
    let labels: Vec<(Option<&str>, &str, &str)> = history
        .iter()
        .map(|r| (r.previous_label.as_deref(), r.label.as_str(), r.actor.as_str()))
        .collect();
    assert_eq!(
        labels,
        vec![
            (Some("interested"), "not-interested", "api:tok1"),
            (Some("not-interested"), "question", "api:tok2"),
        ]
    );

    store.ensure_tenant("beta", "Beta").await.unwrap();
    let foreign = store.relabel_inbound("beta", id, "unknown", "mine", "api:x").await;
    assert!(matches!(foreign, Err(StoreError::NotFound { .. })), "{foreign:?}");
    assert!(store.inbound_relabels("beta", id).await.unwrap().is_empty());
}

async fn replies_and_unmatched_messages_are_listed_apart(store: Arc<dyn Store>) {
    let (campaign, lead) = one_lead(&store).await;
    let now = Utc::now();
    let reply = store
        .insert_inbound("acme", &inbound("<r1@x>", "to@x.example", now))
        .await
        .unwrap()
        .id();
    store.set_inbound_match("acme", reply, lead).await.unwrap();
    store
        .set_inbound_label("acme", reply, "interested", 0.9, "h@1")
        .await
        .unwrap();
    let stray = store
        .insert_inbound("acme", &inbound("<s1@x>", "who@else.example", now))
        .await
        .unwrap()
        .id();
    let ids = |messages: Vec<crate::domain::model::InboundMessage>| -> Vec<i64> {
        messages.into_iter().map(|m| m.id).collect()
    };
    let replies = InboundFilter {
        matched: true,
        ..InboundFilter::default()
    };
    assert_eq!(
        ids(store.list_inbound("acme", &replies, 0, 10).await.unwrap()),
        vec![reply]
    );
    let unmatched = InboundFilter::default();
    assert_eq!(
        ids(store.list_inbound("acme", &unmatched, 0, 10).await.unwrap()),
        vec![stray]
    );
    let by_label_and_campaign = InboundFilter {
        matched: true,
        label: Some("interested".into()),
        campaign_id: Some(campaign),
        lead_id: Some(lead),
    };
    assert_eq!(
        ids(store.list_inbound("acme", &by_label_and_campaign, 0, 10).await.unwrap()),
        vec![reply]
    );
    let other_label = InboundFilter {
        matched: true,
        label: Some("unsubscribe".into()),
        ..InboundFilter::default()
    };
    assert!(
        store
            .list_inbound("acme", &other_label, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list_inbound("acme", &replies, reply, 10)
            .await
            .unwrap()
            .is_empty(),
        "paged past"
    );
    store.ensure_tenant("beta", "Beta").await.unwrap();
    assert!(store.list_inbound("beta", &unmatched, 0, 10).await.unwrap().is_empty());
}

async fn a_removed_suppression_is_gone_and_its_removal_recorded(store: Arc<dyn Store>) {
    store.ensure_tenant("acme", "Acme").await.unwrap();
    store.ensure_tenant("beta", "Beta").await.unwrap();
    store
        .add_suppression(
            "acme",
            SuppressionKind::Domain,
            "Typo.example",
            SuppressionReason::Manual,
            "oops",
        )
        .await
        .unwrap();
    let foreign = store
        .remove_suppression("beta", SuppressionKind::Domain, "typo.example", "mine", "api:b")
        .await;
    assert!(matches!(foreign, Err(StoreError::NotFound { .. })), "{foreign:?}");
    assert!(
        store
            .get_suppression("beta", SuppressionKind::Domain, "typo.example")
            .await
            .unwrap()
            .is_none()
    );
    let entry = store
        .get_suppression("acme", SuppressionKind::Domain, "typo.example")
        .await
        .unwrap()
        .expect("acme's entry");
    assert_eq!(entry.note, "oops");

    let removed = store
        .remove_suppression("acme", SuppressionKind::Domain, "typo.example", "a typo", "api:a")
        .await
        .unwrap();
    assert_eq!(
        (removed.value.as_str(), removed.reason),
        ("typo.example", SuppressionReason::Manual)
    );
    assert!(!store.is_suppressed("acme", "x@typo.example").await.unwrap());
    let again = store
        .remove_suppression("acme", SuppressionKind::Domain, "typo.example", "again", "api:a")
        .await;
    assert!(matches!(again, Err(StoreError::NotFound { .. })), "{again:?}");
}

async fn daily_activity_counts_each_campaign_s_emails_and_replies_by_day(store: Arc<dyn Store>) {
    let (spring, ann) = one_lead(&store).await;
    let other = store.create_campaign("acme", &campaign("other")).await.unwrap().id;
    store.insert_leads("acme", other, &[lead("o@x.example")]).await.unwrap();
    let other_lead = store.lead_by_email("acme", "o@x.example").await.unwrap().unwrap().id;
    let day1 = Utc.with_ymd_and_hms(2026, 3, 1, 23, 30, 0).unwrap();
    let day2 = day1 + Duration::hours(1);
    for (step, lead, campaign, at) in [
        (0, ann, spring, day1),
        (1, ann, spring, day2),
        (0, other_lead, other, day2),
    ] {
        let email = NewOutboundEmail {
            campaign_id: campaign,
            lead_id: lead,
            step,
            mailbox: "sales@example.com".into(),
            to_address: "to@x.example".into(),
            subject: "Hi".into(),
            body: "Hello".into(),
            message_id: format!("<{lead}-{step}@cam>"),
        };
        let id = store.queue_email("acme", &email).await.unwrap().id();
        store.mark_email_sending("acme", id, at).await.unwrap();
        store.mark_email_sent("acme", id, at).await.unwrap();
    }
    for (n, label, at) in [
        (1, "interested", day2),
        (2, "bounce-soft", day2),
        (3, "unsubscribe", day2),
        (4, "auto-reply", day2),
    ] {
        let id = store
            .insert_inbound("acme", &inbound(&format!("<in{n}@x>"), "to@x.example", at))
            .await
            .unwrap()
            .id();
        store.set_inbound_match("acme", id, ann).await.unwrap();
        store.set_inbound_label("acme", id, label, 0.9, "h@1").await.unwrap();
    }

    let days = store
        .daily_activity("acme", spring, day1 - Duration::days(1))
        .await
        .unwrap();
    assert_eq!(days.len(), 2, "{days:?}");
    assert_eq!((days[0].day, days[0].sent, days[0].replies), (day1.date_naive(), 1, 0));
    let second = days[1];
    assert_eq!(second.day, day2.date_naive());
    assert_eq!(
        (
            second.sent,
            second.replies,
            second.positive,
            second.bounces,
            second.unsubscribes
        ),
        (1, 2, 1, 1, 1),
        "the other campaign's email is not counted; an auto-reply is no reply"
    );
    let later = store.daily_activity("acme", spring, day2).await.unwrap();
    assert_eq!(later.len(), 1, "days before `since` are left out");
    store.ensure_tenant("beta", "Beta").await.unwrap();
    let foreign = store.daily_activity("beta", spring, day1).await;
    assert!(matches!(foreign, Err(StoreError::NotFound { .. })), "{foreign:?}");
}
