//! `mysql-enum-change`: a MySQL `MODIFY`/`CHANGE` of an `ENUM(...)` column that removes or
//! reorders values, or inserts one anywhere but at the end.
//!
//! MySQL stores an enum as the position of its value. Appending a value at the end only
//! touches metadata; anything else rebuilds the table while blocking writes. Removed values are
//! worse: rows holding them become the empty-string error value, or the statement fails under
//! strict mode. Reordering also changes how `ORDER BY` sorts the column. The column's earlier
//! definition comes from the migration history.
//!
//! Safe pattern: only append values. To retire one, move the rows off it and stop writing it
//! first; remove it from the definition in a later migration, when the rebuild is acceptable.

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{Finding, Rule, RuleInfo, StmtCx, MYSQL};

pub const ID: &str = "mysql-enum-change";

pub struct MysqlEnumChange;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: MYSQL,
    summary:
        "MySQL ENUM column redefined with values removed, reordered or inserted before the end",
    on_down: false,
};

impl Rule for MysqlEnumChange {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let Action::ModifyColumn { table, old, column } = &act.action else {
                continue;
            };
            let Some(new_values) = &column.enum_values else {
                continue;
            };
            let Some(old_values) = cx
                .schema
                .table(table)
                .and_then(|t| t.column(old))
                .and_then(|c| c.enum_values.as_ref())
            else {
                continue;
            };
            let mut problems = Vec::new();
            let removed: Vec<String> = old_values
                .iter()
                .filter(|v| !new_values.contains(v))
                .map(|v| format!("'{v}'"))
                .collect();
            if !removed.is_empty() {
                problems.push(format!(
                    "removes {} (rows holding a removed value become '', or the statement fails in strict mode)",
                    removed.join(", ")
                ));
            }
            let kept_old: Vec<&String> = old_values
                .iter()
                .filter(|v| new_values.contains(v))
                .collect();
            let kept_new: Vec<&String> = new_values
                .iter()
                .filter(|v| old_values.contains(v))
                .collect();
            if kept_old != kept_new {
                problems.push("reorders existing values (stored positions change and ORDER BY sorts differently)".to_string());
            }
            let prefix_ok = new_values.len() >= kept_new.len()
                && new_values[..kept_new.len()].iter().collect::<Vec<_>>() == kept_new;
            if kept_old == kept_new && !prefix_ok {
                problems.push("inserts values before the end (the table is rebuilt instead of changed in place)".to_string());
            }
            if problems.is_empty() {
                continue;
            }
            out.push(cx.finding(
                ID,
                act.at,
                format!("redefining ENUM column `{table}.{old}` {}", problems.join("; ")),
                "append new values at the end of the list only; to retire a value, UPDATE the rows \
                 off it and stop writing it first, then drop it from the definition in a later migration",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::Case;

    const HISTORY: &[&str] = &[
        "CREATE TABLE orders (id INT PRIMARY KEY, status ENUM('new', 'paid', 'shipped') NOT NULL);",
    ];

    #[test]
    fn fires_on_removal_and_reorder() {
        let d = Case::mysql("ALTER TABLE orders MODIFY status ENUM('new', 'shipped') NOT NULL;")
            .after(HISTORY)
            .fires(ID);
        assert!(d[0].message.contains("'paid'"), "{}", d[0].message);
        let d = Case::mysql(
            "ALTER TABLE orders MODIFY COLUMN status ENUM('paid', 'new', 'shipped') NOT NULL;",
        )
        .after(HISTORY)
        .fires(ID);
        assert!(d[0].message.contains("reorders"));
        let d = Case::mysql("ALTER TABLE orders CHANGE status status ENUM('new', 'refunded', 'paid', 'shipped') NOT NULL;")
            .after(HISTORY)
            .fires(ID);
        assert!(d[0].message.contains("before the end"));
    }

    #[test]
    fn quiet_when_appending() {
        Case::mysql(
            "ALTER TABLE orders MODIFY status ENUM('new', 'paid', 'shipped', 'refunded') NOT NULL;",
        )
        .after(HISTORY)
        .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(Case::mysql(
            "ALTER TABLE orders MODIFY status ENUM('shipped', 'new') NOT NULL;"
        )
        .after(HISTORY)
        .rendered(ID));
        insta::assert_snapshot!(
            "inserted",
            Case::mysql("ALTER TABLE orders MODIFY status ENUM('new', 'refunded', 'paid', 'shipped') NOT NULL;")
                .after(HISTORY)
                .rendered(ID)
        );
    }
}
