//! The data model of a database schema as `schema.rs` describes it.
//!
//! This module is pure data plus the naming and foreign-key rules that decide what a
//! `diesel print-schema` run would show: how an SQL name becomes a Rust identifier, and which
//! foreign keys are safe to emit as `joinable!`. Introspection (`db::introspect`) fills these
//! types from a live database; rendering (`schema::render`) turns them into text. Neither
//! database access nor text layout happens here.

use std::collections::HashSet;

/// Names that the `table!` macro reserves for itself, on top of Rust keywords.
const MACRO_RESERVED: &[&str] = &["table", "columns", "is_nullable"];

/// Words that cannot be used as plain Rust identifiers (strict and reserved keywords, plus `_`).
const RUST_KEYWORDS: &[&str] = &[
    "_", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
    "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "Self", "self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// A whole introspected schema: the tables to print and the foreign keys between them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// Tables in output order (sorted by SQL name, filtered by the `filter` option).
    pub tables: Vec<Table>,
    /// Foreign keys that are emitted as `joinable!`, in output order (see
    /// [`safe_foreign_keys`]).
    pub foreign_keys: Vec<ForeignKey>,
}

/// The name of a table, in SQL and as a Rust identifier, with its schema when it is not the
/// connection's default schema.
///
/// The field order matters: tables and foreign keys are ordered by comparing these fields in
/// this order, which is the order `schema.rs` lists them in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableName {
    /// The name as the database spells it.
    pub sql_name: String,
    /// The Rust identifier used in `table!`.
    pub rust_name: String,
    /// The schema (PostgreSQL) or database (MySQL), when not the default one.
    pub schema: Option<String>,
    /// The Rust identifier of `schema`.
    pub rust_schema: Option<String>,
}

impl TableName {
    /// A table in the default schema.
    pub fn new(sql_name: impl Into<String>) -> Self {
        let sql_name = sql_name.into();
        TableName {
            rust_name: rust_name_for_sql_name(&sql_name, None),
            sql_name,
            schema: None,
            rust_schema: None,
        }
    }

    /// A table in `schema`; the schema is dropped when it equals `default_schema`.
    pub fn in_schema(sql_name: impl Into<String>, schema: &str, default_schema: &str) -> Self {
        let mut name = TableName::new(sql_name);
        if schema != default_schema {
            name.rust_schema = Some(rust_name_for_sql_name(schema, None));
            name.schema = Some(schema.to_owned());
        }
        name
    }

    /// `schema.table` when a schema is set, else the table name.
    pub fn full_sql_name(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{}", self.sql_name),
            None => self.sql_name.clone(),
        }
    }

    /// The name as written at the head of a `table!` block (`schema.table` or `table`).
    pub fn rust_path(&self) -> String {
        match &self.rust_schema {
            Some(schema) => format!("{schema}.{}", self.rust_name),
            None => self.rust_name.clone(),
        }
    }
}

/// One table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Its name.
    pub name: TableName,
    /// Primary-key columns as SQL names, in key order.
    pub primary_key_sql: Vec<String>,
    /// Primary-key columns as Rust identifiers, in key order.
    pub primary_key: Vec<String>,
    /// Columns in output order (ordinal position or name, per `column_sorting`).
    pub columns: Vec<Column>,
    /// The table comment, when the database has one (only loaded when docs are requested).
    pub comment: Option<String>,
}

impl Table {
    /// Builds a table, deriving the Rust names of the primary-key columns.
    pub fn new(
        name: TableName,
        primary_key_sql: Vec<String>,
        columns: Vec<Column>,
        comment: Option<String>,
    ) -> Self {
        let primary_key = primary_key_sql
            .iter()
            .map(|k| rust_name_for_sql_name(k, Some(&name)))
            .collect();
        Table {
            name,
            primary_key_sql,
            primary_key,
            columns,
            comment,
        }
    }
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The name as the database spells it.
    pub sql_name: String,
    /// The Rust identifier (differs from `sql_name` when it needs `#[sql_name]`).
    pub rust_name: String,
    /// Its SQL type as diesel names it.
    pub ty: ColumnType,
    /// The column comment, when the database has one.
    pub comment: Option<String>,
}

impl Column {
    /// Builds a column of `table`, deriving its Rust identifier.
    pub fn new(
        table: &TableName,
        sql_name: impl Into<String>,
        ty: ColumnType,
        comment: Option<String>,
    ) -> Self {
        let sql_name = sql_name.into();
        Column {
            rust_name: rust_name_for_sql_name(&sql_name, Some(table)),
            sql_name,
            ty,
            comment,
        }
    }
}

