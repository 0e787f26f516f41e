//! Signed one-click unsubscribe tokens (RFC 2369 `List-Unsubscribe`,
//! RFC 8058 `List-Unsubscribe-Post`).
//!
//! A token names the tenant and the recipient address and carries an
//! HMAC-SHA256 over both, keyed by a secret only the host knows. `cam serve`
//! and the inbox step accept a token without any lookup or login, and
//! nobody can forge one for an address they did not receive mail at.
//!
//! Format: `base64url(payload) "." base64url(first 16 bytes of the MAC)`,
//! payload `v1 \n tenant \n address`.

use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::message::Unsubscribe;
use crate::domain::email::domain_of;

/// Bytes of the MAC kept in a token: 128 bits, beyond guessing.
const MAC_BYTES: usize = 16;
/// The payload's version tag.
const VERSION: &str = "v1";

/// What a valid token asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubscribeRequest {
    /// The tenant that sent the email.
    pub tenant: String,
    /// The address to suppress.
    pub address: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not the shape of a token at all.
    #[error("this is not an unsubscribe token")]
    Malformed,
    /// Well-formed, but the signature does not match (forged, altered, or
    /// signed with another key).
    #[error("this unsubscribe link is not valid (its signature does not match)")]
    BadSignature,
}

/// Signs and checks tokens, and builds a message's unsubscribe links.
#[derive(Clone)]
pub struct UnsubscribeLinks {
    key: Vec<u8>,
    https_base: Option<String>,
}

impl std::fmt::Debug for UnsubscribeLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnsubscribeLinks")
            .field("key", &"***")
            .field("https_base", &self.https_base)
            .finish()
    }
}

impl UnsubscribeLinks {
    /// Links signed with `key`. `https_base` is where `cam serve` answers
    /// (`https://go.example.com/unsubscribe`); without it links point at
    /// `https://<sending domain>/unsubscribe`.
    pub fn new(key: Vec<u8>, https_base: Option<String>) -> Self {
        Self {
            key,
            https_base: https_base.map(|b| b.trim_end_matches('/').to_string()),
        }
    }

    /// The signer `config` describes: its key file (created on first use)
    /// and `unsubscribe_url`.
    pub fn for_config(config: &crate::config::Config) -> anyhow::Result<Self> {
        let key = Self::load_or_create_key(&config.unsubscribe_key_file())?;
        Ok(Self::new(key, config.mail.unsubscribe_url.clone()))
    }

    /// Reads the signing key from `path`, creating a random one (readable
    /// by the owner only) the first time.
    pub fn load_or_create_key(path: &Path) -> anyhow::Result<Vec<u8>> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let key = hex::decode(text.trim())
                    .with_context(|| format!("the unsubscribe key {} is not hex", path.display()))?;
                if key.len() < 16 {
                    anyhow::bail!("the unsubscribe key {} is too short (want 32 bytes)", path.display());
                }
                Ok(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::random();
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
                }
                match write_private(path, &format!("{}\n", hex::encode(key))) {
                    Ok(()) => Ok(key.to_vec()),
                    // Another process (a second worker starting at the same
                    // moment) made it first: everyone signs with that one.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load_or_create_key(path),
                    Err(e) => Err(e).with_context(|| format!("cannot create the unsubscribe key {}", path.display())),
                }
            }
            Err(e) => Err(e).with_context(|| format!("cannot read the unsubscribe key {}", path.display())),
        }
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(payload);
        mac
    }

    /// The token for `address` at `tenant`.
    pub fn token(&self, tenant: &str, address: &str) -> String {
        let payload = format!("{VERSION}\n{tenant}\n{}", address.trim().to_lowercase());
        let tag = self.mac(payload.as_bytes()).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload.as_bytes()),
            URL_SAFE_NO_PAD.encode(&tag[..MAC_BYTES])
        )
    }

    /// Checks a token (constant-time MAC comparison) and says what it asks.
    pub fn verify(&self, token: &str) -> Result<UnsubscribeRequest, TokenError> {
        let (payload, tag) = token.trim().split_once('.').ok_or(TokenError::Malformed)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| TokenError::Malformed)?;
        let text = String::from_utf8(payload).map_err(|_| TokenError::Malformed)?;
        let mut parts = text.splitn(3, '\n');
        let (Some(VERSION), Some(tenant), Some(address)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Malformed);
        };
        if tag.len() != MAC_BYTES {
            return Err(TokenError::Malformed);
        }
        self.mac(text.as_bytes())
            .verify_truncated_left(&tag)
            .map_err(|_| TokenError::BadSignature)?;
        Ok(UnsubscribeRequest {
            tenant: tenant.to_string(),
            address: address.to_string(),
        })
    }

    /// The tenant a token names, unverified: which tenant's key to verify
    /// it with. `None` when it is not a token at all.
    pub fn claimed_tenant(token: &str) -> Option<String> {
        let (payload, _) = token.trim().split_once('.')?;
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let mut parts = text.splitn(3, '\n');
        match (parts.next(), parts.next()) {
            (Some(VERSION), Some(tenant)) => Some(tenant.to_string()),
            _ => None,
        }
    }

    /// The `List-Unsubscribe` targets of a message from `mailbox` to
    /// `address`: the https one-click URL and a mailto back to the mailbox
    /// with the token in the subject (the inbox step honours it).
    pub fn links(&self, tenant: &str, address: &str, mailbox: &str) -> Unsubscribe {
        let token = self.token(tenant, address);
        let base = match &self.https_base {
            Some(base) => base.clone(),
            None => format!("https://{}/unsubscribe", domain_of(mailbox).unwrap_or("cam.invalid")),
        };
        Unsubscribe {
            mailto: format!("mailto:{mailbox}?subject=unsubscribe%20{token}"),
            https: format!("{base}/{token}"),
        }
    }

    /// The valid token in an inbound subject such as `Re: unsubscribe
    /// dGVzdA.abc`, if there is one.
    pub fn token_in_subject(&self, subject: &str) -> Option<UnsubscribeRequest> {
        let lower = subject.to_ascii_lowercase();
        let at = lower.find("unsubscribe")?;
        subject[at + "unsubscribe".len()..]
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .filter(|word| word.contains('.'))
            .find_map(|word| self.verify(word).ok())
    }
}

