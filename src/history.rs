//! The schema a set's migration history produces: replay on a scratch database, introspect,
//! render each `[print_schema]` section as diesel print-schema would, with the cache in front.
//!
//! `schema`, `check`, `generate --diff-schema`, `baseline` and `diff` all ask this one service,
//! for the whole history, for the migrations a database has applied, or for the history up to
//! a version ([`Upto`]). [`SetHistory::expected`] also reads the replayed database's whole
//! catalog (for drift beyond `table!`), from the same replay. A warm cache answers without
//! touching a database.

use crate::backend::Backend;
use crate::cache::field;
use crate::cache::{self, SchemaCache};
use crate::catalog::Catalog;
use crate::db::introspect::IntrospectError;
use crate::db::run::{refuse_empty, Step};
use crate::db::scratch::ScratchDb;
use crate::db::states::StateStore;
use crate::db::{Connection, DbError};
use crate::diagnostic::{Diagnostic, Problem};
use crate::failure::{FailureContext, MigrationFailure};
use crate::migration::{Direction, Migration};
use crate::schema::{render, RenderedSection};
use crate::settings::{Resolved, SetContext};
use sha2::{Digest, Sha256};

/// The state a finished replay keeps once its database has been read: `Some(k)`, the state of
/// its first `k` migrations (all of them).
#[must_use]
struct Keep(Option<usize>);

impl Keep {
    fn finish(self, scratch: ScratchDb) {
        if let Some(k) = self.0 {
            scratch.keep_as_state(k);
        }
    }
}

/// What `cache clean` removed of the saved replay states (see [`crate::db::states`]).
#[derive(Debug, Default)]
pub struct StatesCleaned {
    /// SQLite state files deleted, and their bytes.
    pub files: usize,
    /// Bytes of those files.
    pub bytes: u64,
    /// Databases dropped on scratch servers.
    pub databases: usize,
    /// Servers that could not be reached, as `set: error` lines.
    pub unreachable: Vec<String>,
}

