//! `cargo migrate check`: the pre-commit and CI gate.
//!
//! For every selected set, offline: the migration folder is well formed, every migration passes
//! the lint of its backend, and the committed schema file matches what the history produces
//! (replayed on a scratch database, or taken from the cache when nothing changed), shown as a
//! unified diff. Findings are collected for every set before anything is printed; sets replay
//! in parallel. Exit 1 when there is an error (or a warning under `--deny warnings`).

use std::path::PathBuf;

use colored::Colorize;
use serde::Serialize;
use serde_json::json;

use super::{count, Outcome};
use crate::diagnostic::{Counts, Diagnostic, Severity};
use crate::lint::{self, LintConfig, MigrationInput, SqlFile};
use crate::output::Printer;
use crate::settings::{Resolved, SetContext};

/// Options of `check`.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Only the folder checks and the lint: no scratch database at all.
    pub lint_only: bool,
    /// Replay even when the cache has a fresh entry.
    pub no_cache: bool,
    /// Leave the sets' own databases alone even when their URLs are set.
    pub offline: bool,
    /// Warnings fail the check too.
    pub deny_warnings: bool,
    /// `--base [REF]`: check released migrations against this revision (`Some("")` means the
    /// merge base with the main branch).
    pub base: Option<String>,
}

/// The difference between a committed schema file and the history's.
#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    pub file: PathBuf,
    pub diff: String,
}

/// What `check` found for one set.
#[derive(Debug, Clone, Serialize)]
pub struct SetReport {
    pub set: String,
    pub findings: Vec<Diagnostic>,
    pub drift: Vec<Drift>,
    /// Whether the schema was compared (false under --lint-only or without a schema file).
    pub schema_checked: bool,
}

/// Lint one set's migrations.
pub fn lint_set(
    resolved: &Resolved,
    ctx: &SetContext,
    backend: crate::backend::Backend,
) -> anyhow::Result<Vec<Diagnostic>> {
    let config = LintConfig::from_metadata(resolved.workspace.lint.as_ref(), ctx.set.lint.as_ref())
        .map_err(|e| {
            anyhow::anyhow!(
                "set `{}`: the lint configuration in {} is not valid: {e}",
                ctx.set.name,
                ctx.set.manifest_path.display()
            )
        })?;
    let shown: Vec<(PathBuf, PathBuf, PathBuf)> = ctx
        .folder
        .migrations
        .iter()
        .map(|m| {
            (
                resolved.show(&m.dir),
                resolved.show(&m.up_path()),
                resolved.show(&m.down_path()),
            )
        })
        .collect();
    let inputs: Vec<MigrationInput> = ctx
        .folder
        .migrations
        .iter()
        .zip(&shown)
        .map(|(m, (dir, up, down))| MigrationInput {
            dir_name: &m.dir_name,
            version: &m.version,
            dir,
            up: Some(SqlFile {
                path: up,
                text: &m.up_sql,
            }),
            down: m
                .down_sql
                .as_deref()
                .map(|text| SqlFile { path: down, text }),
            run_in_transaction: m.run_in_transaction,
        })
        .collect();
    Ok(lint::lint_set(&ctx.set.name, backend, &inputs, &config))
}

