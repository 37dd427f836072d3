//! The three database backends a migration set can target.
//!
//! This module is pure: it names backends and maps URL schemes to them. Connections live in
//! `db/`, so everything that only needs to *know* the backend (lint, rendering, generate)
//! stays free of database code.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A database backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

impl Backend {
    /// All backends, in a stable order.
    pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::Mysql];

    /// The name used in configuration, output and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }

    /// Whether columns can be arrays (`Array<…>` in schema.rs).
    pub fn has_array_types(self) -> bool {
        match self {
            Backend::Postgres => true,
            Backend::Sqlite | Backend::Mysql => false,
        }
    }

    /// Whether integer types can be `Unsigned<…>`.
    pub fn has_unsigned_integers(self) -> bool {
        match self {
            Backend::Mysql => true,
            Backend::Sqlite | Backend::Postgres => false,
        }
    }

    /// Whether custom SQL types are database-wide (PostgreSQL's `CREATE TYPE`), so that one
    /// type used by several columns is declared once in schema.rs; MySQL's per-column ENUMs
    /// are declared per column.
    pub fn has_named_types(self) -> bool {
        match self {
            Backend::Postgres => true,
            Backend::Sqlite | Backend::Mysql => false,
        }
    }

    /// The backend a database URL points at, from its scheme.
    ///
    /// `postgres://` and `postgresql://` are PostgreSQL, `mysql://` and `mariadb://` are
    /// MySQL/MariaDB, `sqlite://`, `file:` and anything without a scheme (a path, or
    /// `:memory:`) is SQLite, as diesel_cli treats it. Any other scheme is `None`, and so is a
    /// `key=value` connection string (`host=… dbname=…`).
    pub fn from_url(url: &str) -> Option<Backend> {
        // A libpq/ODBC `key=value` connection string is no path: never a SQLite file.
        if crate::database_url::is_keyword_connection_string(url) {
            return None;
        }
        let lower = url.trim_start().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else if lower.starts_with("mysql://") || lower.starts_with("mariadb://") {
            Some(Backend::Mysql)
        } else if lower.starts_with("sqlite:") || lower.starts_with("file:") {
            Some(Backend::Sqlite)
        } else if let Some(idx) = lower.find("://") {
            // Some other scheme: only a plain path may contain "://" after a path separator.
            if lower[..idx].contains('/') || lower[..idx].contains('\\') {
                Some(Backend::Sqlite)
            } else {
                None
            }
        } else if ["postgres:", "postgresql:", "mysql:", "mariadb:"]
            .iter()
            .any(|p| lower.starts_with(p))
        {
            // A server scheme missing its `//` (`postgres:app`): a typo, never a file name.
            None
        } else {
            Some(Backend::Sqlite)
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "sqlite" | "sqlite3" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" | "pg" => Ok(Backend::Postgres),
            "mysql" | "mariadb" => Ok(Backend::Mysql),
            other => Err(format!(
                "unknown backend `{other}`; expected `sqlite`, `postgres` or `mysql`"
            )),
        }
    }
}

/// Backend facts the lint rules ask about, as exhaustive matches so a new backend variant
/// makes the compiler point at each one.
impl Backend {
    /// Whether a batch of several statements sent at once runs in one implicit transaction
    /// (PostgreSQL's simple-query protocol).
    pub fn batch_runs_in_implicit_transaction(self) -> bool {
        match self {
            Backend::Postgres => true,
            Backend::Mysql | Backend::Sqlite => false,
        }
    }

    /// Whether the backend has `CREATE INDEX CONCURRENTLY`, which cannot run in a transaction.
    pub fn has_concurrent_index_builds(self) -> bool {
        match self {
            Backend::Postgres => true,
            Backend::Mysql | Backend::Sqlite => false,
        }
    }

    /// Whether a lone identifier after `DEFAULT` (`DEFAULT ""`, `DEFAULT active`) is read as
    /// a string literal (SQLite).
    pub fn reads_default_identifier_as_string(self) -> bool {
        match self {
            Backend::Sqlite => true,
            Backend::Postgres | Backend::Mysql => false,
        }
    }

