//! `cargo migrate schema [--write]`: the schema.rs a set's migration history produces, as
//! `diesel print-schema` would print it with the same diesel.toml, from a replay on a scratch
//! database. `--write` updates the schema file(s) atomically.
//!
//! `cargo migrate print-schema [--write]` is the same for a live database: the schema of the
//! set's database as it is now (diesel's `print-schema`), rendered with the set's options.

use super::{open, schema_file_differs, stop_on_problems, write_atomically, Opened, Outcome};
use crate::db::ConnectOptions;
use crate::error::SetError;
use crate::history::{HistoryError, SetHistory, Upto};
use crate::output::Printer;
use crate::report::ProblemsReport;
use crate::schema::RenderedSection;
use crate::settings::SetContext;

use crate::output::{Human, Paint, Render};
use crate::settings::Resolved;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Options of `schema`.
#[derive(Debug, Clone, Default)]
pub struct SchemaOptions {
    /// Write the schema file(s) instead of printing.
    pub write: bool,
    /// Replay even when the cache has a fresh entry.
    pub no_cache: bool,
    /// `print-schema`: read the set's database instead of replaying its history.
    pub live: bool,
}

/// `schema`.
pub fn run(
    resolved: &Resolved,
    opts: &SchemaOptions,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    let command = if opts.live { "print-schema" } else { "schema" };
    if let Some(outcome) = stop_on_problems(resolved, printer, command) {
        return Ok(outcome);
    }
    if opts.live {
        resolved.require_urls()?;
    }
    if !opts.write && resolved.sets.len() > 1 {
        let names = resolved.names();
        anyhow::bail!(
            "`{command}` prints one set's schema, and {} are selected ({})\nhelp: choose one with -p NAME, or pass --write to update every set's schema file",
            names.len(),
            names.join(", ")
        );
    }
    if opts.write {
        // One file, several writers: whichever ran last would win.
        let mut writers: std::collections::BTreeMap<&Path, Vec<&str>> = Default::default();
        for ctx in &resolved.sets {
            for (_, section) in &ctx.set.print_schema {
                if let Some(file) = &section.file {
                    writers.entry(file.as_path()).or_default().push(ctx.name());
                }
            }
        }
        if let Some((file, names)) = writers.iter().find(|(_, n)| n.len() > 1) {
            anyhow::bail!(
                "`schema --write` would write `{}` once for each of the sets {}, and the last one would win\nhelp: choose the set whose output the file should hold with -p NAME (the file is checked against the others by declaration, see docs/check.md)",
                file.display(),
                names.join(", ")
            );
        }
    }
    let mut sections = Vec::new();
    for ctx in &resolved.sets {
        let set = ctx.name();
        for note in ctx.set.format.notes() {
            printer.note(format!("set `{set}`: {note}"));
        }
        let rendered = if opts.live {
            Ok(live_sections(resolved, ctx)?)
        } else {
            let step = |done: usize, total: usize| {
                printer.progress(&format!("{set}: replaying {done}/{total}"));
            };
            SetHistory::new(resolved, ctx)
                .and_then(|h| h.with_progress(&step).render(Upto::All, !opts.no_cache))
        };
        let rendered = match rendered {
            Ok(s) => s,
            // What apply refuses before anything runs, the replay refuses too (exit 2).
            Err(HistoryError::Refused(problems)) => {
                printer.report(&ProblemsReport {
                    command: "schema",
                    ok: false,
                    problems,
                    folder_problems: true,
                });
                return Ok(Outcome::Unusable);
            }
            Err(err) if err.is_finding() => {
                printer.report(&ProblemsReport {
                    command,
                    ok: false,
                    problems: vec![err.diagnostic(set)],
                    folder_problems: false,
                });
                return Ok(Outcome::Failure);
            }
            Err(err) => return Err(SetError::new(set, err).into()),
        };
        for section in rendered {
            let mut outcome = WriteOutcome::Printed;
            if opts.write {
                let Some(file) = &section.file else {
                    printer.warn(format!(
                        "set `{set}`: [print_schema{}] has no `file`, nothing to write",
                        if section.key == "default" {
                            String::new()
                        } else {
                            format!(".{}", section.key)
                        }
                    ));
                    continue;
                };
                outcome = if !schema_file_differs(file, &section.text) {
                    WriteOutcome::Unchanged
                } else {
                    write_atomically(file, &section.text).map_err(|e| {
                        SetError::new(set, format!("cannot write `{}`: {e}", file.display()))
                    })?;
                    WriteOutcome::Written
                };
            }
            sections.push(SchemaSection {
                replayed_on: section.replayed_on,
                set: set.to_string(),
                section: section.key,
                file: section.file,
                schema: section.text,
                outcome,
            });
        }
    }
    printer.report(&SchemaReport {
        command,
        ok: true,
        written: opts.write,
        sections,
    });
    Ok(Outcome::Success)
}

