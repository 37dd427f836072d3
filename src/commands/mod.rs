//! One module per command, each thin: options → services → a typed report → an [`Outcome`].
//!
//! A command takes the resolved settings and the printer, asks the services below it for the
//! work (`state`, `history`, `db::run`, `lint`, `generate`, …), builds its report (see
//! [`crate::report`]) and hands it to the printer. `Err` means the command could not run at
//! all; findings and failed migrations are values in the report. Commands never import each
//! other: what two commands share lives in a service, or in the few helpers below.

pub mod apply;
pub mod baseline;
pub mod bundle;
pub mod check;
pub mod checksum;
pub mod database;
pub mod diff;
pub mod fleet;
pub mod generate;
pub mod init;
pub mod list;
pub mod mark;
pub mod revert;
pub mod rules;
pub mod schema;
pub mod status;

use std::path::{Path, PathBuf};

use crate::database_url::DatabaseUrl;
use crate::db::partial::{self, PartialRecord};
use crate::db::run::{RunKind, Step};
use crate::db::{ConnectOptions, Connection, DbError};
use crate::error::SetError;
use crate::events::{Event, Progress};
use crate::lint::implicit_commit;
use crate::migration::{Direction, Migration};
use crate::output::{Paint, Printer};
use crate::report::ProblemsReport;
use crate::settings::{GlobalOptions, Resolved, SetContext};

pub use self::apply::ApplyOptions;
pub use self::baseline::BaselineOptions;
pub use self::check::CheckOptions;
pub use self::checksum::ChecksumOptions;
pub use self::database::{DatabaseAction, DatabaseOptions};
pub use self::diff::DiffOptions;
pub use self::generate::GenerateOptions;
pub use self::mark::MarkOptions;
pub use self::revert::{RevertOptions, RevertTarget};
pub use self::schema::SchemaOptions;
pub use self::status::StatusOptions;
use crate::state::DatabaseState;
use serde::Serialize;

/// How a command ended; `main` maps it to the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: findings, a failed migration, or pending migrations under `--exit-code`.
    Failure,
    /// Exit 2: could not run; the reason has already been printed.
    Unusable,
    /// Exit 130: interrupted.
    Interrupted,
}

impl Outcome {
    /// The process exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failure => 1,
            Outcome::Unusable => 2,
            Outcome::Interrupted => 130,
        }
    }
}

/// What to run, with plain options.
#[derive(Debug, Clone)]
pub enum Request {
    /// `list`.
    List,
    /// `status`.
    Status(StatusOptions),
    /// `apply`.
    Apply(ApplyOptions),
    /// `revert` and `redo`.
    Revert(RevertOptions),
    /// `check`.
    Check(CheckOptions),
    /// `schema`.
    Schema(SchemaOptions),
    /// `generate`.
    Generate(GenerateOptions),
    /// `baseline`.
    Baseline(BaselineOptions),
    /// `database create|drop`.
    Database(DatabaseOptions),
    /// `mark`.
    Mark(MarkOptions),
    /// `checksum [--record]`.
    Checksum(ChecksumOptions),
    Diff(DiffOptions),
    /// `rules`.
    Rules,
    /// `init`.
    Init,
    /// `bundle --out FILE`.
    Bundle(PathBuf),
    /// `cache clean`.
    CacheClean,
    /// `completions` and `man`: text the CLI layer generated, printed as it is.
    Print(String),
    /// A request the CLI layer could not make sense of: the message, exit 2.
    Unknown(String),
}

impl Request {
    /// The command's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Request::List => "list",
            Request::Status(o) if o.pending_only => "pending",
            Request::Status(_) => "status",
            Request::Apply(_) => "apply",
            Request::Revert(o) if o.redo => "redo",
            Request::Revert(_) => "revert",
            Request::Check(_) => "check",
            Request::Schema(o) if o.live => "print-schema",
            Request::Schema(_) => "schema",
            Request::Generate(_) => "generate",
            Request::Baseline(_) => "baseline",
            Request::Mark(_) => "mark",
            Request::Checksum(_) => "checksum",
            Request::Database(o) => match o.action {
                DatabaseAction::Create => "database create",
                DatabaseAction::Drop => "database drop",
            },
            Request::Diff(_) => "diff",
            Request::Rules => "rules",
            Request::Init => "init",
            Request::Bundle(_) => "bundle",
            Request::CacheClean => "cache clean",
            Request::Print(_) => "print",
            Request::Unknown(_) => "cargo migrate",
        }
    }
}

