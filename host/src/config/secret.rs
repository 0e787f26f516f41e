//! Credentials read from the environment or a file, never from the config
//! text itself, and never shown by `Debug` or `Display`.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

/// A password or signing key. `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that has to send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a secret comes from, as written in `cam.toml`: the name of an
/// environment variable or a file (relative to the config file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSource {
    /// Environment variable holding the secret.
    #[serde(default)]
    pub env: Option<String>,
    /// File holding the secret (trailing newline ignored).
    #[serde(default)]
    pub file: Option<PathBuf>,
}

impl SecretSource {
    /// Reads the secret; `None` when neither source is set. `what` names it
    /// in errors ("the SMTP password of anna@x").
    pub fn read(&self, base: &Path, what: &str) -> anyhow::Result<Option<Secret>> {
        if let Some(name) = &self.env {
            let value =
                std::env::var(name).with_context(|| format!("{what}: environment variable {name} is not set"))?;
            return Ok(Some(Secret(value)));
        }
        if let Some(file) = &self.file {
            let path = crate::config::resolve(base, file);
            let text =
                std::fs::read_to_string(&path).with_context(|| format!("{what}: cannot read {}", path.display()))?;
            return Ok(Some(Secret(text.trim_end_matches(['\r', '\n']).to_string())));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn a_missing_environment_variable_is_named_in_the_error() {
        let source = SecretSource {
            env: Some("CAM_TEST_SURELY_UNSET_VARIABLE".into()),
            file: None,
        };
        let err = source.read(Path::new("."), "the SMTP password").expect_err("unset");
        assert!(format!("{err:#}").contains("CAM_TEST_SURELY_UNSET_VARIABLE"), "{err:#}");
    }

    #[test]
    fn a_file_secret_loses_its_trailing_newline() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("pw"), "s3cret\n").expect("write");
        let source = SecretSource {
            env: None,
            file: Some("pw".into()),
        };
        let secret = source.read(dir.path(), "pw").expect("reads").expect("set");
        assert_eq!(secret.expose(), "s3cret");
    }
}
