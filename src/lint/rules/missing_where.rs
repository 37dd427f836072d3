//! `missing-where`: `UPDATE` or `DELETE` without a `WHERE` clause on an existing table.
//!
//! The statement touches every row in one transaction: it locks them all until the migration
//! commits, bloats the table, and on a large table runs far longer than a deploy should. Often
//! it is also simply a mistake.
//!
//! Safe pattern: backfill in batches with a `WHERE` on a key range, ideally outside the schema
//! migration. When the table is known to be small, say so with
//! `-- cargo-migrate: allow(missing-where): <reason>`.

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{Finding, Rule, RuleInfo, StmtCx, ALL_BACKENDS};

pub const ID: &str = "missing-where";

pub struct MissingWhere;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: ALL_BACKENDS,
    summary: "UPDATE or DELETE without WHERE touches and locks every row",
    on_down: false,
};

impl Rule for MissingWhere {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let (verb, table) = match &act.action {
                Action::Update {
                    table,
                    has_where: false,
                } => ("UPDATE", table),
                Action::Delete {
                    table,
                    has_where: false,
                } => ("DELETE", table),
                _ => continue,
            };
            if !table.is_empty() && !cx.is_existing_table(table) {
                continue;
            }
            out.push(cx.finding(
                ID,
                act.at,
                format!("{verb} without WHERE touches every row of `{table}` and locks them until the migration commits"),
                "work in batches with a WHERE on a key range; if the table is small, say so with \
                 `-- cargo-migrate: allow(missing-where): <reason>`",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{lint_errors, Case};

    #[test]
    fn fires_without_where() {
        Case::pg("UPDATE users SET active = true;").fires(ID);
        Case::mysql("DELETE FROM sessions;").fires(ID);
        Case::sqlite("UPDATE users SET a = (SELECT max(x) FROM t WHERE t.id = 1);").fires(ID);
    }

    #[test]
    fn quiet_with_where_or_new_table() {
        Case::pg("UPDATE users SET active = true WHERE id < 1000;\nDELETE FROM sessions WHERE expires < now();")
            .quiet(ID);
        Case::sqlite("CREATE TABLE t (a INT);\nUPDATE t SET a = 1;").quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "UPDATE users SET active = 1;\nDELETE FROM sessions;",
            ID
        ));
    }
}
