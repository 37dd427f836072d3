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
use super::states::StateStore;
use super::{one_line, with_conn, ConnectOptions, Connection, DbError, NameRow};
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
    /// Settings for the session a history replays in: the database is thrown away, so it
    /// need not wait for the disk (`""`: none). Nothing here changes what a statement does.
    pub replay_session: &'static str,
    /// Drop the leftover scratch database named so if the server shows no run uses it.
    pub drop_if_abandoned: fn(&mut Connection, &str) -> bool,
    /// Mark a new scratch database as in use for as long as this (admin) session lives,
    /// before it is created.
    pub mark_in_use: fn(&mut Connection, &str) -> diesel::QueryResult<()>,
    /// How saved states of a history's prefix are kept (see [`super::states`]); `None`: the
    /// server cannot copy a database, and every replay is a full one.
    pub states: Option<StateSql>,
}

/// The SQL of saved states on a server that can copy a database.
pub struct StateSql {
    /// A query listing databases with [`super::states::PREFIX`], as rows of `name`.
    pub list: &'static str,
    /// Create database `.0` as a copy of `.1` (nobody may be connected to `.1`).
    pub copy: fn(&str, &str) -> String,
    /// Rename database `.0` to `.1` (nobody may be connected to `.0`).
    pub rename: fn(&str, &str) -> String,
    /// Drop a state, failing rather than ending a session that uses it.
    pub drop: fn(&str) -> String,
    /// Run after the last migration of a trial ([`ScratchDb::open_trial`]): the checks that
    /// migration's own commit would have made (`""`: none).
    pub trial_end: &'static str,
}

