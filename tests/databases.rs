//! Migrations against real servers: PostgreSQL and MariaDB/MySQL (each test on its own fresh
//! database, dropped afterwards), and SQLite files. Without a server the server tests skip with
//! one line; under `CI` a missing server fails them.

mod common;

use std::process::Stdio;

use cargo_migrate::database_url::DatabaseUrl;
use cargo_migrate::db::{ConnectOptions, Connection};
use cargo_migrate::with_conn;
use common::{CliTest, Server, TestDb};
use diesel_migrations::{FileBasedMigrations, MigrationHarness};

fn tables(conn: &mut Connection) -> Vec<String> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let sql = match conn.backend() {
        cargo_migrate::backend::Backend::Postgres => "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
        cargo_migrate::backend::Backend::Mysql => "SELECT CAST(table_name AS CHAR) AS name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1",
        cargo_migrate::backend::Backend::Sqlite => "SELECT name AS name FROM sqlite_master WHERE type = 'table' ORDER BY 1",
    };
    let q = diesel::sql_query(sql);
    let rows: Vec<Row> = with_conn!(conn, c => q.load(c)).unwrap();
    rows.into_iter().map(|r| r.name).collect()
}

fn applied(conn: &mut Connection) -> Vec<String> {
    conn.applied_versions().unwrap()
}

/// Two migrations in the SQL of `server`, plus an optional third.
fn two_migrations(t: &CliTest) {
    t.migration(
        "2024-01-01-000000_create_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL);\nINSERT INTO users (id, email) VALUES (1, 'a@example.com');\n",
        Some("DROP TABLE users;\n"),
    );
    t.migration(
        "2024-01-02-000000_create_posts",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title VARCHAR(200) NOT NULL);\n",
        Some("DROP TABLE posts;\n"),
    );
}

fn apply_revert_redo(server: Server) {
    let Some(db) = TestDb::create(server, "flow") else { return };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    two_migrations(&t);
    let run = t.run(&["apply"]);
    run.assert_success();
    assert!(run.stdout.contains("applied 2024-01-01-000000_create_users"), "{}", run.stdout);
    let mut conn = db.connect();
    assert_eq!(applied(&mut conn), ["20240101000000", "20240102000000"]);
    assert!(tables(&mut conn).contains(&"posts".to_string()));

    t.run(&["revert"]).assert_success();
    assert_eq!(applied(&mut conn), ["20240101000000"]);
    assert!(!tables(&mut conn).contains(&"posts".to_string()));
    t.run(&["redo"]).assert_success();
    assert_eq!(applied(&mut conn), ["20240101000000"]);
    t.run(&["apply"]).assert_success();
    t.run(&["revert", "--to", "20240101000000"]).assert_success();
    assert_eq!(applied(&mut conn), ["20240101000000"]);
    t.run(&["revert", "--all"]).assert_success();
    assert!(applied(&mut conn).is_empty());
    assert_eq!(tables(&mut conn), ["__diesel_schema_migrations"]);
}

#[test]
fn postgres_apply_revert_redo() {
    apply_revert_redo(Server::Postgres);
}

#[test]
fn mysql_apply_revert_redo() {
    apply_revert_redo(Server::Mysql);
}

/// diesel_cli runs migrations through diesel_migrations' `FileBasedMigrations` and harness:
/// a database it started is continued by `cargo migrate`, and the other way round.
fn diesel_interop(server: Server) {
    let Some(db) = TestDb::create(server, "interop") else { return };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    two_migrations(&t);
    let source = FileBasedMigrations::from_path(t.path("migrations")).unwrap();

    // diesel first, then cargo migrate.
    let mut conn = db.connect();
    with_conn!(&mut conn, c => { c.run_next_migration(source.clone()).unwrap(); });
    let doc = t.run(&["status", "--format", "json"]).json();
    assert_eq!(doc["sets"][0]["applied"], serde_json::json!(["20240101000000"]));
    assert_eq!(doc["sets"][0]["pending"], serde_json::json!(["20240102000000"]));
    t.run(&["apply"]).assert_success();
    assert_eq!(applied(&mut conn), ["20240101000000", "20240102000000"]);

    // cargo migrate first, then diesel: diesel sees nothing pending and can revert our record.
    let has_pending = with_conn!(&mut conn, c => c.has_pending_migration(source.clone()).unwrap());
    assert!(!has_pending);
    with_conn!(&mut conn, c => { c.revert_last_migration(source.clone()).unwrap(); });
    assert_eq!(applied(&mut conn), ["20240101000000"]);
    t.run(&["apply"]).assert_success();
    assert_eq!(applied(&mut conn), ["20240101000000", "20240102000000"]);

    // A version recorded by some other run and missing from the folder is reported.
    conn.batch_execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('20231231000000')").unwrap();
    let doc = t.run(&["status", "--format", "json"]).json();
    assert_eq!(doc["sets"][0]["unknown"], serde_json::json!(["20231231000000"]));
}

