//! Credentials read from the environment or a file, never from the config
//! text itself, and never shown by `Debug` or `Display`.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

/// What a secret reads wherever it is shown.
pub const REDACTED: &str = "***";

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

/// Where a secret comes from: in `cam.toml` the name of an environment
/// variable or a file (relative to the config file); in a hosted tenant's
/// settings the value itself (`password = "…"`), sealed in the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretSource {
    /// Environment variable holding the secret.
    pub env: Option<String>,
    /// File holding the secret (trailing newline ignored).
    pub file: Option<PathBuf>,
    /// The secret itself (hosted tenants' settings only).
    pub value: Option<Secret>,
}

/// `{ env = "…" }`, `{ file = "…" }` or `{ value = "…" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceTable {
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    file: Option<PathBuf>,
    #[serde(default)]
    value: Option<String>,
}

/// Reads a secret source written as a string (the value), a table, or null.
struct SourceVisitor;

impl<'de> serde::de::Visitor<'de> for SourceVisitor {
    type Value = SecretSource;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a secret: \"the value\", { env = \"VARIABLE\" } or { file = \"path\" }")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<SecretSource, E> {
        Ok(SecretSource::value(Secret(value.to_string())))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<SecretSource, A::Error> {
        let table = SourceTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok(SecretSource {
            env: table.env,
            file: table.file,
            value: table.value.map(Secret),
        })
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<SecretSource, E> {
        Ok(SecretSource::default())
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<SecretSource, E> {
        Ok(SecretSource::default())
    }
}

impl<'de> Deserialize<'de> for SecretSource {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SourceVisitor)
    }
}

/// Shown (and kept beside sealed secrets) with any value as `"***"`.
impl serde::Serialize for SecretSource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        if self.value.is_some() {
            return serializer.serialize_str(REDACTED);
        }
        if !self.is_set() {
            return serializer.serialize_none();
        }
        let mut map = serializer.serialize_map(None)?;
        if let Some(env) = &self.env {
            map.serialize_entry("env", env)?;
        }
        if let Some(file) = &self.file {
            map.serialize_entry("file", file)?;
        }
        map.end()
    }
}

impl SecretSource {
    /// A secret given as its value.
    pub fn value(secret: Secret) -> Self {
        Self {
            value: Some(secret),
            ..Self::default()
        }
    }

    /// Whether any source is set.
    pub fn is_set(&self) -> bool {
        self.env.is_some() || self.file.is_some() || self.value.is_some()
    }

    /// The value given inline, if any.
    pub fn inline_value(&self) -> Option<&Secret> {
        self.value.as_ref()
    }

    /// Whether the inline value is `text`.
    pub fn is_value(&self, text: &str) -> bool {
        self.value.as_ref().is_some_and(|v| v.expose() == text)
    }

    /// Reads the secret; `None` when neither source is set. `what` names it
    /// in errors ("the SMTP password of anna@x").
    pub fn read(&self, base: &Path, what: &str) -> anyhow::Result<Option<Secret>> {
        if let Some(value) = &self.value {
            return Ok(Some(value.clone()));
        }
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
            ..SecretSource::default()
        };
        let err = source.read(Path::new("."), "the SMTP password").expect_err("unset");
        assert!(format!("{err:#}").contains("CAM_TEST_SURELY_UNSET_VARIABLE"), "{err:#}");
    }

    #[test]
    fn a_file_secret_loses_its_trailing_newline() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("pw"), "s3cret\n").expect("write");
        let source = SecretSource {
            file: Some("pw".into()),
            ..SecretSource::default()
        };
        let secret = source.read(dir.path(), "pw").expect("reads").expect("set");
        assert_eq!(secret.expose(), "s3cret");
    }
}
