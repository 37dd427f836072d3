//! SQLite introspection: three queries over `sqlite_master` joined with the table-valued
//! pragmas `pragma_table_xinfo`, `pragma_foreign_key_list` and (only when
//! `sqlite_integer_primary_key_is_bigint` is on) `pragma_table_list`.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text};

use super::IntrospectError;
use crate::schema::model::{
    safe_foreign_keys, Column, ColumnType, ForeignKey, Schema, Table, TableName,
};
use crate::schema::options::{ColumnSorting, PrintSchemaOptions};

const TABLE_FILTER: &str =
    "m.type = 'table' AND m.name NOT LIKE '\\_\\_%' ESCAPE '\\' AND m.name NOT LIKE 'sqlite%'";

/// Names SQLite accepts for the implicit row id, in order of preference.
const ROWID_ALIASES: &[&str] = &["rowid", "oid", "_rowid_"];

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    type_name: String,
    #[diesel(sql_type = Bool)]
    not_null: bool,
    #[diesel(sql_type = BigInt)]
    pk: i64,
}

#[derive(QueryableByName)]
struct ForeignKeyRow {
    #[diesel(sql_type = Text)]
    child: String,
    #[diesel(sql_type = Text)]
    parent: String,
    #[diesel(sql_type = Text)]
    from_col: String,
    #[diesel(sql_type = Nullable<Text>)]
    to_col: Option<String>,
}

#[derive(QueryableByName)]
struct TableListRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Integer)]
    wr: i32,
}

struct RawColumn {
    name: String,
    type_name: String,
    nullable: bool,
    pk: bool,
}

fn primary_key_of(columns: &[RawColumn]) -> Vec<String> {
    let mut pk: Vec<String> = columns
        .iter()
        .filter(|c| c.pk)
        .map(|c| c.name.clone())
        .collect();
    if pk.is_empty() {
        if let Some(alias) = ROWID_ALIASES
            .iter()
            .find(|a| !columns.iter().any(|c| c.name == **a))
        {
            pk.push((*alias).to_owned());
        }
    }
    pk
}

