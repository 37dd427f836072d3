//! Rows of text read by a query given in configuration (a set's `targets-query`), run read
//! only: in a `READ ONLY` transaction that is rolled back on PostgreSQL and MySQL/MariaDB, on
//! a `query_only` connection on SQLite.

use diesel::deserialize::{self, QueryableByName};
use diesel::row::{NamedRow, Row};
use diesel::sql_types::{Nullable, Text};
use diesel::RunQueryDsl;

use super::{one_line, with_conn, ConnectOptions, Connection, DbError};
use crate::backend::Backend;
use crate::database_url::DatabaseUrl;

/// One row, every column as text (`None` for NULL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextRow(pub Vec<Option<String>>);

impl<DB> QueryableByName<DB> for TextRow
where
    DB: diesel::backend::Backend,
    Option<String>: deserialize::FromSql<Nullable<Text>, DB>,
{
    fn build<'a>(row: &impl NamedRow<'a, DB>) -> deserialize::Result<Self> {
        (0..row.field_count())
            .map(|i| Row::get_value::<Nullable<Text>, Option<String>, usize>(row, i))
            .collect::<deserialize::Result<Vec<_>>>()
            .map(TextRow)
    }
}

/// Why a configured query gave no rows.
#[derive(Debug, thiserror::Error)]
pub enum RowsError {
    /// The database could not be opened (a missing SQLite file included).
    #[error("{0}")]
    Connect(DbError),
    /// The query failed; the message has no password in it.
    #[error("{message}")]
    Query { message: String },
}

/// Run `query` on `url` without letting it change anything, and return its rows.
pub fn read_only(
    url: &DatabaseUrl,
    backend: Backend,
    query: &str,
) -> Result<Vec<TextRow>, RowsError> {
    let opts = ConnectOptions {
        create_sqlite: false,
        wait: None,
    };
    let mut conn = Connection::establish(url, backend, opts).map_err(RowsError::Connect)?;
    let (begin, end) = super::own_tables(backend).read_only;
    let failed = |e: diesel::result::Error| RowsError::Query {
        message: one_line(&e.to_string(), url),
    };
    conn.batch_execute(begin).map_err(failed)?;
    let q = diesel::sql_query(query);
    let rows: Result<Vec<TextRow>, _> = with_conn!(&mut conn, c => q.load(c));
    if !end.is_empty() {
        let _ = conn.batch_execute(end);
    }
    rows.map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_rows_are_text_and_writes_are_refused() {
        let dir = std::env::temp_dir().join(format!("cm-rows-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("control.db");
        let _ = std::fs::remove_file(&file);
        let url = DatabaseUrl::new(file.to_string_lossy().into_owned());
        let mut conn = Connection::establish(
            &url,
            Backend::Sqlite,
            ConnectOptions {
                create_sqlite: true,
                wait: None,
            },
        )
        .unwrap();
        conn.batch_execute("CREATE TABLE t (url TEXT, s TEXT); INSERT INTO t VALUES ('a.db', NULL), ('b.db', 'x');")
            .unwrap();
        drop(conn);
        let rows = read_only(&url, Backend::Sqlite, "SELECT url, s FROM t ORDER BY url").unwrap();
        assert_eq!(
            rows,
            [
                TextRow(vec![Some("a.db".into()), None]),
                TextRow(vec![Some("b.db".into()), Some("x".into())])
            ]
        );
        let err = read_only(&url, Backend::Sqlite, "DELETE FROM t").unwrap_err();
        assert!(err.to_string().contains("readonly"), "{err}");
        assert_eq!(
            read_only(&url, Backend::Sqlite, "SELECT url FROM t")
                .unwrap()
                .len(),
            2
        );
        let missing = DatabaseUrl::new(dir.join("none.db").to_string_lossy().into_owned());
        assert!(matches!(
            read_only(&missing, Backend::Sqlite, "SELECT 1"),
            Err(RowsError::Connect(DbError::SqliteMissing { .. }))
        ));
    }
}
