//! Scratch databases: where a set's history is replayed to see the schema it produces.
//!
//! SQLite replays in memory. PostgreSQL and MySQL replay in a throwaway database created on a
//! scratch server and named `cargo_migrate_scratch_<unix seconds>_<pid>_<n>`; it is dropped when
//! the [`ScratchDb`] goes out of scope, after an error, and on Ctrl-C (the interrupt handler
//! drops every scratch database still registered). A crashed run can still leave one behind,
//! so creating a scratch database first drops leftovers of that prefix whose embedded time is
//! more than [`STALE_AFTER`] old and that the server shows no run is using (see
//! [`clean_stale`]). Nothing else is ever dropped or changed: every statement that drops names
//! a database this module created or an abandoned one that carries its prefix. What differs between servers (the admin database, quoting, `DROP … WITH
//! (FORCE)`) is each backend's [`ScratchServer`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::RunQueryDsl;

use super::harness;
use super::{mysql, one_line, postgres, with_conn, ConnectOptions, Connection, DbError, NameRow};
use crate::backend::Backend;
use crate::database_url::DatabaseUrl;
use crate::failure::MigrationFailure;
use crate::init_sql::InitSql;
use crate::migration::{Direction, Migration};

/// The prefix of every scratch database's name.
pub const PREFIX: &str = "cargo_migrate_scratch_";

/// Leftover scratch databases older than this are dropped by the next run.
pub const STALE_AFTER: Duration = Duration::from_secs(10 * 60);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Scratch databases alive in this process: (server admin URL, backend, name).
static LIVE: Mutex<Vec<(DatabaseUrl, Backend, String)>> = Mutex::new(Vec::new());

/// How a database server creates, lists and drops databases.
pub struct ScratchServer {
    /// The URL scheme, for help texts.
    pub scheme: &'static str,
    /// The database to connect to for creating and dropping others (`""`: none).
    pub admin_database: &'static str,
    /// A query listing databases with [`PREFIX`], as rows of `name`.
    pub list: &'static str,
    /// `CREATE DATABASE` for a name.
    pub create: fn(&str) -> String,
    /// `DROP DATABASE` statements to try in turn for a name.
    pub drop: fn(&str) -> Vec<String>,
}

/// The server backends' scratch handling (`None`: SQLite, which replays in memory).
pub(crate) fn server_of(backend: Backend) -> Option<&'static ScratchServer> {
    match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(&postgres::SCRATCH),
        Backend::Mysql => Some(&mysql::SCRATCH),
    }
}

/// A database to replay history in.
pub struct ScratchDb {
    /// The connection to the scratch database.
    pub conn: Connection,
    /// For PostgreSQL and MySQL: the admin URL and the database's name, to drop it.
    owned: Option<(DatabaseUrl, String)>,
    /// The connection that created the database, kept to drop it without reconnecting.
    admin: Option<Connection>,
    backend: Backend,
}

/// A name is one of ours and old: `cargo_migrate_scratch_<secs>_...` with `secs` more than
/// [`STALE_AFTER`] ago. Age alone never drops a database: [`clean_stale`] also proves that no
/// run still uses it.
pub fn is_stale(name: &str, now: SystemTime) -> bool {
    let Some(rest) = name.strip_prefix(PREFIX) else {
        return false;
    };
    let Some(secs) = rest.split('_').next().and_then(|s| s.parse::<u64>().ok()) else {
        return false;
    };
    // A timestamp past what the clock can represent is in the future, not stale.
    let Some(created) = UNIX_EPOCH.checked_add(Duration::from_secs(secs)) else {
        return false;
    };
    now.duration_since(created)
        .is_ok_and(|age| age > STALE_AFTER)
}

/// Drop one of our databases (this run's own: its sessions are ours).
fn drop_on(conn: &mut Connection, server: &ScratchServer, name: &str) -> bool {
    if !name.starts_with(PREFIX) {
        return false;
    }
    (server.drop)(name)
        .iter()
        .any(|sql| conn.batch_execute(sql).is_ok())
}