#[cfg(unix)]
/// Writes `text` to a new file `path` (owner-only), whole or not at all:
/// written beside it, then linked into place, so a concurrent reader never
/// sees half a key and a concurrent writer gets `AlreadyExists`.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = path.with_extension(format!("tmp-{}-{}", std::process::id(), rand::random::<u32>()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut file| file.write_all(text.as_bytes()).and_then(|()| file.sync_all()));
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    linked
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_creating_the_key_at_once_all_get_the_same_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("unsubscribe.key");
        let keys: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| UnsubscribeLinks::load_or_create_key(&path).expect("a key")))
                .collect();
            handles.into_iter().map(|h| h.join().expect("joined")).collect()
        });
        assert!(keys.iter().all(|k| k == &keys[0] && k.len() == 32), "one key for all");
        let leftovers = std::fs::read_dir(dir.path()).expect("dir").count();
        assert_eq!(leftovers, 1, "no temp files left");
    }

    fn links() -> UnsubscribeLinks {
        UnsubscribeLinks::new(b"0123456789abcdef0123456789abcdef".to_vec(), None)
    }

    #[test]
    fn a_token_round_trips_to_its_tenant_and_address() {
        let token = links().token("acme", "Jo@Example.COM");
        let request = links().verify(&token).expect("valid");
        assert_eq!(request.tenant, "acme");
        assert_eq!(request.address, "jo@example.com");
    }

    #[test]
    fn an_altered_or_foreign_token_is_refused() {
        let token = links().token("acme", "jo@example.com");
        let (payload, tag) = token.split_once('.').expect("dot");
        let forged_payload = URL_SAFE_NO_PAD.encode(b"v1\nacme\nceo@example.com");
        assert_eq!(
            links().verify(&format!("{forged_payload}.{tag}")),
            Err(TokenError::BadSignature)
        );
        let other_key = UnsubscribeLinks::new(b"another key, another key, anoth".to_vec(), None);
        assert_eq!(other_key.verify(&token), Err(TokenError::BadSignature));
        assert_eq!(links().verify(payload), Err(TokenError::Malformed));
        assert_eq!(links().verify("not a token"), Err(TokenError::Malformed));
    }

    #[test]
    fn links_point_at_the_configured_base_or_the_sending_domain() {
        let unsubscribe = links().links("t", "jo@example.com", "anna@outreach.example");
        assert!(unsubscribe.https.starts_with("https://outreach.example/unsubscribe/"));
        assert!(
            unsubscribe
                .mailto
                .starts_with("mailto:anna@outreach.example?subject=unsubscribe%20")
        );
        let custom = UnsubscribeLinks::new(b"k".repeat(32), Some("https://go.example.com/u/".into()));
        let unsubscribe = custom.links("t", "jo@example.com", "anna@outreach.example");
        assert!(unsubscribe.https.starts_with("https://go.example.com/u/"));
    }

    #[test]
    fn a_token_is_found_in_a_reply_subject() {
        let token = links().token("t", "jo@example.com");
        let request = links()
            .token_in_subject(&format!("Re: unsubscribe {token}"))
            .expect("found");
        assert_eq!(request.address, "jo@example.com");
        assert!(links().token_in_subject("Re: unsubscribe me please.").is_none());
    }

    #[test]
    fn the_key_file_is_created_once_and_then_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("unsubscribe.key");
        let first = UnsubscribeLinks::load_or_create_key(&path).expect("created");
        let second = UnsubscribeLinks::load_or_create_key(&path).expect("read");
        assert_eq!(first, second);
        assert_eq!(first.len(), 32);
    }
}
