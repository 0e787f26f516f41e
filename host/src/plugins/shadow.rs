//! Shadow runs: a candidate version sees the same inputs as the active one;
//! its outputs are recorded beside the active outputs and never applied.
//!
//! Install a candidate with `cam plugins shadow FILE`; the registry then
//! holds it as [`PluginRegistry::shadow_of`]. The pipeline, after calling the
//! active version and before applying its result, hands both to a
//! [`ShadowRunner`]:
//!
//! ```ignore
//! let scores = scorer.score(scope.clone(), &leads).await?;
//! shadow_runner.score(&scorer, scope, &leads, &scores).await; // records only
//! apply(scores);
//! ```
//!
//! Records go to a JSON Lines file per plugin, `<plugins_dir>/.shadow/<name>.jsonl`
//! (one line per compared input), which `cam plugins diff NAME` reads.
//! A file keeps the comparison visible without a database and next to the
//! versions it compares; it is cleared on promotion.
//!
//! The candidate runs without the `kv` store (its calls get a storage error):
//! its writes would otherwise change what the active version reads. Its
//! `http` grants still apply, so a candidate that makes writing requests is
//! not side-effect free; shadow only read-only sources.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::loaded::LoadedPlugin;
use super::registry::PluginRegistry;
use crate::runtime::CallScope;
use crate::store::plugin_controls::StoredShadowRecord;

/// Name of the shadow records folder inside the plugins folder.
pub const SHADOW_DIR: &str = ".shadow";

/// Two scores closer than this agree: a difference below it changes no one's
/// place in the contact order in practice.
pub const SCORE_TOLERANCE: f32 = 0.005;

/// One input both versions saw and what each answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ShadowRecord {
    /// When it was compared.
    pub at: DateTime<Utc>,
    /// The plugin name.
    pub plugin: String,
    /// What the input was: the lead's email, the reply's Message-ID, the campaign.
    pub input: String,
    /// The active version (short sha256).
    pub active_version: String,
    /// What the active version answered.
    pub active_output: String,
    /// The candidate version (short sha256).
    pub candidate_version: String,
    /// What the candidate answered (or its error).
    pub candidate_output: String,
    /// Whether they decided the same.
    pub agree: bool,
}

impl From<ShadowRecord> for StoredShadowRecord {
    fn from(r: ShadowRecord) -> StoredShadowRecord {
        StoredShadowRecord {
            at: r.at,
            name: r.plugin,
            input: r.input,
            active_version: r.active_version,
            active_output: r.active_output,
            candidate_version: r.candidate_version,
            candidate_output: r.candidate_output,
            agree: r.agree,
        }
    }
}

impl From<StoredShadowRecord> for ShadowRecord {
    fn from(r: StoredShadowRecord) -> ShadowRecord {
        ShadowRecord {
            at: r.at,
            plugin: r.name,
            input: r.input,
            active_version: r.active_version,
            active_output: r.active_output,
            candidate_version: r.candidate_version,
            candidate_output: r.candidate_output,
            agree: r.agree,
        }
    }
}

/// The shadow records of one plugin.
#[derive(Debug, Clone)]
pub struct ShadowLog {
    path: PathBuf,
}

impl ShadowLog {
    /// The log of `name` in `plugins_dir`.
    pub fn for_plugin(plugins_dir: &Path, name: &str) -> ShadowLog {
        ShadowLog {
            path: plugins_dir.join(SHADOW_DIR).join(format!("{name}.jsonl")),
        }
    }

    /// Its file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends records.
    pub fn append(&self, records: &[ShadowRecord]) -> anyhow::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut text = String::new();
        for record in records {
            text.push_str(&serde_json::to_string(record)?);
            text.push('\n');
        }
        // One write call per batch keeps concurrent appenders' lines whole.
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .with_context(|| format!("opening {}", self.path.display()))?;
        file.write_all(text.as_bytes())
            .with_context(|| format!("writing {}", self.path.display()))
    }

    /// Every record (none when the file does not exist). Unreadable lines are skipped.
    pub fn read(&self) -> anyhow::Result<Vec<ShadowRecord>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(text
                .lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e).with_context(|| format!("reading {}", self.path.display())),
        }
    }

    /// Removes every record (after a promotion).
    pub fn clear(&self) -> anyhow::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", self.path.display()))
            }
            _ => Ok(()),
        }
    }
}

/// How often a candidate agreed with the active version, and where not.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DiffReport {
    /// The plugin name.
    pub plugin: String,
    /// Inputs compared.
    pub total: usize,
    /// Inputs on which both decided the same.
    pub agreed: usize,
    /// Every input on which they differed, oldest first.
    pub disagreements: Vec<ShadowRecord>,
}

impl DiffReport {
    /// The report over `records` of `candidate_version` (all candidates when `None`).
    pub fn from_records(plugin: &str, records: Vec<ShadowRecord>, candidate_version: Option<&str>) -> DiffReport {
        let records: Vec<ShadowRecord> = records
            .into_iter()
            .filter(|r| candidate_version.is_none_or(|v| r.candidate_version == v))
            .collect();
        let agreed = records.iter().filter(|r| r.agree).count();
        DiffReport {
            plugin: plugin.to_string(),
            total: records.len(),
            agreed,
            disagreements: records.into_iter().filter(|r| !r.agree).collect(),
        }
    }

