//! `init-sql`: a set's session SQL runs first on every connection the tool opens for it, on
//! the set's own database and on the scratch database its history replays on (issue 11,
//! point 5). Each test reads the database afterwards.

use cargo_migrate::database_url::DatabaseUrl;
use insta::assert_snapshot;

use crate::common::{CliTest, Server, TestDb};

const GUARD: &str = "2024-01-01-000000_guard_versions";
const USERS: &str = "2024-01-02-000000_users";

/// A PostgreSQL history whose first migration guards diesel's versions table: a version may
/// only be recorded or removed by a session that says it is migrating. Recording the guard
/// migration's own version is the first insert the trigger sees.
const PG_GUARD_UP: &str = "CREATE FUNCTION guard_versions() RETURNS trigger AS $$
BEGIN
  IF current_setting('app.migrating', true) IS DISTINCT FROM 'on' THEN
    RAISE EXCEPTION 'versions may only change with app.migrating = on';
  END IF;
  RETURN COALESCE(NEW, OLD);
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER guard_versions BEFORE INSERT OR DELETE ON __diesel_schema_migrations
  FOR EACH ROW EXECUTE FUNCTION guard_versions();
";
const PG_GUARD_DOWN: &str = "DROP TRIGGER guard_versions ON __diesel_schema_migrations;
DROP FUNCTION guard_versions();
";

/// The same guard on MariaDB/MySQL, with a user variable. DDL commits there, so a failed run
/// leaves the triggers behind; `DROP TRIGGER IF EXISTS` lets the migration run again.
const MYSQL_GUARD_UP: &str = "DROP TRIGGER IF EXISTS guard_insert;
DROP TRIGGER IF EXISTS guard_delete;
CREATE TRIGGER guard_insert BEFORE INSERT ON __diesel_schema_migrations FOR EACH ROW
BEGIN
  IF @migrating IS NULL OR @migrating <> 1 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'versions may only change with @migrating = 1';
  END IF;
END;
CREATE TRIGGER guard_delete BEFORE DELETE ON __diesel_schema_migrations FOR EACH ROW
BEGIN
  IF @migrating IS NULL OR @migrating <> 1 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'versions may only change with @migrating = 1';
  END IF;
END;
";
const MYSQL_GUARD_DOWN: &str = "DROP TRIGGER guard_insert;
DROP TRIGGER guard_delete;
";

fn manifest(backend: &str, init_sql: Option<&str>) -> String {
    format!(
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\nbackend = \"{backend}\"\n{}\n[workspace]\n",
        init_sql
            .map(|s| format!("init-sql = {s}\n"))
            .unwrap_or_default()
    )
}

fn applied(db: &TestDb) -> Vec<String> {
    let mut conn = db.connect();
    if !conn.has_migrations_table().unwrap() {
        return Vec::new();
    }
    conn.applied_versions(&DatabaseUrl::new(&db.url)).unwrap()
}

