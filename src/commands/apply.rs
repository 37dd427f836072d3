//! `cargo migrate apply`: run pending migrations, set by set in dependency order.
//!
//! Before anything runs, every selected set's folder is validated and every URL checked, so a
//! problem in the last set stops the run before the first migration. Each set then runs under
//! its migration lock: the pending list is read *after* the lock is taken, so concurrent
//! deploys run each migration exactly once. The first failure stops the run.

use super::{
    open, prepare_databases, read_state, schema_after_migrating, schema_file_line,
    stop_on_problems, DatabaseChange, Opened, Outcome, Prepare, SchemaFileUpdate,
};
use crate::database_url::DatabaseUrl;
use crate::db::run::{self, RunKind, Step};
use crate::db::{ConnectOptions, Connection, Privilege, DIESEL_VERSION_LENGTH};
use crate::error::SetError;
use crate::events::{Event, Progress};
use crate::migration::{Direction, Migration};
use crate::output::Printer;

use crate::diagnostic::Diagnostic;
use crate::failure::MigrationFailure;
use crate::output::{count, Human, Render};
use crate::report::{ProblemsReport, StepReport};
use crate::settings::{Resolved, SetContext};
use crate::state::DatabaseState;
use serde::Serialize;
use std::time::Duration;

/// Options of `apply`.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Apply pending migrations up to and including this version (or folder name).
    pub to: Option<String>,
    /// Print what would run and change nothing.
    pub dry_run: bool,
    /// Retry connecting for this long (a database that is still starting).
    pub wait: Option<Duration>,
    /// How long to wait for another process's migration lock.
    pub lock_timeout: Duration,
    /// `setup` and `database reset`: create (or drop and create) the databases first.
    pub prepare: Option<Prepare>,
    /// `--write-schema`: rewrite each set's schema file from the migrated database.
    pub write_schema: bool,
    /// `--targets` / `--targets-cmd`: apply the one selected set to each of these databases.
    pub fleet: Option<crate::targets::Fleet>,
}

/// Pending migrations older than the newest applied one were probably merged out of order:
/// they run anyway (as diesel runs them), with a warning.
fn warn_out_of_order(
    ctx: &SetContext,
    state: &DatabaseState,
    todo: &[&Migration],
    progress: &dyn Progress,
) {
    let older = state.older_than_applied(todo);
    if older.is_empty() {
        return;
    }
    let newest = state.applied.iter().max().cloned().unwrap_or_default();
    let text = format!(
        "set `{}`: {} older than the newest applied one ({newest}), probably merged out of order: {}",
        ctx.name(),
        if older.len() == 1 {
            "1 pending migration is".to_string()
        } else {
            format!("{} pending migrations are", older.len())
        },
        older.join(", ")
    );
    progress.event(Event::Warning(&text));
}

/// Before anything runs, what no selected set's plan may hold: a pending up.sql with a
/// `cargo-migrate: todo` marker (an error) or with no statement (the returned findings). Only
/// a set whose folder has such a file is connected to here (without creating a SQLite file),
/// to learn whether that migration is pending; both are checked again under the lock.
fn preflight(
    resolved: &Resolved,
    opts: &ApplyOptions,
    to: Option<&str>,
    printer: &Printer,
) -> Result<Vec<Diagnostic>, SetError> {
    let mut out = Vec::new();
    for ctx in &resolved.sets {
        let (_, backend) = ctx.require_url()?;
        // What only the database can tell: a version longer than its versions table holds,
        // and migrations recorded as partially applied (where a failure can leave part of one).
        let ask_database = crate::db::own_tables(backend).partial.is_some()
            || (!backend.is_file_database()
                && ctx
                    .folder
                    .migrations
                    .iter()
                    .any(|m| m.version.chars().count() > DIESEL_VERSION_LENGTH));
        if !ask_database
            && !ctx.folder.migrations.iter().any(|m| {
                run::holds_no_statement(&m.up_sql, backend)
                    || !crate::lint::todo_markers(&m.up_sql).is_empty()
            })
        {
            continue;
        }
        let connect = ConnectOptions {
            create_sqlite: false,
            wait: opts.wait,
        };
        let (opened, url) = open(ctx, connect, printer)?;
        let mut conn = match opened {
            Opened::Connected(conn) => Some(conn),
            Opened::Missing(_) => None,
        };
        if let (Some(conn), false) = (conn.as_mut(), opts.dry_run) {
            // The privileges `apply` needs, asked for as it does under the lock, so that a
            // role that may do neither hears about both.
            conn.versions_table(&url, &[Privilege::Select, Privilege::Insert])
                .map_err(|e| SetError::new(ctx.name(), e).with_origin(ctx.url_origin()))?;
        }
        let state = read_state(resolved, ctx, conn.as_mut(), &url)?;
        let todo = state.pending_upto(&ctx.folder, to);
        refuse_markers(ctx, &todo)?;
        if let Some(conn) = conn.as_mut() {
            check_database(ctx, conn, &url, &todo, None, &crate::events::Silent)?;
        }
        let steps: Vec<Step> = todo
            .iter()
            .map(|m| Step {
                migration: m,
                direction: Direction::Up,
            })
            .collect();
        out.extend(run::refuse_empty(ctx.name(), backend, &steps));
    }
    Ok(out)
}

