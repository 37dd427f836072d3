//! PostgreSQL introspection: five catalog queries for the whole schema (tables with comments,
//! columns with comments, primary-key columns, foreign keys), whatever the number of tables.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use heck::ToUpperCamelCase;

use super::IntrospectError;
use crate::schema::model::{safe_foreign_keys, Column, ColumnType, ForeignKey, Schema, TableName};
use crate::schema::options::PrintSchemaOptions;

/// diesel always treats `public` as PostgreSQL's default schema.
const DEFAULT_SCHEMA: &str = "public";

use super::{assemble_tables, CatalogColumn, KeyRow, TableRow};

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    type_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    type_schema: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    domain_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    domain_schema: Option<String>,
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
    child_table: String,
    #[diesel(sql_type = Array<Text>)]
    child_columns: Vec<String>,
    #[diesel(sql_type = Text)]
    parent_table: String,
    #[diesel(sql_type = Array<Text>)]
    parent_columns: Vec<String>,
}

/// Reads a PostgreSQL schema (`opts.schema`, else `public`) into the schema model.
pub fn postgres(
    conn: &mut diesel::PgConnection,
    opts: &PrintSchemaOptions,
) -> Result<Schema, IntrospectError> {
    let schema_name = opts.schema.as_deref().unwrap_or(DEFAULT_SCHEMA);
    let q = |what| IntrospectError::query("postgres", what);

    let mut table_rows: Vec<TableRow> = diesel::sql_query(
        "SELECT t.table_name::text AS table_name, \
                obj_description(format('%I.%I', t.table_schema, t.table_name)::regclass, 'pg_class') AS table_comment \
         FROM information_schema.tables t \
         WHERE t.table_schema = $1 AND t.table_name NOT LIKE '\\_\\_%' AND t.table_type LIKE 'BASE TABLE'",
    )
    .bind::<Text, _>(schema_name)
    .load(conn)
    .map_err(q("tables"))?;
    table_rows.sort_by(|a, b| a.table_name.cmp(&b.table_name));

    // What `information_schema.columns` joined with `information_schema.tables` (base tables)
    // returns, row for row, read from pg_catalog directly: the view computes every column of
    // its definition and resolves each table by name, which made this query most of the
    // introspection's time. The visibility rule is the view's own (an owner, or a role with a
    // privilege on the column), and the length is the view's `character_maximum_length`.
    let column_rows: Vec<ColumnRow> = diesel::sql_query(
        "SELECT c.relname::text AS table_name, a.attname::text AS column_name, \
                COALESCE(bt.typname, t.typname)::text AS type_name, \
                COALESCE(nbt.nspname, nt.nspname)::text AS type_schema, \
                (CASE WHEN t.typtype = 'd' THEN t.typname END)::text AS domain_name, \
                (CASE WHEN t.typtype = 'd' THEN nt.nspname END)::text AS domain_schema, \
                CASE WHEN a.attnotnull OR (t.typtype = 'd' AND t.typnotnull) THEN 'NO' ELSE 'YES' END AS is_nullable, \
                information_schema._pg_char_max_length(information_schema._pg_truetypid(a.*, t.*), \
                    information_schema._pg_truetypmod(a.*, t.*))::bigint AS max_length, \
                a.attnum::bigint AS ordinal_position, \
                col_description(c.oid, a.attnum) AS column_comment \
         FROM pg_attribute a \
         JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace nc ON nc.oid = c.relnamespace \
         JOIN pg_type t ON t.oid = a.atttypid \
         JOIN pg_namespace nt ON nt.oid = t.typnamespace \
         LEFT JOIN (pg_type bt JOIN pg_namespace nbt ON nbt.oid = bt.typnamespace) \
           ON t.typtype = 'd' AND t.typbasetype = bt.oid \
         WHERE nc.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped \
           AND NOT pg_is_other_temp_schema(nc.oid) AND nc.oid <> pg_my_temp_schema() \
           AND (pg_has_role(c.relowner, 'USAGE') \
                OR has_column_privilege(c.oid, a.attnum, 'SELECT, INSERT, UPDATE, REFERENCES'))",
    )
    .bind::<Text, _>(schema_name)
    .load(conn)
    .map_err(q("columns"))?;

    let key_rows: Vec<KeyRow> = diesel::sql_query(
        "SELECT k.table_name::text AS table_name, k.column_name::text AS column_name \
         FROM information_schema.key_column_usage k \
         WHERE k.table_schema = $1 AND k.constraint_name IN \
           (SELECT tc.constraint_name FROM information_schema.table_constraints tc \
            WHERE tc.constraint_type = 'PRIMARY KEY') \
         ORDER BY k.table_name, k.ordinal_position",
    )
    .bind::<Text, _>(schema_name)
    .load(conn)
    .map_err(q("primary keys"))?;

    // Keys between tables of this schema, one row per (child, parent) pair as diesel groups them.
    let fk_rows: Vec<ForeignKeyRow> = diesel::sql_query(
        "SELECT child.relname::text AS child_table, \
                array_agg(child_col.attname::text ORDER BY k.pos) AS child_columns, \
                parent.relname::text AS parent_table, \
                array_agg(parent_col.attname::text ORDER BY k.pos) AS parent_columns \
         FROM pg_constraint con \
         CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(child_att, parent_att, pos) \
         JOIN pg_class child ON child.oid = con.conrelid \
         JOIN pg_namespace child_ns ON child_ns.oid = child.relnamespace \
         JOIN pg_class parent ON parent.oid = con.confrelid \
         JOIN pg_namespace parent_ns ON parent_ns.oid = parent.relnamespace \
         JOIN pg_attribute child_col ON child_col.attrelid = child.oid AND child_col.attnum = k.child_att \
         JOIN pg_attribute parent_col ON parent_col.attrelid = parent.oid AND parent_col.attnum = k.parent_att \
         WHERE con.contype = 'f' AND child_ns.nspname = $1 AND parent_ns.nspname = $1 \
         GROUP BY child.relname, parent.relname",
    )
    .bind::<Text, _>(schema_name)
    .load(conn)
    .map_err(q("foreign keys"))?;

    let tables = assemble_tables(
        table_rows,
        column_rows,
        key_rows,
        opts,
        |table| TableName::in_schema(table.to_string(), schema_name, DEFAULT_SCHEMA),
        |name, c| {
            let (type_name, type_schema) = match c.domain_name {
                Some(d)
                    if opts
                        .pg_domains_as_custom_types
                        .iter()
                        .any(|rx| rx.is_match(&d)) =>
                {
                    (d, c.domain_schema)
                }
                _ => (c.type_name, c.type_schema),
            };
            let ty = column_type(
                &type_name,
                type_schema,
                c.is_nullable == "YES",
                c.max_length,
            );
            Ok(Column::new(name, c.column_name, ty, c.column_comment))
        },
    )?;

    let all_fks = fk_rows
        .into_iter()
        .map(|r| {
            ForeignKey::new(
                TableName::in_schema(r.child_table, schema_name, DEFAULT_SCHEMA),
                TableName::in_schema(r.parent_table, schema_name, DEFAULT_SCHEMA),
                r.child_columns,
                r.parent_columns,
            )
        })
        .collect();
    let foreign_keys = safe_foreign_keys(all_fks, &tables);
    Ok(Schema {
        tables,
        foreign_keys,
    })
}

/// diesel's PostgreSQL type naming: `_x` is an array of `x`, the Rust name is the UpperCamelCase
/// of the type name, and the schema is kept unless it is `public`.
fn column_type(
    type_name: &str,
    schema: Option<String>,
    nullable: bool,
    max_length: Option<i64>,
) -> ColumnType {
    let (is_array, base) = match type_name.strip_prefix('_') {
        Some(rest) => (true, rest),
        None => (false, type_name),
    };
    ColumnType {
        schema: schema.filter(|s| s != DEFAULT_SCHEMA),
        rust_name: base.to_upper_camel_case(),
        sql_name: base.to_owned(),
        is_array,
        is_nullable: nullable,
        is_unsigned: false,
        max_length: max_length.and_then(|n| u64::try_from(n).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_type_names() {
        let t = column_type("_int4", Some("pg_catalog".into()), true, None);
        assert_eq!(t.to_string(), "Nullable<Array<Nullable<Int4>>>");
        let e = column_type("my_enum", Some("public".into()), false, None);
        assert_eq!(e.rust_name, "MyEnum");
        assert_eq!(e.schema, None);
        let v = column_type("varchar", None, false, Some(12));
        assert_eq!(v.max_length, Some(12));
    }
}
