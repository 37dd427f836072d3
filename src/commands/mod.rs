//! One module per command. Each takes resolved settings and a [`Printer`], does its work, and
//! returns an [`Outcome`]; `Err` means the command could not run at all.

pub mod apply;
pub mod baseline;
pub mod check;
pub mod generate;
pub mod init;
pub mod list;
pub mod revert;
pub mod rules;
pub mod schema;
pub mod status;

use serde_json::json;

use crate::db::harness::MigrationFailure;
use crate::db::{ConnectOptions, Connection, DbError};
use crate::diagnostic::Diagnostic;
use crate::output::Printer;
use crate::settings::{Resolved, SetContext};

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
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failure => 1,
            Outcome::Unusable => 2,
            Outcome::Interrupted => 130,
        }
    }
}

/// Print folder problems and stop before anything runs (exit 2), or go on.
pub(crate) fn stop_on_problems(
    resolved: &Resolved,
    printer: &Printer,
    command: &str,
) -> Option<Outcome> {
    let problems = resolved.problems();
    if problems.is_empty() {
        return None;
    }
    printer.diagnostics(&problems, true);
    if printer.human() {
        eprintln!(
            "{} {} in migration folders; nothing was run\nhelp: fix the files named above, then run `cargo migrate {command}` again",
            colored::Colorize::bold(colored::Colorize::red("error:")),
            count(problems.len(), "problem"),
        );
    }
    printer.json(&json!({ "command": command, "ok": false, "problems": problems }));
    Some(Outcome::Unusable)
}

/// `1 migration`, `3 migrations`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Normalise `--to`: a version, or a migration folder name.
pub fn normalise_version(to: &str) -> String {
    let head = to.split('_').next().unwrap_or(to);
    head.replace('-', "")
}

/// Check every set's URL before anything runs; all problems in one error.
pub(crate) fn require_urls(resolved: &Resolved) -> anyhow::Result<()> {
    let errors: Vec<String> = resolved
        .sets
        .iter()
        .filter_map(|ctx| {
            ctx.require_url(&resolved.workspace.root)
                .err()
                .map(|e| e.to_string())
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(errors.join("\n"))
    }
}

/// Connect, keeping the typed error (for callers that treat some errors as states).
pub(crate) fn connect_raw(
    resolved: &Resolved,
    ctx: &SetContext,
    opts: ConnectOptions,
) -> Result<Connection, DbError> {
    let (url, backend) = ctx
        .require_url(&resolved.workspace.root)
        .map_err(|e| DbError::Config(e.to_string()))?;
    Connection::establish(&url, backend, opts)
}

/// A connection error as one line naming the set and where its URL came from.
pub(crate) fn describe_connect_error(ctx: &SetContext, err: DbError) -> anyhow::Error {
    let source = ctx
        .url
        .as_ref()
        .map(|(_, s)| s.to_string())
        .unwrap_or_default();
    let help = match &err {
        DbError::SqliteMissing { .. } => {
            "run `cargo migrate apply` to create it, or fix the path".to_string()
        }
        _ => format!("check that the server is running and that {source} is right"),
    };
    anyhow::anyhow!("set `{}` ({source}): {err}\nhelp: {help}", ctx.set.name)
}

/// A failed migration as a finding: the file, the line, the database's message, what now.
pub(crate) fn failure_diagnostic(
    resolved: &Resolved,
    set: &str,
    f: &MigrationFailure,
    earlier: usize,
) -> Diagnostic {
    let shown = resolved.show(&f.file);
    let mut d = Diagnostic::error(
        "migration-failed",
        format!("migration {} failed: {}", f.migration, f.message),
    )
    .with_set(set)
    .with_file(&shown);
    if let (Some(line), Some(column)) = (f.line, f.column) {
        d = d.with_location(line, column);
        if let Ok(text) = std::fs::read_to_string(&f.file) {
            if let Some(src) = text.lines().nth(line - 1) {
                d = d.with_source_line(src, 1);
            }
        }
    }
    let mut help = Vec::new();
    if let Some(detail) = &f.detail {
        help.push(format!("database detail: {detail}"));
    }
    if let Some(hint) = &f.hint {
        help.push(format!("database hint: {hint}"));
    }
    let kept = match earlier {
        0 => String::new(),
        1 => "; the migration before it stays applied".to_string(),
        n => format!("; the {n} migrations before it stay applied"),
    };
    let again = match f.direction {
        crate::db::harness::Direction::Up => "`apply`",
        crate::db::harness::Direction::Down => "`revert`",
    };
    if f.may_be_partial {
        let which = match (f.statement, f.line) {
            (Some(n), Some(line)) => format!("statement {n} (line {line}) failed; the {} before it ran, and this database commits DDL implicitly, so their DDL stays", count(n - 1, "statement")),
            _ => format!("this database commits DDL statements one by one: statements of {} before the failing one may have been committed", f.migration),
        };
        help.push(format!(
            "{which}{kept}; inspect the database and undo them before running {again} again"
        ));
    } else {
        help.push(format!(
            "{} was rolled back completely{kept}; fix {} and run {again} again",
            f.migration,
            f.direction.file_name()
        ));
    }
    d.with_help(help.join("\n"))
}

/// Run a parsed command.
pub fn execute(
    action: &crate::cli::Action,
    opts: &crate::settings::GlobalOptions,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    use crate::cli::Action;
    if let Action::Rules = action {
        return rules::run(printer);
    }
    let resolved = crate::settings::resolve(opts, &crate::settings::ProcessEnv)?;
    match action {
        Action::Rules => rules::run(printer),
        Action::Schema { write, no_cache } => schema::run(&resolved, printer, *write, !*no_cache),
        Action::Check(o) => check::run(&resolved, o, printer),
        Action::Init => init::run(&resolved, printer),
        Action::Generate(o) => generate::run(&resolved, o, printer),
        Action::Baseline(o) => {
            if resolved.sets.len() != 1 {
                let names: Vec<_> = resolved.sets.iter().map(|s| s.set.name.as_str()).collect();
                anyhow::bail!("`baseline` works on one migration set at a time, and {} are selected ({})\nhelp: choose one with -p NAME", names.len(), names.join(", "));
            }
            baseline::run(&resolved, o, printer)
        }
        Action::List => list::run(&resolved, printer),
        Action::Status { exit_code } => status::run(&resolved, printer, *exit_code),
        Action::Apply(o) => apply::run(&resolved, o, printer),
        Action::Revert(o) => revert::run(&resolved, o, printer),
    }
}
