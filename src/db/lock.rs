//! The migration lock: one `apply` (or `revert`, `redo`, `baseline`) at a time per database.
//!
//! Concurrent deploys must not run a migration twice. Before reading which migrations are
//! pending, a run takes a lock that lives as long as its connection: an advisory lock on
//! PostgreSQL, `GET_LOCK` on MySQL/MariaDB, an exclusive file lock for SQLite (how each is
//! taken is in the backend's file). All of them are released by the operating system or the
//! server when the process dies, so a `kill -9` never leaves a lock behind. Writers that are
//! not `cargo migrate` are waited for by SQLite's `busy_timeout` and the servers' own locks.
//!
//! Every lock is named after the database it protects, through a hash of the database's full
//! identity ([`lock_name`], [`lock_key`]): names that share a long prefix never share a lock,
//! even where the server truncates lock names (MariaDB keeps 64 characters).

#[cfg(feature = "sqlite")]
use std::fs::File;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

#[cfg(feature = "mysql")]
use super::mysql;
#[cfg(feature = "postgres")]
use super::postgres;
#[cfg(feature = "sqlite")]
use super::sqlite;
use super::{Connection, DbError};
use crate::database_url::DatabaseUrl;

/// The longest lock name MySQL and MariaDB keep.
pub const MAX_LOCK_NAME: usize = 64;

/// A held lock. Release it with [`MigrationLock::release`] (dropping the connection releases
/// it too).
pub struct MigrationLock {
    held: Held,
}

enum Held {
    /// Nothing to hold (an in-memory SQLite database).
    #[cfg(feature = "sqlite")]
    Nothing,
    /// A PostgreSQL advisory lock key.
    #[cfg(feature = "postgres")]
    Postgres(i64),
    /// A MySQL/MariaDB lock name.
    #[cfg(feature = "mysql")]
    Mysql(String),
    /// For SQLite, the locked file (the lock lasts as long as the handle), and whether the
    /// connection's rollback journal was kept between commits for the run (see
    /// [`sqlite::persist_journal`]).
    #[cfg(feature = "sqlite")]
    File(#[allow(dead_code)] File, bool),
}

/// The first 8 bytes of the SHA-256 of `identity`: stable across runs, processes and hosts.
fn hash64(identity: &str) -> u64 {
    let digest = Sha256::digest(identity.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes)
}

/// A PostgreSQL advisory lock key for `purpose` on the database `identity`.
pub fn lock_key(purpose: &str, identity: &str) -> i64 {
    i64::from_be_bytes(hash64(&format!("cargo-migrate:{purpose}:{identity}")).to_be_bytes())
}

/// A MySQL/MariaDB lock name for `purpose` on `identity`: `cm:<purpose>:<hash>:<readable
/// prefix of identity>`, at most [`MAX_LOCK_NAME`] bytes. The hash covers the whole identity,
/// so two identities never share a name however long their common prefix is.
pub fn lock_name(purpose: &str, identity: &str) -> String {
    let mut name = format!(
        "cm:{purpose}:{:016x}:",
        hash64(&format!("{purpose}:{identity}"))
    );
    for c in identity.chars() {
        if name.len() + c.len_utf8() > MAX_LOCK_NAME {
            break;
        }
        name.push(c);
    }
    name
}

/// The moment a wait of `timeout` from now ends; `None` when it is too far away to represent,
/// which means "wait for ever".
pub fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Poll for the lock until `deadline`.
struct Waiter<'a, F: FnMut()> {
    deadline: Option<Instant>,
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
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
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
            deadline: deadline_after(timeout),
            timeout,
            url,
            on_wait,
            waited: false,
        };
        let query_err =
            |e: diesel::result::Error| DbError::query("taking the migration lock", url, &e);
        match conn {
            #[cfg(feature = "postgres")]
            Connection::Postgres(c) => {
                let key = postgres::migration_lock_key(c).map_err(query_err)?;
                loop {
                    if postgres::try_lock(c, key).map_err(query_err)? {
                        return Ok(MigrationLock {
                            held: Held::Postgres(key),
                        });
                    }
                    waiter.wait()?;
                }
            }
            #[cfg(feature = "mysql")]
            Connection::Mysql(c) => {
                let name = mysql::migration_lock_name(c).map_err(query_err)?;
                loop {
                    if mysql::try_lock(c, &name).map_err(query_err)? {
                        return Ok(MigrationLock {
                            held: Held::Mysql(name),
                        });
                    }
                    waiter.wait()?;
                }
            }
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(c) => {
                let Some(path) = sqlite::lock_file_for(url) else {
                    return Ok(MigrationLock {
                        held: Held::Nothing,
                    });
                };
                let file = sqlite::open_lock_file(&path).map_err(|e| DbError::LockFile {
                    url: url.clone(),
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                loop {
                    match file.try_lock() {
                        Ok(()) => {
                            let switched = sqlite::persist_journal(c);
                            return Ok(MigrationLock {
                                held: Held::File(file, switched),
                            });
                        }
                        Err(std::fs::TryLockError::WouldBlock) => waiter.wait()?,
                        Err(std::fs::TryLockError::Error(e)) => {
                            return Err(DbError::LockFile {
                                url: url.clone(),
                                path,
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
        match (conn, self.held) {
            #[cfg(feature = "postgres")]
            (Connection::Postgres(c), Held::Postgres(key)) => postgres::unlock(c, key),
            #[cfg(feature = "mysql")]
            (Connection::Mysql(c), Held::Mysql(name)) => mysql::unlock(c, &name),
            // Back to deleting the journal before another process may take the lock.
            #[cfg(feature = "sqlite")]
            (Connection::Sqlite(c), Held::File(file, true)) => {
                sqlite::restore_journal(c);
                drop(file);
            }
            (_, held) => drop(held),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_differ_for_a_shared_long_prefix() {
        let common = "a".repeat(60);
        let a = lock_name("migrate", &format!("{common}_orders"));
        let b = lock_name("migrate", &format!("{common}_billing"));
        assert_ne!(a, b);
        assert!(
            a.len() <= MAX_LOCK_NAME && b.len() <= MAX_LOCK_NAME,
            "{a} {b}"
        );
        assert!(lock_name("migrate", "shop").ends_with(":shop"));
        assert_ne!(lock_name("migrate", "shop"), lock_name("scratch", "shop"));
        let long = "é".repeat(40);
        assert!(lock_name("migrate", &long).len() <= MAX_LOCK_NAME);
    }

    #[test]
    fn keys_differ_per_database() {
        assert_ne!(
            lock_key("migrate", "orders"),
            lock_key("migrate", "billing")
        );
        assert_eq!(lock_key("migrate", "orders"), lock_key("migrate", "orders"));
    }

    #[test]
    fn huge_timeouts_wait_for_ever() {
        assert!(deadline_after(Duration::MAX).is_none());
        assert!(deadline_after(Duration::from_secs(u64::MAX)).is_none());
        assert!(deadline_after(Duration::from_secs(1)).is_some());
    }
}
