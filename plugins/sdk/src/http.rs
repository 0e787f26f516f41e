//! Outbound HTTP made by the host on the plugin's behalf. Needs
//! `http = { allow = ["host[:port]", ...] }` in the manifest; a request to a
//! host not listed comes back as [`Error::Denied`], not a trap.

use crate::Attribute;
pub use crate::bindings::host::cam::plugin::http::{Error, Method, Request, Response};
use serde::de::DeserializeOwned;

impl From<Error> for String {
    fn from(error: Error) -> Self {
        error_message(&error)
    }
}

/// A readable sentence for an HTTP error.
pub fn error_message(error: &Error) -> String {
    match error {
        Error::Denied(message) => format!("http: denied by the plugin's manifest: {message}"),
        Error::InvalidRequest(message) => format!("http: invalid request: {message}"),
        Error::Timeout => "http: the call's deadline would pass first".to_owned(),
        Error::TooLarge(size) => format!("http: response body too large ({size} bytes)"),
        Error::Transport(message) => format!("http: transport failed: {message}"),
    }
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push(Attribute::new(name, value));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.key.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.body)
    }

    /// The body deserialized from JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// Sends `request` through the host.
pub fn send(request: &Request) -> Result<Response, Error> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::host::cam::plugin::http::send(request)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::http_send(request)
    }
}

/// `GET url` with `headers` (name, value).
pub fn get(url: &str, headers: &[(&str, &str)]) -> Result<Response, Error> {
    let mut request = Request::new(Method::Get, url);
    request.headers = headers.iter().map(|(k, v)| Attribute::new(*k, *v)).collect();
    send(&request)
}

/// `POST url` with `headers` and a JSON `body` (`content-type` is added).
pub fn post_json(url: &str, headers: &[(&str, &str)], body: &impl serde::Serialize) -> Result<Response, Error> {
    let body = serde_json::to_vec(body).map_err(|e| Error::InvalidRequest(e.to_string()))?;
    let mut request = Request::new(Method::Post, url).body(body);
    request.headers = headers.iter().map(|(k, v)| Attribute::new(*k, *v)).collect();
    request.headers.push(Attribute::new("content-type", "application/json"));
    send(&request)
}
