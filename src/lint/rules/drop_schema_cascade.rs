//! `drop-schema-cascade`: `DROP SCHEMA … CASCADE` on PostgreSQL.
//!
//! With `CASCADE`, PostgreSQL drops every object in the schema (tables and their rows, views,
//! functions, types, sequences) and every object elsewhere that depends on them, without
//! listing them. Each dropped table is locked ACCESS EXCLUSIVE until the transaction ends.
//! Without `CASCADE` (`RESTRICT`, the default) the drop fails unless the schema is empty,
//! which is the safe behaviour, and is not reported.
//!
//! Safe pattern: drop the schema's objects one by one (each `DROP TABLE` is then checked by
//! `drop-table`), then `DROP SCHEMA` without `CASCADE`.

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{Finding, Rule, RuleInfo, StmtCx, POSTGRES};

pub const ID: &str = "drop-schema-cascade";

pub struct DropSchemaCascade;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: POSTGRES,
    summary: "DROP SCHEMA … CASCADE drops every object in the schema, data included",
    on_down: false,
};

impl Rule for DropSchemaCascade {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let Action::DropSchema {
                name,
                cascade: true,
            } = &act.action
            else {
                continue;
            };
            out.push(cx.finding(
                ID,
                act.at,
                format!(
                    "DROP SCHEMA `{name}` CASCADE drops every table, view, function and type in \
                     it, and everything outside it that depends on them"
                ),
                "drop the schema's objects one by one first, then DROP SCHEMA without CASCADE, \
                 which fails instead of dropping something left over",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn fires_on_cascade() {
        let d = Case::pg("DROP SCHEMA IF EXISTS reporting CASCADE;").fires(ID);
        assert_eq!(at(&d[0]), (1, 23));
    }

    #[test]
    fn quiet_without_cascade_or_allowed() {
        Case::pg("DROP SCHEMA reporting;").quiet(ID);
        Case::pg("DROP SCHEMA reporting RESTRICT;").quiet(ID);
        Case::pg("-- cargo-migrate: allow(drop-schema-cascade): scratch schema of the importer\nDROP SCHEMA import CASCADE;")
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors("DROP SCHEMA reporting CASCADE;", ID));
    }
}
