//! `drop-table`: dropping an existing table.
//!
//! All its rows are lost, and running code that still queries it fails. With `CASCADE`,
//! PostgreSQL also drops the views and foreign keys that depend on it.
//!
//! Not reported: the table-rebuild recipe, where a table created in the same file is renamed
//! to the dropped table's name afterwards (the rows were copied over).
//!
//! Safe pattern: stop using the table in code and deploy first; drop it in a later migration,
//! after a backup if its data may be needed again.

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{Finding, Rule, RuleInfo, StmtCx, ALL_BACKENDS};

pub const ID: &str = "drop-table";

pub struct DropTable;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: ALL_BACKENDS,
    summary: "dropping a table loses its data and breaks code that still uses it",
    on_down: false,
};

impl Rule for DropTable {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let Action::DropTable { table, cascade } = &act.action else {
                continue;
            };
            if !cx.is_existing_table(table) || is_rebuild(cx, table) {
                continue;
            }
            let extra = if *cascade {
                " CASCADE also drops the views and foreign keys that depend on it."
            } else {
                ""
            };
            out.push(cx.finding(
                ID,
                act.at,
                format!("dropping table `{table}` deletes all its rows, and code built before this migration still uses it.{extra}"),
                "stop using the table in code and deploy first, then drop it in a later migration (after a backup)",
            ));
        }
    }
}

/// The table-rebuild recipe: a table created in this file is renamed to `table` later on.
fn is_rebuild(cx: &StmtCx<'_>, table: &str) -> bool {
    let mut created: Vec<&str> = cx.created.tables.iter().map(String::as_str).collect();
    for facts in cx.file.facts.iter().skip(cx.index + 1) {
        for a in facts.iter() {
            match a {
                Action::CreateTable { table: t, .. } => created.push(t),
                Action::RenameTable { from, to }
                    if to == table && created.contains(&from.as_str()) =>
                {
                    return true
                }
                _ => {}
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{lint_errors, lint_ok, Case};

    #[test]
    fn fires_on_drop() {
        let d = Case::pg("DROP TABLE IF EXISTS sessions CASCADE;").fires(ID);
        assert!(d[0].message.contains("CASCADE"));
        Case::mysql("DROP TABLE a, b;").fires(ID);
    }

    #[test]
    fn quiet_on_tables_created_here() {
        // SQLite's table rebuild: the data moves to the new table before the old one goes.
        lint_ok(
            "CREATE TABLE new_t (id INTEGER PRIMARY KEY);\nINSERT INTO new_t SELECT id FROM t;\nDROP TABLE t;\nALTER TABLE new_t RENAME TO t;",
            ID,
        );
        lint_ok("CREATE TABLE tmp (id INTEGER);\nDROP TABLE tmp;", ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors("DROP TABLE sessions;", ID));
        insta::assert_snapshot!(
            "cascade",
            Case::pg("DROP TABLE sessions CASCADE;").rendered(ID)
        );
    }
}
