//! Sealing hosted tenants' secrets at rest: XChaCha20-Poly1305 under a
//! server key that never enters the database.
//!
//! The keys live in a key file (`[hosted] server_key_file` in `cam.toml`, or
//! `CAM_SERVER_KEY_FILE`), one per line as `<id> <base64 of 32 bytes>`. The
//! first line seals; every line opens. Rotating without downtime:
//!
//! 1. `cam tenants keys new` puts a new key on the first line (the old ones
//!    stay below it) and every worker is restarted with the new file, at its
//!    own pace: a worker with either file opens everything;
//! 2. `cam tenants rekey` re-seals every tenant's settings with the new key;
//! 3. the old lines are deleted.
//!
//! A sealed value is `cam1.<key id>.<base64url(nonce ‖ ciphertext)>`. The
//! tenant's id is the associated data, so a sealed value copied into another
//! tenant's row does not open.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;

/// The prefix of a sealed value, naming the format.
const FORMAT: &str = "cam1";
/// Bytes of a key.
const KEY_BYTES: usize = 32;
/// Bytes of a nonce (random per seal: 192 bits never repeat by chance).
const NONCE_BYTES: usize = 24;

/// One server key.
#[derive(Clone)]
struct ServerKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// The server's keys: the first seals, all open.
#[derive(Clone)]
pub struct ServerKeys {
    keys: Vec<ServerKey>,
    file: PathBuf,
}

impl fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerKeys")
            .field("file", &self.file)
            .field("ids", &self.ids())
            .finish()
    }
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Not a sealed value of a known format.
    #[error("this is not a sealed value (expected `{FORMAT}.<key id>.<data>`)")]
    Malformed,
    /// Sealed with a key the key file does not hold.
    #[error(
        "it was sealed with server key {0:?}, which the key file does not hold (was it deleted before `cam tenants rekey`?)"
    )]
    UnknownKey(String),
    /// The key is known but the value does not authenticate: altered, or
    /// sealed for another tenant.
    #[error("it does not authenticate under server key {0:?}: altered, or sealed for another tenant")]
    Forged(String),
}

impl ServerKeys {
    /// Reads the key file.
    pub fn load(file: &Path) -> anyhow::Result<ServerKeys> {
        let text = std::fs::read_to_string(file).with_context(|| {
            format!(
                "cannot read the server key file {} (create one with `cam tenants keys new`)",
                file.display()
            )
        })?;
        Self::parse(&text, file)
    }

    fn parse(text: &str, file: &Path) -> anyhow::Result<ServerKeys> {
        let mut keys = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = || format!("{} line {}", file.display(), index + 1);
            let (id, encoded) = line
                .split_once(char::is_whitespace)
                .with_context(|| format!("{}: expected `<id> <base64 key>`", at()))?;
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                anyhow::bail!("{}: a key id is letters, digits, `-` and `_`, not {id:?}", at());
            }
            let bytes = STANDARD
                .decode(encoded.trim())
                .with_context(|| format!("{}: the key is not base64", at()))?;
            if bytes.len() != KEY_BYTES {
                anyhow::bail!("{}: a key is {KEY_BYTES} bytes, this one {}", at(), bytes.len());
            }
            if keys.iter().any(|k: &ServerKey| k.id == id) {
                anyhow::bail!("{}: key id {id:?} appears twice", at());
            }
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| anyhow::anyhow!("{}: bad key", at()))?;
            keys.push(ServerKey {
                id: id.to_string(),
                cipher,
            });
        }
        if keys.is_empty() {
            anyhow::bail!(
                "the server key file {} holds no key (create one with `cam tenants keys new`)",
                file.display()
            );
        }
        Ok(ServerKeys {
            keys,
            file: file.to_path_buf(),
        })
    }

    /// Puts a new random key with id `id` first in `file` (creating it,
    /// readable by its owner only), keeping the keys already there.
    pub fn add_new_key(file: &Path, id: &str) -> anyhow::Result<ServerKeys> {
        let existing = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
        };
        let mut key = [0u8; KEY_BYTES];
        rand::thread_rng().fill_bytes(&mut key);
        let text = format!("{id} {}\n{existing}", STANDARD.encode(key));
        let keys = Self::parse(&text, file)?;
        if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        write_private(file, &text)?;
        Ok(keys)
    }

    /// The key ids, the sealing one first.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// The id of the key new values are sealed with.
    pub fn sealing_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Seals `plaintext` for `tenant` with the first key.
    pub fn seal(&self, tenant: &str, plaintext: &[u8]) -> String {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_BYTES];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ciphertext = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: tenant.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 seals any length a process can hold");
        let mut data = nonce.to_vec();
        data.extend_from_slice(&ciphertext);
        format!("{FORMAT}.{}.{}", key.id, URL_SAFE_NO_PAD.encode(data))
    }

    /// Opens a value sealed for `tenant` with any of the keys.
    pub fn open(&self, tenant: &str, sealed: &str) -> Result<Vec<u8>, OpenError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(FORMAT), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(OpenError::Malformed);
        };
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| OpenError::UnknownKey(id.to_string()))?;
        let data = URL_SAFE_NO_PAD.decode(data).map_err(|_| OpenError::Malformed)?;
        if data.len() < NONCE_BYTES {
            return Err(OpenError::Malformed);
        }
        let (nonce, ciphertext) = data.split_at(NONCE_BYTES);
        key.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: tenant.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Forged(id.to_string()))
    }

    /// The id of the key `sealed` was sealed with, if it is a sealed value.
    pub fn key_id_of(sealed: &str) -> Option<&str> {
        let mut parts = sealed.splitn(3, '.');
        match (parts.next(), parts.next()) {
            (Some(FORMAT), Some(id)) => Some(id),
            _ => None,
        }
    }
}

