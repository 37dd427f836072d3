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

#[cfg(test)]
mod tests {
    use super::*;

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
