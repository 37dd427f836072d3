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

/// A package whose second migration sleeps while a flag table exists, and every migration
/// logs itself in `runs`, so that a rerun shows whether anything ran twice.
fn slow_package(backend: &str, sleep: &str) -> CliTest {
    let t = CliTest::package();
    t.write(
        "Cargo.toml",
        &format!("[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\nbackend = \"{backend}\"\n\n[workspace]\n"),
    );
    t.migration(
        "2024-01-01-000000_first",
        "CREATE TABLE runs (name TEXT);\nCREATE TABLE slow_flag (id INTEGER);\nINSERT INTO runs VALUES ('first');\n",
        Some("DROP TABLE slow_flag;\nDROP TABLE runs;\n"),
    );
    t.migration(
        "2024-01-02-000000_slow",
        &format!(
            "CREATE TABLE slow_table (id INTEGER);\nINSERT INTO runs VALUES ('slow');\n{sleep}\n"
        ),
        Some("DROP TABLE slow_table;\n"),
    );
    t.migration(
        "2024-01-03-000000_last",
        "INSERT INTO runs VALUES ('last');\n",
        Some("DELETE FROM runs WHERE name = 'last';\n"),
    );
    t
}

/// `kill -9` in the middle of a bundle run: the killed migration left nothing and is not
/// recorded, and the next run from the same bundle finishes the job with each migration run
/// exactly once.
fn kill_9_during_a_bundle_run(
    t: &CliTest,
    url: &str,
    connect: &dyn Fn() -> Option<cargo_migrate::db::Connection>,
) {
    let bundle = make_bundle(t);
    let host = tempfile::tempdir().unwrap();
    let b = bundle.to_str().unwrap();
    let mut child = Command::new(BIN)
        .args(["--bundle", b, "apply", "--database-url", url])
        .current_dir(host.path())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the slow migration runs (its table exists inside its transaction: its row in
    // `runs` is not visible yet, but the first migration's is).
    let started = std::time::Instant::now();
    loop {
        let seen = connect()
            .and_then(|mut c| {
                c.count("SELECT COUNT(*) AS n FROM runs WHERE name = 'first'")
                    .ok()
            })
            .unwrap_or(0);
        if seen == 1 {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 60,
            "the first migration never committed"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    child.kill().unwrap();
    let _ = child.wait();
    let mut conn = connect().unwrap();
    assert_eq!(
        conn.count("SELECT COUNT(*) AS n FROM runs").unwrap(),
        1,
        "only the first migration committed"
    );
    conn.batch_execute("DROP TABLE slow_flag").unwrap();
    drop(conn);
    let (code, out, err) = on_host(
        host.path(),
        &[
            "--bundle",
            b,
            "apply",
            "--database-url",
            url,
            "--lock-timeout",
            "60",
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    let mut conn = connect().unwrap();
    for name in ["first", "slow", "last"] {
        assert_eq!(
            conn.count(&format!(
                "SELECT COUNT(*) AS n FROM runs WHERE name = '{name}'"
            ))
            .unwrap(),
            1,
            "{name} ran more or less than once"
        );
    }
    let (code, out, _) = on_host(
        host.path(),
        &[
            "--bundle",
            b,
            "status",
            "--database-url",
            url,
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["pending"], 0, "{out}");
}

#[test]
fn postgres_kill_9_during_a_bundle_run_is_finished_by_the_next() {
    let Some(db) = TestDb::create(Server::Postgres, "bkill") else {
        return;
    };
    let t = slow_package(
        "postgres",
        "SELECT pg_sleep(CASE WHEN EXISTS (SELECT 1 FROM pg_tables WHERE tablename = 'slow_flag') THEN 30 ELSE 0 END);",
    );
    kill_9_during_a_bundle_run(&t, &db.url, &|| Some(db.connect()));
}

#[test]
fn sqlite_kill_9_during_a_bundle_run_is_finished_by_the_next() {
    let t = slow_package(
        "sqlite",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < CASE WHEN EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'slow_flag') THEN 400000000 ELSE 1 END) INSERT INTO slow_table SELECT x FROM c;",
    );
    let url = t.path("killed.db").display().to_string();
    let u = url.clone();
    kill_9_during_a_bundle_run(&t, &url, &move || {
        cargo_migrate::db::Connection::establish(
            &cargo_migrate::database_url::DatabaseUrl::new(u.clone()),
            cargo_migrate::backend::Backend::Sqlite,
            cargo_migrate::db::ConnectOptions::default(),
        )
        .ok()
    });
}

#[test]
fn a_bundled_sets_targets_query_lists_its_fleet_without_the_workspace() {
    let t = CliTest::package();
    t.migration(
        "2024-01-01-000000_create_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE users;\n"),
    );
    let manifest = std::fs::read_to_string(t.path("Cargo.toml")).unwrap();
    t.write(
        "Cargo.toml",
        &format!("{manifest}\n[package.metadata.migrate]\nbackend = \"sqlite\"\ntargets-url-env = \"CONTROL_URL\"\ntargets-query = \"SELECT url FROM tenants ORDER BY url\"\n"),
    );
    let bundle = make_bundle(&t);
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert_eq!(
        doc["sets"][0]["targets_query"]["url_env"], "CONTROL_URL",
        "{doc}"
    );

    let host = tempfile::tempdir().unwrap();
    let control = host.path().join("control.db");
    let mut conn = cargo_migrate::db::Connection::establish(
        &cargo_migrate::database_url::DatabaseUrl::new(control.display().to_string()),
        cargo_migrate::backend::Backend::Sqlite,
        cargo_migrate::db::ConnectOptions {
            create_sqlite: true,
            ..Default::default()
        },
    )
    .unwrap();
    conn.batch_execute("CREATE TABLE tenants (url TEXT NOT NULL)")
        .unwrap();
    for name in ["a", "b"] {
        conn.batch_execute(&format!(
            "INSERT INTO tenants VALUES ('{}')",
            host.path().join(format!("tenant_{name}.db")).display()
        ))
        .unwrap();
    }
    drop(conn);
    let b = bundle.to_str().unwrap();
    let env = [("CONTROL_URL", control.to_str().unwrap())];
    let (code, out, err) = on_host(
        host.path(),
        &["--bundle", b, "apply", "--fleet", "--format", "json"],
        &env,
    );
    assert_eq!(code, 0, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["summary"]["targets"], 2, "{doc}");
    assert_eq!(doc["summary"]["migrated"], 2, "{doc}");
    let (code, out, err) = on_host(host.path(), &["--bundle", b, "status", "--fleet"], &env);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 targets current"), "{out}");
    // Without the variable, the bundled key and the bundle are named.
    let (code, _, err) = on_host(host.path(), &["--bundle", b, "apply", "--fleet"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("$CONTROL_URL is not set"), "{err}");
}
