//! The embedded runner (`cargo_migrate::embedded`): a bundle written by `cargo migrate bundle`,
//! applied from inside the process. Two instances starting at once apply each migration once;
//! a database with versions the bundle lacks, or with an applied migration whose files
//! changed, is refused before anything runs. Every outcome is read back from the database.

use std::sync::{Arc, Barrier};

use cargo_migrate::backend::Backend;
use cargo_migrate::database_url::DatabaseUrl;
use cargo_migrate::db::{ConnectOptions, Connection};
use cargo_migrate::embedded::{Bundle, Error, Migrator, Report};

use crate::common::{fixtures_dir, CliTest, Server, TestDb};

/// A one-package workspace `app` on `backend` with these migrations, bundled.
fn bundle_of(backend: &str, migrations: &[(&str, &str)]) -> Bundle {
    let t = CliTest::package();
    t.write(
        "Cargo.toml",
        &format!("[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata.migrate]\nbackend = \"{backend}\"\n\n[workspace]\n"),
    );
    for (dir, up) in migrations {
        t.migration(dir, up, Some("SELECT 1;"));
    }
    let out = t.path("app.bundle.json");
    t.run(&["bundle", "--out", out.to_str().unwrap()])
        .assert_success();
    Bundle::from_bytes(&std::fs::read(out).unwrap()).unwrap()
}

fn count(conn: &mut Connection, sql: &str) -> i64 {
    conn.count(sql).unwrap()
}

fn versions(conn: &mut Connection, url: &str) -> Vec<String> {
    conn.applied_versions(&DatabaseUrl::new(url)).unwrap()
}

/// Three migrations; the first sleeps, so that a second instance starting at the same moment
/// is still waiting for the lock while it runs. The second seeds one row.
fn race_migrations(sleep: &'static str) -> Vec<(&'static str, String)> {
    vec![
        (
            "2024-01-01-000000_create_events",
            format!("CREATE TABLE events (id INTEGER PRIMARY KEY, note VARCHAR(40) NOT NULL);\n{sleep}\n"),
        ),
        (
            "2024-01-02-000000_seed_events",
            "INSERT INTO events (id, note) VALUES (1, 'seeded');\n".to_string(),
        ),
        (
            "2024-01-03-000000_create_users",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);\n".to_string(),
        ),
    ]
}

/// Two runners on one fresh database at once: both succeed, one applies all three
/// migrations, the other finds nothing left, and the database holds each once.
fn two_at_once(
    backend: &str,
    sleep: &'static str,
    url: &str,
    mut conn: impl FnMut() -> Connection,
) {
    let migrations = race_migrations(sleep);
    let pairs: Vec<(&str, &str)> = migrations.iter().map(|(d, u)| (*d, u.as_str())).collect();
    let bundle = Arc::new(bundle_of(backend, &pairs));
    let start = Arc::new(Barrier::new(2));
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let (bundle, start, url) = (bundle.clone(), start.clone(), url.to_string());
            std::thread::spawn(move || {
                let migrator = Migrator::new(&bundle, "app").unwrap();
                start.wait();
                migrator.run(&url)
            })
        })
        .collect();
    let reports: Vec<Report> = runs
        .into_iter()
        .map(|r| r.join().unwrap().unwrap())
        .collect();
    let mut applied: Vec<usize> = reports.iter().map(|r| r.applied.len()).collect();
    applied.sort();
    assert_eq!(applied, [0, 3], "{reports:?}");
    let first = reports.iter().find(|r| r.applied.len() == 3).unwrap();
    let names: Vec<&str> = first.applied.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        migrations.iter().map(|(d, _)| *d).collect::<Vec<_>>()
    );
    assert_eq!(
        reports
            .iter()
            .find(|r| r.applied.is_empty())
            .unwrap()
            .already_applied,
        3
    );
    let mut c = conn();
    assert_eq!(
        versions(&mut c, url),
        ["20240101000000", "20240102000000", "20240103000000"]
    );
    assert_eq!(count(&mut c, "SELECT COUNT(*) AS n FROM events"), 1);
    assert_eq!(count(&mut c, "SELECT COUNT(*) AS n FROM users"), 0);
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) AS n FROM __cargo_migrate_checksums"
        ),
        3
    );
}

#[test]
fn two_instances_at_once_on_postgres_apply_each_migration_once() {
    let Some(db) = TestDb::create(Server::Postgres, "embed_race") else {
        return;
    };
    two_at_once("postgres", "SELECT pg_sleep(0.5);", &db.url, || {
        db.connect()
    });
}