/// The server backends' scratch handling (`None`: SQLite, which replays in memory).
pub(crate) fn server_of(backend: Backend) -> Option<&'static ScratchServer> {
    super::own_tables(backend).scratch
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
    /// The URL of the scratch database and the init-sql its connection ran (to reconnect).
    url: Option<DatabaseUrl>,
    init_sql: InitSql,
    /// Where this replay's states are kept and the name key of each prefix (`keys[k]`: the
    /// first `k` migrations), when it may start from one and keep its own.
    states: Option<(StateStore, Vec<String>)>,
    /// A SQLite scratch database copied from a state: its temporary file.
    temp_file: Option<std::path::PathBuf>,
    /// A trial on a saved state itself ([`ScratchDb::open_trial`]): everything it does is in
    /// one transaction, rolled back when it is dropped.
    trial: bool,
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
        if (server.drop_if_abandoned)(admin, &row.name) {
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
        Self::create_with(backend, server, init_sql, None).map(|(s, _)| s)
    }

    /// [`create`](Self::create), starting from the saved state of the longest prefix of the
    /// history whose key is in `history_keys` (`history_keys[k]`: the first `k` migrations),
    /// and able to keep states of its own ([`save_state`](Self::save_state),
    /// [`keep_as_state`](Self::keep_as_state)). Returns how many migrations the database
    /// already holds (0 when no state was found or copying one failed).
    pub fn create_resuming(
        backend: Backend,
        server: Option<&DatabaseUrl>,
        init_sql: &InitSql,
        store: StateStore,
        history_keys: &[String],
    ) -> Result<(ScratchDb, usize), DbError> {
        Self::create_with(backend, server, init_sql, Some((store, history_keys)))
    }

    fn create_with(
        backend: Backend,
        server: Option<&DatabaseUrl>,
        init_sql: &InitSql,
        resume: Option<(StateStore, &[String])>,
    ) -> Result<(ScratchDb, usize), DbError> {
        let Some(kind) = server_of(backend) else {
            let states = resume.map(|(store, history)| {
                let keys: Vec<String> = history
                    .iter()
                    .map(|k| StateStore::name_key(k, ""))
                    .collect();
                (store, keys)
            });
            let mut from = None;
            if let Some((store, keys)) = &states {
                from = (1..keys.len())
                    .rev()
                    .find(|k| store.file(*k, &keys[*k]).is_file())
                    .and_then(|k| copy_state_file(store, k, &keys[k]).map(|temp| (k, temp)));
            }
            let (skip, temp_file) = match from {
                Some((k, temp)) => (k, Some(temp)),
                None => (0, None),
            };
            let url = match &temp_file {
                Some(temp) => DatabaseUrl::new(temp.to_string_lossy().into_owned()),
                None => DatabaseUrl::new(":memory:"),
            };
            let memory = DatabaseUrl::new(":memory:");
            let connect = |url: &DatabaseUrl| {
                Connection::establish_for_set(
                    url,
                    backend,
                    ConnectOptions::default(),
                    init_sql,
                    || {},
                )
            };
            let (conn, skip, temp_file) = match connect(&url) {
                Ok(conn) => (conn, skip, temp_file),
                // The init-sql may not run twice on a copy of a state: replay in full.
                Err(_) if skip > 0 => {
                    if let Some(temp) = &temp_file {
                        let _ = std::fs::remove_file(temp);
                    }
                    let conn = connect(&memory)
                        .map_err(|e| on_scratch(e, "the in-memory scratch database"))?;
                    (conn, 0, None)
                }
                Err(e) => return Err(on_scratch(e, "the in-memory scratch database")),
            };
            let mut scratch = ScratchDb {
                conn,
                owned: None,
                admin: None,
                backend,
                url: None,
                init_sql: init_sql.clone(),
                states,
                temp_file,
                trial: false,
            };
            if scratch.temp_file.is_some() {
                // A throwaway copy: no need to wait for the disk after each migration.
                let _ = scratch.conn.batch_execute("PRAGMA synchronous = OFF");
            }
            return Ok((scratch, skip));
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
        let states = match (resume, &kind.states) {
            (Some((store, history)), Some(sql)) => {
                let version = admin_conn.server_version().unwrap_or_default();
                let keys: Vec<String> = history
                    .iter()
                    .map(|k| StateStore::name_key(k, &version))
                    .collect();
                Some((store, keys, sql))
            }
            _ => None,
        };
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
        (kind.mark_in_use)(&mut admin_conn, &name).map_err(|e| {
            DbError::query(format!("locking the scratch database {name}"), &admin, &e)
        })?;
        // From the longest saved prefix when there is one; a copy that fails (the state went
        // meanwhile) is a full replay instead.
        let mut skip = 0;
        if let Some((store, keys, sql)) = &states {
            let names = list_names(&mut admin_conn, sql.list);
            if let Some((k, template)) = store.find(&names, keys) {
                if admin_conn
                    .batch_execute(&(sql.copy)(&name, template))
                    .is_ok()
                {
                    skip = k;
                }
            }
        }
        if skip == 0 {
            admin_conn
                .batch_execute(&(kind.create)(&name))
                .map_err(|e| {
                    DbError::query(format!("creating the scratch database {name}"), &admin, &e)
                })?;
        }
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
            url: Some(url.clone()),
            init_sql: init_sql.clone(),
            states: states.map(|(store, keys, _)| (store, keys)),
            temp_file: None,
            trial: false,
        };
        let connect = || {
            Connection::establish_for_set(&url, backend, ConnectOptions::default(), init_sql, || {})
        };
        let conn = match connect() {
            Ok(conn) => conn,
            // The set's init-sql may not run twice (a `CREATE SCHEMA` without `IF NOT
            // EXISTS`): on a copy of a state it already ran, so start again from an empty
            // database, as a full replay does.
            Err(_) if skip > 0 => {
                skip = 0;
                let recreated = drop_on(&mut scratch.conn, kind, &name)
                    && scratch.conn.batch_execute(&(kind.create)(&name)).is_ok();
                if !recreated {
                    return Err(DbError::ScratchUrl {
                        url: server.clone(),
                        reason: format!("the scratch database {name} could not be made again"),
                    });
                }
                connect().map_err(|e| on_scratch(e, &format!("the scratch database {name}")))?
            }
            Err(e) => return Err(on_scratch(e, &format!("the scratch database {name}"))),
        };
        scratch.admin = Some(std::mem::replace(&mut scratch.conn, conn));
        scratch.tune_session(kind);
        Ok((scratch, skip))
    }

    /// A trial on the saved state itself, with no copy: when the server keeps states and one
    /// holds at least the first `n - 1` migrations of the history (`history_keys[k]`: the
    /// first `k`), a connection to that state (having run the set's `init_sql`) inside a
    /// transaction that is rolled back when the returned database is dropped, so the state
    /// keeps exactly what it held. The migrations replayed on it run as savepoints of that
    /// transaction; the caller makes sure they behave there as in a transaction of their own
    /// and ends with [`end_trial`](Self::end_trial). Returns how many migrations the state
    /// holds; `None` when there is no such state or it cannot be opened (the caller replays as
    /// usual then).
    pub fn open_trial(
        backend: Backend,
        server: Option<&DatabaseUrl>,
        init_sql: &InitSql,
        store: &StateStore,
        history_keys: &[String],
        n: usize,
    ) -> Option<(ScratchDb, usize)> {
        let kind = server_of(backend)?;
        let sql = kind.states.as_ref()?;
        let server = server?;
        #[allow(deprecated)]
        let admin = server.with_database(kind.admin_database)?;
        let mut admin_conn =
            Connection::establish(&admin, backend, ConnectOptions::default()).ok()?;
        let version = admin_conn.server_version().unwrap_or_default();
        let keys: Vec<String> = history_keys
            .iter()
            .map(|k| StateStore::name_key(k, &version))
            .collect();
        let names = list_names(&mut admin_conn, sql.list);
        let (k, state) = store.find(&names, &keys)?;
        if k + 1 < n || !super::states::is_state(state) {
            return None;
        }
        drop(admin_conn);
        #[allow(deprecated)]
        let url = server.with_database(state)?;
        let mut conn = Connection::establish_for_set(
            &url,
            backend,
            ConnectOptions::default(),
            init_sql,
            || {},
        )
        .ok()?;
        conn.begin_transaction().ok()?;
        let scratch = ScratchDb {
            conn,
            owned: None,
            admin: None,
            backend,
            url: Some(url),
            init_sql: init_sql.clone(),
            states: None,
            temp_file: None,
            trial: true,
        };
        Some((scratch, k))
    }

    /// The end of a trial's last migration: the checks its commit would have made. `false`
    /// when they fail (the trial says nothing then; a replay of its own must tell).
    pub fn end_trial(&mut self) -> bool {
        let end = server_of(self.backend)
            .and_then(|kind| kind.states.as_ref())
            .map_or("", |sql| sql.trial_end);
        end.is_empty() || self.conn.batch_execute(end).is_ok()
    }

    /// Keep what the database holds now, the first `k` migrations of the history, as a saved
    /// state, and go on with the same database. On PostgreSQL the copy needs the database
    /// without sessions: this one's session is closed for it and opened again (with the
    /// set's init-sql). A state that cannot be saved is simply not saved.
    pub fn save_state(&mut self, k: usize) -> Result<(), DbError> {
        let Some((store, keys)) = &self.states else {
            return Ok(());
        };
        let Some(key) = keys.get(k).cloned() else {
            return Ok(());
        };
        let store = store.clone();
        let Some(sql) = server_of(self.backend).and_then(|s| s.states.as_ref()) else {
            save_state_file(&mut self.conn, &store, k, &key);
            return Ok(());
        };
        let (Some(admin), Some((_, name)), Some(url)) =
            (self.admin.take(), self.owned.clone(), self.url.clone())
        else {
            return Ok(());
        };
        drop(std::mem::replace(&mut self.conn, admin));
        let state = store.database_name(k, &key);
        if self.conn.batch_execute(&(sql.copy)(&state, &name)).is_ok() {
            evict(&mut self.conn, &store, sql, &state);
        }
        let conn = Connection::establish_for_set(
            &url,
            self.backend,
            ConnectOptions::default(),
            &self.init_sql,
            || {},
        )
        .map_err(|e| on_scratch(e, &format!("the scratch database {name}")))?;
        self.admin = Some(std::mem::replace(&mut self.conn, conn));
        if let Some(kind) = server_of(self.backend) {
            self.tune_session(kind);
        }
        Ok(())
    }

    /// Keep the database, which holds the first `k` migrations of the history, as a saved
    /// state instead of dropping it (PostgreSQL: renamed; SQLite: written to a file).
    pub fn keep_as_state(mut self, k: usize) {
        let Some((store, keys)) = self.states.take() else {
            return;
        };
        let Some(key) = keys.get(k) else {
            return;
        };
        let Some(sql) = server_of(self.backend).and_then(|s| s.states.as_ref()) else {
            save_state_file(&mut self.conn, &store, k, key);
            return;
        };
        let (Some(admin), Some((_, name))) = (self.admin.take(), self.owned.clone()) else {
            return;
        };
        drop(std::mem::replace(&mut self.conn, admin));
        let state = store.database_name(k, key);
        let renamed = self
            .conn
            .batch_execute(&(sql.rename)(&name, &state))
            .is_ok();
        // Not kept: dropped as usual, over the admin connection (or, failing that, by Drop).
        let gone = renamed
            || server_of(self.backend).is_some_and(|kind| drop_on(&mut self.conn, kind, &name));
        if gone {
            self.owned = None;
            if let Ok(mut live) = LIVE.lock() {
                live.retain(|(_, _, n)| *n != name);
            }
        }
        if renamed {
            evict(&mut self.conn, &store, sql, &state);
        }
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

    /// Apply the server's replay session settings (a setting the server refuses is left out).
    fn tune_session(&mut self, kind: &ScratchServer) {
        if !kind.replay_session.is_empty() {
            let _ = self.conn.batch_execute(kind.replay_session);
        }
    }

    /// The scratch database's name (PostgreSQL and MySQL).
    pub fn name(&self) -> Option<&str> {
        self.owned.as_ref().map(|(_, n)| n.as_str())
    }
}

