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
use super::kinds::WorldPre;
use super::manifest::{Manifest, PluginKind};
use crate::runtime::bindings::types::PluginInfo;
use crate::runtime::call_gate::CallGate;
use crate::runtime::engine::EPOCH_TICK;
use crate::runtime::error::CapabilityDenied;
use crate::runtime::guest_text::escaped;
use crate::runtime::net_policy;
use crate::runtime::output_check::{CheckOutput, InvalidOutput};
use crate::runtime::state::{CallScope, PluginIdentity, PluginState};
use crate::runtime::wasm_limits;
use crate::runtime::wire_size::WireSize;
use crate::runtime::{FailureKind, PluginError, Runtime};

/// Hex digits of the sha256 used as the short version name.
const VERSION_DIGITS: usize = 12;

/// One loaded and validated plugin version.
pub struct LoadedPlugin {
    identity: Arc<PluginIdentity>,
    kind: PluginKind,
    sha256: String,
    info: PluginInfo,
    manifest: Manifest,
    notes: Vec<String>,
    pub(super) pre: WorldPre,
    component: Component,
    health: Health,
    calls: Arc<CallGate>,
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
                format!("{origin} is not a loadable WebAssembly component: {}", load_error(&e)),
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
        let origin = path.display().to_string();
        LoadedPlugin::load_bytes_cached(runtime, bytes, manifest, &stem, &origin, cache, scope).await
    }

    /// Loads a component from bytes, compiling through `cache` on a blocking
    /// thread (a cache hit, or a component another tenant loaded, costs no
    /// compile). Says where the component came from.
    pub async fn load_bytes_cached(
        runtime: &Runtime,
        bytes: Vec<u8>,
        manifest: Manifest,
        default_name: &str,
        origin: &str,
        cache: Option<Arc<CompileCache>>,
        scope: CallScope,
    ) -> Result<(LoadedPlugin, CacheOutcome), PluginError> {
        let sha256 = sha256_hex(&bytes);
        let name = manifest.name.clone().unwrap_or_else(|| default_name.to_string());
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
                    format!("{origin} is not a loadable WebAssembly component: {}", load_error(&e)),
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
        let plugin =
            LoadedPlugin::load_compiled(runtime, component, sha256, manifest, default_name, origin, scope).await?;
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
        // The tenant's ceilings first (its manifests cannot ask past them),
        // then the manifest's own asks.
        let (ceiling, _) = runtime.limits().lowered_by(&scope.ceiling.limits);
        let (limits, notes) = ceiling.lowered_by(&manifest.limits);
        let mut grants = manifest.capabilities.clone();
        if let (Some(kv), Some(most)) = (grants.kv.as_mut(), scope.ceiling.kv_bytes) {
            kv.quota_bytes = kv.quota_bytes.min(most);
        }
        for note in &notes {
            tracing::warn!(plugin = %name, version = %version, "{note}");
        }
        let http_client = manifest
            .capabilities
            .http
            .as_ref()
            .map(|grant| net_policy::plugin_http_client(&grant.allow))
            .transpose()
            .map_err(|e| fail(FailureKind::Host, format!("creating the plugin's HTTP client: {e}")))?;
        let identity = Arc::new(PluginIdentity {
            name: name.clone(),
            version: version.clone(),
            grants,
            config: manifest.config_values(),
            limits,
            http_client,
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
            calls: runtime.calls(),
        };
        // In audit mode (`cam plugins check`) needs that are not granted are
        // the checker's to report, beside what the calls really use.
        let audited = scope.audit.is_some();
        let info = plugin.describe(scope).await?;
        let missing: Vec<&str> = info
            .needs
            .iter()
            .filter(|c| !plugin.manifest.capabilities.grants(**c))
            .map(|c| c.name())
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
        self.guarded(scope, "describe", 0, async move |store: &mut Store<PluginState>| {
            pre.describe(store).await
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
        self.pre.describe(&mut store).await
    }

    /// Runs one call under every limit and turns any failure into a typed
    /// [`PluginError`], recording it in the version's health.
    pub(super) async fn guarded<R, F>(
        &self,
        scope: CallScope,
        export: &str,
        input_bytes: usize,
        call: F,
    ) -> Result<R, PluginError>
    where
        R: WireSize + CheckOutput,
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
        let Some(_permit) = self.calls.enter(&scope.tenant).await else {
            return Err(self.error(FailureKind::Host, "the runtime is shutting down".into()));
        };
        let engine = self.component.engine();
        let audit = scope.audit.clone();
        let started = std::time::Instant::now();
        let mut store = Store::new(engine, PluginState::new(self.identity.clone(), scope));
        store.limiter(|state| &mut state.limiter);
        wasm_limits::limit_store(&mut store, limits.max_output_bytes);
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
                let failure = classify_error(&error, store.data(), limits.timeout, export);
                let message = match &failure.plugin_stderr {
                    Some(stderr) => format!("{}; plugin stderr: {stderr}", failure.message),
                    None => failure.message,
                };
                let mut error = self.failed(failure.kind, message);
                error.plugin_stderr = failure.plugin_stderr.map(String::into_boxed_str);
                return Err(error);
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
        if let Err(invalid) = value.check_output() {
            return Err(self.invalid_output(export, &invalid));
        }
        self.health.record_success();
        Ok(value)
    }

    /// The `plugin-error` for an output that breaks the contract, naming the
    /// field; recorded in the version's health like any failed call.
    pub(super) fn invalid_output(&self, export: &str, invalid: &InvalidOutput) -> PluginError {
        let field = invalid.path_under(export);
        let mut error = self.failed(
            FailureKind::PluginError,
            format!("invalid output: `{field}` {}", invalid.problem),
        );
        error.field = Some(field.into());
        error
    }

    /// The `ok` of a `result` the plugin returned; its `err` is a
    /// `plugin-error` whose message is the plugin's text, escaped (it goes
    /// into log lines) and cut to [`PLUGIN_ERROR_CHARS`].
    pub(super) fn plugin_result<T>(&self, result: Result<T, String>) -> Result<T, PluginError> {
        result.map_err(|message| self.failed(FailureKind::PluginError, escaped(&message, PLUGIN_ERROR_CHARS)))
    }

    /// `items` when it holds one entry per each of `expected` inputs (what
    /// `export` promises), else the `plugin-error` naming the list.
    pub(super) fn expect_len<T>(&self, export: &str, items: Vec<T>, expected: usize) -> Result<Vec<T>, PluginError> {
        if items.len() != expected {
            return Err(self.invalid_output(export, &InvalidOutput::wrong_length(items.len(), expected)));
        }
        Ok(items)
    }

    pub(super) fn wrong_kind(&self, wanted: PluginKind) -> PluginError {
        self.error(FailureKind::WrongWorld, format!("is a {}, not a {wanted}", self.kind))
    }

    fn error(&self, kind: FailureKind, message: String) -> PluginError {
        PluginError::new(kind, &self.identity.name, &self.identity.version, message)
    }

    /// An error that is also recorded in the version's health.
    pub(super) fn failed(&self, kind: FailureKind, message: String) -> PluginError {
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
        format!("the component imports something the host does not provide ({}); plugins may import only cam:plugin and WASI interfaces", load_error(&e))
    })?;
    WorldPre::new(kind, instance_pre).map_err(|e| {
        let exports: Vec<String> = component
            .component_type()
            .exports(runtime.engine())
            .map(|(name, _)| name.to_string())
            .collect();
        let looks_like = PluginKind::ALL
            .into_iter()
            .find(|k| exports.iter().any(|e| e == k.main_export()));
        let exports = name_list(&exports);
        let actual = match looks_like {
            Some(k) => {
                let article = if k.as_str().starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
                format!("it looks like {article} {k} (exports {exports})")
            }
            None => format!("it exports {exports}"),
        };
        format!(
            "the manifest declares kind = \"{kind}\" but the component does not implement the {kind} world: {}; {actual}. Fix the manifest's kind or build against the {kind} world",
            load_error(&e)
        )
    })
}

