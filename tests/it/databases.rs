//! Migrations against real servers: PostgreSQL and MariaDB/MySQL (each test on its own fresh
//! database, dropped afterwards), and SQLite files. Without a server the server tests skip with
//! one line; under `CI` a missing server fails them.

use std::process::Stdio;

use cargo_migrate::database_url::DatabaseUrl;
use cargo_migrate::db::{ConnectOptions, Connection};

/// Run the same expression on whichever diesel connection is inside (diesel's own harness is
/// used directly here, to prove that diesel_cli and the tool agree).
macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            Connection::Sqlite($c) => $body,
            Connection::Postgres($c) => $body,
            Connection::Mysql($c) => $body,
        }
    };
}
use crate::common::{CliTest, Server, TestDb};
use diesel_migrations::{FileBasedMigrations, MigrationHarness};

pub(crate) fn tables(conn: &mut Connection) -> Vec<String> {
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
    // The tool's own bookkeeping (`__cargo_migrate_*`) is not the migrations' doing.
    rows.into_iter()
        .map(|r| r.name)
        .filter(|n| !n.starts_with("__cargo_migrate_"))
        .collect()
}

fn applied(conn: &mut Connection) -> Vec<String> {
    let url = DatabaseUrl::new("");
    conn.applied_versions(&url).unwrap()
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
    let Some(db) = TestDb::create(server, "flow") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    two_migrations(&t);
    let run = t.run(&["apply"]);
    run.assert_success();
    assert!(
        run.stdout
            .contains("applied 2024-01-01-000000_create_users"),
        "{}",
        run.stdout
    );
    let mut conn = db.connect();
    assert_eq!(applied(&mut conn), ["20240101000000", "20240102000000"]);
    assert!(tables(&mut conn).contains(&"posts".to_string()));

    t.run(&["revert"]).assert_success();
    assert_eq!(applied(&mut conn), ["20240101000000"]);
    assert!(!tables(&mut conn).contains(&"posts".to_string()));
    t.run(&["redo"]).assert_success();
    assert_eq!(applied(&mut conn), ["20240101000000"]);
    t.run(&["apply"]).assert_success();
    t.run(&["revert", "--to", "20240101000000"])
        .assert_success();
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
    let Some(db) = TestDb::create(server, "interop") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    two_migrations(&t);
    let source = FileBasedMigrations::from_path(t.path("migrations")).unwrap();

    // diesel first, then cargo migrate.
    let mut conn = db.connect();
    with_conn!(&mut conn, c => { c.run_next_migration(source.clone()).unwrap(); });
    let doc = t.run(&["status", "--format", "json"]).json();
    assert_eq!(
        doc["sets"][0]["applied"],
        serde_json::json!(["20240101000000"])
    );
    assert_eq!(
        doc["sets"][0]["pending"],
        serde_json::json!(["20240102000000"])
    );
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
    conn.batch_execute(
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('20231231000000')",
    )
    .unwrap();
    let doc = t.run(&["status", "--format", "json"]).json();
    assert_eq!(
        doc["sets"][0]["unknown"],
        serde_json::json!(["20231231000000"])
    );
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
    let mut conn = Connection::establish(
        &url,
        cargo_migrate::backend::Backend::Sqlite,
        ConnectOptions {
            create_sqlite: true,
            wait: None,
        },
    )
    .unwrap();
    with_conn!(&mut conn, c => { c.run_next_migration(source.clone()).unwrap(); });
    t.run(&["apply"]).assert_success();
    assert_eq!(applied(&mut conn), ["20240101000000", "20240102000000"]);
    let has_pending = with_conn!(&mut conn, c => c.has_pending_migration(source.clone()).unwrap());
    assert!(!has_pending);
}

