//! Applying a bundle from inside an application, at startup, without the `cargo migrate`
//! command.
//!
//! Write the bundle with `cargo migrate bundle --out migrations.bundle.json`, embed it with
//! `include_bytes!`, and run one set of it against the application's database:
//!
//! ```no_run
//! use cargo_migrate::embedded::{Bundle, Migrator};
//!
//! static BUNDLE: &[u8] = include_bytes!("../examples/embedded_app.bundle.json");
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let bundle = Bundle::from_bytes(BUNDLE)?;
//!     let url = std::env::var("DATABASE_URL")?;
//!     let report = Migrator::new(&bundle, "shop")?.run(&url)?;
//!     for m in &report.applied {
//!         log::info!("applied {} in {:?}", m.name, m.took);
//!     }
//!     Ok(())
//! }
//! ```
//!
//! [`Migrator::run`] does what `cargo migrate apply` does for one set, through the same code:
//! it takes the same migration lock (so application instances that start together apply each
//! migration once, and never at the same time as a `cargo migrate apply`), runs each pending
//! migration through diesel's harness in its own transaction, and records its checksum in
//! `__cargo_migrate_checksums`. Before anything runs it refuses, with an [`Error`], a database
//! that is not one this bundle can migrate: applied versions the bundle does not have (a newer
//! build migrated it), applied migrations whose recorded checksum differs from the bundle's
//! (their files were edited after they ran), and migrations recorded as partially applied.
//! Each migration is logged through the `log` crate (target `cargo_migrate`).
//!
//! Build the library with `default-features = false` and the features of the backends the
//! application uses (`sqlite`, `postgres`, `mysql`) for this: the command line, the linter,
//! schema rendering, the workspace reader and the other backends' drivers are then left out.
//! On MySQL/MariaDB add the
//! `statements` feature, so that files run statement by statement as `cargo migrate apply`
//! runs them there (a failure then names its statement and records what stayed committed);
//! without it each file runs as one batch, as diesel runs it. docs/embedded.md has the rest.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use crate::backend::Backend;
use crate::bundle::{BundleError, BundledSet};
use crate::database_url::DatabaseUrl;
use crate::db::run::{self, RunKind, Step};
use crate::db::{ConnectOptions, Connection, DbError, Privilege};
use crate::events::{Event, Progress};
use crate::migration::{Direction, Migration};

