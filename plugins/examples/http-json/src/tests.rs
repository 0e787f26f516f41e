//! `next_page` end to end against the SDK's fake host.

use crate::HttpJson;
use cam_plugin_sdk::http::{Error, Response};
use cam_plugin_sdk::{LeadSource, testing};
use serde_json::json;

fn configure() {
    testing::reset();
    testing::set_config("base_url", "http://127.0.0.1:8080/v1/people");
    testing::set_config("auth_header", r#"{"name": "Authorization", "value": "Bearer s3cret"}"#);
    testing::set_config("items_path", "data.items");
    testing::set_config(
        "fields",
        r#"{"email": "email", "title": "role", "company": "org.name"}"#,
    );
    testing::set_config("optional", r#"["company"]"#);
}

fn respond(status: u16, body: serde_json::Value) {
    let body = serde_json::to_vec(&body).unwrap();
    testing::on_http(move |_| {
        Ok(Response {
            status,
            headers: Vec::new(),
            body: body.clone(),
        })
    });
}

#[test]
fn a_full_page_maps_leads_and_points_to_the_next_page() {
    configure();
    respond(
        200,
        json!({"data": {"items": [
            {"email": "Ada@Acme.com", "role": "CTO", "org": {"name": "Acme"}},
            {"email": "bob@beta.io", "role": "VP Sales"}
        ]}}),
    );
    let page = HttpJson::next_page(None, 2).unwrap();
    assert_eq!(page.leads.len(), 2);
    assert_eq!(page.leads[0].email, "ada@acme.com");
    assert_eq!(page.leads[0].company, "Acme");
    assert_eq!(page.leads[1].company, "");
    assert_eq!(page.next_cursor.as_deref(), Some("page:2"));
    let sent = testing::requests();
    assert_eq!(sent[0].url, "http://127.0.0.1:8080/v1/people?page=1&limit=2");
    assert!(
        sent[0]
            .headers
            .iter()
            .any(|h| h.key == "Authorization" && h.value == "Bearer s3cret")
    );
}

#[test]
fn the_last_page_ends_the_cursor() {
    configure();
    respond(200, json!({"data": {"items": [{"email": "a@b.co", "role": "x"}]}}));
    let page = HttpJson::next_page(Some("page:7".into()), 10).unwrap();
    assert_eq!(page.next_cursor, None);
    assert!(testing::requests()[0].url.contains("page=7"));
}

#[test]
fn http_errors_name_the_url_and_status_but_not_the_secret() {
    configure();
    respond(503, json!({"error": "maintenance"}));
    let error = HttpJson::next_page(None, 10).unwrap_err();
    assert!(
        error.starts_with("GET http://127.0.0.1:8080/v1/people?page=1&limit=10: HTTP 503"),
        "{error}"
    );
    assert!(!error.contains("s3cret"));
}

#[test]
fn a_denied_request_is_an_error_value() {
    configure();
    testing::on_http(|r| Err(Error::Denied(r.url.clone())));
    let error = HttpJson::next_page(None, 10).unwrap_err();
    assert!(error.contains("denied"), "{error}");
}

#[test]
fn a_body_that_is_not_json_is_an_error() {
    configure();
    testing::on_http(|_| {
        Ok(Response {
            status: 200,
            headers: Vec::new(),
            body: b"<html>".to_vec(),
        })
    });
    assert!(HttpJson::next_page(None, 10).unwrap_err().contains("not JSON"));
}

#[test]
fn a_missing_mapped_field_names_the_item_and_field() {
    configure();
    respond(
        200,
        json!({"data": {"items": [{"email": "a@b.co", "role": "x"}, {"email": "c@d.co"}]}}),
    );
    let error = HttpJson::next_page(None, 10).unwrap_err();
    assert!(
        error.ends_with("item 1: field `title` (path `role`) is missing"),
        "{error}"
    );
}

#[test]
fn a_missing_items_path_is_an_error() {
    configure();
    respond(200, json!({"data": {}}));
    assert!(
        HttpJson::next_page(None, 10)
            .unwrap_err()
            .contains("items_path `data.items`")
    );
}

#[test]
fn next_style_follows_the_token() {
    configure();
    testing::set_config("cursor_style", "next");
    testing::set_config("next_path", "data.next");
    respond(
        200,
        json!({"data": {"items": [{"email": "a@b.co", "role": "x"}], "next": "abc"}}),
    );
    let page = HttpJson::next_page(None, 10).unwrap();
    assert_eq!(page.next_cursor.as_deref(), Some("next:abc"));
    respond(
        200,
        json!({"data": {"items": [{"email": "c@d.co", "role": "y"}], "next": null}}),
    );
    let page = HttpJson::next_page(page.next_cursor, 10).unwrap();
    assert_eq!(page.next_cursor, None);
    assert_eq!(
        testing::requests()[1].url,
        "http://127.0.0.1:8080/v1/people?cursor=abc&limit=10"
    );
}

#[test]
fn the_shipped_manifest_config_is_accepted() {
    testing::reset();
    testing::use_manifest_config(include_str!("../http_json.toml")).unwrap();
    respond(
        200,
        json!({"data": {"items": [
            {"email": "ada@acme.com", "name": {"first": "Ada", "last": "L"}, "title": "CTO", "company": {"name": "Acme", "employees": 120}, "links": {"linkedin": "in/ada"}},
            {"email": "bob@beta.io", "name": {"first": "Bob", "last": "B"}, "title": "VP"}
        ]}}),
    );
    let page = HttpJson::next_page(None, 2).unwrap();
    assert_eq!(page.leads[0].employees, Some(120));
    assert_eq!(page.leads[0].attribute("linkedin"), Some("in/ada"));
    assert_eq!(page.next_cursor.as_deref(), Some("page:2"));
    assert_eq!(
        testing::requests()[0].url,
        "https://api.example.com/v1/people?page=1&limit=2"
    );
}

#[test]
fn a_config_without_base_url_is_an_error_naming_it() {
    testing::reset();
    testing::set_config("fields", r#"{"email": "email"}"#);
    let error = HttpJson::next_page(None, 10).unwrap_err();
    assert!(error.contains("base_url"), "{error}");
}
