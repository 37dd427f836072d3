//! The rule registry and what a rule gets to look at.
//!
//! A rule is a unit struct implementing [`Rule`]. It declares its id, default level, backends
//! and one-line summary in a [`RuleInfo`], and implements one or more of three hooks:
//!
//! * [`Rule::check_statement`] runs for every statement of `up.sql` (and of `down.sql` when
//!   the rule sets `on_down`), with the schema as it stood just before that statement;
//! * [`Rule::check_file_end`] runs once a file has been read to its end, with the schema after
//!   it (only for `up.sql`);
//! * [`Rule::check_migration`] runs once per migration folder, with both files.
//!
//! Adding a rule takes three files: the rule's own, `src/lint/rules/<id with underscores>.rs`
//! (with its tests and at least one snapshot of its findings); a line in each list below
//! ([`all`] and the `mod` declarations); and its page, `docs/rules/<id>.md`. The table of
//! `docs/rules/README.md` is generated from [`all`]: a test compares them, and
//! `UPDATE_DOCS=1 cargo test --lib lint::rules_docs` rewrites it.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::backend::Backend;

use super::config::{Level, LintConfig};
use super::model::{Action, Facts};
use super::schema::Schema;
use super::MigrationInput;
use crate::sql::{Pos, SplitError, SplitFile, Statement};

pub mod add_column_not_null;
pub mod allow_without_reason;
pub mod change_column_type;
pub mod concurrently_in_transaction;
pub mod constraint_without_not_valid;
pub mod create_index_non_concurrently;
pub mod down_drops_not_created;
pub mod drop_column;
pub mod drop_index_non_concurrently;
pub mod drop_schema_cascade;
pub mod drop_table;
pub mod empty_down_sql;
pub mod empty_up_sql;
pub mod enum_value_used_in_transaction;
pub mod lock_timeout_missing;
pub mod missing_down_sql;
pub mod missing_where;
pub mod mysql_data_change_with_ddl;
pub mod mysql_enum_change;
pub mod prefer_identity;
pub mod prefer_text_over_char;
pub mod prefer_timestamptz;
pub mod rename_column;
pub mod rename_table;
pub mod set_not_null;
pub mod sqlite_add_column_constraint;
pub mod sqlite_add_column_needs_empty_table;
pub mod sqlite_pragma_in_transaction;
pub mod transaction_control;
pub mod truncate_table;
pub mod unparsed_statement;
pub mod unreadable_sql;
pub mod unresolved_todo;
pub mod unsafe_enum_change;
pub mod unused_allow;
pub mod vacuum_full_or_cluster;
pub mod vacuum_in_transaction;
pub mod volatile_default;

/// Every rule, in the order `cargo migrate rules` lists them.
pub fn all() -> &'static [&'static dyn Rule] {
    static ALL: &[&dyn Rule] = &[
        &unreadable_sql::UnreadableSql,
        &unresolved_todo::UnresolvedTodo,
        &empty_up_sql::EmptyUpSql,
        &concurrently_in_transaction::ConcurrentlyInTransaction,
        &vacuum_in_transaction::VacuumInTransaction,
        &enum_value_used_in_transaction::EnumValueUsedInTransaction,
        &sqlite_add_column_constraint::SqliteAddColumnConstraint,
        &mysql_data_change_with_ddl::MysqlDataChangeWithDdl,
        &transaction_control::TransactionControl,
        &sqlite_pragma_in_transaction::SqlitePragmaInTransaction,
        &unsafe_enum_change::UnsafeEnumChange,
        &mysql_enum_change::MysqlEnumChange,
        &add_column_not_null::AddColumnNotNull,
        &sqlite_add_column_needs_empty_table::SqliteAddColumnNeedsEmptyTable,
        &set_not_null::SetNotNull,
        &create_index_non_concurrently::CreateIndexNonConcurrently,
        &drop_index_non_concurrently::DropIndexNonConcurrently,
        &constraint_without_not_valid::ConstraintWithoutNotValid,
        &change_column_type::ChangeColumnType,
        &volatile_default::VolatileDefault,
        &lock_timeout_missing::LockTimeoutMissing,
        &rename_column::RenameColumn,
        &rename_table::RenameTable,
        &drop_column::DropColumn,
        &drop_table::DropTable,
        &truncate_table::TruncateTable,
        &drop_schema_cascade::DropSchemaCascade,
        &vacuum_full_or_cluster::VacuumFullOrCluster,
        &prefer_identity::PreferIdentity,
        &prefer_timestamptz::PreferTimestamptz,
        &prefer_text_over_char::PreferTextOverChar,
        &missing_where::MissingWhere,
        &missing_down_sql::MissingDownSql,
        &empty_down_sql::EmptyDownSql,
        &down_drops_not_created::DownDropsNotCreated,
        &allow_without_reason::AllowWithoutReason,
        &unused_allow::UnusedAllow,
        &unparsed_statement::UnparsedStatement,
    ];
    ALL
}