/// Why a bundle cannot be used or a database cannot be migrated. Nothing was applied unless
/// the variant says so ([`Error::Failed`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a bundle.
    #[error("the embedded migration bundle cannot be read: {message}; nothing was run\nhelp: embed a file written by `cargo migrate bundle --out FILE`")]
    InvalidBundle {
        /// What is wrong with it.
        message: String,
    },
    /// The bundle was written in a format version this build does not read.
    #[error("the embedded migration bundle has format version {found} (written by cargo-migrate {tool}), and this build reads version {expected}; nothing was run\nhelp: write the bundle again with the cargo-migrate version the application depends on")]
    BundleVersion {
        /// Its format version.
        found: u32,
        /// The version this build reads.
        expected: u32,
        /// The cargo-migrate version that wrote it.
        tool: String,
    },
    /// A checksum of the bundle does not match its content.
    #[error("the embedded migration bundle is damaged or was edited: {what}; nothing was run\nhelp: write it again with `cargo migrate bundle --out FILE` and rebuild the application; a bundle is never edited by hand")]
    BundleChecksum {
        /// Which checksum.
        what: String,
    },
    /// [`Migrator::new`] was given a set the bundle does not have.
    #[error("the embedded migration bundle has no set `{set}` (it has: {known})\nhelp: pass one of those names to Migrator::new, or write the bundle again with that set selected")]
    UnknownSet {
        /// The name asked for.
        set: String,
        /// The sets it has, comma-separated.
        known: String,
    },
    /// The URL is not a database of the set's backend.
    #[error("set `{set}` is migrated on {expected}, but the database URL {url} is not a {expected} URL; nothing was run\nhelp: pass the set's database URL (for {expected}: {example})")]
    WrongBackend {
        /// The set.
        set: String,
        /// The set's backend.
        expected: Backend,
        /// The URL, without its password.
        url: DatabaseUrl,
        /// An example of a URL that fits.
        example: &'static str,
    },
    /// [`Migrator::run_with`] was given a connection to another backend than the set's.
    #[error("set `{set}` is migrated on {expected}, but the connection handed to the runner is a {found} connection; nothing was run\nhelp: pass a {expected} connection, or the set of the bundle that is migrated on {found}")]
    WrongConnection {
        /// The set.
        set: String,
        /// The set's backend.
        expected: Backend,
        /// The connection's backend.
        found: Backend,
    },
    /// Connecting, locking or reading the database failed.
    #[error("set `{set}`: {source}")]
    Database {
        /// The set.
        set: String,
        /// What failed.
        source: Box<DbError>,
    },
    /// Another process held the migration lock for longer than [`Migrator::lock_timeout`].
    #[error("set `{set}`: gave up after {seconds} s waiting for the migration lock on {url}: another instance of the application, or a `cargo migrate` command, is still migrating it; nothing was applied\nhelp: start again when it is done, or give Migrator::lock_timeout a longer wait")]
    LockTimeout {
        /// The set.
        set: String,
        /// The database.
        url: DatabaseUrl,
        /// How long it waited.
        seconds: u64,
    },
    /// The database has applied migrations the bundle does not have.
    #[error("refusing to migrate {url} (set `{set}`): it has applied migrations this bundle does not have: {}; nothing was applied\nhelp: a newer build of the application (or another tool) migrated this database; run that build, or a bundle that has these migrations", versions.join(", "))]
    UnknownVersions {
        /// The set.
        set: String,
        /// The database.
        url: DatabaseUrl,
        /// The versions, ascending.
        versions: Vec<String>,
    },
    /// Applied migrations whose recorded checksum differs from the bundle's.
    #[error("refusing to migrate {url} (set `{set}`): applied migrations differ from the bundle's copy: {}; nothing was applied\nhelp: these migrations were edited after they ran on this database; restore their files as they were applied and write the bundle again (`cargo migrate status` against this database shows the same)", migrations.join(", "))]
    ChecksumMismatch {
        /// The set.
        set: String,
        /// The database.
        url: DatabaseUrl,
        /// The folder names of the migrations.
        migrations: Vec<String>,
    },
    /// A pending migration is recorded as partially applied by an earlier failed run.
    #[error("refusing to migrate {url} (set `{set}`): an earlier run left these migrations partially applied: {}; nothing was applied\nhelp: run `cargo migrate status` against this database: it says which statements stayed committed and how to finish or undo them", migrations.join(", "))]
    PartiallyApplied {
        /// The set.
        set: String,
        /// The database.
        url: DatabaseUrl,
        /// The folder names of the migrations.
        migrations: Vec<String>,
    },
    /// The plan holds a migration that cannot run as it is (a file with no statement, a
    /// version longer than diesel's versions table holds).
    #[error("refusing to migrate {url} (set `{set}`); nothing was applied:\n{}", findings.join("\n"))]
    Refused {
        /// The set.
        set: String,
        /// The database.
        url: DatabaseUrl,
        /// What is wrong, one finding each.
        findings: Vec<String>,
    },
    /// A migration failed. The migrations before it stay applied (they are in `applied`); the
    /// failed one was rolled back wherever the database allows it (see `message`).
    #[error("set `{set}`: migration {migration} failed on {url}; {} applied before it\n{message}", count(applied.len()))]
    Failed {
        /// The set.
        set: String,
        /// The database.
        url: DatabaseUrl,
        /// The folder name of the failed migration.
        migration: String,
        /// The migrations this run applied before it.
        applied: Vec<Applied>,
        /// What the database said and what to do, as `cargo migrate apply` says it.
        message: String,
    },
}

fn count(n: usize) -> String {
    match n {
        0 => "none was".to_string(),
        1 => "1 migration was".to_string(),
        n => format!("{n} migrations were"),
    }
}

/// A bundle written by `cargo migrate bundle`, its checksums verified.
#[derive(Debug, Clone)]
pub struct Bundle {
    inner: crate::bundle::Bundle,
}

impl Bundle {
    /// Read a bundle from its bytes (usually `include_bytes!("…bundle.json")`) and verify the
    /// checksum of every migration and of the whole.
    pub fn from_bytes(bytes: &[u8]) -> Result<Bundle, Error> {
        let text = std::str::from_utf8(bytes).map_err(|e| Error::InvalidBundle {
            message: format!("it is not UTF-8 text ({e})"),
        })?;
        let inner =
            crate::bundle::Bundle::parse(text, Path::new("<embedded>")).map_err(|e| match e {
                BundleError::Version { found, tool, .. } => Error::BundleVersion {
                    found,
                    expected: crate::bundle::FORMAT_VERSION,
                    tool,
                },
                BundleError::Checksum { what, .. } => Error::BundleChecksum { what },
                BundleError::Invalid { message, .. } => Error::InvalidBundle { message },
                other => Error::InvalidBundle {
                    message: other.to_string(),
                },
            })?;
        Ok(Bundle { inner })
    }

