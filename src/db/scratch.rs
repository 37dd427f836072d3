//! Scratch databases: where a set's history is replayed to see the schema it produces.
//!
//! SQLite replays in memory. PostgreSQL and MySQL replay in a throwaway database created on a
//! scratch server and named `cargo_migrate_scratch_<unix seconds>_<pid>_<n>`; it is dropped when
//! the [`ScratchDb`] goes out of scope, after an error, and on Ctrl-C (the interrupt handler
//! drops every scratch database still registered). A crashed run can still leave one behind,
//! so creating a scratch database first drops leftovers of that prefix whose embedded time is
//! more than [`STALE_AFTER`] old. Nothing else is ever dropped or changed: every statement
//! that drops names a database this module created or one that carries its prefix and a stale
//! timestamp.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};

use super::{one_line, ConnectOptions, Connection, DbError};
use crate::backend::Backend;
use crate::database_url::DatabaseUrl;
use crate::migration::Migration;
use crate::with_conn;

/// The prefix of every scratch database's name.
pub const PREFIX: &str = "cargo_migrate_scratch_";

/// Leftover scratch databases older than this are dropped by the next run.
pub const STALE_AFTER: Duration = Duration::from_secs(10 * 60);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Scratch databases alive in this process: (server admin URL, backend, name).
static LIVE: Mutex<Vec<(DatabaseUrl, Backend, String)>> = Mutex::new(Vec::new());

/// A database to replay history in.
pub struct ScratchDb {
    pub conn: Connection,
    /// For PostgreSQL and MySQL: the admin URL and the database's name, to drop it.
    owned: Option<(DatabaseUrl, String)>,
    /// The connection that created the database, kept to drop it without reconnecting.
    admin: Option<Connection>,
    backend: Backend,
}

#[derive(QueryableByName)]
struct NameRow {
    #[diesel(sql_type = Text)]
    name: String,
}

/// The URL used to create and drop databases on the server of `url`.
fn admin_url(url: &DatabaseUrl, backend: Backend) -> Option<DatabaseUrl> {
    match backend {
        Backend::Postgres => url.with_database("postgres"),
        Backend::Mysql => url.with_database(""),
        Backend::Sqlite => None,
    }
}

/// A name is one of ours and stale: `cargo_migrate_scratch_<secs>_...` with `secs` old enough.
pub fn is_stale(name: &str, now: SystemTime) -> bool {
    let Some(rest) = name.strip_prefix(PREFIX) else {
        return false;
    };
    let Some(secs) = rest.split('_').next().and_then(|s| s.parse::<u64>().ok()) else {
        return false;
    };
    let created = UNIX_EPOCH + Duration::from_secs(secs);
    now.duration_since(created)
        .is_ok_and(|age| age > STALE_AFTER)
}

fn drop_sql(backend: Backend, name: &str) -> String {
    match backend {
        Backend::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        _ => format!("DROP DATABASE IF EXISTS `{name}`"),
    }
}

/// Drop one of our databases; PostgreSQL before 13 has no `WITH (FORCE)`, so fall back to the
/// plain statement (our own sessions are closed by then).
fn drop_on(conn: &mut Connection, backend: Backend, name: &str) -> bool {
    if !name.starts_with(PREFIX) {
        return false;
    }
    conn.batch_execute(&drop_sql(backend, name)).is_ok()
        || (backend == Backend::Postgres
            && conn
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                .is_ok())
}

/// Drop scratch databases of earlier runs that crashed (prefix and stale timestamp only).
pub fn clean_stale(admin: &mut Connection) -> Vec<String> {
    let backend = admin.backend();
    let sql = match backend {
        Backend::Postgres => "SELECT datname::text AS name FROM pg_database WHERE datname LIKE 'cargo\\_migrate\\_scratch\\_%'",
        Backend::Mysql => "SELECT CAST(schema_name AS CHAR) AS name FROM information_schema.schemata WHERE schema_name LIKE 'cargo\\_migrate\\_scratch\\_%'",
        Backend::Sqlite => return Vec::new(),
    };
    let q = diesel::sql_query(sql);
    let rows: Vec<NameRow> = match with_conn!(admin, c => q.load(c)) {
        Ok(rows) => rows,
        Err(_) => return Vec::new(),
    };
    let now = SystemTime::now();
    let mut dropped = Vec::new();
    for row in rows {
        if is_stale(&row.name, now) && drop_on(admin, backend, &row.name) {
            dropped.push(row.name);
        }
    }
    dropped
}