/// The requests answered without reading the workspace: `rules`, `completions`, `man`.
fn without_workspace(request: &Request, printer: &Printer) -> Option<anyhow::Result<Outcome>> {
    match request {
        Request::Rules => Some(rules::run(printer)),
        Request::Print(text) => {
            printer.document(text);
            Some(Ok(Outcome::Success))
        }
        Request::Unknown(message) => Some(Err(anyhow::anyhow!("{message}"))),
        _ => None,
    }
}

/// Run a request.
pub fn execute(
    request: &Request,
    opts: &GlobalOptions,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    if let Some(answer) = without_workspace(request, printer) {
        return answer;
    }
    let resolved = match &opts.bundle {
        Some(path) => {
            if !matches!(
                request,
                Request::Apply(_)
                    | Request::Status(_)
                    | Request::Revert(_)
                    | Request::Mark(_)
                    | Request::Checksum(_)
                    | Request::Check(_)
            ) {
                anyhow::bail!(
                    "`{}` needs a workspace; with --bundle only apply, status, pending, revert, redo, mark, checksum and check run\nhelp: run it in the workspace the bundle was made from, without --bundle",
                    request.name()
                );
            }
            crate::settings::resolve_bundle(path, opts, &crate::settings::ProcessEnv)?
        }
        None => crate::settings::resolve(opts, &crate::settings::ProcessEnv)?,
    };
    printer.set_root(&resolved.workspace.root);
    match request {
        Request::Rules | Request::Print(_) | Request::Unknown(_) => {
            without_workspace(request, printer).unwrap_or(Ok(Outcome::Unusable))
        }
        Request::List => list::run(&resolved, printer),
        Request::Status(o) => status::run(&resolved, o, printer),
        Request::Apply(o) => apply::run(&resolved, o, printer),
        Request::Revert(o) => revert::run(&resolved, o, printer),
        Request::Check(o) => check::run(&resolved, o, printer),
        Request::Schema(o) => schema::run(&resolved, o, printer),
        Request::Generate(o) => generate::run(&resolved, o, printer),
        Request::Baseline(o) => baseline::run(&resolved, o, printer),
        Request::Database(o) => database::run(&resolved, o, printer),
        Request::Mark(o) => mark::run(&resolved, o, printer),
        Request::Checksum(o) => checksum::run(&resolved, o, printer),
        Request::Diff(o) => diff::run(&resolved, o, printer),
        Request::Init => init::run(&resolved, printer),
        Request::Bundle(out) => bundle::run(&resolved, out, printer),
        Request::CacheClean => {
            let cache = crate::cache::SchemaCache::new(&resolved.workspace.target_dir);
            let cannot = |e: std::io::Error, dir: &std::path::Path| {
                anyhow::anyhow!(
                    "cannot delete the cache in `{}`: {e}\nhelp: delete the folder by hand; nothing in it is needed",
                    dir.display()
                )
            };
            let (files, bytes) = cache.clean().map_err(|e| cannot(e, cache.dir()))?;
            let states = crate::history::clean_states(&resolved).map_err(|e| {
                cannot(
                    e,
                    &crate::db::states::states_dir(&resolved.workspace.target_dir),
                )
            })?;
            printer.report(&crate::report::CacheCleanReport {
                command: "cache clean",
                ok: true,
                dir: cache.dir().to_path_buf(),
                files: files + states.files,
                bytes: bytes + states.bytes,
                state_databases: states.databases,
                unreachable: states.unreachable,
            });
            Ok(Outcome::Success)
        }
    }
}

/// Report folder problems and stop before anything runs (exit 2), or go on.
/// The repository, commit and label of `--base [REF]` (`""`: the merge base with the main
/// branch), for `check` and `diff`.
pub(crate) fn base_revision(
    resolved: &Resolved,
    base: &str,
) -> anyhow::Result<(crate::git::Repo, String, String)> {
    let root = &resolved.workspace.root;
    let repo = crate::git::Repo::discover(root).ok_or_else(|| {
        anyhow::anyhow!(
            "--base needs a git repository, and {} is not in one",
            root.display()
        )
    })?;
    let (commit, label) = if base.is_empty() {
        let c = repo.default_base()?;
        let short = c.chars().take(10).collect::<String>();
        (c, format!("the merge base {short}"))
    } else {
        (repo.resolve(base)?, base.to_string())
    };
    Ok((repo, commit, label))
}

