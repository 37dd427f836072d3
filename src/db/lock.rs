//! The migration lock: one `apply` (or `revert`) at a time per database.
//!
//! Concurrent deploys must not run a migration twice. Before reading which migrations are
//! pending, a run takes a lock that lives as long as its connection:
//! - PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a fixed key; advisory locks
//!   are per database, so sets on other databases never wait for each other.
//! - MySQL/MariaDB: `GET_LOCK` on a name derived from the database name (MySQL's lock names are
//!   server-wide, so the database name keeps two databases apart).
//! - SQLite: an exclusive lock on a file in `<temp>/cargo-migrate-locks/`, named after a hash
//!   of the database file's canonical path, so nothing is written next to the user's database; writers
//!   that are not `cargo migrate` are waited for through `busy_timeout`.
//!
//! All three are released by the operating system or the server when the process dies, so a
//! `kill -9` never leaves a lock behind.

use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Nullable};
use diesel::{QueryableByName, RunQueryDsl};

use super::{one_line, sqlite_path, Connection, DbError};
use crate::backend::Backend;
use crate::database_url::DatabaseUrl;
use crate::with_conn;

/// The advisory lock key: the first 8 bytes of "cgmigrat" as a number.
const PG_LOCK_KEY: i64 = 0x63_67_6d_69_67_72_61_74;

#[derive(QueryableByName)]
struct LockRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    n: Option<i64>,
}

/// A held lock. Release it with [`MigrationLock::release`] (dropping the connection releases it too).
pub struct MigrationLock {
    kind: Kind,
}

enum Kind {
    Postgres,
    Mysql,
    Sqlite(#[allow(dead_code)] Option<File>),
}

fn lock_file_for(url: &DatabaseUrl) -> Option<PathBuf> {
    let path = sqlite_path(url.expose())?;
    let canonical = path.canonicalize().unwrap_or(path);
    // FNV-1a over the path: stable across runs and processes.
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in canonical.to_string_lossy().as_bytes() {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x100000001b3);
    }
    // One small file per database path, in one folder. Lock files are never deleted: removing
    // one while another process waits on it would let two processes hold "the" lock at once.
    let dir = std::env::temp_dir().join("cargo-migrate-locks");
    let _ = std::fs::create_dir_all(&dir);
    Some(dir.join(format!("{hash:016x}.lock")))
}

impl MigrationLock {
    /// Take the lock, waiting up to `timeout` for another holder. `on_wait` is called once if
    /// the lock is busy, so the caller can say that it is waiting.
    pub fn acquire(
        conn: &mut Connection,
        url: &DatabaseUrl,
        timeout: Duration,
        mut on_wait: impl FnMut(),
    ) -> Result<MigrationLock, DbError> {
        let deadline = Instant::now() + timeout;
        let query_err = |e: diesel::result::Error| DbError::Query {
            what: "taking the migration lock".into(),
            url: url.clone(),
            message: one_line(&e.to_string(), url),
        };
        let mut waited = false;
        let mut wait = |waited: &mut bool| -> Result<(), DbError> {
            if !*waited {
                on_wait();
                *waited = true;
            }
            if Instant::now() >= deadline {
                return Err(DbError::LockTimeout {
                    url: url.clone(),
                    seconds: timeout.as_secs(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
            Ok(())
        };
        match conn.backend() {
            Backend::Postgres => loop {
                let q = diesel::sql_query(format!("SELECT CASE WHEN pg_try_advisory_lock({PG_LOCK_KEY}) THEN 1::bigint ELSE 0::bigint END AS n"));
                let rows: Vec<LockRow> = with_conn!(conn, c => q.load(c)).map_err(query_err)?;
                if rows.first().and_then(|r| r.n) == Some(1) {
                    return Ok(MigrationLock {
                        kind: Kind::Postgres,
                    });
                }
                wait(&mut waited)?;
            },
            Backend::Mysql => loop {
                let q = diesel::sql_query("SELECT GET_LOCK(LEFT(CONCAT('cargo-migrate:', COALESCE(DATABASE(), '')), 64), 0) AS n");
                let rows: Vec<LockRow> = with_conn!(conn, c => q.load(c)).map_err(query_err)?;
                if rows.first().and_then(|r| r.n) == Some(1) {
                    return Ok(MigrationLock { kind: Kind::Mysql });
                }
                wait(&mut waited)?;
            },
            Backend::Sqlite => {
                let Some(path) = lock_file_for(url) else {
                    // An in-memory database belongs to this process alone.
                    return Ok(MigrationLock {
                        kind: Kind::Sqlite(None),
                    });
                };
                let file = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .map_err(|e| DbError::Query {
                        what: format!("opening the lock file `{}`", path.display()),
                        url: url.clone(),
                        message: e.to_string(),
                    })?;
                loop {
                    match file.try_lock() {
                        Ok(()) => {
                            return Ok(MigrationLock {
                                kind: Kind::Sqlite(Some(file)),
                            })
                        }
                        Err(std::fs::TryLockError::WouldBlock) => wait(&mut waited)?,
                        Err(std::fs::TryLockError::Error(e)) => {
                            return Err(DbError::Query {
                                what: format!("locking `{}`", path.display()),
                                url: url.clone(),
                                message: e.to_string(),
                            })
                        }
                    }
                }
            }
        }
    }

    /// Release the lock. Errors are ignored: the server releases it with the session anyway.
    pub fn release(self, conn: &mut Connection) {
        match self.kind {
            Kind::Postgres => {
                let _ = conn.batch_execute(&format!("SELECT pg_advisory_unlock({PG_LOCK_KEY})"));
            }
            Kind::Mysql => {
                let _ = conn.batch_execute(
                    "DO RELEASE_LOCK(LEFT(CONCAT('cargo-migrate:', COALESCE(DATABASE(), '')), 64))",
                );
            }
            Kind::Sqlite(file) => drop(file),
        }
    }
}