#[test]
fn postgres_diesel_interop() {
    diesel_interop(Server::Postgres);
}

#[test]
fn mysql_diesel_interop() {
    diesel_interop(Server::Mysql);
}

#[test]
fn sqlite_diesel_interop() {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    two_migrations(&t);
    let source = FileBasedMigrations::from_path(t.path("migrations")).unwrap();
    let url = DatabaseUrl::new(t.path("app.db").display().to_string());
    let mut conn = Connection::establish(&url, cargo_migrate::backend::Backend::Sqlite, ConnectOptions { create_sqlite: true, wait: None }).unwrap();
    with_conn!(&mut conn, c => { c.run_next_migration(source.clone()).unwrap(); });
    t.run(&["apply"]).assert_success();
    assert_eq!(applied(&mut conn), ["20240101000000", "20240102000000"]);
    let has_pending = with_conn!(&mut conn, c => c.has_pending_migration(source.clone()).unwrap());
    assert!(!has_pending);
}

#[test]
fn postgres_failing_migration_rolls_back_and_points_at_the_line() {
    let Some(db) = TestDb::create(Server::Postgres, "fail") else { return };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    two_migrations(&t);
    t.migration(
        "2024-01-03-000000_broken",
        "CREATE TABLE half (id INTEGER);\nINSERT INTO half VALUES (1);\nINSERT INTO missing_table VALUES (1);\n",
        None,
    );
    let run = t.run(&["apply"]);
    run.assert_code(1);
    let err = run.stderr.as_str();
    assert!(err.contains("error[migration-failed]: migration 2024-01-03-000000_broken failed: relation \"missing_table\" does not exist"), "{err}");
    assert!(err.contains("--> migrations/2024-01-03-000000_broken/up.sql:3:13"), "{err}");
    assert!(err.contains("3 | INSERT INTO missing_table VALUES (1);"), "{err}");
    assert!(err.contains("rolled back completely; the 2 migrations before it stay applied"), "{err}");
    let mut conn = db.connect();
    assert_eq!(applied(&mut conn), ["20240101000000", "20240102000000"]);
    assert!(!tables(&mut conn).contains(&"half".to_string()), "the failed migration left a table behind");
}

#[test]
fn mysql_failing_migration_says_what_may_be_committed() {
    let Some(db) = TestDb::create(Server::Mysql, "fail") else { return };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    two_migrations(&t);
    t.migration("2024-01-03-000000_broken", "CREATE TABLE half (id INTEGER);\nINSERT INTO missing_table VALUES (1);\n", None);
    let run = t.run(&["apply"]);
    run.assert_code(1);
    assert!(run.stderr.contains("Table '") && run.stderr.contains("missing_table' doesn't exist"), "{}", run.stderr);
    assert!(run.stderr.contains("may have been committed"), "{}", run.stderr);
    let mut conn = db.connect();
    assert_eq!(applied(&mut conn), ["20240101000000", "20240102000000"]);
}

#[test]
fn postgres_concurrent_index_runs_outside_a_transaction_alone_in_its_file() {
    let Some(db) = TestDb::create(Server::Postgres, "conc") else { return };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    two_migrations(&t);
    t.migration("2024-01-03-000000_index_email", "CREATE INDEX CONCURRENTLY users_email ON users (email);\n", Some("DROP INDEX CONCURRENTLY users_email;\n"));
    t.write("migrations/2024-01-03-000000_index_email/metadata.toml", "run_in_transaction = false\n");
    t.run(&["apply"]).assert_success();
    let mut conn = db.connect();
    assert_eq!(conn.count("SELECT COUNT(*) AS n FROM pg_indexes WHERE indexname = 'users_email'").unwrap(), 1);
    t.run(&["redo"]).assert_success();

    // Not alone in its file: PostgreSQL runs a multi-statement file as one implicit transaction.
    t.migration("2024-01-04-000000_index_title", "CREATE INDEX CONCURRENTLY posts_title ON posts (title);\nSELECT 1;\n", None);
    t.write("migrations/2024-01-04-000000_index_title/metadata.toml", "run_in_transaction = false\n");
    let run = t.run(&["apply"]);
    run.assert_code(1);
    assert!(run.stderr.contains("cannot run inside a transaction block"), "{}", run.stderr);
}