pub(crate) fn stop_on_problems(
    resolved: &Resolved,
    printer: &Printer,
    command: &'static str,
) -> Option<Outcome> {
    let problems = resolved.problems();
    if problems.is_empty() {
        return None;
    }
    printer.report(&ProblemsReport {
        command,
        ok: false,
        problems,
        folder_problems: true,
    });
    Some(Outcome::Unusable)
}

/// The applied migrations of a set whose files changed since they were applied (their
/// recorded checksum differs), and those applied without a recorded checksum (by diesel_cli,
/// or before checksums were recorded), each ascending.
pub(crate) fn applied_checksums(
    ctx: &SetContext,
    conn: &mut Connection,
    url: &DatabaseUrl,
    applied: &[String],
) -> (Vec<String>, Vec<String>) {
    // A role that may not read our table learns nothing from it: every applied migration is
    // then unverified, which is what is known.
    let recorded = crate::db::checksums::read(conn, url).unwrap_or_default();
    let (mut changed, mut unverified) = (Vec::new(), Vec::new());
    for v in applied {
        let Some(m) = ctx.folder.find(v) else {
            continue;
        };
        match recorded.get(v) {
            Some(sum) if *sum != m.checksum() => changed.push(v.clone()),
            Some(_) => {}
            None => unverified.push(v.clone()),
        }
    }
    (changed, unverified)
}

/// The one selected set of a fleet command and its targets, or why there are none.
pub(crate) fn fleet_set<'r>(
    resolved: &'r Resolved,
    fleet: &crate::targets::Fleet,
    command: &'static str,
) -> anyhow::Result<(&'r SetContext, Vec<crate::targets::Target>)> {
    let [ctx] = resolved.sets.as_slice() else {
        return Err(crate::settings::SelectionError::OneSetOnly {
            command,
            names: resolved.names(),
        }
        .into());
    };
    let targets = match &fleet.targets {
        Some(list) => list.read()?,
        None => configured_targets(resolved, ctx)?,
    };
    Ok((ctx, targets))
}

/// The targets a set's `targets-query` lists (`--fleet`), read on the database whose URL is
/// in its `targets-url-env`, read only.
fn configured_targets(
    resolved: &Resolved,
    ctx: &SetContext,
) -> Result<Vec<crate::targets::Target>, crate::targets::TargetsError> {
    use crate::targets::TargetsError;
    let set = &ctx.set;
    let Some(configured) = &set.targets_query else {
        return Err(TargetsError::NotConfigured {
            set: set.name.clone(),
            manifest: set.manifest_path.clone(),
            table: set.config_table(),
        });
    };
    let var = &configured.url_env;
    let control_error = |reason: String| TargetsError::ControlUrl {
        set: set.name.clone(),
        manifest: set.manifest_path.clone(),
        table: set.config_table(),
        var: var.clone(),
        reason,
    };
    let env = crate::settings::ProcessEnv;
    let (url, _) = crate::settings::url_in_var(set, &resolved.workspace.root, var, None, &env)
        .map_err(|e| control_error(e.to_string().lines().next().unwrap_or_default().to_string()))?
        .ok_or_else(|| {
            control_error(format!(
                "${var} is not set (in the environment, {} or the workspace's .env)",
                set.dir.join(".env").display()
            ))
        })?;
    let Some(backend) = url.backend() else {
        return Err(control_error(format!(
            "its value {url} is not a database URL this tool speaks"
        )));
    };
    let query_error = |message: String, help: String| {
        TargetsError::Query(Box::new(crate::targets::QueryFailed {
            set: set.name.clone(),
            manifest: set.manifest_path.clone(),
            table: set.config_table(),
            var: var.clone(),
            url: url.to_string(),
            message,
            help,
        }))
    };
    let rows = crate::db::rows::read_only(&url, backend, &configured.query).map_err(|e| match e {
        crate::db::rows::RowsError::Connect(e) => query_error(
            e.to_string(),
            format!("check that the database is running and that {var} holds its URL"),
        ),
        crate::db::rows::RowsError::Query { message } => query_error(
            message,
            "run the query by hand on that database: it runs in a read-only transaction and returns one row per target, its URL (text), and optionally a schema name".to_string(),
        ),
    })?;
    let rows: Vec<crate::targets::QueryRow> = rows.into_iter().map(|r| r.0).collect();
    let own = ctx
        .require_url()
        .map(|(u, _)| u)
        .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_string());
    let name = set.name.clone();
    crate::targets::from_rows(
        &rows,
        own.as_ref().map_err(String::clone),
        &format!("`targets-query` of set `{name}`"),
        &|n| format!("row {n} of targets-query of set `{name}`"),
    )
}

