//! One module per command, each thin: options → services → a typed report → an [`Outcome`].
//!
//! A command takes the resolved settings and the printer, asks the services below it for the
//! work (`state`, `history`, `db::run`, `lint`, `generate`, …), builds its report (see
//! [`crate::report`]) and hands it to the printer. `Err` means the command could not run at
//! all; findings and failed migrations are values in the report. Commands never import each
//! other: what two commands share lives in a service, or in the few helpers below.

pub mod apply;
pub mod baseline;
pub mod check;
pub mod database;
pub mod generate;
pub mod init;
pub mod list;
pub mod revert;
pub mod rules;
pub mod schema;
pub mod status;

use std::path::PathBuf;

use crate::database_url::DatabaseUrl;
use crate::db::run::{RunKind, Step};
use crate::db::{ConnectOptions, Connection, DbError};
use crate::error::SetError;
use crate::events::{Event, Progress};
use crate::migration::Direction;
use crate::output::Printer;
use crate::report::ProblemsReport;
use crate::settings::{GlobalOptions, Resolved, SetContext};

pub use self::apply::ApplyOptions;
pub use self::baseline::BaselineOptions;
pub use self::check::CheckOptions;
pub use self::database::{DatabaseAction, DatabaseOptions};
pub use self::generate::GenerateOptions;
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
    /// `rules`.
    Rules,
    /// `init`.
    Init,
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
            Request::Database(o) => match o.action {
                DatabaseAction::Create => "database create",
                DatabaseAction::Drop => "database drop",
            },
            Request::Rules => "rules",
            Request::Init => "init",
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
    let resolved = crate::settings::resolve(opts, &crate::settings::ProcessEnv)?;
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
        Request::Init => init::run(&resolved, printer),
    }
}

/// Report folder problems and stop before anything runs (exit 2), or go on.
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