/// Drop scratch databases of earlier runs that crashed. A database is dropped only when its
/// name carries our prefix and an old timestamp, and the server proves no run uses it any
/// more: on PostgreSQL no session is connected to it (and the drop itself fails if one
/// connects meanwhile); on MySQL/MariaDB the named lock its creator holds for its whole life
/// is free (and this run holds that lock while it drops). A long `check` keeps its database.
pub fn clean_stale(admin: &mut Connection) -> Vec<String> {
    let Some(server) = server_of(admin.backend()) else {
        return Vec::new();
    };
    let q = diesel::sql_query(server.list);
    let rows: Vec<NameRow> = match with_conn!(admin, c => q.load(c)) {
        Ok(rows) => rows,
        Err(_) => return Vec::new(),
    };
    let now = SystemTime::now();
    let mut dropped = Vec::new();
    for row in rows {
        if !is_stale(&row.name, now) {
            continue;
        }
        let gone = match admin {
            Connection::Postgres(c) => postgres::drop_if_abandoned(c, &row.name),
            Connection::Mysql(c) => mysql::drop_if_abandoned(c, &row.name),
            Connection::Sqlite(_) => false,
        };
        if gone {
            dropped.push(row.name);
        }
    }
    dropped
}

impl ScratchDb {
    /// An empty database of `backend`: in memory for SQLite, else created on the server of
    /// `server` (a URL whose database part is ignored). The connection to it has run the set's
    /// `init_sql` (the admin connection that creates and drops it does not: it belongs to the
    /// server, not to the set).
    pub fn create(
        backend: Backend,
        server: Option<&DatabaseUrl>,
        init_sql: &InitSql,
    ) -> Result<ScratchDb, DbError> {
        let Some(kind) = server_of(backend) else {
            let conn = Connection::establish_for_set(
                &DatabaseUrl::new(":memory:"),
                backend,
                ConnectOptions::default(),
                init_sql,
                || {},
            )
            .map_err(|e| on_scratch(e, "the in-memory scratch database"))?;
            return Ok(ScratchDb {
                conn,
                owned: None,
                admin: None,
                backend,
            });
        };
        let server = server.ok_or(DbError::NoScratchServer {
            backend,
            scheme: kind.scheme,
        })?;
        let unusable = |reason: &str| DbError::ScratchUrl {
            url: server.clone(),
            reason: reason.to_string(),
        };
        #[allow(deprecated)]
        let admin = server
            .with_database(kind.admin_database)
            .ok_or_else(|| unusable("it is not a URL"))?;
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
        // On MySQL/MariaDB the admin session holds a named lock for the database's whole life,
        // which tells other runs' cleanup that the database is in use.
        if let Connection::Mysql(c) = &mut admin_conn {
            mysql::hold_scratch_lock(c, &name).map_err(|e| {
                DbError::query(format!("locking the scratch database {name}"), &admin, &e)
            })?;
        }
        admin_conn
            .batch_execute(&(kind.create)(&name))
            .map_err(|e| {
                DbError::query(format!("creating the scratch database {name}"), &admin, &e)
            })?;
        if let Ok(mut live) = LIVE.lock() {
            live.push((admin.clone(), backend, name.clone()));
        }
        #[allow(deprecated)]
        let url = server
            .with_database(&name)
            .ok_or_else(|| unusable("it is not a URL"))?;
        // From here on the database exists: a failure to connect still drops it (Drop).
        let mut scratch = ScratchDb {
            conn: admin_conn,
            owned: Some((admin.clone(), name.clone())),
            admin: None,
            backend,
        };
        let conn = Connection::establish_for_set(
            &url,
            backend,
            ConnectOptions::default(),
            init_sql,
            || {},
        )
        .map_err(|e| on_scratch(e, &format!("the scratch database {name}")))?;
        scratch.admin = Some(std::mem::replace(&mut scratch.conn, conn));
        Ok(scratch)
    }