/// Reads a SQLite database into the schema model, following `opts`.
pub fn sqlite(
    conn: &mut diesel::SqliteConnection,
    opts: &PrintSchemaOptions,
) -> Result<Schema, IntrospectError> {
    if opts.schema.is_some() {
        return Err(IntrospectError::SqliteSchema);
    }
    let rows: Vec<ColumnRow> = diesel::sql_query(format!(
        "SELECT m.name AS table_name, p.name AS column_name, p.type AS type_name, \
         p.\"notnull\" AS not_null, p.pk AS pk \
         FROM sqlite_master m, pragma_table_xinfo(m.name) p \
         WHERE {TABLE_FILTER} ORDER BY m.name, p.cid"
    ))
    .load(conn)
    .map_err(IntrospectError::query("sqlite", "columns"))?;
    let mut by_table: BTreeMap<String, Vec<RawColumn>> = BTreeMap::new();
    for r in rows {
        by_table.entry(r.table_name).or_default().push(RawColumn {
            name: r.column_name,
            type_name: r.type_name,
            nullable: !r.not_null,
            pk: r.pk > 0,
        });
    }
    let fk_rows: Vec<ForeignKeyRow> = diesel::sql_query(format!(
        "SELECT m.name AS child, f.\"table\" AS parent, f.\"from\" AS from_col, f.\"to\" AS to_col \
         FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
         WHERE {TABLE_FILTER} ORDER BY m.name, f.id, f.seq"
    ))
    .load(conn)
    .map_err(IntrospectError::query("sqlite", "foreign keys"))?;

    let pk_by_table: HashMap<String, Vec<String>> = by_table
        .iter()
        .map(|(t, cols)| (t.clone(), primary_key_of(cols)))
        .collect();
    let pk_lookup = |table: &str| -> Vec<String> {
        pk_by_table
            .get(table)
            .cloned()
            .unwrap_or_else(|| vec![ROWID_ALIASES[0].to_owned()])
    };

    // Each row of foreign_key_list is one column; diesel treats each as its own key.
    let all_fks: Vec<ForeignKey> = fk_rows
        .into_iter()
        .map(|r| {
            let pk = match r.to_col {
                Some(c) => vec![c],
                None => pk_lookup(&r.parent),
            };
            ForeignKey::new(
                TableName::new(r.child),
                TableName::new(r.parent),
                vec![r.from_col],
                pk,
            )
        })
        .collect();

    let rowid_tables: Option<HashMap<String, bool>> = if opts.sqlite_integer_primary_key_is_bigint()
    {
        let rows: Vec<TableListRow> = diesel::sql_query(
            "SELECT name AS name, wr AS wr FROM pragma_table_list WHERE schema = 'main'",
        )
        .load(conn)
        .map_err(|e| {
            IntrospectError::Unsupported(format!(
                "`sqlite_integer_primary_key_is_bigint` needs SQLite 3.37 or newer ({e})"
            ))
        })?;
        Some(rows.into_iter().map(|r| (r.name, r.wr == 0)).collect())
    } else {
        None
    };
    let has_rowid = |table: &str| -> bool {
        rowid_tables
            .as_ref()
            .and_then(|m| m.get(table).copied())
            .unwrap_or(false)
    };

    let mut tables = Vec::new();
    for (table_name, mut columns) in by_table {
        if opts.filter.should_ignore(&table_name) {
            continue;
        }
        let name = TableName::new(table_name.clone());
        let pk = pk_lookup(&table_name);
        if pk.is_empty() {
            return Err(IntrospectError::NoPrimaryKey { table: table_name });
        }
        if pk.len() == 1 && !columns.iter().any(|c| c.name == pk[0]) {
            columns.insert(
                0,
                RawColumn {
                    name: pk[0].clone(),
                    type_name: "Integer".into(),
                    nullable: false,
                    pk: true,
                },
            );
        }
        if opts.column_sorting == ColumnSorting::Name {
            columns.sort_by(|a, b| a.name.cmp(&b.name));
        }
        // Single-column keys of this table, by the Rust name of the column.
        let mut own_fks: HashMap<String, &ForeignKey> = HashMap::new();
        let mut sorted_fks: Vec<&ForeignKey> =
            all_fks.iter().filter(|f| f.child_table == name).collect();
        sorted_fks.sort();
        for fk in sorted_fks {
            own_fks.insert(fk.foreign_key_columns_rust[0].clone(), fk);
        }
        let mut out_cols = Vec::new();
        for c in &columns {
            let lower = {
                let l = c.type_name.to_lowercase();
                if l == "generated always" {
                    String::new()
                } else {
                    l
                }
            };
            let ty = match map_type(&lower) {
                Some(Mapped::Int) => {
                    let big = rowid_tables.is_some()
                        && ((lower == "integer"
                            && pk.len() == 1
                            && pk[0] == c.name
                            && has_rowid(&table_name))
                            || own_fks.get(&c.name).is_some_and(|fk| {
                                let parent_pk = pk_lookup(&fk.parent_table.sql_name);
                                parent_pk.len() == 1 && has_rowid(&fk.parent_table.sql_name)
                            }));
                    if big {
                        "BigInt"
                    } else {
                        "Integer"
                    }
                }
                Some(Mapped::Plain(t)) => t,
                None => {
                    return Err(IntrospectError::UnsupportedType {
                        table: table_name.clone(),
                        column: c.name.clone(),
                        sql_type: lower,
                    })
                }
            };
            out_cols.push(Column::new(
                &name,
                c.name.clone(),
                ColumnType::simple(ty, ty, c.nullable),
                None,
            ));
        }
        tables.push(Table::new(name, pk, out_cols, None));
    }
    let foreign_keys = safe_foreign_keys(all_fks, &tables);
    Ok(Schema {
        tables,
        foreign_keys,
    })
}

enum Mapped {
    Int,
    Plain(&'static str),
}

/// diesel's SQLite type affinity rules, on the lower-cased declared type.
fn map_type(t: &str) -> Option<Mapped> {
    let has = |s: &str| t.contains(s);
    Some(
        if t == "boolean" || t == "bool" || (has("tiny") && has("int")) {
            Mapped::Plain("Bool")
        } else if t == "int2" || (has("small") && has("int")) {
            Mapped::Plain("SmallInt")
        } else if t == "int8" || (has("big") && has("int")) {
            Mapped::Plain("BigInt")
        } else if has("int") {
            Mapped::Int
        } else if has("char") || has("clob") || has("text") {
            Mapped::Plain("Text")
        } else if has("blob") || has("binary") || t.is_empty() {
            Mapped::Plain("Binary")
        } else if has("float") || has("real") {
            Mapped::Plain("Float")
        } else if has("double") || has("num") || has("dec") {
            Mapped::Plain("Double")
        } else if t == "datetime" || t == "timestamp" {
            Mapped::Plain("Timestamp")
        } else if t == "date" {
            Mapped::Plain("Date")
        } else if t == "time" {
            Mapped::Plain("Time")
        } else {
            return None;
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_rules() {
        let name = |t: &str| match map_type(t) {
            Some(Mapped::Int) => "Int",
            Some(Mapped::Plain(p)) => p,
            None => "none",
        };
        assert_eq!(name("tinyint"), "Bool");
        assert_eq!(name("unsigned big int"), "BigInt");
        assert_eq!(name("mediumint"), "Int");
        assert_eq!(name("varchar(20)"), "Text");
        assert_eq!(name(""), "Binary");
        assert_eq!(name("decimal(10,2)"), "Double");
        assert_eq!(name("datetime"), "Timestamp");
        assert_eq!(name("json"), "none");
    }
}