/// The rule with this id.
pub fn find(id: &str) -> Option<&'static dyn Rule> {
    all().iter().copied().find(|r| r.info().id == id)
}

/// What `cargo migrate rules` shows about a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    /// Stable kebab-case id, used in config, inline allows and output.
    pub id: &'static str,
    pub default_level: Level,
    /// Backends the rule applies to.
    pub backends: &'static [Backend],
    /// One line: what it catches.
    pub summary: &'static str,
    /// Whether statement checks also run on `down.sql`. Rules about statements that fail at
    /// run time do; rules about locks and data loss do not, since undoing `up.sql` is what a
    /// `down.sql` is for.
    pub on_down: bool,
}

pub const ALL_BACKENDS: &[Backend] = &[Backend::Sqlite, Backend::Postgres, Backend::Mysql];
pub const POSTGRES: &[Backend] = &[Backend::Postgres];
pub const MYSQL: &[Backend] = &[Backend::Mysql];
pub const SQLITE: &[Backend] = &[Backend::Sqlite];
pub const POSTGRES_MYSQL: &[Backend] = &[Backend::Postgres, Backend::Mysql];

/// A lint rule.
pub trait Rule: Sync {
    fn info(&self) -> &'static RuleInfo;

    /// Look at one statement.
    fn check_statement(&self, _cx: &StmtCx<'_>, _out: &mut Vec<Finding>) {}

    /// Look at a whole `up.sql` once it has been replayed.
    fn check_file_end(&self, _cx: &EndCx<'_>, _out: &mut Vec<Finding>) {}

    /// Look at a migration folder.
    fn check_migration(&self, _cx: &MigrationCx<'_>, _out: &mut Vec<Finding>) {}
}

/// Which file of a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    Up,
    Down,
}

impl FileKind {
    pub fn file_name(self) -> &'static str {
        match self {
            FileKind::Up => "up.sql",
            FileKind::Down => "down.sql",
        }
    }
}

/// Where a finding points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// `None` for the migration folder.
    pub file: Option<FileKind>,
    /// The statement, for inline suppression.
    pub stmt: Option<usize>,
    /// Position and marker width.
    pub at: Option<(Pos, usize)>,
}

/// A rule's finding, before levels and suppressions are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub message: String,
    pub help: String,
    pub place: Place,
}

/// Names created by a file so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Created {
    pub tables: HashSet<String>,
    pub columns: HashSet<(String, String)>,
    pub types: HashSet<String>,
    pub indexes: HashSet<String>,
}

impl Created {
    pub fn note(&mut self, action: &Action) {
        match action {
            Action::CreateTable { table, .. } => {
                self.tables.insert(table.clone());
            }
            Action::RenameTable { from, to } if self.tables.remove(from) => {
                self.tables.insert(to.clone());
            }
            Action::AddColumn { table, column } => {
                self.columns.insert((table.clone(), column.name.clone()));
            }
            Action::CreateEnum { name, .. } => {
                self.types.insert(name.clone());
            }
            Action::CreateIndex {
                name: Some(name), ..
            } => {
                self.indexes.insert(name.clone());
            }
            _ => {}
        }
    }
}

/// One file being linted.
pub struct FileCx<'a> {
    pub kind: FileKind,
    pub backend: Backend,
    pub migration: &'a MigrationInput<'a>,
    pub split: &'a SplitFile<'a>,
    pub facts: &'a [Facts],
    /// The set's lint configuration (levels, `init-sql`).
    pub config: &'a LintConfig,
}

