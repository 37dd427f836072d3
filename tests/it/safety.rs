//! Safety under concurrency, restricted roles and odd folders: the migration lock across
//! processes, scratch cleanup that never drops a live database, permission errors, folder
//! entries that cannot be migrations.

use std::process::Stdio;
use std::time::{Duration, Instant};

use cargo_migrate::database_url::DatabaseUrl;
use cargo_migrate::db::{sqlite, ConnectOptions, Connection};

use crate::common::{CliTest, Server, TestDb};

/// A migration that takes a few seconds and leaves a row per run in `log`.
const SLOW_UP: &str = "CREATE TABLE IF NOT EXISTS log (x INTEGER);\nINSERT INTO log VALUES (1);\nWITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 12000000) SELECT COUNT(*) FROM c;\n";

fn sqlite_count(db: &std::path::Path, sql: &str) -> i64 {
    let mut conn = Connection::establish(
        &DatabaseUrl::new(db.display().to_string()),
        cargo_migrate::backend::Backend::Sqlite,
        ConnectOptions::default(),
    )
    .unwrap();
    conn.count(sql).unwrap()
}

#[test]
fn sqlite_lock_holds_across_temp_folders() {
    let t = CliTest::package();
    t.migration("2024-01-01-000000_slow", SLOW_UP, None);
    let db = t.path("app.db");
    std::fs::write(&db, b"").unwrap();
    let tmp_a = t.path("tmp-a");
    let tmp_b = t.path("tmp-b");
    std::fs::create_dir_all(&tmp_a).unwrap();
    std::fs::create_dir_all(&tmp_b).unwrap();
    let url = format!("sqlite://{}", db.display());

    let first = t
        .command(&["apply"])
        .env("DATABASE_URL", &url)
        .env("TMPDIR", &tmp_a)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first process holds the lock next to the database.
    let lock = sqlite::lock_file_for(&DatabaseUrl::new(&url)).unwrap();
    let start = Instant::now();
    loop {
        if let Ok(file) = std::fs::File::open(&lock) {
            if matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock)) {
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the first run never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // A second process with another temporary folder must wait for the first.
    let second = t
        .command(&["apply"])
        .env("DATABASE_URL", format!("sqlite:{}", db.display()))
        .env("TMPDIR", &tmp_b)
        .output()
        .unwrap();
    let first = first.wait_with_output().unwrap();
    let (out1, out2) = (
        String::from_utf8_lossy(&first.stdout).into_owned()
            + &String::from_utf8_lossy(&first.stderr),
        String::from_utf8_lossy(&second.stdout).into_owned()
            + &String::from_utf8_lossy(&second.stderr),
    );
    assert!(first.status.success(), "{out1}");
    assert!(second.status.success(), "{out2}");
    assert!(out1.contains("applied 2024-01-01-000000_slow"), "{out1}");
    assert!(
        out2.contains("waiting"),
        "the second run did not wait:\n{out2}"
    );
    assert!(!out2.contains("applied 2024-01-01-000000_slow"), "{out2}");
    assert_eq!(
        sqlite_count(&db, "SELECT COUNT(*) AS n FROM log"),
        1,
        "the migration ran twice"
    );
    assert!(
        tmp_a.read_dir().unwrap().next().is_none(),
        "nothing is written to TMPDIR"
    );
}

#[test]
fn sqlite_lock_times_out_while_another_process_holds_it() {
    let t = CliTest::package();
    t.migration(
        "2024-01-01-000000_a",
        "CREATE TABLE a (id INTEGER);\n",
        None,
    );
    let db = t.path("app.db");
    std::fs::write(&db, b"").unwrap();
    let url = DatabaseUrl::new(db.display().to_string());
    let lock = sqlite::lock_file_for(&url).unwrap();
    let held = sqlite::open_lock_file(&lock).unwrap();
    held.try_lock().unwrap();
    let tmp = t.path("elsewhere");
    std::fs::create_dir_all(&tmp).unwrap();
    let t = t
        .env("DATABASE_URL", db.display().to_string())
        .env("TMPDIR", tmp.display().to_string());
    let run = t.run(&["apply", "--lock-timeout", "1"]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(
        run.all()
            .contains("gave up after 1 s waiting for the migration lock"),
        "{}",
        run.all()
    );
}

#[test]
fn mysql_databases_with_a_long_shared_prefix_do_not_share_a_lock() {
    use cargo_migrate::db::mysql;
    // Names of 60 characters that differ only at the end: MariaDB keeps 64 characters of a
    // lock name, so a name made of a prefix and the database name would be the same for both.
    let tag = "long_shared_prefix_".repeat(2);
    let Some(a) = TestDb::create(Server::Mysql, &tag) else {
        return;
    };
    let Some(b) = TestDb::create(Server::Mysql, &tag) else {
        return;
    };
    assert!(
        a.name.len() > 50 && a.name[..50] == b.name[..50],
        "{} {}",
        a.name,
        b.name
    );
    let mut holder = a.connect();
    let Connection::Mysql(c) = &mut holder else {
        unreachable!()
    };
    let name = mysql::migration_lock_name(c).unwrap();
    assert!(mysql::try_lock(c, &name).unwrap());

    let t = CliTest::package().env("DATABASE_URL", &b.url);
    t.migration(
        "2024-01-01-000000_a",
        "CREATE TABLE a (id INTEGER);\n",
        None,
    );
    t.run(&["apply", "--lock-timeout", "1"]).assert_success();
    // The same database still waits for the holder.
    let t = CliTest::package().env("DATABASE_URL", &a.url);
    t.migration(
        "2024-01-01-000000_a",
        "CREATE TABLE a (id INTEGER);\n",
        None,
    );
    let run = t.run(&["apply", "--lock-timeout", "1"]);
    assert!(
        run.all().contains("waiting for the migration lock"),
        "{}",
        run.all()
    );
    mysql::unlock(c, &name);
}

/// A leftover-looking scratch database (prefix and a timestamp from 2001) on `server`, with
/// the admin connection that created it.
fn old_scratch_database(server: Server) -> Option<(Connection, String, String)> {
    let base = server.url()?;
    let admin_url = match server {
        Server::Postgres => format!("{base}/postgres"),
        Server::Mysql => base.clone(),
    };
    let mut admin = Connection::establish(
        &DatabaseUrl::new(&admin_url),
        server.backend(),
        ConnectOptions::default(),
    )
    .unwrap();
    let name = old_scratch_name();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let url = format!("{base}/{name}");
    Some((admin, name, url))
}

/// The abandoned scratch database `name` goes within a few seconds: dropped by the cleanup
/// (this test's or another's).
fn assert_cleaned_up(admin: &mut Connection, name: &str) {
    let start = Instant::now();
    while database_exists(admin, name) && start.elapsed() < Duration::from_secs(10) {
        cargo_migrate::db::scratch::clean_stale(admin);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !database_exists(admin, name),
        "an abandoned scratch database stays"
    );
}

/// A fresh name that looks like a leftover scratch database (a timestamp from 2001).
fn old_scratch_name() -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    format!(
        "{}1000000000_{}_9{}",
        cargo_migrate::db::scratch::PREFIX,
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

fn database_exists(admin: &mut Connection, name: &str) -> bool {
    let sql = match admin.backend() {
        cargo_migrate::backend::Backend::Postgres => {
            format!("SELECT COUNT(*)::bigint AS n FROM pg_database WHERE datname = '{name}'")
        }
        _ => format!("SELECT CAST(COUNT(*) AS SIGNED) AS n FROM information_schema.schemata WHERE schema_name = '{name}'"),
    };
    admin.count(&sql).unwrap() > 0
}

#[test]
fn postgres_cleanup_keeps_a_scratch_database_with_a_session() {
    use cargo_migrate::db::scratch::clean_stale;
    // Other tests' checks clean stale scratch databases too, and this one is stale and
    // unused until the session below connects: if one of them drops it first, make another.
    let mut attempt = 0;
    let (mut admin, name, mut user) = loop {
        let Some((admin, name, url)) = old_scratch_database(Server::Postgres) else {
            return;
        };
        match Connection::establish(
            &DatabaseUrl::new(&url),
            cargo_migrate::backend::Backend::Postgres,
            ConnectOptions::default(),
        ) {
            Ok(user) => break (admin, name, user),
            Err(err) if attempt < 5 => {
                attempt += 1;
                eprintln!("the stale database went before the session connected ({err}); again");
            }
            Err(err) => panic!("{err}"),
        }
    };
    user.batch_execute("SELECT 1").unwrap();
    let dropped = clean_stale(&mut admin);
    assert!(!dropped.contains(&name), "{dropped:?}");
    assert!(
        database_exists(&mut admin, &name),
        "a live scratch database was dropped"
    );
    drop(user);
    // Once nobody uses it, it is a leftover (the server may take a moment to end the session).
    assert_cleaned_up(&mut admin, &name);
}

#[test]
fn mysql_cleanup_keeps_a_scratch_database_whose_owner_holds_its_lock() {
    use cargo_migrate::db::{mysql, scratch::clean_stale};
    let Some(base) = Server::Mysql.url() else {
        return;
    };
    let connect = || {
        Connection::establish(
            &DatabaseUrl::new(&base),
            cargo_migrate::backend::Backend::Mysql,
            ConnectOptions::default(),
        )
        .unwrap()
    };
    let (mut admin, mut owner) = (connect(), connect());
    let name = old_scratch_name();
    // As the tool does, the owner takes the lock before the database exists: other tests'
    // checks clean stale scratch databases too, and must never see this one unlocked.
    let Connection::Mysql(c) = &mut owner else {
        unreachable!()
    };
    mysql::hold_scratch_lock(c, &name).unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let dropped = clean_stale(&mut admin);
    assert!(!dropped.contains(&name), "{dropped:?}");
    assert!(
        database_exists(&mut admin, &name),
        "a live scratch database was dropped"
    );
    drop(owner);
    // Once its owner is gone it is a leftover: the server releases the lock when it has ended
    // the session, which may take a moment, and another test's cleanup may drop it first.
    assert_cleaned_up(&mut admin, &name);
}