/// A failed call as [`classify_error`] reads it.
struct CallFailure {
    kind: FailureKind,
    /// The host's account, built from what the host knows (never from the
    /// guest's stderr).
    message: String,
    /// What the guest wrote to stderr that explains it, escaped and cut short.
    plugin_stderr: Option<String>,
}

/// Maps a wasmtime error from a call to `export` to a failure kind, the
/// host's message and, for a trap, the guest's own account from its stderr.
fn classify_error(
    error: &wasmtime::Error,
    state: &PluginState,
    timeout: std::time::Duration,
    export: &str,
) -> CallFailure {
    let host = |kind, message: String| CallFailure {
        kind,
        message,
        plugin_stderr: None,
    };
    if let Some(denied) = error.downcast_ref::<CapabilityDenied>() {
        return host(FailureKind::CapabilityDenied, denied.to_string());
    }
    if wasm_limits::is_hostcall_fuel_exhausted(error) {
        return host(
            FailureKind::OutputTooLarge,
            format!(
                "passed the host more than the {} byte cap in one transfer (its result or an import's arguments)",
                wasm_limits::hostcall_fuel(state.identity.limits.max_output_bytes)
            ),
        );
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => host(
            FailureKind::Timeout,
            format!("ran past its {} ms deadline and was interrupted", timeout.as_millis()),
        ),
        Some(Trap::StackOverflow) => host(
            FailureKind::StackOverflow,
            "overflowed its stack (unbounded recursion?)".into(),
        ),
        Some(_) if state.limiter.memory_denied => host(
            FailureKind::MemoryLimit,
            format!(
                "tried to grow its memory past the call's budget of {} MiB (all its memories and tables together)",
                state.identity.limits.memory_bytes >> 20
            ),
        ),
        Some(trap) => {
            let stderr = state.stderr_text();
            let plugin_stderr = guest_report(&stderr, wit_value_in_backtrace(error).as_deref())
                .or_else(|| stderr.lines().map(str::trim).find(|l| !l.is_empty()).map(guest_text));
            CallFailure {
                kind: FailureKind::Trap,
                message: format!("trap in `{export}`: {trap}"),
                plugin_stderr,
            }
        }
        None if state.limiter.memory_denied => host(
            FailureKind::MemoryLimit,
            format!(
                "needs more than the call's memory budget of {} MiB: {}",
                state.identity.limits.memory_bytes >> 20,
                escaped(&root_cause(error), usize::MAX)
            ),
        ),
        None => host(FailureKind::Trap, escaped(&root_cause(error), usize::MAX)),
    }
}

