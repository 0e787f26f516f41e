//! The plugin manifest: a TOML file beside the `.wasm` (`scorer.wasm` →
//! `scorer.toml`) that declares the plugin's kind, the host capabilities it is
//! granted, its config values and any lowered limits.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use super::kinds;
use crate::runtime::grants::Grants;
use crate::runtime::limits::LimitSettings;

/// The plugin kinds, one WIT world each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// Produces leads, a page at a time.
    LeadSource,
    /// Adds facts to leads.
    Enricher,
    /// Scores leads 0..1.
    Scorer,
    /// Labels inbound replies.
    ReplyClassifier,
    /// Turns campaign metrics into actions.
    DecisionRule,
}

impl PluginKind {
    /// Every kind, in pipeline order.
    pub const ALL: [PluginKind; 5] = [
        PluginKind::LeadSource,
        PluginKind::Enricher,
        PluginKind::Scorer,
        PluginKind::ReplyClassifier,
        PluginKind::DecisionRule,
    ];

    /// The WIT world name (also the manifest spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::LeadSource => kinds::lead_source::WORLD,
            PluginKind::Enricher => kinds::enricher::WORLD,
            PluginKind::Scorer => kinds::scorer::WORLD,
            PluginKind::ReplyClassifier => kinds::reply_classifier::WORLD,
            PluginKind::DecisionRule => kinds::decision_rule::WORLD,
        }
    }

    /// The name of the world's main export besides `describe`.
    pub fn main_export(self) -> &'static str {
        match self {
            PluginKind::LeadSource => kinds::lead_source::MAIN_EXPORT,
            PluginKind::Enricher => kinds::enricher::MAIN_EXPORT,
            PluginKind::Scorer => kinds::scorer::MAIN_EXPORT,
            PluginKind::ReplyClassifier => kinds::reply_classifier::MAIN_EXPORT,
            PluginKind::DecisionRule => kinds::decision_rule::MAIN_EXPORT,
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PluginKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PluginKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            format!("unknown plugin kind `{s}`; expected one of lead-source, enricher, scorer, reply-classifier, decision-rule")
        })
    }
}

/// A parsed plugin manifest.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Which world the component implements.
    pub kind: PluginKind,
    /// The plugin's name; defaults to the file stem.
    #[serde(default)]
    pub name: Option<String>,
    /// Granted host capabilities.
    #[serde(default)]
    pub capabilities: Grants,
    /// Limits lower than the operator's.
    #[serde(default)]
    pub limits: LimitSettings,
    /// Free-form settings read through the `config` import.
    #[serde(default)]
    pub config: toml::Table,
}

/// Why a manifest could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// No manifest beside the component.
    #[error(
        "no manifest at {path}: every plugin needs a TOML manifest beside its .wasm declaring at least `kind = \"scorer\"` (or lead-source, enricher, reply-classifier, decision-rule)"
    )]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// Could not read the file.
    #[error("cannot read manifest {path}: {source}")]
    Io {
        /// The manifest path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys / wrong values.
    #[error("invalid manifest {path}: {message}")]
    Invalid {
        /// The manifest path.
        path: PathBuf,
        /// What is wrong and where, from the TOML parser.
        message: String,
    },
}

impl Manifest {
    /// The manifest path that belongs to a component file.
    pub fn path_for(wasm: &Path) -> PathBuf {
        wasm.with_extension("toml")
    }

    /// Reads and parses the manifest beside `wasm`.
    pub fn load_for(wasm: &Path) -> Result<Manifest, ManifestError> {
        let path = Manifest::path_for(wasm);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ManifestError::Missing { path }),
            Err(source) => return Err(ManifestError::Io { path, source }),
        };
        Manifest::parse(&text, &path)
    }

    /// Parses manifest text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Manifest, ManifestError> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| ManifestError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string().trim().to_string(),
        })?;
        // A name becomes part of paths (shadow logs, release requests) and
        // of kv keys: letters, digits, '-' and '_' only.
        if let Some(name) = &manifest.name
            && let Err(e) = crate::domain::name::validate("plugin name", name)
        {
            return Err(ManifestError::Invalid {
                path: path.to_path_buf(),
                message: format!("name: {e}"),
            });
        }
        Ok(manifest)
    }

    /// The config table flattened for the `config` import: strings as they
    /// are, anything else as JSON text.
    pub fn config_values(&self) -> BTreeMap<String, String> {
        self.config
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    toml::Value::String(s) => s.clone(),
                    other => serde_json::to_string(other).unwrap_or_default(),
                };
                (k.clone(), value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_that_could_become_a_path_is_refused() {
        for name in ["../x", "/etc/passwd", "a b", "Caps"] {
            let err = Manifest::parse(&format!("kind = \"scorer\"\nname = \"{name}\"\n"), Path::new("m.toml"))
                .expect_err(name);
            assert!(err.to_string().contains("plugin name"), "{name}: {err}");
        }
        let ok = Manifest::parse("kind = \"scorer\"\nname = \"icp_v2\"\n", Path::new("m.toml")).expect("valid");
        assert_eq!(ok.name.as_deref(), Some("icp_v2"));
    }
    use crate::runtime::grants::KvGrant;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(text, Path::new("plugins/x.toml"))
    }

    #[test]
    fn a_full_manifest_parses_into_typed_grants() {
        let m = parse(
            r#"
kind = "lead-source"
[capabilities]
log = true
kv = { quota_bytes = 1024 }
http = { allow = ["api.example.com", "127.0.0.1:*"] }
[limits]
timeout_ms = 300
[config]
base_url = "http://127.0.0.1:1234"
page_size = 50
mapping = { email = "contact.email" }
"#,
        )
        .expect("parses");
        assert_eq!(m.kind, PluginKind::LeadSource);
        assert!(m.capabilities.log && !m.capabilities.clock);
        assert_eq!(m.capabilities.kv, Some(KvGrant { quota_bytes: 1024 }));
        assert_eq!(m.capabilities.http.as_ref().map(|h| h.allow.len()), Some(2));
        let config = m.config_values();
        assert_eq!(config["base_url"], "http://127.0.0.1:1234");
        assert_eq!(config["page_size"], "50");
        assert_eq!(config["mapping"], r#"{"email":"contact.email"}"#);
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_file_and_key() {
        let err = parse("kind = \"scorer\"\n[capabilities]\nfilesystem = true\n").expect_err("unknown key");
        let text = err.to_string();
        assert!(text.contains("plugins/x.toml") && text.contains("filesystem"), "{text}");
    }

    #[test]
    fn a_wrong_kind_is_an_error_listing_the_kinds() {
        let err = parse("kind = \"scorrer\"\n").expect_err("bad kind");
        assert!(err.to_string().contains("scorrer"), "{err}");
    }

    #[test]
    fn a_malformed_allowed_host_is_an_error() {
        let err = parse("kind = \"scorer\"\n[capabilities]\nhttp = { allow = [\"https://x.com/\"] }\n")
            .expect_err("bad host");
        assert!(err.to_string().contains("give a host, not a URL"), "{err}");
    }
}
