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

/// How a backend's URLs name a server and a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlRules {
    /// The URL is a file path (or a `file:` URI, or `:memory:`).
    File,
    /// `scheme://user:password@host:port/database?params`.
    Server {
        /// The port when the URL names none.
        default_port: u16,
        /// Whether query parameters follow libpq: `dbname=` and `host=` override the path
        /// and the host.
        libpq_params: bool,
    },
}

/// Backend facts URL resolution asks about.
impl Backend {
    /// What a URL of this backend looks like, for help texts.
    pub fn example_url(self) -> &'static str {
        match self {
            Backend::Sqlite => "a file path such as `app.db`",
            Backend::Postgres => "postgres://user@host/database",
            Backend::Mysql => "mysql://user@host/database",
        }
    }

    /// How this backend's URLs name a server and a database.
    pub fn url_rules(self) -> UrlRules {
        match self {
            Backend::Sqlite => UrlRules::File,
            Backend::Postgres => UrlRules::Server {
                default_port: 5432,
                libpq_params: true,
            },
            Backend::Mysql => UrlRules::Server {
                default_port: 3306,
                libpq_params: false,
            },
        }
    }
}

/// The SQL parser dialects statements can be read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parser {
    /// PostgreSQL's.
    Postgres,
    /// MySQL's (and MariaDB's).
    Mysql,
    /// SQLite's.
    Sqlite,
}

/// The lexical rules of a backend that decide where a quote or comment ends.
#[derive(Debug, Clone, Copy)]
pub struct Lexicon {
    /// The SQL parser dialect the lint reads the backend's statements with.
    pub parser: Parser,
    /// `#` starts a line comment (MySQL).
    pub hash_comments: bool,
    /// `--` starts a comment only when followed by white space (MySQL).
    pub dash_comment_needs_space: bool,
    /// Block comments nest (PostgreSQL).
    pub nested_block_comments: bool,
    /// `$tag$ … $tag$` strings (PostgreSQL).
    pub dollar_quotes: bool,
    /// `"…"` is a string literal rather than an identifier (MySQL).
    pub double_quoted_strings: bool,
    /// `` `…` `` quotes an identifier (MySQL, SQLite).
    pub backtick_identifiers: bool,
    /// `[…]` quotes an identifier (SQLite).
    pub bracket_identifiers: bool,
    /// A backslash escapes the next character inside strings (MySQL).
    pub backslash_escapes: bool,
}

/// Backend facts statement splitting and the lint's parser ask about.
impl Backend {
    /// How statements of this backend are lexed and parsed.
    pub fn lexicon(self) -> Lexicon {
        match self {
            Backend::Postgres => Lexicon {
                parser: Parser::Postgres,
                dash_comment_needs_space: false,
                hash_comments: false,
                nested_block_comments: true,
                dollar_quotes: true,
                double_quoted_strings: false,
                backtick_identifiers: false,
                bracket_identifiers: false,
                backslash_escapes: false,
            },
            Backend::Mysql => Lexicon {
                parser: Parser::Mysql,
                dash_comment_needs_space: true,
                hash_comments: true,
                nested_block_comments: false,
                dollar_quotes: false,
                double_quoted_strings: true,
                backtick_identifiers: true,
                bracket_identifiers: false,
                backslash_escapes: true,
            },
            Backend::Sqlite => Lexicon {
                parser: Parser::Sqlite,
                dash_comment_needs_space: false,
                hash_comments: false,
                nested_block_comments: false,
                dollar_quotes: false,
                double_quoted_strings: false,
                backtick_identifiers: true,
                bracket_identifiers: true,
                backslash_escapes: false,
            },
        }
    }
}

/// Where a backend's custom SQL types live, as schema.rs declares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomTypeHome {
    /// None: every column has a built-in type (SQLite).
    None,
    /// Database-wide named types (PostgreSQL's `CREATE TYPE`): one declaration per type.
    Named,
    /// Per-column types (MySQL's `ENUM(…)`): one declaration per column.
    PerColumn,
}

