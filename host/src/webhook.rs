//! Alert webhooks: a JSON POST signed with HMAC-SHA256, retried with
//! backoff.
//!
//! Every request carries
//! - `X-Cam-Delivery`: the alert's idempotency key (the same on every retry,
//!   so a receiver can drop repeats),
//! - `X-Cam-Timestamp`: Unix seconds when it was signed,
//! - `X-Cam-Signature`: `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`
//!   keyed by the shared secret; see [`signature`].

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::{Secret, WebhookConfig};

/// One try's outcome, for the alert log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Whether the receiver took it (a 2xx answer).
    pub ok: bool,
    /// The status or the error.
    pub detail: String,
}

/// A configured webhook.
pub struct Webhook {
    url: reqwest::Url,
    secret: Secret,
    max_attempts: u32,
    backoff: Duration,
    client: reqwest::Client,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("url", &self.url.as_str()).finish()
    }
}

/// `sha256=<hex>` over `"<timestamp>.<body>"`: what a receiver recomputes.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Parses a webhook URL: `https://`, or `http://` to loopback only.
pub fn check_url(url: &str) -> anyhow::Result<reqwest::Url> {
    let parsed: reqwest::Url = url
        .parse()
        .with_context(|| format!("alerts webhook url {url:?} is not a URL"))?;
    let loopback = parsed.host_str().is_some_and(crate::config::is_loopback);
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        _ => anyhow::bail!("alerts webhook url {url:?} must be https (plain http only to loopback)"),
    }
}

impl Webhook {
    /// A webhook from its config; `base` resolves a secret file path.
    pub fn new(config: &WebhookConfig, base: &Path) -> anyhow::Result<Self> {
        let url = check_url(&config.url)?;
        let secret = config
            .secret
            .read(base, "the alerts webhook secret")?
            .context("the alerts webhook needs a secret: secret = { env = \"CAM_WEBHOOK_SECRET\" }")?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs.max(1)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the webhook HTTP client")?;
        Ok(Self {
            url,
            secret,
            max_attempts: config.max_attempts.max(1),
            backoff: Duration::from_millis(config.backoff_ms),
            client,
        })
    }

    /// The URL posted to.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// Posts `body` until a 2xx answer or the tries run out; returns every
    /// try. A 4xx other than 408 and 429 is not retried: the receiver
    /// refused this alert.
    pub async fn deliver(&self, delivery: &str, body: &[u8]) -> Vec<Attempt> {
        let mut attempts = Vec::new();
        for n in 0..self.max_attempts {
            if n > 0 {
                tokio::time::sleep(self.backoff.saturating_mul(1 << (n - 1).min(16))).await;
            }
            let timestamp = chrono::Utc::now().timestamp();
            let sent = self
                .client
                .post(self.url.clone())
                .header("Content-Type", "application/json")
                .header("User-Agent", concat!("cam/", env!("CARGO_PKG_VERSION")))
                .header("X-Cam-Delivery", delivery)
                .header("X-Cam-Timestamp", timestamp.to_string())
                .header("X-Cam-Signature", signature(self.secret.expose(), timestamp, body))
                .body(body.to_vec())
                .send()
                .await;
            let (attempt, retry) = match sent {
                Ok(response) => {
                    let status = response.status();
                    let ok = status.is_success();
                    let retry = !ok && (status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429);
                    (
                        Attempt {
                            ok,
                            detail: format!("HTTP {status}"),
                        },
                        retry,
                    )
                }
                Err(e) => (
                    Attempt {
                        ok: false,
                        detail: format!("{e}"),
                    },
                    true,
                ),
            };
            let done = attempt.ok || !retry;
            attempts.push(attempt);
            if done {
                break;
            }
        }
        attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SecretSource;

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        let a = signature("s", 1, b"{}");
        assert!(a.starts_with("sha256=") && a.len() == 7 + 64, "{a}");
        assert_ne!(a, signature("s", 2, b"{}"));
        assert_ne!(a, signature("s", 1, b"{ }"));
        assert_ne!(a, signature("t", 1, b"{}"));
    }

    #[test]
    fn plain_http_is_refused_except_to_loopback() {
        let config = |url: &str| WebhookConfig {
            url: url.into(),
            secret: SecretSource {
                file: Some("secret".into()),
                ..SecretSource::default()
            },
            max_attempts: 1,
            backoff_ms: 0,
            timeout_secs: 1,
        };
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("secret"), "k").expect("write");
        assert!(Webhook::new(&config("http://hooks.example.com/x"), dir.path()).is_err());
        assert!(Webhook::new(&config("http://127.0.0.1:9/x"), dir.path()).is_ok());
        assert!(Webhook::new(&config("https://hooks.example.com/x"), dir.path()).is_ok());
    }
}
