//! Watching the plugins folder: `notify` events, debounced per file, drive
//! a [`Reloader`].
//!
//! An editor or `cp` that writes in several chunks is compiled once, after
//! its last write: [`SETTLE_PERIOD`] after the writer closes the file or
//! renames it into place (`cp x.tmp; mv x.tmp x.wasm` arrives as an event on
//! `x.wasm`), [`QUIET_PERIOD`] without a new event otherwise (a writer that
//! keeps the file open, platforms without close events). A file still
//! incomplete then fails validation like any broken file, never replaces the
//! serving version, and is tried again on its next event. Hidden files
//! (`.x.wasm.swp`, `.versions/`) and read-only accesses (our own reads
//! included) are ignored. The same task follows the store every
//! [`SYNC_INTERVAL`] (rollback, promotion, shadow changes).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use notify::Watcher as _;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::registry::PluginRegistry;
use super::reloader::{Reloader, SYNC_INTERVAL};
use crate::runtime::Runtime;
use crate::store::Store;

/// How long a file must stay quiet before it is loaded. Editors and `cp`
/// write large files in several chunks a few milliseconds apart; 100 ms
/// covers them while keeping a swap well under a second.
pub const QUIET_PERIOD: Duration = Duration::from_millis(100);

/// How long to wait after a file is known complete (closed after writing,
/// renamed into place): just enough to take a manifest and its component,
/// copied one after the other, as one change.
pub const SETTLE_PERIOD: Duration = Duration::from_millis(15);

/// The running watcher; dropping it stops watching.
pub struct WatchHandle {
    _watcher: notify::RecommendedWatcher,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for WatchHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchHandle").finish_non_exhaustive()
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Reloader {
    /// Starts watching the folder (and the store every [`SYNC_INTERVAL`]).
    /// Call [`Reloader::load_all`] first.
    pub fn watch(self: &Arc<Self>) -> anyhow::Result<WatchHandle> {
        let (events, mut changed) = mpsc::unbounded_channel::<(PathBuf, Duration)>();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) => {
                let Some(wait) = wait_after(&event.kind) else { return };
                for path in event.paths {
                    // The receiver is gone only when the handle was dropped.
                    let _ = events.send((path, wait));
                }
            }
            Err(error) => tracing::warn!("plugins folder watch error: {error}"),
        })
        .context("starting the plugins folder watcher")?;
        watcher
            .watch(self.plugins_dir(), notify::RecursiveMode::NonRecursive)
            .with_context(|| format!("watching {}", self.plugins_dir().display()))?;
        let reloader = self.clone();
        let task = tokio::spawn(async move {
            let mut pending: HashMap<PathBuf, tokio::time::Instant> = HashMap::new();
            let mut sync = tokio::time::interval(SYNC_INTERVAL);
            sync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let due = pending.values().min().copied();
                tokio::select! {
                    event = changed.recv() => {
                        let Some((path, wait)) = event else { break };
                        if let Some(wasm) = wasm_for_event(reloader.plugins_dir(), &path) {
                            // The latest event decides: a write after a close
                            // restarts the full quiet period.
                            pending.insert(wasm, tokio::time::Instant::now() + wait);
                        }
                    }
                    () = sleep_until(due), if due.is_some() => {
                        let now = tokio::time::Instant::now();
                        let ready: Vec<PathBuf> = pending.iter().filter(|(_, at)| **at <= now).map(|(p, _)| p.clone()).collect();
                        for wasm in ready {
                            pending.remove(&wasm);
                            // Failures are kept in the registry and logged.
                            let _ = reloader.reload_file(&wasm).await;
                        }
                    }
                    _ = sync.tick() => {
                        if let Err(error) = reloader.sync().await {
                            tracing::warn!("following the store's plugin versions failed: {error:#}");
                        }
                    }
                }
            }
        });
        Ok(WatchHandle {
            _watcher: watcher,
            task,
        })
    }
}

/// The `.wasm` a folder event concerns: the file itself or the component
/// beside a changed manifest. Hidden files are ignored.
fn wasm_for_event(plugins_dir: &Path, path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    if name.starts_with('.') {
        return None;
    }
    let in_dir = plugins_dir.join(&name);
    match in_dir.extension()?.to_str()? {
        "wasm" => Some(in_dir),
        "toml" => Some(in_dir.with_extension("wasm")),
        _ => None,
    }
}

/// Local mode in one call, for the worker: loads `plugins_dir` into a new
/// registry (recording versions in `store` and following its active
/// versions when given), then watches the folder. Keep the handle alive as
/// long as the registry should follow the folder.
pub async fn start(
    runtime: Arc<Runtime>,
    plugins_dir: &Path,
    tenant: &str,
    store: Option<Arc<dyn Store>>,
) -> anyhow::Result<(Arc<Reloader>, WatchHandle)> {
    let registry = Arc::new(PluginRegistry::new());
    let mut reloader = Reloader::new(runtime, registry, plugins_dir, tenant);
    if let Some(store) = store {
        reloader = reloader.with_store(store);
    }
    let reloader = Arc::new(reloader);
    for failure in reloader.load_all().await? {
        tracing::warn!(file = %failure.file.display(), "plugin not loaded: {}", failure.error);
    }
    let handle = reloader.watch()?;
    Ok((reloader, handle))
}

/// How long to wait after a folder event before loading, or `None` for
/// events that change nothing (opens and reads, including our own).
///
/// A file closed after writing (inotify `CLOSE_WRITE`), renamed into place or
/// removed is complete: it only waits [`SETTLE_PERIOD`], so a manifest copied
/// just before its component is taken together with it. Any other change
/// (a write into a file still open, a create) waits the full [`QUIET_PERIOD`].
fn wait_after(kind: &notify::EventKind) -> Option<Duration> {
    use notify::EventKind;
    use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write))
        | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both))
        | EventKind::Remove(_) => Some(SETTLE_PERIOD),
        EventKind::Access(_) => None,
        _ => Some(QUIET_PERIOD),
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use notify::EventKind;
    use notify::event::{AccessKind, AccessMode, CreateKind, DataChange, ModifyKind, RemoveKind, RenameMode};

    use super::*;

    #[test]
    fn a_closed_or_renamed_file_settles_fast_and_open_writes_wait_the_quiet_period() {
        let closed = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert_eq!(wait_after(&closed), Some(SETTLE_PERIOD));
        let renamed = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        assert_eq!(wait_after(&renamed), Some(SETTLE_PERIOD));
        assert_eq!(wait_after(&EventKind::Remove(RemoveKind::File)), Some(SETTLE_PERIOD));
        let written = EventKind::Modify(ModifyKind::Data(DataChange::Content));
        assert_eq!(wait_after(&written), Some(QUIET_PERIOD));
        assert_eq!(wait_after(&EventKind::Create(CreateKind::File)), Some(QUIET_PERIOD));
    }

    #[test]
    fn reads_of_a_file_are_not_changes() {
        assert_eq!(wait_after(&EventKind::Access(AccessKind::Open(AccessMode::Any))), None);
        assert_eq!(
            wait_after(&EventKind::Access(AccessKind::Close(AccessMode::Read))),
            None
        );
    }
}
