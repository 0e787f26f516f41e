//! `cam plugins new --lang rust|js|python` and `cam plugins wit`, run as a new
//! author runs them: the commands `cam plugins new` prints are run as printed
//! (in a folder with nothing else in it), and `cam plugins check` must pass
//! on what they built.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's `target/` folder.
fn target_dir() -> PathBuf {
    Path::new(env!("CAM_BUILT_PLUGINS_DIR")).join("../../..")
}

fn cam(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cam"));
    command
        .current_dir(dir)
        .env("CAM_CONFIG", dir.join("cam.toml"))
        .env_remove("RUST_LOG");
    command
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The value of the line of `stdout` starting with `label`.
fn printed<'a>(stdout: &'a str, label: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{stdout}"))
}

/// Scaffolds `kind` plugin `name` in `lang`, runs the printed build command
/// through a shell with `env`, then the printed check command; returns the
/// check's output.
fn scaffold_build_check(lang: &str, kind: &str, name: &str, env: &[(&str, PathBuf)]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = cam(dir.path())
        .args(["plugins", "new", kind, name, "--lang", lang])
        .output()
        .expect("cam runs");
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();

    let build = printed(&stdout, "Build it:");
    let mut shell = Command::new("sh");
    shell.current_dir(dir.path()).arg("-c").arg(build);
    // The outer cargo's settings are for the host, not for the plugin.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
    ] {
        shell.env_remove(var);
    }
    for (key, value) in env {
        shell.env(key, value);
    }
    let built = shell.output().expect("sh runs");
    assert!(built.status.success(), "`{build}` failed:\n{}", text(&built));

    let check = printed(&stdout, "Check it:");
    let wasm = check
        .strip_prefix("cam plugins check ")
        .unwrap_or_else(|| panic!("unexpected check command {check:?}"));
    // A shared CARGO_TARGET_DIR moves the Rust crate's `target/`.
    let wasm = match env.iter().find(|(key, _)| *key == "CARGO_TARGET_DIR") {
        Some((_, shared)) => shared.join(
            Path::new(wasm)
                .strip_prefix(Path::new(name).join("target"))
                .expect("the printed path is under the crate's target/"),
        ),
        None => dir.path().join(wasm),
    };
    let manifest = wasm.with_extension("toml");
    assert!(
        manifest.is_file(),
        "the build left no manifest beside {}",
        wasm.display()
    );
    let checked = cam(dir.path())
        .args(["plugins", "check"])
        .arg(&wasm)
        .output()
        .expect("cam runs");
    assert!(checked.status.success(), "`{check}` failed:\n{}", text(&checked));
    let report = text(&checked);
    assert!(report.contains(&format!("valid {kind} plugin")), "{report}");
    report
}

#[test]
fn a_rust_plugin_from_cam_plugins_new_builds_as_printed_and_passes_check() {
    // A shared target dir keeps repeated runs from rebuilding wit-bindgen.
    let shared = target_dir().join("scaffold-target");
    scaffold_build_check("rust", "scorer", "my-scorer", &[("CARGO_TARGET_DIR", shared)]);
}

#[test]
fn a_javascript_plugin_from_cam_plugins_new_builds_as_printed_and_passes_check() {
    scaffold_build_check("js", "reply-classifier", "my-js-plugin", &[]);
}

#[test]
fn a_python_plugin_from_cam_plugins_new_builds_as_printed_and_passes_check() {
    // scripts/test.sh installs componentize-py here; without it the
    // scaffold's build.sh installs its own into the project's .venv.
    let installed = target_dir().join("py-venv/bin/componentize-py");
    let env: Vec<(&str, PathBuf)> = if installed.exists() {
        vec![("COMPONENTIZE_PY", installed)]
    } else {
        Vec::new()
    };
    scaffold_build_check("python", "enricher", "my-py-plugin", &env);
}

/// Every kind's JavaScript and Python code parses (a full build of each
/// costs a minute; one per language is built above, and the Rust scaffold's
/// code of every kind is built below).
#[test]
fn every_kind_scaffolds_code_that_parses_in_each_language() {
    const KINDS: [&str; 5] = ["lead-source", "enricher", "scorer", "reply-classifier", "decision-rule"];
    let dir = tempfile::tempdir().expect("tempdir");
    for kind in KINDS {
        for (lang, file, checker) in [
            ("js", "index.js", ["node", "--check"]),
            ("python", "app.py", ["python3", "-m py_compile"]),
        ] {
            let name = format!("{lang}-{kind}");
            let out = cam(dir.path())
                .args(["plugins", "new", kind, &name, "--lang", lang])
                .output()
                .expect("cam runs");
            assert!(out.status.success(), "{}", text(&out));
            let mut command = Command::new(checker[0]);
            command.args(checker[1].split(' '));
            let parsed = command
                .arg(dir.path().join(&name).join(file))
                .output()
                .expect("checker runs");
            assert!(parsed.status.success(), "{lang} {kind}: {}", text(&parsed));
        }
    }
}

#[test]
fn every_kind_of_rust_scaffold_compiles() {
    let shared = target_dir().join("scaffold-target");
    let dir = tempfile::tempdir().expect("tempdir");
    for kind in ["lead-source", "enricher", "reply-classifier", "decision-rule"] {
        let out = cam(dir.path())
            .args(["plugins", "new", kind, &format!("rs-{kind}")])
            .output()
            .expect("cam runs");
        assert!(out.status.success(), "{}", text(&out));
        let checked = Command::new(env!("CARGO"))
            .current_dir(dir.path().join(format!("rs-{kind}")))
            .args(["check", "--release", "--quiet"])
            .env("CARGO_TARGET_DIR", &shared)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .output()
            .expect("cargo runs");
        assert!(checked.status.success(), "{kind}: {}", text(&checked));
    }
}

#[test]
fn a_second_cam_plugins_new_into_the_same_folder_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = cam(dir.path())
        .args(["plugins", "new", "scorer", "twice", "--lang", "js"])
        .output()
        .expect("runs");
    assert!(first.status.success(), "{}", text(&first));
    let again = cam(dir.path())
        .args(["plugins", "new", "scorer", "twice", "--lang", "js"])
        .output()
        .expect("runs");
    assert!(!again.status.success(), "refuses to overwrite");
    assert!(text(&again).contains("not empty"), "{}", text(&again));
}

#[test]
fn cam_plugins_wit_writes_the_contract_the_binary_speaks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = cam(dir.path())
        .args(["plugins", "wit", "--out", "contract"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out));
    let repo_wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    for file in ["host.wit", "types.wit", "worlds.wit"] {
        let written = std::fs::read_to_string(dir.path().join("contract").join(file)).expect("written");
        let source = std::fs::read_to_string(repo_wit.join(file)).expect("source");
        assert_eq!(written, source, "{file} differs from the repository's");
    }
}