/// [`for_each_target`] for a command that only reads: every target is read, and the progress
/// line counts them.
pub(crate) fn read_each_target<T: Send>(
    ctx: &SetContext,
    targets: &[crate::targets::Target],
    jobs: usize,
    work: &(dyn Fn(&SetContext, &crate::targets::Target) -> T + Sync),
    printer: &Printer,
) -> Vec<Option<T>> {
    for_each_target(ctx, targets, jobs, work, &|_| false, &|so_far, slowest| {
        let done = so_far.iter().flatten().count();
        printer.progress(&format!(
            "{}: {done}/{} targets read{}",
            ctx.name(),
            targets.len(),
            slowest_suffix(slowest)
        ));
    })
}

/// The target that has been running longest, and for how long: what a progress line names,
/// so that one slow target among hundreds is seen while it runs.
pub(crate) type Slowest<'a> = Option<(&'a crate::targets::Target, std::time::Duration)>;

/// `, slowest running: <target> (<seconds> s)` for a progress line, when one has run for a
/// second or more.
pub(crate) fn slowest_suffix(slowest: Slowest<'_>) -> String {
    match slowest {
        Some((target, took)) if took.as_secs() >= 1 => {
            format!(
                "; slowest running: {} ({} s)",
                target.shown(),
                took.as_secs()
            )
        }
        _ => String::new(),
    }
}

/// Work through a fleet: `work` runs on each target (as the set works on it, see
/// [`target_context`]), `jobs` at a time, and `progress` hears about each finished one with
/// every result so far and the target running longest, and once a second while targets run.
/// Once `stop` says so, no new target is started. The results are in the order the targets
/// were listed; `None` for a target never started.
pub(crate) fn for_each_target<T: Send>(
    ctx: &SetContext,
    targets: &[crate::targets::Target],
    jobs: usize,
    work: &(dyn Fn(&SetContext, &crate::targets::Target) -> T + Sync),
    stop: &(dyn Fn(&T) -> bool + Sync),
    progress: &(dyn Fn(&[Option<T>], Slowest<'_>) + Sync),
) -> Vec<Option<T>> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};
    use std::time::{Duration, Instant};
    let next = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    let workers = jobs.clamp(1, 64).min(targets.len());
    let results: Mutex<Vec<Option<T>>> = Mutex::new(
        std::iter::repeat_with(|| None)
            .take(targets.len())
            .collect(),
    );
    // What each worker is on, since when.
    let running: Mutex<Vec<Option<(usize, Instant)>>> = Mutex::new(vec![None; workers]);
    let slowest = || -> Slowest<'_> {
        let running = running.lock().ok()?;
        let (i, since) = running.iter().flatten().min_by_key(|(_, since)| *since)?;
        Some((targets.get(*i)?, since.elapsed()))
    };
    let left = Mutex::new(workers);
    let all_done = Condvar::new();
    std::thread::scope(|scope| {
        for w in 0..workers {
            let (next, stopped, results, running, left, all_done) =
                (&next, &stopped, &results, &running, &left, &all_done);
            let slowest = &slowest;
            scope.spawn(move || {
                loop {
                    if stopped.load(Ordering::SeqCst) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(target) = targets.get(i) else { break };
                    if let Ok(mut r) = running.lock() {
                        r[w] = Some((i, Instant::now()));
                    }
                    let result = work(&target_context(ctx, target), target);
                    if let Ok(mut r) = running.lock() {
                        r[w] = None;
                    }
                    if stop(&result) {
                        stopped.store(true, Ordering::SeqCst);
                    }
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(result);
                        progress(&r, slowest());
                    }
                }
                if let Ok(mut n) = left.lock() {
                    *n -= 1;
                    all_done.notify_all();
                }
            });
        }
        // Between finished targets, the line still moves: the slowest one's time grows.
        let mut n = left.lock().ok();
        while let Some(guard) = n {
            if *guard == 0 {
                break;
            }
            n = all_done
                .wait_timeout(guard, Duration::from_secs(1))
                .ok()
                .map(|(guard, timeout)| {
                    if timeout.timed_out() {
                        if let Ok(r) = results.lock() {
                            progress(&r, slowest());
                        }
                    }
                    guard
                });
        }
    });
    results.into_inner().unwrap_or_default()
}

