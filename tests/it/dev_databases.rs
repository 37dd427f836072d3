//! `setup` and `database create|drop|reset`: development databases, on every backend. Each
//! test works on a database it created (or lets the tool create, under a unique name) and
//! drops it at the end.

use cargo_migrate::database_url::DatabaseUrl;
use cargo_migrate::db::{ConnectOptions, Connection};

use crate::common::{CliTest, Server, TestDb};

fn one_migration(t: &CliTest) {
    t.migration(
        "2024-01-01-000000_create_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE users;\n"),
    );
}

/// Whether the database of `db` exists, asked of the server itself.
fn exists(db: &TestDb) -> bool {
    Connection::establish(
        &DatabaseUrl::new(&db.url),
        db.server.backend(),
        ConnectOptions::default(),
    )
    .is_ok()
}

fn setup_drop_reset(server: Server) {
    let Some(db) = TestDb::create(server, "devdb") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    one_migration(&t);
    // Start from nothing: the test's database is dropped by the tool.
    let run = t.run(&["database", "drop", "--yes"]);
    run.assert_success();
    assert!(run.stdout.contains(": dropped"), "{}", run.stdout);
    assert!(!exists(&db));
    let run = t.run(&["database", "drop", "--yes"]);
    run.assert_success();
    assert!(
        run.stdout.contains("does not exist, nothing to drop"),
        "{}",
        run.stdout
    );

    // `setup` creates it and applies.
    let run = t.run(&["setup"]);
    run.assert_success();
    assert!(run.stdout.contains(": created"), "{}", run.stdout);
    assert!(run
        .stdout
        .contains("applied 2024-01-01-000000_create_users"));
    let doc = t.run(&["status", "--format", "json"]).json();
    assert_eq!(doc["pending"], 0);
    // Again: the database is left alone, nothing to apply.
    let run = t.run(&["setup"]);
    run.assert_success();
    assert!(run.stdout.contains("exists already"), "{}", run.stdout);

    // Without a terminal and without --yes, nothing is dropped.
    let run = t.run(&["database", "drop"]);
    run.assert_code(2);
    assert!(run.stderr.contains("pass --yes"), "{}", run.stderr);
    assert!(exists(&db));
    let run = t.run(&["database", "reset"]);
    run.assert_code(2);
    assert!(exists(&db));

    // `reset`: drop, create, apply; the data is gone, the schema is back.
    db.connect()
        .batch_execute("INSERT INTO users (id) VALUES (7)")
        .unwrap();
    let run = t.run(&["database", "reset", "--yes", "--format", "json"]);
    run.assert_success();
    let doc = run.json();
    assert_eq!(
        doc["databases"][0]["done"],
        serde_json::json!(["dropped", "created"])
    );
    assert_eq!(
        db.connect()
            .count("SELECT COUNT(*) AS n FROM users")
            .unwrap(),
        0
    );
}

#[test]
fn postgres_setup_drop_reset() {
    setup_drop_reset(Server::Postgres);
}

#[test]
fn mysql_setup_drop_reset() {
    setup_drop_reset(Server::Mysql);
}

#[test]
fn sqlite_drop_deletes_the_file_and_its_companions() {
    let t = CliTest::package().env("DATABASE_URL", "dev.db");
    one_migration(&t);
    t.run(&["setup"]).assert_success();
    std::fs::write(t.path("dev.db-wal"), "").unwrap();
    std::fs::write(t.path("dev.db-shm"), "").unwrap();
    std::fs::write(t.path("other.db"), "keep").unwrap();
    t.run(&["database", "drop", "-y"]).assert_success();
    for gone in ["dev.db", "dev.db-wal", "dev.db-shm"] {
        assert!(!t.path(gone).exists(), "{gone}");
    }
    assert!(t.path("other.db").exists());
    t.run(&["database", "create"]).assert_success();
    assert!(t.path("dev.db").exists());
    // Created empty: nothing applied yet.
    assert_eq!(t.run(&["status", "--format", "json"]).json()["pending"], 1);
}

#[test]
fn dropping_a_remote_database_needs_allow_remote() {
    let t = CliTest::package().env("DATABASE_URL", "postgres://app@db.example.invalid:5432/app");
    one_migration(&t);
    for args in [
        &["database", "drop", "--yes"][..],
        &["database", "reset", "--yes"][..],
    ] {
        let run = t.run(args);
        run.assert_code(2);
        assert!(
            run.stderr.contains("not on this machine") && run.stderr.contains("--allow-remote"),
            "{}",
            run.stderr
        );
    }
    // A host parameter that sends libpq elsewhere counts as remote.
    let t = CliTest::package().env(
        "DATABASE_URL",
        "postgres://app@localhost/app?host=db.example.invalid",
    );
    one_migration(&t);
    t.run(&["database", "drop", "--yes"]).assert_code(2);
}
