//! Text for people: every line a command prints, and every color, is decided here.
//!
//! The functions take the values commands produce (events while they run, a report at the end)
//! and write them through the [`Printer`]'s channels, which apply `--quiet` and make paths
//! relative. Colors come from `colored`, switched on or off once per process.

use colored::Colorize;

use super::{count, duration, Channel, Printer};
use crate::diagnostic::{Counts, Diagnostic, Severity};
use crate::events::Event;
use crate::generate::NoteKind;
use crate::lint::Level;
use crate::migration::Direction;
use crate::report::*;

/// `warning: …` with a newline.
pub(crate) fn warning(text: &str) -> String {
    format!("{} {text}\n", "warning:".yellow().bold())
}

/// Findings rendered compiler-style, each followed by a blank line.
pub(crate) fn diagnostics(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| paint_diagnostic(&d.render(), d.severity) + "\n")
        .collect()
}

/// Color the first line's `severity[code]` and the `-->`/`|`/`=` gutters of a rendered finding.
pub fn paint_diagnostic(rendered: &str, severity: Severity) -> String {
    let mut out = String::with_capacity(rendered.len() + 32);
    for (i, line) in rendered.lines().enumerate() {
        if i == 0 {
            if let Some(end) = line.find("]: ") {
                let head = &line[..end + 1];
                let head = match severity {
                    Severity::Error => head.red().bold(),
                    Severity::Warning => head.yellow().bold(),
                    Severity::Info => head.cyan().bold(),
                };
                out.push_str(&format!("{head}{}", line[end + 1..].bold()));
            } else {
                out.push_str(line);
            }
        } else if let Some(idx) = line
            .find("--> ")
            .or_else(|| line.find(" | ").map(|i| i + 1))
            .or_else(|| line.find("= help:"))
        {
            let (gutter, rest) = line.split_at(idx);
            if rest.starts_with("--> ") {
                out.push_str(&format!("{}{}{}", gutter, "-->".blue().bold(), &rest[3..]));
            } else if let Some(after) = rest.strip_prefix("= help:") {
                out.push_str(&format!("{}{}{}", gutter, "= help:".cyan().bold(), after));
            } else {
                let (bar, text) = rest.split_at(1);
                let text = if text.trim_start().starts_with('^') {
                    text.red().bold().to_string()
                } else {
                    text.to_string()
                };
                out.push_str(&format!(
                    "{}{}{}",
                    gutter.blue().bold(),
                    bar.blue().bold(),
                    text
                ));
            }
        } else if line.trim_end().ends_with('|') {
            out.push_str(&line.blue().bold().to_string());
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Color a unified diff line by line (the newline stays outside the color codes).
pub fn paint_diff(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() + 64);
    for line in diff.lines() {
        let painted = if line.starts_with("+++") || line.starts_with("---") {
            line.bold().to_string()
        } else if line.starts_with("@@") {
            line.cyan().to_string()
        } else if line.starts_with('+') {
            line.green().to_string()
        } else if line.starts_with('-') {
            line.red().to_string()
        } else {
            line.to_string()
        };
        out.push_str(&painted);
        out.push('\n');
    }
    out
}

fn paint_help(text: &str) -> String {
    text.lines()
        .map(|l| match l.strip_prefix("help:") {
            Some(rest) => format!("{}{}", "help:".cyan().bold(), rest),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn line(p: &Printer, text: impl AsRef<str>) {
    p.write(Channel::Line, &format!("{}\n", text.as_ref()));
}

fn result(p: &Printer, text: impl AsRef<str>) {
    p.write(Channel::Result, &format!("{}\n", text.as_ref()));
}

/// Progress while a command runs.
pub(crate) fn event(p: &Printer, event: Event<'_>) {
    match event {
        Event::SetStarted { set, database } => line(
            p,
            format!("{} {}", set.bold(), database.to_string().dimmed()),
        ),
        Event::WaitingForDatabase { seconds } => line(
            p,
            format!(
                "  {}",
                format!("waiting for the database to accept connections (up to {seconds} s)...")
                    .dimmed()
            ),
        ),
        Event::WaitingForLock => line(
            p,
            format!(
                "  {}",
                "waiting for the migration lock (another process is applying migrations)..."
                    .dimmed()
            ),
        ),
        Event::NothingToRun(direction) => {
            let what = match direction {
                Direction::Up => "  nothing to apply",
                Direction::Down => "  nothing to revert",
            };
            line(p, what.dimmed().to_string())
        }
        Event::Warning(text) => p.write(Channel::Stderr, &warning(text)),
        Event::WouldRun {
            dir_name,
            direction,
        } => {
            let word = match direction {
                Direction::Up => "would apply",
                Direction::Down => "would revert",
            };
            line(p, format!("  {} {dir_name}", word.cyan()))
        }
        Event::Ran {
            dir_name,
            direction,
            took,
            mixed,
        } => {
            let word = match (direction, mixed) {
                (Direction::Up, false) => "applied".green(),
                (Direction::Up, true) => "applied ".green(),
                (Direction::Down, _) => "reverted".yellow(),
            };
            line(
                p,
                format!(
                    "  {word} {dir_name} {}",
                    format!("({})", duration(took)).dimmed()
                ),
            )
        }
        Event::Failed {
            dir_name,
            diagnostic,
            mixed,
        } => {
            let word = if mixed { "failed  " } else { "failed " };
            line(p, format!("  {} {dir_name}", word.red().bold()));
            p.write(
                Channel::Stderr,
                &diagnostics(std::slice::from_ref(diagnostic)),
            );
        }
        Event::Recorded { dir_name } => line(p, format!("  {} {dir_name}", "recorded".cyan())),
    }
}

/// The end of a command.
pub(crate) fn report(p: &Printer, report: Report<'_>) {
    match report {
        Report::List(r) => list(p, r),
        Report::Status(r) => status(p, r),
        Report::Apply(r) => apply(p, r),
        Report::Revert(r) => revert(p, r),
        Report::Check(r) => check(p, r),
        Report::Schema(r) => schema(p, r),
        Report::Generate(r) => generate(p, r),
        Report::Rules(r) => rules(p, r),
        Report::Baseline(r) => baseline(p, r),
        Report::Init(r) => init(p, r),
        Report::Problems(r) => problems(p, r),
        Report::Interrupted(r) => interrupted(p, r),
        Report::Error(r) => error(p, r),
    }
}

fn list(p: &Printer, r: &ListReport) {
    if r.sets.is_empty() {
        line(
            p,
            "no migration sets in this workspace (no member has a diesel.toml or a migrations/ folder)",
        );
    }
    for set in &r.sets {
        let backend = set
            .backend
            .map(|b| b.to_string())
            .unwrap_or_else(|| "backend unknown".to_string());
        let url = match (&set.database, &set.url_origin) {
            (Some(url), Some(origin)) => format!("{url} (from {origin})"),
            (Some(url), None) => url.clone(),
            (None, _) => format!("${} not set", set.database_url_env),
        };
        result(
            p,
            format!("{} {}", set.name.bold(), format!("[{backend}]").dimmed()),
        );
        line(p, format!("  migrations: {}", set.migrations_dir.display()));
        if let Some(schema) = &set.schema_file {
            line(p, format!("  schema:     {}", schema.display()));
        }
        line(p, format!("  database:   {url}"));
        if !set.depends_on.is_empty() {
            line(p, format!("  after:      {}", set.depends_on.join(", ")));
        }
        for m in &set.migrations {
            let mut notes = Vec::new();
            if !m.has_down {
                notes.push("no down.sql");
            }
            if !m.run_in_transaction {
                notes.push("no transaction");
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!("  ({})", notes.join(", "))
            };
            line(p, format!("    {}{}", m.dir_name, notes.dimmed()));
        }
        if set.migrations.is_empty() && !set.has_problems {
            line(p, "    (no migrations yet)".dimmed().to_string());
        }
    }
    if !r.problems.is_empty() {
        p.write(Channel::Stderr, &diagnostics(&r.problems));
    }
}

fn status(p: &Printer, r: &StatusReport) {
    for st in &r.sets {
        let summary = format!(
            "{} applied, {} pending{}",
            st.applied.len(),
            st.pending.len(),
            if st.unknown.is_empty() {
                String::new()
            } else {
                format!(", {} unknown", st.unknown.len())
            }
        );
        result(
            p,
            format!(
                "{} {} {}",
                st.set.bold(),
                st.database.dimmed(),
                format!("({summary})").dimmed()
            ),
        );
        if !st.exists {
            line(
                p,
                "  the database file does not exist yet; `cargo migrate apply` creates it"
                    .dimmed()
                    .to_string(),
            );
        }
        for (version, dir_name) in &st.migrations {
            let out_of_order = st.out_of_order.contains(version);
            let painted = if st.applied.contains(version) {
                "applied".green().to_string()
            } else if out_of_order {
                "pending".yellow().bold().to_string()
            } else {
                "pending".yellow().to_string()
            };
            let note = if out_of_order {
                "  (older than the newest applied migration)"
                    .yellow()
                    .to_string()
            } else {
                String::new()
            };
            line(p, format!("  {painted}  {dir_name}{note}"));
        }
        for v in &st.unknown {
            line(
                p,
                format!(
                    "  {}  {v}  {}",
                    "unknown".red(),
                    "(applied in the database, missing from the folder)".dimmed()
                ),
            );
        }
    }
    if !r.sets.is_empty() {
        let mut summary = if r.pending == 0 {
            "everything is applied".to_string()
        } else {
            format!("{} pending", count(r.pending, "migration"))
        };
        if r.unknown > 0 {
            summary.push_str(&format!(
                "; {} recorded as applied but missing from the folder",
                count(r.unknown, "migration")
            ));
        }
        line(p, summary);
    }
}

fn apply(p: &Printer, r: &ApplyReport) {
    if r.dry_run {
        let n: usize = r.sets.iter().map(|s| s.pending.len()).sum();
        result(
            p,
            format!(
                "dry run: {} would be applied; nothing was changed",
                count(n, "migration")
            ),
        );
    } else if r.ok {
        let n: usize = r.sets.iter().map(|s| s.applied.len()).sum();
        result(
            p,
            if n == 0 {
                "nothing to apply: every migration is applied".to_string()
            } else {
                format!("applied {}", count(n, "migration"))
            },
        );
    }
}

fn revert(p: &Printer, r: &RevertReport) {
    let redo = r.command == "redo";
    if let Some(versions) = &r.versions {
        result(
            p,
            format!(
                "dry run: {} would be {}; nothing was changed",
                count(versions.len(), "migration"),
                if redo { "redone" } else { "reverted" }
            ),
        );
    } else if r.ok {
        let reverted = r
            .steps
            .iter()
            .flatten()
            .filter(|s| s.direction == Some(Direction::Down))
            .count();
        result(
            p,
            if redo {
                format!("redid {}", count(reverted, "migration"))
            } else {
                format!("reverted {}", count(reverted, "migration"))
            },
        );
    }
}

fn check(p: &Printer, r: &CheckReport) {
    for set in &r.sets {
        let counts = Counts::of(&set.findings);
        let visible: Vec<Diagnostic> = set
            .findings
            .iter()
            .filter(|d| d.severity != Severity::Info || p.verbose > 0)
            .cloned()
            .collect();
        if visible.is_empty() {
            let what = if set.schema_checked {
                ", schema matches"
            } else {
                ""
            };
            line(
                p,
                format!(
                    "{} {} {}",
                    "ok".green().bold(),
                    set.set.bold(),
                    format!("({}{what})", count(set.migrations, "migration")).dimmed()
                ),
            );
            continue;
        }
        let status = if counts.errors > 0 {
            "FAIL".red().bold()
        } else if counts.warnings > 0 {
            "warn".yellow().bold()
        } else {
            "ok".green().bold()
        };
        line(
            p,
            format!(
                "{status} {} {}",
                set.set.bold(),
                format!(
                    "({}, {}, {})",
                    count(set.migrations, "migration"),
                    count(counts.errors, "error"),
                    count(counts.warnings, "warning")
                )
                .dimmed()
            ),
        );
        p.write(Channel::Result, &diagnostics(&visible));
        for d in &set.drift {
            p.write(Channel::Detail, &(paint_diff(&d.diff) + "\n"));
        }
    }
    let failed = !r.ok;
    result(
        p,
        format!(
            "{}: {}, {}, {}",
            if failed {
                "check failed".red().bold().to_string()
            } else {
                "check passed".green().bold().to_string()
            },
            count(r.sets.len(), "set"),
            count(r.errors, "error"),
            count(r.warnings, "warning")
                + if r.deny_warnings && r.warnings > 0 {
                    " (denied)"
                } else {
                    ""
                }
        ),
    );
}

fn schema(p: &Printer, r: &SchemaReport) {
    for s in &r.sections {
        match s.outcome {
            WriteOutcome::Printed => p.write(Channel::Result, &s.schema),
            WriteOutcome::Unchanged | WriteOutcome::Written => {
                let file = s
                    .file
                    .as_ref()
                    .map(|f| f.display().to_string())
                    .unwrap_or_default();
                let what = if s.outcome == WriteOutcome::Written {
                    "(written)".green()
                } else {
                    "(unchanged)".dimmed()
                };
                line(p, format!("{} {file} {what}", s.set.bold()));
            }
        }
    }
}

fn generate(p: &Printer, r: &GenerateReport) {
    let Some(_) = &r.created else {
        let file = r
            .schema_file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        result(
            p,
            format!(
                "{} {file} matches the schema the migrations produce; no migration created",
                r.set.bold()
            ),
        );
        return;
    };
    for f in &r.files {
        line(p, format!("{} {}", "Created".green().bold(), f.display()));
    }
    if r.diff_schema {
        let file = r
            .schema_file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        line(
            p,
            format!("{} from {file}:", count(r.changes.len(), "change")),
        );
        for c in &r.changes {
            line(p, format!("  {c}"));
        }
        for n in &r.notes {
            match n.kind {
                NoteKind::DataLoss => p.warn(format!("data loss: {}", n.message)),
                NoteKind::Todo => p.warn(format!("TODO: {}", n.message)),
                NoteKind::Info => line(p, format!("{} {}", "note:".cyan().bold(), n.message)),
            }
        }
    }
    let set = &r.set;
    let next = if r.diff_schema {
        format!("review both files (resolve every TODO), then run `cargo migrate check -p {set}` and `cargo migrate apply -p {set}`")
    } else {
        format!("write the SQL into both files, then run `cargo migrate apply -p {set}`")
    };
    line(p, format!("{} {next}", "next:".bold()));
}

fn rules(p: &Printer, r: &RulesReport) {
    let width = r.rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
    for rule in &r.rules {
        let level = match rule.default_level {
            Level::Deny => "deny ".red().to_string(),
            Level::Warn => "warn ".yellow().to_string(),
            Level::Allow => "allow".dimmed().to_string(),
        };
        let backends: Vec<&str> = rule.backends.iter().map(|b| b.as_str()).collect();
        line(
            p,
            format!(
                "{:width$}  {level}  {}  {}",
                rule.id,
                rule.summary,
                format!("[{}]", backends.join(", ")).dimmed()
            ),
        );
    }
    line(p, format!("\n{} rules; docs/rules/<id>.md explains each. Levels are set in [workspace.metadata.migrate.lint] or [package.metadata.migrate.lint].", r.rules.len()));
}

fn baseline(p: &Printer, r: &BaselineReport) {
    for diff in &r.diffs {
        p.write(Channel::StderrDetail, &paint_diff(diff));
    }
    let set = &r.set;
    let to = &r.to;
    if !r.ok {
        p.write(
            Channel::Stderr,
            &format!(
                "{} set `{set}`: the database's schema differs from the schema of the history up to {to} (diff above); nothing was recorded\n{} make the database match (or choose the VERSION it matches), or pass --force to record the migrations anyway\n",
                "error:".red().bold(),
                "help:".cyan().bold()
            ),
        );
        return;
    }
    if r.forced && !r.schema_matches {
        p.warn(format!(
            "set `{set}`: recording migrations although the schema differs (--force)"
        ));
    }
    result(
        p,
        format!(
            "baseline: recorded {} as applied without running {}",
            count(r.recorded.len(), "migration"),
            if r.recorded.len() == 1 { "it" } else { "them" }
        ),
    );
}

fn init(p: &Printer, r: &InitReport) {
    for (f, written) in &r.files {
        if *written {
            line(p, format!("  {} {}", "wrote".green(), f.display()));
        } else {
            line(
                p,
                format!(
                    "  {} {} {}",
                    "kept ".yellow(),
                    f.display(),
                    "(exists; not overwritten)".dimmed()
                ),
            );
        }
    }
    result(
        p,
        format!(
            "init: wrote {}, left {} as they were",
            r.written.len(),
            r.kept.len()
        ),
    );
}

fn problems(p: &Printer, r: &ProblemsReport) {
    p.write(Channel::Stderr, &diagnostics(&r.problems));
    if r.folder_problems {
        p.write(
            Channel::Stderr,
            &format!(
                "{} {} in migration folders; nothing was run\nhelp: fix the files named above, then run `cargo migrate {}` again\n",
                "error:".red().bold(),
                count(r.problems.len(), "problem"),
                r.command
            ),
        );
    }
}

fn interrupted(p: &Printer, r: &InterruptedReport) {
    let mut msg = format!("interrupted: set `{}`", r.set);
    if let Some(running) = &r.rolled_back {
        msg.push_str(&format!(": {running} was stopped and rolled back"));
        if r.partial_possible {
            msg.push_str(" (MySQL commits DDL statements one by one: statements of it that ran before the stop may remain)");
        }
    }
    let not_run: Vec<String> = r.rolled_back.iter().chain(&r.not_run).cloned().collect();
    msg.push_str(&format!(
        "\n  done before the stop: {}\n  not run: {}",
        if r.done.is_empty() {
            "none".to_string()
        } else {
            r.done.join(", ")
        },
        if not_run.is_empty() {
            "none".to_string()
        } else {
            not_run.join(", ")
        }
    ));
    msg.push_str(&format!(
        "\nhelp: {}\n",
        match r.command {
            "apply" => "run `cargo migrate apply` again to continue",
            _ => "`cargo migrate status` shows where the database stands; run the command again to continue",
        }
    ));
    p.write(Channel::Always, &msg);
}

fn error(p: &Printer, r: &ErrorReport) {
    let mut text = String::new();
    let mut chain = r.chain.iter();
    if let Some(first) = chain.next() {
        text.push_str(&format!("{} {}", "error:".red().bold(), paint_help(first)));
    }
    let causes: Vec<&String> = chain.collect();
    if !causes.is_empty() {
        text.push_str("\n\nCaused by:");
        for c in causes {
            text.push_str(&format!("\n    {}", paint_help(c)));
        }
    }
    text.push('\n');
    p.write(Channel::Always, &text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_without_colors_is_identity() {
        colored::control::set_override(false);
        let d = Diagnostic::lint("x", Severity::Error, "y")
            .with_file("f.sql")
            .with_location(1, 1)
            .with_source_line("SELECT 1;", 6);
        let text = d.render();
        assert_eq!(paint_diagnostic(&text, Severity::Error), text);
        assert_eq!(paint_diff("--- a\n+b\n"), "--- a\n+b\n");
    }
}
