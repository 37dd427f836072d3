//! Planning a migration from two schemas: the one a set's history produces and the one its
//! committed schema file describes.
//!
//! [`plan`] is pure: it takes both models, the backend and a few facts read from the replayed
//! database ([`HistoryFacts`]: constraint names, SQLite's original table definitions, the types
//! that exist), and returns the text of `up.sql` and `down.sql` plus [`Note`]s for the terminal.
//! It never reads or writes files and never connects to a database; `commands::generate` does
//! that around it.
//!
//! What it writes, and in which order (down.sql undoes the same steps in reverse):
//!
//! 1. PostgreSQL custom types the schema file uses but the history lacks (`CREATE TYPE … AS
//!    ENUM` with a marked placeholder for the values, which schema.rs does not carry);
//! 2. foreign keys that are gone from the schema file;
//! 3. per existing table: dropped and added columns, type and nullability changes, primary-key
//!    changes (SQLite, which cannot alter a column in place, rebuilds the table);
//! 4. dropped tables, children before parents;
//! 5. new tables, parents before children;
//! 6. new foreign keys on existing tables.
//!
//! Nothing that loses data is written silently: dropped tables and columns get a loud comment and
//! a [`NoteKind::DataLoss`] note; what the schema file cannot express (a rename looks like a drop
//! and an add, enum values, defaults) is a decision for a person: it gets one
//! `-- cargo-migrate: todo: <what to decide>` marker in the SQL (which `check` reports as the
//! error `unresolved-todo` and `apply` refuses) and a [`NoteKind::Todo`] note; a placeholder
//! that would otherwise be valid SQL (an enum's labels) is [`ENUM_PLACEHOLDER`], which is not.
//! Statements the linter warns about carry an inline `-- cargo-migrate: allow(rule): reason`
//! whose reason names the object and what the statement does to it. On PostgreSQL, an up.sql that
//! alters a table it did not create starts with `SET LOCAL lock_timeout = '5s'`
//! (`lock-timeout-missing`).

use std::collections::{BTreeMap, BTreeSet};

use crate::backend::{Backend, CustomTypeHome};
use crate::schema::model::{Column, ColumnType, ForeignKey, Schema, Table};
use crate::schema::parse::{builtin_type, CustomType};

/// Facts about the replayed history that the model does not carry. Every field may be empty;
/// the plan then falls back to conventional names and generated definitions.
#[derive(Debug, Clone, Default)]
pub struct HistoryFacts {
    /// PostgreSQL: every type that exists, as `schema.name`.
    pub existing_types: BTreeSet<String>,
    /// SQLite: the `CREATE TABLE` statement of each table, as the history wrote it.
    pub table_sql: BTreeMap<String, String>,
    /// SQLite: `CREATE INDEX` and `CREATE TRIGGER` statements of each table.
    pub table_objects: BTreeMap<String, Vec<String>>,
    /// PostgreSQL and MySQL: the name of the foreign-key constraint on (table, column).
    pub foreign_key_names: BTreeMap<(String, String), String>,
    /// PostgreSQL: the name of each table's primary-key constraint.
    pub primary_key_names: BTreeMap<String, String>,
}

/// How much a note matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoteKind {
    /// The migration deletes data (a dropped table or column, a narrowing type change).
    DataLoss,
    /// The SQL holds a todo marker: a decision to make before the migration can be applied.
    Todo,
    /// Worth knowing, nothing to do.
    Info,
}

/// Something the terminal should say about the plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Note {
    /// How much it matters.
    pub kind: NoteKind,
    /// What it is about, in one sentence.
    pub message: String,
}

/// A planned migration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The text of `up.sql`.
    pub up: String,
    /// The text of `down.sql`.
    pub down: String,
    /// One line per change, for the terminal (`create table posts`, `add column users.email`).
    pub changes: Vec<String>,
    /// Data loss, TODOs and remarks.
    pub notes: Vec<Note>,
}

impl Plan {
    /// The two schemas agree: there is nothing to migrate.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// One step: its up and down SQL (each a complete set of statements with their comments).
#[derive(Default)]
struct Step {
    up: String,
    down: String,
}

struct Planner<'a> {
    backend: Backend,
    from: &'a Schema,
    to: &'a Schema,
    facts: &'a HistoryFacts,
    steps: Vec<Step>,
    changes: Vec<String>,
    notes: Vec<Note>,
}

/// Plan the migration that turns the history's schema (`from`) into the schema file's (`to`).
/// `custom_types` are the PostgreSQL types the schema file declares and uses.
pub fn plan(
    from: &Schema,
    to: &Schema,
    custom_types: &[CustomType],
    backend: Backend,
    facts: &HistoryFacts,
) -> Plan {
    let mut p = Planner {
        backend,
        from,
        to,
        facts,
        steps: Vec::new(),
        changes: Vec::new(),
        notes: Vec::new(),
    };
    p.create_types(custom_types);
    if backend.alters_foreign_keys_in_place() {
        p.drop_foreign_keys();
    }
    for t in &to.tables {
        if let Some(old) = from.tables.iter().find(|o| o.name == t.name) {
            p.alter_table(old, t);
        }
    }
    p.drop_tables();
    p.create_tables();
    if backend.alters_foreign_keys_in_place() {
        p.add_foreign_keys();
    }
    p.renames();
    p.finish()
}

/// Quote an identifier for `backend`.
pub fn quote(backend: Backend, name: &str) -> String {
    let q = backend.identifier_quote();
    let doubled: String = [q, q].iter().collect();
    format!("{q}{}{q}", name.replace(q, &doubled))
}

fn qualified(backend: Backend, t: &Table) -> String {
    match &t.name.schema {
        Some(s) => format!("{}.{}", quote(backend, s), quote(backend, &t.name.sql_name)),
        None => quote(backend, &t.name.sql_name),
    }
}

/// The comparable identity of a column type: canonical base type, array, unsigned, length.
fn type_key(backend: Backend, ty: &ColumnType) -> (String, bool, bool, Option<u64>) {
    let base = match builtin_type(backend, &ty.rust_name) {
        Some(b) => b.to_string(),
        None => format!(
            "custom:{}.{}",
            ty.schema.as_deref().unwrap_or(""),
            ty.sql_name.to_lowercase()
        ),
    };
    (base, ty.is_array, ty.is_unsigned, ty.max_length)
}

/// The SQL spelling of a column type on `backend` (without NULL / NOT NULL).
pub fn sql_type(backend: Backend, ty: &ColumnType) -> String {
    let len = |base: &str| match ty.max_length {
        Some(n) => format!("{base}({n})"),
        None => base.to_string(),
    };
    let base = match builtin_type(backend, &ty.rust_name) {
        Some("varchar") if backend.varchar_needs_length() && ty.max_length.is_none() => {
            "VARCHAR(255)".to_string()
        }
        Some(b @ ("varchar" | "char" | "binary" | "varbinary" | "bit")) => len(&b.to_uppercase()),
        Some(b) => b.to_uppercase(),
        None => match backend.custom_types() {
            CustomTypeHome::Named => match &ty.schema {
                Some(s) => format!("{}.{}", quote(backend, s), quote(backend, &ty.sql_name)),
                None => quote(backend, &ty.sql_name),
            },
            CustomTypeHome::None | CustomTypeHome::PerColumn => len(&ty.sql_name.to_uppercase()),
        },
    };
    let base = if ty.is_unsigned {
        format!("{base} UNSIGNED")
    } else {
        base
    };
    if ty.is_array {
        format!("{base}[]")
    } else {
        base
    }
}

