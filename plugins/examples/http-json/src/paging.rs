//! Page URLs and next cursors.
//!
//! The cursor the host stores is `page:N` (page style) or `next:TOKEN`
//! (next style; TOKEN may be a full URL), so a cursor from one style is not
//! misread after the config changes to the other.

use crate::mapping::{lookup, text};
use crate::settings::{CursorStyle, Settings};
use serde_json::Value;

/// A request to make: the URL and the page number it asks for (page style).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// The full URL.
    pub url: String,
    /// The page number asked for (page style only).
    pub page: Option<u64>,
}

/// The URL for the page after `cursor`.
pub fn request(settings: &Settings, cursor: Option<&str>, limit: u32) -> Result<PageRequest, String> {
    let size = settings.page_size(limit).to_string();
    match settings.cursor_style {
        CursorStyle::Page => {
            let page = match cursor {
                None => settings.first_page,
                Some(c) => c.strip_prefix("page:").and_then(|n| n.parse().ok()).ok_or_else(|| {
                    format!("cursor {c:?} is not a page cursor (`page:N`); reset the source's cursor")
                })?,
            };
            let url = with_query(
                &settings.base_url,
                &[
                    (&settings.page_param, &page.to_string()),
                    (&settings.page_size_param, &size),
                ],
            );
            Ok(PageRequest { url, page: Some(page) })
        }
        CursorStyle::Next => {
            let url = match cursor {
                None => with_query(&settings.base_url, &[(&settings.page_size_param, &size)]),
                Some(c) => {
                    let token = c.strip_prefix("next:").ok_or_else(|| {
                        format!("cursor {c:?} is not a next cursor (`next:...`); reset the source's cursor")
                    })?;
                    if token.starts_with("http://") || token.starts_with("https://") {
                        token.to_owned()
                    } else {
                        with_query(
                            &settings.base_url,
                            &[(&settings.cursor_param, token), (&settings.page_size_param, &size)],
                        )
                    }
                }
            };
            Ok(PageRequest { url, page: None })
        }
    }
}

/// The cursor after a page that held `items` items, `None` when the API has
/// no more.
pub fn next_cursor(
    settings: &Settings,
    request: &PageRequest,
    body: &Value,
    items: usize,
    limit: u32,
) -> Option<String> {
    match settings.cursor_style {
        CursorStyle::Page => {
            let page = request.page?;
            // A short page is the last one.
            let full = u32::try_from(items).is_ok_and(|n| n >= settings.page_size(limit));
            full.then(|| format!("page:{}", page + 1))
        }
        CursorStyle::Next => {
            let token = lookup(body, &settings.next_path).map(text)?;
            let token = token.trim();
            (!token.is_empty() && items > 0).then(|| format!("next:{token}"))
        }
    }
}

/// `url` with `params` appended to its query string, percent-encoded.
pub fn with_query(url: &str, params: &[(&str, &str)]) -> String {
    let mut out = url.to_owned();
    for (key, value) in params {
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(&encode(key));
        out.push('=');
        out.push_str(&encode(value));
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(extra: Value) -> Settings {
        let mut config =
            json!({"base_url": "http://127.0.0.1:9/leads", "fields": {"email": "email"}, "max_page_size": 50});
        if let (Value::Object(base), Value::Object(extra)) = (&mut config, extra) {
            base.extend(extra);
        }
        serde_json::from_value(config).unwrap()
    }

    #[test]
    fn page_style_starts_at_the_first_page_and_caps_the_size() {
        let s = settings(json!({}));
        let r = request(&s, None, 500).unwrap();
        assert_eq!(r.url, "http://127.0.0.1:9/leads?page=1&limit=50");
        let r = request(&s, Some("page:3"), 10).unwrap();
        assert_eq!(r.url, "http://127.0.0.1:9/leads?page=3&limit=10");
    }

    #[test]
    fn a_full_page_continues_and_a_short_page_ends() {
        let s = settings(json!({}));
        let r = request(&s, None, 10).unwrap();
        assert_eq!(next_cursor(&s, &r, &json!({}), 10, 10).as_deref(), Some("page:2"));
        assert_eq!(next_cursor(&s, &r, &json!({}), 9, 10), None);
        assert_eq!(next_cursor(&s, &r, &json!({}), 0, 10), None);
    }

    #[test]
    fn next_style_sends_the_token_back_or_follows_a_url() {
        let s = settings(json!({"cursor_style": "next", "next_path": "meta.next", "base_url": "http://h/x?type=lead"}));
        assert_eq!(request(&s, None, 5).unwrap().url, "http://h/x?type=lead&limit=5");
        let r = request(&s, Some("next:a b/c"), 5).unwrap();
        assert_eq!(r.url, "http://h/x?type=lead&cursor=a%20b%2Fc&limit=5");
        let r = request(&s, Some("next:http://h/x?after=9"), 5).unwrap();
        assert_eq!(r.url, "http://h/x?after=9");
        let body = json!({"meta": {"next": "tok2"}});
        assert_eq!(next_cursor(&s, &r, &body, 5, 5).as_deref(), Some("next:tok2"));
        assert_eq!(next_cursor(&s, &r, &json!({"meta": {"next": null}}), 5, 5), None);
        assert_eq!(next_cursor(&s, &r, &json!({}), 5, 5), None);
    }

    #[test]
    fn a_cursor_of_the_other_style_is_an_error() {
        let s = settings(json!({}));
        assert!(
            request(&s, Some("next:abc"), 5)
                .unwrap_err()
                .contains("not a page cursor")
        );
    }
}
