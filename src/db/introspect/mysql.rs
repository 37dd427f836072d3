//! MySQL/MariaDB introspection: five `information_schema` queries for the whole database,
//! generic over any diesel connection to a MySQL backend (the crate uses diesel-async's
//! synchronous wrapper). Every selected column is aliased, since MySQL 8 upper-cases
//! `information_schema` labels otherwise.

use std::collections::BTreeMap;

use diesel::connection::LoadConnection;
use diesel::mysql::Mysql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use heck::ToUpperCamelCase;

use super::IntrospectError;
use crate::schema::model::{safe_foreign_keys, Column, ColumnType, ForeignKey, Schema, TableName};
use crate::schema::options::PrintSchemaOptions;

#[derive(QueryableByName)]
struct DbRow {
    #[diesel(sql_type = Nullable<Text>)]
    db: Option<String>,
}

use super::{assemble_tables, CatalogColumn, KeyRow, TableRow};

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    column_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    max_length: Option<i64>,
    #[diesel(sql_type = BigInt)]
    ordinal_position: i64,
    #[diesel(sql_type = Nullable<Text>)]
    column_comment: Option<String>,
}

impl CatalogColumn for ColumnRow {
    fn table_name(&self) -> &str {
        &self.table_name
    }
    fn column_name(&self) -> &str {
        &self.column_name
    }
    fn ordinal_position(&self) -> i64 {
        self.ordinal_position
    }
}

#[derive(QueryableByName)]
struct ForeignKeyRow {
    #[diesel(sql_type = Text)]
    constraint_name: String,
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    table_schema: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    referenced_table_name: String,
    #[diesel(sql_type = Text)]
    referenced_table_schema: String,
    #[diesel(sql_type = Text)]
    referenced_column_name: String,
}

/// Reads a MySQL/MariaDB database (`opts.schema`, else the connection's current database) into
/// the schema model.
pub fn mysql<C>(conn: &mut C, opts: &PrintSchemaOptions) -> Result<Schema, IntrospectError>
where
    C: diesel::Connection<Backend = Mysql> + LoadConnection,
{
    let q = |what| IntrospectError::query("mysql", what);
    let current: Vec<DbRow> = diesel::sql_query("SELECT DATABASE() AS db")
        .load(conn)
        .map_err(q("current database"))?;
    let default_schema = current
        .into_iter()
        .next()
        .and_then(|r| r.db)
        .unwrap_or_default();
    let schema_name = opts
        .schema
        .clone()
        .unwrap_or_else(|| default_schema.clone());

    let mut table_rows: Vec<TableRow> = diesel::sql_query(
        "SELECT CAST(table_name AS CHAR) AS table_name, CAST(table_comment AS CHAR) AS table_comment \
         FROM information_schema.tables \
         WHERE table_schema = ? AND table_name NOT LIKE ? AND table_type LIKE 'BASE TABLE'",
    )
    .bind::<Text, _>(&schema_name)
    .bind::<Text, _>("\\_\\_%")
    .load(conn)
    .map_err(q("tables"))?;
    table_rows.sort_by(|a, b| a.table_name.cmp(&b.table_name));

    let column_rows: Vec<ColumnRow> = diesel::sql_query(
        "SELECT CAST(table_name AS CHAR) AS table_name, CAST(column_name AS CHAR) AS column_name, \
                CAST(column_type AS CHAR) AS column_type, CAST(is_nullable AS CHAR) AS is_nullable, \
                CAST(character_maximum_length AS SIGNED) AS max_length, \
                CAST(ordinal_position AS SIGNED) AS ordinal_position, \
                CAST(NULLIF(column_comment, '') AS CHAR) AS column_comment \
         FROM information_schema.columns WHERE table_schema = ?",
    )
    .bind::<Text, _>(&schema_name)
    .load(conn)
    .map_err(q("columns"))?;

    let key_rows: Vec<KeyRow> = diesel::sql_query(
        "SELECT CAST(k.table_name AS CHAR) AS table_name, CAST(k.column_name AS CHAR) AS column_name \
         FROM information_schema.key_column_usage k \
         WHERE k.table_schema = ? AND k.constraint_name IN \
           (SELECT tc.constraint_name FROM information_schema.table_constraints tc \
            WHERE tc.constraint_type = 'PRIMARY KEY') \
         ORDER BY k.table_name, k.ordinal_position",
    )
    .bind::<Text, _>(&schema_name)
    .load(conn)
    .map_err(q("primary keys"))?;

    let fk_rows: Vec<ForeignKeyRow> = diesel::sql_query(
        "SELECT CAST(k.constraint_name AS CHAR) AS constraint_name, \
                CAST(k.table_name AS CHAR) AS table_name, CAST(k.table_schema AS CHAR) AS table_schema, \
                CAST(k.column_name AS CHAR) AS column_name, \
                CAST(k.referenced_table_name AS CHAR) AS referenced_table_name, \
                CAST(k.referenced_table_schema AS CHAR) AS referenced_table_schema, \
                CAST(k.referenced_column_name AS CHAR) AS referenced_column_name \
         FROM information_schema.table_constraints tc \
         JOIN information_schema.key_column_usage k \
           ON tc.constraint_schema = k.constraint_schema AND tc.constraint_name = k.constraint_name \
         WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = ? \
           AND k.referenced_column_name IS NOT NULL \
         ORDER BY k.constraint_name, k.ordinal_position",
    )
    .bind::<Text, _>(&schema_name)
    .load(conn)
    .map_err(q("foreign keys"))?;

    let tables = assemble_tables(
        table_rows,
        column_rows,
        key_rows,
        opts,
        |table| TableName::in_schema(table.to_string(), &schema_name, &default_schema),
        |name, c| {
            let ty = column_type(&c.column_type, c.is_nullable == "YES", c.max_length).ok_or_else(
                || IntrospectError::UnsupportedType {
                    table: name.sql_name.clone(),
                    column: c.column_name.clone(),
                    sql_type: c.column_type.clone(),
                },
            )?;
            Ok(Column::new(name, c.column_name, ty, c.column_comment))
        },
    )?;

    // One key per constraint name, columns in key order.
    let mut grouped: BTreeMap<String, (TableName, TableName, Vec<String>, Vec<String>)> =
        BTreeMap::new();
    for r in fk_rows {
        let entry = grouped.entry(r.constraint_name).or_insert_with(|| {
            (
                TableName::in_schema(r.table_name, &r.table_schema, &default_schema),
                TableName::in_schema(
                    r.referenced_table_name,
                    &r.referenced_table_schema,
                    &default_schema,
                ),
                Vec::new(),
                Vec::new(),
            )
        });
        entry.2.push(r.column_name);
        entry.3.push(r.referenced_column_name);
    }
    let all_fks = grouped
        .into_values()
        .map(|(child, parent, cols, refs)| ForeignKey::new(child, parent, cols, refs))
        .collect();
    let foreign_keys = safe_foreign_keys(all_fks, &tables);
    Ok(Schema {
        tables,
        foreign_keys,
    })
}

