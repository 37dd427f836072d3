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
pub mod diff;
pub mod generate;
pub mod init;
pub mod list;
pub mod revert;
pub mod rules;
pub mod schema;
pub mod status;

use std::path::PathBuf;

use crate::database_url::DatabaseUrl;
use crate::db::{ConnectOptions, Connection, DbError};
use crate::error::SetError;
use crate::events::{Event, Progress};
use crate::output::Printer;
use crate::report::ProblemsReport;
use crate::settings::{GlobalOptions, Resolved, SetContext};

pub use self::apply::ApplyOptions;
pub use self::baseline::BaselineOptions;
pub use self::check::CheckOptions;
pub use self::diff::DiffOptions;
pub use self::generate::GenerateOptions;
pub use self::revert::{RevertOptions, RevertTarget};
pub use self::schema::SchemaOptions;
pub use self::status::StatusOptions;
use crate::state::DatabaseState;

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
    Diff(DiffOptions),
    /// `rules`.
    Rules,
    /// `init`.
    Init,
}

impl Request {
    /// The command's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Request::List => "list",
            Request::Status(_) => "status",
            Request::Apply(_) => "apply",
            Request::Revert(o) if o.redo => "redo",
            Request::Revert(_) => "revert",
            Request::Check(_) => "check",
            Request::Schema(_) => "schema",
            Request::Generate(_) => "generate",
            Request::Baseline(_) => "baseline",
            Request::Diff(_) => "diff",
            Request::Rules => "rules",
            Request::Init => "init",
        }
    }
}

/// Run a request.
pub fn execute(
    request: &Request,
    opts: &GlobalOptions,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    if let Request::Rules = request {
        return rules::run(printer);
    }
    let resolved = crate::settings::resolve(opts, &crate::settings::ProcessEnv)?;
    printer.set_root(&resolved.workspace.root);
    match request {
        Request::Rules => rules::run(printer),
        Request::List => list::run(&resolved, printer),
        Request::Status(o) => status::run(&resolved, o, printer),
        Request::Apply(o) => apply::run(&resolved, o, printer),
        Request::Revert(o) => revert::run(&resolved, o, printer),
        Request::Check(o) => check::run(&resolved, o, printer),
        Request::Schema(o) => schema::run(&resolved, o, printer),
        Request::Generate(o) => generate::run(&resolved, o, printer),
        Request::Baseline(o) => baseline::run(&resolved, o, printer),
        Request::Diff(o) => diff::run(&resolved, o, printer),
        Request::Init => init::run(&resolved, printer),
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

/// A connection that could not be opened, as an error naming the set and where its URL came
/// from, with the next step.
fn connect_error(ctx: &SetContext, err: DbError) -> SetError {
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
    let connected = Connection::establish_waiting(&url, backend, opts, || {
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