#[test]
fn two_instances_at_once_on_mysql_apply_each_migration_once() {
    let Some(db) = TestDb::create(Server::Mysql, "embed_race") else {
        return;
    };
    two_at_once("mysql", "SELECT SLEEP(0.5);", &db.url, || db.connect());
}

fn sqlite(url: &str) -> Connection {
    Connection::establish(
        &DatabaseUrl::new(url),
        Backend::Sqlite,
        ConnectOptions::default(),
    )
    .unwrap()
}

#[test]
fn two_instances_at_once_on_sqlite_apply_each_migration_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("app.db").to_str().unwrap().to_string();
    // SQLite has no sleep: a recursive count to a few million keeps the first run busy.
    let busy = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT COUNT(*) FROM c;";
    two_at_once("sqlite", busy, &url, || sqlite(&url));
}

/// The database has a version recorded by hand that the bundle does not have: nothing runs.
fn refuses_unknown_versions(backend: &str, url: &str, mut conn: impl FnMut() -> Connection) {
    let bundle = bundle_of(
        backend,
        &[(
            "2024-01-01-000000_create_events",
            "CREATE TABLE events (id INTEGER PRIMARY KEY);",
        )],
    );
    let mut c = conn();
    c.ensure_migrations_table().unwrap();
    c.batch_execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('20991231000000')")
        .unwrap();
    let err = Migrator::new(&bundle, "app").unwrap().run(url).unwrap_err();
    match &err {
        Error::UnknownVersions { set, versions, .. } => {
            assert_eq!(set, "app");
            assert_eq!(versions, &["20991231000000"]);
        }
        other => panic!("expected UnknownVersions, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("it has applied migrations this bundle does not have: 20991231000000; nothing was applied"),
        "{text}"
    );
    assert_eq!(versions(&mut c, url), ["20991231000000"]);
    assert!(c.table_names().unwrap().iter().all(|t| t != "events"));
}

#[test]
fn postgres_database_with_an_unknown_version_is_refused() {
    let Some(db) = TestDb::create(Server::Postgres, "embed_unknown") else {
        return;
    };
    refuses_unknown_versions("postgres", &db.url, || db.connect());
}

#[test]
fn sqlite_database_with_an_unknown_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("app.db").to_str().unwrap().to_string();
    std::fs::write(&url, "").unwrap();
    refuses_unknown_versions("sqlite", &url, || sqlite(&url));
}

/// Applied with bundle A; bundle B has a different up.sql for an applied migration and one
/// more migration: B is refused and its new migration does not run.
fn refuses_changed_checksums(backend: &str, url: &str, mut conn: impl FnMut() -> Connection) {
    let first = (
        "2024-01-01-000000_create_events",
        "CREATE TABLE events (id INTEGER PRIMARY KEY);",
    );
    let second = (
        "2024-01-02-000000_create_users",
        "CREATE TABLE users (id INTEGER PRIMARY KEY);",
    );
    let a = bundle_of(backend, &[first, second]);
    let report = Migrator::new(&a, "app").unwrap().run(url).unwrap();
    assert_eq!(report.applied.len(), 2);
    let edited = (
        "2024-01-01-000000_create_events",
        "CREATE TABLE events (id INTEGER PRIMARY KEY, note TEXT);",
    );
    let third = (
        "2024-01-03-000000_create_orders",
        "CREATE TABLE orders (id INTEGER PRIMARY KEY);",
    );
    let b = bundle_of(backend, &[edited, second, third]);
    let err = Migrator::new(&b, "app").unwrap().run(url).unwrap_err();
    match &err {
        Error::ChecksumMismatch { migrations, .. } => {
            assert_eq!(migrations, &["2024-01-01-000000_create_events"]);
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("applied migrations differ from the bundle's copy: 2024-01-01-000000_create_events; nothing was applied"),
        "{err}"
    );
    let mut c = conn();
    assert_eq!(versions(&mut c, url), ["20240101000000", "20240102000000"]);
    assert!(c.table_names().unwrap().iter().all(|t| t != "orders"));
    // The same bundle A again: nothing to do, and that is fine.
    let again = Migrator::new(&a, "app").unwrap().run(url).unwrap();
    assert!(again.applied.is_empty());
    assert_eq!(again.already_applied, 2);
    assert!(again.unverified.is_empty());
}

#[test]
fn postgres_applied_migration_with_a_changed_checksum_is_refused() {
    let Some(db) = TestDb::create(Server::Postgres, "embed_sum") else {
        return;
    };
    refuses_changed_checksums("postgres", &db.url, || db.connect());
}

#[test]
fn sqlite_applied_migration_with_a_changed_checksum_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("app.db").to_str().unwrap().to_string();
    refuses_changed_checksums("sqlite", &url, || sqlite(&url));
}

