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
