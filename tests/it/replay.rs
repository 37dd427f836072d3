//! The scratch replay prepares and runs a history exactly as `apply` does.

use crate::common::{CliTest, Server, TestDb};

/// A history whose second migration puts a trigger on diesel's versions table: `apply` runs
/// it, so the replay behind `schema` and `check` must too.
fn trigger_on_versions_table(t: &CliTest, backend: &str) {
    t.migration(
        "2024-01-01-000000_audit",
        "CREATE TABLE audit (version VARCHAR(50) PRIMARY KEY);\n",
        None,
    );
    let trigger = match backend {
        "sqlite" => "CREATE TRIGGER log_version AFTER INSERT ON __diesel_schema_migrations\nBEGIN\n  INSERT INTO audit (version) VALUES (NEW.version);\nEND;\n",
        _ => "CREATE FUNCTION log_version() RETURNS trigger AS $$\nBEGIN\n  INSERT INTO audit (version) VALUES (NEW.version);\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\nCREATE TRIGGER log_version AFTER INSERT ON __diesel_schema_migrations\n  FOR EACH ROW EXECUTE FUNCTION log_version();\n",
    };
    t.migration("2024-01-02-000000_log_versions", trigger, None);
    t.migration(
        "2024-01-03-000000_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        None,
    );
}

#[test]
fn sqlite_replay_runs_a_trigger_on_the_versions_table() {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    trigger_on_versions_table(&t, "sqlite");
    let run = t.run(&["schema", "--no-cache"]);
    run.assert_success();
    assert!(run.stdout.contains("users (id)"), "{}", run.stdout);
    t.run(&["apply"]).assert_success();
}

#[test]
fn postgres_replay_runs_a_trigger_on_the_versions_table() {
    let Some(base) = Server::Postgres.url() else {
        return;
    };
    let Some(db) = TestDb::create(Server::Postgres, "vtrig") else {
        return;
    };
    let t = CliTest::package()
        .env("DATABASE_URL", &db.url)
        .env("MIGRATE_SCRATCH_URL", &base);
    trigger_on_versions_table(&t, "postgres");
    let run = t.run(&["schema", "--no-cache"]);
    run.assert_success();
    assert!(run.stdout.contains("users (id)"), "{}", run.stdout);
    t.run(&["apply"]).assert_success();
    // The trigger saw every version recorded after it, in the real database as in the replay.
    let mut conn = db.connect();
    assert_eq!(
        conn.count("SELECT COUNT(*) AS n FROM audit").unwrap(),
        2,
        "the trigger ran for its own migration and the next one"
    );
}

/// A migration that commits diesel's transaction itself: wherever `apply` stops, `schema`
/// (the replay) stops on the same migration.
#[test]
fn sqlite_replay_fails_where_apply_fails() {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    t.migration(
        "2024-01-01-000000_a",
        "CREATE TABLE a (id INTEGER);\n",
        None,
    );
    t.migration(
        "2024-01-02-000000_commits",
        "CREATE TABLE b (id INTEGER);\nCOMMIT;\n",
        None,
    );
    let replay = t.run(&["schema", "--no-cache"]);
    let apply = t.run(&["apply"]);
    assert_eq!(
        replay.code == 0,
        apply.code == 0,
        "replay:\n{}\napply:\n{}",
        replay.all(),
        apply.all()
    );
    if apply.code != 0 {
        assert!(
            replay.stderr.contains("2024-01-02-000000_commits"),
            "{}",
            replay.stderr
        );
        assert!(
            apply.stderr.contains("2024-01-02-000000_commits"),
            "{}",
            apply.stderr
        );
    }
}

/// A set without a schema file has nothing to compare, but "passed" still means its history
/// was replayed: a migration that cannot run fails the check.
#[test]
fn check_replays_a_set_without_a_schema_file() {
    let t = CliTest::package();
    t.write(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n[package.metadata.migrate]\nbackend = \"sqlite\"\n",
    );
    t.migration(
        "2024-01-01-000000_a",
        "CREATE TABLE a (id INTEGER PRIMARY KEY);\nSELEC broken;\n",
        Some("DROP TABLE a;\n"),
    );
    let run = t.run(&["check", "--offline"]);
    run.assert_code(1);
    assert!(run.all().contains("error[replay-failed]"), "{}", run.all());

    t.write(
        "migrations/2024-01-01-000000_a/up.sql",
        "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
    );
    let run = t.run(&["check", "--offline", "--format", "json"]);
    run.assert_success();
    let doc = run.json();
    assert_eq!(doc["sets"][0]["replayed"], true, "{doc}");
    assert_eq!(doc["sets"][0]["schema_checked"], false, "{doc}");
    let run = t.run(&["check", "--offline"]);
    assert!(
        run.stdout
            .contains("history replays; no schema file to compare"),
        "{}",
        run.all()
    );
}