/// Characters of a guest's own words kept in a failure message.
const GUEST_TEXT_CHARS: usize = 300;
/// Characters kept of the error text a plugin returns as its `err`: its own
/// account of what went wrong, so longer than a stderr summary.
const PLUGIN_ERROR_CHARS: usize = 1000;

/// Text a guest wrote, made safe to show inside a host message: control and
/// bidirectional-override characters escaped (a plugin cannot start a new
/// log line or recolour a terminal), and cut to [`GUEST_TEXT_CHARS`].
fn guest_text(text: &str) -> String {
    escaped(text, GUEST_TEXT_CHARS)
}

/// The language runtime's account of a trap, from the guest's stderr: a
/// Python exception (componentize-py), a JavaScript exception
/// (componentize-js / StarlingMonkey) or a Rust panic, each labelled so the
/// guest's words never read as the host's. `wit_value` is the WIT type a
/// Python value was being converted to, when the backtrace shows one.
/// `None` when stderr holds none of these.
fn guest_report(stderr: &str, wit_value: Option<&str>) -> Option<String> {
    python_traceback(stderr)
        .or_else(|| python_conversion_error(stderr, wit_value))
        .or_else(|| javascript_exception(stderr))
        .or_else(|| rust_panic(stderr))
}

/// `Name: detail` for an exception named like a Python or JavaScript class
/// (`TypeError`, `json.decoder.JSONDecodeError`); anything else is all detail.
fn exception_name(text: &str) -> (Option<&str>, &str) {
    let (name, detail) = text.split_once(':').unwrap_or((text, ""));
    let is_name = !name.is_empty()
        && name.len() <= 100
        && name.split('.').all(|part| {
            part.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if is_name {
        (Some(name), detail.trim())
    } else {
        (None, text)
    }
}

/// A Python traceback (an exception escaped the export): the last
/// traceback's exception line, with the innermost frame's file and line.
fn python_traceback(stderr: &str) -> Option<String> {
    let start = stderr.rfind("Traceback (most recent call last):")?;
    let mut location = None;
    let mut exception: Vec<&str> = Vec::new();
    for line in stderr[start..].lines().skip(1) {
        if exception.is_empty() {
            if line.starts_with([' ', '\t']) {
                if let Some(frame) = line.trim().strip_prefix("File \"") {
                    location = Some(frame);
                }
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
        } else if line.trim().is_empty() || line.starts_with("thread '") {
            break;
        }
        exception.push(line);
    }
    let first = exception.first()?;
    let (name, detail) = exception_name(first);
    // A message over several lines keeps them, escaped as `\n`.
    let detail = std::iter::once(detail)
        .chain(exception[1..].iter().copied())
        .collect::<Vec<_>>()
        .join("\n");
    // `File "/0/app.py", line 21, in classify` → `app.py:21 in classify`
    let at = location
        .and_then(|frame| {
            let (path, rest) = frame.split_once('"')?;
            let path = path.strip_prefix("/0/").unwrap_or(path);
            let rest = rest.trim_start_matches(", line ");
            let (line, function) = rest.split_once(", in ").unwrap_or((rest, ""));
            Some(format!(
                " (at {}:{} in {})",
                guest_text(path),
                guest_text(line),
                guest_text(function)
            ))
        })
        .unwrap_or_default();
    Some(match name {
        Some(name) => format!("Python raised {}: {}{at}", guest_text(name), guest_text(&detail)),
        None => format!("Python raised an exception: {}{at}", guest_text(&detail)),
    })
}

/// componentize-py's glue failing to convert what the Python code returned
/// into its WIT type (a `str` where an `f32` goes, a `dict` for a record):
/// it panics with `PyErr { type: <class 'TypeError'>, value:
/// TypeError('must be real number, not str'), traceback: None }`.
fn python_conversion_error(stderr: &str, wit_value: Option<&str>) -> Option<String> {
    let rest = &stderr[stderr.find("PyErr { type: <class '")? + "PyErr { type: <class '".len()..];
    let (class, rest) = rest.split_once("'>")?;
    let value = rest.trim_start_matches(", value: ");
    let value = value
        .rfind(", traceback: ")
        .map_or(value.lines().next().unwrap_or_default(), |end| &value[..end]);
    // `TypeError('text')` → `text`
    let short = class.rsplit('.').next().unwrap_or(class);
    let args = value
        .strip_prefix(short)
        .and_then(|v| v.strip_prefix('('))
        .and_then(|v| v.strip_suffix(')'))
        .unwrap_or(value);
    let detail = [('\'', '\''), ('"', '"')]
        .into_iter()
        .find_map(|(open, close)| args.strip_prefix(open)?.strip_suffix(close))
        .unwrap_or(args);
    let (name, _) = exception_name(class);
    let name = name.map_or_else(|| "an exception".to_string(), guest_text);
    let converting = match wit_value {
        Some(wit) => format!(" converting a value to WIT {wit}"),
        None => " converting a value to WIT".to_string(),
    };
    Some(format!("Python raised {name}{converting}: {}", guest_text(detail)))
}

/// The WIT type componentize-py was converting a Python value to when it
/// trapped: its `wit_dylib_pop_<type>` frame in the wasm backtrace.
fn wit_value_in_backtrace(error: &wasmtime::Error) -> Option<String> {
    let backtrace = error.downcast_ref::<wasmtime::WasmBacktrace>()?;
    backtrace.frames().iter().find_map(|frame| {
        let name = frame.func_name()?;
        let wit = &name[name.find("wit_dylib_pop_")? + "wit_dylib_pop_".len()..];
        let wit: String = wit
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(20)
            .collect();
        (!wit.is_empty()).then_some(wit)
    })
}

/// An exception as StarlingMonkey (componentize-js) prints it when the
/// component has stdio: the message, `Stack:` with `function@file:line:col`
/// frames, then `Redirecting call to abort() to mozalloc_abort`. A thrown
/// non-Error value prints without a stack.
fn javascript_exception(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr.lines().collect();
    let is_frame = |line: &str| line.starts_with([' ', '\t']) && line.contains('@');
    let stack = lines
        .iter()
        .rposition(|l| l.trim() == "Stack:")
        .filter(|&i| lines.get(i + 1).is_some_and(|l| is_frame(l)));
    let end = match stack {
        Some(i) => i,
        None => lines
            .iter()
            .rposition(|l| l.trim() == "Redirecting call to abort() to mozalloc_abort")?,
    };
    let message = lines[..end]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| !l.is_empty() && !is_frame(l))?;
    // The first frame: the plugin's own code, or componentize-js's glue
    // (`initializer.js`), which throws when a returned value does not fit its WIT type.
    let message = guest_text(message);
    Some(match stack.and_then(|i| lines.get(i + 1)).map(|l| l.trim()) {
        Some(frame) if frame.contains("/initializer.js:") => {
            format!("JavaScript threw converting a value to WIT: {message}")
        }
        Some(frame) => match frame.split_once('@') {
            Some((function, file)) if !function.is_empty() => format!(
                "JavaScript threw: {message} (at {} in {})",
                guest_text(file),
                guest_text(function)
            ),
            _ => format!("JavaScript threw: {message} (at {})", guest_text(frame)),
        },
        None => format!("JavaScript threw: {message}"),
    })
}

/// A Rust panic: `panicked at src/lib.rs:10:5:` and the message on the next line.
fn rust_panic(stderr: &str) -> Option<String> {
    let (_, after) = stderr.split_once("panicked at ")?;
    let mut lines = after.lines();
    let location = lines.next()?.trim().trim_end_matches(':');
    let message = lines.map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    Some(format!(
        "panicked: {} (at {})",
        guest_text(message),
        guest_text(location)
    ))
}

/// Characters kept of wasmtime's account of why a component does not load.
const LOAD_ERROR_CHARS: usize = 1000;
/// Export names listed in a wrong-world message.
const LISTED_EXPORTS: usize = 12;

/// wasmtime's account of why a component does not load or link, as one line
/// of host text: runs of whitespace become one space (wasmparser prints some
/// values over several lines, e.g. a bad magic number), any other control
/// character is escaped (names in a component are the uploader's), and it is
/// cut to [`LOAD_ERROR_CHARS`].
pub(super) fn load_error(error: &wasmtime::Error) -> String {
    let text = root_cause(error).split_whitespace().collect::<Vec<_>>().join(" ");
    escaped(&text, LOAD_ERROR_CHARS)
}

/// `a, b, c` for a component's export names, at most [`LISTED_EXPORTS`] of
/// them (`and N more`), escaped; `nothing` for none.
fn name_list(names: &[String]) -> String {
    if names.is_empty() {
        return "nothing".into();
    }
    let mut list = names
        .iter()
        .take(LISTED_EXPORTS)
        .map(|name| escaped(name, GUEST_TEXT_CHARS))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > LISTED_EXPORTS {
        list.push_str(&format!(" and {} more", names.len() - LISTED_EXPORTS));
    }
    list
}

fn root_cause(error: &wasmtime::Error) -> String {
    format!("{error:#}")
}

fn short(sha256: &str) -> String {
    sha256.chars().take(VERSION_DIGITS).collect()
}

#[cfg(test)]
mod tests {
    //! The stderr parsing of [`guest_report`] on texts captured from real
    //! components: a Python reply classifier built with componentize-py 0.25.1
    //! and a JavaScript one built with componentize-js 0.21.0 (stdio enabled),
    //! each made to fail on purpose, run through this host.

    use super::{guest_report, guest_text, load_error, name_list};

    /// `return Classification(..., confidence="very", ...)`: a `str` for an `f32`.
    const PY_STR_FOR_F32: &str = "thread '<unnamed>' (1) panicked at runtime/src/lib.rs:1486:67:
called `Result::unwrap()` on an `Err` value: PyErr { type: <class 'TypeError'>, value: TypeError('must be real number, not str'), traceback: None }
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace";

    /// `return {\"label\": ..., \"confidence\": 0.5, \"reason\": \"a dict\"}`: a dict for a record.
    const PY_DICT_FOR_RECORD: &str = "thread '<unnamed>' (1) panicked at runtime/src/lib.rs:1662:66:
called `Result::unwrap()` on an `Err` value: PyErr { type: <class 'AttributeError'>, value: AttributeError(\"'dict' object has no attribute 'reason'\"), traceback: None }
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace";

    /// `Classification(label=..., confidence=0.5)`: a missing field.
    const PY_MISSING_FIELD: &str = "Traceback (most recent call last):
  File \"/0/app.py\", line 13, in classify
TypeError: Classification.__init__() missing 1 required positional argument: 'reason'

thread '<unnamed>' (1) panicked at runtime/src/lib.rs:1280:25:
Python function threw an unexpected exception
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace";

    /// `raise ValueError(\"line one\\nline two\\x1b[31m red\")`.
    const PY_MULTILINE: &str = "Traceback (most recent call last):
  File \"/0/app.py\", line 23, in classify
ValueError: line one
line two\u{1b}[31m red

thread '<unnamed>' (1) panicked at runtime/src/lib.rs:1280:25:
Python function threw an unexpected exception
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace";

    /// `throw new TypeError(\"cannot read 'score' of undefined\")`.
    const JS_THROW: &str = "cannot read 'score' of undefined
Stack:
  classify@index.js:7:11
  fn@/tmp/5f465c1c4b8d/sources/initializer.js:3834:25
  _withGlobalCurrentTaskMetaAsync@/tmp/5f465c1c4b8d/sources/initializer.js:103:18
  export_classify@/tmp/5f465c1c4b8d/sources/initializer.js:3831:18

Redirecting call to abort() to mozalloc_abort";

    /// `throw 'plain string thrown'`: no stack.
    const JS_THROW_STRING: &str = "\"plain string thrown\"
Redirecting call to abort() to mozalloc_abort";

    /// `return { label: ..., confidence: 0.5 }`: no `reason`.
    const JS_MISSING_FIELD: &str = "expected a string, received [undefined]
Stack:
  _utf8AllocateAndEncode@/tmp/5f465c1c4b8d/sources/initializer.js:1184:13
  export_classify@/tmp/5f465c1c4b8d/sources/initializer.js:3951:41

Redirecting call to abort() to mozalloc_abort";

    /// A Rust guest's panic (plugins/hostile/hostile-panic).
    const RUST_PANIC: &str = "thread '<unnamed>' (1) panicked at hostile/hostile-panic/src/lib.rs:27:13:
hostile-panic: deliberate panic in score
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace";

    #[test]
    fn a_python_value_of_the_wrong_type_names_the_exception_and_the_wit_type() {
        assert_eq!(
            guest_report(PY_STR_FOR_F32, Some("f32")).unwrap(),
            "Python raised TypeError converting a value to WIT f32: must be real number, not str"
        );
        assert_eq!(
            guest_report(PY_DICT_FOR_RECORD, Some("record")).unwrap(),
            "Python raised AttributeError converting a value to WIT record: 'dict' object has no attribute 'reason'"
        );
        assert_eq!(
            guest_report(PY_STR_FOR_F32, None).unwrap(),
            "Python raised TypeError converting a value to WIT: must be real number, not str"
        );
    }

    #[test]
    fn a_python_traceback_becomes_its_last_line_and_innermost_frame() {
        assert_eq!(
            guest_report(PY_MISSING_FIELD, None).unwrap(),
            "Python raised TypeError: Classification.__init__() missing 1 required positional argument: 'reason' (at app.py:13 in classify)"
        );
        let message = guest_report(PY_MULTILINE, None).unwrap();
        assert_eq!(
            message,
            "Python raised ValueError: line one\\nline two\\u{1b}[31m red (at app.py:23 in classify)"
        );
    }

    #[test]
    fn a_javascript_exception_names_where_it_was_thrown() {
        assert_eq!(
            guest_report(JS_THROW, None).unwrap(),
            "JavaScript threw: cannot read 'score' of undefined (at index.js:7:11 in classify)"
        );
        assert_eq!(
            guest_report(JS_THROW_STRING, None).unwrap(),
            "JavaScript threw: \"plain string thrown\""
        );
        assert_eq!(
            guest_report(JS_MISSING_FIELD, None).unwrap(),
            "JavaScript threw converting a value to WIT: expected a string, received [undefined]"
        );
    }

    #[test]
    fn a_rust_panic_keeps_its_message_and_location() {
        assert_eq!(
            guest_report(RUST_PANIC, None).unwrap(),
            "panicked: hostile-panic: deliberate panic in score (at hostile/hostile-panic/src/lib.rs:27:13)"
        );
    }

    #[test]
    fn other_stderr_is_not_mistaken_for_a_language_runtime() {
        assert_eq!(guest_report("", None), None);
        assert_eq!(guest_report("warning: something odd\nmore", None), None);
    }

    #[test]
    fn a_hostile_stderr_cannot_forge_host_lines_or_flood_the_message() {
        let forged = format!(
            "Traceback (most recent call last):\n  File \"/0/app.py\", line 1, in x\nError: ok\u{1b}[2K\r\u{202e}plugin released{}",
            "x".repeat(10_000)
        );
        let message = guest_report(&forged, None).unwrap();
        assert!(!message.chars().any(char::is_control), "{message:?}");
        assert!(!message.contains('\u{202e}'), "{message:?}");
        assert!(message.contains("\\u{1b}[2K\\r\\u{202e}plugin released"), "{message}");
        assert!(message.chars().count() < 400, "{}", message.len());
        assert!(message.contains('…'), "{message}");
        assert_eq!(guest_text("a\tb\nc"), "a\\tb\\nc");
    }

    #[test]
    fn a_load_error_is_one_line_of_host_text() {
        // Found by the fuzzer (tests/data/fuzz-crashers/de65101b1a5142af.wasm):
        // wasmparser prints a bad magic number over several lines.
        let engine = wasmtime::Engine::default();
        let error = wasmtime::component::Component::new(&engine, b"\xd0\x5d\x46\x7e\x01\x02").expect_err("not wasm");
        assert!(format!("{error:#}").contains('\n'), "the raw text has newlines");
        let message = load_error(&error);
        assert!(!message.chars().any(char::is_control), "{message:?}");
        assert!(
            message.contains("bad magic number - expected=[ 0x0, 0x61,"),
            "{message}"
        );
        let names: Vec<String> = (0..20).map(|i| format!("e{i}")).collect();
        assert_eq!(name_list(&names[..2]), "e0, e1");
        assert!(name_list(&names).ends_with("e11 and 8 more"), "{}", name_list(&names));
        assert_eq!(name_list(&[]), "nothing");
    }
}
