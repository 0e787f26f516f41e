//! Builds every guest plugin in `../plugins` to `wasm32-wasip2`, so that an
//! ordinary `cargo build` / `cargo test` of the host needs no manual step.
//!
//! Each plugin package is built by its own `cargo build -p`, because each one
//! enables the SDK feature of its own kind and a single workspace build would
//! unify those features. The guests have their own target dir
//! (`target/plugins`), so the nested cargo never waits on the outer one's lock.
//!
//! Where rustup manages the toolchain and the `wasm32-wasip2` target is
//! missing (rustup installs a toolchain file's targets only when it installs
//! the toolchain itself), the build adds it. A plugin that fails to build
//! fails the host's build with the plugin's name and compiler errors: a host
//! without its example plugins would run a demo in which nothing happens.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

const GUEST_TARGET: &str = "wasm32-wasip2";
/// Folders of `plugins/` whose sub-folders are plugin packages.
const PLUGIN_GROUPS: &[&str] = &["examples", "hostile", "testing"];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("host/ has a parent").to_path_buf();
    let plugins_dir = root.join("plugins");
    let target_dir = env::var_os("CAM_PLUGINS_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("plugins"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));

    for watched in [
        "wit",
        "plugins/sdk",
        "plugins/examples",
        "plugins/hostile",
        "plugins/testing",
        "plugins/Cargo.toml",
        // `sqlx::migrate!` embeds these at compile time.
        "migrations",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=CAM_PLUGINS_TARGET_DIR");

    let wasm_dir = target_dir.join(GUEST_TARGET).join("release");
    println!("cargo:rustc-env=CAM_BUILT_PLUGINS_DIR={}", wasm_dir.display());
    println!("cargo:rustc-env=CAM_PLUGINS_SOURCE_DIR={}", plugins_dir.display());

    ensure_guest_target();

    let mut builtin = String::from(
        "/// Example plugins compiled into the binary: (file stem, kind folder, wasm, manifest).\n\
         pub const BUILTIN_PLUGINS: &[(&str, &str, &[u8], &str)] = &[\n",
    );
    for group in PLUGIN_GROUPS {
        for package_dir in plugin_packages(&plugins_dir.join(group)) {
            let Some(package) = package_name(&package_dir) else {
                println!(
                    "cargo:warning=no package name in {}",
                    package_dir.join("Cargo.toml").display()
                );
                continue;
            };
            let crate_name = package.replace('-', "_");
            match build_plugin(&plugins_dir, &target_dir, &package) {
                Ok(()) => {
                    let wasm = wasm_dir.join(format!("{crate_name}.wasm"));
                    let manifest = package_dir.join(format!("{crate_name}.toml"));
                    if *group == "examples" && wasm.exists() && manifest.exists() {
                        builtin.push_str(&format!(
                            "    ({crate_name:?}, {group:?}, include_bytes!({:?}), include_str!({:?})),\n",
                            wasm.display().to_string(),
                            manifest.display().to_string()
                        ));
                    }
                }
                Err(message) => panic!(
                    "the plugin `{package}` ({}) did not build for {GUEST_TARGET}:\n{message}",
                    package_dir.display()
                ),
            }
        }
    }
    builtin.push_str("];\n");
    fs::write(out_dir.join("builtin_plugins.rs"), builtin).expect("write builtin_plugins.rs");
}

/// Adds the guest target through rustup when it is missing. Without rustup
/// (a distribution's Rust), the plugin build below fails with the command to run.
fn ensure_guest_target() {
    let rustup = env::var("RUSTUP").unwrap_or_else(|_| "rustup".to_string());
    let mut list = Command::new(&rustup);
    list.args(["target", "list", "--installed"]);
    // Ask about the toolchain building us (rust-toolchain.toml's), not the default.
    if let Ok(toolchain) = env::var("RUSTUP_TOOLCHAIN") {
        list.args(["--toolchain", &toolchain]);
    }
    let Ok(output) = list.output() else {
        return; // no rustup here
    };
    let installed = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || installed.lines().any(|line| line.trim() == GUEST_TARGET) {
        return;
    }
    println!("cargo:warning=adding the {GUEST_TARGET} target with rustup (the example plugins are built for it)");
    let mut add = Command::new(&rustup);
    add.args(["target", "add", GUEST_TARGET]);
    if let Ok(toolchain) = env::var("RUSTUP_TOOLCHAIN") {
        add.args(["--toolchain", &toolchain]);
    }
    match add.output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`rustup target add {GUEST_TARGET}` failed ({}); run it yourself and build again:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("could not run `rustup target add {GUEST_TARGET}` ({e}); run it yourself and build again"),
    }
}

fn plugin_packages(group_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(group_dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn package_name(package_dir: &Path) -> Option<String> {
    let text = fs::read_to_string(package_dir.join("Cargo.toml")).ok()?;
    let value: toml::Value = text.parse().ok()?;
    Some(value.get("package")?.get("name")?.as_str()?.to_string())
}

fn build_plugin(plugins_dir: &Path, target_dir: &Path, package: &str) -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(cargo);
    command
        .current_dir(plugins_dir)
        .args(["build", "--release", "--quiet", "--target", GUEST_TARGET, "-p", package])
        .arg("--target-dir")
        .arg(target_dir);
    // The outer build's settings are for the host, not the guests (clippy's
    // wrapper, host rustflags, a redirected target dir).
    for var in [
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC",
        "RUSTDOC",
    ] {
        command.env_remove(var);
    }
    let output = command.output().map_err(|e| format!("could not run cargo: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("may not be installed") || stderr.contains("can't find crate for `core`") {
        return Err(format!(
            "the {GUEST_TARGET} target is missing: run `rustup target add {GUEST_TARGET}`"
        ));
    }
    // The compiler's errors with their context, not the whole log.
    let errors: Vec<&str> = stderr
        .split("\n\n")
        .filter(|block| block.trim_start().starts_with("error"))
        .take(5)
        .collect();
    if errors.is_empty() {
        Err(stderr.trim().to_string())
    } else {
        Err(errors.join("\n\n"))
    }
}