/// The set as it works on one target of a fleet: the target's URL, and for a schema-per-tenant
/// target a `search_path` set after the set's init-sql on every connection.
pub(crate) fn target_context(ctx: &SetContext, target: &crate::targets::Target) -> SetContext {
    let mut one = ctx.clone();
    let origin = match &target.schema {
        Some(schema) => format!("{} (schema {schema})", target.origin),
        None => target.origin.clone(),
    };
    one.url = Some((
        target.url.clone(),
        crate::settings::UrlSource::Target { origin },
    ));
    if let Some(schema) = &target.schema {
        one.set.init_sql.statements.push(format!(
            "SET search_path TO \"{}\"",
            schema.replace('"', "\"\"")
        ));
    }
    one
}

/// Write a schema file through a temporary file and a rename, so a reader never sees half.
pub(crate) fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("rs.cargo-migrate-{}.tmp", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Whether writing `text` would change the schema file at `path` (a missing file differs).
pub(crate) fn schema_file_differs(path: &Path, text: &str) -> bool {
    let current = std::fs::read_to_string(path).unwrap_or_default();
    !(crate::diff::same(&current, text) && current.ends_with('\n') == text.ends_with('\n'))
}

/// A schema file after `apply`, `revert` or `redo`, compared with the database just migrated.
#[derive(Debug, Clone, Serialize)]
pub struct SchemaFileUpdate {
    /// The schema file.
    pub file: PathBuf,
    /// `true`: rewritten from the database (`--write-schema`); `false`: it no longer matches
    /// the database, and was left as it is.
    pub written: bool,
}

/// After a set was migrated: each schema file of the set against what its database now holds,
/// rendered as `print-schema` renders it. With `write`, files that differ are rewritten;
/// without, they are reported. A set without a schema file has nothing to compare.
pub(crate) fn schema_after_migrating(
    resolved: &Resolved,
    ctx: &SetContext,
    write: bool,
) -> Result<Vec<SchemaFileUpdate>, SetError> {
    let set = ctx.name();
    if !ctx.set.has_schema() {
        return Ok(Vec::new());
    }
    let (opened, _) = open(ctx, ConnectOptions::default(), &crate::events::Silent)?;
    let Opened::Connected(mut conn) = opened else {
        return Ok(Vec::new());
    };
    let history =
        crate::history::SetHistory::new(resolved, ctx).map_err(|e| SetError::new(set, e))?;
    let sections = history
        .render_live(&mut conn)
        .map_err(|e| SetError::new(set, e))?;
    let mut out = Vec::new();
    for section in sections {
        let Some(file) = section.file else { continue };
        if !schema_file_differs(&file, &section.text) {
            continue;
        }
        if write {
            write_atomically(&file, &section.text).map_err(|e| {
                SetError::new(set, format!("cannot write `{}`: {e}", file.display()))
            })?;
        }
        out.push(SchemaFileUpdate {
            file,
            written: write,
        });
    }
    Ok(out)
}

/// One line about a schema file after migrating.
pub(crate) fn schema_file_line(set: &str, f: &SchemaFileUpdate, command: &str) -> String {
    if f.written {
        format!(
            "{} {} rewritten from the migrated database",
            set.strong(),
            f.file.display()
        )
    } else {
        format!(
            "{} {} no longer matches the migrated database; `cargo migrate {command} --write-schema` or `cargo migrate print-schema -p {set} --write` updates it",
            set.strong(),
            f.file.display()
        )
    }
}

/// What `setup`, `database …` and `apply` do to the sets' databases before migrating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepare {
    /// Create each database that is missing (`setup`, `database create`).
    Create,
    /// Drop each database (`database drop`).
    Drop { yes: bool, allow_remote: bool },
    /// Drop, then create each database (`database reset`).
    Reset { yes: bool, allow_remote: bool },
}

