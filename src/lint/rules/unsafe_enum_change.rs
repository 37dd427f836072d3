//! `unsafe-enum-change`: PostgreSQL enum changes that lose data, fail, or break running code.
//!
//! PostgreSQL cannot remove a label from an enum; the only way is to build a new type and
//! move the columns over. Done carelessly this fails half-way or drops data. The rule reads
//! each statement against the enum types and columns the earlier migrations created, and
//! reports:
//!
//! * `DROP TYPE` of an enum a column still uses (it fails, or with `CASCADE` drops the column);
//! * `ALTER TYPE … RENAME VALUE` (code still writing the old label starts failing);
//! * converting a column from one enum to another without `USING` (there is no implicit cast);
//! * converting a column to an enum that lacks some of its current labels when no earlier
//!   statement of the same migration moved the rows off those labels (`UPDATE`/`DELETE` on
//!   that table mentioning the label): any such row makes the cast fail;
//! * renaming a type away, recreating it, and leaving columns on the old type.
//!
//! The rename-recreate-drop pattern is done right, and not reported, when in one migration:
//! rows are moved off every removed label first, the old type is renamed, the new type is
//! created under the old name, every column is converted with
//! `ALTER COLUMN … TYPE new USING col::text::new`, and the old type is dropped once no column
//! uses it.

use std::collections::BTreeSet;

use crate::lint::config::Level;
use crate::lint::model::{string_literals, type_key, Action};

use super::{EndCx, Finding, Place, Rule, RuleInfo, StmtCx, POSTGRES};

pub const ID: &str = "unsafe-enum-change";

pub struct UnsafeEnumChange;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: POSTGRES,
    summary: "enum value removal or enum rewrite that fails, loses data or breaks running code",
    on_down: false,
};

fn pattern(ty: &str, table: &str, column: &str) -> String {
    format!(
        "remove enum values with rename-recreate-drop, in one migration:\n\
         UPDATE {table} SET {column} = '<kept value>' WHERE {column} = '<removed value>';\n\
         ALTER TYPE {ty} RENAME TO {ty}_old;\n\
         CREATE TYPE {ty} AS ENUM (<kept values>);\n\
         ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT;  -- only if the column has one\n\
         ALTER TABLE {table} ALTER COLUMN {column} TYPE {ty} USING {column}::text::{ty};\n\
         ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT '<kept value>';  -- restore it\n\
         DROP TYPE {ty}_old;"
    )
}

impl Rule for UnsafeEnumChange {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for act in &cx.facts.actions {
            match &act.action {
                Action::EnumRenameValue { name, from, to } => out.push(cx.finding(
                    ID,
                    act.at,
                    format!("renaming label '{from}' of enum `{name}` to '{to}' breaks code that still reads or writes '{from}'"),
                    format!(
                        "add '{to}' with ALTER TYPE {name} ADD VALUE, move rows over and deploy code that uses it; \
                         remove '{from}' later with rename-recreate-drop"
                    ),
                )),
                Action::DropType { name, cascade } => {
                    let users = cx.schema.columns_of_type(name);
                    let Some((t, c)) = users.first() else { continue };
                    let outcome = if *cascade {
                        "CASCADE drops the column and its data"
                    } else {
                        "the statement fails"
                    };
                    out.push(cx.finding(
                        ID,
                        act.at,
                        format!("DROP TYPE `{name}` while column `{t}.{c}` still uses it: {outcome}"),
                        format!("convert every column to the new type before dropping the old one.\n{}", pattern(name, t, c)),
                    ));
                }
                Action::AlterColumnType { table, column, ty, using } => {
                    let Some(old) = cx.schema.table(table).and_then(|t| t.column(column)) else { continue };
                    let old_key = old.type_key();
                    let new_key = type_key(ty);
                    let (Some(old_labels), Some(new_labels)) =
                        (cx.schema.enums.get(&old_key), cx.schema.enums.get(&new_key))
                    else {
                        continue;
                    };
                    if !using {
                        out.push(cx.finding(
                            ID,
                            act.at,
                            format!("`{table}.{column}` changes from enum `{old_key}` to enum `{new_key}` without USING: PostgreSQL has no cast between enum types and the statement fails"),
                            format!("write `ALTER TABLE {table} ALTER COLUMN {column} TYPE {new_key} USING {column}::text::{new_key}`"),
                        ));
                        continue;
                    }
                    let removed: Vec<&String> = old_labels.iter().filter(|l| !new_labels.contains(l)).collect();
                    let unhandled: BTreeSet<&String> = removed
                        .into_iter()
                        .filter(|label| !moved_off(cx, table, label))
                        .collect();
                    if unhandled.is_empty() {
                        continue;
                    }
                    let list: Vec<String> = unhandled.iter().map(|l| format!("'{l}'")).collect();
                    out.push(cx.finding(
                        ID,
                        act.at,
                        format!(
                            "enum `{new_key}` drops {} which rows of `{table}.{column}` may still hold; the conversion fails on the first such row",
                            list.join(", ")
                        ),
                        format!("first move the rows off the removed values in this migration.\n{}", pattern(&new_key, table, column)),
                    ));
                }
                _ => {}
            }
        }
    }

    fn check_file_end(&self, cx: &EndCx<'_>, out: &mut Vec<Finding>) {
        for (index, facts) in cx.file.facts.iter().enumerate() {
            for a in facts.iter() {
                let Action::RenameType { from, to } = a else {
                    continue;
                };
                if !cx.schema.enums.contains_key(from) {
                    continue;
                }
                let left = cx.schema.columns_of_type(to);
                let Some((t, c)) = left.first() else { continue };
                out.push(Finding {
                    rule: ID,
                    message: format!(
                        "enum `{from}` is recreated, but column `{t}.{c}` still uses the renamed old type `{to}`"
                    ),
                    help: format!("convert the column in this migration.\n{}", pattern(from, t, c)),
                    place: Place { file: Some(cx.file.kind), stmt: Some(index), at: Some(cx.file.head(index)) },
                });
            }
        }
    }
}

