//! Migration bundles: made in a workspace, run with `--bundle` from an empty folder whose PATH
//! has no cargo, against SQLite, PostgreSQL and MariaDB; refused when edited.

use std::path::Path;
use std::process::Command;

use crate::common::{CliTest, Server, TestDb, BIN};

/// Run the binary as a release host would: an empty folder, a PATH without cargo, only the
/// given variables.
fn on_host(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("NO_COLOR", "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn make_bundle(t: &CliTest) -> std::path::PathBuf {
    let out = t.path("release.bundle");
    t.run(&["bundle", "--out", out.to_str().unwrap()])
        .assert_success();
    out
}

#[test]
fn the_same_workspace_gives_the_same_bytes() {
    let t = CliTest::fixture("three-backends");
    let a = std::fs::read(make_bundle(&t)).unwrap();
    let b = std::fs::read(make_bundle(&t)).unwrap();
    assert_eq!(a, b);
    let doc: serde_json::Value = serde_json::from_slice(&a).unwrap();
    assert_eq!(doc["format"], "cargo-migrate-bundle");
    assert_eq!(doc["format_version"], 1);
    let names: Vec<&str> = doc["sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["analytics", "billing", "core"]);
}

#[test]
fn a_sqlite_set_runs_from_an_empty_folder_without_cargo() {
    let t = CliTest::fixture("three-backends");
    let bundle = make_bundle(&t);
    let host = tempfile::tempdir().unwrap();
    let b = bundle.to_str().unwrap();
    let env = [("ANALYTICS_DATABASE_URL", "an.db")];
    let (code, out, err) = on_host(
        host.path(),
        &["--bundle", b, "-p", "analytics", "apply"],
        &env,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("applied 2024-03-01-000000_create_events"),
        "{out}"
    );
    let (code, out, _) = on_host(
        host.path(),
        &[
            "--bundle",
            b,
            "-p",
            "analytics",
            "status",
            "--format",
            "json",
        ],
        &env,
    );
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["pending"], 0);
    let (code, out, err) = on_host(
        host.path(),
        &["--bundle", b, "-p", "analytics", "revert"],
        &env,
    );
    assert_eq!(code, 0, "{out}{err}");
    // Commands that need the workspace say so.
    let (code, _, err) = on_host(host.path(), &["--bundle", b, "schema"], &env);
    assert_eq!(code, 2);
    assert!(err.contains("needs a workspace"), "{err}");
    // Without the variable: which one to set.
    let (code, _, err) = on_host(
        host.path(),
        &["--bundle", b, "-p", "analytics", "apply"],
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("ANALYTICS_DATABASE_URL"), "{err}");
}

#[test]
fn an_edited_bundle_is_refused_before_anything_runs() {
    let t = CliTest::fixture("three-backends");
    let bundle = make_bundle(&t);
    let text = std::fs::read_to_string(&bundle).unwrap();
    let host = tempfile::tempdir().unwrap();
    let env = [("ANALYTICS_DATABASE_URL", "an.db")];
    for (what, edited) in [
        (
            "a migration's SQL",
            text.replacen("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1),
        ),
        (
            "a set's variable",
            text.replacen("ANALYTICS_DATABASE_URL", "OTHER_DATABASE_URL", 1),
        ),
    ] {
        assert_ne!(edited, text, "{what}");
        let path = host.path().join("edited.bundle");
        std::fs::write(&path, edited).unwrap();
        let (code, _, err) = on_host(
            host.path(),
            &[
                "--bundle",
                path.to_str().unwrap(),
                "-p",
                "analytics",
                "apply",
            ],
            &env,
        );
        assert_eq!(code, 2, "{what}: {err}");
        assert!(err.contains("damaged or was edited"), "{what}: {err}");
        assert!(!host.path().join("an.db").exists(), "{what}: something ran");
    }
    let path = host.path().join("not.bundle");
    std::fs::write(&path, "{}").unwrap();
    let (code, _, err) = on_host(
        host.path(),
        &["--bundle", path.to_str().unwrap(), "apply"],
        &env,
    );
    assert_eq!(code, 2);
    assert!(err.contains("is not a migration bundle"), "{err}");
}

fn server_set(server: Server, set: &str, var: &str) {
    let Some(db) = TestDb::create(server, "bundle") else {
        return;
    };
    let t = CliTest::fixture("three-backends");
    let bundle = make_bundle(&t);
    let host = tempfile::tempdir().unwrap();
    let b = bundle.to_str().unwrap();
    let env = [(var, db.url.as_str())];
    // Two runs at once: each migration runs once, both succeed.
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let dir = host.path().to_path_buf();
            let b = b.to_string();
            let var = var.to_string();
            let url = db.url.clone();
            let set = set.to_string();
            std::thread::spawn(move || {
                on_host(
                    &dir,
                    &["--bundle", &b, "-p", &set, "apply"],
                    &[(&var, &url)],
                )
            })
        })
        .collect();
    let results: Vec<_> = runs.into_iter().map(|h| h.join().unwrap()).collect();
    for (code, out, err) in &results {
        assert_eq!(*code, 0, "{out}{err}");
    }
    let applied: usize = results
        .iter()
        .map(|(_, out, _)| out.matches("  applied ").count())
        .sum();
    let (_, out, _) = on_host(
        host.path(),
        &["--bundle", b, "-p", set, "status", "--format", "json"],
        &env,
    );
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["pending"], 0, "{out}");
    let total = doc["sets"][0]["applied"].as_array().unwrap().len();
    assert_eq!(applied, total, "a migration ran twice or not at all");
    let (code, out, err) = on_host(
        host.path(),
        &["--bundle", b, "-p", set, "revert", "--all"],
        &env,
    );
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn postgres_set_from_a_bundle() {
    server_set(Server::Postgres, "core", "CORE_DATABASE_URL");
}

#[test]
fn mysql_set_from_a_bundle() {
    server_set(Server::Mysql, "billing", "BILLING_DATABASE_URL");
}

#[test]
fn check_runs_the_live_checks_from_a_bundle() {
    let t = CliTest::fixture("three-backends");
    let bundle = make_bundle(&t);
    let host = tempfile::tempdir().unwrap();
    let b = bundle.to_str().unwrap();
    let env = [("ANALYTICS_DATABASE_URL", "an.db")];
    let (code, out, err) = on_host(
        host.path(),
        &["--bundle", b, "-p", "analytics", "apply"],
        &env,
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = on_host(
        host.path(),
        &["--bundle", b, "-p", "analytics", "check"],
        &env,
    );
    assert_eq!(code, 0, "{out}{err}");
    cargo_migrate::db::Connection::establish(
        &cargo_migrate::database_url::DatabaseUrl::new(
            host.path().join("an.db").display().to_string(),
        ),
        cargo_migrate::backend::Backend::Sqlite,
        cargo_migrate::db::ConnectOptions::default(),
    )
    .unwrap()
    .batch_execute("CREATE INDEX hot ON events (id)")
    .unwrap();
    let (code, out, err) = on_host(
        host.path(),
        &["--bundle", b, "-p", "analytics", "check"],
        &env,
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(format!("{out}{err}").contains("index `hot`"), "{out}{err}");
}