/// Drop every saved state of the sets whose tags are `tags` on the server of `server` (a URL
/// whose database part is ignored): `cache clean`. Returns how many were dropped.
pub fn drop_states(
    backend: Backend,
    server: &DatabaseUrl,
    tags: &[String],
) -> Result<usize, DbError> {
    let Some((kind, sql)) = server_of(backend).and_then(|k| k.states.as_ref().map(|s| (k, s)))
    else {
        return Ok(0);
    };
    #[allow(deprecated)]
    let admin = server
        .with_database(kind.admin_database)
        .ok_or_else(|| DbError::ScratchUrl {
            url: server.clone(),
            reason: "it is not a URL".to_string(),
        })?;
    let mut conn = Connection::establish(&admin, backend, ConnectOptions::default())?;
    let mut dropped = 0;
    for name in list_names(&mut conn, sql.list) {
        let ours = super::states::tag_of(&name).is_some_and(|tag| tags.iter().any(|t| t == tag));
        if ours && conn.batch_execute(&(sql.drop)(&name)).is_ok() {
            dropped += 1;
        }
    }
    Ok(dropped)
}

/// The names a listing query returns (none when it fails).
fn list_names(conn: &mut Connection, sql: &str) -> Vec<String> {
    let q = diesel::sql_query(sql);
    let rows: Vec<NameRow> = with_conn!(conn, c => q.load(c)).unwrap_or_default();
    rows.into_iter().map(|r| r.name).collect()
}

