//! Every version's bytes, kept so a rollback or a promotion works while the
//! worker runs, and the shadow designations.
//!
//! Layout, inside the plugins folder (hidden, so the watcher ignores it):
//!
//! ```text
//! .versions/<sha256>.wasm      the component, content-addressed
//! .versions/<sha256>.toml      the manifest it was last loaded with
//! .versions/shadows.json       {"plugin name": "sha256 of its shadow candidate"}
//! .versions/release/<name>     a request to release <name> from quarantine
//! ```
//!
//! A version's identity is the sha256 of its component (what
//! [`LoadedPlugin::version`](super::LoadedPlugin::version) reports and every
//! score records). A manifest-only change reloads the plugin under the same
//! version; the stored manifest copy is then the latest one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::domain::model::PluginVersionRecord;

/// Name of the hidden folder inside the plugins folder.
pub const VERSIONS_DIR: &str = ".versions";

/// The version folder of one plugins folder.
#[derive(Debug, Clone)]
pub struct VersionFolder {
    dir: PathBuf,
}

impl VersionFolder {
    /// The version folder inside `plugins_dir`.
    pub fn in_plugins_dir(plugins_dir: &Path) -> VersionFolder {
        VersionFolder {
            dir: plugins_dir.join(VERSIONS_DIR),
        }
    }

    /// Its path.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The component file of `sha256`.
    pub fn wasm_path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.wasm"))
    }

    /// Keeps a version's bytes and manifest (idempotent).
    pub fn save(&self, sha256: &str, wasm: &[u8], manifest_text: &str) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir).with_context(|| format!("creating {}", self.dir.display()))?;
        let wasm_path = self.wasm_path(sha256);
        if !wasm_path.exists() {
            write_atomically(&wasm_path, wasm)?;
        }
        write_atomically(&wasm_path.with_extension("toml"), manifest_text.as_bytes())
    }

    /// A kept version's bytes and manifest text, if this folder has it.
    pub fn read(&self, sha256: &str) -> anyhow::Result<Option<(Vec<u8>, String)>> {
        let wasm_path = self.wasm_path(sha256);
        let wasm = match std::fs::read(&wasm_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", wasm_path.display())),
        };
        let manifest_path = wasm_path.with_extension("toml");
        let manifest =
            std::fs::read_to_string(&manifest_path).with_context(|| format!("reading {}", manifest_path.display()))?;
        Ok(Some((wasm, manifest)))
    }

    /// Shadow candidates by plugin name (sha256 of each).
    pub fn shadows(&self) -> BTreeMap<String, String> {
        std::fs::read(self.dir.join("shadows.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Sets (`Some`) or clears (`None`) the shadow candidate of `name`.
    pub fn set_shadow(&self, name: &str, sha256: Option<&str>) -> anyhow::Result<()> {
        crate::domain::name::validate("plugin name", name)?;
        let mut shadows = self.shadows();
        match sha256 {
            Some(sha) => shadows.insert(name.to_string(), sha.to_string()),
            None => shadows.remove(name),
        };
        std::fs::create_dir_all(&self.dir)?;
        write_atomically(&self.dir.join("shadows.json"), &serde_json::to_vec_pretty(&shadows)?)
    }

    /// Asks running workers to release `name` from quarantine.
    pub fn request_release(&self, name: &str) -> anyhow::Result<()> {
        // The name becomes a file name: `/abs/path` must not reach the disk.
        crate::domain::name::validate("plugin name", name)?;
        let dir = self.dir.join("release");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), b"")?;
        Ok(())
    }

    /// Takes the pending release requests (names), removing them.
    pub fn take_release_requests(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("release")) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                std::fs::remove_file(entry.path()).ok().map(|()| name)
            })
            .collect()
    }
}

/// Writes `bytes` beside `path` and renames it into place.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} into place", tmp.display()))
}

