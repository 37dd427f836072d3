//! What the fleet commands that change their targets (`apply` and `revert` with `--targets`,
//! `--targets-cmd` or `--fleet`) share: the run through the fleet with `--canary`, `--jobs`
//! and `--fail-fast`, and the report with its summary and one record per target.

use serde::Serialize;

use super::{for_each_target, Outcome};
use crate::failure::MigrationFailure;
use crate::output::{Human, Paint, Printer, Render};
use crate::settings::SetContext;
use crate::targets::{Fleet, Target};

/// What a changing fleet command did to its targets, as its report calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// `apply`: migrations applied.
    Apply,
    /// `revert`: migrations reverted.
    Revert,
}

impl Change {
    fn command(self) -> &'static str {
        match self {
            Change::Apply => "apply",
            Change::Revert => "revert",
        }
    }

    /// The outcome of a target this run changed.
    pub(crate) fn changed(self) -> &'static str {
        match self {
            Change::Apply => "migrated",
            Change::Revert => "reverted",
        }
    }

    /// What a target this run left alone was, for people.
    fn unchanged(self) -> &'static str {
        match self {
            Change::Apply => "current",
            Change::Revert => "nothing to revert",
        }
    }
}

/// Work through a fleet with a command that changes its targets, and report it: with
/// `--canary K` the first K targets one at a time, and the rest left alone if any of them
/// fails; then the others `--jobs` at a time, stopping new ones after a failure under
/// `--fail-fast`. Each record is printed as its target finishes.
pub(crate) fn change_each_target(
    change: Change,
    ctx: &SetContext,
    targets: &[Target],
    fleet: &Fleet,
    work: &(dyn Fn(&SetContext, &Target) -> FleetTarget + Sync),
    printer: &Printer,
) -> Outcome {
    let failed = |t: &FleetTarget| matches!(t.outcome, "failed" | "unreachable");
    let work = |one: &SetContext, target: &Target| {
        let result = work(one, target);
        printer.line(result.describe(change));
        result
    };
    let progress = |so_far: &[Option<FleetTarget>], slowest: super::Slowest<'_>| {
        let done = so_far.iter().flatten().count();
        let bad = so_far.iter().flatten().filter(|t| failed(t)).count();
        printer.progress(&format!(
            "{}: {done}/{} targets, {bad} failed{}",
            ctx.name(),
            targets.len(),
            super::slowest_suffix(slowest)
        ));
    };
    let canary = fleet.canary.min(targets.len());
    let mut results = for_each_target(ctx, &targets[..canary], 1, &work, &failed, &progress);
    let canary_failed = results.iter().flatten().any(failed) || results.iter().any(Option::is_none);
    if canary_failed {
        results.extend((canary..targets.len()).map(|_| None));
    } else {
        results.extend(for_each_target(
            ctx,
            &targets[canary..],
            fleet.jobs,
            &work,
            &|t| fleet.fail_fast && failed(t),
            &progress,
        ));
    }
    let not_started = results.iter().filter(|r| r.is_none()).count();
    let targets: Vec<FleetTarget> = results.into_iter().flatten().collect();
    let tally = |o: &str| targets.iter().filter(|t| t.outcome == o).count();
    let changed = tally(change.changed());
    let summary = FleetSummary {
        targets: targets.len() + not_started,
        current: tally("current"),
        migrated: (change == Change::Apply).then_some(changed),
        reverted: (change == Change::Revert).then_some(changed),
        failed: tally("failed"),
        unreachable: tally("unreachable"),
        not_started,
    };
    let ok = summary.failed == 0 && summary.unreachable == 0 && not_started == 0;
    printer.report(&FleetReport {
        command: change.command(),
        ok,
        set: ctx.name().to_string(),
        summary,
        targets,
        change,
    });
    if ok {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}

/// `apply --targets` and `revert --targets`.
#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    /// `"apply"` or `"revert"`.
    pub command: &'static str,
    /// `false` when any target failed, was unreachable or was not started.
    pub ok: bool,
    /// The set worked on.
    pub set: String,
    /// The counts.
    pub summary: FleetSummary,
    /// One record per target worked on, in the order listed.
    pub targets: Vec<FleetTarget>,
    #[serde(skip)]
    change: Change,
}

