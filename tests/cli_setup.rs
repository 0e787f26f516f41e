//! `cam init`, `cam migrate` and `cam campaigns ...` driven as a user runs
//! them: the real binary, in a temp folder, `--config` pointing there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The repository's `examples/` folder.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// A folder for one test's setup, and the way to run `cam` against it.
pub struct Setup {
    /// Keeps the folder alive.
    pub dir: tempfile::TempDir,
    /// Extra environment for every run (`CAM_DATABASE_URL` for PostgreSQL).
    pub env: Vec<(String, String)>,
}

impl Setup {
    /// An empty folder; nothing is set up yet.
    pub fn empty() -> Setup {
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
            env: Vec::new(),
        }
    }

    /// A folder after `cam init`.
    pub fn initialized() -> Setup {
        Setup::initialized_with(Vec::new())
    }

    /// A folder after `cam init` with extra environment.
    pub fn initialized_with(env: Vec<(String, String)>) -> Setup {
        let setup = Setup {
            dir: tempfile::tempdir().expect("temp dir"),
            env,
        };
        setup.ok(&["init"]);
        setup
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `cam --config <dir>/cam.toml ARGS` with a controlled environment.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cam"));
        command
            .arg("--config")
            .arg(self.path().join("cam.toml"))
            .args(args)
            .current_dir(self.path());
        for (name, _) in std::env::vars() {
            if name.starts_with("CAM_") {
                command.env_remove(name);
            }
        }
        command.env("USER", "tester").env("RUST_LOG", "warn");
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command.output().expect("running cam")
    }

    /// Runs `cam ARGS`, asserts it succeeded, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "cam {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("stdout is UTF-8")
    }

    /// Runs `cam ARGS`, asserts it failed, returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            !output.status.success(),
            "cam {args:?} should have failed:\nstdout: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8(output.stderr).expect("stderr is UTF-8")
    }

    /// Runs `cam ARGS --json` and parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let out = self.ok(&args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("cam {args:?} printed no JSON ({e}):\n{out}"))
    }

    /// The campaign `name` as `cam campaigns show --json` prints it.
    pub fn campaign(&self, name: &str) -> Value {
        self.json(&["campaigns", "show", name])
    }
}

#[test]
fn init_creates_a_complete_setup_and_refuses_a_second_time() {
    let setup = Setup::empty();
    let out = setup.ok(&["init"]);
    assert!(out.contains("5 example plugins"), "{out}");
    let dir = setup.path();
    assert!(dir.join("cam.toml").is_file());
    assert!(dir.join("cam.db").is_file());
    assert!(dir.join("outbox").is_dir());
    for maildir in ["inbox/new", "inbox/cur", "inbox/tmp"] {
        assert!(
            dir.join(maildir).is_dir(),
            "{maildir} is missing: the inbox must be a Maildir"
        );
    }
    assert!(out.contains("inbox/new/"), "init says where replies go: {out}");
    for plugin in [
        "http_json",
        "basic_enrich",
        "weighted_score",
        "heuristic_replies",
        "guardrails",
    ] {
        assert!(dir.join(format!("plugins/{plugin}.wasm")).is_file(), "{plugin}.wasm");
        assert!(dir.join(format!("plugins/{plugin}.toml")).is_file(), "{plugin}.toml");
    }
    let config_before = std::fs::read(dir.join("cam.toml")).unwrap();

    let err = setup.fails(&["init"]);
    assert!(err.contains("already exists") && err.contains("cam.toml"), "{err}");
    assert_eq!(std::fs::read(dir.join("cam.toml")).unwrap(), config_before);

    // The plugins it installed load and serve.
    let plugins = setup.json(&["plugins", "list"]);
    assert!(plugins.to_string().contains("weighted"), "{plugins}");
}

#[test]
fn init_refuses_a_folder_that_already_has_a_database() {
    let setup = Setup::empty();
    std::fs::write(setup.path().join("cam.db"), b"precious").unwrap();
    let err = setup.fails(&["init"]);
    assert!(err.contains("cam.db") && err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(setup.path().join("cam.db")).unwrap(), b"precious");
    assert!(!setup.path().join("cam.toml").exists());
}

#[test]
fn init_with_dir_sets_up_that_folder() {
    let setup = Setup::empty();
    let target = setup.path().join("elsewhere");
    setup.ok(&["init", "--dir", target.to_str().unwrap()]);
    assert!(target.join("cam.toml").is_file() && target.join("cam.db").is_file());
}

#[test]
fn migrate_names_the_database_and_says_it_is_up_to_date() {
    let setup = Setup::initialized();
    let out = setup.ok(&["migrate"]);
    assert!(out.contains("cam.db") && out.contains("up to date"), "{out}");
}

