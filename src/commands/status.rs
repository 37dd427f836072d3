//! `cargo migrate status`: per set, which migrations are applied, which are pending, and which
//! the database records as applied although the folder no longer has them. Reads only: the
//! database (and a missing SQLite file) is left exactly as it was.

use super::{open, read_state, stop_on_problems, Opened, Outcome};
use crate::db::ConnectOptions;
use crate::error::SetError;
use crate::migration::Direction;
use crate::output::Printer;

use crate::output::{count, Human, Paint, Render};
use crate::settings::{Resolved, SetContext};
use serde::Serialize;

/// Options of `status`.
#[derive(Debug, Clone, Default)]
pub struct StatusOptions {
    /// `--exit-code`: exit 1 when anything is pending or unknown.
    pub exit_code: bool,
    /// `pending`: list only what is not applied yet (diesel's `migration pending`).
    pub pending_only: bool,
    /// `--targets` / `--targets-cmd`: the one selected set on each of these databases.
    pub fleet: Option<crate::targets::Fleet>,
}

/// Read the state of one set's database.
fn status_of(resolved: &Resolved, ctx: &SetContext) -> Result<SetStatus, SetError> {
    let (opened, url) = open(ctx, ConnectOptions::default(), &crate::events::Silent)?;
    let (state, records, marked, (changed, unverified)) = match opened {
        Opened::Connected(mut conn) => {
            let state = read_state(resolved, ctx, Some(&mut conn), &url)?;
            let sums = super::applied_checksums(ctx, &mut conn, &url, &state.applied);
            let records = conn
                .partial_records(&url)
                .map_err(|e| SetError::new(ctx.name(), e).with_origin(ctx.url_origin()))?;
            let marked = crate::db::marks::read(&mut conn, &url)
                .map_err(|e| SetError::new(ctx.name(), e))?;
            (state, records, marked, sums)
        }
        Opened::Missing(_) => (
            read_state(resolved, ctx, None, &url)?,
            Vec::new(),
            Vec::new(),
            (Vec::new(), Vec::new()),
        ),
    };
    let partial = |direction: Direction| -> Vec<PartialStatus> {
        records
            .iter()
            .filter(|r| r.direction == direction)
            .filter(|r| match direction {
                Direction::Up => state.pending.contains(&r.version),
                Direction::Down => state.applied.contains(&r.version),
            })
            .filter_map(|r| {
                let m = ctx.folder.find(&r.version)?;
                let text = match direction {
                    Direction::Up => m.up_sql.as_str(),
                    Direction::Down => m.down_sql.as_deref().unwrap_or_default(),
                };
                Some(PartialStatus {
                    version: r.version.clone(),
                    committed_statements: r.committed.clone(),
                    failed_at: r.recorded_at.clone(),
                    sql_changed: r.sql_sha256 != crate::db::partial::sql_hash(text),
                })
            })
            .collect()
    };
    let partially_applied = partial(Direction::Up);
    let partially_reverted = partial(Direction::Down);
    Ok(SetStatus {
        set: ctx.name().to_string(),
        database: url.to_string(),
        exists: state.exists,
        applied: state.applied,
        pending: state.pending,
        unknown: state.unknown,
        out_of_order: state.out_of_order,
        marked,
        changed_since_applied: changed,
        unverified,
        partially_applied,
        partially_reverted,
        migrations: ctx
            .folder
            .migrations
            .iter()
            .map(|m| (m.version.clone(), m.dir_name.clone()))
            .collect(),
    })
}