impl FileCx<'_> {
    /// Whether the file's statements run inside one transaction: diesel's own, or (on
    /// PostgreSQL) the implicit one of a multi-statement batch.
    pub fn in_transaction(&self) -> bool {
        self.migration.run_in_transaction
            || (self.backend.batch_runs_in_implicit_transaction()
                && self.split.statements.len() > 1)
    }

    /// Whether the table named `table` just before statement `index` is rebuilt by this file:
    /// it existed before the file, its rows are copied (`INSERT … SELECT … FROM table`, or
    /// `CREATE TABLE … AS SELECT`) into a table the file creates, and that new table carries
    /// the old table's name by the end of the file. Tables are followed through renames, so
    /// this recognises SQLite's recipe (create `new_t`, copy, drop `t`, rename `new_t` to `t`),
    /// the rename-first variant (rename `t` to `t_old`, create `t`, copy, drop `t_old`), the
    /// SQLite FAQ's round trip through a backup table (copy `t` into `t_backup`, drop and
    /// re-create `t`, copy back) and MySQL's swap (`RENAME TABLE t TO t_old, new_t TO t`).
    pub fn is_rebuilt(&self, index: usize, table: &str) -> bool {
        let mut tables = Tables::default();
        let mut target = None;
        let mut copies: Vec<(usize, usize)> = Vec::new();
        for (k, facts) in self.facts.iter().enumerate() {
            if k == index {
                target = Some(tables.id(table));
            }
            for a in facts.iter() {
                match a {
                    Action::CreateTable { table: t, .. } => {
                        tables.original.push(None);
                        tables.names.insert(t.clone(), tables.original.len() - 1);
                    }
                    Action::RenameTable { from, to } => {
                        let id = tables.id(from);
                        tables.names.remove(from);
                        tables.names.insert(to.clone(), id);
                    }
                    Action::DropTable { table: t, .. } => {
                        tables.names.remove(t);
                    }
                    Action::Insert { table: t, reads } => {
                        let into = tables.id(t);
                        for r in reads.iter().filter(|r| *r != t) {
                            copies.push((tables.id(r), into));
                        }
                    }
                    _ => {}
                }
            }
        }
        let Some(x) = target else { return false };
        let Some(name) = tables.original[x].as_deref() else {
            return false;
        };
        // The rows flow from `x` through tables this file creates (a direct copy, or the
        // FAQ's round trip through a backup table) into the table that ends up with the name.
        let Some(&end) = tables.names.get(name) else {
            return false;
        };
        if tables.original[end].is_some() {
            return false;
        }
        let mut reached = vec![x];
        let mut k = 0;
        while k < reached.len() {
            let from = reached[k];
            k += 1;
            for &(f, into) in &copies {
                if f == from && tables.original[into].is_none() && !reached.contains(&into) {
                    reached.push(into);
                }
            }
        }
        reached.contains(&end)
    }

    /// Position and width of the start of a statement: its first two keywords when they sit
    /// on one line (`CREATE INDEX`), else its first token.
    pub fn head(&self, index: usize) -> (Pos, usize) {
        let Some(stmt) = self.split.statements.get(index) else {
            return (Pos::new(1, 1), 1);
        };
        let mut sig = self.split.significant(stmt);
        let first = sig.next();
        let second = sig.next();
        match (first, second) {
            (Some(a), Some(b)) if b.span.end.line == a.span.start.line => (
                stmt.start,
                (b.span.end.column.saturating_sub(a.span.start.column) as usize).max(1),
            ),
            (Some(a), _) if a.span.end.line == a.span.start.line => (
                stmt.start,
                (a.span.end.column.saturating_sub(a.span.start.column) as usize).max(1),
            ),
            _ => (stmt.start, 1),
        }
    }
}

/// Tables followed through the renames of one file, for [`FileCx::is_rebuilt`]: each table
/// has an id, `names` maps current names to ids, and `original` is the name a table had
/// before the file (`None` for a table the file creates).
#[derive(Default)]
struct Tables {
    names: HashMap<String, usize>,
    original: Vec<Option<String>>,
}

impl Tables {
    /// The id of the table now called `name`; a name not seen yet is a table that existed
    /// before the file.
    fn id(&mut self, name: &str) -> usize {
        if let Some(id) = self.names.get(name) {
            return *id;
        }
        self.original.push(Some(name.to_string()));
        let id = self.original.len() - 1;
        self.names.insert(name.to_string(), id);
        id
    }
}

/// One statement being linted.
pub struct StmtCx<'a> {
    pub file: &'a FileCx<'a>,
    pub index: usize,
    pub stmt: &'a Statement,
    pub facts: &'a Facts,
    /// The schema just before this statement (for `down.sql`: after `up.sql`).
    pub schema: &'a Schema,
    /// What earlier statements of this file created.
    pub created: &'a Created,
}

impl<'a> StmtCx<'a> {
    pub fn backend(&self) -> Backend {
        self.file.backend
    }

    /// A table that may already hold rows: anything not created earlier in this file. A table
    /// the history does not know was made outside these migrations and counts as existing.
    pub fn is_existing_table(&self, table: &str) -> bool {
        !self.created.tables.contains(table)
    }