    /// Whether an unterminated block comment silently swallows the rest of the file instead
    /// of failing (SQLite).
    pub fn unterminated_comment_swallows_rest(self) -> bool {
        match self {
            Backend::Sqlite => true,
            Backend::Postgres | Backend::Mysql => false,
        }
    }

    /// Whether a column can be redefined whole with `ALTER TABLE … MODIFY COLUMN` (MySQL),
    /// which restates its type and nullability together.
    pub fn redefines_columns_with_modify(self) -> bool {
        match self {
            Backend::Mysql => true,
            Backend::Postgres | Backend::Sqlite => false,
        }
    }

    /// Whether widening a `varchar` (or turning it into `text`) changes only the catalog, with
    /// no table rewrite (PostgreSQL).
    pub fn widens_varchar_in_place(self) -> bool {
        match self {
            Backend::Postgres => true,
            Backend::Mysql | Backend::Sqlite => false,
        }
    }
}

/// Backend facts `generate` asks about, as exhaustive matches.
impl Backend {
    /// Whether foreign keys are added and dropped with `ALTER TABLE` (SQLite rebuilds the
    /// table instead).
    pub fn alters_foreign_keys_in_place(self) -> bool {
        match self {
            Backend::Postgres | Backend::Mysql => true,
            Backend::Sqlite => false,
        }
    }

    /// Whether `VARCHAR` needs a length (MySQL).
    pub fn varchar_needs_length(self) -> bool {
        match self {
            Backend::Mysql => true,
            Backend::Postgres | Backend::Sqlite => false,
        }
    }

    /// Whether `ENUM` and `SET` are column types that list their values inline (MySQL).
    pub fn has_inline_enum_columns(self) -> bool {
        match self {
            Backend::Mysql => true,
            Backend::Postgres | Backend::Sqlite => false,
        }
    }

    /// Whether `ADD COLUMN` can put the column anywhere (`FIRST`, `AFTER col`: MySQL);
    /// PostgreSQL appends it, and SQLite needs a rebuild for anything but the end.
    pub fn places_added_columns(self) -> bool {
        match self {
            Backend::Mysql => true,
            Backend::Postgres | Backend::Sqlite => false,
        }
    }

    /// Whether adding a NOT NULL column without a default fails once the table has rows
    /// (PostgreSQL, and SQLite); MySQL fills existing rows with the type's implicit zero.
    pub fn add_not_null_column_fails_with_rows(self) -> bool {
        match self {
            Backend::Postgres | Backend::Sqlite => true,
            Backend::Mysql => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The facts `generate` and the lint ask about, per backend, in one table: a change to
    /// one of them changes the SQL written or the findings, and shows up here first.
    #[test]
    fn generate_and_lint_facts() {
        let facts = |b: Backend| {
            [
                b.alters_foreign_keys_in_place(),
                b.varchar_needs_length(),
                b.has_inline_enum_columns(),
                b.places_added_columns(),
                b.add_not_null_column_fails_with_rows(),
                b.redefines_columns_with_modify(),
                b.widens_varchar_in_place(),
                b.has_named_types(),
            ]
        };
        assert_eq!(
            facts(Backend::Sqlite),
            [false, false, false, false, true, false, false, false]
        );
        assert_eq!(
            facts(Backend::Postgres),
            [true, false, false, false, true, false, true, true]
        );
        assert_eq!(
            facts(Backend::Mysql),
            [true, true, true, true, false, true, false, false]
        );
    }

    #[test]
    fn backend_from_url_scheme() {
        assert_eq!(
            Backend::from_url("postgres://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("mysql://root@127.0.0.1/db"),
            Some(Backend::Mysql)
        );
        assert_eq!(
            Backend::from_url("mariadb://root@127.0.0.1/db"),
            Some(Backend::Mysql)
        );
        assert_eq!(Backend::from_url("sqlite://dev.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("dev.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url(":memory:"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("redis://localhost"), None);
    }

    #[test]
    fn backend_parses_config_names() {
        assert_eq!("postgres".parse::<Backend>(), Ok(Backend::Postgres));
        assert_eq!("MariaDB".parse::<Backend>(), Ok(Backend::Mysql));
        assert!("oracle".parse::<Backend>().is_err());
    }
}