/// diesel's MySQL type naming from `information_schema.columns.column_type`; `None` for a type
/// it rejects (a name with a space that is not an `unsigned` modifier).
fn column_type(column_type: &str, nullable: bool, max_length: Option<i64>) -> Option<ColumnType> {
    let unsigned = column_type.to_lowercase().contains("unsigned");
    let base = if column_type == "tinyint(1)" {
        "bool".to_owned()
    } else if column_type.starts_with("int") {
        "integer".to_owned()
    } else if let Some(i) = column_type.find('(') {
        column_type[..i].to_owned()
    } else {
        column_type.to_owned()
    };
    let name = if base.to_lowercase().contains("unsigned") {
        base.to_lowercase()
            .replace("unsigned", "")
            .trim()
            .to_owned()
    } else if base.contains(' ') {
        return None;
    } else {
        base
    };
    let name = name.trim().to_owned();
    // The reported length only counts when the declared type has one.
    let max_length = if column_type.contains('(') {
        max_length.and_then(|n| u64::try_from(n).ok())
    } else {
        None
    };
    Some(ColumnType {
        schema: None,
        rust_name: name.to_upper_camel_case(),
        sql_name: name,
        is_array: false,
        is_nullable: nullable,
        is_unsigned: unsigned,
        max_length,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_type_names() {
        let t = column_type("tinyint(1)", false, None).unwrap();
        assert_eq!(t.to_string(), "Bool");
        let t = column_type("int(10) unsigned", true, None).unwrap();
        assert_eq!(t.to_string(), "Nullable<Unsigned<Integer>>");
        let t = column_type("varchar(255)", false, Some(255)).unwrap();
        assert_eq!((t.rust_name.as_str(), t.max_length), ("Varchar", Some(255)));
        let t = column_type("text", false, Some(65535)).unwrap();
        assert_eq!(t.max_length, None);
        let t = column_type("enum('a','b')", false, Some(1)).unwrap();
        assert_eq!(
            (t.rust_name.as_str(), t.sql_name.as_str()),
            ("Enum", "enum")
        );
        assert!(column_type("double precision", false, None).is_none());
    }
}
