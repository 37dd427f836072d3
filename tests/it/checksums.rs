//! Checksums of applied migrations: recorded by apply, compared by status and live check,
//! forgotten by revert; line endings never count.

use crate::common::{CliTest, Server, TestDb};

fn history(t: &CliTest) {
    t.migration(
        "2024-01-01-000000_create_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE users;\n"),
    );
}

fn flow(t: &CliTest) {
    history(t);
    t.run(&["apply"]).assert_success();
    let doc = t.run(&["status", "--format", "json"]).json();
    assert!(
        doc["sets"][0].get("changed_since_applied").is_none(),
        "{doc}"
    );
    assert!(doc["sets"][0].get("unverified").is_none(), "{doc}");
    // Line endings are not a change.
    t.write(
        "migrations/2024-01-01-000000_create_users/up.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\r\n",
    );
    let doc = t.run(&["status", "--format", "json"]).json();
    assert!(
        doc["sets"][0].get("changed_since_applied").is_none(),
        "{doc}"
    );
    // An edit is.
    t.write(
        "migrations/2024-01-01-000000_create_users/up.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\n",
    );
    let doc = t.run(&["status", "--format", "json"]).json();
    assert_eq!(
        doc["sets"][0]["changed_since_applied"],
        serde_json::json!(["20240101000000"])
    );
    let status = t.run(&["status"]);
    assert!(
        status
            .stdout
            .contains("its files changed since it was applied"),
        "{}",
        status.stdout
    );
    let run = t.run(&["check", "--format", "json"]);
    run.assert_code(1);
    let doc = run.json();
    let codes: Vec<&str> = doc["sets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"applied-migration-changed"), "{codes:?}");
    // Reverted: nothing applied, nothing to compare.
    t.run(&["revert"]).assert_success();
    t.run(&["apply"]).assert_success();
    let doc = t.run(&["status", "--format", "json"]).json();
    assert!(
        doc["sets"][0].get("changed_since_applied").is_none(),
        "{doc}"
    );
    // Recorded by hand: unverified.
    t.run(&["mark", "--rolled-back", "20240101000000"])
        .assert_success();
    t.run(&["mark", "--applied", "20240101000000"])
        .assert_success();
    let doc = t.run(&["status", "--format", "json"]).json();
    assert_eq!(
        doc["sets"][0]["unverified"],
        serde_json::json!(["20240101000000"])
    );
    // `checksum` lists it and records nothing; `--record` records the files as they are.
    let listed = t.run(&["checksum", "--format", "json"]);
    listed.assert_success();
    let doc = listed.json();
    assert_eq!(
        doc["sets"][0]["unverified"],
        serde_json::json!(["2024-01-01-000000_create_users"])
    );
    assert_eq!(doc["sets"][0]["recorded"], serde_json::json!([]));
    let doc = t.run(&["status", "--format", "json"]).json();
    assert_eq!(
        doc["sets"][0]["unverified"],
        serde_json::json!(["20240101000000"])
    );
    let recorded = t.run(&["checksum", "--record", "--format", "json"]);
    recorded.assert_success();
    assert_eq!(
        recorded.json()["sets"][0]["recorded"],
        serde_json::json!(["2024-01-01-000000_create_users"])
    );
    let doc = t.run(&["status", "--format", "json"]).json();
    assert!(doc["sets"][0].get("unverified").is_none(), "{doc}");
    assert!(
        doc["sets"][0].get("changed_since_applied").is_none(),
        "{doc}"
    );
    // An edit after that is a change, which `--record` never overwrites.
    t.write(
        "migrations/2024-01-01-000000_create_users/up.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n",
    );
    let changed = t.run(&["checksum", "--record", "--format", "json"]);
    changed.assert_code(1);
    assert_eq!(
        changed.json()["sets"][0]["changed"],
        serde_json::json!(["2024-01-01-000000_create_users"])
    );
    let doc = t.run(&["status", "--format", "json"]).json();
    assert_eq!(
        doc["sets"][0]["changed_since_applied"],
        serde_json::json!(["20240101000000"])
    );
}

#[test]
fn sqlite_applied_checksums() {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    t.write(
        "Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\nbackend = \"sqlite\"\n\n[workspace]\n",
    );
    flow(&t);
}

#[test]
fn postgres_applied_checksums() {
    let Some(db) = TestDb::create(Server::Postgres, "sums") else {
        return;
    };
    let t = CliTest::package()
        .env("DATABASE_URL", &db.url)
        .env("MIGRATE_SCRATCH_URL", Server::Postgres.url().unwrap());
    flow(&t);
}

#[test]
fn mysql_applied_checksums() {
    let Some(db) = TestDb::create(Server::Mysql, "sums") else {
        return;
    };
    let t = CliTest::package()
        .env("DATABASE_URL", &db.url)
        .env("MIGRATE_SCRATCH_URL", Server::Mysql.url().unwrap());
    flow(&t);
}