/// The SQL type of a column, as diesel names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnType {
    /// The schema of a custom type, when not the default schema (PostgreSQL only).
    pub schema: Option<String>,
    /// The type's name in Rust (`Int4`, `Varchar`, `MyEnum`, ...).
    pub rust_name: String,
    /// The type's name in SQL (`int4`, `my_enum`, `enum`, ...).
    pub sql_name: String,
    /// An array of this type (PostgreSQL).
    pub is_array: bool,
    /// The column accepts NULL.
    pub is_nullable: bool,
    /// An unsigned integer or float (MySQL).
    pub is_unsigned: bool,
    /// The declared length of a `varchar(N)`-like type, printed as `#[max_length = N]`.
    pub max_length: Option<u64>,
}

impl ColumnType {
    /// A plain type with the given Rust and SQL names.
    pub fn simple(
        rust_name: impl Into<String>,
        sql_name: impl Into<String>,
        nullable: bool,
    ) -> Self {
        ColumnType {
            schema: None,
            rust_name: rust_name.into(),
            sql_name: sql_name.into(),
            is_array: false,
            is_nullable: nullable,
            is_unsigned: false,
            max_length: None,
        }
    }

    /// The type as written after `->` in `table!`, using `name` as the innermost type.
    pub fn display_with(&self, name: &str) -> String {
        let mut s = name.to_owned();
        if self.is_unsigned {
            s = format!("Unsigned<{s}>");
        }
        if self.is_array {
            s = format!("Array<Nullable<{s}>>");
        }
        if self.is_nullable {
            s = format!("Nullable<{s}>");
        }
        s
    }
}

impl std::fmt::Display for ColumnType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display_with(&self.rust_name))
    }
}

/// A foreign-key constraint between two tables.
///
/// Field order matters: foreign keys are listed in the order of these fields.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    /// The referencing table.
    pub child_table: TableName,
    /// The referenced table.
    pub parent_table: TableName,
    /// Referencing columns (SQL names).
    pub foreign_key_columns: Vec<String>,
    /// Referencing columns (Rust identifiers).
    pub foreign_key_columns_rust: Vec<String>,
    /// Referenced columns (SQL names).
    pub primary_key_columns: Vec<String>,
}

impl ForeignKey {
    /// Builds a foreign key, deriving the Rust names of the referencing columns.
    pub fn new(
        child_table: TableName,
        parent_table: TableName,
        foreign_key_columns: Vec<String>,
        primary_key_columns: Vec<String>,
    ) -> Self {
        let foreign_key_columns_rust = foreign_key_columns
            .iter()
            .map(|c| {
                let name = rust_name_for_sql_name(c, Some(&child_table));
                // A second pass over reserved words, as the joinable! column must match table!.
                if is_reserved_name(&name) {
                    format!("{name}_")
                } else {
                    name
                }
            })
            .collect();
        ForeignKey {
            child_table,
            parent_table,
            foreign_key_columns,
            foreign_key_columns_rust,
            primary_key_columns,
        }
    }

    fn ordered_tables(&self) -> (&TableName, &TableName) {
        if self.parent_table <= self.child_table {
            (&self.parent_table, &self.child_table)
        } else {
            (&self.child_table, &self.parent_table)
        }
    }
}

/// Picks the foreign keys that can become `joinable!` lines, in output order.
///
/// `all` is every foreign key of the schema (including those of filtered-out tables, since a
/// pair of tables linked twice is ambiguous no matter what is printed). A key is kept when it
/// is not self-referencing, both tables are printed, it has exactly one column, the parent has
/// a single-column primary key which is the referenced column, and no other key links the same
/// two tables. Primary keys are taken from `printed`.
pub fn safe_foreign_keys(mut all: Vec<ForeignKey>, printed: &[Table]) -> Vec<ForeignKey> {
    all.sort();
    let mut pair_count: std::collections::HashMap<(TableName, TableName), usize> =
        std::collections::HashMap::new();
    for fk in &all {
        let (a, b) = fk.ordered_tables();
        *pair_count.entry((a.clone(), b.clone())).or_default() += 1;
    }
    let printed_names: HashSet<&TableName> = printed.iter().map(|t| &t.name).collect();
    all.iter()
        .filter(|fk| fk.parent_table != fk.child_table)
        .filter(|fk| printed_names.contains(&fk.parent_table))
        .filter(|fk| printed_names.contains(&fk.child_table))
        .filter(|fk| fk.foreign_key_columns.len() == 1)
        .filter(|fk| {
            let parent = printed.iter().find(|t| t.name == fk.parent_table);
            match parent {
                Some(t) => {
                    t.primary_key_sql.len() == 1
                        && Some(&t.primary_key_sql[0]) == fk.primary_key_columns.first()
                }
                None => false,
            }
        })
        .filter(|fk| {
            let (a, b) = fk.ordered_tables();
            pair_count
                .get(&(a.clone(), b.clone()))
                .copied()
                .unwrap_or(0)
                <= 1
        })
        .cloned()
        .collect()
}