/// `print-schema`: the set's database, read now, rendered with the set's options.
fn live_sections(resolved: &Resolved, ctx: &SetContext) -> Result<Vec<RenderedSection>, SetError> {
    let set = ctx.name();
    let (opened, _) = open(ctx, ConnectOptions::default(), &crate::events::Silent)?;
    let mut conn = match opened {
        Opened::Connected(conn) => conn,
        Opened::Missing(path) => {
            return Err(SetError::new(
                set,
                format!(
                    "the database file `{}` does not exist, so it has no schema to print\nhelp: `cargo migrate apply -p {set}` creates it; `cargo migrate schema -p {set}` prints the schema the migrations produce without a database",
                    path.display()
                ),
            ))
        }
    };
    let history = SetHistory::new(resolved, ctx).map_err(|e| SetError::new(set, e))?;
    history
        .render_live(&mut conn)
        .map_err(|e| SetError::new(set, e))
}

// ---------------------------------------------------------------------------------------------
// The report

/// `schema`.
#[derive(Debug, Clone, Serialize)]
pub struct SchemaReport {
    /// `"schema"` or `"print-schema"`.
    pub command: &'static str,
    /// `true`.
    pub ok: bool,
    /// `--write`.
    pub written: bool,
    /// Every section of every set.
    pub sections: Vec<SchemaSection>,
}

/// One rendered section of `schema`.
#[derive(Debug, Clone, Serialize)]
pub struct SchemaSection {
    /// The set's name.
    pub set: String,
    /// The server (or SQLite library) and version the history was replayed on.
    pub replayed_on: Option<String>,
    /// `default` or the section's name.
    pub section: String,
    /// The schema file.
    pub file: Option<PathBuf>,
    /// The schema text.
    pub schema: String,
    /// What `--write` did (human text only).
    #[serde(skip)]
    pub outcome: WriteOutcome,
}

/// What happened to a schema file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteOutcome {
    /// Printed, not written.
    #[default]
    Printed,
    /// The file already held this text.
    Unchanged,
    /// The file was written.
    Written,
}

impl Render for SchemaReport {
    fn human(&self, p: &Human<'_>) {
        let r = self;
        let mut servers: Vec<&str> = Vec::new();
        for s in &r.sections {
            if let Some(v) = s.replayed_on.as_deref() {
                if !servers.contains(&v) {
                    servers.push(v);
                }
            }
        }
        if !servers.is_empty() {
            let header = format!("replayed on {}", servers.join(", "));
            // A printed schema owns stdout (it is redirected into schema.rs).
            if r.written {
                p.line(header.dim());
            } else {
                p.stderr(&format!("{header}\n"));
            }
        }
        for s in &r.sections {
            match s.outcome {
                WriteOutcome::Printed => p.raw(&s.schema),
                WriteOutcome::Unchanged | WriteOutcome::Written => {
                    let file = s
                        .file
                        .as_ref()
                        .map(|f| f.display().to_string())
                        .unwrap_or_default();
                    let what = if s.outcome == WriteOutcome::Written {
                        "(written)".good()
                    } else {
                        "(unchanged)".dim()
                    };
                    p.line(format!("{} {file} {what}", s.set.strong()));
                }
            }
        }
    }
}