/// Why [`find_version`] found no single version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VersionLookupError {
    /// No recorded version's sha256 starts with the prefix.
    #[error("no version starts with `{prefix}`; see `cam plugins history`")]
    NoMatch {
        /// The prefix asked for, lower-cased.
        prefix: String,
    },
    /// Several versions start with the prefix.
    #[error("{count} versions start with `{prefix}`; give more digits")]
    Ambiguous {
        /// The prefix asked for, lower-cased.
        prefix: String,
        /// How many matched.
        count: usize,
    },
}

/// The version of `history` whose sha256 starts with `prefix` (case-insensitive).
pub fn find_version<'a>(
    history: &'a [PluginVersionRecord],
    prefix: &str,
) -> Result<&'a PluginVersionRecord, VersionLookupError> {
    let prefix = prefix.to_ascii_lowercase();
    let matches: Vec<&PluginVersionRecord> = history
        .iter()
        .filter(|v| v.plugin.sha256.starts_with(&prefix))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(VersionLookupError::NoMatch { prefix }),
        _ => Err(VersionLookupError::Ambiguous {
            prefix,
            count: matches.len(),
        }),
    }
}

/// The version to roll back to without `--to`: the newest one recorded
/// before the active one (history is newest first).
pub fn previous_version(history: &[PluginVersionRecord]) -> Option<&PluginVersionRecord> {
    let active = history.iter().position(|v| v.active)?;
    history.get(active + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::NewPluginVersion;

    #[test]
    fn a_release_request_for_a_path_is_refused_and_touches_no_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "keep me").expect("write");
        let folder = VersionFolder::in_plugins_dir(&dir.path().join("plugins"));
        let err = folder
            .request_release(victim.to_str().expect("utf8"))
            .expect_err("a path is not a plugin name");
        assert!(err.to_string().contains("plugin name"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "keep me");
        assert!(folder.set_shadow("../x", Some("abc")).is_err());
        folder.request_release("weighted_score").expect("a real name");
        assert_eq!(folder.take_release_requests(), ["weighted_score"]);
    }

    fn record(sha: &str, active: bool) -> PluginVersionRecord {
        PluginVersionRecord {
            id: 1,
            tenant_id: "t".into(),
            plugin: NewPluginVersion {
                name: "p".into(),
                kind: "scorer".into(),
                version: "1".into(),
                sha256: sha.into(),
                source: "test".into(),
            },
            recorded_at: chrono::Utc::now(),
            active,
        }
    }

    #[test]
    fn a_sha_prefix_names_one_version_or_says_why_not() {
        let history = [record("abc123", false), record("abd456", true), record("ff0000", false)];
        assert_eq!(
            find_version(&history, "ABC").map(|v| v.plugin.sha256.as_str()),
            Ok("abc123")
        );
        assert!(
            find_version(&history, "ab")
                .unwrap_err()
                .to_string()
                .contains("2 versions")
        );
        assert!(
            find_version(&history, "00")
                .unwrap_err()
                .to_string()
                .contains("no version")
        );
    }

    #[test]
    fn rollback_without_a_target_picks_the_version_before_the_active_one() {
        let history = [record("new", false), record("mid", true), record("old", false)];
        assert_eq!(
            previous_version(&history).map(|v| v.plugin.sha256.as_str()),
            Some("old")
        );
        assert!(previous_version(&history[..2]).is_none());
    }

    #[test]
    fn shadow_designations_and_release_requests_round_trip_through_the_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let versions = VersionFolder::in_plugins_dir(dir.path());
        versions.set_shadow("p", Some("abc")).expect("set");
        assert_eq!(versions.shadows().get("p").map(String::as_str), Some("abc"));
        versions.set_shadow("p", None).expect("clear");
        assert!(versions.shadows().is_empty());
        versions.request_release("p").expect("request");
        assert_eq!(versions.take_release_requests(), vec!["p".to_string()]);
        assert!(versions.take_release_requests().is_empty());
    }
}