#[test]
fn a_damaged_bundle_an_unknown_set_and_a_wrong_url_are_typed_errors() {
    let bytes = std::fs::read(fixtures_dir().join("../examples/embedded_app.bundle.json")).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let edited = text.replacen("name TEXT NOT NULL", "name TEXT", 1);
    assert_ne!(edited, text);
    match Bundle::from_bytes(edited.as_bytes()).unwrap_err() {
        Error::BundleChecksum { what } => assert!(
            what.contains("migration `2024-05-01-000000_create_customers` of set `shop`"),
            "{what}"
        ),
        other => panic!("expected BundleChecksum, got {other:?}"),
    }
    assert!(matches!(
        Bundle::from_bytes(b"{}").unwrap_err(),
        Error::InvalidBundle { .. }
    ));
    let bundle = Bundle::from_bytes(text.as_bytes()).unwrap();
    let err = Migrator::new(&bundle, "billing").unwrap_err();
    assert!(
        matches!(&err, Error::UnknownSet { known, .. } if known == "shop"),
        "{err:?}"
    );
    let err = Migrator::new(&bundle, "shop")
        .unwrap()
        .run("app.db")
        .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "set `shop` is migrated on postgres, but the database URL app.db is not a postgres URL"
        ),
        "{err}"
    );
}

#[test]
fn the_example_bundle_is_the_fixture_bundled() {
    let t = CliTest::fixture("embedded-app");
    let out = t.path("fresh.bundle.json");
    t.run(&["bundle", "--out", out.to_str().unwrap()])
        .assert_success();
    let committed = fixtures_dir().join("../examples/embedded_app.bundle.json");
    assert_eq!(
        std::fs::read_to_string(out).unwrap(),
        std::fs::read_to_string(&committed).unwrap(),
        "examples/embedded_app.bundle.json is not fixtures/embedded-app bundled: run `cargo migrate bundle --out ../../examples/embedded_app.bundle.json` in fixtures/embedded-app"
    );
}

#[test]
fn a_held_lock_is_waited_for_until_the_timeout_and_nothing_runs() {
    let Some(db) = TestDb::create(Server::Postgres, "embed_lock") else {
        return;
    };
    let bundle = bundle_of(
        "postgres",
        &[(
            "2024-01-01-000000_create_events",
            "CREATE TABLE events (id INTEGER PRIMARY KEY);",
        )],
    );
    // Another process's apply, as far as the lock goes: the same lock, held meanwhile.
    let url = DatabaseUrl::new(&db.url);
    let mut holder = db.connect();
    let lock = cargo_migrate::db::lock::MigrationLock::acquire(
        &mut holder,
        &url,
        std::time::Duration::from_secs(5),
        || {},
    )
    .unwrap();
    let err = Migrator::new(&bundle, "app")
        .unwrap()
        .lock_timeout(std::time::Duration::from_secs(1))
        .run(&db.url)
        .unwrap_err();
    assert!(
        matches!(&err, Error::LockTimeout { seconds: 1, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("gave up after 1 s waiting for the migration lock"),
        "{err}"
    );
    let mut c = db.connect();
    assert!(!c.has_migrations_table().unwrap());
    assert!(c.table_names().unwrap().iter().all(|t| t != "events"));
    // Released, the next start applies it.
    lock.release(&mut holder);
    let report = Migrator::new(&bundle, "app").unwrap().run(&db.url).unwrap();
    assert_eq!(report.applied.len(), 1);
    assert_eq!(versions(&mut c, &db.url), ["20240101000000"]);
}

#[test]
fn a_migration_applied_without_a_checksum_is_reported_unverified_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("app.db").to_str().unwrap().to_string();
    std::fs::write(&url, "").unwrap();
    // As diesel_cli leaves it: the first migration ran and is recorded, with no checksum.
    let mut c = sqlite(&url);
    c.batch_execute("CREATE TABLE events (id INTEGER PRIMARY KEY);")
        .unwrap();
    c.ensure_migrations_table().unwrap();
    c.batch_execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000')")
        .unwrap();
    let bundle = bundle_of(
        "sqlite",
        &[
            (
                "2024-01-01-000000_create_events",
                "CREATE TABLE events (id INTEGER PRIMARY KEY);",
            ),
            (
                "2024-01-02-000000_create_users",
                "CREATE TABLE users (id INTEGER PRIMARY KEY);",
            ),
        ],
    );
    let report = Migrator::new(&bundle, "app").unwrap().run(&url).unwrap();
    assert_eq!(report.unverified, ["2024-01-01-000000_create_events"]);
    assert_eq!(report.already_applied, 1);
    let names: Vec<&str> = report.applied.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["2024-01-02-000000_create_users"]);
    assert_eq!(versions(&mut c, &url), ["20240101000000", "20240102000000"]);
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) AS n FROM __cargo_migrate_checksums WHERE version = '20240102000000'"
        ),
        1
    );
}