/// Backend facts parsing and rendering schema.rs ask about: diesel's SQL types.
impl Backend {
    /// The canonical name of a built-in diesel SQL type on this backend: the lower-case SQL
    /// base type a column of it has after a replay, or `None` when diesel has no such type
    /// here. Aliases collapse: `Integer` and `Int4` are both `integer`, `Text` and `Varchar`
    /// stay apart on PostgreSQL and MySQL (they are different column types there) but are
    /// both `text` on SQLite.
    pub fn diesel_type(self, rust_name: &str) -> Option<&'static str> {
        let common = match rust_name {
            "Bool" => Some("boolean"),
            "SmallInt" | "Smallint" | "Int2" => Some("smallint"),
            "Integer" | "Int4" => Some("integer"),
            "BigInt" | "Bigint" | "Int8" => Some("bigint"),
            "Text" => Some("text"),
            "Date" => Some("date"),
            "Time" => Some("time"),
            "Timestamp" => Some("timestamp"),
            _ => None,
        };
        match self {
            Backend::Sqlite => common.or(match rust_name {
                "Binary" | "Blob" => Some("blob"),
                "Float" | "Float4" => Some("float"),
                "Double" | "Float8" | "Numeric" | "Decimal" => Some("double"),
                "Varchar" | "VarChar" | "Char" => Some("text"),
                _ => None,
            }),
            Backend::Postgres => common.or(match rust_name {
                "Float" | "Float4" => Some("real"),
                "Double" | "Float8" => Some("double precision"),
                "Numeric" | "Decimal" => Some("numeric"),
                "Varchar" | "VarChar" => Some("varchar"),
                "Char" | "Bpchar" => Some("char"),
                "Binary" | "Bytea" => Some("bytea"),
                "Timestamptz" => Some("timestamptz"),
                "Interval" => Some("interval"),
                "Json" => Some("json"),
                "Jsonb" => Some("jsonb"),
                "Uuid" => Some("uuid"),
                "Inet" => Some("inet"),
                "Cidr" => Some("cidr"),
                "MacAddr" | "Macaddr" => Some("macaddr"),
                "MacAddr8" | "Macaddr8" => Some("macaddr8"),
                "Money" => Some("money"),
                "Oid" => Some("oid"),
                "Citext" => Some("citext"),
                "Int4range" => Some("int4range"),
                "Int8range" => Some("int8range"),
                "Daterange" => Some("daterange"),
                "Numrange" => Some("numrange"),
                "Tsrange" => Some("tsrange"),
                "Tstzrange" => Some("tstzrange"),
                _ => None,
            }),
            Backend::Mysql => common.or(match rust_name {
                "TinyInt" | "Tinyint" => Some("tinyint"),
                "Float" | "Float4" => Some("float"),
                "Double" | "Float8" => Some("double"),
                "Numeric" | "Decimal" => Some("decimal"),
                "Varchar" | "VarChar" => Some("varchar"),
                "Char" => Some("char"),
                "Tinytext" => Some("tinytext"),
                "Mediumtext" => Some("mediumtext"),
                "Longtext" => Some("longtext"),
                "Binary" => Some("binary"),
                "Varbinary" => Some("varbinary"),
                "Blob" => Some("blob"),
                "Tinyblob" => Some("tinyblob"),
                "Mediumblob" => Some("mediumblob"),
                "Longblob" => Some("longblob"),
                "Datetime" => Some("datetime"),
                "Json" => Some("json"),
                "Bit" => Some("bit"),
                _ => None,
            }),
        }
    }

    /// The diesel SQL type names that exist only on this backend (beside those every backend
    /// knows), which schema.rs uses without declaring them.
    pub fn diesel_only_type_names(self) -> &'static [&'static str] {
        match self {
            Backend::Postgres => &[
                "Cidr",
                "Citext",
                "Inet",
                "Jsonb",
                "MacAddr",
                "MacAddr8",
                "Money",
                "Oid",
                "Range",
                "Timestamptz",
                "Uuid",
                "Json",
                "PgLsn",
                "Record",
                "Interval",
                "Int4range",
                "Int8range",
                "Daterange",
                "Numrange",
                "Tsrange",
                "Tstzrange",
                "Int4multirange",
                "Int8multirange",
                "Datemultirange",
                "Nummultirange",
                "Tsmultirange",
                "Tstzmultirange",
                "SmallSerial",
                "BigSerial",
                "Serial",
                "Bytea",
                "Bpchar",
                "Macaddr",
                "Macaddr8",
            ],
            Backend::Mysql => &["TinyInt", "Tinyint", "Datetime", "Json"],
            Backend::Sqlite => &[],
        }
    }

    /// Where this backend's custom SQL types live.
    pub fn custom_types(self) -> CustomTypeHome {
        match self {
            Backend::Sqlite => CustomTypeHome::None,
            Backend::Postgres => CustomTypeHome::Named,
            Backend::Mysql => CustomTypeHome::PerColumn,
        }
    }

    /// The help for a column type diesel does not know on this backend.
    pub fn diesel_types_hint(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite's diesel types are Bool, SmallInt, Integer, BigInt, Float, Double, Text, Binary, Date, Time and Timestamp",
            Backend::Postgres => "use a diesel PostgreSQL type (Int4, Int8, Text, Varchar, Bool, Timestamptz, Jsonb, Uuid, …) or declare the type in `pub mod sql_types`",
            Backend::Mysql => "use a diesel MySQL type (Integer, Bigint, Varchar, Text, Bool, Datetime, …) or declare the type in `pub mod sql_types`",
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

    /// Whether DDL commits the open transaction before it runs (MySQL, MariaDB).
    pub fn ddl_commits_implicitly(self) -> bool {
        match self {
            Backend::Mysql => true,
            Backend::Postgres | Backend::Sqlite => false,
        }
    }

    /// How `TRUNCATE` locks the table, for the lint's message (`""`: nothing to add).
    pub fn truncate_lock(self) -> &'static str {
        match self {
            Backend::Postgres => {
                ", under an ACCESS EXCLUSIVE lock that blocks every read and write of it"
            }
            Backend::Mysql | Backend::Sqlite => "",
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

    /// The character that quotes an identifier (doubled inside it).
    pub fn identifier_quote(self) -> char {
        match self {
            Backend::Mysql => '`',
            Backend::Sqlite | Backend::Postgres => '"',
        }
    }

    /// Whether keys are dropped by kind (`DROP PRIMARY KEY`, `DROP FOREIGN KEY name`: MySQL)
    /// rather than as named constraints (`DROP CONSTRAINT name`).
    pub fn drops_keys_by_kind(self) -> bool {
        match self {
            Backend::Mysql => true,
            Backend::Postgres | Backend::Sqlite => false,
        }
    }

    /// Whether a constraint can be added `NOT VALID` and validated later (PostgreSQL), so
    /// that adding one on a large table need not check every row under a lock.
    pub fn has_not_valid_constraints(self) -> bool {
        match self {
            Backend::Postgres => true,
            Backend::Mysql | Backend::Sqlite => false,
        }
    }

    /// Whether most table changes are made by rebuilding the table (SQLite: create the new
    /// table, copy the rows, drop the old one, rename).
    pub fn rebuilds_tables_to_alter(self) -> bool {
        match self {
            Backend::Sqlite => true,
            Backend::Postgres | Backend::Mysql => false,
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

/// What diesel and the backend do with statements a migration should not hold, for the lint's
/// messages (each rule says what happens on the set's backend, not in general).
impl Backend {
    /// What running an up.sql of no statement does: `comments` when it holds comments,
    /// otherwise only whitespace and `;`. (A zero-byte file is refused by diesel everywhere.)
    pub fn runs_statementless_up_sql(self, comments: bool) -> &'static str {
        match self {
            Backend::Sqlite => {
                "SQLite runs nothing and diesel records the migration as applied, so SQL written \
                 into it later never runs"
            }
            Backend::Postgres => {
                "on PostgreSQL diesel fails with \"Received an empty query\", and later \
                 migrations of the set wait behind it"
            }
            Backend::Mysql if comments => {
                "MySQL and MariaDB accept a query of only comments, so diesel records the \
                 migration as applied while nothing ran, and SQL written into it later never runs"
            }
            Backend::Mysql => {
                "MySQL and MariaDB reject a query of only whitespace (\"Query was empty\"), and \
                 later migrations of the set wait behind it"
            }
        }
    }

    /// What running a file of no statement does, for the refusal before it runs: `comments`
    /// when it holds comments, `recorded` what diesel would then record.
    pub fn statementless_outcome(self, comments: bool, recorded: &str) -> String {
        match self {
            Backend::Sqlite => format!("SQLite runs nothing, so {recorded}"),
            Backend::Mysql if comments => {
                format!("MySQL and MariaDB accept a query of only comments, so {recorded}")
            }
            Backend::Mysql => "MySQL and MariaDB reject it (\"Query was empty\")".to_string(),
            Backend::Postgres => "PostgreSQL rejects it (\"Received an empty query\")".to_string(),
        }
    }

    /// What running a down.sql of no statement does.
    pub fn runs_statementless_down_sql(self) -> &'static str {
        match self {
            Backend::Postgres => "PostgreSQL rejects it (\"Received an empty query\")",
            Backend::Sqlite | Backend::Mysql => {
                "run as it is, it marks the migration undone but leaves its changes in place"
            }
        }
    }

    /// What a `BEGIN` inside the transaction diesel opened for a migration does.
    pub fn nested_begin_effect(self) -> &'static str {
        match self {
            Backend::Sqlite => {
                "fails: SQLite cannot start a transaction inside the one diesel opened"
            }
            Backend::Postgres => {
                "is ignored by PostgreSQL (diesel already opened a transaction), so a COMMIT \
                 after it ends diesel's transaction instead"
            }
            Backend::Mysql => {
                "commits diesel's transaction on MySQL and opens another: what ran before it \
                 can no longer be rolled back"
            }
        }
    }

    /// Whether a `BEGIN` inside an open transaction commits it (MySQL); SQLite fails on it
    /// and PostgreSQL ignores it.
    pub fn begin_commits_open_transaction(self) -> bool {
        match self {
            Backend::Mysql => true,
            Backend::Postgres | Backend::Sqlite => false,
        }
    }

    /// What a `COMMIT` inside the transaction diesel opened for a migration does.
    pub fn early_commit_effect(self) -> &'static str {
        match self {
            Backend::Sqlite => {
                "commits diesel's transaction early: a later failure leaves the migration half \
                 applied and unrecorded, and diesel's own COMMIT then fails"
            }
            Backend::Postgres | Backend::Mysql => {
                "commits diesel's transaction early: a later failure leaves the migration half \
                 applied and unrecorded"
            }
        }
    }
}