fn not_null(ty: &ColumnType) -> &'static str {
    if ty.is_nullable {
        ""
    } else {
        " NOT NULL"
    }
}

/// A column definition: name, type, NOT NULL.
fn column_def(backend: Backend, c: &Column) -> String {
    format!(
        "{} {}{}",
        quote(backend, &c.sql_name),
        sql_type(backend, &c.ty),
        not_null(&c.ty)
    )
}

/// Allow comments for the lint's style rules on PostgreSQL columns whose type schema.rs
/// dictates (`Timestamp` is `TIMESTAMP`, `Bpchar` is `CHAR(n)`): the migration has to create
/// what schema.rs declares, so the finding is answered in the SQL, with the reason.
fn style_allows<'c>(
    backend: Backend,
    table: &str,
    columns: impl IntoIterator<Item = &'c Column>,
) -> String {
    use crate::lint::rules::{prefer_text_over_char, prefer_timestamptz, Rule};
    let applies = |rule: &dyn Rule| rule.info().backends.contains(&backend);
    if !applies(&prefer_timestamptz::PreferTimestamptz)
        && !applies(&prefer_text_over_char::PreferTextOverChar)
    {
        return String::new();
    }
    let mut out = String::new();
    for c in columns {
        let ty = sql_type(backend, &c.ty).to_lowercase();
        let rule = if prefer_timestamptz::without_time_zone(&ty) {
            prefer_timestamptz::ID
        } else if prefer_text_over_char::is_char(&ty) {
            prefer_text_over_char::ID
        } else {
            continue;
        };
        out.push_str(&format!(
            "-- cargo-migrate: allow({rule}): schema.rs declares `{table}.{}` as {}\n",
            c.sql_name, c.ty.rust_name
        ));
    }
    out
}

/// On PostgreSQL, a `SET LOCAL lock_timeout` to put before `up` when it alters a table it
/// did not create (what `lock-timeout-missing` asks for); empty otherwise.
fn lock_timeout_preamble(backend: Backend, up: &str) -> &'static str {
    use crate::lint::model::{altered_table, facts, Action};
    use crate::lint::rules::{lock_timeout_missing, Rule};
    if !lock_timeout_missing::LockTimeoutMissing
        .info()
        .backends
        .contains(&backend)
    {
        return "";
    }
    let Ok(file) = crate::sql::split(up, backend) else {
        return "";
    };
    let mut created = std::collections::HashSet::new();
    for st in &file.statements {
        if altered_table(&file, st).is_some_and(|t| !created.contains(&t)) {
            return "-- Fail after 5 seconds instead of queueing every query on the table behind a lock this\n\
                    -- migration waits for; run it again when the table is quieter.\n\
                    SET LOCAL lock_timeout = '5s';\n\n";
        }
        for a in facts(&file, st, backend).iter() {
            if let Action::CreateTable { table, .. } = a {
                created.insert(table.clone());
            }
        }
    }
    ""
}

/// MySQL cannot create an ENUM or SET column without its values, which schema.rs lacks.
fn mysql_needs_values(backend: Backend, ty: &ColumnType) -> bool {
    backend.has_inline_enum_columns()
        && matches!(ty.sql_name.as_str(), "enum" | "set")
        && builtin_type(backend, &ty.rust_name).is_none()
}

fn fk_name(fk: &ForeignKey) -> String {
    format!(
        "{}_{}_fkey",
        fk.child_table.sql_name, fk.foreign_key_columns[0]
    )
}

/// The token that stands for an enum's labels; not valid SQL, so the placeholder never runs.
pub const ENUM_PLACEHOLDER: &str = "LABELS_GO_HERE";

/// The line that marks a decision left to a person (see the `unresolved-todo` rule): `check`
/// fails and `apply` refuses the migration while it is there.
fn todo_marker(what: &str) -> String {
    format!("-- cargo-migrate: todo: {what}\n")
}

fn comment_block(text: &str) -> String {
    text.lines().map(|l| format!("-- {l}\n")).collect()
}

