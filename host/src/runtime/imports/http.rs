//! `http`: outbound requests made by the host with reqwest, only to hosts the
//! manifest allows. A denied host — including one reached by a redirect — is
//! an error value, never a trap. Redirects are followed here, hop by hop, so
//! each target is checked against the allow-list, and each hop's resolved
//! addresses by the plugin's client (`net_policy`). Headers that steer the
//! connection (`Host`, `Connection`, `Transfer-Encoding`, proxy headers) are
//! refused, headers are capped in number and size, and credentials are not
//! sent on to another host after a redirect.

use futures::StreamExt;

use crate::runtime::bindings::http::{self, Error, Method, Request, Response};
use crate::runtime::bindings::types::{Attribute, Capability};
use crate::runtime::host_pattern::is_allowed;
use crate::runtime::net_policy;
use crate::runtime::state::PluginState;

/// Redirect hops followed per request.
const MAX_REDIRECTS: usize = 5;
/// Request body cap: plugins query APIs, they do not upload files.
const MAX_REQUEST_BODY_BYTES: usize = 1 << 20;
/// Headers per request: an API call sends a handful.
const MAX_HEADERS: usize = 64;
/// Bytes of all header names and values of a request together: room for a
/// long bearer token and a few more, far below a server's own limit.
const MAX_HEADER_BYTES: usize = 16 << 10;
/// Headers a plugin may not set: they choose where and how the request is
/// delivered (hop-by-hop and proxy headers, the target host), which is the
/// host's to decide. Compared in lower case; `proxy-*` is refused too.
const REFUSED_HEADERS: &[&str] = &[
    "host",
    "connection",
    "transfer-encoding",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "content-length",
];
/// Headers that carry credentials: not sent on when a redirect leads to
/// another host.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "cookie"];

impl http::Host for PluginState {
    async fn send(&mut self, request: Request) -> wasmtime::Result<Result<Response, Error>> {
        let result = self.send_checked(request).await;
        if let Err(Error::Denied(reason)) = &result {
            self.counters.http_denied += 1;
            tracing::warn!(
                plugin = %self.identity.name,
                version = %self.identity.version,
                tenant = %self.scope.tenant,
                "plugin HTTP request denied: {reason}"
            );
        }
        Ok(result)
    }
}