/// Where a set's database lives, for URL resolution and the CI workflow `init` writes.
impl Backend {
    /// Whether the database is a file named by a path (SQLite): a relative path in a URL read
    /// from the environment or `.env` is relative to the set's folder.
    pub fn is_file_database(self) -> bool {
        self.url_rules() == UrlRules::File
    }

    /// The server a CI job starts for this backend (`None` for a file database).
    pub fn ci_server(self) -> Option<CiServer> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some(CiServer {
                service: "      postgres:\n        image: postgres:16\n        env:\n          POSTGRES_HOST_AUTH_METHOD: trust\n        ports: [\"5432:5432\"]\n        options: >-\n          --health-cmd \"pg_isready -U postgres\"\n          --health-interval 2s --health-timeout 5s --health-retries 30\n",
                server_url: "postgres://postgres@127.0.0.1:5432",
                create_database: |db| format!("psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE \"{db}\"'"),
            }),
            Backend::Mysql => Some(CiServer {
                service: "      mariadb:\n        image: mariadb:10.11\n        env:\n          MARIADB_ALLOW_EMPTY_ROOT_PASSWORD: \"1\"\n        ports: [\"3306:3306\"]\n        options: >-\n          --health-cmd \"healthcheck.sh --connect --innodb_initialized\"\n          --health-interval 2s --health-timeout 5s --health-retries 30\n",
                server_url: "mysql://root@127.0.0.1:3306",
                create_database: |db| format!("mysql -h 127.0.0.1 -u root -e 'CREATE DATABASE `{db}`'"),
            }),
        }
    }
}

