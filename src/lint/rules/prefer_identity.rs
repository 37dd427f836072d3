//! `prefer-identity`: a PostgreSQL `SERIAL`, `BIGSERIAL` or `SMALLSERIAL` column in a new
//! table or an added column.
//!
//! `serial` is not a type but a shorthand for an integer column whose default is `nextval` of
//! a sequence the column owns. The sequence keeps its own permissions (a role allowed to insert
//! into the table also needs `USAGE` on it), explicit ids can be inserted past it so that a
//! later insert collides, and copying the table definition (`CREATE TABLE … (LIKE …)`) shares
//! the sequence instead of making one. `GENERATED … AS IDENTITY` is the SQL-standard form
//! without these traps; PostgreSQL recommends it since version 10, and diesel maps both to the
//! same Rust type. No lock is involved: this is about the schema, not about running the
//! migration.
//!
//! Safe pattern: `id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY` (or `BY DEFAULT`, to
//! allow explicit ids).

use crate::lint::config::Level;
use crate::lint::model::{Action, Column};

use super::{Finding, Rule, RuleInfo, StmtCx, POSTGRES};

pub const ID: &str = "prefer-identity";

pub struct PreferIdentity;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: POSTGRES,
    summary: "SERIAL column where GENERATED … AS IDENTITY avoids the sequence's pitfalls",
    on_down: false,
};

/// The integer type an identity column of this serial type has.
fn identity_type(column: &Column) -> Option<&'static str> {
    match column.type_key().as_str() {
        "serial" | "serial4" => Some("INTEGER"),
        "bigserial" | "serial8" => Some("BIGINT"),
        "smallserial" | "serial2" => Some("SMALLINT"),
        _ => None,
    }
}

impl Rule for PreferIdentity {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let columns: Vec<&Column> = match &act.action {
                Action::CreateTable { columns, .. } => columns.iter().collect(),
                Action::AddColumn { column, .. } => vec![column],
                _ => continue,
            };
            for column in columns {
                let Some(int) = identity_type(column) else {
                    continue;
                };
                let name = &column.name;
                out.push(cx.finding(
                    ID,
                    cx.column_type_at(name).or(act.at),
                    format!(
                        "column `{name}` is {}: a sequence with its own permissions, which \
                         explicit ids can run past",
                        column.ty.to_uppercase()
                    ),
                    format!("write `{name} {int} GENERATED ALWAYS AS IDENTITY` (or `BY DEFAULT`) instead; diesel reads it the same"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn fires_on_serial_columns() {
        let d =
            Case::pg("CREATE TABLE users (\n  id BIGSERIAL PRIMARY KEY,\n  n SERIAL\n);").fires(ID);
        assert_eq!(d.len(), 2);
        assert_eq!(at(&d[0]), (2, 6));
        assert!(d[0].help.as_deref().unwrap().contains("BIGINT GENERATED"));
        Case::pg("ALTER TABLE users ADD COLUMN n smallserial;").fires(ID);
    }

    #[test]
    fn quiet_on_identity_and_integers_or_allowed() {
        Case::pg("CREATE TABLE users (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, serial_no INT);")
            .quiet(ID);
        Case::pg("-- cargo-migrate: allow(prefer-identity): matches the other tables\nCREATE TABLE users (id SERIAL PRIMARY KEY);")
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "CREATE TABLE users (id SERIAL PRIMARY KEY);",
            ID
        ));
    }
}