/// What was done to one set's database.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseChange {
    /// The set.
    pub set: String,
    /// The database (password hidden).
    pub database: String,
    /// `created`, `existed`, `dropped` or `missing` (there was nothing to drop); for a
    /// reset, what the drop and then the create did.
    pub done: Vec<&'static str>,
}

impl DatabaseChange {
    /// One line for people.
    pub fn describe(&self) -> String {
        let what: Vec<&str> = self
            .done
            .iter()
            .map(|d| match *d {
                "created" => "created",
                "existed" => "exists already, left as it is",
                "dropped" => "dropped",
                _ => "does not exist, nothing to drop",
            })
            .collect();
        format!("{} {}: {}", self.set, self.database, what.join(", then "))
    }
}

/// Create, drop or reset the selected sets' databases, as `prepare` says. Dropping is refused
/// (the reason printed, `None` returned: exit 2) for a database not on this machine without
/// `--allow-remote`, and without a confirmation: `--yes`, or a yes on a terminal.
pub(crate) fn prepare_databases(
    resolved: &Resolved,
    prepare: &Prepare,
    printer: &Printer,
) -> anyhow::Result<Option<Vec<DatabaseChange>>> {
    use crate::db::lifecycle;
    let mut targets = Vec::new();
    for ctx in &resolved.sets {
        let (url, backend) = ctx.require_url()?;
        targets.push((ctx, url, backend));
    }
    if let Prepare::Drop { yes, allow_remote } | Prepare::Reset { yes, allow_remote } = *prepare {
        let remote: Vec<String> = targets
            .iter()
            .filter(|(_, url, backend)| !lifecycle::is_local(url, *backend))
            .map(|(ctx, url, _)| format!("{} ({url})", ctx.name()))
            .collect();
        if !remote.is_empty() && !allow_remote {
            anyhow::bail!(
                "refusing to drop a database that is not on this machine: {}
help: this is meant for development databases; if you really mean it, pass --allow-remote",
                remote.join(", ")
            );
        }
        if !yes {
            let list: Vec<String> = targets
                .iter()
                .map(|(ctx, url, _)| format!("{} ({url})", ctx.name()))
                .collect();
            let question = format!(
                "Drop {} {}? Everything in {} is lost.",
                if list.len() == 1 {
                    "the database of"
                } else {
                    "the databases of"
                },
                list.join(", "),
                if list.len() == 1 { "it" } else { "them" }
            );
            match printer.confirm(&question) {
                Some(true) => {}
                Some(false) => {
                    printer.stop_message("nothing was dropped");
                    return Ok(None);
                }
                None => anyhow::bail!(
                    "dropping a database needs a confirmation, and this is not a terminal: {}
help: pass --yes to drop without asking",
                    list.join(", ")
                ),
            }
        }
    }
    let mut changes = Vec::new();
    for (ctx, url, backend) in targets {
        let fail = |e: DbError| SetError::new(ctx.name(), e).with_origin(ctx.url_origin());
        let mut done = Vec::new();
        if matches!(prepare, Prepare::Drop { .. } | Prepare::Reset { .. }) {
            done.push(match lifecycle::drop(&url, backend).map_err(fail)? {
                lifecycle::Dropped::Dropped => "dropped",
                lifecycle::Dropped::Missing => "missing",
            });
        }
        if matches!(prepare, Prepare::Create | Prepare::Reset { .. }) {
            done.push(match lifecycle::create(&url, backend).map_err(fail)? {
                lifecycle::Created::Created => "created",
                lifecycle::Created::Existed => "existed",
            });
        }
        changes.push(DatabaseChange {
            set: ctx.name().to_string(),
            database: url.to_string(),
            done,
        });
    }
    Ok(Some(changes))
}