/// An earlier UPDATE/DELETE of this migration on `table` that mentions `label`.
fn moved_off(cx: &StmtCx<'_>, table: &str, label: &str) -> bool {
    cx.earlier().any(|(i, facts)| {
        let touches = facts.iter().any(|a| {
            matches!(a, Action::Update { table: t, .. } | Action::Delete { table: t, .. } if t == table)
        });
        touches && string_literals(cx.file.split, &cx.file.split.statements[i], label).next().is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::rules::change_column_type;
    use crate::lint::testing::Case;

    const HISTORY: &[&str] = &["CREATE TYPE mood AS ENUM ('happy', 'sad', 'meh');\nCREATE TABLE people (id INT, m mood NOT NULL);"];

    const DONE_RIGHT: &str = "UPDATE people SET m = 'sad' WHERE m = 'meh';\n\
        ALTER TYPE mood RENAME TO mood_old;\n\
        CREATE TYPE mood AS ENUM ('happy', 'sad');\n\
        ALTER TABLE people ALTER COLUMN m TYPE mood USING m::text::mood;\n\
        DROP TYPE mood_old;";

    #[test]
    fn quiet_on_rename_recreate_drop_done_right() {
        Case::pg(DONE_RIGHT).after(HISTORY).quiet(ID);
        Case::pg(DONE_RIGHT)
            .after(HISTORY)
            .quiet(change_column_type::ID);
    }

    #[test]
    fn fires_without_moving_rows_first() {
        let sql = DONE_RIGHT.replace("UPDATE people SET m = 'sad' WHERE m = 'meh';\n", "");
        let d = Case::pg(&sql).after(HISTORY).fires(ID);
        assert!(d[0].message.contains("'meh'"), "{}", d[0].message);
        assert!(d[0].help.as_ref().unwrap().contains("RENAME TO mood_old"));
    }

    #[test]
    fn fires_on_drop_type_still_in_use() {
        let d = Case::pg("DROP TYPE mood CASCADE;\nCREATE TYPE mood AS ENUM ('happy');")
            .after(HISTORY)
            .fires(ID);
        assert!(d[0].message.contains("people.m") && d[0].message.contains("CASCADE"));
    }

    #[test]
    fn fires_on_recreate_without_converting() {
        let d = Case::pg(
            "ALTER TYPE mood RENAME TO mood_old;\nCREATE TYPE mood AS ENUM ('happy', 'sad');",
        )
        .after(HISTORY)
        .fires(ID);
        assert!(
            d[0].message
                .contains("still uses the renamed old type `mood_old`"),
            "{}",
            d[0].message
        );
    }

    #[test]
    fn fires_on_rename_value_and_missing_using() {
        Case::pg("ALTER TYPE mood RENAME VALUE 'meh' TO 'neutral';")
            .after(HISTORY)
            .fires(ID);
        let sql = DONE_RIGHT.replace(" USING m::text::mood", "");
        let d = Case::pg(&sql).after(HISTORY).fires(ID);
        assert!(d.iter().any(|d| d.message.contains("without USING")));
    }

    #[test]
    fn quiet_on_adding_values_and_unused_types() {
        Case::pg("ALTER TYPE mood ADD VALUE 'ecstatic';")
            .after(HISTORY)
            .quiet(ID);
        Case::pg("CREATE TYPE color AS ENUM ('red');\nDROP TYPE color;")
            .after(HISTORY)
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        let sql = DONE_RIGHT.replace("UPDATE people SET m = 'sad' WHERE m = 'meh';\n", "");
        insta::assert_snapshot!(Case::pg(&sql).after(HISTORY).rendered(ID));
        insta::assert_snapshot!(
            "drop_type",
            Case::pg("DROP TYPE mood CASCADE;")
                .after(HISTORY)
                .rendered(ID)
        );
        insta::assert_snapshot!(
            "rename_value",
            Case::pg("ALTER TYPE mood RENAME VALUE 'meh' TO 'neutral';")
                .after(HISTORY)
                .rendered(ID)
        );
        insta::assert_snapshot!(
            "no_using",
            Case::pg(&DONE_RIGHT.replace(" USING m::text::mood", ""))
                .after(HISTORY)
                .rendered(ID)
        );
        insta::assert_snapshot!(
            "not_converted",
            Case::pg(
                "ALTER TYPE mood RENAME TO mood_old;\nCREATE TYPE mood AS ENUM ('happy', 'sad');"
            )
            .after(HISTORY)
            .rendered(ID)
        );
    }
}