/// Two migrations, the second seeding a row, for the runs on an application's connection.
const APP_MIGRATIONS: &[(&str, &str)] = &[
    (
        "2024-01-01-000000_create_events",
        "CREATE TABLE events (id INTEGER PRIMARY KEY, note VARCHAR(40) NOT NULL);",
    ),
    (
        "2024-01-02-000000_seed_events",
        "INSERT INTO events (id, note) VALUES (1, 'seeded');",
    ),
];

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn rows<C: diesel::Connection>(conn: &mut C, sql: &str) -> i64
where
    diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'static, C, N>,
{
    use diesel::RunQueryDsl;
    diesel::sql_query(sql).get_result::<N>(conn).unwrap().n
}

#[test]
fn an_in_memory_sqlite_database_of_the_application_is_migrated_on_its_own_connection() {
    use diesel::Connection as _;
    let bundle = bundle_of("sqlite", APP_MIGRATIONS);
    let migrator = Migrator::new(&bundle, "app").unwrap();
    // An in-memory database exists only on this connection: a runner that opened its own
    // would migrate another database.
    let conn = diesel::SqliteConnection::establish(":memory:").unwrap();
    let (mut conn, report) = migrator.run_with(conn);
    let report = report.unwrap();
    assert_eq!(report.applied.len(), 2, "{report:?}");
    assert_eq!(rows(&mut conn, "SELECT COUNT(*) AS n FROM events"), 1);
    assert_eq!(
        rows(
            &mut conn,
            "SELECT COUNT(*) AS n FROM __diesel_schema_migrations"
        ),
        2
    );
    let (mut conn, again) = migrator.run_with(conn);
    let again = again.unwrap();
    assert!(again.applied.is_empty(), "{again:?}");
    assert_eq!(again.already_applied, 2);
    assert_eq!(rows(&mut conn, "SELECT COUNT(*) AS n FROM events"), 1);
}

#[test]
fn a_sqlite_file_on_the_applications_connection_takes_the_same_lock_as_apply() {
    use diesel::Connection as _;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.db");
    let bundle = bundle_of("sqlite", APP_MIGRATIONS);
    let url = file.to_str().unwrap().to_string();
    // Another process holds the migration lock of this file (as `cargo migrate apply` would).
    let lock = std::fs::File::create(dir.path().join("app.db.cargo-migrate.lock")).unwrap();
    lock.try_lock().unwrap();
    let conn = diesel::SqliteConnection::establish(&url).unwrap();
    let (conn, err) = Migrator::new(&bundle, "app")
        .unwrap()
        .lock_timeout(std::time::Duration::from_millis(300))
        .run_with(conn);
    match err.unwrap_err() {
        Error::LockTimeout { url: label, .. } => {
            assert!(label.to_string().ends_with("app.db"), "{label}");
        }
        other => panic!("expected LockTimeout, got {other:?}"),
    }
    drop(lock);
    let (_conn, report) = Migrator::new(&bundle, "app").unwrap().run_with(conn);
    assert_eq!(report.unwrap().applied.len(), 2);
    let mut c = sqlite(&url);
    assert_eq!(versions(&mut c, &url).len(), 2);
}

