//! A real server restart while a migration runs, on a PostgreSQL cluster of the test's own
//! (initdb into a temporary folder, its own port and socket folder, run as the `postgres`
//! account), so that the shared test server is never restarted. What `apply` reports must be
//! what the database holds once it is back: the migration that was running is not recorded
//! and nothing of it stayed, and the next `apply` runs it once.
//!
//! Needs PostgreSQL's server programs (`/usr/lib/postgresql/<version>/bin`, or
//! `CARGO_MIGRATE_TEST_PG_BIN`) and root (to run them as `postgres`); without them the tests
//! skip with one line.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cargo_migrate::backend::Backend;
use cargo_migrate::database_url::DatabaseUrl;
use cargo_migrate::db::{ConnectOptions, Connection};

use crate::common::CliTest;

/// A PostgreSQL cluster in a temporary folder, stopped and removed on drop.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    sockets: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

fn server_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CARGO_MIGRATE_TEST_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("pg_ctl").exists() && bin.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

fn as_postgres(program: &Path) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--"]).arg(program);
    cmd.stdin(Stdio::null());
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    fn start() -> Option<Cluster> {
        let Some(bin) = server_bin() else {
            eprintln!("skipping: no PostgreSQL server programs (set CARGO_MIGRATE_TEST_PG_BIN to their folder)");
            return None;
        };
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let has_account = Command::new("id")
            .arg("postgres")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !is_root || !has_account {
            eprintln!(
                "skipping: a private PostgreSQL cluster needs root and the `postgres` account"
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let sockets = dir.path().join("sockets");
        std::fs::create_dir_all(&sockets).unwrap();
        for path in [dir.path(), sockets.as_path()] {
            let status = Command::new("chown")
                .arg("postgres")
                .arg(path)
                .status()
                .unwrap();
            assert!(status.success());
        }
        let init = as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync"])
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let cluster = Cluster {
            bin,
            data,
            sockets,
            port: free_port(),
            _dir: dir,
        };
        cluster.pg_ctl(&["start", "-w", "-t", "60"]);
        Some(cluster)
    }

    fn pg_ctl(&self, args: &[&str]) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.sockets.display()
        );
        let out = as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.data.join("server.log"))
            .arg("-o")
            .arg(options)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn connect(&self, database: &str) -> Connection {
        Connection::establish(
            &DatabaseUrl::new(self.url(database)),
            Backend::Postgres,
            ConnectOptions::default(),
        )
        .unwrap()
    }

    /// Wait until a session other than the caller's is running a statement containing `text`.
    fn wait_for_statement(&self, database: &str, text: &str) {
        let mut conn = self.connect(database);
        let deadline = Instant::now() + Duration::from_secs(30);
        let sql = format!(
            "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%{text}%'"
        );
        while conn.count(&sql).unwrap() == 0 {
            assert!(Instant::now() < deadline, "no session started `{text}`");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["stop", "-m", "immediate"])
            .output();
    }
}

/// A workspace of two migrations on `url`: the second creates a table, then sleeps long
/// enough for the server to be restarted under it.
fn workspace(url: &str) -> CliTest {
    let t = CliTest::package().env("DATABASE_URL", url);
    t.migration(
        "2024-01-01-000000_first",
        "CREATE TABLE first (id INT PRIMARY KEY);\n",
        None,
    );
    t.migration(
        "2024-01-02-000000_slow",
        "CREATE TABLE second (id INT PRIMARY KEY);\nINSERT INTO second VALUES (1);\nSELECT pg_sleep(20);\n",
        None,
    );
    t
}

/// A cluster with a database `app`, and `cargo migrate <args>` on it, started and running the
/// slow migration.
fn slow_apply_running(args: &[&str]) -> Option<(Cluster, CliTest, std::process::Child)> {
    let cluster = Cluster::start()?;
    cluster
        .connect("postgres")
        .batch_execute("CREATE DATABASE app")
        .unwrap();
    let t = workspace(&cluster.url("app"));
    let child = t
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    cluster.wait_for_statement("app", "pg_sleep(20)");
    Some((cluster, t, child))
}

fn versions(conn: &mut Connection) -> Vec<String> {
    conn.applied_versions(&DatabaseUrl::new("")).unwrap()
}

fn table_exists(conn: &mut Connection, table: &str) -> bool {
    conn.count(&format!(
        "SELECT COUNT(*) AS n FROM pg_class WHERE relname = '{table}'"
    ))
    .unwrap()
        > 0
}

#[test]
fn a_server_restart_during_a_migration_is_reported_from_the_database_once_it_is_back() {
    let Some((cluster, t, child)) = slow_apply_running(&["apply"]) else {
        return;
    };
    cluster.pg_ctl(&["restart", "-m", "fast", "-w", "-t", "60"]);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "the connection to the database server was lost while 2024-01-02-000000_slow ran"
        ),
        "{err}"
    );
    assert!(
        err.contains("read again over a new connection: the database does not record 2024-01-02-000000_slow as applied"),
        "{err}"
    );
    assert!(
        err.contains("which the server rolls back when the session ends, so nothing of it stayed"),
        "{err}"
    );
    assert!(!err.contains("fix up.sql"), "{err}");
    assert!(!err.contains("rolled back completely"), "{err}");
    let mut conn = cluster.connect("app");
    assert_eq!(versions(&mut conn), ["20240101000000"]);
    assert!(table_exists(&mut conn, "first"));
    assert!(!table_exists(&mut conn, "second"));

    // The next run, with the sleep gone, finishes the job: the second migration runs once.
    t.migration(
        "2024-01-02-000000_slow",
        "CREATE TABLE second (id INT PRIMARY KEY);\nINSERT INTO second VALUES (1);\n",
        None,
    );
    t.run(&["apply"]).assert_success();
    assert_eq!(versions(&mut conn), ["20240101000000", "20240102000000"]);
    assert_eq!(conn.count("SELECT COUNT(*) AS n FROM second").unwrap(), 1);
}

#[test]
fn a_server_that_stays_down_after_a_migration_lost_it_is_reported_as_not_known() {
    let Some((cluster, _t, child)) = slow_apply_running(&["apply", "--format", "json"]) else {
        return;
    };
    cluster.pg_ctl(&["stop", "-m", "fast", "-w"]);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failure = &doc["sets"][0]["failure"];
    assert_eq!(failure["cause"], "connection_lost", "{doc}");
    assert_eq!(failure["reconnected"], false, "{doc}");
    assert!(failure["recorded"].is_null(), "{doc}");
    assert_eq!(doc["sets"][0]["pending"][0], "20240102000000", "{doc}");
    cluster.pg_ctl(&["start", "-w", "-t", "60"]);
    let mut conn = cluster.connect("app");
    assert_eq!(versions(&mut conn), ["20240101000000"]);
    assert!(!table_exists(&mut conn, "second"));
}
