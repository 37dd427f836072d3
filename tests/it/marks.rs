//! `mark --applied` / `--rolled-back`: diesel's versions table changes as if the migration had
//! run, nothing of its SQL runs, and `status` says it was marked.

use cargo_migrate::backend::Backend;

use crate::common::{CliTest, Server, TestDb};

fn history(t: &CliTest) {
    t.migration(
        "2024-01-01-000000_create_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE users;\n"),
    );
    t.migration(
        "2024-01-02-000000_create_posts",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY);\n",
        Some("DROP TABLE posts;\n"),
    );
}

fn marks_flow(t: &CliTest, tables: &dyn Fn() -> Vec<String>, by_hand: &dyn Fn(&str)) {
    history(t);
    t.run(&["apply", "--to", "20240101000000"]).assert_success();
    by_hand("CREATE TABLE posts (id INTEGER PRIMARY KEY)");
    let posts_before = tables().contains(&"posts".to_string());
    // Someone created `posts` by hand: record it without running up.sql.
    let run = t.run(&[
        "mark",
        "--applied",
        "2024-01-02-000000_create_posts",
        "--note",
        "created by hand during the incident",
    ]);
    run.assert_success();
    assert!(run.stdout.contains("marked applied"), "{}", run.stdout);
    assert!(posts_before && tables().contains(&"posts".to_string()));
    let doc = t.run(&["status", "--format", "json"]).json();
    assert_eq!(doc["pending"], 0);
    assert_eq!(doc["sets"][0]["marked"][0]["action"], "applied");
    assert_eq!(
        doc["sets"][0]["marked"][0]["note"],
        "created by hand during the incident"
    );
    let status = t.run(&["status"]);
    assert!(
        status.stdout.contains("marked applied by hand, not run"),
        "{}",
        status.stdout
    );
    // Marking what the database already records is refused, and changes nothing.
    let again = t.run(&["mark", "--applied", "20240102000000"]);
    again.assert_code(2);
    assert!(
        again.stderr.contains("already recorded as applied"),
        "{}",
        again.stderr
    );
    // Rolled back by hand: recorded as pending again, down.sql not run.
    let users_before = tables().contains(&"users".to_string());
    t.run(&["mark", "--rolled-back", "20240101000000"])
        .assert_success();
    assert_eq!(tables().contains(&"users".to_string()), users_before);
    let doc = t.run(&["status", "--format", "json"]).json();
    assert_eq!(
        doc["sets"][0]["pending"],
        serde_json::json!(["20240101000000"])
    );
    let refused = t.run(&["mark", "--rolled-back", "20240101000000"]);
    refused.assert_code(2);
    assert!(
        refused.stderr.contains("not recorded as applied"),
        "{}",
        refused.stderr
    );
    // The marks table never shows up in schema output.
    assert!(!t.run(&["print-schema"]).stdout.contains("cargo_migrate"));
    // Once a marked migration really runs, its mark no longer describes it and is forgotten.
    t.run(&["revert"]).assert_success();
    assert!(
        !tables().contains(&"posts".to_string()),
        "down.sql did not run"
    );
    let doc = t.run(&["status", "--format", "json"]).json();
    let marked: Vec<&str> = doc["sets"][0]["marked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_str().unwrap())
        .collect();
    assert_eq!(marked, ["20240101000000"]);
}

#[test]
fn sqlite_mark_applied_and_rolled_back() {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    let path = t.path("app.db");
    let tables = move || {
        let mut conn = cargo_migrate::db::Connection::establish(
            &cargo_migrate::database_url::DatabaseUrl::new(path.display().to_string()),
            Backend::Sqlite,
            cargo_migrate::db::ConnectOptions::default(),
        )
        .unwrap();
        table_names(&mut conn)
    };
    let p2 = t.path("app.db");
    let by_hand = move |sql: &str| {
        cargo_migrate::db::Connection::establish(
            &cargo_migrate::database_url::DatabaseUrl::new(p2.display().to_string()),
            Backend::Sqlite,
            cargo_migrate::db::ConnectOptions::default(),
        )
        .unwrap()
        .batch_execute(sql)
        .unwrap();
    };
    marks_flow(&t, &tables, &by_hand);
}

fn table_names(conn: &mut cargo_migrate::db::Connection) -> Vec<String> {
    crate::databases::tables(conn)
}

fn server_flow(server: Server) {
    let Some(db) = TestDb::create(server, "marks") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    let tables = || table_names(&mut db.connect());
    let by_hand = |sql: &str| db.connect().batch_execute(sql).unwrap();
    marks_flow(&t, &tables, &by_hand);
}

#[test]
fn postgres_mark_applied_and_rolled_back() {
    server_flow(Server::Postgres);
}

#[test]
fn mysql_mark_applied_and_rolled_back() {
    server_flow(Server::Mysql);
}
