//! The migration lock: one `apply` (or `revert`, `redo`, `baseline`) at a time per database.
//!
//! Concurrent deploys must not run a migration twice. Before reading which migrations are
//! pending, a run takes a lock that lives as long as its connection: an advisory lock on
//! PostgreSQL, `GET_LOCK` on MySQL/MariaDB, an exclusive file lock for SQLite (how each is
//! taken is in the backend's file). All of them are released by the operating system or the
//! server when the process dies, so a `kill -9` never leaves a lock behind. Writers that are
//! not `cargo migrate` are waited for by SQLite's `busy_timeout` and the servers' own locks.

use std::fs::{File, OpenOptions};
use std::time::{Duration, Instant};

use super::{mysql, postgres, sqlite, Connection, DbError};
use crate::database_url::DatabaseUrl;

/// A held lock. Release it with [`MigrationLock::release`] (dropping the connection releases
/// it too).
pub struct MigrationLock {
    /// For SQLite, the locked file (the lock lasts as long as the handle).
    _file: Option<File>,
}

/// Poll for the lock until `deadline`.
struct Waiter<'a, F: FnMut()> {
    deadline: Instant,
    timeout: Duration,
    url: &'a DatabaseUrl,
    on_wait: F,
    waited: bool,
}

impl<F: FnMut()> Waiter<'_, F> {
    fn wait(&mut self) -> Result<(), DbError> {
        if !self.waited {
            (self.on_wait)();
            self.waited = true;
        }
        if Instant::now() >= self.deadline {
            return Err(DbError::LockTimeout {
                url: self.url.clone(),
                seconds: self.timeout.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
        Ok(())
    }
}

impl MigrationLock {
    /// Take the lock, waiting up to `timeout` for another holder. `on_wait` is called once if
    /// the lock is busy, so the caller can say that it is waiting.
    pub fn acquire(
        conn: &mut Connection,
        url: &DatabaseUrl,
        timeout: Duration,
        on_wait: impl FnMut(),
    ) -> Result<MigrationLock, DbError> {
        let mut waiter = Waiter {
            // A timeout too large to add to now means "wait for ever".
            deadline: Instant::now()
                .checked_add(timeout)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(100 * 365 * 86_400)),
            timeout,
            url,
            on_wait,
            waited: false,
        };
        let query_err =
            |e: diesel::result::Error| DbError::query("taking the migration lock", url, &e);
        match conn {
            Connection::Postgres(c) => loop {
                if postgres::try_lock(c).map_err(query_err)? {
                    return Ok(MigrationLock { _file: None });
                }
                waiter.wait()?;
            },
            Connection::Mysql(c) => loop {
                if mysql::try_lock(c).map_err(query_err)? {
                    return Ok(MigrationLock { _file: None });
                }
                waiter.wait()?;
            },
            Connection::Sqlite(_) => {
                let Some(path) = sqlite::lock_file_for(url) else {
                    return Ok(MigrationLock { _file: None });
                };
                let file = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .map_err(|e| {
                        DbError::query(
                            format!("opening the lock file `{}`", path.display()),
                            url,
                            &e,
                        )
                    })?;
                loop {
                    match file.try_lock() {
                        Ok(()) => return Ok(MigrationLock { _file: Some(file) }),
                        Err(std::fs::TryLockError::WouldBlock) => waiter.wait()?,
                        Err(std::fs::TryLockError::Error(e)) => {
                            return Err(DbError::query(
                                format!("locking `{}`", path.display()),
                                url,
                                &e,
                            ))
                        }
                    }
                }
            }
        }
    }

    /// Release the lock. Errors are ignored: the server releases it with the session anyway.
    pub fn release(self, conn: &mut Connection) {
        match conn {
            Connection::Postgres(c) => postgres::unlock(c),
            Connection::Mysql(c) => mysql::unlock(c),
            Connection::Sqlite(_) => drop(self),
        }
    }
}