/// `status`.
pub fn run(
    resolved: &Resolved,
    opts: &StatusOptions,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    let command = if opts.pending_only {
        "pending"
    } else {
        "status"
    };
    if let Some(outcome) = stop_on_problems(resolved, printer, command) {
        return Ok(outcome);
    }
    if let Some(fleet) = &opts.fleet {
        return fleet_status(resolved, opts, fleet, printer);
    }
    resolved.require_urls()?;
    let sets = resolved
        .sets
        .iter()
        .map(|ctx| status_of(resolved, ctx))
        .collect::<Result<Vec<_>, _>>()?;
    let pending: usize = sets.iter().map(|s| s.pending.len()).sum();
    let unknown: usize = sets.iter().map(|s| s.unknown.len()).sum();
    // `--exit-code`: anything that needs attention (pending, or recorded but unknown) is exit 1.
    let outcome = if opts.exit_code && (pending > 0 || unknown > 0) {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    printer.report(&StatusReport {
        command,
        pending_only: opts.pending_only,
        ok: outcome == Outcome::Success,
        pending,
        unknown,
        sets,
    });
    Ok(outcome)
}

/// `status --targets`: where every target of the fleet stands, read `fleet.jobs` at a time.
/// Targets in the same state are grouped, so the odd ones stand out. Exit 1 when a target
/// could not be read, or (with `--exit-code`) when any has pending or unknown migrations.
fn fleet_status(
    resolved: &Resolved,
    opts: &StatusOptions,
    fleet: &crate::targets::Fleet,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    let (ctx, targets) = super::fleet_set(resolved, fleet, "status --targets")?;
    let work = |one: &crate::settings::SetContext, target: &crate::targets::Target| match status_of(
        resolved, one,
    ) {
        Ok(st) => FleetStatusTarget {
            database: target.shown(),
            origin: target.origin.clone(),
            pending: st.pending,
            unknown: st.unknown,
            changed_since_applied: st.changed_since_applied,
            error: None,
        },
        Err(e) => FleetStatusTarget {
            database: target.shown(),
            origin: target.origin.clone(),
            pending: Vec::new(),
            unknown: Vec::new(),
            changed_since_applied: Vec::new(),
            error: Some(e.to_string()),
        },
    };
    let results = super::read_each_target(ctx, &targets, fleet.jobs, &work, printer);
    let targets: Vec<FleetStatusTarget> = results.into_iter().flatten().collect();
    let unreachable = targets.iter().filter(|t| t.error.is_some()).count();
    let behind = targets
        .iter()
        .filter(|t| !t.pending.is_empty() || !t.unknown.is_empty())
        .count();
    let outcome = if unreachable > 0 || (opts.exit_code && behind > 0) {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    printer.report(&FleetStatusReport {
        command: "status",
        ok: outcome == Outcome::Success,
        set: ctx.name().to_string(),
        current: targets.len() - unreachable - behind,
        behind,
        unreachable,
        targets,
    });
    Ok(outcome)
}

/// `status --targets`.
#[derive(Debug, Clone, Serialize)]
pub struct FleetStatusReport {
    /// `"status"`.
    pub command: &'static str,
    /// `false` when a target could not be read, or under `--exit-code` one is behind.
    pub ok: bool,
    /// The set.
    pub set: String,
    /// Targets with nothing pending or unknown.
    pub current: usize,
    /// Targets with pending or unknown migrations.
    pub behind: usize,
    /// Targets that could not be read.
    pub unreachable: usize,
    /// One record per target, in the order listed.
    pub targets: Vec<FleetStatusTarget>,
}

/// Where one target of a fleet stands.
#[derive(Debug, Clone, Serialize)]
pub struct FleetStatusTarget {
    pub database: String,
    pub origin: String,
    pub pending: Vec<String>,
    pub unknown: Vec<String>,
    pub changed_since_applied: Vec<String>,
    /// Why it could not be read.
    pub error: Option<String>,
}

impl Render for FleetStatusReport {
    fn human(&self, p: &Human<'_>) {
        // Group the targets by state, so that 500 identical ones read as one line.
        let mut groups: Vec<(String, Vec<&FleetStatusTarget>)> = Vec::new();
        for t in &self.targets {
            let state = match &t.error {
                Some(e) => format!("unreachable: {}", e.lines().next().unwrap_or_default()),
                None if t.pending.is_empty() && t.unknown.is_empty() => "current".to_string(),
                None => {
                    let mut parts = Vec::new();
                    if !t.pending.is_empty() {
                        parts.push(format!("pending {}", t.pending.join(", ")));
                    }
                    if !t.unknown.is_empty() {
                        parts.push(format!("unknown {}", t.unknown.join(", ")));
                    }
                    parts.join("; ")
                }
            };
            match groups.iter_mut().find(|(s, _)| *s == state) {
                Some((_, members)) => members.push(t),
                None => groups.push((state, vec![t])),
            }
        }
        groups.sort_by_key(|(_, m)| std::cmp::Reverse(m.len()));
        for (state, members) in &groups {
            let painted = if state == "current" {
                state.good().to_string()
            } else {
                state.caution().to_string()
            };
            if members.len() == 1 {
                p.line(format!("{} {painted}", members[0].database));
            } else {
                p.line(format!("{} targets {painted}", members.len()));
                if state != "current" {
                    for m in members {
                        p.line(format!("  {}", m.database));
                    }
                }
            }
        }
        p.result(format!(
            "{}: {} targets, {} current, {} behind, {} unreachable",
            self.set,
            self.targets.len(),
            self.current,
            self.behind,
            self.unreachable
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// The report

/// `status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// `"status"`, or `"pending"`.
    pub command: &'static str,
    /// `pending`: the human listing shows only what is not applied.
    #[serde(skip)]
    pub pending_only: bool,
    /// `false` only under `--exit-code` with something pending or unknown.
    pub ok: bool,
    /// Pending migrations over all sets.
    pub pending: usize,
    /// Unknown versions over all sets.
    pub unknown: usize,
    /// One entry per set.
    pub sets: Vec<SetStatus>,
}

/// The state of one set's database.
#[derive(Debug, Clone, Serialize)]
pub struct SetStatus {
    /// The set's name.
    pub set: String,
    /// The database (password hidden).
    pub database: String,
    /// `false` when the SQLite file does not exist yet.
    pub exists: bool,
    /// Applied migrations of the folder, ascending.
    pub applied: Vec<String>,
    /// Pending migrations, ascending.
    pub pending: Vec<String>,
    /// Recorded as applied, missing from the folder (and from sets sharing the database).
    pub unknown: Vec<String>,
    /// Pending migrations older than the newest applied one.
    pub out_of_order: Vec<String>,
    /// Migrations marked applied or rolled back by hand (`cargo migrate mark`), oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub marked: Vec<crate::db::marks::Mark>,
    /// Pending migrations that failed part way with statements committed (MySQL/MariaDB):
    /// `apply` refuses them while their up.sql is unchanged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partially_applied: Vec<PartialStatus>,
    /// Applied migrations whose down.sql failed part way with statements committed: `revert`
    /// refuses them while their down.sql is unchanged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partially_reverted: Vec<PartialStatus>,
    /// Applied migrations whose files changed since they were applied (their recorded
    /// checksum differs from the folder's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed_since_applied: Vec<String>,
    /// Applied migrations without a recorded checksum (applied by diesel_cli, or by an older
    /// cargo-migrate): nothing is known about whether their files changed since.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unverified: Vec<String>,
    /// The folder's migrations as (version, folder name), for the human listing.
    #[serde(skip)]
    pub migrations: Vec<(String, String)>,
}

/// A pending migration of which some statements are committed.
#[derive(Debug, Clone, Serialize)]
pub struct PartialStatus {
    /// Its version.
    pub version: String,
    /// The statements of the file that ran (1-based) that are committed.
    pub committed_statements: Vec<usize>,
    /// When it failed (UTC).
    pub failed_at: String,
    /// Whether that file changed since (then `apply` or `revert` runs it again).
    pub sql_changed: bool,
}

impl StatusReport {
    /// `pending`: per set, the migrations not applied yet, in the order `apply` runs them.
    fn human_pending(&self, p: &Human<'_>) {
        for st in &self.sets {
            let summary = if st.pending.is_empty() {
                "nothing pending".to_string()
            } else {
                format!("{} pending", st.pending.len())
            };
            p.result(format!(
                "{} {} {}",
                st.set.strong(),
                st.database.dim(),
                format!("({summary})").dim()
            ));
            for (version, dir_name) in &st.migrations {
                if st.pending.contains(version) {
                    p.result(format!("  {dir_name}"));
                }
            }
        }
    }
}

impl Render for StatusReport {
    fn human(&self, p: &Human<'_>) {
        if self.pending_only {
            return self.human_pending(p);
        }
        let r = self;
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
            p.result(format!(
                "{} {} {}",
                st.set.strong(),
                st.database.dim(),
                format!("({summary})").dim()
            ));
            if !st.exists {
                p.line(
                    "  the database file does not exist yet; `cargo migrate apply` creates it"
                        .dim()
                        .to_string(),
                );
            }
            for (version, dir_name) in &st.migrations {
                let out_of_order = st.out_of_order.contains(version);
                let found = st
                    .partially_applied
                    .iter()
                    .find(|p| &p.version == version)
                    .map(|p| (p, "partially applied", "up.sql", "apply"))
                    .or_else(|| {
                        st.partially_reverted
                            .iter()
                            .find(|p| &p.version == version)
                            .map(|p| (p, "partially reverted", "down.sql", "revert"))
                    });
                if let Some((partial, label, file, command)) = found {
                    let numbers = partial
                        .committed_statements
                        .iter()
                        .map(usize::to_string)
                        .collect::<Vec<_>>()
                        .join(", ");
                    let next = if partial.sql_changed {
                        format!("{file} changed since; `{command}` runs it")
                    } else {
                        format!("`{command}` refuses it until {file} holds only the rest")
                    };
                    p.line(format!(
                        "  {}  {dir_name}  {}",
                        label.bad(),
                        format!(
                            "(failed part way on {} UTC; {} {numbers} of {file} {} committed; {next})",
                            partial.failed_at,
                            if partial.committed_statements.len() == 1 { "statement" } else { "statements" },
                            if partial.committed_statements.len() == 1 { "is" } else { "are" },
                        )
                        .caution()
                    ));
                    continue;
                }
                let painted = if st.applied.contains(version) {
                    "applied".good().to_string()
                } else if out_of_order {
                    "pending".caution().strong().to_string()
                } else {
                    "pending".caution().to_string()
                };
                let mut note = if out_of_order {
                    "  (older than the newest applied migration)"
                        .caution()
                        .to_string()
                } else if st.changed_since_applied.contains(version) {
                    "  (its files changed since it was applied)"
                        .bad()
                        .to_string()
                } else {
                    String::new()
                };
                // The latest mark of this version, if it still describes the database.
                if let Some(m) = st.marked.iter().rev().find(|m| &m.version == version) {
                    let applied = st.applied.contains(version);
                    let holds = match m.action {
                        crate::db::marks::MarkAction::Applied => applied,
                        crate::db::marks::MarkAction::RolledBack => !applied,
                    };
                    if holds {
                        note.push_str(
                            &format!(
                                "  (marked {} by hand, not run: {}, {})",
                                m.action.as_str().replace('-', " "),
                                m.note,
                                m.marked_at
                            )
                            .caution()
                            .to_string(),
                        );
                    }
                }
                p.line(format!("  {painted}  {dir_name}{note}"));
            }
            if !st.unverified.is_empty() {
                p.line(
                    format!(
                        "  {} applied without a recorded checksum (by diesel_cli, by hand, or by an older cargo-migrate): edits to them cannot be seen",
                        st.unverified.len()
                    )
                    .dim()
                    .to_string(),
                );
            }
            for v in &st.unknown {
                p.line(format!(
                    "  {}  {v}  {}",
                    "unknown".bad(),
                    "(applied in the database, missing from the folder)".dim()
                ));
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
            p.line(summary);
        }
    }
}
