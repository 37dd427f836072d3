//! The SQLite catalog: three queries, over `sqlite_schema` and the `pragma_table_xinfo` and
//! `pragma_foreign_key_list` of every table at once. Tables, indexes, views and triggers are
//! compared by their SQL text, with runs of whitespace folded to one space (SQLite keeps the
//! text as written, and `ALTER TABLE` edits it in place, so two databases built by the same
//! statements hold the same text); columns and foreign keys are read from the pragmas too, so
//! that a changed table is reported by the column or key that changed (see `catalog::diff`
//! for when the table's text is reported as well). Indexes SQLite makes itself for `UNIQUE` and
//! `PRIMARY KEY` have no text and are part of their table's; `sqlite_*` objects, diesel's
//! versions table and the tool's own tables are left out.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::Text;

use super::CatalogError;
use crate::catalog::{Catalog, Kind, Object};

#[derive(QueryableByName)]
struct SchemaRow {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    sql: String,
}

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    column_type: String,
    #[diesel(sql_type = Text)]
    not_null: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    default_value: Option<String>,
    #[diesel(sql_type = Text)]
    primary_key: String,
    #[diesel(sql_type = Text)]
    hidden: String,
}

#[derive(QueryableByName)]
struct ForeignKeyRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    columns: String,
    #[diesel(sql_type = Text)]
    parent: String,
    #[diesel(sql_type = Text)]
    parent_columns: String,
    #[diesel(sql_type = Text)]
    on_update: String,
    #[diesel(sql_type = Text)]
    on_delete: String,
}

const TABLES: &str = r"m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
  AND m.name <> '__diesel_schema_migrations' AND m.name NOT LIKE '\_\_cargo\_migrate%' ESCAPE '\'";

const QUERY: &str = r"
SELECT type AS kind, name AS name, tbl_name AS table_name, sql AS sql FROM sqlite_schema
WHERE sql IS NOT NULL AND type IN ('table', 'index', 'view', 'trigger')
  AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
  AND tbl_name <> '__diesel_schema_migrations' AND tbl_name NOT LIKE '\_\_cargo\_migrate%' ESCAPE '\'";

/// SQL text with whitespace runs outside quotes folded to one space and no trailing `;`.
pub fn normalise_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut space = false;
    for c in sql.trim().chars() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c.is_whitespace() => space = true,
            None => {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                if matches!(c, '\'' | '"' | '`' | '[') {
                    quote = Some(if c == '[' { ']' } else { c });
                }
                out.push(c);
            }
        }
    }
    out.trim_end_matches(';').trim_end().to_string()
}