impl PluginState {
    async fn send_checked(&mut self, request: Request) -> Result<Response, Error> {
        // Denied is an error value, audited or not; the use is recorded.
        self.counters.used.insert(Capability::Http);
        let Some(grant) = self.identity.grants.http.as_ref() else {
            self.counters.denied.insert(Capability::Http);
            if let (Some(audit), Ok(url)) = (&self.scope.audit, url::Url::parse(&request.url)) {
                audit.http_target(host_port(&url), true);
            }
            return Err(Error::Denied("the manifest does not grant `http`".into()));
        };
        let allow = grant.allow.clone();
        let mut url = url::Url::parse(&request.url)
            .map_err(|e| Error::InvalidRequest(format!("bad URL `{}`: {e}", request.url)))?;
        if request.body.as_ref().is_some_and(|b| b.len() > MAX_REQUEST_BODY_BYTES) {
            return Err(Error::InvalidRequest(format!(
                "request body larger than {MAX_REQUEST_BODY_BYTES} bytes"
            )));
        }
        check_headers(&request.headers)?;
        let Some(client) = self.identity.http_client.clone() else {
            return Err(Error::Denied("the plugin has no HTTP client (no `http` grant)".into()));
        };
        let origin = origin_of(&url);
        let mut method = to_reqwest(request.method);
        let mut body = request.body;
        let max_body = self.identity.limits.max_http_response_bytes;
        for _ in 0..=MAX_REDIRECTS {
            if let Some(audit) = &self.scope.audit {
                audit.http_target(host_port(&url), !is_allowed(&allow, &url));
            }
            if !is_allowed(&allow, &url) {
                return Err(Error::Denied(format!(
                    "{} is not in the manifest's http allow-list",
                    host_port(&url)
                )));
            }
            let remaining = self.deadline.saturating_duration_since(tokio::time::Instant::now());
            if remaining.is_zero() {
                return Err(Error::Timeout);
            }
            self.counters.http_requests += 1;
            let mut builder = client.request(method.clone(), url.clone()).timeout(remaining);
            let same_origin = origin_of(&url) == origin;
            for Attribute { key, value } in &request.headers {
                if !same_origin && CREDENTIAL_HEADERS.contains(&key.to_ascii_lowercase().as_str()) {
                    continue;
                }
                builder = builder.header(key.as_str(), value.as_str());
            }
            if let Some(bytes) = &body {
                builder = builder.body(bytes.clone());
            }
            let response = builder.send().await.map_err(|e| {
                if let Some(refused) = net_policy::non_public_address(&e) {
                    Error::Denied(refused.to_string())
                } else if e.is_timeout() {
                    Error::Timeout
                } else {
                    Error::Transport(error_chain(&e))
                }
            })?;
            let location = response.headers().get(reqwest::header::LOCATION);
            if let (true, Some(location)) = (response.status().is_redirection(), location) {
                let location = location
                    .to_str()
                    .map_err(|_| Error::Transport("redirect with a non-ASCII Location".into()))?;
                url = url
                    .join(location)
                    .map_err(|e| Error::Transport(format!("bad redirect Location `{location}`: {e}")))?;
                // 303 (and, by browser custom, 301/302 on POST) turn into GET.
                if response.status() == reqwest::StatusCode::SEE_OTHER || method == reqwest::Method::POST {
                    method = reqwest::Method::GET;
                    body = None;
                }
                continue;
            }
            return read_response(response, max_body).await;
        }
        Err(Error::Transport(format!("more than {MAX_REDIRECTS} redirects")))
    }
}

/// Refuses headers a plugin may not set, and too many or too large ones.
fn check_headers(headers: &[Attribute]) -> Result<(), Error> {
    if headers.len() > MAX_HEADERS {
        return Err(Error::InvalidRequest(format!(
            "{} headers; a request may carry at most {MAX_HEADERS}",
            headers.len()
        )));
    }
    let bytes: usize = headers.iter().map(|h| h.key.len() + h.value.len()).sum();
    if bytes > MAX_HEADER_BYTES {
        return Err(Error::InvalidRequest(format!(
            "{bytes} bytes of headers; a request may carry at most {MAX_HEADER_BYTES}"
        )));
    }
    for header in headers {
        let name = header.key.to_ascii_lowercase();
        if REFUSED_HEADERS.contains(&name.as_str()) || name.starts_with("proxy-") {
            return Err(Error::InvalidRequest(format!(
                "the header `{}` is set by the host, not by plugins",
                header.key.escape_default()
            )));
        }
    }
    Ok(())
}

/// Scheme, host and port: credentials go only where the plugin sent them.
fn origin_of(url: &url::Url) -> (String, Option<String>, Option<u16>) {
    (
        url.scheme().to_string(),
        url.host_str().map(str::to_string),
        url.port_or_known_default(),
    )
}

async fn read_response(response: reqwest::Response, max_body: usize) -> Result<Response, Error> {
    if let Some(len) = response.content_length().filter(|len| *len > max_body as u64) {
        return Err(Error::TooLarge(len));
    }
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| Attribute {
            key: k.as_str().to_string(),
            value: String::from_utf8_lossy(v.as_bytes()).into_owned(),
        })
        .collect();
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            if e.is_timeout() {
                Error::Timeout
            } else {
                Error::Transport(error_chain(&e))
            }
        })?;
        if body.len() + chunk.len() > max_body {
            return Err(Error::TooLarge((body.len() + chunk.len()) as u64));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response { status, headers, body })
}

fn to_reqwest(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
        Method::Head => reqwest::Method::HEAD,
    }
}

fn host_port(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => url.to_string(),
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
