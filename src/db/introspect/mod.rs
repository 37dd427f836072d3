//! Reading a live database into the schema model ([`crate::schema::model::Schema`]).
//!
//! One function per backend: [`sqlite`], [`postgres`] and [`mysql`]. Each reads what
//! `diesel print-schema` would read (tables, columns, primary keys, foreign keys, comments) and
//! applies the same rules (table filter, `__` tables hidden, type mapping, primary-key
//! fallbacks), but with a handful of catalog queries for the whole schema instead of several
//! per table, so large schemas stay fast. Rendering the result is `schema::render`'s job;
//! connecting and creating databases belong elsewhere in `db`.

mod mysql;
mod postgres;
mod sqlite;

pub use self::mysql::mysql;
pub use self::postgres::postgres;
pub use self::sqlite::sqlite;

use std::collections::{BTreeMap, HashMap};

use crate::schema::model::{Column, Table, TableName};
use crate::schema::options::{ColumnSorting, DocConfig, PrintSchemaOptions};

/// Errors while introspecting a database.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectError {
    /// A catalog query failed.
    #[error("reading the {backend} catalog ({what}) failed: {source}")]
    Query {
        /// The backend.
        backend: &'static str,
        /// Which facts were being read.
        what: &'static str,
        /// The database error.
        #[source]
        source: diesel::result::Error,
    },
    /// diesel requires a primary key on every printed table.
    #[error("table `{table}` has no primary key, which diesel requires; add one in a migration or leave the table out with `filter = {{ except_tables = [...] }}`")]
    NoPrimaryKey {
        /// The table (with schema, when not the default one).
        table: String,
    },
    /// A column type that diesel cannot map.
    #[error("column `{table}.{column}` has type `{sql_type}`, which diesel cannot map to a Rust SQL type; change the column type or leave the table out with `filter`")]
    UnsupportedType {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The type as the database reports it.
        sql_type: String,
    },
    /// The `schema` option does not apply to SQLite.
    #[error("the `schema` option of [print_schema] is not supported for SQLite; remove it from diesel.toml")]
    SqliteSchema,
    /// A feature needs a newer server or library.
    #[error("{0}")]
    Unsupported(String),
}

impl IntrospectError {
    pub(crate) fn query(
        backend: &'static str,
        what: &'static str,
    ) -> impl FnOnce(diesel::result::Error) -> Self {
        move |source| IntrospectError::Query {
            backend,
            what,
            source,
        }
    }
}

/// A table and its comment, as the PostgreSQL and MySQL catalog queries return them.
#[derive(diesel::QueryableByName)]
pub(super) struct TableRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(super) table_name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub(super) table_comment: Option<String>,
}

/// One primary-key column of a table, in key order.
#[derive(diesel::QueryableByName)]
pub(super) struct KeyRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(super) table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(super) column_name: String,
}

/// What [`assemble_tables`] needs from a backend's column row.
pub(super) trait CatalogColumn {
    fn table_name(&self) -> &str;
    fn column_name(&self) -> &str;
    fn ordinal_position(&self) -> i64;
}

/// The tables of a server's catalog rows, as diesel prints them: the table filter applied,
/// a primary key required, columns in the configured order, each turned into a [`Column`] by
/// the backend's `column` (which maps its types), and comments kept only when asked for.
pub(super) fn assemble_tables<C: CatalogColumn>(
    table_rows: Vec<TableRow>,
    column_rows: Vec<C>,
    key_rows: Vec<KeyRow>,
    opts: &PrintSchemaOptions,
    table_name: impl Fn(&str) -> TableName,
    mut column: impl FnMut(&TableName, C) -> Result<Column, IntrospectError>,
) -> Result<Vec<Table>, IntrospectError> {
    let mut columns_by_table: HashMap<String, Vec<C>> = HashMap::new();
    for r in column_rows {
        columns_by_table
            .entry(r.table_name().to_string())
            .or_default()
            .push(r);
    }
    let mut pks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in key_rows {
        pks.entry(r.table_name).or_default().push(r.column_name);
    }

    let with_comments = opts.with_docs != DocConfig::NoDocComments;
    let mut tables = Vec::new();
    for t in table_rows {
        if opts.filter.should_ignore(&t.table_name) {
            continue;
        }
        let name = table_name(&t.table_name);
        let pk = pks.get(&t.table_name).cloned().unwrap_or_default();
        if pk.is_empty() {
            return Err(IntrospectError::NoPrimaryKey {
                table: name.full_sql_name(),
            });
        }
        let mut cols = columns_by_table.remove(&t.table_name).unwrap_or_default();
        match opts.column_sorting {
            ColumnSorting::OrdinalPosition => cols.sort_by_key(|c| c.ordinal_position()),
            ColumnSorting::Name => cols.sort_by(|a, b| a.column_name().cmp(b.column_name())),
        }
        let columns = cols
            .into_iter()
            .map(|c| column(&name, c))
            .collect::<Result<Vec<_>, _>>()?;
        let comment = if with_comments {
            t.table_comment.filter(|c| !c.is_empty())
        } else {
            None
        };
        tables.push(Table::new(name, pk, columns, comment));
    }
    Ok(tables)
}
