//! `missing-down-sql`: a migration folder without `down.sql`.
//!
//! Without it, `cargo migrate revert` (and `diesel migration revert`/`redo`) cannot undo the
//! migration, and a bad deploy can only be fixed forward.
//!
//! Safe pattern: write a `down.sql` that undoes `up.sql`. If the migration truly cannot be
//! undone, say so in a comment and silence the rule for the set in configuration.

use crate::lint::config::Level;

use super::{FileState, Finding, MigrationCx, Rule, RuleInfo, ALL_BACKENDS};

pub const ID: &str = "missing-down-sql";

pub struct MissingDownSql;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: ALL_BACKENDS,
    summary: "migration folder has no down.sql, so it cannot be reverted",
    on_down: false,
};

impl Rule for MissingDownSql {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_migration(&self, cx: &MigrationCx<'_>, out: &mut Vec<Finding>) {
        if matches!(cx.down, FileState::Missing) {
            out.push(cx.folder_finding(
                ID,
                format!(
                    "migration `{}` has no down.sql, so it cannot be reverted",
                    cx.migration.dir_name
                ),
                "add a down.sql that undoes up.sql",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::Case;

    #[test]
    fn fires_without_down() {
        let d = Case::pg("CREATE TABLE t (id INT);").down(None).fires(ID);
        assert!(d[0].location.is_none());
        assert!(!d[0].file.as_ref().unwrap().ends_with("down.sql"));
    }

    #[test]
    fn quiet_with_down() {
        Case::pg("CREATE TABLE t (id INT);")
            .down(Some("DROP TABLE t;"))
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(Case::sqlite("CREATE TABLE t (id INT);")
            .down(None)
            .rendered(ID));
    }
}