/// What the database says about a plan before it runs: versions longer than its versions
/// table holds, and migrations it records as partially applied. `table_exists`: whether the
/// versions table exists, when the caller has just looked. An empty plan asks nothing.
fn check_database(
    ctx: &SetContext,
    conn: &mut Connection,
    url: &DatabaseUrl,
    todo: &[&Migration],
    table_exists: Option<bool>,
    progress: &dyn Progress,
) -> Result<(), SetError> {
    if todo.is_empty() {
        return Ok(());
    }
    let in_set = |e| SetError::new(ctx.name(), e).with_origin(ctx.url_origin());
    let exists = match table_exists {
        Some(known) => known,
        None => conn.has_migrations_table().unwrap_or(false),
    };
    let limit = conn.version_limit_known(url, exists).map_err(in_set)?;
    refuse_long_versions(ctx, todo, limit, exists)?;
    let records = conn.partial_records(url).map_err(in_set)?;
    super::refuse_partial(ctx, conn, todo, Direction::Up, &records, progress)
}

/// Refuse the run (exit 2): files that hold no statement, and nothing was run.
fn refuse(problems: Vec<Diagnostic>, printer: &Printer) -> Outcome {
    printer.report(&ProblemsReport {
        command: "apply",
        ok: false,
        problems,
        folder_problems: true,
    });
    Outcome::Unusable
}

/// A pending migration whose up.sql still holds a `cargo-migrate: todo` marker is refused:
/// the SQL next to the marker is a guess nobody has confirmed.
fn refuse_markers(ctx: &SetContext, todo: &[&Migration]) -> Result<(), SetError> {
    let steps: Vec<Step> = todo
        .iter()
        .map(|m| Step {
            migration: m,
            direction: Direction::Up,
        })
        .collect();
    super::refuse_markers(ctx.name(), RunKind::Apply, &steps)
}

/// Pending migrations whose version is longer than diesel's versions table holds (`limit`,
/// read from the database or diesel's definition) are refused: the migration would run, and
/// then recording its version would fail, leaving on MySQL its DDL committed and the
/// migration unrecorded.
fn refuse_long_versions(
    ctx: &SetContext,
    todo: &[&Migration],
    limit: Option<usize>,
    table_exists: bool,
) -> Result<(), SetError> {
    let Some(limit) = limit else {
        return Ok(());
    };
    let long: Vec<String> = todo
        .iter()
        .filter(|m| m.version.chars().count() > limit)
        .map(|m| {
            format!(
                "  {}: its version `{}` is {} characters long",
                m.dir.display(),
                m.version,
                m.version.chars().count()
            )
        })
        .collect();
    if long.is_empty() {
        return Ok(());
    }
    let source = if table_exists {
        "as read from the database"
    } else {
        "as diesel creates it, which `apply` would do"
    };
    Err(SetError::new(
        ctx.name(),
        format!(
            "refusing to apply: diesel's versions table `__diesel_schema_migrations` holds versions of at most {limit} characters ({source}), so {} could run but not be recorded:\n{}\nnothing was applied\nhelp: rename the folder so that its version (the part before the first `_`) has at most {limit} characters, or widen the column (`ALTER TABLE __diesel_schema_migrations ALTER COLUMN version TYPE VARCHAR(n)` on PostgreSQL, `MODIFY version VARCHAR(n) NOT NULL` on MySQL)",
            if long.len() == 1 { "this migration".to_string() } else { format!("these {} migrations", long.len()) },
            long.join("\n")
        ),
    ))
}

