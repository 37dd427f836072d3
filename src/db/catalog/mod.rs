//! Reading a database's whole catalog into [`crate::catalog::Catalog`], one file per backend.
//!
//! Each reader runs a fixed handful of bulk queries (one per kind of object, whatever the
//! number of tables). PostgreSQL and MySQL/MariaDB queries return rows of the same shape:
//! the object's kind id, its qualified name, its compared attributes as a JSON object and the
//! SQL derived for it as another; `assemble` turns them into objects. Left out everywhere:
//! diesel's `__diesel_schema_migrations`, the tool's own `__cargo_migrate*` tables, system
//! schemas and (PostgreSQL) whatever belongs to an extension.

mod mysql;
mod postgres;
mod sqlite;

pub use self::mysql::mysql;
pub use self::postgres::postgres;
pub use self::sqlite::sqlite;

use std::collections::BTreeMap;

use diesel::sql_types::{Nullable, Text};

use crate::catalog::{Catalog, Kind, Object};

/// Errors while reading a catalog.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A catalog query failed.
    #[error("reading the {backend} catalog ({what}) failed: {source}")]
    Query {
        /// The backend.
        backend: &'static str,
        /// Which objects were being read.
        what: &'static str,
        /// The database error.
        #[source]
        source: diesel::result::Error,
    },
    /// A row the reader did not expect (a bug of the reader's query).
    #[error("reading the {backend} catalog ({what}) returned a row it cannot use: {message}; this is a bug of cargo-migrate, please report it")]
    Row {
        /// The backend.
        backend: &'static str,
        /// Which objects were being read.
        what: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

impl CatalogError {
    pub(crate) fn query(
        backend: &'static str,
        what: &'static str,
    ) -> impl FnOnce(diesel::result::Error) -> Self {
        move |source| CatalogError::Query {
            backend,
            what,
            source,
        }
    }
}

/// One object as the PostgreSQL and MySQL queries return it.
#[derive(diesel::QueryableByName, Debug)]
pub(crate) struct ObjectRow {
    #[diesel(sql_type = Text)]
    pub(crate) kind: String,
    #[diesel(sql_type = Text)]
    pub(crate) name: String,
    #[diesel(sql_type = Text)]
    pub(crate) attrs: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub(crate) sql: Option<String>,
}

/// A JSON object's values as text (`null` values dropped, booleans and numbers spelled out).
fn json_map(text: &str) -> Result<BTreeMap<String, String>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON ({e}): {text}"))?;
    let serde_json::Value::Object(map) = value else {
        return Err(format!("not a JSON object: {text}"));
    };
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| {
            let v = match v {
                serde_json::Value::Null => return None,
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            Some((k, v))
        })
        .collect())
}

/// Add the objects of `rows` to `catalog`, each attribute value and SQL text passed through
/// `normalise`.
pub(crate) fn assemble(
    catalog: &mut Catalog,
    rows: Vec<ObjectRow>,
    backend: &'static str,
    what: &'static str,
    normalise: &dyn Fn(String) -> String,
) -> Result<(), CatalogError> {
    let bad = |message: String| CatalogError::Row {
        backend,
        what,
        message,
    };
    for row in rows {
        let kind =
            Kind::from_id(&row.kind).ok_or_else(|| bad(format!("unknown kind `{}`", row.kind)))?;
        let attrs = json_map(&row.attrs)
            .map_err(bad)?
            .into_iter()
            .map(|(k, v)| (k, normalise(v)))
            .collect();
        let sql = match &row.sql {
            Some(s) => json_map(s)
                .map_err(bad)?
                .into_iter()
                .map(|(k, v)| (k, normalise(v)))
                .collect(),
            None => BTreeMap::new(),
        };
        catalog.insert(Object {
            kind,
            name: row.name,
            attrs,
            sql,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_objects_with_text_values() {
        let mut c = Catalog::new();
        assemble(
            &mut c,
            vec![ObjectRow {
                kind: "column".into(),
                name: "public.t.a".into(),
                attrs: r#"{"type":"integer","not_null":true,"default":null,"n":3}"#.into(),
                sql: Some(r#"{"drop":"ALTER TABLE t DROP COLUMN a;"}"#.into()),
            }],
            "postgres",
            "columns",
            &|v| v,
        )
        .unwrap();
        let o = c.get(Kind::Column, "public.t.a").unwrap();
        assert_eq!(o.attrs.get("not_null").map(String::as_str), Some("true"));
        assert_eq!(o.attrs.get("n").map(String::as_str), Some("3"));
        assert!(!o.attrs.contains_key("default"));
        assert_eq!(o.sql.len(), 1);
        let err = assemble(
            &mut c,
            vec![ObjectRow {
                kind: "gadget".into(),
                name: "x".into(),
                attrs: "{}".into(),
                sql: None,
            }],
            "postgres",
            "x",
            &|v| v,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown kind `gadget`"), "{err}");
    }
}
