//! The on-disk compile cache: compiled components keyed by (sha256 of the
//! component, wasmtime version, engine settings), so a restart with many
//! plugins deserializes instead of recompiling.
//!
//! An entry's file name is `<sha256>-<engine key>.cwasm`, where the engine key
//! is a sha256 over [`WASMTIME_VERSION`] and
//! [`Engine::precompile_compatibility_hash`] (target, compiler flags,
//! tunables, wasm features and wasmtime's own module version). An entry made
//! by another wasmtime version or other settings has another name and is never
//! looked up; a file that still does not deserialize (corrupt, planted, made by
//! an incompatible build that collided) is ignored, recompiled and replaced.
//! Compiling is CPU-bound: call [`CompileCache::compile`] off the async
//! runtime (`tokio::task::spawn_blocking`).

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The exact wasmtime version this binary links (pinned `=48.0.8` in the
/// workspace `Cargo.toml`). Precompiled artifacts never load across versions,
/// patch releases included; it is part of every cache key.
pub const WASMTIME_VERSION: &str = "48.0.8";

/// Where compiled components are kept.
#[derive(Debug)]
pub struct CompileCache {
    dir: PathBuf,
    engine_key: String,
    hits: AtomicU64,
    misses: AtomicU64,
    /// Components this process already holds, by sha256: a hundred tenants
    /// using one plugin version share one compiled component.
    /// `None` unless [`CompileCache::holding_components`].
    held: Option<std::sync::Mutex<std::collections::HashMap<String, Component>>>,
}

/// Most components [`CompileCache`] keeps in memory (beyond it the map is
/// emptied and refilled from the disk entries as they are asked for).
const MAX_HELD: usize = 512;

/// How a component was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Deserialized from a cache entry.
    Hit,
    /// Compiled now (and written to the cache when possible).
    Compiled,
    /// Already held in memory by this process (another tenant loaded it).
    Shared,
}

/// Feeds a `Hash` into a sha256, so the engine key is stable across builds
/// of the same toolchain (unlike `DefaultHasher`, which is not guaranteed).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        // Unused: the key is read from the full digest.
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The engine part of every cache key: wasmtime version and engine settings.
pub fn engine_key(engine: &Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    WASMTIME_VERSION.hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(&hasher.0.finalize()[..16])
}

impl CompileCache {
    /// A cache in `dir` (created on first write) for components of `engine`.
    pub fn new(dir: impl Into<PathBuf>, engine: &Engine) -> CompileCache {
        CompileCache {
            dir: dir.into(),
            engine_key: engine_key(engine),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            held: None,
        }
    }

    /// This cache also holding every component it returns in memory, by
    /// sha256: the hosted worker's, where a hundred tenants using one plugin
    /// version share one compiled component.
    pub fn holding_components(mut self) -> CompileCache {
        self.held = Some(std::sync::Mutex::new(std::collections::HashMap::new()));
        self
    }

    /// The cache folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds (or would hold) the entry for `sha256`.
    pub fn entry_path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{}.cwasm", self.engine_key))
    }

    /// Entries served from the cache since this value was made.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Components compiled since this value was made.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// The component for `bytes` (whose hex sha256 is `sha256`): from the
    /// cache when a valid entry exists, else compiled and stored. Blocking.
    pub fn compile(&self, engine: &Engine, bytes: &[u8], sha256: &str) -> wasmtime::Result<(Component, CacheOutcome)> {
        let Some(held) = &self.held else {
            return self.compile_or_read(engine, bytes, sha256);
        };
        if let Some(component) = held.lock().unwrap_or_else(|p| p.into_inner()).get(sha256) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok((component.clone(), CacheOutcome::Shared));
        }
        let (component, outcome) = self.compile_or_read(engine, bytes, sha256)?;
        let mut held = held.lock().unwrap_or_else(|p| p.into_inner());
        if held.len() >= MAX_HELD {
            held.clear();
        }
        held.insert(sha256.to_string(), component.clone());
        Ok((component, outcome))
    }

    fn compile_or_read(
        &self,
        engine: &Engine,
        bytes: &[u8],
        sha256: &str,
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let entry = self.entry_path(sha256);
        if entry.exists() {
            match deserialize_entry(engine, &entry) {
                Ok(component) => {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok((component, CacheOutcome::Hit));
                }
                Err(error) => {
                    tracing::warn!(entry = %entry.display(), "ignoring an unusable compile cache entry: {error:#}");
                }
            }
        }
        let component = Component::new(engine, bytes)?;
        self.misses.fetch_add(1, Ordering::Relaxed);
        if let Err(error) = self.write_entry(&component, &entry) {
            // The cache is an optimisation: a read-only disk costs a recompile
            // on the next restart, never a failed load.
            tracing::warn!(entry = %entry.display(), "cannot write the compile cache: {error:#}");
        }
        Ok((component, CacheOutcome::Compiled))
    }

    fn write_entry(&self, component: &Component, entry: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let serialized = component.serialize().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        // Written beside and renamed, so a reader never sees half an entry.
        let mut tmp = tempfile_in(&self.dir)?;
        std::io::Write::write_all(&mut tmp.1, &serialized)?;
        tmp.1.sync_all()?;
        drop(tmp.1);
        std::fs::rename(&tmp.0, entry)?;
        Ok(())
    }
}

/// The per-user folder for compile caches of components that live outside
/// any plugins folder (`cam plugins check` of a file in a build folder with
/// no plugins folder configured): `$XDG_CACHE_HOME/cam/compile`, else
/// `~/.cache/cam/compile` (`%LOCALAPPDATA%\cam\compile` on Windows). `None`
/// when there is no home: a shared temporary folder is never used, because
/// an entry is trusted native code and anyone could plant one there.
pub fn user_cache_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).map(PathBuf::from).filter(|p| p.is_absolute());
    let base = if cfg!(windows) {
        var("LOCALAPPDATA")
    } else {
        var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|home| home.join(".cache")))
    };
    base.map(|base| base.join("cam").join("compile"))
}

/// A new file in `dir` with a unique name.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = format!(".tmp-{}-{}", std::process::id(), rand::random::<u64>());
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
    Ok((path, file))
}

/// Loads a cache entry.
#[expect(
    unsafe_code,
    reason = "wasmtime's deserialize is unsafe: it maps native code from the file"
)]
fn deserialize_entry(engine: &Engine, entry: &Path) -> wasmtime::Result<Component> {
    // SAFETY: `deserialize_file` trusts the file to be native code that
    // wasmtime produced. Entries are written only by `CompileCache::write_entry`
    // (from `Component::serialize` of this engine, via write-then-rename, so no
    // half-written entry is visible) into a folder that belongs to the host,
    // and their names carry `engine_key` (the wasmtime version and
    // `Engine::precompile_compatibility_hash`), so an entry of another version
    // or configuration is never opened. Wasmtime additionally checks the
    // entry's header against this engine and refuses a mismatch, which we
    // treat as a cache miss. Nothing else writes to that folder.
    unsafe { Component::deserialize_file(engine, entry) }
}