/// Apply the pending migrations of one set (or, in a dry run, say what would run).
fn apply_set(
    resolved: &Resolved,
    ctx: &SetContext,
    opts: &ApplyOptions,
    to: Option<&str>,
    printer: &Printer,
) -> Result<ApplySet, SetError> {
    let (url, _) = ctx.require_url()?;
    printer.event(Event::SetStarted {
        set: ctx.name(),
        database: &url,
    });
    let mut report = ApplySet {
        set: ctx.name().to_string(),
        database: url.to_string(),
        ..Default::default()
    };
    let connect = ConnectOptions {
        create_sqlite: !opts.dry_run,
        wait: opts.wait,
    };
    let (opened, url) = open(ctx, connect, printer)?;
    if opts.dry_run {
        // A SQLite file that does not exist yet: everything is pending.
        let mut conn = match opened {
            Opened::Connected(conn) => Some(conn),
            Opened::Missing(_) => None,
        };
        let state = read_state(resolved, ctx, conn.as_mut(), &url)?;
        let todo = state.pending_upto(&ctx.folder, to);
        warn_out_of_order(ctx, &state, &todo, printer);
        for m in &todo {
            printer.event(Event::WouldRun {
                dir_name: &m.dir_name,
                direction: Direction::Up,
            });
        }
        if todo.is_empty() {
            printer.event(Event::NothingToRun(Direction::Up));
        }
        report.pending = todo.iter().map(|m| m.version.clone()).collect();
        return Ok(report);
    }
    let mut conn = match opened {
        Opened::Connected(conn) => conn,
        // Only a dry run opens SQLite without creating the file.
        Opened::Missing(path) => {
            return Err(SetError::new(
                ctx.name(),
                crate::db::DbError::SqliteMissing { path },
            ))
        }
    };
    let outcome = run::locked(&mut conn, &url, opts.lock_timeout, printer, |conn| {
        // Before anything runs: a versions table this role cannot read or write is a
        // permission error, not a history to act on.
        conn.prepare_versions_table(&url, &[Privilege::Select, Privilege::Insert])
            .map_err(|e| SetError::new(ctx.name(), e).with_origin(ctx.url_origin()))?;
        // The table exists now and this role may read and write it: no second look-up.
        let state = super::read_checked_state(resolved, ctx, conn, &url, true)?;
        let todo = state.pending_upto(&ctx.folder, to);
        refuse_markers(ctx, &todo)?;
        check_database(ctx, conn, &url, &todo, Some(true), printer)?;
        warn_out_of_order(ctx, &state, &todo, printer);
        if todo.is_empty() {
            printer.event(Event::NothingToRun(Direction::Up));
        }
        let steps: Vec<Step> = todo
            .iter()
            .map(|m| Step {
                migration: m,
                direction: Direction::Up,
            })
            .collect();
        let outcome = run::run_steps(
            conn,
            &url,
            ctx.name(),
            &ctx.set.init_sql,
            RunKind::Apply,
            &steps,
            printer,
        );
        Ok::<_, SetError>((outcome, todo))
    })
    .map_err(|e| SetError::new(ctx.name(), e))??;
    let (outcome, todo) = outcome;
    report.refused = outcome.refused;
    report.applied = outcome
        .done
        .iter()
        .map(|d| StepReport {
            version: d.version.clone(),
            dir_name: d.dir_name.clone(),
            direction: None,
            duration_ms: d.took.as_secs_f64() * 1000.0,
        })
        .collect();
    if let Some(failed) = outcome.failed {
        // A migration that committed on its own may be recorded although it failed.
        let recorded = failed.failure.recorded == Some(true);
        report.pending = todo[failed.index..]
            .iter()
            .skip(usize::from(recorded))
            .map(|m| m.version.clone())
            .collect();
        report.failure = Some(failed.failure);
    }
    Ok(report)
}

