//! Failures that leave part of a migration committed (MySQL/MariaDB), versions longer than
//! diesel's versions table holds, and what `apply` says when the connection is lost.

use cargo_migrate::backend::Backend;
use cargo_migrate::database_url::DatabaseUrl;
use cargo_migrate::db::Connection;
use diesel::RunQueryDsl;

use crate::common::{CliTest, Server, TestDb};

fn tables(conn: &mut Connection) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let sql = match conn.backend() {
        Backend::Postgres => "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
        Backend::Mysql => "SELECT CAST(table_name AS CHAR) AS name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1",
        Backend::Sqlite => "SELECT name AS name FROM sqlite_master WHERE type = 'table' ORDER BY 1",
    };
    let q = diesel::sql_query(sql);
    let rows: Vec<Row> = match conn {
        Connection::Sqlite(c) => q.load(c).unwrap(),
        Connection::Postgres(c) => q.load(c).unwrap(),
        Connection::Mysql(c) => q.load(c).unwrap(),
    };
    // The tool's own bookkeeping (`__cargo_migrate_*`) is not the migrations' doing.
    rows.into_iter()
        .map(|r| r.name)
        .filter(|n| !n.starts_with("__cargo_migrate_"))
        .collect()
}

fn applied(conn: &mut Connection) -> Vec<String> {
    conn.applied_versions(&DatabaseUrl::new("")).unwrap()
}

fn balance(conn: &mut Connection) -> i64 {
    conn.count("SELECT CAST(balance AS SIGNED) AS n FROM acct WHERE id = 1")
        .unwrap()
}

const ACCT: &str = "2024-01-01-000000_acct";
const CREDIT: &str = "2024-01-02-000000_credit";
const CREDIT_UP: &str = "UPDATE acct SET balance = balance + 100;\nCREATE TABLE b (id INT PRIMARY KEY);\nINSERT INTO nope VALUES (1);\n";

fn acct_package(db: &TestDb) -> CliTest {
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    t.migration(
        ACCT,
        "CREATE TABLE acct (id INT PRIMARY KEY, balance INT NOT NULL);\nINSERT INTO acct VALUES (1, 0);\n",
        Some("DROP TABLE acct;\n"),
    );
    t.migration(CREDIT, CREDIT_UP, Some("DROP TABLE b;\n"));
    t
}

