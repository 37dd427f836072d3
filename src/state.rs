//! Where a set's database stands: which of its migrations are applied, pending, unknown or out
//! of order, and what a revert would undo.
//!
//! Pure: the versions recorded in the database are read by `db` (see
//! [`crate::db::Connection::applied_versions`]); everything decided from them is decided here,
//! once, for `status`, `apply`, `revert`, `redo`, `baseline` and the live part of `check`.

use std::collections::BTreeSet;

use crate::migration::{Migration, MigrationFolder};

/// How far `revert` goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevertTarget {
    /// The newest N applied migrations.
    Steps(usize),
    /// Keep this version applied; revert everything newer.
    To(String),
    /// Every applied migration of the set.
    All,
}

/// The state of one set's database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseState {
    /// `false` when the database does not exist yet (a SQLite file not created).
    pub exists: bool,
    /// Every version recorded as applied, ascending (including other sets' and unknown ones).
    pub recorded: Vec<String>,
    /// The folder's migrations that are applied, ascending.
    pub applied: Vec<String>,
    /// The folder's migrations that are not, ascending: `apply` runs them in this order.
    pub pending: Vec<String>,
    /// Recorded as applied but in neither the folder nor a set sharing the database.
    pub unknown: Vec<String>,
    /// Pending migrations older than the newest applied one (usually an out-of-order merge).
    pub out_of_order: Vec<String>,
}

/// Why a revert cannot run.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot revert, nothing was changed:\n  {}\nhelp: add the missing down.sql files (or restore the missing folders) first; a migration without down.sql can only be undone by hand", blockers.join("\n  "))]
pub struct RevertBlocked {
    /// One line per migration that blocks.
    pub blockers: Vec<String>,
}

impl DatabaseState {
    /// The state from the versions `recorded` in the database. `siblings` are the versions of
    /// other sets on the same database: theirs, not unknown.
    pub fn new(
        folder: &MigrationFolder,
        recorded: Vec<String>,
        siblings: &BTreeSet<String>,
        exists: bool,
    ) -> DatabaseState {
        let recorded_set: BTreeSet<&str> = recorded.iter().map(String::as_str).collect();
        let in_folder: BTreeSet<&str> = folder
            .migrations
            .iter()
            .map(|m| m.version.as_str())
            .collect();
        let (applied, pending): (Vec<&Migration>, Vec<&Migration>) = folder
            .migrations
            .iter()
            .partition(|m| recorded_set.contains(m.version.as_str()));
        let applied: Vec<String> = applied.iter().map(|m| m.version.clone()).collect();
        let pending: Vec<String> = pending.iter().map(|m| m.version.clone()).collect();
        let unknown = recorded
            .iter()
            .filter(|v| !in_folder.contains(v.as_str()) && !siblings.contains(*v))
            .cloned()
            .collect();
        let newest_applied = applied.iter().max().cloned();
        let out_of_order = pending
            .iter()
            .filter(|v| newest_applied.as_ref().is_some_and(|n| *v < n))
            .cloned()
            .collect();
        DatabaseState {
            exists,
            recorded,
            applied,
            pending,
            unknown,
            out_of_order,
        }
    }

    /// The pending migrations, oldest first, up to and including `to`.
    pub fn pending_upto<'a>(
        &self,
        folder: &'a MigrationFolder,
        to: Option<&str>,
    ) -> Vec<&'a Migration> {
        folder
            .migrations
            .iter()
            .filter(|m| self.pending.contains(&m.version))
            .filter(|m| to.is_none_or(|to| m.version.as_str() <= to))
            .collect()
    }

    /// Of `todo`, the folder names of those older than the newest applied migration.
    pub fn older_than_applied(&self, todo: &[&Migration]) -> Vec<String> {
        let Some(newest) = self.applied.iter().max() else {
            return Vec::new();
        };
        todo.iter()
            .filter(|m| m.version < *newest)
            .map(|m| m.dir_name.clone())
            .collect()
    }

    /// The applied migrations `target` reverts, newest first, or what blocks the revert.
    pub fn revert_plan<'a>(
        &self,
        folder: &'a MigrationFolder,
        siblings: &BTreeSet<String>,
        target: &RevertTarget,
    ) -> Result<Vec<&'a Migration>, RevertBlocked> {
        let mut mine: Vec<&String> = self
            .recorded
            .iter()
            .filter(|v| !siblings.contains(*v))
            .collect();
        mine.sort();
        mine.reverse();
        let chosen: Vec<&String> = match target {
            RevertTarget::Steps(n) => mine.iter().take(*n).copied().collect(),
            RevertTarget::To(v) => mine
                .iter()
                .filter(|a| a.as_str() > v.as_str())
                .copied()
                .collect(),
            RevertTarget::All => mine.clone(),
        };
        let mut out = Vec::new();
        let mut blockers = Vec::new();
        for v in chosen {
            match folder.find(v) {
                Some(m) if m.has_down() => out.push(m),
                Some(m) => blockers.push(format!("{} has no down.sql", m.dir_name)),
                None => blockers.push(format!(
                    "{v} is recorded as applied but is not in the folder"
                )),
            }
        }
        if blockers.is_empty() {
            Ok(out)
        } else {
            Err(RevertBlocked { blockers })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn folder(versions: &[(&str, bool)]) -> MigrationFolder {
        MigrationFolder {
            path: PathBuf::from("/m"),
            migrations: versions
                .iter()
                .map(|(v, down)| Migration {
                    version: v.to_string(),
                    name: "x".into(),
                    dir_name: format!("{v}_x"),
                    dir: PathBuf::from(format!("/m/{v}_x")),
                    up_sql: "SELECT 1;".into(),
                    down_sql: down.then(|| "SELECT 1;".into()),
                    run_in_transaction: true,
                    has_metadata: false,
                })
                .collect(),
            problems: Vec::new(),
        }
    }

    #[test]
    fn applied_pending_unknown_and_out_of_order() {
        let f = folder(&[("1", true), ("2", true), ("3", true)]);
        let siblings = ["9".to_string()].into_iter().collect();
        let st = DatabaseState::new(
            &f,
            vec!["1".into(), "3".into(), "7".into(), "9".into()],
            &siblings,
            true,
        );
        assert_eq!(st.applied, ["1", "3"]);
        assert_eq!(st.pending, ["2"]);
        assert_eq!(st.unknown, ["7"]);
        assert_eq!(st.out_of_order, ["2"]);
        let todo = st.pending_upto(&f, None);
        assert_eq!(st.older_than_applied(&todo), ["2_x"]);
        assert!(st.pending_upto(&f, Some("1")).is_empty());
    }

    #[test]
    fn revert_plans_name_what_blocks_them() {
        let f = folder(&[("1", true), ("2", false), ("3", true)]);
        let none = BTreeSet::new();
        let st = DatabaseState::new(&f, vec!["1".into(), "2".into(), "3".into()], &none, true);
        let plan = st.revert_plan(&f, &none, &RevertTarget::Steps(1)).unwrap();
        assert_eq!(
            plan.iter().map(|m| m.version.as_str()).collect::<Vec<_>>(),
            ["3"]
        );
        let err = st.revert_plan(&f, &none, &RevertTarget::All).unwrap_err();
        assert_eq!(err.blockers, ["2_x has no down.sql"]);
        let plan = st
            .revert_plan(&f, &none, &RevertTarget::To("2".into()))
            .unwrap();
        assert_eq!(plan.len(), 1);
    }
}