impl ScratchDb {
    /// An empty database of `backend`: in memory for SQLite, else created on the server of
    /// `server` (a URL whose database part is ignored).
    pub fn create(backend: Backend, server: Option<&DatabaseUrl>) -> Result<ScratchDb, DbError> {
        if backend == Backend::Sqlite {
            let conn = Connection::establish(
                &DatabaseUrl::new(":memory:"),
                Backend::Sqlite,
                ConnectOptions::default(),
            )?;
            return Ok(ScratchDb {
                conn,
                owned: None,
                admin: None,
                backend,
            });
        }
        let server = server.ok_or_else(|| {
            DbError::Config(format!(
                "a {backend} scratch database needs a server\nhelp: pass --scratch-url {}://… or set MIGRATE_SCRATCH_URL, or give the set its database URL (its server is used)",
                if backend == Backend::Postgres { "postgres" } else { "mysql" }
            ))
        })?;
        let admin = admin_url(server, backend).ok_or_else(|| {
            DbError::Config(format!("cannot read the scratch server URL {server}"))
        })?;
        let mut admin_conn = Connection::establish(&admin, backend, ConnectOptions::default())?;
        clean_stale(&mut admin_conn);
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let name = format!(
            "{PREFIX}{secs}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let create = match backend {
            Backend::Postgres => format!("CREATE DATABASE \"{name}\""),
            _ => format!("CREATE DATABASE `{name}`"),
        };
        admin_conn
            .batch_execute(&create)
            .map_err(|e| DbError::Query {
                what: format!("creating the scratch database {name}"),
                url: admin.clone(),
                message: one_line(&e.to_string(), &admin),
            })?;
        if let Ok(mut live) = LIVE.lock() {
            live.push((admin.clone(), backend, name.clone()));
        }
        let mut scratch = ScratchDb {
            conn: Connection::Sqlite(placeholder()),
            owned: Some((admin.clone(), name.clone())),
            admin: None,
            backend,
        };
        let url = server.with_database(&name).ok_or_else(|| {
            DbError::Config(format!("cannot read the scratch server URL {server}"))
        })?;
        scratch.conn = Connection::establish(&url, backend, ConnectOptions::default())?;
        scratch.admin = Some(admin_conn);
        Ok(scratch)
    }

    /// Run `migrations` in order, each in its own transaction unless its metadata.toml says
    /// otherwise, as `apply` would, stopping at the first failure.
    ///
    /// The scratch database is thrown away, so its versions are not recorded (print-schema
    /// ignores `__diesel_schema_migrations` anyway). On PostgreSQL and SQLite a transactional
    /// migration is sent as one `BEGIN; …; COMMIT;` batch: one round trip instead of the
    /// harness's four, with the same effect. MySQL goes through the harness, statement by
    /// statement, so a failure still names its statement.
    pub fn replay<'a>(
        &mut self,
        migrations: impl IntoIterator<Item = &'a Migration>,
    ) -> Result<usize, ReplayError> {
        use super::harness::{blank_failure, describe_database_error, Direction};
        let url = DatabaseUrl::new(self.name().unwrap_or(":memory:").to_string());
        if self.backend == Backend::Mysql {
            self.conn
                .ensure_migrations_table()
                .map_err(|e| ReplayError::Setup(one_line(&e.to_string(), &url)))?;
        }
        let mut n = 0;
        for m in migrations {
            if self.backend == Backend::Mysql {
                super::harness::run(&mut self.conn, m, Direction::Up, &url)
                    .map_err(ReplayError::Failed)?;
            } else {
                const BEGIN: &str = "BEGIN;\n";
                let (sql, offset) = if m.run_in_transaction {
                    (
                        format!("{BEGIN}{}\n;COMMIT;", m.up_sql),
                        BEGIN.chars().count(),
                    )
                } else {
                    (m.up_sql.clone(), 0)
                };
                if let Err(err) = self.conn.batch_execute(&sql) {
                    if m.run_in_transaction {
                        let _ = self.conn.batch_execute("ROLLBACK");
                    }
                    let mut failure = blank_failure(m, Direction::Up, self.backend);
                    describe_database_error(&mut failure, &err, m, &url, offset);
                    return Err(ReplayError::Failed(failure));
                }
            }
            n += 1;
        }
        Ok(n)
    }

    /// The scratch database's name (PostgreSQL and MySQL).
    pub fn name(&self) -> Option<&str> {
        self.owned.as_ref().map(|(_, n)| n.as_str())
    }
}

