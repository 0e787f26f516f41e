//! `cam plugins new`: writes a standalone plugin project in Rust, JavaScript
//! or Python whose one build command leaves the `.wasm` and its manifest side
//! by side, ready for `cam plugins check` and for the plugins folder.
//!
//! | language | build command | output |
//! |---|---|---|
//! | Rust | `cargo build --release` | `target/wasm32-wasip2/release/NAME.wasm` + `NAME.toml` |
//! | JavaScript | `npm install && npm run build` | `dist/NAME.wasm` + `dist/NAME.toml` |
//! | Python | `./build.sh` | `dist/NAME.wasm` + `dist/NAME.toml` |
//!
//! The JavaScript and Python projects carry the WIT this binary speaks in
//! their own `wit/` folder, so they build anywhere; the Rust crate depends on
//! the SDK (which reads the WIT of its own source tree).

mod js;
mod python;
mod rust;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::plugins::PluginKind;

/// The language of a new plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust with the cam plugin SDK (`cargo build`).
    Rust,
    /// JavaScript with componentize-js (`npm run build`).
    Js,
    /// Python with componentize-py (`./build.sh`).
    Python,
}

/// What a scaffold writes and how it is built.
#[derive(Debug)]
pub struct Scaffold {
    /// (path relative to the project, contents).
    files: Vec<(String, String)>,
    /// The command that builds it, run in the project folder.
    build: String,
    /// Where the build leaves the `.wasm`, relative to the project folder
    /// (its manifest is beside it).
    wasm: String,
}

/// A project written by [`create`]: what to tell its author.
#[derive(Debug)]
pub struct Created {
    /// The command that builds it, run in the project folder.
    pub build: String,
    /// The built `.wasm` (its manifest is beside it).
    pub wasm: PathBuf,
}

/// Creates the project for a `kind` plugin called `name` in `dir`. `sdk` is
/// the Rust SDK a Rust crate depends on. Refuses to write into a non-empty folder.
pub fn create(kind: PluginKind, lang: Lang, name: &str, dir: &Path, sdk: &Path) -> anyhow::Result<Created> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        || !name.starts_with(|c: char| c.is_ascii_lowercase())
    {
        bail!(
            "`{name}` is not a valid plugin name: use lower-case letters, digits, `-` and `_` (at most 64), starting with a letter"
        );
    }
    if dir.exists() && std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("{} already exists and is not empty; pick another --dir", dir.display());
    }
    let scaffold = match lang {
        Lang::Rust => rust::scaffold(kind, name, sdk)?,
        Lang::Js => js::scaffold(kind, name),
        Lang::Python => python::scaffold(kind, name),
    };
    let mut files = scaffold.files;
    if lang != Lang::Rust {
        files.extend(
            crate::runtime::bindings::WIT_FILES
                .iter()
                .map(|(file, text)| (format!("wit/{file}"), text.to_string())),
        );
    }
    for (path, text) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        #[cfg(unix)]
        if path.extension().is_some_and(|e| e == "sh") {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("making {} executable", path.display()))?;
        }
    }
    Ok(Created {
        build: scaffold.build,
        wasm: dir.join(scaffold.wasm),
    })
}

/// Writes the WIT package this binary speaks into `dir` (`cam plugins wit`).
pub fn write_wit(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for (file, text) in crate::runtime::bindings::WIT_FILES {
        let path = dir.join(file);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// The manifest of a new plugin: the kinds whose example code logs get the
/// `log` grant; `config_reader` names how the language reads `[config]`.
fn manifest(kind: PluginKind, config_reader: &str) -> String {
    let log = matches!(kind, PluginKind::LeadSource | PluginKind::Scorer);
    format!(
        r#"# The manifest the host reads beside the .wasm: copy both into the plugins folder.
kind = "{kind}"

# Host capabilities, each denied unless granted here:
[capabilities]
log = {log}
# config = true
# kv = {{ quota_bytes = 65536 }}
# http = {{ allow = ["api.example.com"] }}
# clock = true

# Optional: lower the operator's limits for this plugin.
# [limits]
# timeout_ms = 500

# Settings read with {config_reader} (needs `config = true`).
[config]
"#
    )
}