/// Writes `text` to `file`, readable and writable by its owner only.
fn write_private(file: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut out = options
        .open(file)
        .with_context(|| format!("cannot write the server key file {}", file.display()))?;
    out.write_all(text.as_bytes())
        .with_context(|| format!("cannot write the server key file {}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(dir: &Path, id: &str) -> ServerKeys {
        ServerKeys::add_new_key(&dir.join("server.keys"), id).expect("key")
    }

    #[test]
    fn a_sealed_value_opens_for_its_tenant_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = keys(dir.path(), "k1");
        let sealed = keys.seal("acme", b"hunter2");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(keys.open("acme", &sealed).expect("opens"), b"hunter2");
        assert_eq!(keys.open("beta", &sealed), Err(OpenError::Forged("k1".into())));
        // Two seals of one value differ (fresh nonce).
        assert_ne!(keys.seal("acme", b"hunter2"), sealed);
    }

    #[test]
    fn an_altered_value_or_an_unknown_key_is_refused_with_a_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = keys(dir.path(), "k1");
        let sealed = keys.seal("acme", b"hunter2");
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).expect("ascii");
        assert_eq!(keys.open("acme", &altered), Err(OpenError::Forged("k1".into())));
        assert_eq!(keys.open("acme", "plain text"), Err(OpenError::Malformed));
        let other = tempfile::tempdir().expect("tempdir");
        let stranger = ServerKeys::add_new_key(&other.path().join("k"), "k9").expect("key");
        let err = stranger.open("acme", &sealed).expect_err("unknown key");
        assert_eq!(err, OpenError::UnknownKey("k1".into()));
        assert!(err.to_string().contains("rekey"), "{err}");
    }

    #[test]
    fn a_new_key_seals_while_the_old_one_still_opens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = keys(dir.path(), "2026-01");
        let sealed_before = old.seal("acme", b"s");
        let rotated = keys(dir.path(), "2026-12");
        assert_eq!(rotated.ids(), ["2026-12", "2026-01"]);
        assert_eq!(rotated.open("acme", &sealed_before).expect("old key opens"), b"s");
        let sealed_after = rotated.seal("acme", b"s");
        assert_eq!(ServerKeys::key_id_of(&sealed_after), Some("2026-12"));
        assert!(old.open("acme", &sealed_after).is_err());
    }

    #[test]
    fn a_bad_key_file_says_which_line_is_wrong() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("server.keys");
        std::fs::write(&file, "# keys\nk1 c2hvcnQ=\n").expect("write");
        let err = ServerKeys::load(&file).expect_err("short key");
        assert!(format!("{err:#}").contains("line 2"), "{err:#}");
        std::fs::write(&file, "\n").expect("write");
        assert!(format!("{:#}", ServerKeys::load(&file).expect_err("empty")).contains("holds no key"));
        let debug = format!("{:?}", keys(dir.path(), "k2"));
        assert!(debug.contains("k2") && !debug.contains("cipher"), "{debug}");
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        keys(dir.path(), "k1");
        let mode = std::fs::metadata(dir.path().join("server.keys"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