/// Four `apply` processes at once on one database: each migration runs exactly once.
fn four_concurrent_applies(url: &str, sleep: &str, t: &CliTest) -> Connection {
    t.migration("2024-01-01-000000_create_runs", "CREATE TABLE runs (name VARCHAR(50) NOT NULL);\n", None);
    for i in 2..=6 {
        t.migration(
            &format!("2024-01-0{i}-000000_step_{i}"),
            &format!("{sleep}\nINSERT INTO runs (name) VALUES ('step_{i}');\n"),
            None,
        );
    }
    let children: Vec<_> = (0..4)
        .map(|_| t.command(&["apply", "--database-url", url]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "an apply failed:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    let backend = cargo_migrate::backend::Backend::from_url(url).unwrap();
    let mut conn = Connection::establish(&DatabaseUrl::new(url), backend, ConnectOptions::default()).unwrap();
    assert_eq!(conn.count("SELECT COUNT(*) AS n FROM runs").unwrap(), 5, "some migration ran more than once");
    assert_eq!(conn.count("SELECT COUNT(DISTINCT name) AS n FROM runs").unwrap(), 5);
    assert_eq!(applied(&mut conn).len(), 6);
    conn
}

#[test]
fn postgres_four_concurrent_applies() {
    let Some(db) = TestDb::create(Server::Postgres, "race") else { return };
    four_concurrent_applies(&db.url, "SELECT pg_sleep(0.05);", &CliTest::package());
}

#[test]
fn mysql_four_concurrent_applies() {
    let Some(db) = TestDb::create(Server::Mysql, "race") else { return };
    four_concurrent_applies(&db.url, "DO SLEEP(0.05);", &CliTest::package());
}

#[test]
fn sqlite_four_concurrent_applies() {
    let t = CliTest::package();
    let url = t.path("race.db").display().to_string();
    four_concurrent_applies(&url, "SELECT 1;", &t);
}

fn snapshot_state(conn: &mut Connection) -> (Vec<String>, Vec<String>, i64) {
    let rows = conn.count("SELECT COUNT(*) AS n FROM users").unwrap_or(-1);
    (tables(conn), applied(conn), rows)
}

fn dry_run_changes_nothing(server: Server) {
    let Some(db) = TestDb::create(server, "dry") else { return };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    two_migrations(&t);
    // A fresh database: a dry run must not even create __diesel_schema_migrations.
    t.run(&["apply", "--dry-run"]).assert_success();
    let mut conn = db.connect();
    assert!(tables(&mut conn).is_empty(), "dry run created {:?}", tables(&mut conn));

    t.run(&["apply", "--to", "20240101000000"]).assert_success();
    let before = snapshot_state(&mut conn);
    let run = t.run(&["apply", "--dry-run"]);
    run.assert_success();
    assert!(run.stdout.contains("would apply 2024-01-02-000000_create_posts"), "{}", run.stdout);
    t.run(&["revert", "--all", "--dry-run"]).assert_success();
    t.run(&["redo", "--dry-run"]).assert_success();
    assert_eq!(before, snapshot_state(&mut conn));
}

#[test]
fn postgres_dry_run_changes_nothing() {
    dry_run_changes_nothing(Server::Postgres);
}

#[test]
fn mysql_dry_run_changes_nothing() {
    dry_run_changes_nothing(Server::Mysql);
}

#[test]
fn passwords_never_appear() {
    if let Some(db) = TestDb::create(Server::Postgres, "secret") {
        // Trust authentication ignores the password, so this run succeeds and prints the URL.
        let with_pw = db.url.replacen("postgres://postgres@", "postgres://postgres:Sup3rSecret@", 1);
        let t = CliTest::package().env("DATABASE_URL", &with_pw);
        two_migrations(&t);
        for args in [&["apply"][..], &["status"], &["status", "--format", "json"], &["list", "--format", "json"]] {
            let run = t.run(args);
            run.assert_success();
            assert!(!run.all().contains("Sup3rSecret"), "{args:?} printed the password:\n{}", run.all());
            assert!(run.all().contains("postgres:***@"), "{}", run.all());
        }
        let missing = with_pw.replace(&db.name, "cm_test_no_such_database");
        let run = t.run(&["status", "--database-url", &missing]);
        run.assert_code(2);
        assert!(!run.all().contains("Sup3rSecret"), "{}", run.all());
        assert!(run.stderr.contains("cm_test_no_such_database"), "{}", run.stderr);
    }
    if let Some(base) = Server::Mysql.url() {
        let wrong = base.replacen("mysql://root@", "mysql://root:Wr0ngPassw0rd@", 1);
        let t = CliTest::package().env("DATABASE_URL", format!("{wrong}/mysql"));
        two_migrations(&t);
        for args in [&["status"][..], &["apply", "--format", "json"]] {
            let run = t.run(args);
            run.assert_code(2);
            assert!(!run.all().contains("Wr0ngPassw0rd"), "{}", run.all());
            assert!(run.all().contains("root:***@"), "{}", run.all());
        }
    }
}

#[test]
fn unreachable_database_is_one_line_naming_set_and_variable() {
    let t = CliTest::package().env("DATABASE_URL", "postgres://app:pw@127.0.0.1:1/app");
    two_migrations(&t);
    let run = t.run(&["apply"]);
    run.assert_code(2);
    let first = run.stderr.lines().next().unwrap();
    assert!(first.starts_with("error: set `app` ($DATABASE_URL): cannot connect to postgres://app:***@127.0.0.1:1/app:"), "{first}");
    assert_eq!(run.stderr.lines().count(), 2, "one line and a help line:\n{}", run.stderr);
    assert!(!run.stderr.contains("panicked"));
}