    /// Share of inputs on which they agreed, 0..=1 (1 when nothing was compared).
    pub fn agreement_rate(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.agreed as f64 / self.total as f64
        }
    }
}

/// What one shadow comparison found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShadowSummary {
    /// Inputs compared.
    pub compared: usize,
    /// Inputs on which they agreed.
    pub agreed: usize,
}

/// Runs shadow candidates beside active calls and records both outputs.
#[derive(Clone)]
pub struct ShadowRunner {
    registry: Arc<PluginRegistry>,
    plugins_dir: PathBuf,
    /// A hosted tenant's runner records into the database instead.
    store: Option<(Arc<dyn crate::store::Store>, String)>,
}

impl std::fmt::Debug for ShadowRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShadowRunner")
            .field("plugins_dir", &self.plugins_dir)
            .field("tenant", &self.store.as_ref().map(|(_, tenant)| tenant))
            .finish_non_exhaustive()
    }
}

impl ShadowRunner {
    /// A runner for the candidates of `registry`, recording into `plugins_dir`.
    pub fn new(registry: Arc<PluginRegistry>, plugins_dir: &Path) -> ShadowRunner {
        ShadowRunner {
            registry,
            plugins_dir: plugins_dir.to_path_buf(),
            store: None,
        }
    }

    /// Records into `store` for `tenant` (hosted: every worker's comparisons
    /// in one place, read by `GET /api/v1/plugins/{name}/diff`).
    pub fn recording_in(mut self, store: Arc<dyn crate::store::Store>, tenant: &str) -> ShadowRunner {
        self.store = Some((store, tenant.to_string()));
        self
    }

    /// The candidate beside `active`, if one is installed (and is not `active` itself).
    pub(super) fn candidate(&self, active: &LoadedPlugin) -> Option<Arc<LoadedPlugin>> {
        self.registry
            .shadow_of(active.name())
            .filter(|c| c.sha256() != active.sha256())
    }

    pub(super) async fn record(
        &self,
        active: &LoadedPlugin,
        candidate: &LoadedPlugin,
        pairs: Vec<(String, String, String, bool)>,
    ) -> Option<ShadowSummary> {
        let at = Utc::now();
        let records: Vec<ShadowRecord> = pairs
            .into_iter()
            .map(|(input, active_output, candidate_output, agree)| ShadowRecord {
                at,
                plugin: active.name().to_string(),
                input,
                active_version: active.version().to_string(),
                active_output,
                candidate_version: candidate.version().to_string(),
                candidate_output,
                agree,
            })
            .collect();
        let summary = ShadowSummary {
            compared: records.len(),
            agreed: records.iter().filter(|r| r.agree).count(),
        };
        if let Some((store, tenant)) = &self.store {
            let stored: Vec<_> = records.into_iter().map(StoredShadowRecord::from).collect();
            // A comparison that cannot be recorded costs the comparison only.
            if let Err(error) = store.record_shadow(tenant, &stored).await {
                tracing::warn!(plugin = %active.name(), "cannot record shadow outputs: {error}");
            }
        } else if let Err(error) = ShadowLog::for_plugin(&self.plugins_dir, active.name()).append(&records) {
            tracing::warn!(plugin = %active.name(), "cannot record shadow outputs: {error:#}");
        }
        Some(summary)
    }
}

/// The candidate's scope: the same tenant and clock, no kv store.
pub(super) fn isolated(mut scope: CallScope) -> CallScope {
    scope.kv = None;
    scope
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(input: &str, agree: bool, candidate: &str) -> ShadowRecord {
        ShadowRecord {
            at: Utc::now(),
            plugin: "p".into(),
            input: input.into(),
            active_version: "aaa".into(),
            active_output: "0.5".into(),
            candidate_version: candidate.into(),
            candidate_output: "0.7".into(),
            agree,
        }
    }

    #[test]
    fn the_diff_counts_agreement_for_the_current_candidate_only() {
        let records = vec![
            record("a@x.com", true, "c1"),
            record("b@x.com", false, "c1"),
            record("c@x.com", false, "old"),
        ];
        let report = DiffReport::from_records("p", records.clone(), Some("c1"));
        assert_eq!((report.total, report.agreed), (2, 1));
        assert_eq!(report.disagreements[0].input, "b@x.com");
        assert!((report.agreement_rate() - 0.5).abs() < f64::EPSILON);
        assert_eq!(DiffReport::from_records("p", records, None).total, 3);
        assert_eq!(DiffReport::from_records("p", Vec::new(), None).agreement_rate(), 1.0);
    }

    #[test]
    fn shadow_records_append_and_read_back_as_json_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = ShadowLog::for_plugin(dir.path(), "p");
        assert!(log.read().expect("reads").is_empty());
        log.append(&[record("a@x.com", true, "c1")]).expect("appends");
        log.append(&[record("b@x.com", false, "c1")]).expect("appends");
        assert_eq!(log.read().expect("reads").len(), 2);
        log.clear().expect("clears");
        assert!(log.read().expect("reads").is_empty());
    }
}