#[test]
fn postgres_failing_migration_rolls_back_and_points_at_the_line() {
    let Some(db) = TestDb::create(Server::Postgres, "fail") else {
        return;
    };
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
    assert!(
        err.contains("--> migrations/2024-01-03-000000_broken/up.sql:3:13"),
        "{err}"
    );
    assert!(
        err.contains("3 | INSERT INTO missing_table VALUES (1);"),
        "{err}"
    );
    assert!(
        err.contains("rolled back completely; the 2 migrations before it stay applied"),
        "{err}"
    );
    let mut conn = db.connect();
    assert_eq!(applied(&mut conn), ["20240101000000", "20240102000000"]);
    assert!(
        !tables(&mut conn).contains(&"half".to_string()),
        "the failed migration left a table behind"
    );
}

#[test]
fn mysql_failing_migration_says_what_may_be_committed() {
    let Some(db) = TestDb::create(Server::Mysql, "fail") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    two_migrations(&t);
    t.migration(
        "2024-01-03-000000_broken",
        "CREATE TABLE half (id INTEGER);\nINSERT INTO missing_table VALUES (1);\n",
        None,
    );
    let run = t.run(&["apply"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("Table '") && run.stderr.contains("missing_table' doesn't exist"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("--> migrations/2024-01-03-000000_broken/up.sql:2:1"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("statement 2 (line 2) failed; the 1 statement before it ran, and this database commits DDL implicitly"), "{}", run.stderr);
    let mut conn = db.connect();
    assert_eq!(applied(&mut conn), ["20240101000000", "20240102000000"]);
    assert!(
        tables(&mut conn).contains(&"half".to_string()),
        "MySQL keeps the committed CREATE TABLE"
    );
}

/// Files with compound bodies run as one batch, as diesel runs them.
#[test]
fn mysql_trigger_bodies_run_as_one_batch() {
    let Some(db) = TestDb::create(Server::Mysql, "trigger") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    two_migrations(&t);
    t.migration(
        "2024-01-03-000000_audit",
        "CREATE TABLE audit (n INTEGER);\nCREATE TRIGGER users_audit AFTER INSERT ON users FOR EACH ROW\nBEGIN\n  INSERT INTO audit VALUES (NEW.id);\n  IF NEW.id > 100 THEN\n    INSERT INTO audit VALUES (-1);\n  END IF;\nEND;\n",
        Some("DROP TRIGGER users_audit;\nDROP TABLE audit;\n"),
    );
    t.run(&["apply"]).assert_success();
    let mut conn = db.connect();
    conn.batch_execute("INSERT INTO users (id, email) VALUES (200, 'b@example.com')")
        .unwrap();
    assert_eq!(conn.count("SELECT COUNT(*) AS n FROM audit").unwrap(), 2);
    t.run(&["redo"]).assert_success();
}

#[test]
fn postgres_concurrent_index_runs_outside_a_transaction_alone_in_its_file() {
    let Some(db) = TestDb::create(Server::Postgres, "conc") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    two_migrations(&t);
    t.migration(
        "2024-01-03-000000_index_email",
        "CREATE INDEX CONCURRENTLY users_email ON users (email);\n",
        Some("DROP INDEX CONCURRENTLY users_email;\n"),
    );
    t.write(
        "migrations/2024-01-03-000000_index_email/metadata.toml",
        "run_in_transaction = false\n",
    );
    t.run(&["apply"]).assert_success();
    let mut conn = db.connect();
    assert_eq!(
        conn.count("SELECT COUNT(*) AS n FROM pg_indexes WHERE indexname = 'users_email'")
            .unwrap(),
        1
    );
    t.run(&["redo"]).assert_success();

    // Not alone in its file: PostgreSQL runs a multi-statement file as one implicit transaction.
    t.migration(
        "2024-01-04-000000_index_title",
        "CREATE INDEX CONCURRENTLY posts_title ON posts (title);\nSELECT 1;\n",
        None,
    );
    t.write(
        "migrations/2024-01-04-000000_index_title/metadata.toml",
        "run_in_transaction = false\n",
    );
    let run = t.run(&["apply"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("cannot run inside a transaction block"),
        "{}",
        run.stderr
    );
}

/// Four `apply` processes at once on one database: each migration runs exactly once.
fn four_concurrent_applies(url: &str, sleep: &str, t: &CliTest) -> Connection {
    t.migration(
        "2024-01-01-000000_create_runs",
        "CREATE TABLE runs (name VARCHAR(50) NOT NULL);\n",
        None,
    );
    for i in 2..=6 {
        t.migration(
            &format!("2024-01-0{i}-000000_step_{i}"),
            &format!("{sleep}\nINSERT INTO runs (name) VALUES ('step_{i}');\n"),
            None,
        );
    }
    let children: Vec<_> = (0..4)
        .map(|_| {
            t.command(&["apply", "--database-url", url])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "an apply failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let backend = cargo_migrate::backend::Backend::from_url(url).unwrap();
    let mut conn =
        Connection::establish(&DatabaseUrl::new(url), backend, ConnectOptions::default()).unwrap();
    assert_eq!(
        conn.count("SELECT COUNT(*) AS n FROM runs").unwrap(),
        5,
        "some migration ran more than once"
    );
    assert_eq!(
        conn.count("SELECT COUNT(DISTINCT name) AS n FROM runs")
            .unwrap(),
        5
    );
    assert_eq!(applied(&mut conn).len(), 6);
    conn
}

#[test]
fn postgres_four_concurrent_applies() {
    let Some(db) = TestDb::create(Server::Postgres, "race") else {
        return;
    };
    four_concurrent_applies(&db.url, "SELECT pg_sleep(0.05);", &CliTest::package());
}

#[test]
fn mysql_four_concurrent_applies() {
    let Some(db) = TestDb::create(Server::Mysql, "race") else {
        return;
    };
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
    let Some(db) = TestDb::create(server, "dry") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    two_migrations(&t);
    // A fresh database: a dry run must not even create __diesel_schema_migrations.
    t.run(&["apply", "--dry-run"]).assert_success();
    let mut conn = db.connect();
    assert!(
        tables(&mut conn).is_empty(),
        "dry run created {:?}",
        tables(&mut conn)
    );

    t.run(&["apply", "--to", "20240101000000"]).assert_success();
    let before = snapshot_state(&mut conn);
    let run = t.run(&["apply", "--dry-run"]);
    run.assert_success();
    assert!(
        run.stdout
            .contains("would apply 2024-01-02-000000_create_posts"),
        "{}",
        run.stdout
    );
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
        let with_pw = db.url.replacen(
            "postgres://postgres@",
            "postgres://postgres:Sup3rSecret@",
            1,
        );
        let t = CliTest::package().env("DATABASE_URL", &with_pw);
        two_migrations(&t);
        for args in [
            &["apply"][..],
            &["status"],
            &["status", "--format", "json"],
            &["list", "--format", "json"],
        ] {
            let run = t.run(args);
            run.assert_success();
            assert!(
                !run.all().contains("Sup3rSecret"),
                "{args:?} printed the password:\n{}",
                run.all()
            );
            assert!(run.all().contains("postgres:***@"), "{}", run.all());
        }
        let missing = with_pw.replace(&db.name, "cm_test_no_such_database");
        let run = t.run(&["status", "--database-url", &missing]);
        run.assert_code(2);
        assert!(!run.all().contains("Sup3rSecret"), "{}", run.all());
        assert!(
            run.stderr.contains("cm_test_no_such_database"),
            "{}",
            run.stderr
        );
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
    assert_eq!(
        run.stderr.lines().count(),
        2,
        "one line and a help line:\n{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"));
}

fn signal(child: &std::process::Child, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A long migration stopped by SIGTERM: the database is as before that migration, the lock is
/// free, the exit code is 130, and the next `apply` completes.
fn sigterm_mid_migration(t: &CliTest, url: &str, slow_sql: &str, fast_sql: &str) -> Connection {
    t.migration(
        "2024-01-01-000000_first",
        "CREATE TABLE first_table (id INTEGER);\n",
        None,
    );
    t.migration("2024-01-02-000000_slow", slow_sql, None);
    t.migration(
        "2024-01-03-000000_last",
        "CREATE TABLE last_table (id INTEGER);\n",
        None,
    );
    let child = t
        .command(&["apply", "--database-url", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    signal(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("2024-01-02-000000_slow was stopped and rolled back"),
        "{stderr}"
    );
    assert!(
        stderr.contains("done before the stop: 2024-01-01-000000_first"),
        "{stderr}"
    );
    let backend = cargo_migrate::backend::Backend::from_url(url).unwrap();
    let mut conn =
        Connection::establish(&DatabaseUrl::new(url), backend, ConnectOptions::default()).unwrap();
    assert_eq!(applied(&mut conn), ["20240101000000"]);
    assert!(
        !tables(&mut conn).contains(&"slow_table".to_string()),
        "the stopped migration left its table"
    );
    // Make the slow migration fast and finish the job; the lock must be free.
    t.migration("2024-01-02-000000_slow", fast_sql, None);
    let run = t.run(&["apply", "--database-url", url, "--lock-timeout", "20"]);
    run.assert_success();
    assert_eq!(applied(&mut conn).len(), 3);
    conn
}

#[test]
fn postgres_sigterm_rolls_back_the_running_migration() {
    let Some(db) = TestDb::create(Server::Postgres, "sigterm") else {
        return;
    };
    let t = CliTest::package();
    sigterm_mid_migration(
        &t,
        &db.url,
        "CREATE TABLE slow_table (id INTEGER);\nSELECT pg_sleep(30);\n",
        "CREATE TABLE slow_table (id INTEGER);\n",
    );
}

#[test]
fn sqlite_sigterm_rolls_back_the_running_migration() {
    let t = CliTest::package();
    let url = t.path("sig.db").display().to_string();
    sigterm_mid_migration(
        &t,
        &url,
        "CREATE TABLE slow_table (id INTEGER);\nWITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000000) INSERT INTO slow_table SELECT x FROM c;\n",
        "CREATE TABLE slow_table (id INTEGER);\n",
    );
}

#[test]
fn postgres_kill_9_leaves_no_lock_behind() {
    let Some(db) = TestDb::create(Server::Postgres, "kill9") else {
        return;
    };
    let t = CliTest::package();
    t.migration(
        "2024-01-01-000000_first",
        "CREATE TABLE first_table (id INTEGER);\n",
        None,
    );
    t.migration(
        "2024-01-02-000000_slow",
        "CREATE TABLE slow_table (id INTEGER);\nSELECT pg_sleep(2);\n",
        None,
    );
    let mut child = t
        .command(&["apply", "--database-url", &db.url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    child.kill().unwrap();
    let _ = child.wait();
    // The server ends the dead client's session (and its advisory lock) once the sleeping
    // statement returns; the next apply waits for that and completes.
    let run = t.run(&["apply", "--database-url", &db.url, "--lock-timeout", "30"]);
    run.assert_success();
    let mut conn = db.connect();
    assert_eq!(applied(&mut conn), ["20240101000000", "20240102000000"]);
    assert_eq!(
        conn.count("SELECT COUNT(*) AS n FROM slow_table").unwrap(),
        0
    );
}

/// `apply --wait` keeps trying until the database accepts connections: here a TCP relay to the
/// PostgreSQL server that starts listening only two seconds after `apply` started.
#[test]
fn postgres_wait_for_a_server_that_starts_later() {
    let Some(db) = TestDb::create(Server::Postgres, "wait") else {
        return;
    };
    let real: url::Url = db.url.parse().unwrap();
    let upstream = format!(
        "{}:{}",
        real.host_str().unwrap(),
        real.port().unwrap_or(5432)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut relayed = real.clone();
    relayed.set_host(Some("127.0.0.1")).unwrap();
    relayed.set_port(Some(port)).unwrap();

    let relay = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(2));
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(false).unwrap();
        // Serve a bounded number of connections, then stop.
        for stream in listener.incoming().take(3) {
            let Ok(client) = stream else { break };
            let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                break;
            };
            for (mut from, mut to) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Both);
                });
            }
        }
    });

    let t = CliTest::package();
    two_migrations(&t);
    let start = std::time::Instant::now();
    let run = t.run(&["apply", "--database-url", relayed.as_str(), "--wait", "20"]);
    run.assert_success();
    assert!(
        start.elapsed() >= std::time::Duration::from_secs(2),
        "connected before the relay listened?"
    );
    assert_eq!(applied(&mut db.connect()).len(), 2);
    // Without --wait the same unreachable address fails at once with exit 2.
    let closed = format!(
        "postgres://postgres@127.0.0.1:{}/x",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    t.run(&["status", "--database-url", &closed]).assert_code(2);
    drop(relay);
}

fn database_names(server: Server) -> Vec<String> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let base = server.url().unwrap();
    let (admin, sql) = match server {
        Server::Postgres => (
            format!("{base}/postgres"),
            "SELECT datname::text AS name FROM pg_database",
        ),
        Server::Mysql => (
            base,
            "SELECT CAST(schema_name AS CHAR) AS name FROM information_schema.schemata",
        ),
    };
    let mut conn = Connection::establish(
        &DatabaseUrl::new(admin),
        server.backend(),
        ConnectOptions::default(),
    )
    .unwrap();
    let q = diesel::sql_query(sql);
    let rows: Vec<Row> = with_conn!(&mut conn, c => q.load(c)).unwrap();
    rows.into_iter().map(|r| r.name).collect()
}

/// Scratch databases are created, dropped afterwards, and a crashed run's leftovers (our
/// prefix, older than ten minutes) are cleaned up; no other database is touched.
fn scratch_databases_are_safe(server: Server) {
    let Some(bystander) = TestDb::create(server, "bystander") else {
        return;
    };
    let mut by = bystander.connect();
    by.batch_execute("CREATE TABLE keep_me (id INTEGER)")
        .unwrap();
    let base = server.url().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let stale = format!(
        "cargo_migrate_scratch_{}_{}_0",
        now - 3600,
        std::process::id()
    );
    let young = format!(
        "cargo_migrate_scratch_{}_{}_0",
        now - 60,
        std::process::id()
    );
    let admin = match server {
        Server::Postgres => format!("{base}/postgres"),
        Server::Mysql => base.clone(),
    };
    let mut admin_conn = Connection::establish(
        &DatabaseUrl::new(&admin),
        server.backend(),
        ConnectOptions::default(),
    )
    .unwrap();
    for name in [&stale, &young] {
        admin_conn
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
    }
    let before: std::collections::BTreeSet<String> = database_names(server).into_iter().collect();

    let scratch_name;
    {
        let mut scratch = cargo_migrate::db::scratch::ScratchDb::create(
            server.backend(),
            Some(&DatabaseUrl::new(format!("{base}/ignored"))),
            &cargo_migrate::config::InitSql::none(),
        )
        .unwrap();
        scratch_name = scratch.name().unwrap().to_string();
        assert!(scratch_name.starts_with("cargo_migrate_scratch_"));
        scratch
            .conn
            .batch_execute("CREATE TABLE t (id INTEGER)")
            .unwrap();
        assert!(database_names(server).contains(&scratch_name));
    }
    let after: std::collections::BTreeSet<String> = database_names(server).into_iter().collect();
    assert!(
        !after.contains(&scratch_name),
        "the scratch database was not dropped"
    );
    assert!(
        !after.contains(&stale),
        "a stale leftover was not cleaned up"
    );
    assert!(
        after.contains(&young),
        "a young scratch database (maybe another run's) was dropped"
    );
    // Other tests and runs create and drop their own databases meanwhile (test databases,
    // scratch databases, saved states); everything else must be as it was.
    let settled =
        |names: &std::collections::BTreeSet<String>| -> std::collections::BTreeSet<String> {
            names
                .iter()
                .filter(|n| {
                    (!n.starts_with("cm_test_") || **n == bystander.name)
                        && (!n.starts_with("cargo_migrate_scratch_") || **n == young)
                        // Saved states of other runs' checks come and go too.
                        && !n.starts_with("cargo_migrate_state_")
                })
                .cloned()
                .collect()
        };
    assert!(after.contains(&bystander.name));
    assert_eq!(
        settled(&after),
        settled(&before),
        "some other database appeared or disappeared"
    );
    assert_eq!(
        by.count("SELECT COUNT(*) AS n FROM keep_me").unwrap(),
        0,
        "the bystander's table is gone"
    );
    admin_conn
        .batch_execute(&format!("DROP DATABASE IF EXISTS {young}"))
        .unwrap();
}

#[test]
fn postgres_scratch_databases_are_safe() {
    scratch_databases_are_safe(Server::Postgres);
}

#[test]
fn mysql_scratch_databases_are_safe() {
    scratch_databases_are_safe(Server::Mysql);
}

/// `check` with a PostgreSQL or MySQL database URL: a pending migration and a hand-made column
/// are both caught, the drift shown as a diff; the history replays on a scratch database of the
/// same server.
fn live_check(server: Server) {
    let Some(db) = TestDb::create(server, "live") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    t.write("diesel.toml", "[print_schema]\nfile = \"src/schema.rs\"\n");
    two_migrations(&t);
    t.run(&["apply"]).assert_success();
    t.run(&["schema", "--write"]).assert_success();
    t.run(&["check"]).assert_success();

    t.migration(
        "2024-01-03-000000_add_title_index",
        "CREATE INDEX posts_title ON posts (title);\n",
        Some("DROP INDEX posts_title ON posts;\n"),
    );
    let run = t.run(&["check"]);
    run.assert_code(1);
    assert!(
        run.stdout.contains("error[pending-migration]"),
        "{}",
        run.stdout
    );
    std::fs::remove_dir_all(t.path("migrations/2024-01-03-000000_add_title_index")).unwrap();

    db.connect()
        .batch_execute("ALTER TABLE users ADD COLUMN nickname VARCHAR(40)")
        .unwrap();
    let run = t.run(&["check"]);
    run.assert_code(1);
    assert!(run.stdout.contains("error[live-drift]"), "{}", run.stdout);
    assert!(
        run.stdout.contains("nickname -> Nullable<Varchar>"),
        "{}",
        run.stdout
    );
}

#[test]
fn postgres_live_check() {
    live_check(Server::Postgres);
}

#[test]
fn mysql_live_check() {
    live_check(Server::Mysql);
}

/// Adopting a database made without these migrations: baseline verifies, then records.
fn baseline(server: Server) {
    let Some(db) = TestDb::create(server, "baseline") else {
        return;
    };
    let t = CliTest::package().env("DATABASE_URL", &db.url);
    two_migrations(&t);
    t.migration(
        "2024-01-03-000000_create_tags",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, label VARCHAR(40) NOT NULL);\n",
        Some("DROP TABLE tags;\n"),
    );
    // The database was made by hand: the first two migrations' tables, plus one column too many.
    let mut conn = db.connect();
    conn.batch_execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL, legacy_flag INTEGER)").unwrap();
    conn.batch_execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title VARCHAR(200) NOT NULL)").unwrap();

    let run = t.run(&["baseline", "--to", "20240102000000"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("+        legacy_flag -> Nullable<"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("nothing was recorded"),
        "{}",
        run.stderr
    );
    assert!(
        applied(&mut conn).is_empty(),
        "a refused baseline recorded something"
    );

    conn.batch_execute("ALTER TABLE users DROP COLUMN legacy_flag")
        .unwrap();
    let run = t.run(&["baseline", "--to", "2024-01-02-000000_create_posts"]);
    run.assert_success();
    assert!(
        run.stdout
            .contains("recorded 2024-01-01-000000_create_users"),
        "{}",
        run.stdout
    );
    assert_eq!(applied(&mut conn), ["20240101000000", "20240102000000"]);
    // Nothing ran: the table made by hand still has no rows from the first migration's INSERT.
    assert_eq!(conn.count("SELECT COUNT(*) AS n FROM users").unwrap(), 0);
    let run = t.run(&["apply"]);
    run.assert_success();
    assert!(
        run.stdout.contains("applied 2024-01-03-000000_create_tags"),
        "{}",
        run.stdout
    );
    // A database that is ahead cannot be baselined.
    t.run(&["baseline", "--to", "20240101000000"])
        .assert_code(2);
}

#[test]
fn postgres_baseline() {
    baseline(Server::Postgres);
}

#[test]
fn mysql_baseline() {
    baseline(Server::Mysql);
}

#[test]
fn sqlite_baseline_with_force() {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    two_migrations(&t);
    let url = DatabaseUrl::new(t.path("app.db").display().to_string());
    let mut conn = Connection::establish(
        &url,
        cargo_migrate::backend::Backend::Sqlite,
        ConnectOptions {
            create_sqlite: true,
            wait: None,
        },
    )
    .unwrap();
    conn.batch_execute(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, extra TEXT)",
    )
    .unwrap();
    t.run(&["baseline", "--to", "20240101000000"])
        .assert_code(1);
    let run = t.run(&["baseline", "--to", "20240101000000", "--force"]);
    run.assert_success();
    assert!(
        run.stderr
            .contains("recording migrations although the schema differs (--force)"),
        "{}",
        run.stderr
    );
    assert_eq!(applied(&mut conn), ["20240101000000"]);
}

/// A history that does not replay is a finding naming the migration, file and line (the
/// position PostgreSQL reports is relative to the file, not to the batch sent).
#[test]
fn postgres_failing_replay_is_a_located_finding() {
    let Some(base) = Server::Postgres.url() else {
        return;
    };
    let t = CliTest::package().env("MIGRATE_SCRATCH_URL", &base);
    t.write("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\nbackend = \"postgres\"\n\n[workspace]\n");
    t.write("diesel.toml", "[print_schema]\nfile = \"src/schema.rs\"\n");
    two_migrations(&t);
    t.migration("2024-01-03-000000_broken", "CREATE TABLE half (id INTEGER);\nINSERT INTO half VALUES (1);\nINSERT INTO missing_table VALUES (1);\n", None);
    let run = t.run(&["check", "--format", "json"]);
    run.assert_code(1);
    let doc = run.json();
    let finding = doc["sets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "replay-failed")
        .cloned()
        .expect("a replay-failed finding");
    assert_eq!(
        finding["file"],
        "migrations/2024-01-03-000000_broken/up.sql"
    );
    assert_eq!(
        finding["location"],
        serde_json::json!({"line": 3, "column": 13})
    );
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("relation \"missing_table\" does not exist"),
        "{finding}"
    );
}

/// Regression: on MySQL the interrupted migration's own error (its session was killed) used
/// to be reported as a failed migration with exit 1 instead of the interruption (130).
#[test]
fn mysql_sigterm_exits_130() {
    let Some(db) = TestDb::create(Server::Mysql, "sigterm") else {
        return;
    };
    let t = CliTest::package();
    t.migration(
        "2024-01-01-000000_first",
        "CREATE TABLE first_table (id INTEGER);\n",
        None,
    );
    t.migration("2024-01-02-000000_slow", "DO SLEEP(30);\n", None);
    let child = t
        .command(&["apply", "--database-url", &db.url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    signal(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("2024-01-02-000000_slow was stopped"),
        "{stderr}"
    );
    assert!(!stderr.contains("migration-failed"), "{stderr}");
    assert_eq!(applied(&mut db.connect()), ["20240101000000"]);
}

/// `--wait` retries a server that is not up yet, never a wrong password.
#[test]
fn mysql_wait_does_not_retry_a_wrong_password() {
    let Some(base) = Server::Mysql.url() else {
        return;
    };
    let wrong = base.replacen("mysql://root@", "mysql://root:Wr0ngPassw0rd@", 1);
    let t = CliTest::package();
    two_migrations(&t);
    let start = std::time::Instant::now();
    let run = t.run(&[
        "apply",
        "--wait",
        "30",
        "--database-url",
        &format!("{wrong}/mysql"),
    ]);
    run.assert_code(2);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "waited on an authentication error"
    );
    assert!(!run.all().contains("Wr0ngPassw0rd"));
}

/// Regression: a PostgreSQL set with no scratch server is a configuration error (exit 2), not
/// a finding about its migrations (exit 1).
#[test]
fn check_without_a_scratch_server_cannot_run() {
    let t = CliTest::package();
    t.write("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\nbackend = \"postgres\"\n\n[workspace]\n");
    t.write("diesel.toml", "[print_schema]\nfile = \"src/schema.rs\"\n");
    two_migrations(&t);
    let run = t.run(&["check"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("scratch database needs a server"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("help: pass --scratch-url"),
        "{}",
        run.stderr
    );
    t.run(&["check", "--lint-only"]).assert_success();
}

/// Ctrl-C/SIGTERM while `check` replays on a scratch database: the scratch database is dropped
/// before the process exits with 130.
#[test]
fn postgres_sigterm_during_check_drops_the_scratch_database() {
    let Some(base) = Server::Postgres.url() else {
        return;
    };
    let t = CliTest::package();
    t.write("Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\nbackend = \"postgres\"\n\n[workspace]\n");
    t.write("diesel.toml", "[print_schema]\nfile = \"src/schema.rs\"\n");
    t.migration(
        "2024-01-01-000000_slow",
        "CREATE TABLE slow_table (id INTEGER);\nSELECT pg_sleep(30);\n",
        None,
    );
    let child = t
        .command(&["check", "--scratch-url", &base])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ours = format!("_{}_", child.id());
    // Wait until the scratch database exists, then stop the check.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !database_names(Server::Postgres)
        .iter()
        .any(|n| n.starts_with("cargo_migrate_scratch_") && n.contains(&ours))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no scratch database appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    signal(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<String> = database_names(Server::Postgres)
        .into_iter()
        .filter(|n| n.contains(&ours))
        .collect();
    assert!(left.is_empty(), "scratch databases left behind: {left:?}");
}

/// The journal mode a migration of a SQLite apply runs under, recorded by the migration itself.
fn journal_mode_seen_by_a_migration(prepare: &str) -> (String, String, bool) {
    let t = CliTest::package().env("DATABASE_URL", "app.db");
    t.migration(
        "2024-01-01-000000_record_journal_mode",
        "CREATE TABLE seen AS SELECT journal_mode AS mode FROM pragma_journal_mode;\n",
        Some("DROP TABLE seen;\n"),
    );
    let file = t.path("app.db");
    let url = DatabaseUrl::new(file.display().to_string());
    let opts = ConnectOptions {
        create_sqlite: true,
        wait: None,
    };
    let mut conn =
        Connection::establish(&url, cargo_migrate::backend::Backend::Sqlite, opts).unwrap();
    conn.batch_execute(prepare).unwrap();
    drop(conn);
    t.run(&["apply"]).assert_success();
    let mut conn =
        Connection::establish(&url, cargo_migrate::backend::Backend::Sqlite, opts).unwrap();
    let text = |conn: &mut Connection, sql: &str| {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            mode: String,
        }
        let q = diesel::sql_query(sql);
        let rows: Vec<Row> = with_conn!(conn, c => q.load(c)).unwrap();
        rows.into_iter().next().unwrap().mode
    };
    let during = text(&mut conn, "SELECT mode FROM seen");
    let after = text(
        &mut conn,
        "SELECT journal_mode AS mode FROM pragma_journal_mode",
    );
    drop(conn);
    let journal_left = t.path("app.db-journal").exists();
    (during, after, journal_left)
}

#[test]
fn sqlite_apply_keeps_the_journal_of_a_database_in_delete_mode_and_leaves_no_file() {
    let (during, after, journal_left) = journal_mode_seen_by_a_migration("CREATE TABLE x (a)");
    assert_eq!(during, "persist");
    assert_eq!(after, "delete");
    assert!(!journal_left, "apply left app.db-journal behind");
}

#[test]
fn sqlite_apply_leaves_a_wal_database_in_wal_mode() {
    let (during, after, _) = journal_mode_seen_by_a_migration("PRAGMA journal_mode = WAL");
    assert_eq!(during, "wal");
    assert_eq!(after, "wal");
}