    /// The names of its sets.
    pub fn sets(&self) -> impl Iterator<Item = &str> {
        self.inner.sets.iter().map(|s| s.name.as_str())
    }

    /// The cargo-migrate version that wrote it.
    pub fn tool_version(&self) -> &str {
        &self.inner.tool_version
    }
}

/// One migration a run applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// diesel's version (`20240101000000`).
    pub version: String,
    /// The folder name (`2024-01-01-000000_create_users`).
    pub name: String,
    /// How long it took, recording its version included.
    pub took: Duration,
}

/// What [`Migrator::run`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The set.
    pub set: String,
    /// The migrations applied now, in order.
    pub applied: Vec<Applied>,
    /// How many of the bundle's migrations were applied before this run.
    pub already_applied: usize,
    /// Applied migrations without a recorded checksum (applied by diesel_cli, or before
    /// checksums were recorded): they could not be compared with the bundle.
    pub unverified: Vec<String>,
}

/// Applies the pending migrations of one set of a [`Bundle`].
#[derive(Debug, Clone)]
pub struct Migrator<'b> {
    set: &'b BundledSet,
    migrations: Vec<Migration>,
    lock_timeout: Duration,
    wait: Option<Duration>,
}

impl<'b> Migrator<'b> {
    /// A runner for set `set` of `bundle`. It waits up to 10 minutes for the migration lock
    /// (see [`Migrator::lock_timeout`]) and does not wait for the database to come up (see
    /// [`Migrator::wait_for_database`]).
    pub fn new(bundle: &'b Bundle, set: &str) -> Result<Migrator<'b>, Error> {
        let found = bundle
            .inner
            .sets
            .iter()
            .find(|s| s.name == set)
            .ok_or_else(|| Error::UnknownSet {
                set: set.to_string(),
                known: bundle.sets().collect::<Vec<_>>().join(", "),
            })?;
        Ok(Migrator {
            set: found,
            migrations: found.migrations_at(&Path::new("<embedded>").join(&found.name)),
            lock_timeout: Duration::from_secs(600),
            wait: None,
        })
    }

    /// How long to wait for another process (another instance, a `cargo migrate apply`) that
    /// holds the migration lock before giving up with [`Error::LockTimeout`].
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Retry connecting for this long while the server is not accepting connections yet
    /// (refused, starting up); errors that waiting cannot fix are returned at once.
    pub fn wait_for_database(mut self, wait: Duration) -> Self {
        self.wait = Some(wait);
        self
    }

    /// The environment variable the set's database URL is read from in the workspace
    /// (`DATABASE_URL` unless configured otherwise).
    pub fn database_url_env(&self) -> &str {
        &self.set.database_url_env
    }

    /// Apply the pending migrations to the database at `database_url` (a SQLite path is
    /// relative to the current folder; the file is created when missing).
    pub fn run(&self, database_url: &str) -> Result<Report, Error> {
        let set = self.set.name.as_str();
        let backend = self.set.backend;
        let mut url = DatabaseUrl::new(database_url);
        if url.backend() != Some(backend) {
            return Err(Error::WrongBackend {
                set: set.to_string(),
                expected: backend,
                url,
                example: backend.example_url(),
            });
        }
        if backend.is_file_database() {
            if let Ok(here) = std::env::current_dir() {
                url = crate::database_url::resolve_sqlite_url(&url, &here);
            }
        }
        let db = |source| Error::Database {
            set: set.to_string(),
            source: Box::new(source),
        };
        let init_sql = self.init_sql();
        let opts = ConnectOptions {
            create_sqlite: true,
            wait: self.wait,
        };
        let mut conn = Connection::establish_for_set(&url, backend, opts, &init_sql, || {
            log::info!(target: "cargo_migrate", "set `{set}`: waiting for {url} to accept connections");
        })
        .map_err(db)?;
        self.migrate(&mut conn, &url, &init_sql)
    }

    /// Like [`Migrator::run`], on a connection the application opened itself (its TLS, its
    /// session settings, a SQLite database in memory that it goes on using), which is handed
    /// back with the outcome. The connection must be outside any transaction (else nothing
    /// runs: [`DbError::InTransaction`]), and gets the set's `init-sql` as the runner's own
    /// connections do; its other settings are the application's. The same lock, checks and
    /// refusals apply. If the connection is lost during a migration, the runner does not open
    /// another one: the error says what is known and the database is read again at the next
    /// start.
    ///
    /// ```no_run
    /// use diesel::Connection;
    /// use cargo_migrate::embedded::{Bundle, Migrator};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let bundle = Bundle::from_bytes(include_bytes!("../examples/embedded_app.bundle.json"))?;
    /// let conn = diesel::SqliteConnection::establish(":memory:")?;
    /// let (mut conn, report) = Migrator::new(&bundle, "shop")?.run_with(conn);
    /// report?;
    /// # let _ = &mut conn;
    /// # Ok(())
    /// # }
    /// ```
    pub fn run_with<C: AppConnection>(&self, conn: C) -> (C, Result<Report, Error>) {
        let mut conn = conn.into_connection();
        let result = self.run_on_application_connection(&mut conn);
        (C::from_connection(conn), result)
    }

    fn run_on_application_connection(&self, conn: &mut Connection) -> Result<Report, Error> {
        let set = self.set.name.as_str();
        if conn.backend() != self.set.backend {
            return Err(Error::WrongConnection {
                set: set.to_string(),
                expected: self.set.backend,
                found: conn.backend(),
            });
        }
        let init_sql = self.init_sql();
        let url = conn
            .adopt_application_connection(&init_sql)
            .map_err(|source| Error::Database {
                set: set.to_string(),
                source: Box::new(source),
            })?;
        self.migrate(conn, &url, &init_sql)
    }

    fn init_sql(&self) -> crate::init_sql::InitSql {
        crate::init_sql::InitSql {
            statements: self.set.init_sql.clone(),
            manifest: "the embedded bundle".into(),
            table: "the bundle",
        }
    }

    /// The migration lock, and under it [`Migrator::run_locked`].
    fn migrate(
        &self,
        conn: &mut Connection,
        url: &DatabaseUrl,
        init_sql: &crate::init_sql::InitSql,
    ) -> Result<Report, Error> {
        let set = self.set.name.as_str();
        let logger = Logger { set };
        run::locked(conn, url, self.lock_timeout, &logger, |conn| {
            self.run_locked(conn, url, init_sql, &logger)
        })
        .map_err(|e| match e {
            DbError::LockTimeout { url, seconds } => Error::LockTimeout {
                set: set.to_string(),
                url,
                seconds,
            },
            other => Error::Database {
                set: set.to_string(),
                source: Box::new(other),
            },
        })?
    }

    fn run_locked(
        &self,
        conn: &mut Connection,
        url: &DatabaseUrl,
        init_sql: &crate::init_sql::InitSql,
        logger: &Logger<'_>,
    ) -> Result<Report, Error> {
        let set = self.set.name.as_str();
        let db = |source| Error::Database {
            set: set.to_string(),
            source: Box::new(source),
        };
        conn.prepare_versions_table(url, &[Privilege::Select, Privilege::Insert])
            .map_err(db)?;
        let applied: BTreeSet<String> = conn
            .applied_versions(url)
            .map_err(db)?
            .into_iter()
            .collect();
        let known: BTreeSet<&str> = self.migrations.iter().map(|m| m.version.as_str()).collect();
        let unknown: Vec<String> = applied
            .iter()
            .filter(|v| !known.contains(v.as_str()))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(Error::UnknownVersions {
                set: set.to_string(),
                url: url.clone(),
                versions: unknown,
            });
        }
        let sums = crate::db::checksums::read(conn, url).map_err(db)?;
        let mut changed = Vec::new();
        let mut unverified = Vec::new();
        for m in self
            .migrations
            .iter()
            .filter(|m| applied.contains(&m.version))
        {
            match sums.get(&m.version) {
                Some(sum) if *sum != m.checksum() => changed.push(m.dir_name.clone()),
                Some(_) => {}
                None => unverified.push(m.dir_name.clone()),
            }
        }
        if !unverified.is_empty() {
            log::warn!(target: "cargo_migrate",
                "set `{set}`: {} applied migration(s) have no recorded checksum (applied by diesel_cli, or before checksums were recorded), so they could not be compared with the bundle: {}",
                unverified.len(), unverified.join(", "));
        }
        if !changed.is_empty() {
            return Err(Error::ChecksumMismatch {
                set: set.to_string(),
                url: url.clone(),
                migrations: changed,
            });
        }
        let todo: Vec<&Migration> = self
            .migrations
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .collect();
        let records = conn.partial_records(url).map_err(db)?;
        let partial: Vec<String> = todo
            .iter()
            .filter(|m| {
                records
                    .iter()
                    .any(|r| r.version == m.version && r.direction == Direction::Up)
            })
            .map(|m| m.dir_name.clone())
            .collect();
        if !partial.is_empty() {
            return Err(Error::PartiallyApplied {
                set: set.to_string(),
                url: url.clone(),
                migrations: partial,
            });
        }
        let refused = |findings| Error::Refused {
            set: set.to_string(),
            url: url.clone(),
            findings,
        };
        if let Some(limit) = conn.version_limit(url).map_err(db)? {
            let long: Vec<String> = todo
                .iter()
                .filter(|m| m.version.chars().count() > limit)
                .map(|m| format!("{}: its version `{}` is longer than the {limit} characters diesel's versions table `__diesel_schema_migrations` holds, so it could run but not be recorded; rename the folder to a shorter version, or widen the column", m.dir_name, m.version))
                .collect();
            if !long.is_empty() {
                return Err(refused(long));
            }
        }
        if todo.is_empty() {
            log::info!(target: "cargo_migrate", "set `{set}`: {url} is up to date ({} migrations applied)", applied.len());
        }
        let steps: Vec<Step<'_>> = todo
            .iter()
            .map(|m| Step {
                migration: m,
                direction: Direction::Up,
            })
            .collect();
        let outcome = run::run_steps(conn, url, set, init_sql, RunKind::Apply, &steps, logger);
        if !outcome.refused.is_empty() {
            return Err(refused(
                outcome.refused.iter().map(|d| d.render()).collect(),
            ));
        }
        let done: Vec<Applied> = outcome
            .done
            .iter()
            .map(|d| Applied {
                version: d.version.clone(),
                name: d.dir_name.clone(),
                took: d.took,
            })
            .collect();
        if let Some(failed) = outcome.failed {
            return Err(Error::Failed {
                set: set.to_string(),
                url: url.clone(),
                migration: steps[failed.index].migration.dir_name.clone(),
                applied: done,
                message: failed.diagnostic.render(),
            });
        }
        Ok(Report {
            set: set.to_string(),
            applied: done,
            already_applied: self.migrations.len() - todo.len(),
            unverified,
        })
    }
}

