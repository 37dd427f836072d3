//! `cargo migrate schema [--write]`: the schema.rs a set's migration history produces, as
//! `diesel print-schema` would print it with the same diesel.toml, from a replay on a scratch
//! database. `--write` updates the schema file(s) atomically.

use std::path::Path;

use colored::Colorize;
use serde_json::json;

use super::{stop_on_problems, Outcome};
use crate::backend::Backend;
use crate::cache::{self, SchemaCache};
use crate::db::harness::MigrationFailure;
use crate::db::history::{self, HistoryError, RenderedSection};
use crate::db::scratch::ReplayError;
use crate::diagnostic::Diagnostic;
use crate::output::Printer;
use crate::settings::{Resolved, SetContext};

/// The set's backend, or an error saying how to name it.
pub(crate) fn backend_of(ctx: &SetContext) -> anyhow::Result<Backend> {
    ctx.backend().ok_or_else(|| {
        anyhow::anyhow!(
            "set `{}`: its backend is unknown (no `backend` in [package.metadata.migrate] and ${} is not set)\nhelp: add `backend = \"sqlite\"` (or postgres, mysql) to [package.metadata.migrate] in {}",
            ctx.set.name,
            ctx.set.database_url_env,
            ctx.set.manifest_path.display()
        )
    })
}

/// Render a set's whole history, from the cache when allowed and fresh.
pub(crate) fn rendered(
    resolved: &Resolved,
    ctx: &SetContext,
    use_cache: bool,
) -> Result<Vec<RenderedSection>, HistoryError> {
    rendered_for(resolved, ctx, &ctx.folder.migrations, use_cache, "all")
}

/// Render the schema `migrations` (a prefix or subset of the set's history) produce. `slot`
/// names the cache entry, so the whole history and, say, the applied part are kept apart.
pub(crate) fn rendered_for(
    resolved: &Resolved,
    ctx: &SetContext,
    migrations: &[crate::migration::Migration],
    use_cache: bool,
    slot: &str,
) -> Result<Vec<RenderedSection>, HistoryError> {
    let backend = backend_of(ctx).map_err(|e| HistoryError::Config(e.to_string()))?;
    let sections = history::sections(&ctx.set)?;
    let fmt = history::format_config(&ctx.set, &resolved.workspace.root)?;
    let cache = SchemaCache::new(&resolved.workspace.target_dir);
    let key = cache::key(&ctx.set, backend, migrations, &sections, &fmt);
    let entry = if slot == "all" {
        ctx.set.name.clone()
    } else {
        format!("{}.{slot}", ctx.set.name)
    };
    if use_cache {
        if let Some(hit) = cache.get(&entry, &key) {
            return Ok(hit);
        }
    }
    let server = resolved.scratch_server(ctx, backend);
    let out = history::render_history(backend, server.as_ref(), migrations, &sections, &fmt)?;
    cache.put(&entry, &key, &out);
    Ok(out)
}

/// Whether a rendering error is a finding about the migrations (the history does not replay,
/// or produces what print-schema cannot print) rather than something that stops the command
/// (configuration, an unreachable scratch server: exit 2).
pub(crate) fn is_finding(err: &HistoryError) -> bool {
    matches!(
        err,
        HistoryError::Replay(_) | HistoryError::Render(_) | HistoryError::Introspect(_)
    )
}

/// A history that could not be rendered, as a finding naming the set, file and line.
pub(crate) fn history_diagnostic(
    resolved: &Resolved,
    ctx: &SetContext,
    err: &HistoryError,
) -> Diagnostic {
    match err {
        HistoryError::Replay(ReplayError::Failed(f)) => {
            let failure = MigrationFailure { ..f.clone() };
            let mut d = super::failure_diagnostic(resolved, &ctx.set.name, &failure, 0);
            d.code = "replay-failed".to_string();
            d.message = format!("replaying the history on a scratch database failed at {}: {}", f.migration, f.message);
            d.help = Some("the migrations do not run on an empty database; fix this migration (the scratch database was dropped)".to_string());
            d
        }
        other => Diagnostic::error("replay-failed", format!("the schema of the history could not be rendered: {other}"))
            .with_set(&ctx.set.name)
            .with_help(match other {
                HistoryError::Scratch(_) => "check the scratch server (--scratch-url or MIGRATE_SCRATCH_URL, else the set's database URL)",
                HistoryError::Config(_) => "fix the configuration named above",
                _ => "see the message above",
            }),
    }
}

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

pub fn run(
    resolved: &Resolved,
    printer: &Printer,
    write: bool,
    use_cache: bool,
) -> anyhow::Result<Outcome> {
    if let Some(outcome) = stop_on_problems(resolved, printer, "schema") {
        return Ok(outcome);
    }
    if !write && resolved.sets.len() > 1 {
        let names: Vec<_> = resolved.sets.iter().map(|s| s.set.name.as_str()).collect();
        anyhow::bail!("`schema` prints one set's schema, and {} are selected ({})\nhelp: choose one with -p NAME, or pass --write to update every set's schema file", names.len(), names.join(", "));
    }
    let mut docs = Vec::new();
    for ctx in &resolved.sets {
        let sections = match rendered(resolved, ctx, use_cache) {
            Ok(s) => s,
            Err(err) if !is_finding(&err) => {
                return Err(anyhow::anyhow!("set `{}`: {err}", ctx.set.name))
            }
            Err(err) => {
                let diag = history_diagnostic(resolved, ctx, &err);
                printer.diagnostics(std::slice::from_ref(&diag), true);
                printer.json(&json!({ "command": "schema", "ok": false, "problems": [diag] }));
                return Ok(Outcome::Failure);
            }
        };
        for section in &sections {
            if write {
                let Some(file) = &section.file else {
                    printer.warn(format!(
                        "set `{}`: [print_schema{}] has no `file`, nothing to write",
                        ctx.set.name,
                        if section.key == "default" {
                            String::new()
                        } else {
                            format!(".{}", section.key)
                        }
                    ));
                    continue;
                };
                let current = std::fs::read_to_string(file).unwrap_or_default();
                if crate::diff::same(&current, &section.text)
                    && current.ends_with('\n') == section.text.ends_with('\n')
                {
                    printer.line(format!(
                        "{} {} {}",
                        ctx.set.name.bold(),
                        resolved.show(file).display(),
                        "(unchanged)".dimmed()
                    ));
                } else {
                    write_atomically(file, &section.text).map_err(|e| {
                        anyhow::anyhow!(
                            "set `{}`: cannot write `{}`: {e}",
                            ctx.set.name,
                            file.display()
                        )
                    })?;
                    printer.line(format!(
                        "{} {} {}",
                        ctx.set.name.bold(),
                        resolved.show(file).display(),
                        "(written)".green()
                    ));
                }
            } else if printer.human() {
                print!("{}", section.text);
            }
            docs.push(json!({ "set": ctx.set.name, "section": section.key, "file": section.file.as_ref().map(|f| resolved.show(f)), "schema": section.text }));
        }
    }
    printer.json(&json!({ "command": "schema", "ok": true, "written": write, "sections": docs }));
    Ok(Outcome::Success)
}
