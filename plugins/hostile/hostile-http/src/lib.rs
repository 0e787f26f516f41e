//! A scorer whose `score` asks the `http` import for `http://forbidden.example/`,
//! a host its manifest does not allow (it is granted `http` only for
//! `127.0.0.1:*`). The host must answer with an error value, not a trap and
//! not a request on the network. The plugin turns that error into one score
//! whose single reason is the error's text (`denied: ...`), so a test can see
//! what came back; if the request somehow succeeds, `score` returns `Err`.

wit_bindgen::generate!({ world: "scorer", path: "../../../wit" });

use cam::plugin::http::{Error, Method, Request, send};
use cam::plugin::types::Capability;

/// A host outside the manifest's allow-list.
const FORBIDDEN_URL: &str = "http://forbidden.example/";

struct HostileHttp;

/// The error as `case: detail`, the way the WIT names its cases.
fn describe_error(error: &Error) -> String {
    match error {
        Error::Denied(detail) => format!("denied: {detail}"),
        Error::InvalidRequest(detail) => format!("invalid-request: {detail}"),
        Error::Timeout => "timeout".to_string(),
        Error::TooLarge(bytes) => format!("too-large: {bytes}"),
        Error::Transport(detail) => format!("transport: {detail}"),
    }
}

impl Guest for HostileHttp {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile-http".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Requests a host it is not allowed; the host must return an error value.".to_string(),
            needs: vec![Capability::Http],
        }
    }

    fn score(_leads: Vec<Lead>) -> Result<Vec<Score>, String> {
        let request = Request {
            method: Method::Get,
            url: FORBIDDEN_URL.to_string(),
            headers: Vec::new(),
            body: None,
        };
        match send(&request) {
            Err(error) => Ok(vec![Score {
                value: 0.0,
                reasons: vec![describe_error(&error)],
            }]),
            Ok(response) => Err(format!(
                "the host let a request to {FORBIDDEN_URL} through (status {})",
                response.status
            )),
        }
    }
}

export!(HostileHttp);