/// A diesel connection that [`Migrator::run_with`] can migrate: `diesel::PgConnection`,
/// `diesel::SqliteConnection`, and for MySQL/MariaDB [`MysqlConnection`] (diesel-async's
/// synchronous wrapper over mysql_async, the client the tool itself uses).
pub trait AppConnection: sealed::Sealed + Sized {
    #[doc(hidden)]
    fn into_connection(self) -> Connection;
    #[doc(hidden)]
    fn from_connection(conn: Connection) -> Self;
}

#[cfg(feature = "mysql")]
pub use crate::db::MysqlConnection;

mod sealed {
    pub trait Sealed {}
    #[cfg(feature = "postgres")]
    impl Sealed for diesel::PgConnection {}
    #[cfg(feature = "sqlite")]
    impl Sealed for diesel::SqliteConnection {}
    #[cfg(feature = "mysql")]
    impl Sealed for super::MysqlConnection {}
}

// The runner never replaces an application's connection (opening its label URL fails, see
// `DatabaseUrl::of_application_connection`), so it comes back as the variant it went in as.
macro_rules! app_connection {
    ($ty:ty, $variant:ident) => {
        impl AppConnection for $ty {
            fn into_connection(self) -> Connection {
                Connection::$variant(self)
            }
            #[allow(clippy::panic)]
            fn from_connection(conn: Connection) -> Self {
                match conn {
                    Connection::$variant(c) => c,
                    #[allow(unreachable_patterns)]
                    _ => unreachable!("the runner replaced the application's connection"),
                }
            }
        }
    };
}
#[cfg(feature = "postgres")]
app_connection!(diesel::PgConnection, Postgres);
#[cfg(feature = "sqlite")]
app_connection!(diesel::SqliteConnection, Sqlite);
#[cfg(feature = "mysql")]
app_connection!(MysqlConnection, Mysql);

/// The runner's events, as log records.
struct Logger<'a> {
    set: &'a str,
}

impl Progress for Logger<'_> {
    fn event(&self, event: Event<'_>) {
        let set = self.set;
        match event {
            Event::WaitingForLock => log::info!(target: "cargo_migrate",
                "set `{set}`: waiting for the migration lock (another instance or `cargo migrate` is migrating)"),
            Event::Ran { dir_name, took, .. } => log::info!(target: "cargo_migrate",
                "set `{set}`: applied {dir_name} in {} ms", took.as_millis()),
            Event::Failed { dir_name, .. } => log::error!(target: "cargo_migrate",
                "set `{set}`: {dir_name} failed"),
            Event::Warning(text) => log::warn!(target: "cargo_migrate", "set `{set}`: {text}"),
            _ => {}
        }
    }
}