/// The counts of a fleet run.
#[derive(Debug, Clone, Serialize)]
pub struct FleetSummary {
    pub targets: usize,
    /// Left as they were: at the newest migration (`apply`), nothing applied to revert
    /// (`revert`).
    pub current: usize,
    /// `apply`: migrations were applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrated: Option<usize>,
    /// `revert`: migrations were reverted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverted: Option<usize>,
    /// A migration failed (or was refused).
    pub failed: usize,
    /// The database could not be reached (or used).
    pub unreachable: usize,
    /// Left alone after a failure (`--fail-fast`, or a failed canary).
    pub not_started: usize,
}

/// One target of a fleet run.
#[derive(Debug, Clone, Serialize)]
pub struct FleetTarget {
    /// The database (password hidden).
    pub database: String,
    /// Where it was listed.
    pub origin: String,
    /// `current`, `migrated` (`apply`) or `reverted` (`revert`), `failed` or `unreachable`.
    pub outcome: &'static str,
    /// `apply`: the migrations applied to it by this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<Vec<String>>,
    /// `revert`: the migrations reverted on it by this run, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverted: Option<Vec<String>>,
    /// The migration that failed, with what stayed committed.
    pub failure: Option<MigrationFailure>,
    /// Why it could not be worked on.
    pub error: Option<String>,
}

impl FleetTarget {
    /// A target whose run stopped with an error: `outcome` is `failed` or `unreachable`.
    pub(crate) fn stopped(target: &Target, outcome: &'static str, error: String) -> FleetTarget {
        FleetTarget {
            database: target.shown(),
            origin: target.origin.clone(),
            outcome,
            applied: None,
            reverted: None,
            failure: None,
            error: Some(error),
        }
    }

    /// A target the run got through: `done` are the migrations it ran, `failure` the one that
    /// failed.
    pub(crate) fn ran(
        change: Change,
        target: &Target,
        done: Vec<String>,
        failure: Option<MigrationFailure>,
    ) -> FleetTarget {
        FleetTarget {
            database: target.shown(),
            origin: target.origin.clone(),
            outcome: if failure.is_some() {
                "failed"
            } else if done.is_empty() {
                "current"
            } else {
                change.changed()
            },
            applied: (change == Change::Apply).then(|| done.clone()),
            reverted: (change == Change::Revert).then_some(done),
            failure,
            error: None,
        }
    }

    fn describe(&self, change: Change) -> String {
        let done = self
            .applied
            .iter()
            .chain(&self.reverted)
            .flatten()
            .cloned()
            .collect::<Vec<_>>();
        match self.outcome {
            "current" => format!("{} {}", self.database, change.unchanged().dim()),
            "migrated" | "reverted" => format!(
                "{} {} {}",
                self.database,
                self.outcome.good(),
                format!("({})", done.join(", ")).dim()
            ),
            _ => {
                let why = match (&self.failure, &self.error) {
                    (Some(f), _) => format!("{} failed: {}", f.migration, f.message),
                    (None, Some(e)) => e.lines().next().unwrap_or_default().to_string(),
                    (None, None) => String::new(),
                };
                format!("{} {} {why}", self.database, self.outcome.bad())
            }
        }
    }
}

impl Render for FleetReport {
    fn human(&self, p: &Human<'_>) {
        let s = &self.summary;
        let changed = s.migrated.or(s.reverted).unwrap_or_default();
        let mut line = format!(
            "{}: {} targets, {} {}, {changed} {}, {} failed, {} unreachable",
            self.set,
            s.targets,
            s.current,
            match self.change {
                Change::Apply => "current",
                Change::Revert => "with nothing to revert",
            },
            self.change.changed(),
            s.failed,
            s.unreachable
        );
        if s.not_started > 0 {
            line.push_str(&format!(", {} not started", s.not_started));
        }
        p.result(line);
    }
}