#[test]
fn mysql_partial_commit_is_reported_recorded_and_not_repeated() {
    let Some(db) = TestDb::create(Server::Mysql, "partial") else {
        return;
    };
    let t = acct_package(&db);
    let mut conn = db.connect();

    // First attempt: statement 3 fails; the UPDATE was committed by the CREATE.
    let run = t.run(&["apply"]);
    run.assert_code(1);
    let err = &run.stderr;
    assert!(
        err.contains("committed, and in the database now: statement 1 (line 1) `UPDATE acct SET balance = balance + 100`, statement 2 (line 2) `CREATE TABLE b (id INT PRIMARY KEY)`"),
        "{err}"
    );
    assert!(
        err.contains("not committed: statement 3 (line 3, failed) `INSERT INTO nope VALUES (1)`"),
        "{err}"
    );
    assert!(
        err.contains("read from the database after the failure: the tables it created stay in the database: `b`"),
        "{err}"
    );
    assert!(
        err.contains("INSERT INTO __diesel_schema_migrations (version) VALUES ('20240102000000')"),
        "{err}"
    );
    assert_eq!(balance(&mut conn), 100);
    assert_eq!(applied(&mut conn), ["20240101000000"]);

    // The same in JSON, after undoing nothing: a second attempt is refused before it runs.
    let run = t.run(&["apply", "--format", "json"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("refusing to apply: 1 migration is partially applied"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("statement 1 (line 1) `UPDATE acct SET balance = balance + 100`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("read from the database now: table `b` exists"),
        "{}",
        run.stderr
    );
    assert_eq!(balance(&mut conn), 100, "the refused retry credited again");

    // status shows it.
    let run = t.run(&["status"]);
    run.assert_success();
    assert!(
        run.stdout.contains(&format!("partially applied  {CREDIT}")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("statements 1, 2 of up.sql are committed"),
        "{}",
        run.stdout
    );
    let json = t.run(&["status", "--format", "json"]).json();
    let partial = &json["sets"][0]["partially_applied"][0];
    assert_eq!(partial["version"], "20240102000000");
    assert_eq!(partial["committed_statements"], serde_json::json!([1, 2]));
    assert_eq!(partial["sql_changed"], false);

    // So does the live part of check.
    let doc = t.run(&["check", "--format", "json"]).json();
    let finding = doc["sets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "partially-applied-migration")
        .cloned()
        .unwrap_or_else(|| panic!("a partially-applied-migration finding: {doc}"));
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("statements 1, 2 of the up.sql that ran then are committed"),
        "{finding}"
    );

    // Edited to hold only what did not run: it runs, with a warning, and the record goes.
    t.write(
        &format!("migrations/{CREDIT}/up.sql"),
        "CREATE TABLE nope (id INT PRIMARY KEY);\nINSERT INTO nope VALUES (1);\n",
    );
    let run = t.run(&["apply"]);
    run.assert_success();
    assert!(
        run.stderr.contains("failed part way on") && run.stderr.contains("has changed since"),
        "{}",
        run.stderr
    );
    assert_eq!(balance(&mut conn), 100);
    assert_eq!(applied(&mut conn), ["20240101000000", "20240102000000"]);
    assert_eq!(
        conn.count("SELECT COUNT(*) AS n FROM __cargo_migrate_partial")
            .unwrap(),
        0,
        "the record of the partial run stayed"
    );
    let json = t.run(&["status", "--format", "json"]).json();
    assert!(json["sets"][0].get("partially_applied").is_none(), "{json}");
}

#[test]
fn mysql_failure_json_lists_committed_statements() {
    let Some(db) = TestDb::create(Server::Mysql, "partialjson") else {
        return;
    };
    let t = acct_package(&db);
    let json = t.run(&["apply", "--format", "json"]).json();
    let failure = &json["sets"][0]["failure"];
    let numbers = |key: &str| -> Vec<u64> {
        failure[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} missing: {failure}"))
            .iter()
            .map(|s| s["statement"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(numbers("committed_statements"), [1, 2]);
    assert_eq!(numbers("not_committed_statements"), [3]);
    assert_eq!(
        failure["committed_statements"][0]["text"],
        "UPDATE acct SET balance = balance + 100"
    );
    assert_eq!(failure["partial_recorded"], true);
    assert_eq!(failure["tables_left"]["created"], serde_json::json!(["b"]));

    // Finished by hand and recorded with `baseline`: the record goes with it.
    let mut conn = db.connect();
    assert_eq!(
        conn.count("SELECT COUNT(*) AS n FROM __cargo_migrate_partial")
            .unwrap(),
        1
    );
    t.write(
        &format!("migrations/{CREDIT}/up.sql"),
        "UPDATE acct SET balance = balance + 100;\nCREATE TABLE b (id INT PRIMARY KEY);\n",
    );
    t.run(&["baseline", "--to", "20240102000000", "--force"])
        .assert_success();
    assert_eq!(
        conn.count("SELECT COUNT(*) AS n FROM __cargo_migrate_partial")
            .unwrap(),
        0
    );
    t.run(&["apply"]).assert_success();
}

/// PostgreSQL and SQLite roll a failed migration back whole: no committed list, no record.
#[test]
fn whole_rollback_backends_keep_no_partial_records() {
    let up = "UPDATE acct SET balance = balance + 100;\nCREATE TABLE b (id INT PRIMARY KEY);\nINSERT INTO nope VALUES (1);\n";
    let check = |t: &CliTest, conn: &mut Connection| {
        let json = t.run(&["apply", "--format", "json"]).json();
        let failure = &json["sets"][0]["failure"];
        assert!(failure.is_object(), "{json}");
        assert!(failure.get("committed_statements").is_none(), "{failure}");
        assert!(failure.get("partial_recorded").is_none(), "{failure}");
        assert!(
            !tables(conn)
                .iter()
                .any(|n| n == "__cargo_migrate_partial" || n == "b"),
            "{:?}",
            tables(conn)
        );
        // A retry runs (and fails the same way): nothing to refuse.
        let run = t.run(&["apply"]);
        run.assert_code(1);
        assert!(!run.stderr.contains("refusing"), "{}", run.stderr);
        assert!(
            run.stderr.contains("rolled back completely"),
            "{}",
            run.stderr
        );
        let status = t.run(&["status", "--format", "json"]).json();
        assert!(status["sets"][0].get("partially_applied").is_none());
    };
    if let Some(db) = TestDb::create(Server::Postgres, "partialpg") {
        let t = CliTest::package().env("DATABASE_URL", &db.url);
        t.migration(
            ACCT,
            "CREATE TABLE acct (id INT PRIMARY KEY, balance INT NOT NULL);\nINSERT INTO acct VALUES (1, 0);\n",
            None,
        );
        t.migration(CREDIT, up, None);
        let mut conn = db.connect();
        check(&t, &mut conn);
        assert_eq!(
            conn.count("SELECT CAST(balance AS BIGINT) AS n FROM acct")
                .unwrap(),
            0
        );
    }
    let t = CliTest::package();
    let path = t.path("app.db");
    let t = t.env("DATABASE_URL", path.display().to_string());
    t.migration(
        ACCT,
        "CREATE TABLE acct (id INT PRIMARY KEY, balance INT NOT NULL);\nINSERT INTO acct VALUES (1, 0);\n",
        None,
    );
    t.migration(CREDIT, up, None);
    t.run(&["apply", "--to", "20240101000000"]).assert_success();
    let url = DatabaseUrl::new(path.display().to_string());
    let mut conn = Connection::establish(&url, Backend::Sqlite, Default::default()).unwrap();
    check(&t, &mut conn);
}

#[test]
fn sqlite_migration_without_a_transaction_records_what_stayed_committed() {
    let t = CliTest::package();
    let path = t.path("app.db");
    let t = t.env("DATABASE_URL", path.display().to_string());
    t.migration(
        ACCT,
        "CREATE TABLE acct (id INT PRIMARY KEY, balance INT NOT NULL);\nINSERT INTO acct VALUES (1, 0);\n",
        None,
    );
    // Without diesel's transaction each statement commits on its own.
    t.migration(CREDIT, CREDIT_UP, Some("DROP TABLE b;\n"));
    t.write(
        &format!("migrations/{CREDIT}/metadata.toml"),
        "run_in_transaction = false\n",
    );
    let run = t.run(&["apply", "--format", "json"]);
    run.assert_code(1);
    let json = run.json();
    let failure = &json["sets"][0]["failure"];
    assert_eq!(failure["statement"], 3, "{failure}");
    let committed: Vec<_> = failure["committed_statements"]
        .as_array()
        .unwrap_or_else(|| panic!("{failure}"))
        .iter()
        .map(|s| s["statement"].clone())
        .collect();
    assert_eq!(committed, [1, 2], "{failure}");
    assert_eq!(failure["partial_recorded"], true, "{failure}");
    let url = DatabaseUrl::new(path.display().to_string());
    let mut conn = Connection::establish(&url, Backend::Sqlite, Default::default()).unwrap();
    assert_eq!(
        conn.count("SELECT balance AS n FROM acct WHERE id = 1")
            .unwrap(),
        100
    );
    assert_eq!(
        tables(&mut conn),
        ["__diesel_schema_migrations", "acct", "b"]
    );
    assert_eq!(applied(&mut conn), ["20240101000000"]);
    // A retry is refused before it runs: the UPDATE is not run a second time.
    let run = t.run(&["apply"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("refusing to apply: 1 migration is partially applied"),
        "{}",
        run.stderr
    );
    assert_eq!(
        conn.count("SELECT balance AS n FROM acct WHERE id = 1")
            .unwrap(),
        100,
        "the refused retry credited again"
    );
    let status = t.run(&["status", "--format", "json"]).json();
    assert_eq!(
        status["sets"][0]["partially_applied"][0]["committed_statements"],
        serde_json::json!([1, 2]),
        "{status}"
    );
    // What did not run, run now: the record goes.
    t.write(
        &format!("migrations/{CREDIT}/up.sql"),
        "CREATE TABLE nope (id INT PRIMARY KEY);\nINSERT INTO nope VALUES (1);\n",
    );
    t.run(&["apply"]).assert_success();
    assert_eq!(applied(&mut conn), ["20240101000000", "20240102000000"]);
    assert_eq!(
        conn.count("SELECT COUNT(*) AS n FROM __cargo_migrate_partial")
            .unwrap(),
        0
    );
}

const LONG: &str = "202401010000001234567890123456789012345678901234567";

#[test]
fn mysql_version_longer_than_the_versions_table_is_refused_before_anything_runs() {
    let Some(db) = TestDb::create(Server::Mysql, "longver") else {
        return;
    };
    assert_eq!(LONG.len(), 51);
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    t.migration(
        "2024-01-01-000000_first",
        "CREATE TABLE first (id INT PRIMARY KEY);\n",
        None,
    );
    t.migration(
        &format!("{LONG}_long"),
        "CREATE TABLE t (id INT PRIMARY KEY);\n",
        None,
    );
    let run = t.run(&["apply"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains(&format!(
            "migrations/{LONG}_long: its version `{LONG}` is 51 characters long"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("holds versions of at most 50 characters (as diesel creates it"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was applied"), "{}", run.stderr);
    let mut conn = db.connect();
    assert!(
        tables(&mut conn).is_empty(),
        "something was created: {:?}",
        tables(&mut conn)
    );

    // With the versions table there, its real column decides: 50 as diesel made it ...
    t.run(&["apply", "--to", "20240101000000"]).assert_success();
    let run = t.run(&["apply"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("(as read from the database)"),
        "{}",
        run.stderr
    );
    let mut now = tables(&mut conn);
    now.sort();
    assert_eq!(now, ["__diesel_schema_migrations", "first"]);

    // ... and a column widened by hand holds it.
    conn.batch_execute(
        "ALTER TABLE __diesel_schema_migrations MODIFY version VARCHAR(64) NOT NULL",
    )
    .unwrap();
    t.run(&["apply"]).assert_success();
    assert_eq!(applied(&mut conn), ["20240101000000", LONG]);
}

#[test]
fn mysql_replay_reports_a_version_longer_than_the_versions_table() {
    let Some(base) = Server::Mysql.url() else {
        return;
    };
    let t = CliTest::package().env("MIGRATE_SCRATCH_URL", &base);
    t.write("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\nbackend = \"mysql\"\n\n[workspace]\n");
    t.migration(
        &format!("{LONG}_long"),
        "CREATE TABLE t (id INT PRIMARY KEY);\n",
        None,
    );
    let run = t.run(&["check", "--offline", "--no-cache", "--format", "json"]);
    run.assert_code(1);
    let doc = run.json();
    let finding = doc["sets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "replay-failed")
        .cloned()
        .unwrap_or_else(|| panic!("a replay-failed finding: {doc}"));
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("is 51 characters long") && message.contains("at most 50 characters"),
        "{message}"
    );
}

#[test]
fn postgres_connection_lost_during_a_migration_is_reported_as_such() {
    let Some(db) = TestDb::create(Server::Postgres, "lost") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    t.migration(
        "2024-01-01-000000_first",
        "CREATE TABLE first (id INT PRIMARY KEY);\n",
        None,
    );
    t.migration(
        "2024-01-02-000000_suicide",
        "CREATE TABLE second (id INT PRIMARY KEY);\nSELECT pg_terminate_backend(pg_backend_pid());\n",
        None,
    );
    let run = t.run(&["apply"]);
    run.assert_code(1);
    let err = &run.stderr;
    assert!(
        err.contains(
            "the connection to the database server was lost while 2024-01-02-000000_suicide ran"
        ),
        "{err}"
    );
    assert!(
        err.contains("read again over a new connection: the database does not record 2024-01-02-000000_suicide as applied"),
        "{err}"
    );
    assert!(
        err.contains("which the server rolls back when the session ends, so nothing of it stayed"),
        "{err}"
    );
    assert!(!err.contains("fix up.sql"), "{err}");
    assert!(!err.contains("rolled back completely"), "{err}");
    let mut conn = db.connect();
    assert_eq!(applied(&mut conn), ["20240101000000"]);
    assert!(!tables(&mut conn).contains(&"second".to_string()));
    let json = t.run(&["apply", "--format", "json"]).json();
    assert_eq!(json["sets"][0]["failure"]["cause"], "connection_lost");
    assert_eq!(json["sets"][0]["failure"]["reconnected"], true);
    assert_eq!(json["sets"][0]["failure"]["recorded"], false);
}

#[test]
fn mysql_connection_lost_during_a_migration_is_reported_as_such() {
    let Some(db) = TestDb::create(Server::Mysql, "lost") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    t.migration(
        "2024-01-01-000000_first",
        "CREATE TABLE first (id INT PRIMARY KEY);\n",
        None,
    );
    t.migration(
        "2024-01-02-000000_suicide",
        "CREATE TABLE second (id INT PRIMARY KEY);\nKILL CONNECTION CONNECTION_ID();\n",
        None,
    );
    let run = t.run(&["apply"]);
    run.assert_code(1);
    let err = &run.stderr;
    assert!(
        err.contains(
            "the connection to the database server was lost while 2024-01-02-000000_suicide ran"
        ),
        "{err}"
    );
    assert!(
        err.contains("read again over a new connection: the database does not record 2024-01-02-000000_suicide as applied"),
        "{err}"
    );
    assert!(
        err.contains("committed before the connection was lost: statement 1 (line 1) `CREATE TABLE second (id INT PRIMARY KEY)`"),
        "{err}"
    );
    assert!(!err.contains("fix up.sql"), "{err}");
    assert!(
        err.contains("`apply` refuses 2024-01-02-000000_suicide while its up.sql is unchanged"),
        "{err}"
    );
    let mut conn = db.connect();
    assert_eq!(applied(&mut conn), ["20240101000000"]);
    let run = t.run(&["status"]);
    assert!(
        run.stdout.contains("statement 1 of up.sql is committed"),
        "{}",
        run.stdout
    );
}

/// SIGTERM in the middle of a MariaDB migration: the report names what stayed committed, the
/// fact is recorded, and the unchanged migration is not run again.
#[test]
fn mysql_sigterm_mid_migration_records_what_stayed_committed() {
    let Some(db) = TestDb::create(Server::Mysql, "partialterm") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    t.migration(
        ACCT,
        "CREATE TABLE acct (id INT PRIMARY KEY, balance INT NOT NULL);\nINSERT INTO acct VALUES (1, 0);\n",
        None,
    );
    t.migration(
        CREDIT,
        "UPDATE acct SET balance = balance + 100;\nCREATE TABLE b (id INT PRIMARY KEY);\nDO SLEEP(30);\nINSERT INTO b VALUES (1);\n",
        None,
    );
    let child = t
        .command(&["apply"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2000));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{CREDIT} was stopped part way at statement 3 (line 3)"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("statement 1 (line 1) `UPDATE acct SET balance = balance + 100`, statement 2 (line 2) `CREATE TABLE b (id INT PRIMARY KEY)`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`apply` refuses the stopped migration"),
        "{stderr}"
    );
    let mut conn = db.connect();
    assert_eq!(balance(&mut conn), 100);
    let run = t.run(&["apply"]);
    run.assert_code(2);
    assert!(run.stderr.contains("partially applied"), "{}", run.stderr);
    assert_eq!(balance(&mut conn), 100);
    assert_eq!(applied(&mut conn), ["20240101000000"]);
}

/// What an earlier, stopped run left (MariaDB commits DDL implicitly; here made by hand) is
/// not blamed on the SQL.
#[test]
fn mysql_leftover_of_a_stopped_run_is_named_as_such() {
    let Some(db) = TestDb::create(Server::Mysql, "leftover") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    t.migration(
        "2024-01-01-000000_b",
        "CREATE TABLE b (id INT PRIMARY KEY);\nINSERT INTO b VALUES (1);\n",
        None,
    );
    let mut conn = db.connect();
    conn.batch_execute("CREATE TABLE b (id INT PRIMARY KEY)")
        .unwrap();
    let run = t.run(&["apply"]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("the database already holds what statement 1 creates"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("fix up.sql"), "{}", run.stderr);
}

/// The same for a down.sql: `revert` does not run its committed statements a second time.
#[test]
fn mysql_partial_revert_is_recorded_and_not_repeated() {
    let Some(db) = TestDb::create(Server::Mysql, "partialdown") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    t.migration(
        ACCT,
        "CREATE TABLE acct (id INT PRIMARY KEY, balance INT NOT NULL);\nINSERT INTO acct VALUES (1, 0);\n",
        None,
    );
    t.migration(
        CREDIT,
        "CREATE TABLE b (id INT PRIMARY KEY);\nUPDATE acct SET balance = balance + 100 WHERE id = 1;\n",
        Some("UPDATE acct SET balance = balance - 100;\nDROP TABLE b;\nDROP TABLE nope;\n"),
    );
    t.run(&["apply"]).assert_success();
    let mut conn = db.connect();
    assert_eq!(balance(&mut conn), 100);
    let run = t.run(&["revert"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("committed, and in the database now: statement 1 (line 1) `UPDATE acct SET balance = balance - 100`, statement 2 (line 2) `DROP TABLE b`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("`revert` refuses 2024-01-02-000000_credit while its down.sql is unchanged"),
        "{}",
        run.stderr
    );
    assert_eq!(balance(&mut conn), 0);
    let run = t.run(&["revert"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("refusing to revert: 1 migration is partially reverted"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("read from the database now: table `b` is gone"),
        "{}",
        run.stderr
    );
    assert_eq!(balance(&mut conn), 0, "the refused retry debited again");
    let run = t.run(&["status"]);
    assert!(
        run.stdout
            .contains(&format!("partially reverted  {CREDIT}")),
        "{}",
        run.stdout
    );
    // What did not run, alone: the revert completes and the record goes.
    t.write(
        &format!("migrations/{CREDIT}/down.sql"),
        "DROP TABLE IF EXISTS nope;\n",
    );
    t.run(&["revert"]).assert_success();
    assert_eq!(applied(&mut conn), ["20240101000000"]);
    assert_eq!(balance(&mut conn), 0);
    assert_eq!(
        conn.count("SELECT COUNT(*) AS n FROM __cargo_migrate_partial")
            .unwrap(),
        0
    );
}
