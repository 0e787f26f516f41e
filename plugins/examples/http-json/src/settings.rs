//! The lead source's settings, read from the manifest's `[config]`.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Largest page asked for, whatever the host's `limit`: a sane default that
/// keeps one response well under the host's body limit.
const DEFAULT_MAX_PAGE_SIZE: u32 = 100;

/// An HTTP header; its value is a secret and never logged or put in errors.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthHeader {
    /// Header name, e.g. `Authorization`.
    pub name: String,
    /// Header value, e.g. `Bearer ...`.
    pub value: String,
}

impl std::fmt::Debug for AuthHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthHeader")
            .field("name", &self.name)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// How the API pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CursorStyle {
    /// `?page=N`: the cursor is the next page number.
    Page,
    /// The response names the next page (`next_path`): an opaque token sent
    /// back as `cursor_param`, or a full URL that is fetched as is.
    Next,
}

/// Where each lead field comes from in an item: a dotted path (`name.first`,
/// `emails.0`) or a JSON pointer (`/name/first`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fields {
    /// The email address (required).
    pub email: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Company name.
    pub company: Option<String>,
    /// Company domain.
    pub domain: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// Country code.
    pub country: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// Employee count (a number or a numeric string).
    pub employees: Option<String>,
    /// Attribute name → path.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// Everything the source needs to know.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The collection URL (may already have a query string).
    pub base_url: String,
    /// Sent with every request.
    #[serde(default)]
    pub auth_header: Option<AuthHeader>,
    /// More headers sent with every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Query parameter carrying the page size.
    #[serde(default = "default_page_size_param")]
    pub page_size_param: String,
    /// Upper bound on the page size asked for.
    #[serde(default = "default_max_page_size")]
    pub max_page_size: u32,
    /// `page` or `next`.
    #[serde(default = "default_cursor_style")]
    pub cursor_style: CursorStyle,
    /// Query parameter carrying the page number (`page` style).
    #[serde(default = "default_page_param")]
    pub page_param: String,
    /// The first page's number (`page` style).
    #[serde(default = "default_first_page")]
    pub first_page: u64,
    /// Path to the next-page token or URL in the response (`next` style).
    #[serde(default = "default_next_path")]
    pub next_path: String,
    /// Query parameter carrying the token (`next` style).
    #[serde(default = "default_cursor_param")]
    pub cursor_param: String,
    /// Path to the list of items in the response (`""`: the response is the list).
    #[serde(default)]
    pub items_path: String,
    /// Field mapping.
    pub fields: Fields,
    /// Lead fields (`title`, `attributes.x`) that may be absent from an item;
    /// any other mapped field missing is an error.
    #[serde(default)]
    pub optional: Vec<String>,
}

fn default_page_size_param() -> String {
    "limit".to_owned()
}
fn default_max_page_size() -> u32 {
    DEFAULT_MAX_PAGE_SIZE
}
fn default_cursor_style() -> CursorStyle {
    CursorStyle::Page
}
fn default_page_param() -> String {
    "page".to_owned()
}
fn default_first_page() -> u64 {
    1
}
fn default_next_path() -> String {
    "next".to_owned()
}
fn default_cursor_param() -> String {
    "cursor".to_owned()
}

impl Settings {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        let url = self.base_url.to_ascii_lowercase();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "base_url {:?} must start with http:// or https://",
                self.base_url
            ));
        }
        if self.max_page_size == 0 {
            return Err("max_page_size must be at least 1".to_owned());
        }
        Ok(())
    }

    /// The page size to ask for when the host wants `limit` leads.
    pub fn page_size(&self, limit: u32) -> u32 {
        limit.clamp(1, self.max_page_size)
    }
}
