//! The SQLite catalog: one query over `sqlite_schema`. Tables, indexes, views and triggers
//! are compared by their SQL text, with runs of whitespace folded to one space (SQLite keeps
//! the text as written, and `ALTER TABLE` edits it in place, so two databases built by the
//! same statements hold the same text). Indexes SQLite makes itself for `UNIQUE` and
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

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Read the whole catalog of a SQLite database.
pub fn sqlite(conn: &mut diesel::SqliteConnection) -> Result<Catalog, CatalogError> {
    let rows: Vec<SchemaRow> = diesel::sql_query(QUERY)
        .load(conn)
        .map_err(CatalogError::query("sqlite", "sqlite_schema"))?;
    let mut catalog = Catalog::new();
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
        assert_eq!(names, ["table t", "index t_a", "view v", "trigger tr"]);
    }
}