/// A plan that would run a file still holding a `cargo-migrate: todo` marker is refused before
/// anything runs (exit 2): the SQL next to the marker is a guess nobody has confirmed. `apply`
/// checks up.sql files; `revert` the down.sql files it would run, `redo` both.
pub(crate) fn refuse_markers(set: &str, kind: RunKind, steps: &[Step<'_>]) -> Result<(), SetError> {
    let mut lines = Vec::new();
    for step in steps {
        let m = step.migration;
        let (text, path) = match step.direction {
            Direction::Up => (m.up_sql.as_str(), m.up_path()),
            Direction::Down => (m.down_sql.as_deref().unwrap_or_default(), m.down_path()),
        };
        for marker in crate::lint::todo_markers(text) {
            let line = format!(
                "  {}:{}: {}",
                path.display(),
                marker.line,
                if marker.what.is_empty() {
                    "a decision is left open"
                } else {
                    &marker.what
                }
            );
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    if lines.is_empty() {
        return Ok(());
    }
    let (one, many, nothing) = match kind {
        RunKind::Apply => (
            "1 marker in a pending migration is",
            "markers in pending migrations are",
            "nothing was applied",
        ),
        RunKind::Revert => (
            "1 marker in a down.sql to run is",
            "markers in the down.sql files to run are",
            "nothing was reverted",
        ),
        RunKind::Redo => (
            "1 marker in a file to run is",
            "markers in the files to run are",
            "nothing was reverted or applied",
        ),
    };
    Err(SetError::new(
        set,
        format!(
            "refusing to {}: {} still left for a person to decide (`cargo-migrate: todo`):\n{}\n{nothing}\nhelp: make each decision, change the SQL to match and delete the marker; `cargo migrate check` lists every marker",
            kind.command(),
            if lines.len() == 1 {
                one.to_string()
            } else {
                format!("{} {many}", lines.len())
            },
            lines.join("\n")
        ),
    ))
}

/// A connection that could not be opened, as an error naming the set and where its URL came
/// from, with the next step.
fn connect_error(ctx: &SetContext, err: DbError) -> SetError {
    if let DbError::InitSql { .. } = err {
        // Connected: the message names the statement and its help says what to fix.
        return SetError::new(ctx.name(), err).with_origin(ctx.url_origin());
    }
    let help = match &err {
        DbError::SqliteMissing { .. } => {
            "run `cargo migrate apply` to create it, or fix the path".to_string()
        }
        _ => format!(
            "check that the server is running and that {} is right",
            ctx.url_origin()
        ),
    };
    SetError::new(ctx.name(), format!("{err}\nhelp: {help}")).with_origin(ctx.url_origin())
}

/// A set's database: open, or (SQLite only) a file that does not exist yet.
pub(crate) enum Opened {
    /// Connected.
    Connected(Connection),
    /// The SQLite file does not exist (and was not to be created).
    Missing(PathBuf),
}

/// Connect to a set's database, waiting as `opts` says.
pub(crate) fn open(
    ctx: &SetContext,
    opts: ConnectOptions,
    progress: &dyn Progress,
) -> Result<(Opened, DatabaseUrl), SetError> {
    let (url, backend) = ctx.require_url()?;
    let wait = opts.wait.map(|w| w.as_secs()).unwrap_or(0);
    let connected = Connection::establish_for_set(&url, backend, opts, &ctx.set.init_sql, || {
        progress.event(Event::WaitingForDatabase { seconds: wait })
    });
    match connected {
        Ok(conn) => Ok((Opened::Connected(conn), url)),
        Err(DbError::SqliteMissing { path }) => Ok((Opened::Missing(path), url)),
        Err(err) => Err(connect_error(ctx, err)),
    }
}

/// Read where a set's database stands.
pub(crate) fn read_state(
    resolved: &Resolved,
    ctx: &SetContext,
    conn: Option<&mut Connection>,
    url: &DatabaseUrl,
) -> Result<DatabaseState, SetError> {
    let siblings = resolved.sibling_versions(ctx);
    let Some(conn) = conn else {
        return Ok(DatabaseState::new(
            &ctx.folder,
            Vec::new(),
            &siblings,
            false,
        ));
    };
    let recorded = conn
        .applied_versions(url)
        .map_err(|e| SetError::new(ctx.name(), e).with_origin(ctx.url_origin()))?;
    Ok(DatabaseState::new(&ctx.folder, recorded, &siblings, true))
}

/// [`read_state`] on a connection whose versions table was just looked up for this role
/// (`table_exists`, by [`Connection::versions_table`] or, when it was created,
/// [`Connection::prepare_versions_table`]): the versions are read without a second look-up.
pub(crate) fn read_checked_state(
    resolved: &Resolved,
    ctx: &SetContext,
    conn: &mut Connection,
    url: &DatabaseUrl,
    table_exists: bool,
) -> Result<DatabaseState, SetError> {
    let siblings = resolved.sibling_versions(ctx);
    let recorded = if table_exists {
        conn.recorded_versions(url)
            .map_err(|e| SetError::new(ctx.name(), e).with_origin(ctx.url_origin()))?
    } else {
        Vec::new()
    };
    Ok(DatabaseState::new(&ctx.folder, recorded, &siblings, true))
}

/// Migrations of a plan recorded as partially run in `direction` (statements of that file
/// stayed committed when it failed, on MySQL/MariaDB) are refused while the file is the one
/// that ran: running it again would repeat the committed statements. An edited file runs,
/// with a warning naming the earlier run.
pub(crate) fn refuse_partial(
    ctx: &SetContext,
    conn: &mut Connection,
    todo: &[&Migration],
    direction: Direction,
    records: &[PartialRecord],
    progress: &dyn Progress,
) -> Result<(), SetError> {
    let backend = conn.backend();
    let file = direction.file_name();
    let (command, state, undo) = match direction {
        Direction::Up => (
            "apply",
            "partially applied",
            "INSERT INTO __diesel_schema_migrations (version) VALUES",
        ),
        Direction::Down => (
            "revert",
            "partially reverted",
            "DELETE FROM __diesel_schema_migrations WHERE version =",
        ),
    };
    let mut refused = Vec::new();
    for m in todo {
        let Some(record) = records
            .iter()
            .find(|r| r.version == m.version && r.direction == direction)
        else {
            continue;
        };
        let text = match direction {
            Direction::Up => m.up_sql.as_str(),
            Direction::Down => m.down_sql.as_deref().unwrap_or_default(),
        };
        let numbers = record
            .committed
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if record.sql_sha256 != partial::sql_hash(text) {
            let warning = format!(
                "set `{}`: {file} of {} failed part way on {} UTC, leaving {} {numbers} of the {file} that ran then committed; {file} has changed since, so it runs now: it must hold only what was not committed then",
                ctx.name(),
                m.dir_name,
                record.recorded_at,
                if record.committed.len() == 1 { "statement" } else { "statements" },
            );
            progress.event(Event::Warning(&warning));
            continue;
        }
        let statements = implicit_commit::statement_refs(text, backend, &record.committed)
            .iter()
            .map(|s| {
                format!(
                    "    statement {} (line {}) `{}`",
                    s.statement, s.line, s.text
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        // What the database shows now, read rather than assumed: the tables those statements
        // created or dropped.
        let changed = implicit_commit::tables_changed(text, backend, &record.committed);
        let now = if changed.is_empty() {
            String::new()
        } else {
            match conn.table_names() {
                Some(tables) => {
                    let list = changed
                        .iter()
                        .map(|(t, created)| match (tables.contains(t), created) {
                            (true, true) => format!("`{t}` exists"),
                            (false, true) => format!("`{t}` does not exist (undone by hand?)"),
                            (false, false) => format!("`{t}` is gone"),
                            (true, false) => format!("`{t}` exists again (restored by hand?)"),
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!("\n  read from the database now: table {list}")
                }
                None => "\n  the database's tables could not be read".to_string(),
            }
        };
        let record_sql = match direction {
            Direction::Up => format!("{undo} ('{v}')", v = m.version),
            Direction::Down => format!("{undo} '{v}'", v = m.version),
        };
        refused.push(format!(
            "  {}: failed part way on {} UTC; these statements of it are committed and stay in the database:\n{statements}{now}\n  to finish it by hand instead, run the statements after them yourself, then record it: `{record_sql}; DELETE FROM __cargo_migrate_partial WHERE version = '{v}' AND direction = '{dir}';`",
            m.dir.join(file).display(),
            record.recorded_at,
            v = m.version,
            dir = if direction == Direction::Up { "up" } else { "down" },
        ));
    }
    if refused.is_empty() {
        return Ok(());
    }
    Err(SetError::new(
        ctx.name(),
        format!(
            "refusing to {command}: {} {state}, and running {} again would run the committed statements a second time:\n{}\nnothing was changed\nhelp: edit the migration's {file} so that it holds only the statements that were not committed, then run `{command}` again (a changed {file} is run; the record is cleared when it succeeds)",
            if refused.len() == 1 { "1 migration is".to_string() } else { format!("{} migrations are", refused.len()) },
            if refused.len() == 1 { format!("its unchanged {file}") } else { format!("their unchanged {file} files") },
            refused.join("\n")
        ),
    ))
}