/// `apply`.
pub fn run(resolved: &Resolved, opts: &ApplyOptions, printer: &Printer) -> anyhow::Result<Outcome> {
    if let Some(outcome) = stop_on_problems(resolved, printer, "apply") {
        return Ok(outcome);
    }
    resolved.require_sets("apply")?;
    let to = opts
        .to
        .as_deref()
        .map(|to| resolved.target_version("--to", to))
        .transpose()?;
    // A fleet's URLs are its targets: the set's own URL is not needed.
    if let Some(fleet) = &opts.fleet {
        return run_fleet(resolved, opts, to.as_deref(), fleet, printer);
    }
    resolved.require_urls()?;
    let databases = match &opts.prepare {
        Some(prepare) if !opts.dry_run => match prepare_databases(resolved, prepare, printer)? {
            Some(done) => done,
            None => return Ok(Outcome::Unusable),
        },
        _ => Vec::new(),
    };
    for change in &databases {
        printer.line(change.describe());
    }
    let empty = preflight(resolved, opts, to.as_deref(), printer)?;
    if !empty.is_empty() {
        return Ok(refuse(empty, printer));
    }

    let mut sets = Vec::new();
    let mut ok = true;
    for ctx in &resolved.sets {
        let mut set = apply_set(resolved, ctx, opts, to.as_deref(), printer)?;
        if !set.refused.is_empty() {
            return Ok(refuse(std::mem::take(&mut set.refused), printer));
        }
        ok = set.failure.is_none();
        if ok && !opts.dry_run {
            let write = opts.write_schema || ctx.set.write_schema;
            // The migrations ran whatever happens here: a schema file that cannot be
            // rendered or written is a warning, not a failed apply.
            match schema_after_migrating(resolved, ctx, write) {
                Ok(updates) => set.schema_files = updates,
                Err(e) => printer.warn(format!("the schema file was not compared: {e}")),
            }
        }
        sets.push(set);
        if !ok {
            break;
        }
    }
    printer.report(&ApplyReport {
        command: "apply",
        ok,
        dry_run: opts.dry_run,
        databases,
        sets,
    });
    Ok(if ok {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

/// `apply --targets`: the one selected set on every target, `fleet.jobs` at a time, each
/// under its own migration lock, exactly as a single `apply` runs it. A run stopped part way
/// and started again applies only what is still pending. Failures do not stop the other
/// targets unless `--fail-fast` is given; any failure is exit 1.
fn run_fleet(
    resolved: &Resolved,
    opts: &ApplyOptions,
    to: Option<&str>,
    fleet: &crate::targets::Fleet,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    use super::fleet::{Change, FleetTarget};
    let (ctx, targets) = super::fleet_set(resolved, fleet, "apply --targets")?;
    let quiet = Printer::sink();
    let work = |one: &SetContext, target: &crate::targets::Target| match apply_set(
        resolved, one, opts, to, &quiet,
    ) {
        Ok(set) if !set.refused.is_empty() => FleetTarget::stopped(
            target,
            "failed",
            set.refused
                .iter()
                .map(|d| d.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Ok(set) => FleetTarget::ran(
            Change::Apply,
            target,
            set.applied.iter().map(|s| s.dir_name.clone()).collect(),
            set.failure,
        ),
        Err(e) => FleetTarget::stopped(target, "unreachable", e.to_string()),
    };
    Ok(super::fleet::change_each_target(
        Change::Apply,
        ctx,
        &targets,
        fleet,
        &work,
        printer,
    ))
}

// ---------------------------------------------------------------------------------------------
// The report

/// `apply`.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    /// `"apply"`.
    pub command: &'static str,
    /// `false` when a migration failed.
    pub ok: bool,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `setup` and `database reset`: what was done to each database before migrating.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<DatabaseChange>,
    /// One entry per set worked on.
    pub sets: Vec<ApplySet>,
}

/// One set of `apply`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ApplySet {
    /// The set's name.
    pub set: String,
    /// The database (password hidden).
    pub database: String,
    /// Applied by this run.
    pub applied: Vec<StepReport>,
    /// Would be applied (dry run), or still pending after a failure.
    pub pending: Vec<String>,
    /// The failure that stopped the run.
    pub failure: Option<MigrationFailure>,
    /// Files that hold no statement, found under the lock: nothing of this set ran.
    #[serde(skip)]
    pub refused: Vec<Diagnostic>,
    /// Schema files that differ from the migrated database: rewritten (`--write-schema`) or
    /// left as they are. Left out when none differs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schema_files: Vec<SchemaFileUpdate>,
}

impl Render for ApplyReport {
    fn findings(&self) -> Vec<&Diagnostic> {
        self.sets.iter().flat_map(|s| &s.refused).collect()
    }

    fn human(&self, p: &Human<'_>) {
        let r = self;
        if r.dry_run {
            let n: usize = r.sets.iter().map(|s| s.pending.len()).sum();
            p.result(format!(
                "dry run: {} would be applied; nothing was changed",
                count(n, "migration")
            ));
        } else if r.ok {
            for s in &r.sets {
                for f in &s.schema_files {
                    p.line(schema_file_line(&s.set, f, "apply"));
                }
            }
            let n: usize = r.sets.iter().map(|s| s.applied.len()).sum();
            p.result(if n == 0 {
                "nothing to apply: every migration is applied".to_string()
            } else {
                format!("applied {}", count(n, "migration"))
            });
        }
    }
}
