//! Progress as it happens: what the services below the commands tell whoever is watching.
//!
//! `apply`, `revert`, `redo` and `baseline` print a line per migration while they run, and say
//! when they wait for a database or a lock. The services that do the work ([`crate::db::run`],
//! the commands' set loops) emit an [`Event`] for each of those moments to a [`Progress`]; the
//! printer implements it for people, and [`Silent`] ignores everything (library callers, JSON
//! runs where the document says it all). Nothing here prints.

use std::time::Duration;

use crate::database_url::DatabaseUrl;
use crate::diagnostic::Diagnostic;
use crate::migration::Direction;

/// Something worth telling a person while a command runs.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A set's turn begins.
    SetStarted {
        /// The set.
        set: &'a str,
        /// Its database.
        database: &'a DatabaseUrl,
    },
    /// The database does not accept connections yet; retrying for this long.
    WaitingForDatabase {
        /// The `--wait` budget.
        seconds: u64,
    },
    /// Another process holds the migration lock.
    WaitingForLock,
    /// There is nothing to run in this direction.
    NothingToRun(Direction),
    /// A warning that does not stop the run.
    Warning(&'a str),
    /// A dry run would run this migration.
    WouldRun {
        /// The folder name.
        dir_name: &'a str,
        /// Which file.
        direction: Direction,
    },
    /// A migration ran.
    Ran {
        /// The folder name.
        dir_name: &'a str,
        /// Which file.
        direction: Direction,
        /// How long it took.
        took: Duration,
        /// Whether the run mixes directions (revert, redo), so labels are aligned.
        mixed: bool,
    },
    /// A migration failed; the run stops.
    Failed {
        /// The folder name.
        dir_name: &'a str,
        /// The finding that explains it.
        diagnostic: &'a Diagnostic,
        /// Whether the run mixes directions (revert, redo), so labels are aligned.
        mixed: bool,
    },
    /// A migration was recorded as applied without running (`baseline`).
    Recorded {
        /// The folder name.
        dir_name: &'a str,
    },
}

/// Whoever watches a command run.
pub trait Progress: Sync {
    /// Something happened.
    fn event(&self, event: Event<'_>);
}

/// A watcher that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _event: Event<'_>) {}
}