    /// A finding at `at`, or at the statement's head when `at` is `None`.
    pub fn finding(
        &self,
        rule: &'static str,
        at: Option<(Pos, usize)>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Finding {
        let at = at.unwrap_or_else(|| self.file.head(self.index));
        Finding {
            rule,
            message: message.into(),
            help: help.into(),
            place: Place {
                file: Some(self.file.kind),
                stmt: Some(self.index),
                at: Some(at),
            },
        }
    }

    /// Where the type of column `column` is written in this statement (`CREATE TABLE` or
    /// `ADD COLUMN`): the token after the column's name where it follows `(`, `,`, `ADD` or
    /// `COLUMN`, or `None` when it cannot be found.
    pub fn column_type_at(&self, column: &str) -> Option<(Pos, usize)> {
        use sqlparser::tokenizer::Token;
        let sig: Vec<_> = self.file.split.significant(self.stmt).collect();
        (1..sig.len().saturating_sub(1))
            .find(|&i| {
                matches!(&sig[i].token, Token::Word(w) if w.value.to_lowercase() == column)
                    && (matches!(sig[i - 1].token, Token::LParen | Token::Comma)
                        || crate::sql::is_word(&sig[i - 1].token, "add")
                        || crate::sql::is_word(&sig[i - 1].token, "column"))
            })
            .map(|i| super::model::token_pos(sig[i + 1]))
    }

    /// The columns this statement gives a type (`CREATE TABLE`, `ADD COLUMN`,
    /// `ALTER COLUMN … TYPE`), with their name, their type and where to point at: the type
    /// where it can be found, else the action.
    pub fn typed_columns(&self) -> Vec<TypedColumn<'a>> {
        let mut out = Vec::new();
        for act in &self.facts.actions {
            match &act.action {
                Action::CreateTable { columns, .. } => out.extend(columns.iter().map(|c| {
                    let at = self.column_type_at(&c.name).or(act.at);
                    (c.name.as_str(), c.ty.as_str(), at)
                })),
                Action::AddColumn { column, .. } => out.push((
                    column.name.as_str(),
                    column.ty.as_str(),
                    self.column_type_at(&column.name).or(act.at),
                )),
                Action::AlterColumnType { column, ty, .. } => {
                    out.push((column.as_str(), ty.as_str(), act.at));
                }
                _ => {}
            }
        }
        out
    }

    /// Statements of this file before this one, with their facts.
    pub fn earlier(&self) -> impl Iterator<Item = (usize, &Facts)> + '_ {
        self.file.facts.iter().enumerate().take(self.index)
    }
}

/// A column a statement gives a type: its name, its type, and where to point at.
pub type TypedColumn<'a> = (&'a str, &'a str, Option<(Pos, usize)>);

/// A file read to its end.
pub struct EndCx<'a> {
    pub file: &'a FileCx<'a>,
    /// The schema after the file.
    pub schema: &'a Schema,
    pub created: &'a Created,
}

/// How a migration file turned out.
pub enum FileState<'a> {
    Missing,
    Unreadable(&'a SplitError),
    Read(&'a FileCx<'a>),
}

/// A migration folder.
pub struct MigrationCx<'a> {
    pub backend: Backend,
    pub migration: &'a MigrationInput<'a>,
    pub up: FileState<'a>,
    pub down: FileState<'a>,
    /// What `up.sql` created.
    pub up_created: &'a Created,
}

impl MigrationCx<'_> {
    /// A finding about the whole folder.
    pub fn folder_finding(
        &self,
        rule: &'static str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Finding {
        Finding {
            rule,
            message: message.into(),
            help: help.into(),
            place: Place {
                file: None,
                stmt: None,
                at: None,
            },
        }
    }

    /// A finding about one file, optionally at a position.
    pub fn file_finding(
        &self,
        rule: &'static str,
        file: FileKind,
        stmt: Option<usize>,
        at: Option<(Pos, usize)>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Finding {
        Finding {
            rule,
            message: message.into(),
            help: help.into(),
            place: Place {
                file: Some(file),
                stmt,
                at,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_kebab_case() {
        let mut seen = HashSet::new();
        for r in all() {
            let info = r.info();
            assert!(seen.insert(info.id), "duplicate id {}", info.id);
            assert!(
                info.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{} is not kebab-case",
                info.id
            );
            assert!(!info.summary.is_empty() && !info.backends.is_empty());
        }
        assert!(find("drop-column").is_some());
        assert!(find("no-such-rule").is_none());
    }

    /// Each rule lives in `src/lint/rules/<id with underscores>.rs`, and its messages and help
    /// are pinned by at least one snapshot of its tests.
    #[test]
    fn every_rule_has_its_file_and_a_snapshot() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lint/rules");
        let snapshots: Vec<String> = std::fs::read_dir(dir.join("snapshots"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        for r in all() {
            let module = r.info().id.replace('-', "_");
            assert!(
                dir.join(format!("{module}.rs")).exists(),
                "rule `{}` should live in src/lint/rules/{module}.rs",
                r.info().id
            );
            let prefix = format!("cargo_migrate__lint__rules__{module}__tests__");
            assert!(
                snapshots
                    .iter()
                    .any(|s| s.starts_with(&prefix) && s.ends_with(".snap")),
                "rule `{}` has no snapshot of its findings: add a test with \
                 `insta::assert_snapshot!(lint_errors(sql, ID))` to src/lint/rules/{module}.rs",
                r.info().id
            );
        }
    }
}