/// Drop the states [`StateStore::evictable`] names; one in use (being copied) stays.
fn evict(admin: &mut Connection, store: &StateStore, sql: &StateSql, saved: &str) {
    let names = list_names(admin, sql.list);
    for name in store.evictable(&names, SystemTime::now(), saved) {
        if super::states::is_state(&name) {
            let _ = admin.batch_execute(&(sql.drop)(&name));
        }
    }
}

/// Copy the SQLite state of `key` to a new temporary file beside it, for one replay.
fn copy_state_file(store: &StateStore, len: usize, key: &str) -> Option<std::path::PathBuf> {
    let temp = store.dir.join(format!(
        "replay-{}-{}.sqlite",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::copy(store.file(len, key), &temp).ok()?;
    Some(temp)
}

/// Write the SQLite database of `conn` to the state file of `key` (a temporary file renamed
/// into place, so a reader never sees half of one), then drop the set's old states.
fn save_state_file(conn: &mut Connection, store: &StateStore, len: usize, key: &str) {
    if std::fs::create_dir_all(&store.dir).is_err() {
        return;
    }
    let target = store.file(len, key);
    // A name of this write alone: threads of one run (a fleet check) save states at once,
    // and one must never rename another's half-written file into place.
    let temp = target.with_extension(format!(
        "{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let literal = temp.to_string_lossy().replace('\'', "''");
    if conn
        .batch_execute(&format!("VACUUM INTO '{literal}'"))
        .is_ok()
        && std::fs::rename(&temp, &target).is_ok()
    {
        store.evict_files(&target);
    } else {
        let _ = std::fs::remove_file(&temp);
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
        if self.trial {
            // Nothing of a trial stays: the state is as it was.
            let _ = self.conn.rollback_transaction();
            return;
        }
        if let Some(temp) = self.temp_file.take() {
            let _ = std::fs::remove_file(temp);
        }
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
    fn threads_saving_one_sqlite_state_at_once_leave_a_whole_file() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::new(tmp.path(), tmp.path(), "app");
        let key = StateStore::name_key("k", "");
        for _ in 0..10 {
            std::thread::scope(|scope| {
                for _ in 0..6 {
                    scope.spawn(|| {
                        let mut s =
                            ScratchDb::create(Backend::Sqlite, None, &InitSql::none()).unwrap();
                        let rows: String = (0..500).map(|i| format!("({i}),")).collect();
                        s.conn
                            .batch_execute(&format!(
                                "CREATE TABLE t (id INTEGER); INSERT INTO t VALUES {}",
                                rows.trim_end_matches(',')
                            ))
                            .unwrap();
                        save_state_file(&mut s.conn, &store, 1, &key);
                    });
                }
            });
            let path = store.file(1, &key);
            let mut conn = Connection::establish(
                &DatabaseUrl::new(path.display().to_string()),
                Backend::Sqlite,
                ConnectOptions::default(),
            )
            .unwrap();
            assert_eq!(conn.count("SELECT COUNT(*) AS n FROM t").unwrap(), 500);
        }
        let left: Vec<_> = std::fs::read_dir(&store.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 1, "{left:?}");
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
