//! A loaded, validated plugin version and the typed calls into it.
//!
//! Every call gets a fresh `Store` (instantiation from an `InstancePre` in the
//! pooling allocator is cheap) with its own memory cap, epoch deadline and a
//! tokio timeout that also covers time spent waiting in host imports.

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Store, Trap};

use super::cache::{CacheOutcome, CompileCache};
use super::health::Health;
use super::manifest::{Manifest, PluginKind};
use crate::runtime::bindings::types::{
    CampaignSnapshot, Classification, Decision, Enrichment, InboundReply, Lead, LeadPage, PluginInfo, Score,
};
use crate::runtime::bindings::{decision_rule, enricher, lead_source, reply_classifier, scorer};
use crate::runtime::engine::EPOCH_TICK;
use crate::runtime::error::CapabilityDenied;
use crate::runtime::state::{CallScope, PluginIdentity, PluginState};
use crate::runtime::wire_size::WireSize;
use crate::runtime::{FailureKind, PluginError, Runtime};

/// Hex digits of the sha256 used as the short version name.
const VERSION_DIGITS: usize = 12;

/// The pre-instantiated component, typed by world.
#[derive(Clone)]
enum WorldPre {
    LeadSource(lead_source::LeadSourcePre<PluginState>),
    Enricher(enricher::EnricherPre<PluginState>),
    Scorer(scorer::ScorerPre<PluginState>),
    ReplyClassifier(reply_classifier::ReplyClassifierPre<PluginState>),
    DecisionRule(decision_rule::DecisionRulePre<PluginState>),
}

