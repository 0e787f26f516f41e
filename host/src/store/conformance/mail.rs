//! Outbound emails, inbound messages and alerts.

use std::sync::Arc;

use chrono::{Duration, Utc};

use super::{conformance_tests, lead, tenant_with_campaign};
use crate::domain::model::{EmailState, InboxCursor, NewAlert, NewAlertAttempt, NewInboundMessage, NewOutboundEmail};
use crate::store::{Insertion, Store, StoreError};

conformance_tests!(
    exactly_one_email_is_queued_per_lead_and_step_even_when_queued_concurrently,
    emails_move_queued_sending_sent_and_refuse_other_moves,
    sent_counts_cover_the_rolling_window_per_campaign_and_mailbox,
    inbound_messages_dedupe_on_message_id_and_keep_raw_bytes,
    an_alert_is_raised_once_per_idempotency_key,
    a_deferred_email_goes_back_to_the_queue_and_an_uncertain_one_waits_for_the_operator,
    every_alert_attempt_is_logged_and_undelivered_alerts_are_listed,
);

/// A tenant `default` with one campaign and one lead; (campaign, lead).
async fn one_lead(store: &Arc<dyn Store>) -> (i64, i64) {
    let campaign = tenant_with_campaign(store, "default").await;
    store
        .insert_leads("default", campaign, &[lead("to@x.com")])
        .await
        .unwrap();
    let lead = store.lead_by_email("default", "to@x.com").await.unwrap().unwrap();
    (campaign, lead.id)
}

fn email(campaign_id: i64, lead_id: i64, step: u32, message_id: &str) -> NewOutboundEmail {
    NewOutboundEmail {
        campaign_id,
        lead_id,
        step,
        mailbox: "sales@example.com".into(),
        to_address: "to@x.com".into(),
        subject: format!("step {step}"),
        body: "Hello".into(),
        message_id: message_id.into(),
    }
}

async fn exactly_one_email_is_queued_per_lead_and_step_even_when_queued_concurrently(store: Arc<dyn Store>) {
    let (campaign, lead) = one_lead(&store).await;
    let attempts = (0..8).map(|i| {
        let store = store.clone();
        let email = email(campaign, lead, 0, &format!("<m{i}@cam>"));
        tokio::spawn(async move { store.queue_email("default", &email).await })
    });
    let results: Vec<Insertion> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|joined| joined.unwrap().unwrap())
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_new()).count(), 1, "{results:?}");
    let ids: std::collections::HashSet<i64> = results.iter().map(|r| r.id()).collect();
    assert_eq!(ids.len(), 1, "every caller sees the same row");
    assert_eq!(
        store
            .emails_in_state("default", Some(campaign), EmailState::Queued, 100)
            .await
            .unwrap()
            .len(),
        1
    );

    // A second step is a different email; reusing a Message-ID is refused.
    let next = store
        .queue_email("default", &email(campaign, lead, 1, "<step1@cam>"))
        .await
        .unwrap();
    assert!(next.is_new());
    let winner = store
        .get_email("default", ids.into_iter().next().unwrap())
        .await
        .unwrap();
    let clash = store
        .queue_email("default", &email(campaign, lead, 2, &winner.email.message_id))
        .await;
    assert!(matches!(clash, Err(StoreError::Duplicate { .. })), "{clash:?}");
}

