//! `http-json`: a lead source that pages through a JSON HTTP API through the
//! host's `http` import. Base URL, auth header, paging style, where the items
//! are and how item fields map to lead fields all come from the manifest's
//! `[config]` (see [`settings::Settings`]).
//!
//! Failures (a denied or failed request, HTTP status >= 400, a body that is
//! not JSON, a missing mapped field) come back as `Err` naming the URL and,
//! for fields, the item and field; the auth header's value never appears.

mod mapping;
mod paging;
mod settings;

use cam_plugin_sdk::{Capability, LeadPage, LeadSource, PluginInfo, config, http};
use serde_json::Value;
use settings::Settings;

/// The lead source.
pub struct HttpJson;

/// Reads and checks the settings.
fn load_settings() -> Result<Settings, String> {
    let settings: Settings = config::load().map_err(|e| format!("http-json: {e}"))?;
    settings.validate().map_err(|e| format!("http-json: config: {e}"))?;
    Ok(settings)
}

/// Fetches and maps one page.
fn fetch(settings: &Settings, cursor: Option<&str>, limit: u32) -> Result<LeadPage, String> {
    let page = paging::request(settings, cursor, limit)?;
    let url = &page.url;
    let mut request = http::Request::new(http::Method::Get, url.clone()).header("accept", "application/json");
    for (name, value) in &settings.headers {
        request = request.header(name.clone(), value.clone());
    }
    if let Some(auth) = &settings.auth_header {
        request = request.header(auth.name.clone(), auth.value.clone());
    }
    let response = http::send(&request).map_err(|e| format!("GET {url}: {}", http::error_message(&e)))?;
    if response.status >= 400 {
        let snippet: String = String::from_utf8_lossy(&response.body).chars().take(200).collect();
        return Err(format!("GET {url}: HTTP {}: {snippet}", response.status));
    }
    let body: Value = response
        .json()
        .map_err(|e| format!("GET {url}: the body is not JSON: {e}"))?;
    let items = mapping::lookup(&body, &settings.items_path)
        .ok_or_else(|| format!("GET {url}: items_path `{}` is not in the response", settings.items_path))?;
    let items = items
        .as_array()
        .ok_or_else(|| format!("GET {url}: items_path `{}` is not a list", settings.items_path))?;
    let leads = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            mapping::to_lead(item, &settings.fields, &settings.optional)
                .map_err(|e| format!("GET {url}: item {i}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = paging::next_cursor(settings, &page, &body, items.len(), limit);
    Ok(LeadPage { leads, next_cursor })
}

impl LeadSource for HttpJson {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            "Pages through a JSON HTTP API; URL, auth header, paging and field mapping from config.",
            &[Capability::Config, Capability::Http, Capability::Log],
        )
    }

    fn next_page(cursor: Option<String>, limit: u32) -> Result<LeadPage, String> {
        let settings = load_settings()?;
        let page = fetch(&settings, cursor.as_deref(), limit)?;
        cam_plugin_sdk::debug!(
            "http-json: {} leads, next cursor {:?}",
            page.leads.len(),
            page.next_cursor
        );
        Ok(page)
    }
}

cam_plugin_sdk::export_lead_source!(HttpJson);

#[cfg(test)]
mod tests;