/// A replay that fails because the scratch server lacks an extension says so, names the
/// server it ran on, and does not blame the migration.
#[test]
fn a_missing_extension_on_the_scratch_server_is_named() {
    let Some(base) = Server::Postgres.url() else {
        return;
    };
    let t = CliTest::package().env("MIGRATE_SCRATCH_URL", base);
    t.write(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n[package.metadata.migrate]\nbackend = \"postgres\"\n",
    );
    t.migration(
        "2024-01-01-000000_ext",
        "CREATE EXTENSION cm_no_such_extension;\n",
        Some("DROP EXTENSION cm_no_such_extension;\n"),
    );
    let run = t.run(&["check", "--offline", "--no-cache"]);
    run.assert_code(1);
    let all = run.all();
    assert!(
        all.contains("the scratch server lacks the extension `cm_no_such_extension` (the replay ran on PostgreSQL "),
        "{all}"
    );
    assert!(!all.contains("fix this migration"), "{all}");
}

/// `check` and `schema` refuse a history with an up.sql that holds no statement, exactly as
/// `apply` does, on every backend: `schema` exits 2 with apply's finding, and `check` fails
/// even with the `empty-up-sql` lint turned off (the replay refuses, not only the lint), with
/// the finding reported once when both see it.
fn replay_refuses_an_empty_up_sql(server: Option<Server>) {
    let (backend, t, _db) = match server {
        None => (
            "sqlite",
            CliTest::package().env("DATABASE_URL", "app.db"),
            None,
        ),
        Some(server) => {
            let Some(base) = server.url() else {
                return;
            };
            let Some(db) = TestDb::create(server, "replayempty") else {
                return;
            };
            let t = CliTest::package()
                .env("DATABASE_URL", &db.url)
                .env("MIGRATE_SCRATCH_URL", &base);
            let name = if server == Server::Postgres {
                "postgres"
            } else {
                "mysql"
            };
            (name, t, Some(db))
        }
    };
    let manifest = |lint: &str| {
        format!(
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\nbackend = \"{backend}\"\n{lint}\n[workspace]\n"
        )
    };
    t.write("Cargo.toml", &manifest(""));
    t.migration(
        "2024-01-01-000000_a",
        "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE a;\n"),
    );
    t.migration(
        "2024-01-02-000000_todo",
        "-- Your SQL goes here\n",
        Some("SELECT 1;\n"),
    );
    let file = "migrations/2024-01-02-000000_todo/up.sql";

    let apply = t.run(&["apply"]);
    apply.assert_code(2);
    let schema = t.run(&["schema", "--no-cache"]);
    schema.assert_code(2);
    for (what, run) in [("apply", &apply), ("schema", &schema)] {
        let all = run.all();
        assert!(
            all.contains("error[empty-up-sql]: 2024-01-02-000000_todo: up.sql holds no statement")
                && all.contains(file)
                && all.contains("cargo migrate refuses to run it"),
            "{backend} {what}: {all}"
        );
    }
    assert!(schema.stdout.is_empty(), "{}", schema.stdout);

    let check = t.run(&["check", "--offline", "--no-cache", "--format", "json"]);
    check.assert_code(1);
    let doc = check.json();
    let empties = |doc: &serde_json::Value| {
        doc["sets"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "empty-up-sql" && f["severity"] == "error")
            .count()
    };
    assert_eq!(empties(&doc), 1, "{backend}: {doc:#}");
    assert_eq!(doc["sets"][0]["replayed"], false, "{backend}: {doc:#}");

    // The lint turned off: the replay still refuses the file, as apply does.
    t.write(
        "Cargo.toml",
        &manifest("\n[package.metadata.migrate.lint]\nempty-up-sql = \"allow\"\n"),
    );
    let check = t.run(&["check", "--offline", "--no-cache", "--format", "json"]);
    check.assert_code(1);
    let doc = check.json();
    assert_eq!(empties(&doc), 1, "{backend}: {doc:#}");
    t.run(&["schema", "--no-cache"]).assert_code(2);
}

#[test]
fn sqlite_replay_refuses_an_empty_up_sql() {
    replay_refuses_an_empty_up_sql(None);
}

#[test]
fn postgres_replay_refuses_an_empty_up_sql() {
    replay_refuses_an_empty_up_sql(Some(Server::Postgres));
}

#[test]
fn mysql_replay_refuses_an_empty_up_sql() {
    replay_refuses_an_empty_up_sql(Some(Server::Mysql));
}