async fn emails_move_queued_sending_sent_and_refuse_other_moves(store: Arc<dyn Store>) {
    let (campaign, lead) = one_lead(&store).await;
    let id = store
        .queue_email("default", &email(campaign, lead, 0, "<a@cam>"))
        .await
        .unwrap()
        .id();
    let queued = store.get_email("default", id).await.unwrap();
    assert_eq!(queued.state, EmailState::Queued);
    assert_eq!(queued.email, email(campaign, lead, 0, "<a@cam>"));

    assert!(matches!(
        store.mark_email_sent("default", id, Utc::now()).await,
        Err(StoreError::Conflict(_))
    ));
    let at = Utc::now();
    store.mark_email_sending("default", id, at).await.unwrap();
    assert!(matches!(
        store.mark_email_sending("default", id, at).await,
        Err(StoreError::Conflict(_))
    ));
    store.mark_email_sent("default", id, at).await.unwrap();
    let sent = store.get_email("default", id).await.unwrap();
    assert_eq!(sent.state, EmailState::Sent);
    assert_eq!(sent.sent_at.map(|t| t.timestamp_millis()), Some(at.timestamp_millis()));
    assert!(matches!(
        store.mark_email_failed("default", id, "late").await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store
            .email_by_message_id("default", "<a@cam>")
            .await
            .unwrap()
            .map(|e| e.id),
        Some(id)
    );

    // SENDING that never finished becomes UNCERTAIN, never QUEUED again.
    let stuck = store
        .queue_email("default", &email(campaign, lead, 1, "<b@cam>"))
        .await
        .unwrap()
        .id();
    store
        .mark_email_sending("default", stuck, Utc::now() - Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        store
            .mark_stale_sending_uncertain("default", Utc::now() - Duration::minutes(10))
            .await
            .unwrap(),
        1
    );
    let uncertain = store.get_email("default", stuck).await.unwrap();
    assert_eq!(uncertain.state, EmailState::Uncertain);
    assert!(uncertain.error.is_some());

    let failing = store
        .queue_email("default", &email(campaign, lead, 2, "<c@cam>"))
        .await
        .unwrap()
        .id();
    store
        .mark_email_failed("default", failing, "550 no such user")
        .await
        .unwrap();
    let failed = store.get_email("default", failing).await.unwrap();
    assert_eq!(failed.state, EmailState::Failed);
    assert_eq!(failed.error.as_deref(), Some("550 no such user"));

    let timeout = store
        .queue_email("default", &email(campaign, lead, 3, "<d@cam>"))
        .await
        .unwrap()
        .id();
    store.mark_email_sending("default", timeout, Utc::now()).await.unwrap();
    store
        .mark_email_uncertain("default", timeout, "SMTP timeout after DATA")
        .await
        .unwrap();
    assert_eq!(
        store
            .emails_in_state("default", None, EmailState::Uncertain, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(matches!(
        store.mark_email_sending("default", id + 1000, Utc::now()).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn sent_counts_cover_the_rolling_window_per_campaign_and_mailbox(store: Arc<dyn Store>) {
    let (campaign, lead) = one_lead(&store).await;
    let now = Utc::now();
    let old = store
        .queue_email("default", &email(campaign, lead, 0, "<old@cam>"))
        .await
        .unwrap()
        .id();
    store
        .mark_email_sending("default", old, now - Duration::hours(30))
        .await
        .unwrap();
    store
        .mark_email_sent("default", old, now - Duration::hours(30))
        .await
        .unwrap();
    let recent = store
        .queue_email("default", &email(campaign, lead, 1, "<new@cam>"))
        .await
        .unwrap()
        .id();
    store
        .mark_email_sending("default", recent, now - Duration::hours(2))
        .await
        .unwrap();
    store
        .mark_email_sent("default", recent, now - Duration::hours(2))
        .await
        .unwrap();
    let pending = store
        .queue_email("default", &email(campaign, lead, 2, "<pending@cam>"))
        .await
        .unwrap()
        .id();
    store.mark_email_sending("default", pending, now).await.unwrap();
    let _queued_only = store
        .queue_email("default", &email(campaign, lead, 3, "<q@cam>"))
        .await
        .unwrap();

    let since = now - Duration::hours(24);
    assert_eq!(store.count_sent_since("default", campaign, since).await.unwrap(), 2);
    assert_eq!(
        store
            .count_sent_by_mailbox_since("default", "sales@example.com", since)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .count_sent_by_mailbox_since("default", "other@example.com", since)
            .await
            .unwrap(),
        0
    );
    store.ensure_tenant("other", "Other").await.unwrap();
    assert_eq!(store.count_sent_since("other", campaign, since).await.unwrap(), 0);
}

fn inbound(message_id: &str, raw: &[u8]) -> NewInboundMessage {
    NewInboundMessage {
        mailbox: "INBOX".into(),
        message_id: message_id.into(),
        in_reply_to: Some("<a@cam>".into()),
        references: vec!["<a@cam>".into()],
        from_address: "to@x.com".into(),
        subject: "Re: Hi".into(),
        body_text: "Sounds good".into(),
        raw: raw.to_vec(),
        received_at: Utc::now(),
    }
}

async fn inbound_messages_dedupe_on_message_id_and_keep_raw_bytes(store: Arc<dyn Store>) {
    let (_, lead) = one_lead(&store).await;
    let raw = b"Message-ID: <r1@x.com>\r\n\r\nSounds good\xff".to_vec();
    let first = store
        .insert_inbound("default", &inbound("<r1@x.com>", &raw))
        .await
        .unwrap();
    assert!(first.is_new());
    let again = store
        .insert_inbound("default", &inbound("<r1@x.com>", b"other"))
        .await
        .unwrap();
    assert_eq!(again, Insertion::Existing(first.id()));

    let stored = store.get_inbound("default", first.id()).await.unwrap();
    assert_eq!(stored.message.raw, raw, "raw bytes are kept exactly");
    assert_eq!(stored.message.references, vec!["<a@cam>".to_string()]);
    assert_eq!(store.unmatched_inbound("default", 10).await.unwrap().len(), 1);
    assert_eq!(store.unlabeled_inbound("default", 10).await.unwrap().len(), 1);

    store.set_inbound_match("default", first.id(), lead).await.unwrap();
    store
        .set_inbound_label("default", first.id(), "interested", 0.92, "classifier@sha:7")
        .await
        .unwrap();
    let waiting = store.unalerted_positive_inbound("default", 10).await.unwrap();
    assert_eq!(waiting.iter().map(|m| m.id).collect::<Vec<_>>(), vec![first.id()]);
    store.mark_inbound_alerted("default", first.id()).await.unwrap();
    assert!(
        store
            .unalerted_positive_inbound("default", 10)
            .await
            .unwrap()
            .is_empty()
    );
    let labelled = store.get_inbound("default", first.id()).await.unwrap();
    assert_eq!(labelled.matched_lead_id, Some(lead));
    assert_eq!(labelled.label.as_deref(), Some("interested"));
    assert_eq!(labelled.classifier_version.as_deref(), Some("classifier@sha:7"));
    assert!(labelled.alert_sent);
    assert_eq!(
        store
            .count_inbound_labelled("default", lead, "interested")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .count_inbound_labelled("default", lead, "bounce-soft")
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.count_inbound_labelled("other", lead, "interested").await.unwrap(),
        0
    );
    assert!(store.unmatched_inbound("default", 10).await.unwrap().is_empty());
    assert!(store.unlabeled_inbound("default", 10).await.unwrap().is_empty());

    // No Message-ID: identical bytes still dedupe.
    let a = store.insert_inbound("default", &inbound("", b"no id")).await.unwrap();
    let b = store.insert_inbound("default", &inbound("  ", b"no id")).await.unwrap();
    assert!(a.is_new());
    assert_eq!(b, Insertion::Existing(a.id()));

    // The same Message-ID in another tenant is another message.
    store.ensure_tenant("other", "Other").await.unwrap();
    assert!(
        store
            .insert_inbound("other", &inbound("<r1@x.com>", &raw))
            .await
            .unwrap()
            .is_new()
    );
    assert!(store.set_inbound_match("other", first.id(), lead).await.is_err());

    assert_eq!(store.inbox_cursor("default", "INBOX").await.unwrap(), None);
    let cursor = InboxCursor {
        uid_validity: 7,
        last_uid: 4_000_000_000,
    };
    store.set_inbox_cursor("default", "INBOX", cursor).await.unwrap();
    assert_eq!(store.inbox_cursor("default", "INBOX").await.unwrap(), Some(cursor));
    let behind = InboxCursor {
        uid_validity: 7,
        last_uid: 12,
    };
    store.set_inbox_cursor("default", "INBOX", behind).await.unwrap();
    assert_eq!(
        store.inbox_cursor("default", "INBOX").await.unwrap(),
        Some(cursor),
        "a slower poller cannot move the cursor back"
    );
    let rebuilt = InboxCursor {
        uid_validity: 8,
        last_uid: 3,
    };
    store.set_inbox_cursor("default", "INBOX", rebuilt).await.unwrap();
    assert_eq!(store.inbox_cursor("default", "INBOX").await.unwrap(), Some(rebuilt));
    assert_eq!(store.inbox_cursor("other", "INBOX").await.unwrap(), None);
}

async fn an_alert_is_raised_once_per_idempotency_key(store: Arc<dyn Store>) {
    let (_, lead) = one_lead(&store).await;
    let alert = NewAlert {
        idempotency_key: format!("positive-reply:{lead}:<r1@x.com>"),
        kind: "positive-reply".into(),
        lead_id: Some(lead),
        payload: serde_json::json!({ "from": "to@x.com" }),
    };
    let first = store.insert_alert("default", &alert).await.unwrap();
    assert!(first.is_new());
    let second = store.insert_alert("default", &alert).await.unwrap();
    assert_eq!(second, Insertion::Existing(first.id()));
    store
        .mark_alert_delivered("default", first.id(), Utc::now())
        .await
        .unwrap();
    let list = store.list_alerts("default", 10).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].alert, alert);
    assert!(list[0].delivered_at.is_some());
    store.ensure_tenant("other", "Other").await.unwrap();
    assert!(store.list_alerts("other", 10).await.unwrap().is_empty());
    assert!(
        store
            .insert_alert("other", &NewAlert { lead_id: None, ..alert })
            .await
            .unwrap()
            .is_new()
    );
}

async fn a_deferred_email_goes_back_to_the_queue_and_an_uncertain_one_waits_for_the_operator(store: Arc<dyn Store>) {
    let (campaign, lead) = one_lead(&store).await;
    let first = store
        .queue_email("default", &email(campaign, lead, 0, "<d0@cam>"))
        .await
        .unwrap()
        .id();
    let now = Utc::now();
    store.mark_email_sending("default", first, now).await.unwrap();
    store
        .requeue_email("default", first, "451 try again later")
        .await
        .unwrap();
    let requeued = store.get_email("default", first).await.unwrap();
    assert_eq!(requeued.state, EmailState::Queued);
    assert_eq!(requeued.error.as_deref(), Some("451 try again later"));
    assert_eq!(
        store
            .count_sent_since("default", campaign, now - Duration::hours(1))
            .await
            .unwrap(),
        0,
        "a requeued email does not count against the caps"
    );
    assert!(matches!(
        store.requeue_email("default", first, "again").await,
        Err(StoreError::Conflict(_))
    ));

    store.mark_email_sending("default", first, now).await.unwrap();
    store
        .mark_email_uncertain("default", first, "cut after DATA")
        .await
        .unwrap();
    assert!(matches!(
        store.mark_email_sending("default", first, now).await,
        Err(StoreError::Conflict(_))
    ));
    store
        .resolve_uncertain_email("default", first, true, "found in the server log", now)
        .await
        .unwrap();
    assert_eq!(store.get_email("default", first).await.unwrap().state, EmailState::Sent);
    assert!(matches!(
        store.resolve_uncertain_email("default", first, false, "x", now).await,
        Err(StoreError::Conflict(_))
    ));

    let second = store
        .queue_email("default", &email(campaign, lead, 1, "<d1@cam>"))
        .await
        .unwrap()
        .id();
    store.mark_email_sending("default", second, now).await.unwrap();
    store.mark_email_uncertain("default", second, "timeout").await.unwrap();
    store
        .resolve_uncertain_email("default", second, false, "operator: never arrived", now)
        .await
        .unwrap();
    let failed = store.get_email("default", second).await.unwrap();
    assert_eq!(failed.state, EmailState::Failed);
    assert_eq!(failed.error.as_deref(), Some("operator: never arrived"));
}

async fn every_alert_attempt_is_logged_and_undelivered_alerts_are_listed(store: Arc<dyn Store>) {
    let (_, lead) = one_lead(&store).await;
    let mut ids = Vec::new();
    for n in 0..2 {
        let alert = NewAlert {
            idempotency_key: format!("positive-reply:{lead}:<r{n}@x.com>"),
            kind: "positive-reply".into(),
            lead_id: Some(lead),
            payload: serde_json::json!({ "n": n }),
        };
        ids.push(store.insert_alert("default", &alert).await.unwrap().id());
    }
    let at = Utc::now();
    for (ok, detail) in [(false, "HTTP 503"), (true, "HTTP 200")] {
        let attempt = NewAlertAttempt {
            alert_id: ids[0],
            channel: "webhook".into(),
            ok,
            detail: detail.into(),
            at,
        };
        store.record_alert_attempt("default", &attempt).await.unwrap();
    }
    store.mark_alert_delivered("default", ids[0], at).await.unwrap();
    let log = store.alert_attempts("default", ids[0]).await.unwrap();
    assert_eq!(
        log.iter()
            .map(|a| (a.attempt.ok, a.attempt.detail.as_str()))
            .collect::<Vec<_>>(),
        vec![(false, "HTTP 503"), (true, "HTTP 200")]
    );
    assert_eq!(log[0].attempt.at.timestamp_millis(), at.timestamp_millis());
    let undelivered = store.undelivered_alerts("default", 10).await.unwrap();
    assert_eq!(undelivered.iter().map(|a| a.id).collect::<Vec<_>>(), vec![ids[1]]);

    store.ensure_tenant("other", "Other").await.unwrap();
    assert!(store.alert_attempts("other", ids[0]).await.unwrap().is_empty());
    let foreign = NewAlertAttempt {
        alert_id: ids[1],
        channel: "email".into(),
        ok: true,
        detail: "250".into(),
        at,
    };
    assert!(
        matches!(
            store.record_alert_attempt("other", &foreign).await,
            Err(StoreError::NotFound { .. })
        ),
        "a tenant cannot log attempts on another tenant's alert"
    );
}