/// Drift of one set; `Err` when the check cannot run (configuration, no scratch server).
fn drift_for(
    resolved: &Resolved,
    ctx: &SetContext,
    opts: &CheckOptions,
) -> anyhow::Result<(Vec<Diagnostic>, Vec<Drift>, bool)> {
    let mut findings = Vec::new();
    let mut drifts = Vec::new();
    if ctx.set.schema_file.is_none()
        && ctx
            .set
            .diesel_toml
            .as_ref()
            .is_none_or(|d| d.print_schema.is_none())
    {
        return Ok((findings, drifts, false));
    }
    let sections = match super::schema::rendered(resolved, ctx, !opts.no_cache) {
        Ok(s) => s,
        Err(err) if super::schema::is_finding(&err) => {
            findings.push(super::schema::history_diagnostic(resolved, ctx, &err));
            return Ok((findings, drifts, false));
        }
        Err(err) => return Err(anyhow::anyhow!("set `{}`: {err}", ctx.set.name)),
    };
    for section in sections {
        let Some(file) = &section.file else { continue };
        let shown = resolved.show(file);
        let committed = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(_) => {
                findings.push(
                    Diagnostic::error(
                        "schema-drift",
                        format!("the schema file `{}` does not exist", shown.display()),
                    )
                    .with_set(&ctx.set.name)
                    .with_file(&shown)
                    .with_help(format!(
                        "create it from the history with `cargo migrate schema --write -p {}`",
                        ctx.set.name
                    )),
                );
                continue;
            }
        };
        if crate::diff::same(&committed, &section.text) {
            continue;
        }
        let label = shown.display().to_string();
        let diff = crate::diff::unified(
            &committed,
            &section.text,
            &format!("{label} (committed)"),
            &format!("{label} (from migrations)"),
        );
        let (added, removed) = crate::diff::stats(&committed, &section.text);
        findings.push(
            Diagnostic::error(
                "schema-drift",
                format!("`{label}` does not match the schema the migrations produce (+{added} -{removed} lines)"),
            )
            .with_set(&ctx.set.name)
            .with_file(&shown)
            .with_help(format!(
                "if the migrations are right, run `cargo migrate schema --write -p {}`; if the schema file is right, add the migration that produces it",
                ctx.set.name
            )),
        );
        drifts.push(Drift { file: shown, diff });
    }
    Ok((findings, drifts, true))
}

/// With a database URL: the database's own state (pending, unknown, out of order) and drift
/// between its schema and the schema its applied migrations should have produced.
fn live_for(
    resolved: &Resolved,
    ctx: &SetContext,
    opts: &CheckOptions,
) -> anyhow::Result<(Vec<Diagnostic>, Vec<Drift>)> {
    let mut findings = Vec::new();
    let mut drifts = Vec::new();
    let Some((url, source)) = &ctx.url else {
        return Ok((findings, drifts));
    };
    let url = resolved.show_url(url);
    let set = &ctx.set.name;
    let st = super::status::read(resolved, ctx)?;
    if !st.exists {
        findings.push(
            Diagnostic::new(
                "database-missing",
                crate::diagnostic::Severity::Info,
                format!(
                    "the database {url} (from {source}) does not exist yet; live checks skipped"
                ),
            )
            .with_set(set)
            .with_help(format!("`cargo migrate apply -p {set}` creates it")),
        );
        return Ok((findings, drifts));
    }
    let dir_name = |v: &String| {
        ctx.folder
            .find(v)
            .map(|m| m.dir_name.clone())
            .unwrap_or_else(|| v.clone())
    };
    if !st.pending.is_empty() {
        let names: Vec<String> = st.pending.iter().map(dir_name).collect();
        findings.push(
            Diagnostic::error(
                "pending-migration",
                format!(
                    "{} not applied to {url} (from {source}): {}",
                    if names.len() == 1 {
                        "1 migration is".to_string()
                    } else {
                        format!("{} migrations are", names.len())
                    },
                    names.join(", ")
                ),
            )
            .with_set(set)
            .with_help(format!("run `cargo migrate apply -p {set}`")),
        );
    }
    if !st.unknown.is_empty() {
        findings.push(
            Diagnostic::error("unknown-applied-migration", format!("{url} records {} as applied that the folder does not have: {}", count(st.unknown.len(), "migration"), st.unknown.join(", ")))
                .with_set(set)
                .with_help("restore the missing migration folders (a branch that was never merged, or a deleted migration?), or revert them on that database"),
        );
    }
    for v in &st.out_of_order {
        findings.push(
            Diagnostic::warning("out-of-order-migration", format!("pending migration `{}` is older than the newest applied one, probably merged out of order", dir_name(v)))
                .with_set(set)
                .with_help("it will run after newer migrations on this database; make sure it does not depend on running first, or give it a newer version"),
        );
    }
    // Live drift: compare the database with the schema its applied migrations produce.
    if ctx.set.schema_file.is_none()
        && ctx
            .set
            .diesel_toml
            .as_ref()
            .is_none_or(|d| d.print_schema.is_none())
    {
        return Ok((findings, drifts));
    }
    super::schema::backend_of(ctx)?;
    let sections = crate::db::history::sections(&ctx.set)?;
    let fmt = crate::db::history::format_config(&ctx.set, &resolved.workspace.root)?;
    let applied: Vec<crate::migration::Migration> = ctx
        .folder
        .migrations
        .iter()
        .filter(|m| st.applied.contains(&m.version))
        .cloned()
        .collect();
    let expected =
        match super::schema::rendered_for(resolved, ctx, &applied, !opts.no_cache, "applied") {
            Ok(r) => r,
            Err(err) if super::schema::is_finding(&err) => {
                findings.push(super::schema::history_diagnostic(resolved, ctx, &err));
                return Ok((findings, drifts));
            }
            Err(err) => return Err(anyhow::anyhow!("set `{set}`: {err}")),
        };
    let mut conn = super::connect_raw(resolved, ctx, crate::db::ConnectOptions::default())
        .map_err(|e| super::describe_connect_error(ctx, e))?;
    let live = crate::db::history::render_live(&mut conn, &sections, &fmt)?;
    for (want, have) in expected.iter().zip(&live) {
        if crate::diff::same(&want.text, &have.text) {
            continue;
        }
        let label = url.clone();
        let diff = crate::diff::unified(
            &want.text,
            &have.text,
            "schema of the applied migrations",
            &format!("{label} (live)"),
        );
        let (added, removed) = crate::diff::stats(&want.text, &have.text);
        findings.push(
            Diagnostic::error("live-drift", format!("the database {label} differs from the schema its applied migrations produce (+{added} -{removed} lines): someone changed it by hand"))
                .with_set(set)
                .with_help("put the change in a migration (and undo it by hand on this database first), or undo it on the database"),
        );
        drifts.push(Drift {
            file: PathBuf::from(format!("{label} (live)")),
            diff,
        });
    }
    Ok((findings, drifts))
}