/// One loaded and validated plugin version.
pub struct LoadedPlugin {
    identity: Arc<PluginIdentity>,
    kind: PluginKind,
    sha256: String,
    info: PluginInfo,
    manifest: Manifest,
    notes: Vec<String>,
    pre: WorldPre,
    component: Component,
    health: Health,
    call_permits: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.identity.name)
            .field("version", &self.identity.version)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The sha256 of a component's bytes, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl LoadedPlugin {
    /// Loads `path` and the manifest beside it: parse the manifest, compile,
    /// check the world, and smoke-call `describe`.
    pub async fn load_file(runtime: &Runtime, path: &Path, scope: CallScope) -> Result<LoadedPlugin, PluginError> {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "plugin".into());
        let bytes = tokio::fs::read(path).await.map_err(|e| {
            PluginError::new(
                FailureKind::InvalidComponent,
                &stem,
                "-",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let manifest = Manifest::load_for(path).map_err(|e| {
            PluginError::new(
                FailureKind::InvalidManifest,
                &stem,
                &short(&sha256_hex(&bytes)),
                e.to_string(),
            )
        })?;
        LoadedPlugin::load(runtime, &bytes, manifest, &stem, &path.display().to_string(), scope).await
    }

    /// Loads a component from bytes with an already-parsed manifest. `default_name`
    /// is used when the manifest has no `name`; `origin` names the source in errors.
    pub async fn load(
        runtime: &Runtime,
        bytes: &[u8],
        manifest: Manifest,
        default_name: &str,
        origin: &str,
        scope: CallScope,
    ) -> Result<LoadedPlugin, PluginError> {
        let sha256 = sha256_hex(bytes);
        let component = Component::new(runtime.engine(), bytes).map_err(|e| {
            let name = manifest.name.clone().unwrap_or_else(|| default_name.to_string());
            PluginError::new(
                FailureKind::InvalidComponent,
                &name,
                &short(&sha256),
                format!("{origin} is not a loadable WebAssembly component: {}", root_cause(&e)),
            )
        })?;
        LoadedPlugin::load_compiled(runtime, component, sha256, manifest, default_name, origin, scope).await
    }

    /// Like [`LoadedPlugin::load_file`], compiling through `cache` on a
    /// blocking thread (a cache hit deserializes instead of compiling), as
    /// the reloader does. Says whether the component came from the cache.
    pub async fn load_file_cached(
        runtime: &Runtime,
        path: &Path,
        cache: Option<Arc<CompileCache>>,
        scope: CallScope,
    ) -> Result<(LoadedPlugin, CacheOutcome), PluginError> {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "plugin".into());
        let bytes = tokio::fs::read(path).await.map_err(|e| {
            PluginError::new(
                FailureKind::InvalidComponent,
                &stem,
                "-",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let sha256 = sha256_hex(&bytes);
        let manifest = Manifest::load_for(path)
            .map_err(|e| PluginError::new(FailureKind::InvalidManifest, &stem, &short(&sha256), e.to_string()))?;
        let name = manifest.name.clone().unwrap_or_else(|| stem.clone());
        let origin = path.display().to_string();
        let engine = runtime.engine().clone();
        let sha = sha256.clone();
        let compiled = tokio::task::spawn_blocking(move || match cache {
            Some(cache) => cache.compile(&engine, &bytes, &sha),
            None => Component::new(&engine, &bytes).map(|c| (c, CacheOutcome::Compiled)),
        })
        .await;
        let (component, outcome) = match compiled {
            Ok(Ok(compiled)) => compiled,
            Ok(Err(e)) => {
                return Err(PluginError::new(
                    FailureKind::InvalidComponent,
                    &name,
                    &short(&sha256),
                    format!("{origin} is not a loadable WebAssembly component: {}", root_cause(&e)),
                ));
            }
            Err(join) => {
                return Err(PluginError::new(
                    FailureKind::InvalidComponent,
                    &name,
                    &short(&sha256),
                    format!("compiling {origin} failed: {join}"),
                ));
            }
        };
        let plugin = LoadedPlugin::load_compiled(runtime, component, sha256, manifest, &stem, &origin, scope).await?;
        Ok((plugin, outcome))
    }

    /// Like [`LoadedPlugin::load`] for a component compiled already (by the
    /// hot-reload compile cache, off the async runtime): checks the world and
    /// smoke-calls `describe`. `sha256` is the hex sha256 of the component's bytes.
    pub async fn load_compiled(
        runtime: &Runtime,
        component: Component,
        sha256: String,
        manifest: Manifest,
        default_name: &str,
        origin: &str,
        scope: CallScope,
    ) -> Result<LoadedPlugin, PluginError> {
        let version = short(&sha256);
        let name = manifest.name.clone().unwrap_or_else(|| default_name.to_string());
        let fail = |kind, message: String| PluginError::new(kind, &name, &version, message);
        let pre = world_pre(runtime, &component, manifest.kind)
            .map_err(|message| fail(FailureKind::WrongWorld, format!("{origin}: {message}")))?;
        let (limits, notes) = runtime.limits().lowered_by(&manifest.limits);
        for note in &notes {
            tracing::warn!(plugin = %name, version = %version, "{note}");
        }
        let identity = Arc::new(PluginIdentity {
            name: name.clone(),
            version: version.clone(),
            grants: manifest.capabilities.clone(),
            config: manifest.config_values(),
            limits,
        });
        let mut plugin = LoadedPlugin {
            identity,
            kind: manifest.kind,
            sha256,
            info: PluginInfo {
                name: name.clone(),
                version: String::new(),
                description: String::new(),
                needs: Vec::new(),
            },
            manifest,
            notes,
            pre,
            component,
            health: Health::default(),
            call_permits: runtime.call_permits(),
        };
        // In audit mode (`cam plugins check`) needs that are not granted are
        // the checker's to report, beside what the calls really use.
        let audited = scope.audit.is_some();
        let info = plugin.describe(scope).await?;
        let missing: Vec<&str> = info
            .needs
            .iter()
            .map(|c| capability_name(*c))
            .filter(|c| !plugin.manifest.capabilities.allows(c))
            .collect();
        if !missing.is_empty() && !audited {
            return Err(fail(
                FailureKind::CapabilityDenied,
                format!(
                    "{origin}: the plugin needs {} but its manifest does not grant it; add it under [capabilities]",
                    missing.join(", ")
                ),
            ));
        }
        plugin.info = info;
        Ok(plugin)
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.identity.name
    }

    /// Its version: the first 12 hex digits of the sha256.
    pub fn version(&self) -> &str {
        &self.identity.version
    }

    /// The full sha256 of the component.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Its kind.
    pub fn kind(&self) -> PluginKind {
        self.kind
    }

    /// What `describe` returned at load.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// The manifest it was loaded with.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Notes from loading (limits clamped to the operator's maxima).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The compiled component (for the on-disk cache).
    pub fn component(&self) -> &Component {
        &self.component
    }

    /// The version's health and quarantine state.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The effective limits of its calls.
    pub fn identity(&self) -> &PluginIdentity {
        &self.identity
    }

    /// Calls `describe`.
    pub async fn describe(&self, scope: CallScope) -> Result<PluginInfo, PluginError> {
        let pre = self.pre.clone();
        self.guarded(scope, 0, async move |store: &mut Store<PluginState>| match &pre {
            WorldPre::LeadSource(p) => p.instantiate_async(&mut *store).await?.call_describe(&mut *store).await,
            WorldPre::Enricher(p) => p.instantiate_async(&mut *store).await?.call_describe(&mut *store).await,
            WorldPre::Scorer(p) => p.instantiate_async(&mut *store).await?.call_describe(&mut *store).await,
            WorldPre::ReplyClassifier(p) => p.instantiate_async(&mut *store).await?.call_describe(&mut *store).await,
            WorldPre::DecisionRule(p) => p.instantiate_async(&mut *store).await?.call_describe(&mut *store).await,
        })
        .await
    }

    /// `describe` on a fresh store with none of the call guard (no deadline,
    /// memory limiter, timeout or health tracking): the benchmark's baseline
    /// for what the guard costs. Not for production use.
    #[doc(hidden)]
    pub async fn describe_unguarded(&self, scope: CallScope) -> wasmtime::Result<PluginInfo> {
        let mut store = Store::new(self.component.engine(), PluginState::new(self.identity.clone(), scope));
        store.set_epoch_deadline(u64::MAX / 2);
        let store = &mut store;
        match &self.pre {
            WorldPre::LeadSource(p) => p.instantiate_async(&mut *store).await?.call_describe(&mut *store).await,
            WorldPre::Enricher(p) => p.instantiate_async(&mut *store).await?.call_describe(&mut *store).await,
            WorldPre::Scorer(p) => p.instantiate_async(&mut *store).await?.call_describe(&mut *store).await,
            WorldPre::ReplyClassifier(p) => p.instantiate_async(&mut *store).await?.call_describe(&mut *store).await,
            WorldPre::DecisionRule(p) => p.instantiate_async(&mut *store).await?.call_describe(&mut *store).await,
        }
    }

    /// Lead source: the page after `cursor`.
    pub async fn next_page(&self, scope: CallScope, cursor: Option<&str>, limit: u32) -> Result<LeadPage, PluginError> {
        let WorldPre::LeadSource(pre) = &self.pre else {
            return Err(self.wrong_kind(PluginKind::LeadSource));
        };
        let result = self
            .guarded(
                scope,
                cursor.map_or(0, |c| c.len()),
                async |store: &mut Store<PluginState>| {
                    pre.instantiate_async(&mut *store)
                        .await?
                        .call_next_page(&mut *store, cursor, limit)
                        .await
                },
            )
            .await?;
        self.plugin_result(result)
    }

    /// Enricher: one result per lead, in order.
    pub async fn enrich(
        &self,
        scope: CallScope,
        leads: &[Lead],
    ) -> Result<Vec<Result<Enrichment, String>>, PluginError> {
        let WorldPre::Enricher(pre) = &self.pre else {
            return Err(self.wrong_kind(PluginKind::Enricher));
        };
        let out = self
            .guarded(scope, leads.wire_size(), async |store: &mut Store<PluginState>| {
                pre.instantiate_async(&mut *store)
                    .await?
                    .call_enrich(&mut *store, leads)
                    .await
            })
            .await?;
        self.expect_len(out, leads.len())
    }

    /// Scorer: one score per lead, in order, each within 0..=1.
    pub async fn score(&self, scope: CallScope, leads: &[Lead]) -> Result<Vec<Score>, PluginError> {
        let WorldPre::Scorer(pre) = &self.pre else {
            return Err(self.wrong_kind(PluginKind::Scorer));
        };
        let result = self
            .guarded(scope, leads.wire_size(), async |store: &mut Store<PluginState>| {
                pre.instantiate_async(&mut *store)
                    .await?
                    .call_score(&mut *store, leads)
                    .await
            })
            .await?;
        let scores = self.expect_len(self.plugin_result(result)?, leads.len())?;
        if let Some((i, s)) = scores.iter().enumerate().find(|(_, s)| !(0.0..=1.0).contains(&s.value)) {
            return Err(self.failed(
                FailureKind::PluginError,
                format!("score {} for lead {} ({}) is outside 0..=1", s.value, i, leads[i].email),
            ));
        }
        Ok(scores)
    }

    /// Reply classifier: a label for one reply.
    pub async fn classify(&self, scope: CallScope, reply: &InboundReply) -> Result<Classification, PluginError> {
        let WorldPre::ReplyClassifier(pre) = &self.pre else {
            return Err(self.wrong_kind(PluginKind::ReplyClassifier));
        };
        self.guarded(scope, reply.wire_size(), async |store: &mut Store<PluginState>| {
            pre.instantiate_async(&mut *store)
                .await?
                .call_classify(&mut *store, reply)
                .await
        })
        .await
    }

    /// Decision rule: actions for one campaign.
    pub async fn decide(&self, scope: CallScope, snapshot: &CampaignSnapshot) -> Result<Vec<Decision>, PluginError> {
        let WorldPre::DecisionRule(pre) = &self.pre else {
            return Err(self.wrong_kind(PluginKind::DecisionRule));
        };
        self.guarded(scope, snapshot.wire_size(), async |store: &mut Store<PluginState>| {
            pre.instantiate_async(&mut *store)
                .await?
                .call_decide(&mut *store, snapshot)
                .await
        })
        .await
    }

    /// Runs one call under every limit and turns any failure into a typed
    /// [`PluginError`], recording it in the version's health.
    async fn guarded<R, F>(&self, scope: CallScope, input_bytes: usize, call: F) -> Result<R, PluginError>
    where
        R: WireSize,
        F: AsyncFnOnce(&mut Store<PluginState>) -> wasmtime::Result<R>,
    {
        if self.health.is_quarantined() {
            return Err(self.error(
                FailureKind::Quarantined,
                "quarantined after repeated failures; load a new version or release it (`cam plugins release`)".into(),
            ));
        }
        let limits = self.identity.limits;
        if input_bytes > limits.max_input_bytes {
            return Err(self.failed(
                FailureKind::InputTooLarge,
                format!(
                    "input of {input_bytes} bytes exceeds the {} byte cap; use smaller batches",
                    limits.max_input_bytes
                ),
            ));
        }
        let Ok(_permit) = self.call_permits.acquire().await else {
            return Err(self.error(FailureKind::Host, "the runtime is shutting down".into()));
        };
        let engine = self.component.engine();
        let audit = scope.audit.clone();
        let started = std::time::Instant::now();
        let mut store = Store::new(engine, PluginState::new(self.identity.clone(), scope));
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(Runtime::ticks_for(limits.timeout));
        store.epoch_deadline_trap();
        // The epoch catches guest code that spins; the timer catches time spent
        // blocked in host imports (a sleep, a slow HTTP call). It gets a little
        // slack so a spinning guest is reported by the epoch first.
        let outcome = tokio::time::timeout(limits.timeout + EPOCH_TICK * 4, call(&mut store)).await;
        if let Some(audit) = &audit {
            audit.finish(store.data(), started.elapsed());
        }
        let counters = store.data().counters;
        if counters.log_dropped > 0 {
            tracing::warn!(
                plugin = %self.identity.name,
                version = %self.identity.version,
                "dropped {} log lines past the limit of {} per call",
                counters.log_dropped,
                limits.max_log_lines
            );
        }
        let value = match outcome {
            Err(_elapsed) => {
                return Err(self.failed(
                    FailureKind::Timeout,
                    format!(
                        "no answer within {} ms (blocked in a host call)",
                        limits.timeout.as_millis()
                    ),
                ));
            }
            Ok(Err(error)) => {
                let (kind, message) = classify_error(&error, store.data(), limits.timeout);
                return Err(self.failed(kind, message));
            }
            Ok(Ok(value)) => value,
        };
        let output_bytes = value.wire_size();
        if output_bytes > limits.max_output_bytes {
            return Err(self.failed(
                FailureKind::OutputTooLarge,
                format!(
                    "returned {output_bytes} bytes, more than the {} byte cap",
                    limits.max_output_bytes
                ),
            ));
        }
        self.health.record_success();
        Ok(value)
    }

    fn plugin_result<T>(&self, result: Result<T, String>) -> Result<T, PluginError> {
        result.map_err(|message| self.failed(FailureKind::PluginError, message))
    }

    fn expect_len<T>(&self, items: Vec<T>, expected: usize) -> Result<Vec<T>, PluginError> {
        if items.len() != expected {
            return Err(self.failed(
                FailureKind::PluginError,
                format!(
                    "returned {} results for {expected} leads; the contract is one per lead, in order",
                    items.len()
                ),
            ));
        }
        Ok(items)
    }

    fn wrong_kind(&self, wanted: PluginKind) -> PluginError {
        self.error(FailureKind::WrongWorld, format!("is a {}, not a {wanted}", self.kind))
    }

    fn error(&self, kind: FailureKind, message: String) -> PluginError {
        PluginError::new(kind, &self.identity.name, &self.identity.version, message)
    }

    /// An error that is also recorded in the version's health.
    fn failed(&self, kind: FailureKind, message: String) -> PluginError {
        if self
            .health
            .record_failure(kind, &message, self.identity.limits.quarantine_after)
        {
            tracing::error!(
                plugin = %self.identity.name,
                version = %self.identity.version,
                "quarantined after {} failures in a row; last: {kind}: {message}",
                self.identity.limits.quarantine_after
            );
        } else {
            tracing::warn!(plugin = %self.identity.name, version = %self.identity.version, "plugin call failed: {kind}: {message}");
        }
        self.error(kind, message)
    }
}

/// Typed pre-instantiation for the manifest's world, with a message that says
/// which world the component does implement when it is not the declared one.
fn world_pre(runtime: &Runtime, component: &Component, kind: PluginKind) -> Result<WorldPre, String> {
    let instance_pre = runtime.linker().instantiate_pre(component).map_err(|e| {
        format!("the component imports something the host does not provide ({}); plugins may import only cam:plugin and WASI interfaces", root_cause(&e))
    })?;
    let typed = match kind {
        PluginKind::LeadSource => lead_source::LeadSourcePre::new(instance_pre).map(WorldPre::LeadSource),
        PluginKind::Enricher => enricher::EnricherPre::new(instance_pre).map(WorldPre::Enricher),
        PluginKind::Scorer => scorer::ScorerPre::new(instance_pre).map(WorldPre::Scorer),
        PluginKind::ReplyClassifier => {
            reply_classifier::ReplyClassifierPre::new(instance_pre).map(WorldPre::ReplyClassifier)
        }
        PluginKind::DecisionRule => decision_rule::DecisionRulePre::new(instance_pre).map(WorldPre::DecisionRule),
    };
    typed.map_err(|e| {
        let exports: Vec<String> = component
            .component_type()
            .exports(runtime.engine())
            .map(|(name, _)| name.to_string())
            .collect();
        let actual = PluginKind::ALL
            .into_iter()
            .find(|k| exports.iter().any(|e| e == k.main_export()))
            .map(|k| format!("it looks like a {k} (exports {})", exports.join(", ")))
            .unwrap_or_else(|| format!("it exports {}", if exports.is_empty() { "nothing".into() } else { exports.join(", ") }));
        format!(
            "the manifest declares kind = \"{kind}\" but the component does not implement the {kind} world: {}; {actual}. Fix the manifest's kind or build against the {kind} world",
            root_cause(&e)
        )
    })
}

/// Maps a wasmtime error from a call to a failure kind and a message.
fn classify_error(error: &wasmtime::Error, state: &PluginState, timeout: std::time::Duration) -> (FailureKind, String) {
    if let Some(denied) = error.downcast_ref::<CapabilityDenied>() {
        return (FailureKind::CapabilityDenied, denied.to_string());
    }
    let stderr = state.stderr_text();
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => (
            FailureKind::Timeout,
            format!("ran past its {} ms deadline and was interrupted", timeout.as_millis()),
        ),
        Some(Trap::StackOverflow) => (
            FailureKind::StackOverflow,
            "overflowed its stack (unbounded recursion?)".into(),
        ),
        Some(_) if state.limiter.memory_denied => (
            FailureKind::MemoryLimit,
            format!(
                "tried to grow its memory past {} MiB",
                state.identity.limits.memory_bytes >> 20
            ),
        ),
        Some(trap) => {
            let panic = stderr.lines().find(|l| l.contains("panicked at")).map(str::to_string);
            let detail = match panic {
                Some(line) => {
                    let message = stderr
                        .split_once(&line)
                        .map(|(_, rest)| rest.trim())
                        .unwrap_or_default();
                    format!("panicked: {} {}", line.trim(), first_line(message))
                }
                None if !stderr.is_empty() => format!("trapped ({trap}): {}", first_line(&stderr)),
                None => format!("trapped: {trap}"),
            };
            (FailureKind::Trap, detail.trim().to_string())
        }
        None if state.limiter.memory_denied => (
            FailureKind::MemoryLimit,
            format!(
                "needs more than its {} MiB memory cap: {}",
                state.identity.limits.memory_bytes >> 20,
                root_cause(error)
            ),
        ),
        None => (FailureKind::Trap, root_cause(error)),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

fn root_cause(error: &wasmtime::Error) -> String {
    format!("{error:#}")
}

fn short(sha256: &str) -> String {
    sha256.chars().take(VERSION_DIGITS).collect()
}

fn capability_name(capability: crate::runtime::bindings::types::Capability) -> &'static str {
    use crate::runtime::bindings::types::Capability;
    match capability {
        Capability::Log => "log",
        Capability::Config => "config",
        Capability::Kv => "kv",
        Capability::Http => "http",
        Capability::Clock => "clock",
    }
}