#[test]
fn migrate_never_prints_the_database_password() {
    let setup = Setup::empty();
    let config = "database_url = \"postgres://cam:hunter2@127.0.0.1:1/cam\"\n";
    std::fs::write(setup.path().join("cam.toml"), config).unwrap();
    let output = setup.run(&["migrate"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success());
    assert!(!all.contains("hunter2") && all.contains("***"), "{all}");
}

#[test]
fn a_campaign_file_creates_a_paused_campaign_with_everything_in_it() {
    let setup = Setup::initialized();
    let file = examples_dir().join("campaign.toml");
    let out = setup.ok(&["campaigns", "create", "--file", file.to_str().unwrap()]);
    assert!(out.contains("dach-saas-founders") && out.contains("paused"), "{out}");

    let c = setup.campaign("dach-saas-founders");
    assert_eq!(c["status"], "PAUSED");
    assert_eq!(c["daily_cap"], 60);
    assert_eq!(c["score_threshold"], 0.6);
    assert_eq!(c["after_last_step"], "nurture");
    assert_eq!(c["mode"], "dry-run");
    assert_eq!(c["mailboxes"].as_array().unwrap().len(), 2);
    assert_eq!(c["send_window"]["fallback_time_zone"], "Europe/Berlin");
    let delays: Vec<u64> = c["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["delay_hours"].as_u64().unwrap())
        .collect();
    assert_eq!(delays, vec![0, 72, 120]);
    assert_eq!(c["plugins"]["reply_classifier"], "heuristic_replies");
    assert_eq!(c["plugins"]["decision_rules"][0], "guardrails");

    let text = setup.ok(&["campaigns", "show", "dach-saas-founders"]);
    for expected in [
        "step 3",
        "Should I close the loop?",
        "weighted_score",
        "anna@outreach.example.com",
        "nurture",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }

    let err = setup.fails(&["campaigns", "create", "--file", file.to_str().unwrap()]);
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn flags_create_a_campaign_with_a_three_step_default_sequence() {
    let setup = Setup::initialized();
    setup.ok(&[
        "campaigns",
        "create",
        "q4",
        "--daily-cap",
        "25",
        "--goal",
        "3",
        "--live",
        "--after-last-step",
        "dead",
    ]);
    let c = setup.campaign("q4");
    assert_eq!(c["daily_cap"], 25);
    assert_eq!(c["goal_qualified"], 3);
    assert_eq!(c["live"], true);
    assert_eq!(c["mode"], "live");
    assert_eq!(c["after_last_step"], "dead");
    let steps = c["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert!(
        steps
            .iter()
            .all(|s| s["body"].as_str().unwrap().contains("{{first_name|there}}"))
    );
}

#[test]
fn a_bad_campaign_is_refused_with_the_field_named() {
    let setup = Setup::initialized();
    let err = setup.fails(&[
        "campaigns",
        "create",
        "x",
        "--daily-cap",
        "0",
        "--fallback-tz",
        "Mars/Base",
    ]);
    assert!(err.contains("daily_cap") && err.contains("Mars/Base"), "{err}");
    let list = setup.json(&["campaigns", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 0);
}

#[test]
fn a_paused_campaign_shows_who_paused_it_and_why_until_resumed() {
    let setup = Setup::initialized();
    setup.ok(&["campaigns", "create", "spring", "--start"]);
    assert_eq!(setup.campaign("spring")["status"], "RUNNING");

    setup.ok(&["campaigns", "pause", "spring", "--reason", "bounce rate above 5%"]);
    let c = setup.campaign("spring");
    assert_eq!(c["status"], "PAUSED");
    assert_eq!(c["status_reason"], "bounce rate above 5%");
    assert_eq!(c["status_actor"], "operator:tester");
    let list = setup.ok(&["campaigns", "list"]);
    let row = list
        .lines()
        .find(|l| l.starts_with("spring"))
        .expect("a row for spring");
    assert!(
        row.contains("PAUSED") && row.contains("bounce rate above 5%") && row.contains("operator:tester"),
        "{list}"
    );
    let show = setup.ok(&["campaigns", "show", "spring"]);
    assert!(
        show.contains("PAUSED by operator:tester") && show.contains("bounce rate above 5%"),
        "{show}"
    );

    setup.ok(&["campaigns", "resume", "spring"]);
    let c = setup.campaign("spring");
    assert_eq!(c["status"], "RUNNING");
    assert_eq!(c["status_actor"], "operator:tester");
}

#[test]
fn pausing_needs_a_reason_and_an_existing_campaign() {
    let setup = Setup::initialized();
    let err = setup.fails(&["campaigns", "pause", "ghost", "--reason", "x"]);
    assert!(err.contains("no campaign named \"ghost\""), "{err}");
    setup.ok(&["campaigns", "create", "real"]);
    let err = setup.fails(&["campaigns", "pause", "real", "--reason", "  "]);
    assert!(err.contains("--reason"), "{err}");
}

#[test]
fn a_shown_campaign_as_toml_creates_the_same_campaign_again() {
    let setup = Setup::initialized();
    let file = examples_dir().join("campaign.toml");
    setup.ok(&["campaigns", "create", "--file", file.to_str().unwrap()]);
    let toml = setup.ok(&["campaigns", "show", "dach-saas-founders", "--toml"]);
    let copy = setup.path().join("copy.toml");
    std::fs::write(&copy, toml).unwrap();
    setup.ok(&["campaigns", "create", "copy", "--file", copy.to_str().unwrap()]);
    let strip = |mut v: Value| {
        for key in [
            "id",
            "name",
            "status",
            "status_reason",
            "status_actor",
            "status_changed_at",
            "created_at",
        ] {
            v.as_object_mut().unwrap().remove(key);
        }
        v
    };
    assert_eq!(
        strip(setup.campaign("copy")),
        strip(setup.campaign("dach-saas-founders"))
    );
}