/// Check every selected set; findings are values, nothing is printed here.
pub fn check(resolved: &Resolved, opts: &CheckOptions) -> anyhow::Result<Vec<SetReport>> {
    // Lint and folder findings first (cheap, and configuration errors stop the run).
    let mut reports = Vec::new();
    for ctx in &resolved.sets {
        let mut findings: Vec<Diagnostic> = ctx.folder.problems.clone();
        findings.extend(
            resolved
                .cross_set_problems
                .iter()
                .filter(|d| d.set.as_deref() == Some(&ctx.set.name))
                .cloned(),
        );
        match ctx.backend() {
            Some(backend) => findings.extend(lint_set(resolved, ctx, backend)?),
            None => findings.push(
                Diagnostic::warning("unknown-backend", "the set's backend is unknown, so its migrations were not linted and its schema not checked")
                    .with_set(&ctx.set.name)
                    .with_help(format!("add `backend = \"sqlite\"` (or postgres, mysql) to [package.metadata.migrate] in {}", resolved.show(&ctx.set.manifest_path).display())),
            ),
        }
        reports.push(SetReport {
            set: ctx.set.name.clone(),
            findings,
            drift: Vec::new(),
            schema_checked: false,
        });
    }
    if let Some(base) = &opts.base {
        released_findings(resolved, base, &mut reports)?;
    }
    if opts.lint_only {
        return Ok(reports);
    }
    // Drift: replay the sets in parallel.
    type SetDrift = anyhow::Result<(Vec<Diagnostic>, Vec<Drift>, bool)>;
    let results: Vec<SetDrift> = std::thread::scope(|scope| {
        let handles: Vec<_> = resolved
            .sets
            .iter()
            .map(|ctx| {
                scope.spawn(move || {
                    if ctx.backend().is_none() {
                        Ok((Vec::new(), Vec::new(), false))
                    } else {
                        drift_for(resolved, ctx, opts)
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("checking a set's schema panicked")))
            })
            .collect()
    });
    let results = results.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    for (report, (findings, drift, checked)) in reports.iter_mut().zip(results) {
        report.findings.extend(findings);
        report.drift = drift;
        report.schema_checked = checked;
    }
    // The databases named by URLs: reachable or the check cannot run (exit 2).
    for (report, ctx) in reports
        .iter_mut()
        .zip(&resolved.sets)
        .filter(|_| !opts.offline)
    {
        let (findings, drift) = live_for(resolved, ctx, opts)?;
        report.findings.extend(findings);
        report.drift.extend(drift);
    }
    Ok(reports)
}

fn released_findings(
    resolved: &Resolved,
    base: &str,
    reports: &mut [SetReport],
) -> anyhow::Result<()> {
    let repo = crate::git::Repo::discover(&resolved.workspace.root).ok_or_else(|| {
        anyhow::anyhow!(
            "--base needs a git repository, and {} is not in one",
            resolved.workspace.root.display()
        )
    })?;
    let (commit, label) = if base.is_empty() {
        let c = repo.default_base()?;
        let short = c.chars().take(10).collect::<String>();
        (c, format!("the merge base {short}"))
    } else {
        (repo.resolve(base)?, base.to_string())
    };
    for (report, ctx) in reports.iter_mut().zip(&resolved.sets) {
        report.findings.extend(crate::released::check(
            &repo,
            &commit,
            &label,
            ctx,
            &resolved.workspace.root,
        )?);
    }
    Ok(())
}

pub fn run(resolved: &Resolved, opts: &CheckOptions, printer: &Printer) -> anyhow::Result<Outcome> {
    let reports = check(resolved, opts)?;
    let mut total = Counts::default();
    for report in &reports {
        let counts = Counts::of(&report.findings);
        total.errors += counts.errors;
        total.warnings += counts.warnings;
        total.infos += counts.infos;
        let ctx = resolved.sets.iter().find(|c| c.set.name == report.set);
        let n = ctx.map(|c| c.folder.migrations.len()).unwrap_or(0);
        let visible: Vec<Diagnostic> = report
            .findings
            .iter()
            .filter(|d| d.severity != Severity::Info || printer.verbose > 0)
            .cloned()
            .collect();
        if visible.is_empty() {
            let what = if report.schema_checked {
                ", schema matches"
            } else {
                ""
            };
            printer.line(format!(
                "{} {} {}",
                "ok".green().bold(),
                report.set.bold(),
                format!("({}{what})", count(n, "migration")).dimmed()
            ));
            continue;
        }
        printer.line(format!(
            "{} {} {}",
            if counts.errors > 0 {
                "FAIL".red().bold()
            } else if counts.warnings > 0 {
                "warn".yellow().bold()
            } else {
                "ok".green().bold()
            },
            report.set.bold(),
            format!(
                "({}, {}, {})",
                count(n, "migration"),
                count(counts.errors, "error"),
                count(counts.warnings, "warning")
            )
            .dimmed()
        ));
        printer.diagnostics(&visible, false);
        for d in &report.drift {
            if printer.human() && !printer.quiet {
                print!("{}", crate::diff::paint(&d.diff));
                println!();
            }
        }
    }
    let failed = total.errors > 0 || (opts.deny_warnings && total.warnings > 0);
    printer.result(format!(
        "{}: {}, {}, {}",
        if failed {
            "check failed".red().bold().to_string()
        } else {
            "check passed".green().bold().to_string()
        },
        count(reports.len(), "set"),
        count(total.errors, "error"),
        count(total.warnings, "warning")
            + if opts.deny_warnings && total.warnings > 0 {
                " (denied)"
            } else {
                ""
            }
    ));
    printer.json(&json!({
        "command": "check",
        "ok": !failed,
        "errors": total.errors,
        "warnings": total.warnings,
        "sets": reports,
    }));
    Ok(if failed {
        Outcome::Failure
    } else {
        Outcome::Success
    })
}
