//! `cargo migrate check`: the pre-commit and CI gate.
//!
//! For every selected set, offline: the migration folder is well formed, every migration passes
//! the lint of its backend, and the committed schema file matches what the history produces
//! (replayed on a scratch database, or taken from the cache when nothing changed), shown as a
//! unified diff. With a database URL (and without `--offline`), also the database's own state.
//! Findings are collected for every set before anything is printed; sets replay in parallel.
//! Exit 1 when there is an error (or a warning under `--deny warnings`).

use std::path::PathBuf;

use super::{open, read_state, Opened, Outcome};
use crate::catalog::{self, Difference, IgnorePattern};
use crate::db::{ConnectOptions, DbError};
use crate::diagnostic::{Counts, Diagnostic, Problem, Severity};
use crate::error::SetError;
use crate::history::{SetHistory, Upto};
use crate::output::{count, Printer};

use crate::output::{Human, Paint, Render};
use crate::report::Drift;
use crate::settings::{Resolved, SetContext};
use serde::Serialize;

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
    /// `--drift-ignore KIND:PATTERN`: catalog differences to leave out (added to each set's
    /// `drift-ignore` configuration).
    pub drift_ignore: Vec<IgnorePattern>,
    /// `--drift-privileges`: owners and granted privileges are live drift too.
    pub drift_privileges: bool,
    /// `--targets` / `--targets-cmd`: the live checks of the one selected set on each target.
    pub fleet: Option<crate::targets::Fleet>,
}

/// Findings and diffs of one part of the check.
#[derive(Debug, Default)]
struct Found {
    findings: Vec<Diagnostic>,
    drift: Vec<Drift>,
    schema_checked: bool,
    replayed: bool,
    replayed_on: Option<String>,
    catalog: Vec<Difference>,
    drift_ignored: usize,
}

/// The committed schema files against the history's schema.
fn drift_for(
    resolved: &Resolved,
    ctx: &SetContext,
    opts: &CheckOptions,
    progress: Progress<'_>,
) -> Result<Found, SetError> {
    let mut found = Found::default();
    // A set without a schema file is still replayed: "passed" means the history runs.
    if ctx.backend().is_none() {
        return Ok(found);
    }
    // A folder problem (already a finding) stops the replay before it starts: replaying the
    // rest would fail later with an unrelated error, as `schema` refuses to.
    if ctx
        .folder
        .problems
        .iter()
        .any(|d| d.severity == Severity::Error)
    {
        return Ok(found);
    }
    let set = ctx.name();
    let step = |done: usize, total: usize| progress(set, done, total);
    let sections = match SetHistory::new(resolved, ctx)
        .and_then(|h| h.with_progress(&step).render(Upto::All, !opts.no_cache))
    {
        Ok(s) => s,
        Err(err) if err.is_finding() => {
            found.findings.extend(err.diagnostics(set));
            return Ok(found);
        }
        Err(err) => return Err(SetError::new(set, err)),
    };
    found.replayed_on = sections.iter().find_map(|s| s.replayed_on.clone());
    for section in sections {
        let Some(file) = &section.file else { continue };
        let Ok(committed) = std::fs::read_to_string(file) else {
            found.findings.push(
                Diagnostic::error(
                    Problem::SchemaDrift,
                    format!("the schema file `{}` does not exist", file.display()),
                )
                .with_set(set)
                .with_file(file)
                .with_help(format!(
                    "create it from the history with `cargo migrate schema --write -p {set}`"
                )),
            );
            continue;
        };
        if crate::diff::same(&committed, &section.text) {
            continue;
        }
        let label = file.display().to_string();
        let parsed = crate::schema::parse::parse(&committed, file)
            .ok()
            .zip(crate::schema::parse::parse(&section.text, file).ok());
        let sharing = semantic_reason(resolved, ctx, file);
        if let (Some(reason), Some((ours, theirs))) = (&sharing, &parsed) {
            // Compared by declaration: one finding per real difference, no byte diff.
            use crate::schema::compare::{differences, TypeMatch};
            for d in differences(ours, theirs, TypeMatch::RustType) {
                let mut diag = Diagnostic::error(
                    Problem::SchemaDrift,
                    format!("`{label}`: {}", d.message),
                )
                .with_set(set)
                .with_file(file)
                .with_help(format!(
                    "{reason}, so it is compared by declaration (types by the Rust type diesel maps them to); fix the file, or add the migration that produces it"
                ));
                if let Some(loc) = d.loc {
                    diag = diag.with_location(loc.line, loc.column);
                }
                found.findings.push(diag);
            }
            continue;
        }
        let diff = crate::diff::unified(
            &committed,
            &section.text,
            &format!("{label} (committed)"),
            &format!("{label} (from migrations)"),
        );
        let (added, removed) = crate::diff::stats(&diff);
        // Name what differs, when both files can be read as schemas.
        let what = parsed
            .map(|(ours, theirs)| {
                let diffs = crate::schema::compare::differences(
                    &ours,
                    &theirs,
                    crate::schema::compare::TypeMatch::Exact,
                );
                let mut text: Vec<String> =
                    diffs.iter().take(3).map(|d| d.message.clone()).collect();
                if diffs.len() > 3 {
                    text.push(format!("and {} more", diffs.len() - 3));
                }
                if text.is_empty() {
                    String::new()
                } else {
                    format!(": {}", text.join("; "))
                }
            })
            .unwrap_or_default();
        found.findings.push(
            Diagnostic::error(
                Problem::SchemaDrift,
                format!("`{label}` does not match the schema the migrations produce (+{added} -{removed} lines){what}"),
            )
            .with_set(set)
            .with_file(file)
            .with_help(format!(
                "if the migrations are right, run `cargo migrate schema --write -p {set}`; if the schema file is right, add the migration that produces it"
            )),
        );
        found.drift.push(Drift {
            file: file.clone(),
            diff,
        });
    }
    found.replayed = true;
    found.schema_checked = ctx.set.has_schema();
    Ok(found)
}

