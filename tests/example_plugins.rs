//! The example plugins' real logic, called through the host runtime.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use cam::plugins::{LoadedPlugin, Manifest};
use cam::runtime::FailureKind;
use cam::runtime::bindings::types::{
    Action, CampaignMetrics, CampaignSnapshot, CampaignStatus, InboundReply, Lead, ReplyLabel,
};

use crate::support::{lead, load, load_with_manifest, plugin, runtime, scope};

fn reply(subject: &str, body: &str) -> InboundReply {
    InboundReply {
        from: "prospect@acme.com".into(),
        subject: subject.into(),
        body: body.into(),
        headers: vec![],
        lead: None,
        // 2026-03-01T00:00:00Z
        received_at: 1_772_323_200,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn weighted_score_ranks_a_senior_lead_at_a_target_company_above_a_junior_one() {
    let plugin = load(plugin::WEIGHTED_SCORE).await.expect("loads");
    let senior = lead("ceo@acme.de", "Chief Executive Officer");
    let mut junior = lead("intern@tiny.io", "Marketing Intern");
    junior.country = "BR".into();
    junior.employees = Some(3);
    let scores = plugin.score(scope(), &[senior, junior]).await.expect("scores");
    assert!(scores[0].value > scores[1].value + 0.3, "{scores:?}");
    assert!(
        scores[0].reasons.iter().any(|r| r.to_lowercase().contains("title")),
        "{:?}",
        scores[0].reasons
    );
    assert!((0.0..=1.0).contains(&scores[1].value));
}

#[tokio::test(flavor = "multi_thread")]
async fn weighted_score_scores_a_batch_of_a_thousand_leads_one_per_lead_in_order() {
    let plugin = load(plugin::WEIGHTED_SCORE).await.expect("loads");
    let leads: Vec<Lead> = (0..1000)
        .map(|i| {
            lead(
                &format!("p{i}@acme.de"),
                if i % 2 == 0 { "VP Sales" } else { "Assistant" },
            )
        })
        .collect();
    let scores = plugin.score(scope(), &leads).await.expect("scores");
    assert_eq!(scores.len(), 1000);
    assert!(scores[0].value > scores[1].value, "{:?} vs {:?}", scores[0], scores[1]);
    assert_eq!(scores[0].value, scores[998].value);
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_enrich_flags_role_accounts_free_mail_and_disposable_domains() {
    let plugin = load(plugin::BASIC_ENRICH).await.expect("loads");
    let leads = [
        lead("  Info@Acme-Industries.com ", ""),
        lead("jane.doe@gmail.com", ""),
        lead("x@mailinator.com", ""),
        lead("not-an-email", ""),
    ];
    let out = plugin.enrich(scope(), &leads).await.expect("enriches");
    assert_eq!(out.len(), 4);
    let attr = |i: usize, key: &str| {
        out[i]
            .as_ref()
            .ok()
            .and_then(|e| e.attributes.iter().find(|a| a.key == key).map(|a| a.value.clone()))
    };
    let first = out[0].as_ref().expect("valid address");
    assert_eq!(first.email.as_deref(), Some("info@acme-industries.com"));
    assert_eq!(first.domain.as_deref(), Some("acme-industries.com"));
    assert_eq!(attr(0, "role_account").as_deref(), Some("true"));
    assert_eq!(attr(0, "employee_band").as_deref(), Some("51-200"));
    assert_eq!(attr(1, "free_mail").as_deref(), Some("true"));
    assert!(!out[2].as_ref().expect("disposable is a result").deliverable);
    match &out[3] {
        Err(message) => assert!(message.contains("not-an-email"), "{message}"),
        Ok(e) => assert!(!e.deliverable, "an invalid address is undeliverable: {e:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn heuristic_replies_labels_replies_in_four_languages() {
    let plugin = load(plugin::HEURISTIC_REPLIES).await.expect("loads");
    type Expectation = Box<dyn Fn(&ReplyLabel) -> bool>;
    let cases: Vec<(&str, &str, Expectation)> = vec![
        (
            "Re: intro",
            "Sounds interesting, can we set up a call next week?\n\nOn Mon, Bob wrote:\n> buy our stuff",
            Box::new(|l| matches!(l, ReplyLabel::Interested)),
        ),
        (
            "Re: intro",
            "No thanks, we are not interested.",
            Box::new(|l| matches!(l, ReplyLabel::NotInterested)),
        ),
        (
            "Re: intro",
            "Please unsubscribe me from this list.",
            Box::new(|l| matches!(l, ReplyLabel::Unsubscribe)),
        ),
        (
            "Abwesenheitsnotiz",
            "Ich bin bis zum 12.03.2026 nicht im Büro und habe keinen Zugriff auf E-Mails.",
            Box::new(|l| matches!(l, ReplyLabel::OutOfOffice(Some(d)) if (d.year, d.month, d.day) == (2026, 3, 12))),
        ),
        (
            "Absence",
            "Je suis absent du bureau, de retour le 3 mars.",
            Box::new(|l| matches!(l, ReplyLabel::OutOfOffice(Some(d)) if (d.month, d.day) == (3, 3))),
        ),
        (
            "Fuera de la oficina",
            "Estoy fuera de la oficina hasta el 5 de marzo.",
            Box::new(|l| matches!(l, ReplyLabel::OutOfOffice(Some(d)) if (d.month, d.day) == (3, 5))),
        ),
        (
            "Re: intro",
            "I'm not the right person for this, please reach out to Maria Lopez (maria.lopez@acme.com) who runs purchasing.",
            Box::new(|l| matches!(l, ReplyLabel::Referral(r) if r.email == "maria.lopez@acme.com")),
        ),
    ];
    for (subject, body, expected) in cases {
        let label = plugin
            .classify(scope(), &reply(subject, body))
            .await
            .expect("classifies");
        assert!(expected(&label.label), "{body:?} → {label:?}");
        assert!((0.0..=1.0).contains(&label.confidence));
    }
}

fn snapshot(sent: u32, bounced: u32, complaints: u32) -> CampaignSnapshot {
    CampaignSnapshot {
        campaign: "q1-outbound".into(),
        status: CampaignStatus::Running,
        goal: 10,
        daily_cap: 100,
        started_at: 1_772_323_200,
        now: 1_772_323_200 + 5 * 86_400,
        metrics: CampaignMetrics {
            sent,
            replied: 4,
            positive: 2,
            negative: 1,
            bounced,
            unsubscribed: 0,
            complaints,
            qualified: 0,
        },
        leads_by_state: vec![],
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn guardrails_pause_on_a_high_bounce_rate_with_the_numbers_in_the_reason() {
    let plugin = load(plugin::GUARDRAILS).await.expect("loads");
    let decisions = plugin.decide(scope(), &snapshot(200, 7, 0)).await.expect("decides");
    let pause = decisions
        .iter()
        .find(|d| matches!(d.action, Action::PauseCampaign))
        .expect("pauses");
    assert!(
        pause.reason.contains("3.5%") && pause.reason.contains("2%"),
        "{}",
        pause.reason
    );
    let calm = plugin.decide(scope(), &snapshot(200, 1, 0)).await.expect("decides");
    assert!(
        !calm.iter().any(|d| matches!(d.action, Action::PauseCampaign)),
        "{calm:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn guardrails_pause_and_alert_on_any_spam_complaint() {
    let plugin = load(plugin::GUARDRAILS).await.expect("loads");
    let decisions = plugin.decide(scope(), &snapshot(100, 0, 1)).await.expect("decides");
    assert!(
        decisions.iter().any(|d| matches!(d.action, Action::PauseCampaign)),
        "{decisions:?}"
    );
    assert!(
        decisions.iter().any(|d| matches!(d.action, Action::RaiseAlert(_))),
        "{decisions:?}"
    );
}

/// A paged JSON API on loopback: 5 people, `?page=N&limit=M`, bearer auth.
async fn people_api() -> (String, Arc<AtomicUsize>) {
    #[derive(serde::Deserialize)]
    struct Page {
        page: usize,
        limit: usize,
    }
    let hits = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .route(
            "/v1/people",
            get(
                |State(hits): State<Arc<AtomicUsize>>, headers: HeaderMap, Query(q): Query<Page>| async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer s3cret") {
                        return (StatusCode::UNAUTHORIZED, "{}".to_string());
                    }
                    let people: Vec<serde_json::Value> = (0..5)
                        .skip((q.page - 1) * q.limit)
                        .take(q.limit)
                        .map(|i| {
                            serde_json::json!({
                                "email": format!("person{i}@example.com"),
                                "name": {"first": format!("P{i}"), "last": "Example"},
                                "title": "CTO",
                                "company": {"name": "Example Inc", "employees": 42},
                            })
                        })
                        .collect();
                    (
                        StatusCode::OK,
                        serde_json::json!({"data": {"items": people}}).to_string(),
                    )
                },
            ),
        )
        .route(
            "/v1/broken",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "oops") }),
        )
        .route(
            "/v1/redirect",
            get(|State(hits): State<Arc<AtomicUsize>>, headers: HeaderMap| async move {
                hits.fetch_add(1, Ordering::SeqCst);
                // Same server, but named `localhost`: a host the allow-list does not name.
                let host = headers
                    .get("host")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default()
                    .replace("127.0.0.1", "localhost");
                (
                    StatusCode::FOUND,
                    [("location", format!("http://{host}/v1/people?page=1&limit=2"))],
                    String::new(),
                )
            }),
        )
        .route("/v1/huge", get(|| async { "x".repeat(9 << 20) }))
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), hits)
}

fn http_json_manifest(base_url: &str, token: &str) -> String {
    let source = std::fs::read_to_string(crate::support::manifest_source(plugin::HTTP_JSON)).expect("manifest");
    source
        .replace("https://api.example.com/v1/people", base_url)
        .replace("Bearer change-me", &format!("Bearer {token}"))
        .replace("max_page_size = 100", "max_page_size = 2")
}

#[tokio::test(flavor = "multi_thread")]
async fn http_json_pages_through_a_local_api_until_it_is_exhausted() {
    let (base, hits) = people_api().await;
    let plugin = load_with_manifest(
        plugin::HTTP_JSON,
        &http_json_manifest(&format!("{base}/v1/people"), "s3cret"),
    )
    .await
    .expect("loads");
    let mut cursor: Option<String> = None;
    let mut emails = Vec::new();
    for _ in 0..10 {
        let page = plugin.next_page(scope(), cursor.as_deref(), 50).await.expect("page");
        emails.extend(page.leads.iter().map(|l| l.email.clone()));
        if let Some(first) = page.leads.first() {
            assert_eq!(first.title, "CTO");
            assert_eq!(first.employees, Some(42));
        }
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(
        emails,
        (0..5).map(|i| format!("person{i}@example.com")).collect::<Vec<_>>()
    );
    assert!(hits.load(Ordering::SeqCst) >= 3, "paged with max_page_size = 2");
}

#[tokio::test(flavor = "multi_thread")]
async fn http_json_reports_an_api_error_naming_the_url_without_leaking_the_token() {
    let (base, _) = people_api().await;
    let plugin = load_with_manifest(
        plugin::HTTP_JSON,
        &http_json_manifest(&format!("{base}/v1/people"), "wrong-token"),
    )
    .await
    .expect("loads");
    let err = plugin.next_page(scope(), None, 10).await.expect_err("401");
    assert_eq!(err.kind, FailureKind::PluginError, "{err}");
    assert!(
        err.message.contains("401") && err.message.contains("/v1/people"),
        "{err}"
    );
    assert!(!err.message.contains("wrong-token"), "the token must not leak: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn http_json_cannot_reach_a_host_outside_its_allow_list() {
    let (base, hits) = people_api().await;
    let manifest = http_json_manifest(&format!("{base}/v1/people"), "s3cret")
        .replace("\"api.example.com\", \"127.0.0.1:*\"", "\"api.example.com\"");
    let plugin = load_with_manifest(plugin::HTTP_JSON, &manifest).await.expect("loads");
    let err = plugin.next_page(scope(), None, 10).await.expect_err("denied");
    assert!(err.message.contains("allow-list"), "{err}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no request left the host");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_javascript_reply_classifier_runs_through_the_host() {
    let wasm = std::path::Path::new(env!("CAM_BUILT_PLUGINS_DIR")).join("../../js/reply_keywords.wasm");
    assert!(
        wasm.exists(),
        "{} is missing: scripts/test.sh builds it with plugins/js/build.sh",
        wasm.display()
    );
    let plugin = LoadedPlugin::load_file(runtime(), &wasm, scope())
        .await
        .expect("the JS component loads");
    assert_eq!(plugin.kind(), cam::plugins::PluginKind::ReplyClassifier);
    let label = plugin
        .classify(
            scope(),
            &reply("Re: hello", "Yes, I'm interested. Let's set up a call."),
        )
        .await
        .expect("classifies");
    assert!(matches!(label.label, ReplyLabel::Interested), "{label:?}");
    let label = plugin
        .classify(scope(), &reply("Re: hello", "Please unsubscribe me."))
        .await
        .expect("classifies");
    assert!(matches!(label.label, ReplyLabel::Unsubscribe), "{label:?}");
}

/// `plugin`'s compiled component loaded again with `manifest` (text) instead
/// of its own: compiling CPython takes wasmtime 15-20 s, so it is reused.
async fn with_manifest(
    plugin: &LoadedPlugin,
    wasm: &std::path::Path,
    manifest: &str,
) -> Result<LoadedPlugin, cam::runtime::PluginError> {
    let manifest = Manifest::parse(manifest, &wasm.with_extension("toml")).expect("manifest parses");
    LoadedPlugin::load_compiled(
        runtime(),
        plugin.component().clone(),
        plugin.sha256().to_string(),
        manifest,
        plugin.name(),
        "the same component with another manifest",
        scope(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_title_enricher_runs_through_the_host() {
    let wasm = std::path::Path::new(env!("CAM_BUILT_PLUGINS_DIR")).join("../../python/title_enrich.wasm");
    assert!(
        wasm.exists(),
        "{} is missing: scripts/test.sh builds it with plugins/python/build.sh",
        wasm.display()
    );
    let plugin = LoadedPlugin::load_file(runtime(), &wasm, scope())
        .await
        .expect("the Python component loads");
    assert_eq!(plugin.kind(), cam::plugins::PluginKind::Enricher);
    assert_eq!(plugin.info().name, "title-enrich");
    // `lead` fills the domain from the address: clear it where the plugin
    // should find it.
    let mut no_domain = lead("Ada@Acme-Industries.com", "Sr. Vice President, Sales");
    no_domain.domain = String::new();
    let mut known_domain = lead("grace@gmail.com", "Assistant to the CEO");
    known_domain.domain = "hopper.dev".into();
    let leads = [
        no_domain,
        known_domain,
        lead("linus@tiny.io", "Marketing Intern"),
        lead("not-an-email", "CEO"),
    ];
    let out = plugin.enrich(scope(), &leads).await.expect("enriches");
    assert_eq!(out.len(), 4, "one result per lead: {out:?}");
    let attr = |i: usize, key: &str| {
        out[i]
            .as_ref()
            .ok()
            .and_then(|e| e.attributes.iter().find(|a| a.key == key).map(|a| a.value.as_str()))
    };
    let vp = out[0].as_ref().expect("a VP is enriched");
    assert_eq!(vp.domain.as_deref(), Some("acme-industries.com"), "{vp:?}");
    assert_eq!(
        (attr(0, "seniority"), attr(0, "department"), attr(0, "decision_maker")),
        (Some("vp"), Some("sales"), Some("true"))
    );
    assert!(vp.notes.iter().any(|n| n.contains("seniority vp")), "{:?}", vp.notes);
    // The assistant is not a CEO, and a lead's own domain is left alone.
    assert_eq!(attr(1, "seniority"), Some("entry"));
    assert_eq!(attr(1, "decision_maker"), Some("false"));
    assert_eq!(out[1].as_ref().expect("enriched").domain, None);
    assert_eq!(
        (attr(2, "seniority"), attr(2, "department")),
        (Some("intern"), Some("marketing"))
    );
    // A bad lead is that lead's error, naming it; the batch goes on.
    let err = out[3].as_ref().expect_err("not an address");
    assert!(err.contains("not-an-email"), "{err}");

    // The manifest's [config] reaches the plugin: with managers counted as
    // decision makers, a sales manager is one. (The compiled component is
    // reused: compiling CPython takes wasmtime 15-20 s.)
    let source = std::fs::read_to_string(wasm.with_extension("toml")).expect("manifest beside the wasm");
    let edited = source.replace(
        "decision_makers = [\"c-level\", \"vp\", \"director\"]",
        "decision_makers = [\"manager\"]",
    );
    assert_ne!(edited, source, "the manifest lists decision_makers");
    let plugin = with_manifest(&plugin, &wasm, &edited)
        .await
        .expect("loads with edited config");
    let out = plugin
        .enrich(scope(), &[lead("bo@acme.com", "Sales Manager")])
        .await
        .expect("enriches");
    let manager = out[0].as_ref().expect("enriched");
    assert!(
        manager
            .attributes
            .iter()
            .any(|a| a.key == "decision_maker" && a.value == "true"),
        "{manager:?}"
    );

    // A config value the plugin rejects raises a ValueError out of `enrich`:
    // the failure names the export, the exception and the line, not a
    // 30-line traceback.
    let broken = source.replace(
        "decision_makers = [\"c-level\", \"vp\", \"director\"]",
        "decision_makers = 3",
    );
    let plugin = with_manifest(&plugin, &wasm, &broken)
        .await
        .expect("describe does not read the config");
    let err = plugin
        .enrich(scope(), &[lead("bo@acme.com", "CTO")])
        .await
        .expect_err("the plugin raises");
    assert_eq!(err.kind, FailureKind::Trap, "{err}");
    assert!(err.message.starts_with("trap in `enrich`: "), "{err}");
    assert!(
        err.plugin_stderr.as_deref().is_some_and(|stderr| stderr.starts_with(
            "Python raised ValueError: config decision_makers must be a list of levels, got 3 (at app.py:"
        )),
        "the plugin's account, labelled: {err}"
    );
    assert!(!err.message.contains('\n'), "one line: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_plugin_returning_a_wrong_type_fails_naming_the_export_the_exception_and_the_wit_type() {
    let wasm = std::path::Path::new(env!("CAM_BUILT_PLUGINS_DIR")).join("../../python/hostile_wrong_type.wasm");
    assert!(
        wasm.exists(),
        "{} is missing: scripts/test.sh builds it with plugins/python/build.sh",
        wasm.display()
    );
    let plugin = LoadedPlugin::load_file(runtime(), &wasm, scope())
        .await
        .expect("the Python component loads");
    let cases = [
        (
            "str-for-f32",
            "Python raised TypeError converting a value to WIT f32: must be real number, not str",
        ),
        (
            "dict-for-record",
            "Python raised AttributeError converting a value to WIT record: 'dict' object has no attribute 'reason'",
        ),
        (
            "missing-field",
            "Python raised TypeError: Classification.__init__() missing 1 required positional argument: 'reason' (at app.py:",
        ),
    ];
    for (subject, expected) in cases {
        let err = plugin
            .classify(scope(), &reply(subject, "hello"))
            .await
            .expect_err("a wrong type traps");
        assert_eq!(err.kind, FailureKind::Trap, "{err}");
        assert!(err.message.starts_with("trap in `classify`: "), "{subject}: {err}");
        assert!(
            err.plugin_stderr
                .as_deref()
                .is_some_and(|stderr| stderr.starts_with(expected)),
            "{subject}: {err}"
        );
    }
    // The instance after a trap is a fresh one: a well-formed call still works.
    let label = plugin
        .classify(scope(), &reply("fine", "hello"))
        .await
        .expect("classifies");
    assert!(matches!(label.label, ReplyLabel::Unknown), "{label:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_javascript_exception_fails_the_call_naming_the_export_and_what_the_engine_said() {
    let wasm = std::path::Path::new(env!("CAM_BUILT_PLUGINS_DIR")).join("../../js/hostile_throw.wasm");
    assert!(
        wasm.exists(),
        "{} is missing: scripts/test.sh builds it with plugins/js/build.sh",
        wasm.display()
    );
    let plugin = LoadedPlugin::load_file(runtime(), &wasm, scope())
        .await
        .expect("the JS component loads");
    let err = plugin
        .classify(scope(), &reply("Re: hello", "Sounds good"))
        .await
        .expect_err("it throws");
    assert_eq!(err.kind, FailureKind::Trap, "{err}");
    assert!(err.message.starts_with("trap in `classify`: "), "{err}");
    assert!(
        err.plugin_stderr
            .as_deref()
            .is_some_and(|s| s.starts_with("JavaScript threw")),
        "{err}"
    );
    assert!(
        err.message.contains("score"),
        "the engine's words name the field: {err}"
    );
    // Only that call failed.
    assert!(plugin.describe(scope()).await.is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_to_a_host_outside_the_allow_list_is_refused() {
    let (base, hits) = people_api().await;
    let plugin = load_with_manifest(
        plugin::HTTP_JSON,
        &http_json_manifest(&format!("{base}/v1/redirect"), "s3cret"),
    )
    .await
    .expect("loads");
    let err = plugin.next_page(scope(), None, 10).await.expect_err("redirect denied");
    assert!(
        err.message.contains("localhost") && err.message.contains("allow-list"),
        "{err}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1, "only the redirecting request was made");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http_response_larger_than_the_cap_is_refused() {
    let (base, _) = people_api().await;
    let plugin = load_with_manifest(
        plugin::HTTP_JSON,
        &http_json_manifest(&format!("{base}/v1/huge"), "s3cret"),
    )
    .await
    .expect("loads");
    let err = plugin.next_page(scope(), None, 10).await.expect_err("too large");
    assert!(
        err.message.to_lowercase().contains("too large") || err.message.contains("TooLarge"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn http_json_cannot_reach_a_loopback_address_through_an_allowed_name() {
    let (base, hits) = people_api().await;
    // `localhost` is allowed by name, but it resolves to 127.0.0.1, which
    // the allow-list does not name: refused after resolution.
    let by_name = base.replace("127.0.0.1", "localhost");
    let manifest = http_json_manifest(&format!("{by_name}/v1/people"), "s3cret")
        .replace("\"api.example.com\", \"127.0.0.1:*\"", "\"localhost:*\"");
    let plugin = load_with_manifest(plugin::HTTP_JSON, &manifest).await.expect("loads");
    let err = plugin.next_page(scope(), None, 10).await.expect_err("refused");
    assert!(
        err.message.contains("localhost resolves to") && err.message.contains("not a public address"),
        "{err}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no request reached the server");
    // Naming the address itself allows it (as test manifests do).
    let manifest = http_json_manifest(&format!("{by_name}/v1/people"), "s3cret").replace(
        "\"api.example.com\", \"127.0.0.1:*\"",
        "\"localhost:*\", \"127.0.0.1:*\"",
    );
    let plugin = load_with_manifest(plugin::HTTP_JSON, &manifest).await.expect("loads");
    let page = plugin.next_page(scope(), None, 10).await.expect("served");
    assert!(!page.leads.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn http_json_cannot_set_the_host_header_or_send_huge_headers() {
    let (base, hits) = people_api().await;
    let cases = [
        (
            "headers = { Host = \"metadata.internal\" }".to_string(),
            "`Host` is set by the host",
        ),
        (
            "headers = { Proxy-Authorization = \"x\" }".to_string(),
            "`Proxy-Authorization` is set by the host",
        ),
        (
            format!("headers = {{ X-Big = \"{}\" }}", "x".repeat(20_000)),
            "bytes of headers",
        ),
    ];
    for (headers, says) in cases {
        let manifest = http_json_manifest(&format!("{base}/v1/people"), "s3cret").replace("headers = {}", &headers);
        let plugin = load_with_manifest(plugin::HTTP_JSON, &manifest).await.expect("loads");
        let err = plugin.next_page(scope(), None, 10).await.expect_err("refused");
        assert!(err.message.contains(says), "{says}: {err}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no request left the host");
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_are_not_sent_on_to_another_host_after_a_redirect() {
    let (base, hits) = people_api().await;
    // Both names allowed: the redirect from 127.0.0.1 to localhost is
    // followed (a new origin, though the same server), without the bearer
    // token, so the API answers 401.
    let manifest = http_json_manifest(&format!("{base}/v1/redirect"), "s3cret").replace(
        "\"api.example.com\", \"127.0.0.1:*\"",
        "\"127.0.0.1:*\", \"localhost:*\"",
    );
    let plugin = load_with_manifest(plugin::HTTP_JSON, &manifest).await.expect("loads");
    let err = plugin.next_page(scope(), None, 10).await.expect_err("unauthorized");
    assert!(err.message.contains("401"), "{err}");
    assert_eq!(hits.load(Ordering::SeqCst), 2, "the redirect was followed");
}