fn yes(flag: &str) -> String {
    if flag == "0" { "no" } else { "yes" }.to_string()
}

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Read the whole catalog of a SQLite database.
pub fn sqlite(conn: &mut diesel::SqliteConnection) -> Result<Catalog, CatalogError> {
    let rows: Vec<SchemaRow> = diesel::sql_query(QUERY)
        .load(conn)
        .map_err(CatalogError::query("sqlite", "sqlite_schema"))?;
    let mut catalog = Catalog::new();
    let columns: Vec<ColumnRow> = diesel::sql_query(format!(
        r#"SELECT m.name AS table_name, p.name AS name, p.type AS column_type,
                  CAST(p."notnull" AS TEXT) AS not_null, p.dflt_value AS default_value,
                  CAST(p.pk AS TEXT) AS primary_key, CAST(p.hidden AS TEXT) AS hidden
           FROM sqlite_schema m JOIN pragma_table_xinfo(m.name) p WHERE {TABLES}"#
    ))
    .load(conn)
    .map_err(CatalogError::query("sqlite", "columns"))?;
    for c in columns {
        let mut attrs = BTreeMap::new();
        attrs.insert("type".to_string(), c.column_type.clone());
        attrs.insert("not_null".to_string(), yes(&c.not_null));
        if let Some(d) = &c.default_value {
            attrs.insert("default".to_string(), d.clone());
        }
        attrs.insert("primary_key".to_string(), yes(&c.primary_key));
        if c.hidden != "0" {
            attrs.insert("generated".to_string(), "yes".to_string());
        }
        let mut sql = BTreeMap::new();
        sql.insert(
            "drop".to_string(),
            format!(
                "ALTER TABLE {} DROP COLUMN {};",
                ident(&c.table_name),
                ident(&c.name)
            ),
        );
        sql.insert(
            "create".to_string(),
            format!(
                "ALTER TABLE {} ADD COLUMN {} {}{}{};",
                ident(&c.table_name),
                ident(&c.name),
                c.column_type,
                if c.not_null == "0" { "" } else { " NOT NULL" },
                c.default_value
                    .as_ref()
                    .map(|d| format!(" DEFAULT {d}"))
                    .unwrap_or_default()
            ),
        );
        catalog.insert(Object {
            kind: Kind::Column,
            name: format!("{}.{}", c.table_name, c.name),
            attrs,
            sql,
        });
    }
    let keys: Vec<ForeignKeyRow> = diesel::sql_query(format!(
        r#"SELECT m.name AS table_name, group_concat(f."from", ', ') AS columns, f."table" AS parent,
                  group_concat(coalesce(f."to", ''), ', ') AS parent_columns,
                  f.on_update AS on_update, f.on_delete AS on_delete
           FROM sqlite_schema m JOIN pragma_foreign_key_list(m.name) f WHERE {TABLES}
           GROUP BY m.name, f.id ORDER BY m.name, f.id"#
    ))
    .load(conn)
    .map_err(CatalogError::query("sqlite", "foreign keys"))?;
    for k in keys {
        let attrs = [
            ("references", format!("{} ({})", k.parent, k.parent_columns)),
            ("on_update", k.on_update),
            ("on_delete", k.on_delete),
        ]
        .into_iter()
        .map(|(f, v)| (f.to_string(), v))
        .collect();
        catalog.insert(Object {
            kind: Kind::ForeignKey,
            // SQLite keeps no names for foreign keys: the columns and the parent name one.
            name: format!("{}({}) -> {}", k.table_name, k.columns, k.parent),
            attrs,
            sql: BTreeMap::new(),
        });
    }
    for r in rows {
        let (kind, keyword) = match r.kind.as_str() {
            "table" => (Kind::Table, "TABLE"),
            "index" => (Kind::Index, "INDEX"),
            "view" => (Kind::View, "VIEW"),
            "trigger" => (Kind::Trigger, "TRIGGER"),
            other => {
                return Err(CatalogError::Row {
                    backend: "sqlite",
                    what: "sqlite_schema",
                    message: format!("unknown type `{other}`"),
                })
            }
        };
        let definition = normalise_sql(&r.sql);
        let mut attrs = BTreeMap::new();
        if kind != Kind::Table {
            attrs.insert("table".to_string(), r.table_name.clone());
        }
        attrs.insert("definition".to_string(), definition);
        let mut sql = BTreeMap::new();
        sql.insert(
            "drop".to_string(),
            format!("DROP {keyword} {};", ident(&r.name)),
        );
        // A table cannot be re-created in place without losing its rows.
        if kind != Kind::Table {
            sql.insert(
                "create".to_string(),
                format!("{};", r.sql.trim().trim_end_matches(';')),
            );
        }
        catalog.insert(Object {
            kind,
            name: r.name,
            attrs,
            sql,
        });
    }
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_outside_quotes_is_folded() {
        assert_eq!(
            normalise_sql("CREATE  TABLE t (\n  a TEXT DEFAULT 'x  y'\n);"),
            "CREATE TABLE t ( a TEXT DEFAULT 'x  y' )"
        );
    }

    #[test]
    fn reads_indexes_views_and_triggers_but_not_diesels_table() {
        let url = crate::database_url::DatabaseUrl::new(":memory:");
        let mut conn = crate::db::Connection::establish(
            &url,
            crate::backend::Backend::Sqlite,
            crate::db::ConnectOptions::default(),
        )
        .unwrap();
        conn.ensure_migrations_table().unwrap();
        conn.batch_execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT UNIQUE);
             CREATE INDEX t_a ON t (a);
             CREATE VIEW v AS SELECT a FROM t;
             CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;",
        )
        .unwrap();
        let crate::db::Connection::Sqlite(c) = &mut conn else {
            unreachable!()
        };
        let cat = sqlite(c).unwrap();
        let names: Vec<String> = cat
            .objects()
            .map(|o| format!("{} {}", o.kind.id(), o.name))
            .collect();
        assert_eq!(
            names,
            [
                "table t",
                "column t.a",
                "column t.id",
                "index t_a",
                "view v",
                "trigger tr"
            ]
        );
    }
}