/// Delete every saved replay state of the workspace's sets: the SQLite files under
/// `target/`, and the state databases on each set's scratch server.
pub fn clean_states(resolved: &Resolved) -> std::io::Result<StatesCleaned> {
    let ws = &resolved.workspace;
    let mut out = StatesCleaned::default();
    let dir = crate::db::states::states_dir(&ws.target_dir);
    match std::fs::read_dir(&dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry?;
                let meta = entry.metadata()?;
                if meta.is_file() {
                    out.bytes += meta.len();
                    out.files += 1;
                    std::fs::remove_file(entry.path())?;
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut servers: Vec<(Backend, crate::database_url::DatabaseUrl, Vec<String>)> = Vec::new();
    for ctx in &resolved.sets {
        let Some(backend) = ctx.backend() else {
            continue;
        };
        let Some(server) = resolved.scratch_server(ctx, backend) else {
            continue;
        };
        let tag = StateStore::new(&ws.target_dir, &ws.root, ctx.name()).set_tag;
        match servers
            .iter_mut()
            .find(|(b, u, _)| *b == backend && u.expose() == server.expose())
        {
            Some((_, _, tags)) => tags.push(tag),
            None => servers.push((backend, server, vec![tag])),
        }
    }
    for (backend, server, tags) in servers {
        match crate::db::scratch::drop_states(backend, &server, &tags) {
            Ok(n) => out.databases += n,
            Err(e) => out.unreachable.push(e.to_string()),
        }
    }
    Ok(out)
}

/// Which part of the history to render.
#[derive(Debug, Clone, Copy)]
pub enum Upto<'a> {
    /// Every migration of the folder.
    All,
    /// The migrations whose versions a database records as applied.
    Applied(&'a [String]),
    /// The migrations up to and including this version.
    Version(&'a str),
}

impl Upto<'_> {
    /// The cache entry this part is kept under, so the parts never overwrite each other.
    fn slot(&self) -> &'static str {
        match self {
            Upto::All => "all",
            Upto::Applied(_) => "applied",
            Upto::Version(_) => "baseline",
        }
    }
}

/// Why the schema of a history could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The set's backend is not known.
    #[error("its backend is unknown (no `backend` in {table} and ${env} is not set)\nhelp: add `backend = \"sqlite\"` (or postgres, mysql) to {table} in {}", manifest.display())]
    UnknownBackend {
        /// The variable the URL would come from.
        env: String,
        /// The configuration table to set it in.
        table: String,
        /// The manifest to edit.
        manifest: std::path::PathBuf,
    },
    /// The scratch database could not be created or reached.
    #[error(transparent)]
    Scratch(#[from] DbError),
    /// Files of the history hold no statement: `apply` refuses them, so the replay does too,
    /// before anything runs.
    #[error("{}", .0.first().map(|d| d.message.as_str()).unwrap_or_default())]
    Refused(Vec<Diagnostic>),
    /// A migration failed during the replay.
    #[error("replaying the history failed at {}: {}", .0.0.migration, .0.0.message)]
    Replay(Box<(MigrationFailure, Migration, Option<String>)>),
    /// The replayed database could not be read.
    #[error("reading the replayed schema failed: {0}")]
    Introspect(#[from] IntrospectError),
    /// The schema could not be rendered.
    #[error("rendering the schema failed: {0}")]
    Render(String),
    /// The replayed database's catalog could not be read.
    #[error("reading the replayed catalog failed: {0}")]
    Catalog(#[from] crate::db::catalog::CatalogError),
}

/// Bumped whenever a catalog reader changes what it reads, so cached catalogs of an older
/// reader are never compared with a live database read by a newer one.
const CATALOG_READER: &str = "catalog-2";

impl HistoryError {
    /// Whether this is a finding about the migrations (the history does not replay, or
    /// produces what print-schema cannot print) rather than something that stops the command
    /// (configuration, an unreachable scratch server: exit 2).
    pub fn is_finding(&self) -> bool {
        matches!(
            self,
            HistoryError::Replay(_)
                | HistoryError::Refused(_)
                | HistoryError::Render(_)
                | HistoryError::Introspect(_)
        )
    }

    /// Every finding of a history that could not be rendered: [`HistoryError::diagnostic`],
    /// or one per refused file.
    pub fn diagnostics(&self, set: &str) -> Vec<Diagnostic> {
        match self {
            HistoryError::Refused(found) => found.clone(),
            other => vec![other.diagnostic(set)],
        }
    }

    /// The finding for a history that could not be rendered, naming the set, file and line.
    pub fn diagnostic(&self, set: &str) -> Diagnostic {
        match self {
            HistoryError::Refused(found) if !found.is_empty() => found[0].clone(),
            HistoryError::Replay(boxed) => {
                let (failure, migration, server) = boxed.as_ref();
                let cause = crate::cause::classify(&failure.message);
                failure
                    .diagnostic(set, Some(migration), FailureContext::Replay)
                    .with_help(crate::cause::replay_help(&cause, server.as_deref()))
            }
            other => Diagnostic::error(
                Problem::ReplayFailed,
                format!("the schema of the history could not be rendered: {other}"),
            )
            .with_set(set)
            .with_help(match other {
                HistoryError::Scratch(_) => "check the scratch server (--scratch-url or MIGRATE_SCRATCH_URL, else the set's database URL)",
                HistoryError::UnknownBackend { .. } => "fix the configuration named above",
                _ => "see the message above",
            }),
        }
    }
}

/// The history of one set, ready to render.
pub struct SetHistory<'a> {
    resolved: &'a Resolved,
    ctx: &'a SetContext,
    backend: Backend,
    /// Told `(replayed, total)` after each migration of a replay (a progress line).
    progress: Option<&'a (dyn Fn(usize, usize) + Sync)>,
}

impl<'a> SetHistory<'a> {
    /// The history of `ctx`; its backend must be known.
    pub fn new(resolved: &'a Resolved, ctx: &'a SetContext) -> Result<Self, HistoryError> {
        let backend = ctx.backend().ok_or_else(|| HistoryError::UnknownBackend {
            env: ctx.set.database_url_env.clone(),
            table: ctx.set.config_table(),
            manifest: ctx.set.manifest_path.clone(),
        })?;
        Ok(SetHistory {
            resolved,
            ctx,
            backend,
            progress: None,
        })
    }

    /// Tell `progress` `(replayed, total)` after each migration a replay runs.
    pub fn with_progress(mut self, progress: &'a (dyn Fn(usize, usize) + Sync)) -> Self {
        self.progress = Some(progress);
        self
    }

    /// The set's backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The migrations `upto` selects, oldest first.
    pub fn migrations(&self, upto: Upto<'_>) -> Vec<&'a Migration> {
        let all = self.ctx.folder.migrations.iter();
        match upto {
            Upto::All => all.collect(),
            Upto::Applied(versions) => all.filter(|m| versions.contains(&m.version)).collect(),
            Upto::Version(v) => all.filter(|m| m.version.as_str() <= v).collect(),
        }
    }

    /// Render the schema of `upto`, from the cache when allowed and fresh.
    pub fn render(
        &self,
        upto: Upto<'_>,
        use_cache: bool,
    ) -> Result<Vec<RenderedSection>, HistoryError> {
        let migrations = self.migrations(upto);
        // Before the cache: a history that apply refuses never has a schema.
        self.refuse_empty(&migrations)?;
        let set = &self.ctx.set;
        let cache = SchemaCache::new(&self.resolved.workspace.target_dir);
        let key = cache::key(set, self.backend, &migrations);
        let entry = match upto {
            Upto::All => set.name.clone(),
            other => format!("{}.{}", set.name, other.slot()),
        };
        if use_cache {
            if let Some(hit) = cache.get(&entry, &key) {
                return Ok(hit);
            }
        }
        let (mut scratch, keep) = self.replay_resuming(&migrations, use_cache)?;
        let mut out = self.render_live(&mut scratch.conn)?;
        let server = scratch.conn.server_version();
        for section in &mut out {
            section.replayed_on.clone_from(&server);
        }
        cache.put(&entry, &key, &out);
        keep.finish(scratch);
        Ok(out)
    }

    /// The schema sections (when `with_sections`) and the catalog of `upto`, from one replay,
    /// or from the cache when allowed and both are fresh.
    pub fn expected(
        &self,
        upto: Upto<'_>,
        use_cache: bool,
        with_sections: bool,
    ) -> Result<(Vec<RenderedSection>, Catalog), HistoryError> {
        let migrations = self.migrations(upto);
        let set = &self.ctx.set;
        let cache = SchemaCache::new(&self.resolved.workspace.target_dir);
        let key = cache::key(set, self.backend, &migrations);
        let catalog_key = format!("{key}:{CATALOG_READER}");
        let entry = match upto {
            Upto::All => set.name.clone(),
            other => format!("{}.{}", set.name, other.slot()),
        };
        if use_cache {
            let sections = if with_sections {
                cache.get(&entry, &key)
            } else {
                Some(Vec::new())
            };
            if let (Some(sections), Some(catalog)) =
                (sections, cache.get_catalog(&entry, &catalog_key))
            {
                return Ok((sections, catalog));
            }
        }
        let (mut scratch, keep) = self.replay_resuming(&migrations, use_cache)?;
        let mut sections = Vec::new();
        if with_sections {
            sections = self.render_live(&mut scratch.conn)?;
            let server = scratch.conn.server_version();
            for section in &mut sections {
                section.replayed_on.clone_from(&server);
            }
            cache.put(&entry, &key, &sections);
        }
        let catalog = scratch.conn.catalog()?;
        cache.put_catalog(&entry, &catalog_key, &catalog);
        keep.finish(scratch);
        Ok((sections, catalog))
    }

    /// The catalog of `migrations` (another version of this set's history, such as the one at a
    /// git revision), replayed on a new scratch database; never cached.
    pub fn catalog_of(&self, migrations: &[Migration]) -> Result<Catalog, HistoryError> {
        let mut scratch = self.replay_list(migrations.iter())?;
        Ok(scratch.conn.catalog()?)
    }

    /// Replay `upto` on a new scratch database and hand it over (for callers that read more
    /// than the schema from it).
    pub fn replay(&self, upto: Upto<'_>) -> Result<ScratchDb, HistoryError> {
        self.replay_list(self.migrations(upto))
    }

    fn replay_list<'m>(
        &self,
        migrations: impl IntoIterator<Item = &'m Migration> + Clone,
    ) -> Result<ScratchDb, HistoryError> {
        let list: Vec<&Migration> = migrations.into_iter().collect();
        self.refuse_empty(&list)?;
        let server = self.resolved.scratch_server(self.ctx, self.backend);
        let mut scratch = ScratchDb::create(self.backend, server.as_ref(), &self.ctx.set.init_sql)?;
        self.replay_on(&mut scratch, &list, 0, None)?;
        Ok(scratch)
    }

    /// Replay `list`, with `use_states` from the saved state of its longest unchanged prefix
    /// (see [`crate::db::states`]), saving the state without the newest migration on the way
    /// when there is none. The [`Keep`] keeps the finished database as the state of the whole
    /// list once the caller has read it.
    fn replay_resuming(
        &self,
        list: &[&Migration],
        use_states: bool,
    ) -> Result<(ScratchDb, Keep), HistoryError> {
        if !use_states || list.is_empty() || !self.init_sql_is_session_only() {
            return Ok((self.replay_list(list.iter().copied())?, Keep(None)));
        }
        self.refuse_empty(list)?;
        let server = self.resolved.scratch_server(self.ctx, self.backend);
        let ws = &self.resolved.workspace;
        let store = StateStore::new(&ws.target_dir, &ws.root, self.ctx.name());
        let keys = self.prefix_keys(list);
        let n = list.len();
        // Only the newest migration is new: replay it on the saved state itself, inside a
        // transaction that is rolled back, when it behaves there exactly as in a transaction
        // of its own. Anything the trial cannot vouch for (a failure included) is replayed
        // on a copy of the state, which also gives the failure its report.
        if list.last().is_some_and(|m| {
            m.run_in_transaction && runs_alike_in_a_savepoint(&m.up_sql, self.backend)
        }) {
            if let Some((mut trial, k)) = ScratchDb::open_trial(
                self.backend,
                server.as_ref(),
                &self.ctx.set.init_sql,
                &store,
                &keys,
                n,
            ) {
                if self.replay_on(&mut trial, list, k, None).is_ok() && trial.end_trial() {
                    return Ok((trial, Keep(None)));
                }
            }
        }
        let (mut scratch, skip) = ScratchDb::create_resuming(
            self.backend,
            server.as_ref(),
            &self.ctx.set.init_sql,
            store,
            &keys,
        )?;
        let before_newest = (skip < n - 1).then_some(n - 1);
        self.replay_on(&mut scratch, list, skip, before_newest)?;
        Ok((scratch, Keep((skip < n).then_some(n))))
    }

    /// Whether every statement of the set's init-sql only sets the session (`SET …`): a copy
    /// of a saved state has had it run once already, and a replay that resumes runs it again
    /// (and the one that saves a state on the way opens a second session), which is the same
    /// only for settings. Any other init-sql (`CREATE SCHEMA`, an `INSERT`) means full replays.
    fn init_sql_is_session_only(&self) -> bool {
        self.ctx.set.init_sql.statements.iter().all(|batch| {
            batch
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .all(|s| s.get(..4).is_some_and(|w| w.eq_ignore_ascii_case("set ")))
        })
    }

    /// Replay `list[skip..]` on `scratch` (which holds `list[..skip]`), saving the state of
    /// the first `save_at` migrations when it is reached.
    fn replay_on(
        &self,
        scratch: &mut ScratchDb,
        list: &[&Migration],
        skip: usize,
        save_at: Option<usize>,
    ) -> Result<(), HistoryError> {
        let total = list.len();
        let split = save_at.unwrap_or(total).clamp(skip, total);
        let run = |scratch: &mut ScratchDb, from: usize, to: usize| {
            let report = |n: usize| {
                if let Some(p) = self.progress {
                    p(from + n, total);
                }
            };
            if let Err((failure, m)) =
                scratch.replay_reporting(list[from..to].iter().copied(), &report)
            {
                let m = m.clone();
                let server = scratch.conn.server_version();
                return Err(HistoryError::Replay(Box::new((*failure, m, server))));
            }
            Ok(())
        };
        run(scratch, skip, split)?;
        if let Some(k) = save_at {
            scratch.save_state(k)?;
        }
        run(scratch, split, total)
    }

    /// The key of each prefix of `list` (`keys[k]`: its first `k` migrations), chained so
    /// that each covers everything the replayed database of that prefix depends on: the
    /// tool's version, the backend, the set's init-sql and each migration's folder name,
    /// up.sql and transaction setting.
    fn prefix_keys(&self, list: &[&Migration]) -> Vec<String> {
        let mut keys = Vec::with_capacity(list.len() + 1);
        let mut h = Sha256::new();
        field(&mut h, env!("CARGO_PKG_VERSION").as_bytes());
        field(&mut h, self.backend.as_str().as_bytes());
        for statement in &self.ctx.set.init_sql.statements {
            field(&mut h, statement.as_bytes());
        }
        let mut last = format!("{:x}", h.finalize());
        keys.push(last.clone());
        for m in list {
            let mut h = Sha256::new();
            field(&mut h, last.as_bytes());
            field(&mut h, m.dir_name.as_bytes());
            field(&mut h, m.up_sql.as_bytes());
            field(&mut h, &[u8::from(m.run_in_transaction)]);
            last = format!("{:x}", h.finalize());
            keys.push(last.clone());
        }
        keys
    }

    /// Refuse, as `apply` does before anything runs, migrations whose up.sql holds no
    /// statement (blank or only comments): diesel would record them without running anything
    /// on SQLite (and MySQL, for comments), and fail on PostgreSQL.
    fn refuse_empty(&self, migrations: &[&Migration]) -> Result<(), HistoryError> {
        let steps: Vec<Step> = migrations
            .iter()
            .map(|m| Step {
                migration: m,
                direction: Direction::Up,
            })
            .collect();
        let refused = refuse_empty(self.ctx.name(), self.backend, &steps);
        if refused.is_empty() {
            Ok(())
        } else {
            Err(HistoryError::Refused(refused))
        }
    }

    /// Replay the whole history and read back the schema model for `opts` and the catalog
    /// facts `generate --diff-schema` plans with.
    pub fn replayed_model(
        &self,
        opts: &crate::schema::PrintSchemaOptions,
    ) -> Result<(crate::schema::Schema, crate::generate::HistoryFacts), HistoryError> {
        let mut scratch = self.replay(Upto::All)?;
        let schema = scratch.conn.introspect(opts)?;
        let url = crate::database_url::DatabaseUrl::new(scratch.name().unwrap_or(":memory:"));
        let facts = scratch.conn.history_facts(&url)?;
        Ok((schema, facts))
    }

    /// Render every section from a live connection (a scratch database or a real one).
    pub fn render_live(&self, conn: &mut Connection) -> Result<Vec<RenderedSection>, HistoryError> {
        let set = &self.ctx.set;
        let mut out = Vec::new();
        for (key, opts) in &set.print_schema {
            let schema = conn.introspect(opts)?;
            let text = render(&schema, conn.backend(), opts, &set.format)
                .map_err(|e| HistoryError::Render(e.to_string()))?;
            out.push(RenderedSection {
                key: key.clone(),
                file: opts.file.clone(),
                text,
                replayed_on: None,
            });
        }
        Ok(out)
    }
}

/// Whether a migration run as a savepoint of a longer transaction (a trial on a saved state,
/// rolled back afterwards) does exactly what it does in a transaction of its own, as far as
/// the schema read afterwards in the same session can tell. Not so, and so refused: statements
/// that control the transaction or its settings (`BEGIN`, `COMMIT`, `SAVEPOINT`, `SET LOCAL`,
/// `SET CONSTRAINTS`, `SET TRANSACTION`, `set_config`), `ON COMMIT` actions of temporary
/// tables, and a file the tokenizer cannot read.
fn runs_alike_in_a_savepoint(text: &str, backend: Backend) -> bool {
    let Ok(split) = crate::sql::split(text, backend) else {
        return false;
    };
    let lower = text.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    if words.contains(&"set_config") || words.windows(2).any(|w| w == ["on", "commit"]) {
        return false;
    }
    split.statements.iter().all(|stmt| {
        let head: Vec<String> = split
            .significant(stmt)
            .take(2)
            .map(|t| t.token.to_string().to_ascii_uppercase())
            .collect();
        let first = head.first().map(String::as_str).unwrap_or("");
        let second = head.get(1).map(String::as_str).unwrap_or("");
        let controls = matches!(
            first,
            "BEGIN"
                | "START"
                | "COMMIT"
                | "END"
                | "ROLLBACK"
                | "ABORT"
                | "SAVEPOINT"
                | "RELEASE"
                | "PREPARE"
                | "DISCARD"
        ) || (first == "SET"
            && matches!(second, "LOCAL" | "CONSTRAINTS" | "TRANSACTION" | "SESSION"));
        !controls
    })
}

#[cfg(test)]
mod tests {
    use super::runs_alike_in_a_savepoint;
    use crate::backend::Backend;

    #[test]
    fn only_migrations_that_leave_the_transaction_alone_run_alike_in_a_savepoint() {
        let pg = Backend::Postgres;
        for alike in [
            "CREATE TABLE t (id INT PRIMARY KEY);\nINSERT INTO t VALUES (1);",
            "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql;",
            "DO $$ BEGIN PERFORM 1; END $$;",
            "SET search_path = public;\nCREATE TABLE t (id INT);",
            "-- a note: COMMIT is a word here\nCREATE TABLE t (id INT);",
        ] {
            assert!(runs_alike_in_a_savepoint(alike, pg), "{alike}");
        }
        for unlike in [
            "CREATE TABLE t (id INT);\nCOMMIT;",
            "BEGIN;\nCREATE TABLE t (id INT);\nEND;",
            "SAVEPOINT s;\nCREATE TABLE t (id INT);\nROLLBACK TO s;",
            "SET LOCAL search_path = other;\nCREATE TABLE t (id INT);",
            "set constraints all immediate;",
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;",
            "SELECT set_config('search_path', 'other', true);",
            "CREATE TEMP TABLE x (id INT) ON COMMIT DROP;",
            "PREPARE TRANSACTION 'x';",
        ] {
            assert!(!runs_alike_in_a_savepoint(unlike, pg), "{unlike}");
        }
    }
}