#[test]
fn two_application_connections_at_once_on_postgres_apply_each_migration_once() {
    use diesel::Connection as _;
    let Some(db) = TestDb::create(Server::Postgres, "embed_appconn") else {
        return;
    };
    let migrations = race_migrations("SELECT pg_sleep(0.5);");
    let pairs: Vec<(&str, &str)> = migrations.iter().map(|(d, u)| (*d, u.as_str())).collect();
    let bundle = Arc::new(bundle_of("postgres", &pairs));
    let start = Arc::new(Barrier::new(2));
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let (bundle, start, url) = (bundle.clone(), start.clone(), db.url.clone());
            std::thread::spawn(move || {
                let conn = diesel::PgConnection::establish(&url).unwrap();
                let migrator = Migrator::new(&bundle, "app").unwrap();
                start.wait();
                migrator.run_with(conn).1
            })
        })
        .collect();
    let mut applied: Vec<usize> = runs
        .into_iter()
        .map(|r| r.join().unwrap().unwrap().applied.len())
        .collect();
    applied.sort();
    assert_eq!(applied, [0, 3]);
    let mut c = db.connect();
    assert_eq!(versions(&mut c, &db.url).len(), 3);
    assert_eq!(count(&mut c, "SELECT COUNT(*) AS n FROM events"), 1);
}

#[test]
fn an_application_connection_inside_a_transaction_or_of_another_backend_runs_nothing() {
    use diesel::Connection as _;
    let Some(db) = TestDb::create(Server::Postgres, "embed_appconn_tx") else {
        return;
    };
    let bundle = bundle_of("postgres", APP_MIGRATIONS);
    let migrator = Migrator::new(&bundle, "app").unwrap();
    let mut conn = diesel::PgConnection::establish(&db.url).unwrap();
    conn.begin_test_transaction().unwrap();
    let (_conn, result) = migrator.run_with(conn);
    let err = result.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("is inside a transaction; nothing was run"),
        "{text}"
    );
    assert!(text.contains(&db.name), "{text}");
    let mut c = db.connect();
    assert!(c.table_names().unwrap().iter().all(|t| t != "events"));

    let sqlite_conn = diesel::SqliteConnection::establish(":memory:").unwrap();
    let (_c, result) = migrator.run_with(sqlite_conn);
    assert!(
        matches!(
            result,
            Err(Error::WrongConnection {
                expected: Backend::Postgres,
                found: Backend::Sqlite,
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn a_lost_application_connection_is_reported_and_never_replaced() {
    use diesel::Connection as _;
    let Some(db) = TestDb::create(Server::Postgres, "embed_appconn_lost") else {
        return;
    };
    let bundle = bundle_of(
        "postgres",
        &[
            APP_MIGRATIONS[0],
            (
                "2024-01-02-000000_lose_connection",
                "CREATE TABLE second (id INT PRIMARY KEY);\nSELECT pg_terminate_backend(pg_backend_pid());",
            ),
        ],
    );
    let conn = diesel::PgConnection::establish(&db.url).unwrap();
    let (_conn, result) = Migrator::new(&bundle, "app").unwrap().run_with(conn);
    match result.unwrap_err() {
        Error::Failed {
            migration,
            applied,
            message,
            ..
        } => {
            assert_eq!(migration, "2024-01-02-000000_lose_connection");
            assert_eq!(applied.len(), 1);
            assert!(
                message.contains("the connection to the database server was lost")
                    && message.contains("no new connection could be opened"),
                "{message}"
            );
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    let mut c = db.connect();
    assert_eq!(versions(&mut c, &db.url), ["20240101000000"]);
    assert!(c.table_names().unwrap().iter().all(|t| t != "second"));
}

#[test]
fn a_mysql_application_connection_is_migrated_and_one_without_a_database_refused() {
    use cargo_migrate::embedded::MysqlConnection;
    use diesel::Connection as _;
    let Some(db) = TestDb::create(Server::Mysql, "embed_appconn") else {
        return;
    };
    let bundle = bundle_of("mysql", APP_MIGRATIONS);
    let migrator = Migrator::new(&bundle, "app").unwrap();
    let conn = MysqlConnection::establish(&db.url).unwrap();
    let (_conn, report) = migrator.run_with(conn);
    assert_eq!(report.unwrap().applied.len(), 2);
    let mut c = db.connect();
    assert_eq!(versions(&mut c, &db.url).len(), 2);
    assert_eq!(count(&mut c, "SELECT COUNT(*) AS n FROM events"), 1);

    let server = db.url.rsplit_once('/').unwrap().0.to_string();
    let conn = MysqlConnection::establish(&server).unwrap();
    let (_conn, result) = migrator.run_with(conn);
    let text = result.unwrap_err().to_string();
    assert!(text.contains("has no database selected"), "{text}");
}