impl Planner<'_> {
    fn q(&self, name: &str) -> String {
        quote(self.backend, name)
    }

    fn note(&mut self, kind: NoteKind, message: String) {
        self.notes.push(Note { kind, message });
    }

    fn push(&mut self, up: String, down: String) {
        self.steps.push(Step { up, down });
    }

    fn finish(self) -> Plan {
        let mut up = String::new();
        let mut down = String::new();
        for s in &self.steps {
            if !s.up.is_empty() {
                up.push_str(&s.up);
                up.push('\n');
            }
        }
        for s in self.steps.iter().rev() {
            if !s.down.is_empty() {
                down.push_str(&s.down);
                down.push('\n');
            }
        }
        let mut notes = self.notes;
        notes.sort_by_key(|n| n.kind);
        let up = format!("{}{}", lock_timeout_preamble(self.backend, &up), up);
        Plan {
            up: up.trim_end().to_string() + "\n",
            down: down.trim_end().to_string() + "\n",
            changes: self.changes,
            notes,
        }
    }

    // -- 1. custom types -------------------------------------------------------------------

    fn create_types(&mut self, custom: &[CustomType]) {
        if !self.backend.has_named_types() {
            return;
        }
        let used: BTreeSet<(Option<String>, String)> = self
            .from
            .tables
            .iter()
            .flat_map(|t| &t.columns)
            .filter(|c| builtin_type(self.backend, &c.ty.rust_name).is_none())
            .map(|c| (c.ty.schema.clone(), c.ty.sql_name.clone()))
            .collect();
        for ty in custom {
            let schema = ty.schema.clone().unwrap_or_else(|| "public".into());
            let exists = used.contains(&(ty.schema.clone(), ty.sql_name.clone()))
                || self
                    .facts
                    .existing_types
                    .contains(&format!("{schema}.{}", ty.sql_name))
                || self
                    .facts
                    .existing_types
                    .contains(&format!("pg_catalog.{}", ty.sql_name));
            if exists {
                continue;
            }
            let name = match &ty.schema {
                Some(s) => format!("{}.{}", self.q(s), self.q(&ty.sql_name)),
                None => self.q(&ty.sql_name),
            };
            // The placeholder is not a label, so the statement fails until someone writes them:
            // `ENUM ()` would create a type without labels.
            let up = format!(
                "-- schema.rs declares the type `{sql}` (sql_types::{rust}) but not its labels. If `{sql}` is not an\n\
                 -- enum (a domain, a composite type, an extension's type), replace this statement.\n\
                 CREATE TYPE {name} AS ENUM (\n    \
                 {ENUM_PLACEHOLDER} {}\n);\n",
                todo_marker(&format!("replace {ENUM_PLACEHOLDER} with the labels of `{}`, e.g. 'draft', 'published'", ty.sql_name)).trim_end(),
                sql = ty.sql_name,
                rust = ty.rust_name
            );
            let down = format!("DROP TYPE {name};\n");
            self.push(up, down);
            self.changes.push(format!("create type {}", ty.sql_name));
            self.note(NoteKind::Todo, format!("type `{}`: write its values into the CREATE TYPE in up.sql (schema.rs does not carry them)", ty.sql_name));
        }
    }

    // -- 2. and 6. foreign keys (PostgreSQL and MySQL) ----------------------------------------

    fn same_fk(a: &ForeignKey, b: &ForeignKey) -> bool {
        a.child_table == b.child_table
            && a.parent_table == b.parent_table
            && a.foreign_key_columns == b.foreign_key_columns
    }

    fn table_in<'s>(
        schema: &'s Schema,
        fk_child: &crate::schema::model::TableName,
    ) -> Option<&'s Table> {
        schema.tables.iter().find(|t| &t.name == fk_child)
    }

    fn add_fk_sql(&self, fk: &ForeignKey, name: &str) -> String {
        let child = self.table_sql_name(&fk.child_table);
        let parent = self.table_sql_name(&fk.parent_table);
        format!(
            "ALTER TABLE {child} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {parent} ({})",
            self.q(name),
            self.q(&fk.foreign_key_columns[0]),
            fk.primary_key_columns
                .iter()
                .map(|c| self.q(c))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    fn drop_fk_sql(&self, fk: &ForeignKey, name: &str) -> String {
        let child = self.table_sql_name(&fk.child_table);
        if self.backend.drops_keys_by_kind() {
            format!("ALTER TABLE {child} DROP FOREIGN KEY {};\n", self.q(name))
        } else {
            format!("ALTER TABLE {child} DROP CONSTRAINT {};\n", self.q(name))
        }
    }

    fn table_sql_name(&self, name: &crate::schema::model::TableName) -> String {
        match &name.schema {
            Some(s) => format!("{}.{}", self.q(s), self.q(&name.sql_name)),
            None => self.q(&name.sql_name),
        }
    }

    fn history_fk_name(&self, fk: &ForeignKey) -> String {
        self.facts
            .foreign_key_names
            .get(&(
                fk.child_table.sql_name.clone(),
                fk.foreign_key_columns[0].clone(),
            ))
            .cloned()
            .unwrap_or_else(|| fk_name(fk))
    }

    fn drop_foreign_keys(&mut self) {
        for fk in &self.from.foreign_keys {
            let child_stays = Self::table_in(self.to, &fk.child_table).is_some();
            let kept = self.to.foreign_keys.iter().any(|n| Self::same_fk(n, fk));
            if kept || !child_stays {
                // Kept, or dropped with its table.
                continue;
            }
            let name = self.history_fk_name(fk);
            let up = format!(
                "-- schema.rs no longer has `joinable!({} -> {} ({}))`.\n{}",
                fk.child_table.rust_name,
                fk.parent_table.rust_name,
                fk.foreign_key_columns_rust[0],
                self.drop_fk_sql(fk, &name)
            );
            let down = format!("{};\n", self.add_fk_sql(fk, &name));
            self.push(up, down);
            self.changes.push(format!(
                "drop foreign key {}.{} -> {}",
                fk.child_table.sql_name, fk.foreign_key_columns[0], fk.parent_table.sql_name
            ));
        }
    }

    fn add_foreign_keys(&mut self) {
        for fk in &self.to.foreign_keys {
            let child_existed = Self::table_in(self.from, &fk.child_table).is_some();
            let exists = self.from.foreign_keys.iter().any(|o| Self::same_fk(o, fk));
            if exists || !child_existed {
                continue;
            }
            let name = fk_name(fk);
            let up = if self.backend.has_not_valid_constraints() {
                format!(
                    "-- cargo-migrate: allow(constraint-without-not-valid): schema.rs adds `joinable!({} -> {} ({}))`; this checks existing rows under a lock (on a large table, add it NOT VALID and validate in a later migration)\n{};\n",
                    fk.child_table.rust_name, fk.parent_table.rust_name, fk.foreign_key_columns_rust[0], self.add_fk_sql(fk, &name)
                )
            } else {
                format!(
                    "-- schema.rs adds `joinable!({} -> {} ({}))`.\n{};\n",
                    fk.child_table.rust_name,
                    fk.parent_table.rust_name,
                    fk.foreign_key_columns_rust[0],
                    self.add_fk_sql(fk, &name)
                )
            };
            let down = self.drop_fk_sql(fk, &name);
            self.push(up, down);
            self.changes.push(format!(
                "add foreign key {}.{} -> {}",
                fk.child_table.sql_name, fk.foreign_key_columns[0], fk.parent_table.sql_name
            ));
        }
    }

    // -- 4. and 5. whole tables ---------------------------------------------------------------

    /// `CREATE TABLE` for `t` with the foreign keys of `schema` whose child it is.
    fn create_table_sql(&self, t: &Table, schema: &Schema) -> String {
        self.create_table_sql_as(t, schema, None)
    }

    /// Like [`Self::create_table_sql`], created under the name `as_name` when given.
    fn create_table_sql_as(&self, t: &Table, schema: &Schema, as_name: Option<&str>) -> String {
        let mut lines: Vec<String> = t
            .columns
            .iter()
            .map(|c| format!("    {}", column_def(self.backend, c)))
            .collect();
        lines.push(format!(
            "    PRIMARY KEY ({})",
            t.primary_key_sql
                .iter()
                .map(|c| self.q(c))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let mut todo = String::new();
        for fk in schema
            .foreign_keys
            .iter()
            .filter(|f| f.child_table == t.name)
        {
            let name = if std::ptr::eq(schema, self.from) {
                self.history_fk_name(fk)
            } else {
                fk_name(fk)
            };
            lines.push(format!(
                "    CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
                self.q(&name),
                self.q(&fk.foreign_key_columns[0]),
                self.table_sql_name(&fk.parent_table),
                fk.primary_key_columns
                    .iter()
                    .map(|c| self.q(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for c in t
            .columns
            .iter()
            .filter(|c| mysql_needs_values(self.backend, &c.ty))
        {
            todo.push_str(&todo_marker(&format!(
                "`{}` is a MySQL {kind} column and schema.rs does not carry its values: write them into `{kind}(…)` below",
                c.sql_name,
                kind = c.ty.sql_name.to_uppercase(),
            )));
        }
        let name = match as_name {
            Some(n) => self.q(n),
            None => qualified(self.backend, t),
        };
        let allows = style_allows(self.backend, &t.name.sql_name, &t.columns);
        format!(
            "{todo}{allows}CREATE TABLE {name} (\n{}\n);\n",
            lines.join(",\n")
        )
    }

    /// Order tables so that every table comes after the tables it references in `fks`.
    fn parents_first<'t>(tables: Vec<&'t Table>, fks: &[ForeignKey]) -> Vec<&'t Table> {
        let mut out: Vec<&Table> = Vec::new();
        let mut left = tables;
        while !left.is_empty() {
            let ready = left.iter().position(|t| {
                !fks.iter().any(|fk| {
                    fk.child_table == t.name
                        && fk.parent_table != t.name
                        && left.iter().any(|o| o.name == fk.parent_table)
                })
            });
            let i = ready.unwrap_or(0);
            out.push(left.remove(i));
        }
        out
    }

    fn drop_tables(&mut self) {
        let dropped: Vec<&Table> = self
            .from
            .tables
            .iter()
            .filter(|t| Self::table_in(self.to, &t.name).is_none())
            .collect();
        // Children first: the reverse of parents first.
        let mut order = Self::parents_first(dropped, &self.from.foreign_keys);
        order.reverse();
        for t in order {
            let name = qualified(self.backend, t);
            let up = format!(
                "-- DATA LOSS: schema.rs no longer has the table `{t}`; this deletes the table and all its rows.\n\
                 -- If it was renamed, replace this with a rename.\n\
                 -- cargo-migrate: allow(drop-table): schema.rs no longer declares `{t}`, so code built from it does not query the table; its rows are deleted\n\
                 DROP TABLE {name};\n",
                t = t.name.sql_name
            );
            let mut down =
                String::from("-- The table comes back empty: its rows were deleted by up.sql.\n");
            match (self.backend, self.facts.table_sql.get(&t.name.sql_name)) {
                (Backend::Sqlite, Some(sql)) => {
                    down.push_str(sql.trim_end_matches(';'));
                    down.push_str(";\n");
                    for o in self
                        .facts
                        .table_objects
                        .get(&t.name.sql_name)
                        .into_iter()
                        .flatten()
                    {
                        down.push_str(o.trim_end_matches(';'));
                        down.push_str(";\n");
                    }
                }
                _ => {
                    down.push_str("-- Defaults, indexes and checks of the original definition are not restored.\n");
                    down.push_str(&self.create_table_sql(t, self.from));
                }
            }
            self.push(up, down);
            self.changes.push(format!("drop table {}", t.name.sql_name));
            self.note(
                NoteKind::DataLoss,
                format!(
                    "table `{}` is dropped with all its rows (it is not in the schema file)",
                    t.name.sql_name
                ),
            );
        }
    }

    fn create_tables(&mut self) {
        let created: Vec<&Table> = self
            .to
            .tables
            .iter()
            .filter(|t| Self::table_in(self.from, &t.name).is_none())
            .collect();
        for t in Self::parents_first(created, &self.to.foreign_keys) {
            let up = self.create_table_sql(t, self.to);
            let down = format!("DROP TABLE {};\n", qualified(self.backend, t));
            if t.columns
                .iter()
                .any(|c| mysql_needs_values(self.backend, &c.ty))
            {
                self.note(
                    NoteKind::Todo,
                    format!(
                        "table `{}`: write the values of its ENUM/SET columns into up.sql",
                        t.name.sql_name
                    ),
                );
            }
            self.push(up, down);
            self.changes
                .push(format!("create table {}", t.name.sql_name));
        }
    }

    /// A dropped table and a new table with the same columns, or a dropped and an added column
    /// of the same type in one table, may be a rename.
    fn renames(&mut self) {
        let dropped: Vec<&Table> = self
            .from
            .tables
            .iter()
            .filter(|t| Self::table_in(self.to, &t.name).is_none())
            .collect();
        let created: Vec<&Table> = self
            .to
            .tables
            .iter()
            .filter(|t| Self::table_in(self.from, &t.name).is_none())
            .collect();
        let mut todo = String::new();
        for d in &dropped {
            let backend = self.backend;
            let cols = |t: &Table| {
                t.columns
                    .iter()
                    .map(|c| (c.sql_name.clone(), type_key(backend, &c.ty)))
                    .collect::<Vec<_>>()
            };
            for c in &created {
                if cols(d) == cols(c) {
                    todo.push_str(&format!(
                        "-- cargo-migrate: todo: rename or drop? `{old}` was dropped and `{new}` created with the same columns\n\
                         -- If this is a rename, replace the DROP TABLE and the CREATE TABLE with\n\
                         -- `ALTER TABLE {qo} RENAME TO {qn};` to keep the rows (and the reverse in down.sql).\n\
                         -- Either way, delete the marker line.\n",
                        old = d.name.sql_name,
                        new = c.name.sql_name,
                        qo = qualified(self.backend, d),
                        qn = qualified(self.backend, c),
                    ));
                    self.note(NoteKind::Todo, format!("`{}` -> `{}` looks like a table rename, which schema.rs cannot express: see the todo marker in up.sql", d.name.sql_name, c.name.sql_name));
                }
            }
        }
        if !todo.is_empty() {
            self.steps.insert(
                0,
                Step {
                    up: todo,
                    down: String::new(),
                },
            );
        }
    }

    // -- 3. changes inside a table -----------------------------------------------------------

    fn alter_table(&mut self, old: &Table, new: &Table) {
        let b = self.backend;
        let dropped: Vec<&Column> = old
            .columns
            .iter()
            .filter(|c| !new.columns.iter().any(|n| n.sql_name == c.sql_name))
            .collect();
        let added: Vec<&Column> = new
            .columns
            .iter()
            .filter(|c| !old.columns.iter().any(|o| o.sql_name == c.sql_name))
            .collect();
        let changed: Vec<(&Column, &Column)> = old
            .columns
            .iter()
            .filter_map(|o| {
                new.columns
                    .iter()
                    .find(|n| n.sql_name == o.sql_name)
                    .map(|n| (o, n))
            })
            .filter(|(o, n)| {
                type_key(b, &o.ty) != type_key(b, &n.ty) || o.ty.is_nullable != n.ty.is_nullable
            })
            .collect();
        let pk_changed = old.primary_key_sql != new.primary_key_sql;
        let fks_changed = !b.alters_foreign_keys_in_place() && {
            let mine = |s: &Schema| {
                s.foreign_keys
                    .iter()
                    .filter(|f| f.child_table == old.name)
                    .map(|f| (f.parent_table.clone(), f.foreign_key_columns.clone()))
                    .collect::<BTreeSet<_>>()
            };
            mine(self.from) != mine(self.to)
        };
        if dropped.is_empty()
            && added.is_empty()
            && changed.is_empty()
            && !pk_changed
            && !fks_changed
        {
            return;
        }
        let tname = &old.name.sql_name;
        for c in &dropped {
            self.changes
                .push(format!("drop column {tname}.{}", c.sql_name));
            self.note(
                NoteKind::DataLoss,
                format!(
                    "column `{tname}.{}` is dropped with its data (it is not in the schema file)",
                    c.sql_name
                ),
            );
        }
        for c in &added {
            self.changes
                .push(format!("add column {tname}.{}", c.sql_name));
        }
        for (o, n) in &changed {
            if type_key(b, &o.ty) != type_key(b, &n.ty) {
                self.changes.push(format!(
                    "change type of {tname}.{}: {} -> {}",
                    o.sql_name, o.ty, n.ty
                ));
            } else {
                self.changes.push(format!(
                    "change {tname}.{} to {}",
                    o.sql_name,
                    if n.ty.is_nullable { "NULL" } else { "NOT NULL" }
                ));
            }
        }
        if pk_changed {
            self.changes.push(format!(
                "change primary key of {tname}: ({}) -> ({})",
                old.primary_key_sql.join(", "),
                new.primary_key_sql.join(", ")
            ));
        }
        if fks_changed {
            self.changes.push(format!("change foreign keys of {tname}"));
        }
        let rename_todo = self.column_rename_todo(old, &dropped, &added);
        if b.rebuilds_tables_to_alter() {
            self.alter_sqlite(
                old,
                new,
                &dropped,
                &added,
                &changed,
                pk_changed || fks_changed,
                rename_todo,
            )
        } else {
            self.alter_server(
                old,
                new,
                &dropped,
                &added,
                &changed,
                pk_changed,
                rename_todo,
            )
        }
    }

    fn column_rename_todo(&mut self, t: &Table, dropped: &[&Column], added: &[&Column]) -> String {
        let mut todo = String::new();
        for d in dropped {
            let backend = self.backend;
            for a in added
                .iter()
                .filter(|a| type_key(backend, &a.ty) == type_key(backend, &d.ty))
            {
                todo.push_str(&format!(
                    "-- cargo-migrate: todo: rename or drop? `{t}.{old}` was dropped and `{t}.{new}` added with the same type\n\
                     -- If this is a rename, replace both with `ALTER TABLE {qt} RENAME COLUMN {qo} TO {qn};` to keep the\n\
                     -- data (and the reverse in down.sql). Either way, delete the marker line.\n",
                    t = t.name.sql_name,
                    old = d.sql_name,
                    new = a.sql_name,
                    qt = qualified(self.backend, t),
                    qo = self.q(&d.sql_name),
                    qn = self.q(&a.sql_name),
                ));
                self.note(NoteKind::Todo, format!("`{0}.{1}` -> `{0}.{2}` looks like a column rename, which schema.rs cannot express: see the todo marker in up.sql", t.name.sql_name, d.sql_name, a.sql_name));
            }
        }
        todo
    }

    #[allow(clippy::too_many_arguments)]
    fn alter_server(
        &mut self,
        old: &Table,
        new: &Table,
        dropped: &[&Column],
        added: &[&Column],
        changed: &[(&Column, &Column)],
        pk_changed: bool,
        rename_todo: String,
    ) {
        let b = self.backend;
        let t = qualified(b, old);
        let tname = old.name.sql_name.clone();
        let mut up = rename_todo;
        let mut down_parts: Vec<String> = Vec::new();
        let position = |cols: &[Column], name: &str| -> String {
            if !b.places_added_columns() {
                return String::new();
            }
            let i = cols.iter().position(|c| c.sql_name == name).unwrap_or(0);
            match i {
                0 => " FIRST".into(),
                _ => format!(" AFTER {}", quote(b, &cols[i - 1].sql_name)),
            }
        };
        if pk_changed {
            let (drop_pk, add_pk) = self.pk_sql(old, new);
            up.push_str(&drop_pk);
            down_parts.push(without_allows(&self.pk_sql(new, old).1));
            let _ = add_pk;
        }
        for c in dropped {
            up.push_str(&format!(
                "-- DATA LOSS: schema.rs no longer has `{tname}.{col}`; this deletes the column and its data.\n\
                 -- cargo-migrate: allow(drop-column): schema.rs no longer declares `{tname}.{col}`, so code built from it does not read the column; its data is deleted\n\
                 ALTER TABLE {t} DROP COLUMN {qc};\n",
                col = c.sql_name,
                qc = self.q(&c.sql_name)
            ));
            let mut d = format!(
                "-- `{tname}.{}` comes back empty: its data was deleted by up.sql.\n",
                c.sql_name
            );
            if !b.places_added_columns()
                && old.columns.last().map(|l| &l.sql_name) != Some(&c.sql_name)
            {
                d.push_str("-- PostgreSQL adds it as the last column, not where it was.\n");
            }
            if !c.ty.is_nullable && b.add_not_null_column_fails_with_rows() {
                d.push_str(&todo_marker(&format!("`{tname}.{}` is NOT NULL, so re-adding it fails while the table has rows: add a DEFAULT or fill it in steps", c.sql_name)));
            }
            d.push_str(&format!(
                "ALTER TABLE {t} ADD COLUMN {}{};\n",
                column_def(b, c),
                position(&old.columns, &c.sql_name)
            ));
            down_parts.push(d);
        }
        for c in added {
            if mysql_needs_values(b, &c.ty) {
                up.push_str(&format!(
                    "-- cargo-migrate: todo: `{tname}.{col}` is a MySQL {kind} column and schema.rs does not carry its values\n\
                     -- Write them in, uncomment the statement and delete the marker line:\n\
                     -- ALTER TABLE {t} ADD COLUMN {qc} {kind}(…){nn};\n",
                    col = c.sql_name,
                    kind = c.ty.sql_name.to_uppercase(),
                    qc = self.q(&c.sql_name),
                    nn = not_null(&c.ty)
                ));
                self.note(NoteKind::Todo, format!("column `{tname}.{}`: write its ENUM/SET values into up.sql and uncomment the statement", c.sql_name));
                continue;
            }
            if !c.ty.is_nullable {
                up.push_str(&format!(
                    "-- cargo-migrate: todo: decide how existing rows get a value for `{tname}.{col}`, NOT NULL without a default{what}\n\
                     -- Add a DEFAULT, or add it nullable, fill it, then set NOT NULL; then delete the marker line.\n\
                     -- cargo-migrate: allow(add-column-not-null): schema.rs declares `{tname}.{col}` NOT NULL and has no default to offer\n",
                    col = c.sql_name,
                    what = if b.add_not_null_column_fails_with_rows() { ", so this fails while the table has rows" } else { ", so existing rows get MySQL's implicit zero value" },
                ));
                self.note(NoteKind::Todo, format!("column `{tname}.{}` is added NOT NULL without a default: decide how existing rows get a value", c.sql_name));
            }
            if !b.places_added_columns()
                && new.columns.last().map(|l| &l.sql_name) != Some(&c.sql_name)
            {
                self.note(NoteKind::Info, format!("PostgreSQL adds `{tname}.{}` as the last column; schema.rs lists it elsewhere, so regenerate schema.rs after applying (`cargo migrate schema --write`)", c.sql_name));
            }
            up.push_str(&style_allows(b, &tname, [*c]));
            up.push_str(&format!(
                "ALTER TABLE {t} ADD COLUMN {}{};\n",
                column_def(b, c),
                position(&new.columns, &c.sql_name)
            ));
            down_parts.push(format!(
                "ALTER TABLE {t} DROP COLUMN {};\n",
                self.q(&c.sql_name)
            ));
        }
        for (o, n) in changed {
            up.push_str(&self.alter_column_sql(&t, &tname, o, n, true));
            down_parts.push(self.alter_column_sql(&t, &tname, n, o, false));
        }
        if pk_changed {
            up.push_str(&self.pk_sql(old, new).1);
            down_parts.push(self.pk_sql(new, old).0);
        }
        down_parts.reverse();
        self.push(up, down_parts.concat());
    }

    /// Drop the primary key of `old`, add the one of `new`.
    fn pk_sql(&self, old: &Table, new: &Table) -> (String, String) {
        let t = qualified(self.backend, old);
        let cols = new
            .primary_key_sql
            .iter()
            .map(|c| self.q(c))
            .collect::<Vec<_>>()
            .join(", ");
        if self.backend.drops_keys_by_kind() {
            (
                format!("-- The primary key changes from ({}) to ({}).\nALTER TABLE {t} DROP PRIMARY KEY;\n", old.primary_key_sql.join(", "), new.primary_key_sql.join(", ")),
                format!("ALTER TABLE {t} ADD PRIMARY KEY ({cols});\n"),
            )
        } else {
            let name = self
                .facts
                .primary_key_names
                .get(&old.name.sql_name)
                .cloned()
                .unwrap_or_else(|| format!("{}_pkey", old.name.sql_name));
            (
                    format!(
                        "-- The primary key changes from ({}) to ({}); foreign keys that reference the old key must be\n-- dropped first.\nALTER TABLE {t} DROP CONSTRAINT {};\n",
                        old.primary_key_sql.join(", "),
                        new.primary_key_sql.join(", "),
                        self.q(&name)
                    ),
                    format!(
                        "-- cargo-migrate: allow(create-index-non-concurrently): schema.rs declares the new primary key; its index is built under a lock that blocks writes\nALTER TABLE {t} ADD CONSTRAINT {} PRIMARY KEY ({cols});\n",
                        self.q(&format!("{}_pkey", old.name.sql_name))
                    ),
                )
        }
    }

    /// Change column `o` into `n` (type and/or nullability), PostgreSQL or MySQL.
    fn alter_column_sql(
        &mut self,
        t: &str,
        tname: &str,
        o: &Column,
        n: &Column,
        is_up: bool,
    ) -> String {
        let b = self.backend;
        let col = self.q(&n.sql_name);
        let type_changes = type_key(b, &o.ty) != type_key(b, &n.ty);
        let to_not_null = o.ty.is_nullable && !n.ty.is_nullable;
        let mut out = String::new();
        if type_changes && is_up {
            self.note(
                NoteKind::DataLoss,
                format!("column `{tname}.{}` changes type from {} to {}: values that do not fit fail the migration or are truncated", n.sql_name, sql_type(b, &o.ty), sql_type(b, &n.ty)),
            );
        }
        if b.redefines_columns_with_modify() {
            let mut allow = Vec::new();
            if type_changes {
                allow.push("change-column-type");
            }
            if to_not_null {
                allow.push("set-not-null");
            }
            out.push_str(&format!(
                    "-- `{tname}.{}`: {} -> {}. MODIFY restates the whole column: re-add any DEFAULT, AUTO_INCREMENT or COMMENT\n-- the old definition had.\n",
                    n.sql_name,
                    format!("{}{}", sql_type(b, &o.ty), not_null(&o.ty)).trim(),
                    format!("{}{}", sql_type(b, &n.ty), not_null(&n.ty)).trim()
                ));
            if is_up && !allow.is_empty() {
                out.push_str(&format!("-- cargo-migrate: allow({}): schema.rs declares `{tname}.{}` as {}; MODIFY rebuilds the table under a lock\n", allow.join(", "), n.sql_name, format!("{}{}", sql_type(b, &n.ty), not_null(&n.ty)).trim()));
            }
            out.push_str(&format!(
                "ALTER TABLE {t} MODIFY COLUMN {};\n",
                column_def(b, n)
            ));
        } else {
            if type_changes {
                if is_up && !pg_relaxes_varchar(&o.ty, &n.ty) {
                    out.push_str(&format!("-- cargo-migrate: allow(change-column-type): schema.rs declares `{tname}.{}` as {} (was {}); the USING cast keeps the data (the table is rewritten under a lock)\n", n.sql_name, sql_type(b, &n.ty), sql_type(b, &o.ty)));
                }
                let target = sql_type(b, &n.ty);
                let custom_or_array = builtin_type(b, &n.ty.rust_name).is_none()
                    || builtin_type(b, &o.ty.rust_name).is_none();
                let using = if custom_or_array && !n.ty.is_array {
                    format!("{col}::text::{target}")
                } else {
                    format!("{col}::{target}")
                };
                out.push_str(&format!(
                    "ALTER TABLE {t} ALTER COLUMN {col} TYPE {target} USING {using};\n"
                ));
            }
            if o.ty.is_nullable != n.ty.is_nullable {
                if n.ty.is_nullable {
                    out.push_str(&format!(
                        "ALTER TABLE {t} ALTER COLUMN {col} DROP NOT NULL;\n"
                    ));
                } else {
                    if is_up {
                        out.push_str(&format!("-- cargo-migrate: allow(set-not-null): schema.rs declares `{tname}.{}` NOT NULL; this fails while rows hold NULL (fill them first)\n", n.sql_name));
                    } else {
                        out.push_str("-- This fails while rows hold NULL.\n");
                    }
                    out.push_str(&format!(
                        "ALTER TABLE {t} ALTER COLUMN {col} SET NOT NULL;\n"
                    ));
                }
            }
        }
        out
    }

    /// SQLite: `ADD COLUMN` for a nullable column appended at the end, `DROP COLUMN` for a plain
    /// column, the table-rebuild recipe for everything else.
    #[allow(clippy::too_many_arguments)]
    fn alter_sqlite(
        &mut self,
        old: &Table,
        new: &Table,
        dropped: &[&Column],
        added: &[&Column],
        changed: &[(&Column, &Column)],
        structural: bool,
        rename_todo: String,
    ) {
        let t = qualified(Backend::Sqlite, old);
        let tname = old.name.sql_name.clone();
        let kept_prefix = new.columns.len() >= added.len()
            && new.columns[..new.columns.len() - added.len()]
                .iter()
                .all(|c| !added.iter().any(|a| a.sql_name == c.sql_name));
        let in_key = |c: &Column| {
            old.primary_key_sql.contains(&c.sql_name)
                || self
                    .from
                    .foreign_keys
                    .iter()
                    .chain(&self.to.foreign_keys)
                    .any(|f| {
                        f.child_table == old.name && f.foreign_key_columns.contains(&c.sql_name)
                    })
        };
        let simple_adds = added.iter().all(|c| c.ty.is_nullable)
            && kept_prefix
            && added.iter().all(|c| !in_key(c));
        let simple_drops = dropped.iter().all(|c| !in_key(c));
        if !structural
            && changed.is_empty()
            && (dropped.is_empty() || added.is_empty())
            && simple_adds
            && simple_drops
        {
            let mut up = rename_todo;
            let mut down = String::new();
            for c in dropped {
                up.push_str(&format!(
                    "-- DATA LOSS: schema.rs no longer has `{tname}.{col}`; this deletes the column and its data.\n\
                     -- cargo-migrate: allow(drop-column): schema.rs no longer declares `{tname}.{col}`, so code built from it does not read the column; its data is deleted\n\
                     ALTER TABLE {t} DROP COLUMN {qc};\n",
                    col = c.sql_name,
                    qc = self.q(&c.sql_name)
                ));
            }
            if !dropped.is_empty() {
                // Re-adding at the end would change the column order; rebuild to the old definition.
                down.push_str(&format!("-- Rebuild `{tname}` with its old definition; the dropped column comes back empty.\n"));
                down.push_str(&self.sqlite_rebuild(new, old, self.to, self.from, true).replacen(
                    "DROP TABLE",
                    "-- cargo-migrate: allow(down-drops-not-created): the table-rebuild recipe; its rows were copied into the new table above\nDROP TABLE",
                    1,
                ));
            }
            for c in added {
                up.push_str(&format!(
                    "ALTER TABLE {t} ADD COLUMN {};\n",
                    column_def(Backend::Sqlite, c)
                ));
                down.push_str(&format!(
                    "ALTER TABLE {t} DROP COLUMN {};\n",
                    self.q(&c.sql_name)
                ));
            }
            self.push(up, down);
            return;
        }
        let mut reasons = Vec::new();
        if !changed.is_empty() {
            reasons.push("change a column's type or nullability");
        }
        if structural {
            reasons.push("change a primary key or foreign key");
        }
        if !added.is_empty() {
            reasons.push("add these columns in place");
        }
        if !dropped.is_empty() {
            reasons.push("drop these columns in place");
        }
        let mut up = rename_todo;
        up.push_str(&format!("-- SQLite cannot {} with ALTER TABLE, so `{tname}` is rebuilt:\n-- a new table is created, the rows are copied, the old table is dropped and the new one renamed.\n", reasons.join(" or ")));
        for c in dropped {
            up.push_str(&format!(
                "-- DATA LOSS: `{tname}.{}` is not in schema.rs; its data is not copied.\n",
                c.sql_name
            ));
        }
        for c in added.iter().filter(|c| !c.ty.is_nullable) {
            up.push_str(&todo_marker(&format!("`{tname}.{}` is new and NOT NULL: copying existing rows fails until you give it a value in the SELECT", c.sql_name)));
            self.note(NoteKind::Todo, format!("column `{tname}.{}` is added NOT NULL without a default: give existing rows a value in up.sql", c.sql_name));
        }
        if let Some(sql) = self.facts.table_sql.get(&tname) {
            if has_clauses_schema_rs_lacks(sql) {
                up.push_str(&todo_marker("the old definition below has clauses schema.rs does not carry: carry over any DEFAULT, UNIQUE, CHECK, COLLATE or ON DELETE the new one needs"));
                self.note(NoteKind::Todo, format!("table `{tname}` is rebuilt from schema.rs, which has no defaults or checks: compare with the old definition quoted in up.sql"));
            } else {
                up.push_str("-- The old definition, for comparison:\n");
            }
            up.push_str(&comment_block(sql));
        }
        up.push_str(&self.sqlite_rebuild(old, new, self.from, self.to, false));
        let mut down = String::from("-- Rebuild the table with its old definition.\n");
        down.push_str(&self.sqlite_rebuild(new, old, self.to, self.from, true));
        self.push(up, down);
    }

    /// The SQLite rebuild recipe turning table `from_t` into `to_t`. With `exact`, the history's
    /// own `CREATE TABLE` text is used when known (down.sql restores the old table exactly).
    fn sqlite_rebuild(
        &self,
        from_t: &Table,
        to_t: &Table,
        _from_s: &Schema,
        to_s: &Schema,
        exact: bool,
    ) -> String {
        let name = &to_t.name.sql_name;
        let tmp = format!("__cargo_migrate_new_{name}");
        let mut out = String::from("PRAGMA defer_foreign_keys = ON;\n");
        let original = if exact {
            self.facts
                .table_sql
                .get(name)
                .and_then(|sql| rename_create_table(sql, &self.q(&tmp)))
        } else {
            None
        };
        match original {
            Some(sql) => {
                out.push_str(sql.trim_end().trim_end_matches(';'));
                out.push_str(";\n");
            }
            None => out.push_str(&self.create_table_sql_as(to_t, to_s, Some(&tmp))),
        }
        let common: Vec<&Column> = to_t
            .columns
            .iter()
            .filter(|c| from_t.columns.iter().any(|o| o.sql_name == c.sql_name))
            .collect();
        let cols = common
            .iter()
            .map(|c| self.q(&c.sql_name))
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!(
            "INSERT INTO {} ({cols}) SELECT {cols} FROM {};\n",
            self.q(&tmp),
            self.q(name)
        ));
        out.push_str(&format!("DROP TABLE {};\n", self.q(name)));
        out.push_str(&format!(
            "ALTER TABLE {} RENAME TO {};\n",
            self.q(&tmp),
            self.q(name)
        ));
        for o in self.facts.table_objects.get(name).into_iter().flatten() {
            if exact || !mentions_dropped_column(o, from_t, to_t) {
                out.push_str(o.trim_end().trim_end_matches(';'));
                out.push_str(";\n");
            } else {
                out.push_str(&todo_marker("this index or trigger uses a dropped column: re-create it by hand if still needed"));
                out.push_str(&comment_block(o));
            }
        }
        out
    }
}

/// Whether a SQLite `CREATE TABLE` has clauses a table rebuilt from schema.rs loses: defaults,
/// uniqueness, checks, collations, generated columns, foreign-key actions, AUTOINCREMENT.
fn has_clauses_schema_rs_lacks(sql: &str) -> bool {
    const WORDS: &[&str] = &[
        "DEFAULT",
        "UNIQUE",
        "CHECK",
        "COLLATE",
        "GENERATED",
        "AUTOINCREMENT",
        "ON",
        "AS",
        "WITHOUT",
        "STRICT",
    ];
    sql.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|w| WORDS.iter().any(|k| w.eq_ignore_ascii_case(k)))
}

/// `sql` without its inline lint directives (for down.sql, where those rules do not run).
fn without_allows(sql: &str) -> String {
    sql.lines()
        .filter(|l| !l.starts_with("-- cargo-migrate: allow("))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A PostgreSQL type change that only relaxes a varchar limit (or turns varchar into text):
/// no table rewrite, and the linter does not report it.
fn pg_relaxes_varchar(old: &ColumnType, new: &ColumnType) -> bool {
    if old.is_array || new.is_array {
        return false;
    }
    let limit = |t: &ColumnType| match builtin_type(Backend::Postgres, &t.rust_name) {
        Some("varchar") => Some(t.max_length),
        Some("text") => Some(None),
        _ => None,
    };
    let text = builtin_type(Backend::Postgres, &new.rust_name) == Some("text");
    match (limit(old), limit(new)) {
        (Some(Some(_)), Some(None)) => true,
        (Some(Some(a)), Some(Some(b))) => b >= a,
        (Some(None), Some(None)) => {
            text || builtin_type(Backend::Postgres, &old.rust_name)
                == builtin_type(Backend::Postgres, &new.rust_name)
        }
        _ => false,
    }
}

/// Whether an index or trigger statement names a column of `from_t` that `to_t` lacks.
fn mentions_dropped_column(sql: &str, from_t: &Table, to_t: &Table) -> bool {
    let lower = sql.to_lowercase();
    from_t
        .columns
        .iter()
        .filter(|c| !to_t.columns.iter().any(|n| n.sql_name == c.sql_name))
        .any(|c| {
            lower
                .split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                .any(|w| w == c.sql_name.to_lowercase())
        })
}

/// Replace the table name in the head of a SQLite `CREATE TABLE` statement.
fn rename_create_table(sql: &str, new_name: &str) -> Option<String> {
    let trimmed = sql.trim_start();
    let upper = trimmed.to_uppercase();
    let mut rest = upper.strip_prefix("CREATE")?.trim_start();
    for word in ["TEMP ", "TEMPORARY "] {
        if let Some(r) = rest.strip_prefix(word) {
            rest = r.trim_start();
        }
    }
    rest = rest.strip_prefix("TABLE")?.trim_start();
    if let Some(r) = rest.strip_prefix("IF NOT EXISTS") {
        rest = r.trim_start();
    }
    let start = trimmed.len() - rest.len();
    let name_part = &trimmed[start..];
    let end = match name_part.chars().next()? {
        q @ ('"' | '`' | '[') => {
            let close = if q == '[' { ']' } else { q };
            1 + name_part[1..].find(close)? + 1
        }
        _ => name_part.find(|c: char| c.is_whitespace() || c == '(')?,
    };
    Some(format!(
        "{}{}{}",
        &trimmed[..start],
        new_name,
        &name_part[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::model::TableName;

    #[test]
    fn lock_timeout_comes_first_when_an_existing_table_is_altered() {
        let pg = Backend::Postgres;
        let p = lock_timeout_preamble(pg, "ALTER TABLE users ADD COLUMN a INT;\n");
        assert!(p.contains("SET LOCAL lock_timeout = '5s';"), "{p}");
        assert_eq!(
            lock_timeout_preamble(
                pg,
                "CREATE TABLE t (id INT);\nALTER TABLE t ADD COLUMN a INT;\n"
            ),
            ""
        );
        assert_eq!(
            lock_timeout_preamble(pg, "CREATE INDEX i ON users (a);\n"),
            ""
        );
        assert_eq!(
            lock_timeout_preamble(Backend::Mysql, "ALTER TABLE users ADD COLUMN a INT;\n"),
            ""
        );
    }

    fn col(t: &str, name: &str, rust: &str, nullable: bool) -> Column {
        Column::new(
            &TableName::new(t),
            name,
            ColumnType::simple(rust, rust.to_lowercase(), nullable),
            None,
        )
    }

    fn table(name: &str, cols: Vec<Column>) -> Table {
        Table::new(TableName::new(name), vec!["id".into()], cols, None)
    }

    #[test]
    fn same_schemas_plan_nothing() {
        let s = Schema {
            tables: vec![table("a", vec![col("a", "id", "Int4", false)])],
            foreign_keys: vec![],
        };
        assert!(plan(&s, &s, &[], Backend::Postgres, &HistoryFacts::default()).is_empty());
    }

    #[test]
    fn pg_type_change_uses_using_and_never_drops() {
        let from = Schema {
            tables: vec![table(
                "a",
                vec![col("a", "id", "Int4", false), col("a", "n", "Int4", true)],
            )],
            foreign_keys: vec![],
        };
        let to = Schema {
            tables: vec![table(
                "a",
                vec![col("a", "id", "Int4", false), col("a", "n", "Int8", true)],
            )],
            foreign_keys: vec![],
        };
        let p = plan(&from, &to, &[], Backend::Postgres, &HistoryFacts::default());
        assert!(
            p.up.contains("ALTER TABLE \"a\" ALTER COLUMN \"n\" TYPE BIGINT USING \"n\"::BIGINT;"),
            "{}",
            p.up
        );
        assert!(
            p.down.contains("TYPE INTEGER USING \"n\"::INTEGER;"),
            "{}",
            p.down
        );
        assert!(!p.up.contains("DROP COLUMN"));
    }

    /// Every decision the plan leaves is a `cargo-migrate: todo` marker (which the lint and
    /// `apply` recognise), never a bare `TODO` comment: MySQL ENUM columns of a new table and of
    /// an existing one, a NOT NULL column, a rename that looks like drop + add.
    #[test]
    fn decisions_are_todo_markers() {
        let mut status = col("a", "status", "StatusEnum", true);
        status.ty.sql_name = "enum".into();
        let from = Schema {
            tables: vec![table(
                "a",
                vec![
                    col("a", "id", "Integer", false),
                    col("a", "n", "Integer", true),
                ],
            )],
            foreign_keys: vec![],
        };
        let mut kind = status.clone();
        kind.sql_name = "kind".into();
        let to = Schema {
            tables: vec![
                table(
                    "a",
                    vec![
                        col("a", "id", "Integer", false),
                        col("a", "m", "Integer", true),
                        col("a", "score", "Integer", false),
                        kind,
                    ],
                ),
                table("b", vec![col("b", "id", "Integer", false), status]),
            ],
            foreign_keys: vec![],
        };
        let p = plan(&from, &to, &[], Backend::Mysql, &HistoryFacts::default());
        for text in [&p.up, &p.down] {
            assert!(!text.contains("TODO"), "{text}");
        }
        let markers = crate::lint::todo_markers(&p.up);
        let whats: Vec<&str> = markers.iter().map(|m| m.what.as_str()).collect();
        // `a.n` -> `a.m` and `a.n` -> `a.score` both look like renames.
        assert_eq!(markers.len(), 5, "{}", p.up);
        assert!(
            whats.iter().any(|w| w.starts_with("rename or drop? `a.n`")),
            "{whats:?}"
        );
        assert!(whats.iter().any(|w| w.contains("`a.score`")), "{whats:?}");
        assert!(
            whats
                .iter()
                .any(|w| w.starts_with("`a.kind` is a MySQL ENUM")),
            "{whats:?}"
        );
        assert!(
            whats
                .iter()
                .any(|w| w.starts_with("`status` is a MySQL ENUM")),
            "{whats:?}"
        );
    }

    /// The enum placeholder fails on PostgreSQL even without its marker: `ENUM ()` would not.
    #[test]
    fn postgres_enum_placeholder_is_not_sql() {
        let s = Schema {
            tables: vec![table("a", vec![col("a", "id", "Int4", false)])],
            foreign_keys: vec![],
        };
        let mood = CustomType {
            schema: None,
            sql_name: "mood".into(),
            rust_name: "Mood".into(),
        };
        let p = plan(&s, &s, &[mood], Backend::Postgres, &HistoryFacts::default());
        assert!(
            p.up.contains(&format!(
                "CREATE TYPE \"mood\" AS ENUM (\n    {ENUM_PLACEHOLDER} -- cargo-migrate: todo: replace"
            )),
            "{}",
            p.up
        );
        assert_eq!(crate::lint::todo_markers(&p.up).len(), 1);
    }

    /// A SQLite rebuild marks the old definition only when it has something schema.rs lacks.
    #[test]
    fn sqlite_rebuild_marks_only_definitions_with_lost_clauses() {
        assert!(!has_clauses_schema_rs_lacks(
            "CREATE TABLE users (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, bio TEXT)"
        ));
        for sql in [
            "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0)",
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT unique)",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, p INTEGER REFERENCES p (id) ON DELETE CASCADE)",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER CHECK (n > 0))",
            "CREATE TABLE t (id INTEGER PRIMARY KEY) STRICT",
        ] {
            assert!(has_clauses_schema_rs_lacks(sql), "{sql}");
        }
    }

    #[test]
    fn sqlite_create_table_names_are_rewritten() {
        assert_eq!(
            rename_create_table("CREATE TABLE \"users\" (id INTEGER)", "\"x\"").unwrap(),
            "CREATE TABLE \"x\" (id INTEGER)"
        );
        assert_eq!(
            rename_create_table("create table users(id INTEGER)", "\"x\"").unwrap(),
            "create table \"x\"(id INTEGER)"
        );
        assert_eq!(
            rename_create_table("CREATE TABLE IF NOT EXISTS [u s] (a)", "\"x\"").unwrap(),
            "CREATE TABLE IF NOT EXISTS \"x\" (a)"
        );
    }
}