/// Whether `name` cannot be used as-is for a column or table in `table!`.
///
/// That is the case for anything that is not a valid Rust identifier (keywords included), for
/// the names the `table!` macro uses itself, and for names starting with `__` (unless they end
/// with `_`, so that appending `_` always yields a usable name).
pub fn is_reserved_name(name: &str) -> bool {
    !is_plain_identifier(name)
        || MACRO_RESERVED.contains(&name)
        || (name.starts_with("__") && !name.ends_with('_'))
}

fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !(first == '_' || first.is_alphabetic()) {
        return false;
    }
    if !chars.all(|c| c == '_' || c.is_alphanumeric()) {
        return false;
    }
    !RUST_KEYWORDS.contains(&name)
}

/// The Rust identifier for an SQL name, as `schema.rs` spells it.
///
/// Characters outside `[A-Za-z0-9_]` become `_` (runs of them collapse to one), a leading digit
/// gets a `_` prefix, and a reserved name (see [`is_reserved_name`]) or a column named like its
/// own table (`table`) gets a `_` suffix.
pub fn rust_name_for_sql_name(sql_name: &str, table: Option<&TableName>) -> String {
    let name = map_identifier_chars(sql_name);
    if is_reserved_name(&name) || Some(name.as_str()) == table.map(|t| t.rust_name.as_str()) {
        format!("{name}_")
    } else {
        name
    }
}

fn map_identifier_chars(name: &str) -> String {
    let usable = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for (idx, c) in name.char_indices() {
        if !usable(c) {
            let mut out = name[..idx].to_owned();
            push_mapped(&mut out, &name[idx..], false);
            return out;
        }
        if idx == 0 && c.is_ascii_digit() {
            let mut out = String::from("_");
            push_mapped(&mut out, name, true);
            return out;
        }
    }
    name.to_owned()
}

fn push_mapped(out: &mut String, tail: &str, mut after_underscore: bool) {
    for c in tail.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
            after_underscore = false;
        } else {
            if !after_underscore {
                out.push('_');
            }
            after_underscore = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_names_follow_the_mapping_rules() {
        assert_eq!(rust_name_for_sql_name("users", None), "users");
        assert_eq!(rust_name_for_sql_name("type", None), "type_");
        assert_eq!(rust_name_for_sql_name("columns", None), "columns_");
        assert_eq!(rust_name_for_sql_name("my col", None), "my_col");
        assert_eq!(rust_name_for_sql_name("a - b", None), "a_b");
        assert_eq!(rust_name_for_sql_name("1st", None), "_1st");
        assert_eq!(rust_name_for_sql_name("__hidden", None), "__hidden_");
        assert_eq!(rust_name_for_sql_name("__ok_", None), "__ok_");
        assert_eq!(rust_name_for_sql_name("héllo", None), "h_llo");
        let t = TableName::new("posts");
        assert_eq!(rust_name_for_sql_name("posts", Some(&t)), "posts_");
    }

    #[test]
    fn table_names_drop_the_default_schema() {
        let a = TableName::in_schema("users", "public", "public");
        assert_eq!(a.schema, None);
        assert_eq!(a.rust_path(), "users");
        let b = TableName::in_schema("users", "my-schema", "public");
        assert_eq!(b.full_sql_name(), "my-schema.users");
        assert_eq!(b.rust_path(), "my_schema.users");
    }

    #[test]
    fn column_types_display_with_wrappers() {
        let mut t = ColumnType::simple("Int4", "int4", true);
        t.is_array = true;
        assert_eq!(t.to_string(), "Nullable<Array<Nullable<Int4>>>");
        let mut u = ColumnType::simple("Integer", "integer", false);
        u.is_unsigned = true;
        assert_eq!(u.to_string(), "Unsigned<Integer>");
    }

    fn table(name: &str, pk: &[&str]) -> Table {
        Table::new(
            TableName::new(name),
            pk.iter().map(|s| s.to_string()).collect(),
            vec![],
            None,
        )
    }

    fn fk(child: &str, parent: &str, col: &str, pk: &str) -> ForeignKey {
        ForeignKey::new(
            TableName::new(child),
            TableName::new(parent),
            vec![col.into()],
            vec![pk.into()],
        )
    }

    #[test]
    fn unsafe_foreign_keys_are_dropped() {
        let tables = vec![
            table("a", &["id"]),
            table("b", &["id"]),
            table("c", &["x", "y"]),
        ];
        let all = vec![
            fk("b", "a", "a_id", "id"),
            fk("a", "a", "parent", "id"), // self reference
            fk("b", "c", "c_x", "x"),     // composite parent key
            fk("b", "zzz", "z_id", "id"), // parent not printed
        ];
        let kept = safe_foreign_keys(all, &tables);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].child_table.sql_name, "b");

        let twice = vec![fk("b", "a", "a1", "id"), fk("b", "a", "a2", "id")];
        assert!(safe_foreign_keys(twice, &tables).is_empty());
    }
}