/// Why a replay stopped.
#[derive(Debug, Clone)]
pub enum ReplayError {
    /// `__diesel_schema_migrations` could not be created.
    Setup(String),
    /// A migration failed.
    Failed(super::harness::MigrationFailure),
}

/// A connection to stand in while the real one is opened (so `Drop` always has a value).
fn placeholder() -> diesel::SqliteConnection {
    use diesel::Connection as _;
    diesel::SqliteConnection::establish(":memory:")
        .expect("an in-memory SQLite database always opens")
}

fn drop_database(admin: &DatabaseUrl, backend: Backend, name: &str) {
    if !name.starts_with(PREFIX) {
        return;
    }
    if let Ok(mut conn) = Connection::establish(admin, backend, ConnectOptions::default()) {
        drop_on(&mut conn, backend, name);
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.owned.take() {
            // Close our own session first so the drop does not wait for it.
            self.conn = Connection::Sqlite(placeholder());
            let dropped = match self.admin.as_mut() {
                Some(conn) => drop_on(conn, self.backend, &name),
                None => false,
            };
            if !dropped {
                drop_database(&admin, self.backend, &name);
            }
            if let Ok(mut live) = LIVE.lock() {
                live.retain(|(_, _, n)| *n != name);
            }
        }
    }
}

/// Drop every scratch database this process still has (the interrupt handler calls this).
pub fn drop_all_live() {
    let live = LIVE.lock().map(|l| l.clone()).unwrap_or_default();
    for (admin, backend, name) in live {
        drop_database(&admin, backend, &name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_stale_names_are_stale() {
        let now = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        assert!(is_stale("cargo_migrate_scratch_1999990000_12_0", now));
        assert!(
            !is_stale("cargo_migrate_scratch_1999999990_12_0", now),
            "too young"
        );
        assert!(!is_stale("cargo_migrate_scratch_x_12_0", now));
        assert!(!is_stale("production", now));
        assert!(!is_stale("my_cargo_migrate_scratch_1_1_1", now));
    }

    #[test]
    fn sqlite_scratch_is_in_memory() {
        let mut s = ScratchDb::create(Backend::Sqlite, None).unwrap();
        assert!(s.name().is_none());
        s.conn.batch_execute("CREATE TABLE t (id INTEGER)").unwrap();
    }

    #[test]
    fn replay_stops_at_the_first_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let m = tmp.path().join("migrations");
        for (name, sql) in [
            ("2024-01-01-000000_a", "CREATE TABLE a (id INTEGER);"),
            ("2024-01-02-000000_b", "INSERT INTO nope VALUES (1);"),
            ("2024-01-03-000000_c", "CREATE TABLE c (id INTEGER);"),
        ] {
            std::fs::create_dir_all(m.join(name)).unwrap();
            std::fs::write(m.join(name).join("up.sql"), sql).unwrap();
        }
        let folder = crate::migration::load_folder("app", &m, tmp.path());
        let mut s = ScratchDb::create(Backend::Sqlite, None).unwrap();
        match s.replay(&folder.migrations) {
            Err(ReplayError::Failed(f)) => {
                assert_eq!(f.migration, "2024-01-02-000000_b");
                assert!(f.message.contains("no such table: nope"), "{}", f.message);
            }
            other => panic!("expected a failure, got {:?}", other.map(|_| ())),
        }
        // The first migration stays, the failed one left nothing behind.
        assert_eq!(
            s.conn
                .count("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'a'")
                .unwrap(),
            1
        );
    }
}
