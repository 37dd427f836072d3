//! `cargo migrate schema [--write]`: the schema.rs a set's migration history produces, as
//! `diesel print-schema` would print it with the same diesel.toml, from a replay on a scratch
//! database. `--write` updates the schema file(s) atomically.

use std::path::Path;

use super::{stop_on_problems, Outcome};
use crate::error::SetError;
use crate::history::{SetHistory, Upto};
use crate::output::Printer;
use crate::report::{ProblemsReport, Report, SchemaReport, SchemaSection, WriteOutcome};
use crate::settings::{Resolved, SchemaOptions};

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("rs.cargo-migrate-{}.tmp", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// `schema`.
pub fn run(
    resolved: &Resolved,
    opts: &SchemaOptions,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    if let Some(outcome) = stop_on_problems(resolved, printer, "schema") {
        return Ok(outcome);
    }
    if !opts.write && resolved.sets.len() > 1 {
        let names = resolved.names();
        anyhow::bail!(
            "`schema` prints one set's schema, and {} are selected ({})\nhelp: choose one with -p NAME, or pass --write to update every set's schema file",
            names.len(),
            names.join(", ")
        );
    }
    let mut sections = Vec::new();
    for ctx in &resolved.sets {
        let set = ctx.name();
        let rendered =
            SetHistory::new(resolved, ctx).and_then(|h| h.render(Upto::All, !opts.no_cache));
        let rendered = match rendered {
            Ok(s) => s,
            Err(err) if err.is_finding() => {
                printer.report(Report::Problems(&ProblemsReport {
                    command: "schema",
                    ok: false,
                    problems: vec![err.diagnostic(set)],
                    folder_problems: false,
                }));
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
                let current = std::fs::read_to_string(file).unwrap_or_default();
                outcome = if crate::diff::same(&current, &section.text)
                    && current.ends_with('\n') == section.text.ends_with('\n')
                {
                    WriteOutcome::Unchanged
                } else {
                    write_atomically(file, &section.text).map_err(|e| {
                        SetError::new(set, format!("cannot write `{}`: {e}", file.display()))
                    })?;
                    WriteOutcome::Written
                };
            }
            sections.push(SchemaSection {
                set: set.to_string(),
                section: section.key,
                file: section.file,
                schema: section.text,
                outcome,
            });
        }
    }
    printer.report(Report::Schema(&SchemaReport {
        command: "schema",
        ok: true,
        written: opts.write,
        sections,
    }));
    Ok(Outcome::Success)
}