/// Why `file` is compared by declaration rather than byte for byte, if it is: the set says
/// `schema-check = "semantic"`, or sets of different backends name the same file (no single
/// `diesel print-schema` output can equal it). `schema-check = "bytes"` keeps byte equality.
fn semantic_reason(
    resolved: &Resolved,
    ctx: &SetContext,
    file: &std::path::Path,
) -> Option<String> {
    use crate::config::SchemaCheck;
    match ctx.set.schema_check {
        Some(SchemaCheck::Semantic) => {
            return Some("the set says `schema-check = \"semantic\"`".to_string())
        }
        Some(SchemaCheck::Bytes) => return None,
        None => {}
    }
    let mine = ctx.backend()?;
    let others: Vec<&str> = resolved
        .workspace
        .sets
        .iter()
        .filter(|s| s.name != ctx.set.name)
        .filter(|s| s.schema_file.as_deref() == Some(file))
        .filter(|s| s.backend.is_some_and(|b| b != mine))
        .map(|s| s.name.as_str())
        .collect();
    (!others.is_empty()).then(|| {
        format!(
            "the schema file is shared with sets of other backends ({})",
            others
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// With a database URL: the database's own state (pending, unknown, out of order) and drift
/// between its schema and the schema its applied migrations should have produced.
fn live_for(
    resolved: &Resolved,
    ctx: &SetContext,
    opts: &CheckOptions,
    progress: Progress<'_>,
) -> Result<Found, SetError> {
    let mut found = Found::default();
    let Some((_, source)) = &ctx.url else {
        return Ok(found);
    };
    let set = ctx.name();
    let (opened, url) = open(ctx, ConnectOptions::default(), &crate::events::Silent)?;
    let mut conn = match opened {
        Opened::Connected(conn) => conn,
        Opened::Missing(_) => {
            found.findings.push(
                Diagnostic::new(
                    Problem::DatabaseMissing,
                    Severity::Info,
                    format!("the database {url} (from {source}) does not exist yet; live checks skipped"),
                )
                .with_set(set)
                .with_help(format!("`cargo migrate apply -p {set}` creates it")),
            );
            return Ok(found);
        }
    };
    let st = read_state(resolved, ctx, Some(&mut conn), &url)?;
    let dir_name = |v: &String| {
        ctx.folder
            .find(v)
            .map(|m| m.dir_name.clone())
            .unwrap_or_else(|| v.clone())
    };
    if !st.pending.is_empty() {
        let names: Vec<String> = st.pending.iter().map(dir_name).collect();
        found.findings.push(
            Diagnostic::error(
                Problem::PendingMigration,
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
        found.findings.push(
            Diagnostic::error(
                Problem::UnknownAppliedMigration,
                format!("{url} records {} as applied that the folder does not have: {}", count(st.unknown.len(), "migration"), st.unknown.join(", ")),
            )
            .with_set(set)
            .with_help("restore the missing migration folders (a branch that was never merged, or a deleted migration?), or revert them on that database"),
        );
    }
    let records = conn
        .partial_records(&url)
        .map_err(|e| SetError::new(set, e).with_origin(ctx.url_origin()))?;
    for r in records.iter().filter(|r| {
        r.direction == crate::migration::Direction::Up && st.pending.contains(&r.version)
    }) {
        let Some(m) = ctx.folder.find(&r.version) else {
            continue;
        };
        let statements = r
            .committed
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let changed = r.sql_sha256 != crate::db::partial::sql_hash(&m.up_sql);
        found.findings.push(
            Diagnostic::error(
                Problem::PartiallyAppliedMigration,
                format!(
                    "{} failed part way on {url} on {} UTC: {} {statements} of the up.sql that ran then {} committed, and the migration is not recorded as applied",
                    m.dir_name,
                    r.recorded_at,
                    if r.committed.len() == 1 { "statement" } else { "statements" },
                    if r.committed.len() == 1 { "is" } else { "are" },
                ),
            )
            .with_set(set)
            .with_file(m.up_path())
            .with_help(if changed {
                "up.sql changed since, so `apply` runs it: make sure it holds only what was not committed then".to_string()
            } else {
                format!("`apply` refuses it while up.sql is unchanged: edit up.sql so that it holds only what was not committed, or finish it by hand and record it (`INSERT INTO __diesel_schema_migrations (version) VALUES ('{}')`)", r.version)
            }),
        );
    }
    let (changed, unverified) = super::applied_checksums(ctx, &mut conn, &url, &st.applied);
    for v in &changed {
        let Some(m) = ctx.folder.find(v) else {
            continue;
        };
        found.findings.push(
            Diagnostic::error(
                Problem::AppliedMigrationChanged,
                format!("`{}` changed since it was applied to {url}: the database ran other SQL than the folder now holds", m.dir_name),
            )
            .with_set(set)
            .with_file(m.up_path())
            .with_help("restore the migration as it was applied (its history in git has it) and put the change in a new migration; an applied migration never runs again, so an edit to it reaches no database"),
        );
    }
    if !unverified.is_empty() {
        found.findings.push(
            Diagnostic::new(
                Problem::AppliedMigrationChanged,
                Severity::Info,
                format!(
                    "{} applied to {url} without a recorded checksum (by diesel_cli, by hand, or by an older cargo-migrate), so edits to {} since cannot be seen",
                    if unverified.len() == 1 {
                        "1 migration was".to_string()
                    } else {
                        format!("{} migrations were", unverified.len())
                    },
                    if unverified.len() == 1 { "it" } else { "them" }
                ),
            )
            .with_set(set)
            .with_help("migrations applied by `cargo migrate apply` from now on are verified"),
        );
    }
    for v in &st.out_of_order {
        found.findings.push(
            Diagnostic::warning(
                Problem::OutOfOrderMigration,
                format!("pending migration `{}` is older than the newest applied one, probably merged out of order", dir_name(v)),
            )
            .with_set(set)
            .with_help("it will run after newer migrations on this database; make sure it does not depend on running first, or give it a newer version"),
        );
    }
    // Live drift: compare the database with the schema and the catalog its applied migrations
    // produce, from one replay.
    let with_sections = ctx.set.has_schema();
    let step = |done: usize, total: usize| progress(set, done, total);
    let history = SetHistory::new(resolved, ctx)
        .map_err(|e| SetError::new(set, e))?
        .with_progress(&step);
    let (expected, expected_catalog) =
        match history.expected(Upto::Applied(&st.applied), !opts.no_cache, with_sections) {
            Ok(r) => r,
            Err(err) if err.is_finding() => {
                found.findings.extend(err.diagnostics(set));
                return Ok(found);
            }
            Err(err) => return Err(SetError::new(set, err)),
        };
    let label = url.to_string();
    if with_sections {
        let live = history
            .render_live(&mut conn)
            .map_err(|e| SetError::new(set, e))?;
        for (want, have) in expected.iter().zip(&live) {
            if crate::diff::same(&want.text, &have.text) {
                continue;
            }
            let diff = crate::diff::unified(
                &want.text,
                &have.text,
                "schema of the applied migrations",
                &format!("{label} (live)"),
            );
            let (added, removed) = crate::diff::stats(&diff);
            found.findings.push(
                Diagnostic::error(
                    Problem::LiveDrift,
                    format!("the database {label} differs from the schema its applied migrations produce (+{added} -{removed} lines): someone changed it by hand"),
                )
                .with_set(set)
                .with_help("put the change in a migration (and undo it by hand on this database first), or undo it on the database"),
            );
            found.drift.push(Drift {
                file: PathBuf::from(format!("{label} (live)")),
                diff,
            });
        }
    }
    let live_catalog = conn
        .catalog()
        .map_err(|e| SetError::new(set, DbError::query("reading the catalog", &url, &e)))?;
    let patterns: Vec<IgnorePattern> = ctx
        .set
        .drift_ignore
        .iter()
        .chain(&opts.drift_ignore)
        .cloned()
        .collect();
    let compared = catalog::leave_out_privileges(
        catalog::diff(&expected_catalog, &live_catalog),
        opts.drift_privileges,
    );
    let (diffs, ignored) = catalog::apply_ignores(compared, &patterns);
    let (findings, drift) = crate::report::catalog_findings(set, &label, &diffs);
    found.findings.extend(findings);
    found.drift.extend(drift);
    found.catalog = diffs;
    found.drift_ignored = ignored;
    Ok(found)
}

/// Folder problems, cross-set problems and the lint of one set, and how many findings allow
/// comments silenced.
fn lint_for(resolved: &Resolved, ctx: &SetContext, use_cache: bool) -> (Vec<Diagnostic>, usize) {
    let set = ctx.name();
    let mut findings: Vec<Diagnostic> = ctx.folder.problems.clone();
    findings.extend(
        resolved
            .cross_set_problems
            .iter()
            .filter(|d| d.set.as_deref() == Some(set))
            .cloned(),
    );
    let mut allowed = 0;
    match ctx.backend() {
        Some(backend) => {
            // The lint of an unchanged set is read back from the cache under target/.
            let cache = crate::cache::SchemaCache::new(&resolved.workspace.target_dir);
            let key =
                crate::cache::lint_key(set, backend, &ctx.set.lint, &ctx.folder.migrations);
            let lint = match use_cache.then(|| cache.get_lint(set, &key)).flatten() {
                Some(hit) => hit,
                None => {
                    let lint = ctx.folder.lint_counted(set, backend, &ctx.set.lint);
                    if use_cache {
                        cache.put_lint(set, &key, &lint);
                    }
                    lint
                }
            };
            findings.extend(lint.findings);
            allowed = lint.allowed;
        }
        None => findings.push(
            Diagnostic::error(Problem::UnknownBackend, "the set's backend is unknown, so its migrations cannot be linted or replayed and the set is not checked")
                .with_set(set)
                .with_help(format!("add `backend = \"sqlite\"` (or postgres, mysql) to {} in {}", ctx.set.config_table(), ctx.set.manifest_path.display())),
        ),
    }
    (findings, allowed)
}

/// Told `(set, replayed, total)` after each migration a replay runs.
type Progress<'a> = &'a (dyn Fn(&str, usize, usize) + Sync);

/// Check every selected set; findings are values, nothing is printed here.
pub fn check(resolved: &Resolved, opts: &CheckOptions) -> anyhow::Result<Vec<CheckSet>> {
    check_reporting(resolved, opts, &|_, _, _| {})
}

/// [`check`], telling `progress` how far each replay is.
pub fn check_reporting(
    resolved: &Resolved,
    opts: &CheckOptions,
    progress: Progress<'_>,
) -> anyhow::Result<Vec<CheckSet>> {
    // The lint of each set, the sets in parallel (a set's lint reads its history in order).
    let linted: Vec<(Vec<Diagnostic>, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = resolved
            .sets
            .iter()
            .map(|ctx| scope.spawn(move || lint_for(resolved, ctx, !opts.no_cache)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut reports: Vec<CheckSet> = resolved
        .sets
        .iter()
        .zip(linted)
        .map(|(ctx, (findings, allowed))| CheckSet {
            set: ctx.name().to_string(),
            findings,
            allowed,
            drift: Vec::new(),
            schema_checked: false,
            replayed: false,
            replayed_on: None,
            catalog_drift: Vec::new(),
            drift_ignored: 0,
            migrations: ctx.folder.migrations.len(),
        })
        .collect();
    if let Some(base) = &opts.base {
        released_findings(resolved, base, &mut reports)?;
    }
    if opts.lint_only {
        return Ok(reports);
    }
    // Drift: replay the sets in parallel.
    let results: Vec<Result<Found, SetError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = resolved
            .sets
            .iter()
            .map(|ctx| scope.spawn(move || drift_for(resolved, ctx, opts, progress)))
            .collect();
        handles
            .into_iter()
            .zip(&resolved.sets)
            .map(|(h, ctx)| {
                h.join().unwrap_or_else(|_| {
                    Err(SetError::new(
                        ctx.name(),
                        "checking the set's schema panicked",
                    ))
                })
            })
            .collect()
    });
    for (report, found) in reports.iter_mut().zip(results) {
        let found = found?;
        add_new(&mut report.findings, found.findings);
        report.drift = found.drift;
        report.schema_checked = found.schema_checked;
        report.replayed = found.replayed;
        report.replayed_on = found.replayed_on;
    }
    // The databases named by URLs: reachable or the check cannot run (exit 2).
    if !opts.offline {
        for (report, ctx) in reports.iter_mut().zip(&resolved.sets) {
            let found = live_for(resolved, ctx, opts, progress)?;
            add_new(&mut report.findings, found.findings);
            report.drift.extend(found.drift);
            report.catalog_drift = found.catalog;
            report.drift_ignored = found.drift_ignored;
        }
    }
    Ok(reports)
}

/// Add the findings of the replay to those of the lint, without a second finding of the same
/// kind on the same file: a history with an empty up.sql is a lint error (`empty-up-sql`) and
/// refused by the replay, as by `apply`; it is reported once.
fn add_new(findings: &mut Vec<Diagnostic>, more: Vec<Diagnostic>) {
    for d in more {
        let known = d.file.is_some()
            && findings
                .iter()
                .any(|f| f.code == d.code && f.file == d.file && f.severity == d.severity);
        if !known {
            findings.push(d);
        }
    }
}

fn released_findings(
    resolved: &Resolved,
    base: &str,
    reports: &mut [CheckSet],
) -> anyhow::Result<()> {
    let (repo, commit, label) = super::base_revision(resolved, base)?;
    for (report, ctx) in reports.iter_mut().zip(&resolved.sets) {
        report
            .findings
            .extend(crate::released::check(&repo, &commit, &label, ctx)?);
    }
    Ok(())
}

/// `check`.
pub fn run(resolved: &Resolved, opts: &CheckOptions, printer: &Printer) -> anyhow::Result<Outcome> {
    resolved.require_sets("check")?;
    if let Some(fleet) = &opts.fleet {
        return run_fleet(resolved, opts, fleet, printer);
    }
    let report = |set: &str, done: usize, total: usize| {
        printer.progress(&format!("{set}: replaying {done}/{total}"));
    };
    let sets = check_reporting(resolved, opts, &report)?;
    let total = Counts::of(sets.iter().flat_map(|s| &s.findings));
    let failed = total.errors > 0 || (opts.deny_warnings && total.warnings > 0);
    printer.report(&CheckReport {
        command: "check",
        ok: !failed,
        errors: total.errors,
        warnings: total.warnings,
        sets,
        deny_warnings: opts.deny_warnings,
    });
    Ok(if failed {
        Outcome::Failure
    } else {
        Outcome::Success
    })
}

/// `check --targets`: the live checks (pending, unknown, changed since applied, schema and
/// catalog drift) of the one selected set on every target, `fleet.jobs` at a time. Targets
/// with the same findings are grouped, so that 500 identical targets read as one line and
/// the odd ones stand out. The lint and the schema file are not the targets' business: run
/// `check --offline` for them.
fn run_fleet(
    resolved: &Resolved,
    opts: &CheckOptions,
    fleet: &crate::targets::Fleet,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    let (ctx, targets) = super::fleet_set(resolved, fleet, "check --targets")?;
    let work = |one: &crate::settings::SetContext, target: &crate::targets::Target| match live_for(
        resolved,
        one,
        opts,
        &|_, _, _| {},
    ) {
        Ok(found) => FleetCheckTarget {
            database: target.shown(),
            origin: target.origin.clone(),
            findings: found.findings,
            error: None,
        },
        Err(e) => FleetCheckTarget {
            database: target.shown(),
            origin: target.origin.clone(),
            findings: Vec::new(),
            error: Some(e.to_string()),
        },
    };
    let results = super::read_each_target(ctx, &targets, fleet.jobs, &work, printer);
    let targets: Vec<FleetCheckTarget> = results.into_iter().flatten().collect();
    let total = Counts::of(targets.iter().flat_map(|t| &t.findings));
    let unreachable = targets.iter().filter(|t| t.error.is_some()).count();
    let failed = total.errors > 0 || unreachable > 0 || (opts.deny_warnings && total.warnings > 0);
    printer.report(&FleetCheckReport {
        command: "check",
        ok: !failed,
        set: ctx.name().to_string(),
        errors: total.errors,
        warnings: total.warnings,
        unreachable,
        targets,
    });
    Ok(if failed {
        Outcome::Failure
    } else {
        Outcome::Success
    })
}

/// `check --targets`.
#[derive(Debug, Clone, Serialize)]
pub struct FleetCheckReport {
    /// `"check"`.
    pub command: &'static str,
    /// `false` on an error, an unreadable target, or a warning under `--deny warnings`.
    pub ok: bool,
    /// The set.
    pub set: String,
    /// Errors over all targets.
    pub errors: usize,
    /// Warnings over all targets.
    pub warnings: usize,
    /// Targets that could not be checked.
    pub unreachable: usize,
    /// One record per target, in the order listed.
    pub targets: Vec<FleetCheckTarget>,
}

/// The live findings of one target.
#[derive(Debug, Clone, Serialize)]
pub struct FleetCheckTarget {
    pub database: String,
    pub origin: String,
    pub findings: Vec<Diagnostic>,
    /// Why it could not be checked.
    pub error: Option<String>,
}

impl FleetCheckTarget {
    /// What the target's findings say, with the target's own name taken out, so that targets
    /// in the same state compare equal.
    fn state(&self) -> Vec<String> {
        if let Some(e) = &self.error {
            return vec![format!(
                "could not be checked: {}",
                e.lines().next().unwrap_or_default()
            )];
        }
        let mut out: Vec<String> = self
            .findings
            .iter()
            .filter(|d| d.severity != crate::diagnostic::Severity::Info)
            .map(|d| {
                let url = self.database.split(" schema ").next().unwrap_or_default();
                format!(
                    "{}[{}]: {}",
                    d.severity.as_str(),
                    d.code.as_str(),
                    d.message.replace(url, "the target")
                )
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

impl Render for FleetCheckReport {
    fn findings(&self) -> Vec<&Diagnostic> {
        self.targets.iter().flat_map(|t| &t.findings).collect()
    }

    fn human(&self, p: &Human<'_>) {
        let mut groups: Vec<(Vec<String>, Vec<&FleetCheckTarget>)> = Vec::new();
        for t in &self.targets {
            let state = t.state();
            match groups.iter_mut().find(|(s, _)| *s == state) {
                Some((_, members)) => members.push(t),
                None => groups.push((state, vec![t])),
            }
        }
        groups.sort_by_key(|(_, m)| std::cmp::Reverse(m.len()));
        for (state, members) in &groups {
            let who = if members.len() == 1 {
                members[0].database.clone()
            } else {
                format!("{} targets", members.len())
            };
            if state.is_empty() {
                let verb = if members.len() == 1 {
                    "matches the history"
                } else {
                    "match the history"
                };
                p.line(format!("{} {}", who, verb.good()));
                continue;
            }
            p.line(format!("{} {}", who.strong(), "differ:".bad()));
            if members.len() > 1 {
                for m in members {
                    p.line(format!("  {}", m.database));
                }
            }
            for line in state {
                p.line(format!("    {line}"));
            }
        }
        p.result(format!(
            "{}: {} targets, {} errors, {} warnings, {} not checked",
            self.set,
            self.targets.len(),
            self.errors,
            self.warnings,
            self.unreachable
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// The report

/// `check`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// `"check"`.
    pub command: &'static str,
    /// `false` on an error, or a warning under `--deny warnings`.
    pub ok: bool,
    /// Errors over all sets.
    pub errors: usize,
    /// Warnings over all sets.
    pub warnings: usize,
    /// One entry per set.
    pub sets: Vec<CheckSet>,
    /// `--deny warnings` (human text only).
    #[serde(skip)]
    pub deny_warnings: bool,
}

/// What `check` found for one set.
#[derive(Debug, Clone, Serialize)]
pub struct CheckSet {
    /// The set's name.
    pub set: String,
    /// Every finding.
    pub findings: Vec<Diagnostic>,
    /// Lint findings silenced by inline `-- cargo-migrate: allow(rule): reason` comments.
    pub allowed: usize,
    /// The schema files (or databases) that differ.
    pub drift: Vec<Drift>,
    /// Whether the schema was compared.
    pub schema_checked: bool,
    /// Whether the whole history was replayed (or its replay found in the cache) without a
    /// failure; true for a set without a schema file too.
    pub replayed: bool,
    /// The server (or SQLite library) and version the history was replayed on, when it was
    /// replayed (from the cache: the one it was replayed on then).
    pub replayed_on: Option<String>,
    /// With a database URL: every object of the live database's catalog that differs from
    /// the catalog its applied migrations produce (each is also a `catalog-drift` finding).
    pub catalog_drift: Vec<Difference>,
    /// How many catalog differences `drift-ignore` patterns left out.
    pub drift_ignored: usize,
    /// How many migrations the set has (human text only).
    #[serde(skip)]
    pub migrations: usize,
}

impl Render for CheckReport {
    fn findings(&self) -> Vec<&Diagnostic> {
        self.sets.iter().flat_map(|s| &s.findings).collect()
    }

    fn diffs(&self) -> Vec<(String, &str)> {
        self.sets
            .iter()
            .flat_map(|s| &s.drift)
            .map(|d| (d.file.display().to_string(), d.diff.as_str()))
            .collect()
    }

    fn human(&self, p: &Human<'_>) {
        let r = self;
        // Which servers the histories were replayed on, once, before the sets.
        let mut servers: Vec<(&str, Vec<&str>)> = Vec::new();
        for set in &r.sets {
            if let Some(v) = &set.replayed_on {
                match servers.iter_mut().find(|(s, _)| s == v) {
                    Some((_, sets)) => sets.push(&set.set),
                    None => servers.push((v, vec![&set.set])),
                }
            }
        }
        if !servers.is_empty() {
            let text = if servers.len() == 1 {
                servers[0].0.to_string()
            } else {
                servers
                    .iter()
                    .map(|(v, sets)| format!("{v} ({})", sets.join(", ")))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            p.line(format!("replayed on {text}").dim());
        }
        for set in &r.sets {
            let counts = Counts::of(&set.findings);
            let visible: Vec<Diagnostic> = set
                .findings
                .iter()
                .filter(|d| d.severity != Severity::Info || p.verbose() > 0)
                .cloned()
                .collect();
            if visible.is_empty() {
                let what = if set.schema_checked {
                    ", schema matches"
                } else if set.replayed {
                    ", history replays; no schema file to compare"
                } else {
                    ""
                };
                p.line(format!(
                    "{} {} {}",
                    "ok".good().strong(),
                    set.set.strong(),
                    format!(
                        "({}{what}{}{})",
                        count(set.migrations, "migration"),
                        allowed(set.allowed),
                        ignored(set.drift_ignored)
                    )
                    .dim()
                ));
                continue;
            }
            let status = if counts.errors > 0 {
                "FAIL".bad().strong()
            } else if counts.warnings > 0 {
                "warn".caution().strong()
            } else {
                "ok".good().strong()
            };
            p.line(format!(
                "{status} {} {}",
                set.set.strong(),
                format!(
                    "({}, {}, {}{}{})",
                    count(set.migrations, "migration"),
                    count(counts.errors, "error"),
                    count(counts.warnings, "warning"),
                    allowed(set.allowed),
                    ignored(set.drift_ignored)
                )
                .dim()
            ));
            p.findings(&visible);
            for d in &set.drift {
                p.diff(&d.diff);
            }
        }
        let failed = !r.ok;
        p.result(format!(
            "{}: {}, {}, {}",
            if failed {
                "check failed".bad().strong().to_string()
            } else {
                "check passed".good().strong().to_string()
            },
            count(r.sets.len(), "set"),
            count(r.errors, "error"),
            count(r.warnings, "warning")
                + if r.deny_warnings && r.warnings > 0 {
                    " (denied)"
                } else {
                    ""
                }
        ));
    }
}

/// `, 2 allowed` when allow comments silenced findings.
fn allowed(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(", {n} allowed")
    }
}

/// `, 1 catalog difference ignored` when `drift-ignore` patterns left some out.
fn ignored(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(
            ", {} ignored (drift-ignore)",
            count(n, "catalog difference")
        )
    }
}