/// Without init-sql the guard refuses its own version in `apply` and in the replay behind
/// `check`, at the same migration; with it every command works.
fn guarded_history(server: Server, init_sql: &str) {
    let Some(base) = server.url() else {
        return;
    };
    let Some(db) = TestDb::create(server, "initsql") else {
        return;
    };
    let (backend, up, down, refusal) = match server {
        Server::Postgres => (
            "postgres",
            PG_GUARD_UP,
            PG_GUARD_DOWN,
            "versions may only change with app.migrating = on",
        ),
        Server::Mysql => (
            "mysql",
            MYSQL_GUARD_UP,
            MYSQL_GUARD_DOWN,
            "versions may only change with @migrating = 1",
        ),
    };
    let t = CliTest::package()
        .env("DATABASE_URL", &db.url)
        .env("MIGRATE_SCRATCH_URL", &base);
    t.migration(GUARD, up, Some(down));
    t.migration(
        USERS,
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE users;\n"),
    );

    // Without init-sql: apply and the replay fail at the guard migration, nothing recorded.
    t.write("Cargo.toml", &manifest(backend, None));
    let run = t.run(&["apply"]);
    run.assert_code(1);
    let all = run.all();
    assert!(all.contains(GUARD) && all.contains(refusal), "{all}");
    assert!(applied(&db).is_empty(), "{:?}", applied(&db));
    let run = t.run(&["check", "--offline", "--no-cache"]);
    run.assert_code(1);
    let all = run.all();
    assert!(all.contains("error[replay-failed]"), "{all}");
    assert!(all.contains(GUARD) && all.contains(refusal), "{all}");

    // A failing init-sql statement stops apply and check before anything runs (exit 2), and
    // says which database it failed on.
    t.write(
        "Cargo.toml",
        &manifest(
            backend,
            Some("[\"SELECT 1\", \"SELECT no_such_function()\"]"),
        ),
    );
    for args in [&["apply"][..], &["check", "--offline", "--no-cache"]] {
        let run = t.run(args);
        run.assert_code(2);
        let all = run.all();
        assert!(
            all.contains("init-sql statement 2 (`SELECT no_such_function()`), configured in [package.metadata.migrate] of `Cargo.toml`"),
            "{args:?}: {all}"
        );
        if args[0] == "check" {
            assert!(
                all.contains("failed on the scratch database cargo_migrate_scratch_"),
                "{all}"
            );
        }
    }
    assert!(applied(&db).is_empty());

    // With init-sql: every connection says it is migrating.
    t.write("Cargo.toml", &manifest(backend, Some(init_sql)));
    t.run(&["apply"]).assert_success();
    assert_eq!(applied(&db), ["20240101000000", "20240102000000"]);
    t.run(&["check", "--no-cache"]).assert_success();
    t.run(&["schema", "--no-cache"]).assert_success();
    let run = t.run(&["status", "--format", "json"]);
    run.assert_success();
    assert_eq!(
        run.json()["sets"][0]["applied"].as_array().map(Vec::len),
        Some(2)
    );
    t.run(&["redo"]).assert_success();
    assert_eq!(applied(&db), ["20240101000000", "20240102000000"]);

    // revert removes a version, which the guard refuses without init-sql. (On PostgreSQL
    // only: MariaDB commits the DROP TABLE before the refused DELETE, as it would for diesel.)
    if server == Server::Postgres {
        t.write("Cargo.toml", &manifest(backend, None));
        let run = t.run(&["revert"]);
        run.assert_code(1);
        assert!(run.all().contains(refusal), "{}", run.all());
        assert_eq!(applied(&db), ["20240101000000", "20240102000000"]);
    }
    t.write("Cargo.toml", &manifest(backend, Some(init_sql)));
    t.run(&["revert"]).assert_success();
    assert_eq!(applied(&db), ["20240101000000"]);
    t.run(&["revert"]).assert_success();
    assert!(applied(&db).is_empty());
}

#[test]
fn postgres_init_sql_satisfies_a_guard_on_the_versions_table() {
    guarded_history(Server::Postgres, "\"SET app.migrating = 'on'\"");
}

#[test]
fn mysql_init_sql_satisfies_a_guard_on_the_versions_table() {
    // A list, and a string of two statements: each entry runs as one batch.
    guarded_history(
        Server::Mysql,
        "[\"SET @unrelated = 0; SET @migrating = 0\", \"SET @migrating = 1\"]",
    );
}

/// On SQLite init-sql's effect shows in apply and in the replay alike: with foreign keys
/// turned on, a migration that inserts a dangling reference fails in both.
#[test]
fn sqlite_init_sql_runs_before_apply_and_the_replay() {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    t.migration(
        "2024-01-01-000000_posts",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id));\nINSERT INTO posts (id, user_id) VALUES (1, 42);\n",
        Some("DROP TABLE posts;\nDROP TABLE users;\n"),
    );
    t.write(
        "Cargo.toml",
        &manifest("sqlite", Some("\"PRAGMA foreign_keys = ON\"")),
    );
    let run = t.run(&["check", "--offline", "--no-cache"]);
    run.assert_code(1);
    assert!(
        run.all().contains("FOREIGN KEY constraint failed"),
        "{}",
        run.all()
    );
    let run = t.run(&["apply"]);
    run.assert_code(1);
    assert!(
        run.all().contains("FOREIGN KEY constraint failed"),
        "{}",
        run.all()
    );
    // Without it, foreign keys are off (as diesel_cli leaves them) and both pass.
    t.write("Cargo.toml", &manifest("sqlite", None));
    t.run(&["check", "--offline", "--no-cache"])
        .assert_success();
    t.run(&["apply"]).assert_success();
}

