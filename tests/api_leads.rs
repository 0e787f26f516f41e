//! The REST API's work routes as an operator uses them over real HTTP
//! against `cam serve`: leads uploaded as CSV, listed, qualified,
//! disqualified and suppressed; replies listed and relabelled; suppressions
//! removed; daily metrics; campaigns updated. What only a running pipeline
//! makes (sent emails, replies, scores) is put in the site's database
//! directly. Tenant isolation and roles of every route: `api`'s probe.

use std::sync::Arc;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api::{Site, definition};
use cam::domain::lifecycle::LeadState;
use cam::domain::model::{LeadTransition, NewInboundMessage, NewOutboundEmail, SuppressionKind, SuppressionReason};
use cam::store::Store;

const CSV: &str = "text/csv";

/// A campaign `name` of acme's; its id.
async fn campaign(site: &Site, token: &str, name: &str) -> i64 {
    let (status, created) = site
        .post("/api/v1/campaigns", token, json!({ "definition": definition(name) }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_i64().expect("an id")
}

/// Uploads `csv` into `campaign`; the report.
async fn import(site: &Site, token: &str, campaign: i64, csv: &str) -> Value {
    let (status, report) = site
        .post_raw(
            &format!("/api/v1/campaigns/{campaign}/import"),
            token,
            CSV,
            csv.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    report
}

async fn lead_id(store: &Arc<dyn Store>, email: &str) -> i64 {
    store
        .lead_by_email("acme", email)
        .await
        .expect("read")
        .expect("the lead")
        .id
}

/// A sent email of step `step` to `lead`, accepted now.
async fn sent_email(store: &Arc<dyn Store>, campaign: i64, lead: i64, step: u32) {
    let email = NewOutboundEmail {
        campaign_id: campaign,
        lead_id: lead,
        step,
        mailbox: "sales@acme.example".into(),
        to_address: "x@example.com".into(),
        subject: format!("Hello, step {step}"),
        body: "Hi".into(),
        message_id: format!("<{lead}.{step}@cam>"),
    };
    let id = store.queue_email("acme", &email).await.expect("queued").id();
    store.mark_email_sending("acme", id, Utc::now()).await.expect("sending");
    store.mark_email_sent("acme", id, Utc::now()).await.expect("sent");
}

/// A message from `from`, matched to `lead` (if any) and labelled (if any); its id.
pub(crate) async fn inbound(
    store: &Arc<dyn Store>,
    tenant: &str,
    from: &str,
    lead: Option<i64>,
    label: Option<&str>,
) -> i64 {
    let message = NewInboundMessage {
        mailbox: "INBOX".into(),
        message_id: format!("<{from}.{}@mail>", Utc::now().timestamp_nanos_opt().unwrap_or_default()),
        in_reply_to: None,
        references: Vec::new(),
        from_address: from.into(),
        subject: "Re: Hello".into(),
        body_text: "Sounds interesting, tell me more".into(),
        raw: b"raw bytes".to_vec(),
        received_at: Utc::now(),
    };
    let id = store.insert_inbound(tenant, &message).await.expect("stored").id();
    if let Some(lead) = lead {
        store.set_inbound_match(tenant, id, lead).await.expect("matched");
    }
    if let Some(label) = label {
        store
            .set_inbound_label(tenant, id, label, 0.87, "heuristic_replies@1.0.0")
            .await
            .expect("labelled");
    }
    id
}

async fn pipeline_moves(store: &Arc<dyn Store>, lead: i64, from: LeadState, to: LeadState, by: &str) {
    let transition = LeadTransition {
        lead_id: lead,
        from,
        to,
        reason: format!("{} by the pipeline", to.as_str()),
        plugin_version: Some(by.into()),
        actor: None,
        at: Utc::now(),
    };
    store.transition_lead("acme", &transition).await.expect("moved");
}

/// Writes `head` (a request without its body) to the server; what it answers.
fn raw_request(site: &Site, head: &str) -> String {
    use std::io::{Read, Write};
    let address = site.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connects");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(head.as_bytes()).expect("writes");
    let mut answer = Vec::new();
    // The server closes after answering (`Connection: close`); a timeout ends the read too.
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn emails(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|lead| lead["email"].as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_upload_reports_every_rejected_row_and_its_leads_are_found_by_filter() {
    let site = Site::start();
    let operator = site.token(Some("acme"), "operator");
    let spring = campaign(&site, &operator, "spring").await;
    let report = import(
        &site,
        &operator,
        spring,
        "email,first_name,company\n\
         ann@blue.example,Ann,Blue Widgets\n\
         bob@red.example,Bob,Red Co\n\
         not-an-address,Nobody,Nowhere\n\
         ann@blue.example,Ann,Blue Widgets\n\
         cy@green.example,Cy,BLUEPRINT Ltd\n",
    )
    .await;
    assert_eq!(
        (report["rows"].as_u64(), report["imported"].as_u64()),
        (Some(5), Some(3)),
        "{report}"
    );
    assert_eq!(report["campaign"], "spring");
    let rejected = report["rejected_rows"].as_array().expect("rejected rows");
    let bad = rejected.iter().find(|r| r["line"] == 4).expect("line 4 is reported");
    assert!(
        bad["reason"].as_str().unwrap_or("").contains("not-an-address"),
        "{report}"
    );
    assert!(
        rejected.iter().any(|r| r["line"] == 5),
        "the repeat on line 5: {report}"
    );

    // The same importer as `cam import`: a file without an email column says so.
    let (status, problem) = site
        .post_raw(
            &format!("/api/v1/campaigns/{spring}/import"),
            &operator,
            CSV,
            b"name,company\nAnn,Blue\n".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("no email column"),
        "{problem}"
    );
    let (status, _) = site
        .post_raw(
            &format!("/api/v1/campaigns/{spring}/import"),
            &operator,
            "application/json",
            b"email\nx@y.example\n".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Well over the 1 MiB limit of JSON bodies: the upload route takes it.
    let mut big = String::from("email,first_name,company\n");
    let mut rows = 0;
    while big.len() < 3 * cam::api::MAX_BODY_BYTES / 2 {
        big.push_str(&format!(
            "bulk{rows}@bulk.example,Person {rows},A company with a long name\n"
        ));
        rows += 1;
    }
    let bulk = import(&site, &operator, spring, &big).await;
    assert_eq!(bulk["imported"].as_u64(), Some(rows), "{}", bulk["rejected"]);

    // `cam import`'s options, in the query: a column mapped to email, and a dry run.
    let (status, dry) = site
        .post_raw(
            &format!("/api/v1/campaigns/{spring}/import?map=E-Mail%20Adresse%3Demail&delimiter=%3B&dry_run=true"),
            &operator,
            CSV,
            "E-Mail Adresse;Firma\ndry@run.example;Trocken GmbH\n"
                .as_bytes()
                .to_vec(),
        )
        .await;
    assert_eq!(
        (status, dry["imported"].as_u64(), &dry["dry_run"]),
        (StatusCode::OK, Some(1), &json!(true)),
        "{dry}"
    );
    let (_, none) = site.get("/api/v1/leads?q=dry@run", &operator).await;
    assert_eq!(none["items"], json!([]), "a dry run writes nothing");
    let (status, problem) = site
        .post_raw(
            &format!("/api/v1/campaigns/{spring}/import?dryrun=1"),
            &operator,
            CSV,
            b"email\n".to_vec(),
        )
        .await;
    assert_eq!(
        (status, &problem["errors"][0]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("dryrun"))
    );

    // Over the upload limit: refused from the declared length, before a byte is read.
    let answer = raw_request(
        &site,
        &format!(
            "POST /api/v1/campaigns/{spring}/import HTTP/1.1\r\nHost: cam\r\nAuthorization: Bearer {operator}\r\n\
             Content-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            cam::api::MAX_IMPORT_BYTES + 1
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("larger than 64 MiB"), "{answer}");

    let (_, blue) = site.get("/api/v1/leads?q=BLUE&limit=10", &operator).await;
    assert_eq!(emails(&blue), vec!["ann@blue.example", "cy@green.example"], "{blue}");
    let (_, page) = site
        .get(&format!("/api/v1/leads?campaign={spring}&state=new&limit=2"), &operator)
        .await;
    assert_eq!(emails(&page), vec!["ann@blue.example", "bob@red.example"]);
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let (_, next) = site
        .get(
            &format!("/api/v1/leads?campaign={spring}&limit=1&cursor={cursor}"),
            &operator,
        )
        .await;
    assert_eq!(emails(&next), vec!["cy@green.example"]);

    let store = site.store().await;
    let cy = lead_id(&store, "cy@green.example").await;
    store
        .update_score("acme", cy, 0.8, &["CTO at a fit company".into()], "icp_score@2.1.0")
        .await
        .expect("scored");
    let (_, scored) = site.get("/api/v1/leads?min_score=0.5&max_score=1", &operator).await;
    assert_eq!(emails(&scored), vec!["cy@green.example"]);
    assert_eq!(scored["items"][0]["score"]["plugin_version"], "icp_score@2.1.0");

    for (query, field) in [
        ("state=SHINY", "state"),
        ("min_score=2", "min_score"),
        ("min_score=0.9&max_score=0.1", "max_score"),
    ] {
        let (status, problem) = site.get(&format!("/api/v1/leads?{query}"), &operator).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
    let (status, problem) = site.get("/api/v1/leads?min_score=high", &operator).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("min_score"),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_qualifies_an_interested_lead_and_the_lead_shows_its_whole_story() {
    let site = Site::start();
    let operator = site.token(Some("acme"), "operator");
    let spring = campaign(&site, &operator, "spring").await;
    import(
        &site,
        &operator,
        spring,
        "email,first_name\nann@blue.example,Ann\nbob@red.example,Bob\n",
    )
    .await;
    let store = site.store().await;
    let (ann, bob) = (
        lead_id(&store, "ann@blue.example").await,
        lead_id(&store, "bob@red.example").await,
    );
    store
        .update_score("acme", ann, 0.75, &["title fits".into()], "icp_score@2.1.0")
        .await
        .expect("scored");
    pipeline_moves(&store, ann, LeadState::New, LeadState::Contacted, "sender").await;
    sent_email(&store, spring, ann, 0).await;
    inbound(&store, "acme", "ann@blue.example", Some(ann), Some("interested")).await;
    pipeline_moves(
        &store,
        ann,
        LeadState::Contacted,
        LeadState::Interested,
        "heuristic_replies@1.0.0",
    )
    .await;

    // Qualifying needs a positive reply first: the problem says where the lead is and what it may do.
    let (status, problem) = site
        .post(
            &format!("/api/v1/leads/{bob}/qualify"),
            &operator,
            json!({ "reason": "looks good" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["current_state"], "NEW");
    assert!(
        problem["allowed_moves"]
            .as_array()
            .expect("moves")
            .contains(&json!("LOST")),
        "{problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("only from INTERESTED"),
        "{problem}"
    );
    let (status, problem) = site
        .post(
            &format!("/api/v1/leads/{ann}/qualify"),
            &operator,
            json!({ "reason": " " }),
        )
        .await;
    assert_eq!(
        (status, &problem["errors"][0]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("reason"))
    );

    let (status, qualified) = site
        .post(
            &format!("/api/v1/leads/{ann}/qualify"),
            &operator,
            json!({ "reason": "booked a demo for Tuesday" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{qualified}");
    assert_eq!(qualified["state"], "QUALIFIED");
    let (_, lead) = site.get(&format!("/api/v1/leads/{ann}"), &operator).await;
    let transitions = lead["transitions"].as_array().expect("transitions");
    let moves: Vec<(&str, &str)> = transitions
        .iter()
        .map(|t| (t["to"].as_str().unwrap_or(""), t["who"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        moves[..2],
        [("CONTACTED", "sender"), ("INTERESTED", "heuristic_replies@1.0.0")]
    );
    assert_eq!(moves[2].0, "QUALIFIED");
    assert!(moves[2].1.starts_with("api:"), "the token is who: {lead}");
    assert_eq!(transitions[2]["reason"], "booked a demo for Tuesday");
    assert_eq!(
        lead["score"],
        json!({ "value": 0.75, "reasons": ["title fits"], "plugin_version": "icp_score@2.1.0" })
    );
    assert_eq!(
        (&lead["emails"][0]["subject"], &lead["emails"][0]["status"]),
        (&json!("Hello, step 0"), &json!("SENT"))
    );
    assert!(lead["emails"][0]["sent_at"].is_string(), "{lead}");
    assert_eq!(lead["replies"][0]["label"], "interested");
    assert_eq!(lead["replies"][0]["classifier_version"], "heuristic_replies@1.0.0");
    assert!(lead["replies"][0].get("raw").is_none(), "no raw bytes in the API");

    // QUALIFIED is final.
    let (status, problem) = site
        .post(
            &format!("/api/v1/leads/{ann}/disqualify"),
            &operator,
            json!({ "reason": "changed my mind" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["allowed_moves"], json!([]));

    let (status, lost) = site
        .post(
            &format!("/api/v1/leads/{bob}/disqualify"),
            &operator,
            json!({ "reason": "a competitor" }),
        )
        .await;
    assert_eq!((status, &lost["state"]), (StatusCode::OK, &json!("LOST")), "{lost}");
    let (status, suppressed) = site
        .post(
            &format!("/api/v1/leads/{bob}/suppress"),
            &operator,
            json!({ "reason": "asked on the phone" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{suppressed}");
    assert_eq!(
        (&suppressed["suppressed"], &suppressed["state"]),
        (&json!(true), &json!("LOST"))
    );
    let (_, list) = site.get("/api/v1/suppressions", &operator).await;
    let entry = &list["items"][0];
    assert_eq!(
        (&entry["value"], &entry["reason"]),
        (&json!("bob@red.example"), &json!("MANUAL"))
    );
    assert!(
        entry["note"].as_str().unwrap_or("").contains("asked on the phone"),
        "{list}"
    );
    let (status, _) = site
        .post("/api/v1/leads/999999/suppress", &operator, json!({ "reason": "x" }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_are_listed_by_label_and_a_relabel_keeps_the_label_it_replaced() {
    let site = Site::start();
    let operator = site.token(Some("acme"), "operator");
    let spring = campaign(&site, &operator, "spring").await;
    let autumn = campaign(&site, &operator, "autumn").await;
    import(&site, &operator, spring, "email\nann@blue.example\n").await;
    import(&site, &operator, autumn, "email\nbob@red.example\n").await;
    let store = site.store().await;
    let ann = lead_id(&store, "ann@blue.example").await;
    let bob = lead_id(&store, "bob@red.example").await;
    let reply = inbound(&store, "acme", "ann@blue.example", Some(ann), Some("interested")).await;
    inbound(&store, "acme", "bob@red.example", Some(bob), Some("unsubscribe")).await;
    let stray = inbound(&store, "acme", "stranger@else.example", None, None).await;

    let (_, all) = site.get("/api/v1/replies", &operator).await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(2), "{all}");
    let (_, interested) = site.get("/api/v1/replies?label=interested", &operator).await;
    let first = &interested["items"][0];
    assert_eq!(
        (first["id"].as_i64(), first["lead_id"].as_i64()),
        (Some(reply), Some(ann))
    );
    assert_eq!(
        (&first["confidence"], &first["classifier_version"]),
        (&json!(0.87), &json!("heuristic_replies@1.0.0"))
    );
    let (_, autumn_replies) = site.get(&format!("/api/v1/replies?campaign={autumn}"), &operator).await;
    assert_eq!(autumn_replies["items"][0]["label"], "unsubscribe", "{autumn_replies}");
    assert_eq!(autumn_replies["items"].as_array().map(Vec::len), Some(1));
    let (status, problem) = site.get("/api/v1/replies?label=happy", &operator).await;
    assert_eq!(
        (status, &problem["errors"][0]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("label"))
    );

    let (_, unmatched) = site.get("/api/v1/replies/unmatched", &operator).await;
    assert_eq!(unmatched["items"].as_array().map(Vec::len), Some(1), "{unmatched}");
    assert_eq!(
        (unmatched["items"][0]["id"].as_i64(), &unmatched["items"][0]["from"]),
        (Some(stray), &json!("stranger@else.example"))
    );

    let (status, relabelled) = site
        .post(
            &format!("/api/v1/replies/{reply}/relabel"),
            &operator,
            json!({ "label": "not-interested", "reason": "it was sarcasm" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{relabelled}");
    assert_eq!(
        (&relabelled["label"], &relabelled["confidence"]),
        (&json!("not-interested"), &json!(1.0))
    );
    let record = &relabelled["relabels"][0];
    assert_eq!(
        (
            &record["previous_label"],
            &record["previous_classifier"],
            &record["reason"]
        ),
        (
            &json!("interested"),
            &json!("heuristic_replies@1.0.0"),
            &json!("it was sarcasm")
        )
    );
    assert!(record["actor"].as_str().unwrap_or("").starts_with("api:"), "{record}");
    assert!(record["at"].is_string());
    let (_, now_interested) = site.get("/api/v1/replies?label=interested", &operator).await;
    assert_eq!(now_interested["items"], json!([]));

    let (status, problem) = site
        .post(
            &format!("/api/v1/replies/{reply}/relabel"),
            &operator,
            json!({ "label": "spam-ish", "reason": "x" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("not-interested"),
        "lists the labels: {problem}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suppression_is_removed_with_a_record_unless_the_recipient_asked_for_it() {
    let site = Site::start();
    let operator = site.token(Some("acme"), "operator");
    for body in [
        json!({ "address": "Typo@Acme.example" }),
        json!({ "domain": "old-partner.example" }),
    ] {
        let (status, _) = site.post("/api/v1/suppressions", &operator, body).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, removed) = site
        .call(
            "DELETE",
            "/api/v1/suppressions/typo@acme.example?reason=fixed%20the%20address",
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(
        (&removed["value"], &removed["kind"]),
        (&json!("typo@acme.example"), &json!("ADDRESS"))
    );
    let (status, _) = site
        .call(
            "DELETE",
            "/api/v1/suppressions/OLD-partner.example",
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = site.get("/api/v1/suppressions", &operator).await;
    assert_eq!(list["items"], json!([]), "both are gone");
    let (status, _) = site
        .call(
            "DELETE",
            "/api/v1/suppressions/typo@acme.example",
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "removed once");

    let store = site.store().await;
    store
        .add_suppression(
            "acme",
            SuppressionKind::Address,
            "gone@acme.example",
            SuppressionReason::Unsubscribe,
            "one-click link",
        )
        .await
        .expect("suppressed");
    let (status, problem) = site
        .call(
            "DELETE",
            "/api/v1/suppressions/gone@acme.example",
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("unsubscribed"),
        "{problem}"
    );
    assert!(store.is_suppressed("acme", "gone@acme.example").await.expect("read"));
    let (status, problem) = site
        .call(
            "DELETE",
            "/api/v1/suppressions/not%20an%20address@",
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(
        (status, &problem["errors"][0]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("value"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_series_counts_today_s_sends_and_replies_and_lists_quiet_days_as_zero() {
    let site = Site::start();
    let operator = site.token(Some("acme"), "operator");
    let spring = campaign(&site, &operator, "spring").await;
    import(&site, &operator, spring, "email\nann@blue.example\nbob@red.example\n").await;
    let store = site.store().await;
    let ann = lead_id(&store, "ann@blue.example").await;
    let bob = lead_id(&store, "bob@red.example").await;
    sent_email(&store, spring, ann, 0).await;
    sent_email(&store, spring, bob, 0).await;
    inbound(&store, "acme", "ann@blue.example", Some(ann), Some("interested")).await;
    inbound(
        &store,
        "acme",
        "mailer-daemon@red.example",
        Some(bob),
        Some("bounce-hard"),
    )
    .await;

    let (status, series) = site
        .get(&format!("/api/v1/campaigns/{spring}/metrics/daily?days=7"), &operator)
        .await;
    assert_eq!(status, StatusCode::OK, "{series}");
    let days = series["days"].as_array().expect("days");
    assert_eq!(days.len(), 7);
    let today = &days[6];
    assert_eq!(today["day"], Utc::now().date_naive().to_string());
    assert_eq!(
        [
            &today["sent"],
            &today["replies"],
            &today["positive"],
            &today["bounces"],
            &today["unsubscribes"]
        ],
        [&json!(2), &json!(1), &json!(1), &json!(1), &json!(0)],
        "{today}"
    );
    assert!(
        days[..6].iter().all(|d| d["sent"] == 0 && d["replies"] == 0),
        "{series}"
    );
    let (_, month) = site
        .get(&format!("/api/v1/campaigns/{spring}/metrics/daily"), &operator)
        .await;
    assert_eq!(month["days"].as_array().map(Vec::len), Some(30), "a month by default");
    let (status, problem) = site
        .get(&format!("/api/v1/campaigns/{spring}/metrics/daily?days=0"), &operator)
        .await;
    assert_eq!(
        (status, &problem["errors"][0]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("days"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_is_updated_from_a_new_definition_and_a_bad_field_is_named() {
    let site = Site::start();
    let operator = site.token(Some("acme"), "operator");
    let spring = campaign(&site, &operator, "spring").await;
    campaign(&site, &operator, "autumn").await;
    let mut changed = definition("spring-2");
    changed["daily_cap"] = json!(99);
    let (status, updated) = site
        .call(
            "PUT",
            &format!("/api/v1/campaigns/{spring}"),
            Some(&operator),
            Some(json!({ "definition": changed })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        (&updated["name"], &updated["definition"]["daily_cap"]),
        (&json!("spring-2"), &json!(99))
    );
    assert_eq!(updated["status"], "PAUSED", "the status stays");

    let mut bad = definition("spring-2");
    bad["steps"][0]["subject"] = json!("Hi {{first_name");
    let (status, problem) = site
        .call(
            "PUT",
            &format!("/api/v1/campaigns/{spring}"),
            Some(&operator),
            Some(json!({ "definition": bad })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "steps[0].subject", "{problem}");
    let (status, _) = site
        .call(
            "PUT",
            &format!("/api/v1/campaigns/{spring}"),
            Some(&operator),
            Some(json!({ "definition": definition("autumn") })),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "the name is taken");
    let (status, _) = site
        .call(
            "PUT",
            "/api/v1/campaigns/999999",
            Some(&operator),
            Some(json!({ "definition": definition("x") })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
