//! `change-column-type`: changing the type of an existing column (PostgreSQL
//! `ALTER COLUMN … TYPE`, MySQL `MODIFY`/`CHANGE` with a different type).
//!
//! Most type changes rewrite the whole table and its indexes under an exclusive lock
//! (PostgreSQL ACCESS EXCLUSIVE; MySQL copies the table and blocks writes), and running code
//! may not understand the new type. Not reported: widening a PostgreSQL `varchar(n)` to a larger
//! limit or to `text` (no rewrite; MySQL may still copy the table, so it is reported there), and enum-to-enum conversions, which `unsafe-enum-change`
//! and `mysql-enum-change` judge. A MySQL `MODIFY` of a column the history does not know is
//! reported, since the old type cannot be compared.
//!
//! Safe pattern: add a new column with the new type, backfill it in batches, switch the code to
//! it, and drop the old column in a later migration.

use crate::lint::config::Level;
use crate::lint::model::{type_key, Action};

use super::{Finding, Rule, RuleInfo, StmtCx, POSTGRES_MYSQL};

pub const ID: &str = "change-column-type";

pub struct ChangeColumnType;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: POSTGRES_MYSQL,
    summary: "column type change rewrites the table under an exclusive lock",
    on_down: false,
};

const HELP: &str =
    "add a new column with the new type, backfill it in batches, switch the code to it, \
                    and drop the old column in a later migration";

/// The length limit of a varchar type, `Some(None)` for an unlimited varchar or text.
fn varchar_limit(ty: &str) -> Option<Option<u64>> {
    let ty = ty.trim();
    if ty == "text" || ty == "varchar" || ty == "character varying" {
        return Some(None);
    }
    let rest = ty
        .strip_prefix("varchar")
        .or_else(|| ty.strip_prefix("character varying"))?;
    let n = rest
        .trim()
        .strip_prefix('(')?
        .strip_suffix(')')?
        .trim()
        .parse()
        .ok()?;
    Some(Some(n))
}

/// A PostgreSQL change that only relaxes a varchar limit.
fn is_widening(old: &str, new: &str) -> bool {
    match (varchar_limit(old), varchar_limit(new)) {
        (Some(Some(_)), Some(None)) => true,
        (Some(Some(a)), Some(Some(b))) => b >= a,
        (Some(None), Some(None)) => old == new || new == "text",
        _ => false,
    }
}

impl Rule for ChangeColumnType {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            let (table, new_ty, old_name) = match &act.action {
                Action::AlterColumnType {
                    table, column, ty, ..
                } => (table, ty, column),
                Action::ModifyColumn { table, old, column }
                    if cx.backend().redefines_columns_with_modify() =>
                {
                    (table, &column.ty, old)
                }
                _ => continue,
            };
            if !cx.is_existing_table(table) {
                continue;
            }
            let old = cx.schema.table(table).and_then(|t| t.column(old_name));
            let message = match old {
                Some(old) => {
                    let (old_key, new_key) = (old.type_key(), type_key(new_ty));
                    let enum_to_enum = (cx.schema.enums.contains_key(&old_key) && cx.schema.enums.contains_key(&new_key))
                        || (old.enum_values.is_some() && new_ty.starts_with("enum"));
                    let widening = cx.backend().widens_varchar_in_place() && is_widening(&old.ty, new_ty);
                    if old.ty == *new_ty || enum_to_enum || widening {
                        continue;
                    }
                    format!("changing `{table}.{old_name}` from `{}` to `{new_ty}` rewrites the table under an exclusive lock", old.ty)
                }
                None if matches!(act.action, Action::ModifyColumn { .. }) => format!(
                    "redefining `{table}.{old_name}` as `{new_ty}` may change its type (the migration history does not show the old one); a type change copies the table and blocks writes"
                ),
                None => format!("changing `{table}.{old_name}` to `{new_ty}` rewrites the table under an exclusive lock"),
            };
            out.push(cx.finding(ID, act.at, message, HELP));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{lint_errors, Case};

    #[test]
    fn fires_on_type_changes() {
        let d = Case::pg("ALTER TABLE users ALTER COLUMN age TYPE BIGINT;")
            .after(&["CREATE TABLE users (id INT, age INT);"])
            .fires(ID);
        assert!(
            d[0].message.contains("from `int` to `bigint`"),
            "{}",
            d[0].message
        );
        Case::mysql("ALTER TABLE users MODIFY age BIGINT NOT NULL;")
            .after(&["CREATE TABLE users (id INT, age INT NOT NULL);"])
            .fires(ID);
        Case::mysql("ALTER TABLE users CHANGE age years SMALLINT;").fires(ID);
        // MySQL copies the table when a VARCHAR crosses 255 bytes; only PostgreSQL widening is free.
        Case::mysql("ALTER TABLE users MODIFY name VARCHAR(500);")
            .after(&["CREATE TABLE users (id INT, name VARCHAR(255));"])
            .fires(ID);
    }

    #[test]
    fn quiet_on_widening_same_type_or_new_table() {
        Case::pg("ALTER TABLE users ALTER COLUMN name TYPE VARCHAR(200);\nALTER TABLE users ALTER COLUMN bio TYPE TEXT;")
            .after(&["CREATE TABLE users (id INT, name VARCHAR(100), bio VARCHAR(10));"])
            .quiet(ID);
        Case::mysql("ALTER TABLE users MODIFY age INT NOT NULL COMMENT 'years';")
            .after(&["CREATE TABLE users (id INT, age INT);"])
            .quiet(ID);
        Case::pg("CREATE TABLE t (a INT);\nALTER TABLE t ALTER COLUMN a TYPE BIGINT;").quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(Case::pg("ALTER TABLE users ALTER COLUMN age TYPE BIGINT;")
            .after(&["CREATE TABLE users (id INT, age INT);"])
            .rendered(ID));
        insta::assert_snapshot!(
            "unknown_column",
            lint_errors("ALTER TABLE users ALTER COLUMN age TYPE BIGINT;", ID)
        );
        insta::assert_snapshot!(
            "mysql_unknown_column",
            Case::mysql("ALTER TABLE users MODIFY age BIGINT NOT NULL;").rendered(ID)
        );
    }
}