/// A database server as a CI job runs it (a GitHub Actions service).
#[derive(Debug, Clone, Copy)]
pub struct CiServer {
    /// The service entry, indented for a job's `services:` map.
    pub service: &'static str,
    /// The server's URL without a database, from the job's steps.
    pub server_url: &'static str,
    /// The shell command that creates database `db` on the service.
    pub create_database: fn(&str) -> String,
}

impl CiServer {
    /// The URL of database `db` on the service.
    pub fn database_url(&self, db: &str) -> String {
        format!("{}/{db}", self.server_url)
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

    /// What the lint says each backend does with statements a migration should not hold:
    /// one message per backend, never another backend's.
    #[test]
    fn statement_outcomes_name_their_backend() {
        assert!(Backend::Postgres
            .runs_statementless_up_sql(true)
            .contains("PostgreSQL"));
        assert!(Backend::Mysql
            .runs_statementless_up_sql(true)
            .contains("accept a query of only comments"));
        assert!(Backend::Mysql
            .runs_statementless_up_sql(false)
            .contains("Query was empty"));
        assert!(Backend::Sqlite
            .runs_statementless_up_sql(true)
            .contains("SQLite"));
        assert!(Backend::Sqlite.nested_begin_effect().starts_with("fails"));
        assert!(Backend::Mysql.begin_commits_open_transaction());
        assert!(!Backend::Postgres.begin_commits_open_transaction());
        assert!(Backend::Sqlite.is_file_database());
        assert!(Backend::Sqlite.ci_server().is_none());
        let pg = Backend::Postgres.ci_server().unwrap();
        assert_eq!(
            pg.database_url("app"),
            "postgres://postgres@127.0.0.1:5432/app"
        );
        assert!((pg.create_database)("app").contains("CREATE DATABASE \"app\""));
        let my = Backend::Mysql.ci_server().unwrap();
        assert_eq!(my.database_url("app"), "mysql://root@127.0.0.1:3306/app");
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