/// A statement that fails stops the command before anything else runs on the connection,
/// with exit 2 and a message naming the set, the statement, the table and the manifest. A
/// workspace's init-sql is every member's default; a member's own value replaces it.
#[test]
fn a_failing_init_sql_statement_stops_before_anything_runs() {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    t.migration(
        "2024-01-01-000000_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE users;\n"),
    );
    t.write(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\nbackend = \"sqlite\"\n\n[workspace]\n\n[workspace.metadata.migrate]\ninit-sql = [\"PRAGMA foreign_keys = ON\", \"SET lock_timeout = '5s'\"]\n",
    );
    let run = t.run(&["apply"]);
    run.assert_code(2);
    assert_snapshot!("apply", t.clean(&run.stderr));
    let mut conn = cargo_migrate::db::Connection::establish(
        &DatabaseUrl::new(t.path("app.db").to_str().unwrap()),
        cargo_migrate::backend::Backend::Sqlite,
        Default::default(),
    )
    .unwrap();
    assert!(
        !conn.has_migrations_table().unwrap(),
        "nothing may run after a failed init-sql statement"
    );
    let run = t.run(&["check", "--offline", "--no-cache"]);
    run.assert_code(2);
    assert_snapshot!("check", t.clean(&run.stderr));
    for args in [
        &["status"][..],
        &["revert"],
        &["redo"],
        &["baseline", "--to", "2024-01-01-000000"],
        &["schema", "--no-cache"],
        &["check", "--lint-only"],
    ] {
        let run = t.run(args);
        if args.get(1) == Some(&"--lint-only") {
            // The lint opens no connection.
            run.assert_success();
            continue;
        }
        run.assert_code(2);
        assert!(
            run.stderr
                .contains("init-sql statement 2 (`SET lock_timeout = '5s'`)"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert!(!conn.has_migrations_table().unwrap());
    // generate --diff-schema replays the history too.
    t.write(
        "src/schema.rs",
        "diesel::table! {\n    users (id) {\n        id -> Integer,\n    }\n}\n",
    );
    let run = t.run(&["generate", "more", "--diff-schema"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("init-sql statement 2 (`SET lock_timeout = '5s'`), configured in [workspace.metadata.migrate] of `Cargo.toml`, failed on the in-memory scratch database"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_dir(t.path("migrations")).unwrap().count(), 1);
    std::fs::remove_file(t.path("src/schema.rs")).unwrap();

    // The package's own (empty) list replaces the workspace's.
    let text = std::fs::read_to_string(t.path("Cargo.toml")).unwrap();
    t.write(
        "Cargo.toml",
        &text.replace(
            "backend = \"sqlite\"\n",
            "backend = \"sqlite\"\ninit-sql = []\n",
        ),
    );
    t.run(&["apply"]).assert_success();
    t.run(&["check", "--offline", "--no-cache"])
        .assert_success();
}

/// An empty entry is a configuration error naming the key, and an unknown key still is one.
#[test]
fn an_empty_init_sql_entry_is_a_configuration_error() {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    t.write(
        "Cargo.toml",
        &manifest("sqlite", Some("[\"PRAGMA foreign_keys = ON\", \"  \"]")),
    );
    let run = t.run(&["status"]);
    run.assert_code(2);
    assert_snapshot!("empty_entry", t.clean(&run.stderr));
    t.write("Cargo.toml", &manifest("sqlite", Some("3")));
    let run = t.run(&["status"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("a string or a list of strings"),
        "{}",
        run.stderr
    );
    t.write(
        "Cargo.toml",
        &manifest("sqlite", None).replace("backend", "init_sql = \"x\"\nbackend"),
    );
    let run = t.run(&["status"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("unknown field `init_sql`") && run.stderr.contains("`init-sql`"),
        "{}",
        run.stderr
    );
}

/// A `search_path` in init-sql puts the tables and diesel's versions table in that schema, in
/// the deploy and in the replay alike (which creates the schema first on its empty database).
#[test]
fn postgres_init_sql_search_path_applies_and_replays_in_that_schema() {
    let Some(base) = Server::Postgres.url() else {
        return;
    };
    let Some(db) = TestDb::create(Server::Postgres, "initsqlpath") else {
        return;
    };
    let t = CliTest::package()
        .env("DATABASE_URL", &db.url)
        .env("MIGRATE_SCRATCH_URL", &base);
    t.write(
        "Cargo.toml",
        &manifest(
            "postgres",
            Some("\"CREATE SCHEMA IF NOT EXISTS billing; SET search_path = billing\""),
        ),
    );
    t.write(
        "diesel.toml",
        "[print_schema]\nfile = \"src/schema.rs\"\nschema = \"billing\"\n",
    );
    t.migration(
        "2024-01-01-000000_invoices",
        "CREATE TABLE invoices (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE invoices;\n"),
    );
    t.run(&["apply"]).assert_success();
    let mut conn = db.connect();
    assert_eq!(
        conn.count("SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'billing' AND table_name IN ('invoices', '__diesel_schema_migrations')")
            .unwrap(),
        2
    );
    assert_eq!(
        conn.count(
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'public'"
        )
        .unwrap(),
        0
    );
    // status reads the versions table in `billing`: nothing pending.
    let run = t.run(&["status", "--format", "json"]);
    run.assert_success();
    assert_eq!(
        run.json()["sets"][0]["pending"].as_array().map(Vec::len),
        Some(0)
    );
    let run = t.run(&["schema", "--write", "--no-cache"]);
    run.assert_success();
    let schema = std::fs::read_to_string(t.path("src/schema.rs")).unwrap();
    assert!(schema.contains("billing.invoices (id)"), "{schema}");
    t.run(&["check", "--no-cache"]).assert_success();
}
