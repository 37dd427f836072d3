//! `constraint-without-not-valid`: adding a `FOREIGN KEY` or `CHECK` constraint to an existing
//! PostgreSQL table without `NOT VALID` (also as `ADD COLUMN … REFERENCES`), or validating it
//! in the same transaction.
//!
//! Without `NOT VALID`, PostgreSQL checks every existing row while holding a lock that blocks
//! writes (ACCESS EXCLUSIVE for a check; SHARE ROW EXCLUSIVE on both tables for a foreign key).
//! `ADD COLUMN … REFERENCES` adds a foreign key the same way, validated at once: the altered
//! table is locked ACCESS EXCLUSIVE for the `ADD COLUMN`, and the referenced table SHARE ROW
//! EXCLUSIVE (no writes) while every row is checked. `VALIDATE CONSTRAINT` takes a weaker lock,
//! but only helps in a later transaction: in the same one, the strong lock from
//! `ADD CONSTRAINT` is still held.
//!
//! Safe pattern: `ADD CONSTRAINT … NOT VALID` in one migration, `VALIDATE CONSTRAINT` in the
//! next; for a new column, add it without `REFERENCES` first.

use crate::lint::config::Level;
use crate::lint::model::{Action, ConstraintKind};

use super::{Finding, Rule, RuleInfo, StmtCx, POSTGRES};

pub const ID: &str = "constraint-without-not-valid";

pub struct ConstraintWithoutNotValid;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: POSTGRES,
    summary: "FOREIGN KEY (also ADD COLUMN … REFERENCES) or CHECK added to an existing table without NOT VALID",
    on_down: false,
};

impl Rule for ConstraintWithoutNotValid {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            match &act.action {
                Action::AddConstraint {
                    table,
                    kind: kind @ (ConstraintKind::ForeignKey | ConstraintKind::Check),
                    not_valid: false,
                    ..
                } if cx.is_existing_table(table) => {
                    let what = if *kind == ConstraintKind::ForeignKey {
                        "FOREIGN KEY"
                    } else {
                        "CHECK"
                    };
                    out.push(cx.finding(
                        ID,
                        act.at,
                        format!("adding a {what} constraint to `{table}` checks every row while blocking writes"),
                        "add it with NOT VALID (new rows are checked at once), then run \
                         `ALTER TABLE ... VALIDATE CONSTRAINT ...` in a later migration",
                    ));
                }
                Action::AddColumn { table, column }
                    if column.references && cx.is_existing_table(table) =>
                {
                    let name = &column.name;
                    out.push(cx.finding(
                        ID,
                        act.at,
                        format!("adding column `{name}` with REFERENCES to `{table}` adds a FOREIGN KEY that checks every row while blocking writes to both tables"),
                        format!(
                            "add the column without REFERENCES, then `ALTER TABLE {table} ADD CONSTRAINT ... \
                             FOREIGN KEY ({name}) REFERENCES ... NOT VALID`, and run `VALIDATE CONSTRAINT` in a later migration"
                        ),
                    ));
                }
                Action::ValidateConstraint { table, name } if cx.file.in_transaction() => {
                    let added_here = cx.earlier().any(|(_, f)| {
                        f.iter().any(|a| matches!(a, Action::AddConstraint { name: Some(n), table: t, .. } if n == name && t == table))
                    });
                    if added_here {
                        out.push(cx.finding(
                            ID,
                            act.at,
                            format!("constraint `{name}` is validated in the same transaction that adds it, so the write-blocking lock is held during validation"),
                            "move `VALIDATE CONSTRAINT` to a later migration",
                        ));
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{lint_errors, Case};

    #[test]
    fn fires_without_not_valid() {
        let d = Case::pg(
            "ALTER TABLE posts ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);",
        )
        .fires(ID);
        assert!(d[0].message.contains("FOREIGN KEY"));
        Case::pg("ALTER TABLE posts ADD CONSTRAINT c CHECK (n > 0);").fires(ID);
    }

    #[test]
    fn fires_on_add_column_references() {
        let d =
            Case::pg("ALTER TABLE posts ADD COLUMN user_id INT REFERENCES users (id);").fires(ID);
        assert!(d[0].message.contains("`user_id` with REFERENCES"));
        assert_eq!(crate::lint::testing::at(&d[0]), (1, 30));
    }

    #[test]
    fn quiet_on_add_column_references_to_a_new_table_or_allowed() {
        Case::pg("CREATE TABLE posts (id INT);\nALTER TABLE posts ADD COLUMN user_id INT REFERENCES users (id);")
            .quiet(ID);
        Case::pg("ALTER TABLE posts ADD COLUMN user_id INT;").quiet(ID);
        Case::pg("-- cargo-migrate: allow(constraint-without-not-valid): posts is empty until launch\nALTER TABLE posts ADD COLUMN user_id INT REFERENCES users (id);")
            .quiet(ID);
    }

    #[test]
    fn fires_on_validate_in_same_transaction() {
        let d = Case::pg("ALTER TABLE posts ADD CONSTRAINT c CHECK (n > 0) NOT VALID;\nALTER TABLE posts VALIDATE CONSTRAINT c;")
            .fires(ID);
        assert!(d[0].message.contains("same transaction"));
    }

    #[test]
    fn quiet_with_not_valid_or_new_table() {
        Case::pg("ALTER TABLE posts ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;")
            .quiet(ID);
        Case::pg("ALTER TABLE posts VALIDATE CONSTRAINT fk;").quiet(ID);
        Case::pg("CREATE TABLE posts (id INT, n INT);\nALTER TABLE posts ADD CONSTRAINT c CHECK (n > 0);")
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "ALTER TABLE posts ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);\n\
             ALTER TABLE posts ADD CONSTRAINT c CHECK (n > 0) NOT VALID;\n\
             ALTER TABLE posts VALIDATE CONSTRAINT c;",
            ID
        ));
        insta::assert_snapshot!(
            "add_column_references",
            Case::pg("ALTER TABLE posts ADD COLUMN user_id INT REFERENCES users (id);")
                .rendered(ID)
        );
    }
}