    /// Run `migrations` in order exactly as `apply` runs them, stopping at the first failure:
    /// diesel's versions table is created first, and each migration goes through the same
    /// harness (its own transaction unless its metadata.toml says otherwise, the same
    /// statement splitting on MySQL) and has its version recorded. A history therefore fails
    /// here exactly where it fails in `apply`, and migrations that read or guard
    /// `__diesel_schema_migrations` (a trigger, a view) replay as they deploy.
    pub fn replay<'a>(
        &mut self,
        migrations: impl IntoIterator<Item = &'a Migration>,
    ) -> Result<usize, (Box<MigrationFailure>, &'a Migration)> {
        self.replay_reporting(migrations, &|_| {})
    }

    /// [`replay`](Self::replay), calling `after` with the number of migrations replayed so far
    /// after each one (for a progress line).
    pub fn replay_reporting<'a>(
        &mut self,
        migrations: impl IntoIterator<Item = &'a Migration>,
        after: &dyn Fn(usize),
    ) -> Result<usize, (Box<MigrationFailure>, &'a Migration)> {
        let url = DatabaseUrl::new(self.name().unwrap_or(":memory:").to_string());
        let mut n = 0;
        let mut limit = None;
        for m in migrations {
            if n == 0 {
                if let Err(e) = self.conn.ensure_migrations_table() {
                    let mut f = MigrationFailure::blank(m, Direction::Up, false);
                    f.message = one_line(&e.to_string(), &url);
                    return Err((Box::new(f), m));
                }
                limit = self.conn.version_limit(&url).ok().flatten();
            }
            // A version the versions table cannot hold: on MySQL the migration's DDL would
            // commit and then recording it would fail. `apply` refuses it before it runs.
            let length = m.version.chars().count();
            if let Some(limit) = limit.filter(|l| length > *l) {
                let mut f = MigrationFailure::blank(m, Direction::Up, false);
                f.message = format!(
                    "its version `{}` is {length} characters long, and diesel's versions table `__diesel_schema_migrations` holds versions of at most {limit} characters, so `apply` refuses it; rename the folder {} so that its version (the part before the first `_`) has at most {limit} characters",
                    m.version,
                    m.dir.display()
                );
                return Err((Box::new(f), m));
            }
            if let Err(f) = harness::run(&mut self.conn, m, Direction::Up, &url) {
                // A signal drops the scratch database under the replay: the handler reports
                // that and exits 130; this failure is its consequence, not the migration's.
                crate::interrupt::yield_to_handler();
                return Err((f, m));
            }
            n += 1;
            after(n);
        }
        Ok(n)
    }

    /// The scratch database's name (PostgreSQL and MySQL).
    pub fn name(&self) -> Option<&str> {
        self.owned.as_ref().map(|(_, n)| n.as_str())
    }
}

/// An init-sql failure on a scratch database says so, rather than showing its URL.
fn on_scratch(err: DbError, which: &str) -> DbError {
    match err {
        DbError::InitSql {
            manifest,
            table,
            number,
            statement,
            message,
            ..
        } => DbError::InitSql {
            on: format!("{which} the history replays on"),
            manifest,
            table,
            number,
            statement,
            message,
        },
        other => other,
    }
}

fn drop_database(admin: &DatabaseUrl, backend: Backend, name: &str) {
    let Some(server) = server_of(backend) else {
        return;
    };
    if let Ok(mut conn) = Connection::establish(admin, backend, ConnectOptions::default()) {
        drop_on(&mut conn, server, name);
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.owned.take() else {
            return;
        };
        let Some(server) = server_of(self.backend) else {
            return;
        };
        // Close our own session first so the drop does not wait for it: the admin connection
        // takes its place.
        let dropped = match self.admin.take() {
            Some(admin) => {
                let _ = std::mem::replace(&mut self.conn, admin);
                drop_on(&mut self.conn, server, &name)
            }
            None => false,
        };
        if !dropped {
            drop_database(&admin_url, self.backend, &name);
        }
        if let Ok(mut live) = LIVE.lock() {
            live.retain(|(_, _, n)| *n != name);
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
        // A timestamp past the clock's range is not stale, and never a panic.
        assert!(!is_stale(
            "cargo_migrate_scratch_18446744073709551615_1_0",
            now
        ));
    }

    #[test]
    fn sqlite_scratch_is_in_memory() {
        let mut s = ScratchDb::create(Backend::Sqlite, None, &InitSql::none()).unwrap();
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
        let folder = crate::migration::load_folder("app", &m);
        let mut s = ScratchDb::create(Backend::Sqlite, None, &InitSql::none()).unwrap();
        match s.replay(&folder.migrations) {
            Err((f, _)) => {
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
