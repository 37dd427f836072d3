//! Reading a committed `schema.rs` back into the schema model.
//!
//! The file is parsed with `syn`, never compiled or run. Four things are read:
//!
//! - `table!` blocks (with or without the `diesel::` prefix, at the top level or inside a
//!   `pub mod` that `[print_schema] schema` adds), whose bodies `diesel_table_macro_syntax`
//!   parses exactly as diesel's own macro does;
//! - `joinable!(child -> parent (column))` lines, which become foreign keys;
//! - `allow_tables_to_appear_in_same_query!`, accepted and ignored (it carries no schema);
//! - the `pub mod sql_types { … }` module, whose `#[diesel(postgres_type(name = …))]` and
//!   `#[diesel(mysql_type(name = …))]` structs name the custom SQL types columns refer to.
//!
//! Parsing ([`parse`]) only checks the Rust syntax and the macro shapes; turning the result into
//! a [`Schema`] for one backend ([`ParsedSchema::to_model`]) checks the meaning: every type is
//! one diesel knows on that backend (or is declared in `sql_types`), every table has a primary
//! key, every `joinable!` names known tables and columns. Every error carries the file and the
//! 1-based line (and column) it is about. Nothing here touches a database or writes a file.

use std::path::{Path, PathBuf};

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;

use crate::backend::{Backend, CustomTypeHome};
use crate::schema::model::{Column, ColumnType, ForeignKey, Schema, Table, TableName};

/// Why a schema file could not be read into the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}\nhelp: {help}", file.display())]
pub struct ParseError {
    /// The schema file, as given to [`parse`].
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: String,
    /// The kind of problem.
    pub kind: ParseErrorKind,
}

/// The kinds of [`ParseError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Not valid Rust, or a macro whose body is not shaped as diesel expects.
    Syntax,
    /// A column type diesel does not know on the backend and `sql_types` does not declare.
    UnknownType,
    /// A table with no primary key.
    NoPrimaryKey,
    /// A `joinable!` or primary key that names something the file does not define.
    UnknownName,
}

/// A whole parsed schema file, before it is checked against a backend.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedSchema {
    /// The file it came from (for error messages).
    pub file: PathBuf,
    /// `table!` blocks in file order.
    pub tables: Vec<ParsedTable>,
    /// `joinable!` lines in file order.
    pub joinables: Vec<ParsedJoinable>,
    /// Structs of `sql_types` modules.
    pub sql_types: Vec<ParsedSqlType>,
}

/// Where something was found: 1-based line and column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loc {
    /// Line.
    pub line: usize,
    /// Column.
    pub column: usize,
}

impl Loc {
    fn of(span: Span) -> Loc {
        let start = span.start();
        Loc {
            line: start.line.max(1),
            column: start.column + 1,
        }
    }
}

/// One `table!` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedTable {
    /// `schema.` before the table name, if any.
    pub schema: Option<String>,
    /// The Rust identifier.
    pub rust_name: String,
    /// The SQL name (`#[sql_name]`, else the identifier).
    pub sql_name: String,
    /// The primary key as written (Rust column names); `None` means diesel's default, `id`.
    pub primary_key: Option<Vec<String>>,
    /// Columns in file order.
    pub columns: Vec<ParsedColumn>,
    /// Where the table's name is.
    pub loc: Loc,
}

/// One column of a `table!` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedColumn {
    /// The Rust identifier.
    pub rust_name: String,
    /// The SQL name (`#[sql_name]`, else the identifier).
    pub sql_name: String,
    /// The type after `->`.
    pub ty: ParsedType,
    /// `#[max_length = N]`.
    pub max_length: Option<u64>,
    /// Where the column's name is.
    pub loc: Loc,
}

/// A column type with diesel's wrappers taken off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedType {
    /// The innermost type's last path segment (`Int4`, `Mood`).
    pub name: String,
    /// The innermost type's whole path, spaces removed (`sql_types::Mood`).
    pub path: String,
    /// Wrapped in `Nullable<…>`.
    pub nullable: bool,
    /// Wrapped in `Array<…>`.
    pub array: bool,
    /// Wrapped in `Unsigned<…>`.
    pub unsigned: bool,
    /// The whole type as written, spaces removed (`Nullable<Array<Nullable<Text>>>`).
    pub written: String,
    /// Where the type is.
    pub loc: Loc,
}

/// `joinable!(child -> parent (column));`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedJoinable {
    /// The referencing table (Rust name).
    pub child: String,
    /// The referenced table (Rust name).
    pub parent: String,
    /// The referencing column (Rust name).
    pub column: String,
    /// Where the macro is.
    pub loc: Loc,
}

/// A struct of a `sql_types` module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSqlType {
    /// The struct's name, as columns refer to it.
    pub rust_name: String,
    /// `postgres_type(name = …)`.
    pub postgres_name: Option<String>,
    /// `postgres_type(schema = …)`.
    pub postgres_schema: Option<String>,
    /// `mysql_type(name = …)`.
    pub mysql_name: Option<String>,
    /// `sqlite_type(name = …)`.
    pub sqlite_name: Option<String>,
    /// Where the struct is.
    pub loc: Loc,
}

/// A PostgreSQL custom type the schema file declares in `sql_types`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CustomType {
    /// Its schema, when not the default one.
    pub schema: Option<String>,
    /// The SQL name.
    pub sql_name: String,
    /// The Rust struct name.
    pub rust_name: String,
}

/// A schema file read into the model for one backend.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesiredSchema {
    /// Tables (sorted by name, as print-schema sorts them) and `joinable!` foreign keys.
    pub schema: Schema,
    /// PostgreSQL custom types declared in `sql_types` and used by a column.
    pub custom_types: Vec<CustomType>,
}

/// Read and parse `path`.
pub fn parse_file(path: &Path) -> Result<ParsedSchema, ParseError> {
    let text = std::fs::read_to_string(path).map_err(|e| ParseError {
        file: path.to_path_buf(),
        line: 1,
        column: 1,
        message: format!("cannot read the schema file: {e}"),
        help: "check that the file exists and is UTF-8 text".into(),
        kind: ParseErrorKind::Syntax,
    })?;
    parse(&text, path)
}

fn syntax(file: &Path, err: &syn::Error, what: &str) -> ParseError {
    let loc = Loc::of(err.span());
    ParseError {
        file: file.to_path_buf(),
        line: loc.line,
        column: loc.column,
        message: format!("{what}: {err}"),
        help: "fix the file so that it is valid Rust as `diesel print-schema` writes it, or regenerate it with `cargo migrate schema --write` and redo your edits".into(),
        kind: ParseErrorKind::Syntax,
    }
}

fn error_at(
    file: &Path,
    loc: Loc,
    kind: ParseErrorKind,
    message: String,
    help: String,
) -> ParseError {
    ParseError {
        file: file.to_path_buf(),
        line: loc.line,
        column: loc.column,
        message,
        help,
        kind,
    }
}

/// Parse the text of a schema file; `file` names it in errors.
pub fn parse(text: &str, file: &Path) -> Result<ParsedSchema, ParseError> {
    let syn_file = syn::parse_file(text).map_err(|e| syntax(file, &e, "not valid Rust"))?;
    let mut out = ParsedSchema {
        file: file.to_path_buf(),
        ..Default::default()
    };
    collect_items(&syn_file.items, file, false, &mut out)?;
    Ok(out)
}

fn last_segment(path: &syn::Path) -> String {
    path.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

fn collect_items(
    items: &[syn::Item],
    file: &Path,
    in_sql_types: bool,
    out: &mut ParsedSchema,
) -> Result<(), ParseError> {
    for item in items {
        match item {
            syn::Item::Macro(m) => collect_macro(&m.mac, file, out)?,
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    collect_items(items, file, m.ident == "sql_types", out)?;
                }
            }
            syn::Item::Struct(s) if in_sql_types => out.sql_types.push(sql_type(s, file)?),
            _ => {}
        }
    }
    Ok(())
}

fn collect_macro(mac: &syn::Macro, file: &Path, out: &mut ParsedSchema) -> Result<(), ParseError> {
    match last_segment(&mac.path).as_str() {
        "table" => {
            let decl: diesel_table_macro_syntax::TableDecl = mac.parse_body().map_err(|e| {
                syntax(
                    file,
                    &e,
                    "this `table!` block is not shaped as diesel expects",
                )
            })?;
            out.tables.push(table(decl, file)?);
        }
        "joinable" => {
            let j: JoinableBody = mac.parse_body().map_err(|e| {
                syntax(
                    file,
                    &e,
                    "this `joinable!` is not `child -> parent (column)`",
                )
            })?;
            out.joinables.push(ParsedJoinable {
                child: j.child.to_string(),
                parent: j.parent.to_string(),
                column: j.column.to_string(),
                loc: Loc::of(mac.path.span()),
            });
        }
        _ => {}
    }
    Ok(())
}

struct JoinableBody {
    child: syn::Ident,
    parent: syn::Ident,
    column: syn::Ident,
}

impl syn::parse::Parse for JoinableBody {
    fn parse(input: syn::parse::ParseStream) -> syn::Result<Self> {
        let child = input.parse()?;
        let _: syn::Token![->] = input.parse()?;
        let parent = input.parse()?;
        let content;
        syn::parenthesized!(content in input);
        let column = content.parse()?;
        Ok(JoinableBody {
            child,
            parent,
            column,
        })
    }
}

fn ident_name(ident: &syn::Ident) -> String {
    use syn::ext::IdentExt;
    ident.unraw().to_string()
}

fn table(
    decl: diesel_table_macro_syntax::TableDecl,
    file: &Path,
) -> Result<ParsedTable, ParseError> {
    let mut columns = Vec::new();
    for c in decl.column_defs.iter() {
        let max_length = match &c.max_length {
            Some(lit) => Some(
                lit.base10_parse::<u64>()
                    .map_err(|e| syntax(file, &e, "`#[max_length]` is not a number"))?,
            ),
            None => None,
        };
        columns.push(ParsedColumn {
            rust_name: ident_name(&c.column_name),
            sql_name: c.sql_name.clone(),
            ty: parsed_type(&c.tpe, file)?,
            max_length,
            loc: Loc::of(c.column_name.span()),
        });
    }
    Ok(ParsedTable {
        schema: decl.schema.as_ref().map(ident_name),
        rust_name: ident_name(&decl.table_name),
        sql_name: decl.sql_name.clone(),
        primary_key: decl
            .primary_keys
            .as_ref()
            .map(|pk| pk.keys.iter().map(ident_name).collect()),
        columns,
        loc: Loc::of(decl.table_name.span()),
    })
}

fn compact(tokens: &impl ToTokens) -> String {
    tokens
        .to_token_stream()
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn parsed_type(tpe: &syn::TypePath, file: &Path) -> Result<ParsedType, ParseError> {
    let loc = Loc::of(tpe.span());
    let mut ty = ParsedType {
        name: String::new(),
        path: String::new(),
        nullable: false,
        array: false,
        unsigned: false,
        written: compact(tpe),
        loc,
    };
    let mut current: syn::TypePath = tpe.clone();
    let mut depth = 0;
    loop {
        depth += 1;
        let Some(last) = current.path.segments.last() else {
            return Err(error_at(
                file,
                loc,
                ParseErrorKind::Syntax,
                "empty type".into(),
                "write a diesel SQL type after `->`".into(),
            ));
        };
        let name = last.ident.to_string();
        let wrapper = matches!(name.as_str(), "Nullable" | "Array" | "Unsigned");
        match (&last.arguments, wrapper) {
            (syn::PathArguments::AngleBracketed(args), true)
                if args.args.len() == 1 && depth < 8 =>
            {
                let Some(syn::GenericArgument::Type(syn::Type::Path(inner))) = args.args.first()
                else {
                    return Err(unknown_type(file, loc, &ty.written));
                };
                match name.as_str() {
                    // Array<Nullable<T>> is how print-schema writes every array: the element's
                    // Nullable belongs to the array, not to the column.
                    "Array" => ty.array = true,
                    "Unsigned" => ty.unsigned = true,
                    _ if ty.array => {}
                    _ => ty.nullable = true,
                }
                current = inner.clone();
            }
            (syn::PathArguments::None, false) => {
                ty.name = name;
                ty.path = compact(&current.path);
                return Ok(ty);
            }
            _ => return Err(unknown_type(file, loc, &ty.written)),
        }
    }
}

fn unknown_type(file: &Path, loc: Loc, written: &str) -> ParseError {
    error_at(
        file,
        loc,
        ParseErrorKind::UnknownType,
        format!("the column type `{written}` is not a diesel SQL type this tool can turn into SQL"),
        "use a diesel SQL type (`Int4`, `Text`, `Nullable<Timestamp>`, …) or declare the type in `pub mod sql_types`".into(),
    )
}

fn sql_type(s: &syn::ItemStruct, file: &Path) -> Result<ParsedSqlType, ParseError> {
    let mut out = ParsedSqlType {
        rust_name: s.ident.to_string(),
        postgres_name: None,
        postgres_schema: None,
        mysql_name: None,
        sqlite_name: None,
        loc: Loc::of(s.ident.span()),
    };
    for attr in s.attrs.iter().filter(|a| a.path().is_ident("diesel")) {
        attr.parse_nested_meta(|meta| {
            let kind = meta
                .path
                .get_ident()
                .map(|i| i.to_string())
                .unwrap_or_default();
            if !matches!(
                kind.as_str(),
                "postgres_type" | "mysql_type" | "sqlite_type"
            ) {
                // Other diesel options (none today) carry no schema; skip their value.
                if meta.input.peek(syn::Token![=]) {
                    let _: syn::Expr = meta.value()?.parse()?;
                } else if meta.input.peek(syn::token::Paren) {
                    let _content;
                    syn::parenthesized!(_content in meta.input);
                }
                return Ok(());
            }
            meta.parse_nested_meta(|inner| {
                let key = inner
                    .path
                    .get_ident()
                    .map(|i| i.to_string())
                    .unwrap_or_default();
                let value = inner.value()?;
                if key == "oid" || key == "array_oid" {
                    let _: syn::LitInt = value.parse()?;
                    return Ok(());
                }
                let lit: syn::LitStr = value.parse()?;
                match (kind.as_str(), key.as_str()) {
                    ("postgres_type", "name") => out.postgres_name = Some(lit.value()),
                    ("postgres_type", "schema") => out.postgres_schema = Some(lit.value()),
                    ("mysql_type", "name") => out.mysql_name = Some(lit.value()),
                    ("sqlite_type", "name") => out.sqlite_name = Some(lit.value()),
                    _ => return Err(inner.error(format!("unexpected `{key}` in `{kind}`"))),
                }
                Ok(())
            })
        })
        .map_err(|e| {
            syntax(
                file,
                &e,
                "this `#[diesel(...)]` attribute of a `sql_types` struct cannot be read",
            )
        })?;
    }
    Ok(out)
}

/// The canonical name of a built-in diesel SQL type on `backend`: the lower-case SQL base type
/// that a column of it has after a replay, or `None` when diesel has no such type there.
///
/// Aliases collapse: `Integer` and `Int4` are both `integer`, `Text` and `Varchar` stay apart on
/// PostgreSQL and MySQL (they are different column types there) but are both `text` on SQLite.
pub fn builtin_type(backend: Backend, rust_name: &str) -> Option<&'static str> {
    backend.diesel_type(rust_name)
}

impl ParsedSchema {
    fn err(
        &self,
        loc: Loc,
        kind: ParseErrorKind,
        message: String,
        help: impl Into<String>,
    ) -> ParseError {
        error_at(&self.file, loc, kind, message, help.into())
    }

    /// Check the parsed file against `backend` and turn it into the model: tables sorted as
    /// print-schema sorts them, `joinable!` lines as foreign keys, the custom types in use.
    pub fn to_model(&self, backend: Backend) -> Result<DesiredSchema, ParseError> {
        let mut tables = Vec::new();
        let mut custom_types: Vec<CustomType> = Vec::new();
        for t in &self.tables {
            let name = TableName {
                sql_name: t.sql_name.clone(),
                rust_name: t.rust_name.clone(),
                schema: t.schema.clone(),
                rust_schema: t.schema.clone(),
            };
            let mut columns = Vec::new();
            for c in &t.columns {
                if let Some(dup) = columns.iter().find(|x: &&Column| x.sql_name == c.sql_name) {
                    return Err(self.err(
                        c.loc,
                        ParseErrorKind::Syntax,
                        format!(
                            "table `{}` has the column `{}` twice",
                            t.rust_name, dup.sql_name
                        ),
                        "remove one of them",
                    ));
                }
                let ty = self.column_type(backend, c, &mut custom_types)?;
                columns.push(Column {
                    sql_name: c.sql_name.clone(),
                    rust_name: c.rust_name.clone(),
                    ty,
                    comment: None,
                });
            }
            let pk_rust: Vec<String> = t
                .primary_key
                .clone()
                .unwrap_or_else(|| vec!["id".to_string()]);
            let mut pk_sql = Vec::new();
            for key in &pk_rust {
                match t.columns.iter().find(|c| &c.rust_name == key) {
                    Some(c) => pk_sql.push(c.sql_name.clone()),
                    None if t.primary_key.is_none() => {
                        return Err(self.err(
                            t.loc,
                            ParseErrorKind::NoPrimaryKey,
                            format!("table `{}` has no primary key: without a key in parentheses after its name, `table!` uses the column `id`, and the table has none", t.rust_name),
                            format!("name the primary-key columns after the table name, e.g. `{} (some_column) {{`; diesel needs a primary key on every table", t.rust_name),
                        ))
                    }
                    None => {
                        return Err(self.err(
                            t.loc,
                            ParseErrorKind::NoPrimaryKey,
                            format!("the primary key of table `{}` names the column `{key}`, which the table does not have", t.rust_name),
                            "list existing columns between the parentheses after the table name",
                        ))
                    }
                }
            }
            if pk_sql.is_empty() {
                return Err(self.err(
                    t.loc,
                    ParseErrorKind::NoPrimaryKey,
                    format!("table `{}` has an empty primary key `()`", t.rust_name),
                    "name at least one column; diesel needs a primary key on every table",
                ));
            }
            tables.push(Table {
                name,
                primary_key_sql: pk_sql,
                primary_key: pk_rust,
                columns,
                comment: None,
            });
        }
        tables.sort_by(|a, b| a.name.cmp(&b.name));

        let mut foreign_keys = Vec::new();
        for j in &self.joinables {
            let find = |rust: &str| tables.iter().find(|t| t.name.rust_name == rust);
            let Some(child) = find(&j.child) else {
                return Err(self.err(
                    j.loc,
                    ParseErrorKind::UnknownName,
                    format!(
                        "`joinable!` names the table `{}`, which this file does not define",
                        j.child
                    ),
                    "define the table with `table!` or remove the `joinable!` line",
                ));
            };
            let Some(parent) = find(&j.parent) else {
                return Err(self.err(
                    j.loc,
                    ParseErrorKind::UnknownName,
                    format!(
                        "`joinable!` names the table `{}`, which this file does not define",
                        j.parent
                    ),
                    "define the table with `table!` or remove the `joinable!` line",
                ));
            };
            let Some(column) = child.columns.iter().find(|c| c.rust_name == j.column) else {
                return Err(self.err(
                    j.loc,
                    ParseErrorKind::UnknownName,
                    format!(
                        "`joinable!` names the column `{}.{}`, which this file does not define",
                        j.child, j.column
                    ),
                    "add the column to the table or fix the `joinable!` line",
                ));
            };
            if parent.primary_key_sql.len() != 1 {
                return Err(self.err(j.loc, ParseErrorKind::UnknownName, format!("`joinable!` points at `{}`, whose primary key has {} columns; a foreign key on one column needs a one-column primary key", j.parent, parent.primary_key_sql.len()), "remove the `joinable!` line, or give the parent table a one-column primary key"));
            }
            foreign_keys.push(ForeignKey {
                child_table: child.name.clone(),
                parent_table: parent.name.clone(),
                foreign_key_columns: vec![column.sql_name.clone()],
                foreign_key_columns_rust: vec![column.rust_name.clone()],
                primary_key_columns: parent.primary_key_sql.clone(),
            });
        }
        foreign_keys.sort();
        custom_types.sort();
        custom_types.dedup();
        Ok(DesiredSchema {
            schema: Schema {
                tables,
                foreign_keys,
            },
            custom_types,
        })
    }

    fn column_type(
        &self,
        backend: Backend,
        c: &ParsedColumn,
        custom: &mut Vec<CustomType>,
    ) -> Result<ColumnType, ParseError> {
        let t = &c.ty;
        let in_sql_types = t.path.contains("sql_types::") || !t.path.contains("::");
        let declared = self
            .sql_types
            .iter()
            .find(|s| s.rust_name == t.name)
            .filter(|_| in_sql_types);
        let mut ty = ColumnType {
            schema: None,
            rust_name: t.name.clone(),
            sql_name: String::new(),
            is_array: t.array,
            is_nullable: t.nullable,
            is_unsigned: t.unsigned,
            max_length: c.max_length,
        };
        if t.array && !backend.has_array_types() {
            return Err(self.err(
                t.loc,
                ParseErrorKind::UnknownType,
                format!(
                    "`{}`: arrays exist only on PostgreSQL, and this set is {backend}",
                    t.written
                ),
                "use a scalar type, or a JSON/text column",
            ));
        }
        if t.unsigned && !backend.has_unsigned_integers() {
            return Err(self.err(
                t.loc,
                ParseErrorKind::UnknownType,
                format!(
                    "`{}`: `Unsigned` exists only on MySQL, and this set is {backend}",
                    t.written
                ),
                "remove `Unsigned<…>`",
            ));
        }
        if let Some(d) = declared {
            match backend.custom_types() {
                CustomTypeHome::Named => {
                    let sql_name = d.postgres_name.clone().ok_or_else(|| {
                        self.err(
                            d.loc,
                            ParseErrorKind::UnknownType,
                            format!(
                                "`sql_types::{}` has no `#[diesel(postgres_type(name = \"…\"))]`",
                                d.rust_name
                            ),
                            "add the attribute with the type's SQL name",
                        )
                    })?;
                    ty.sql_name = sql_name.clone();
                    ty.schema = d.postgres_schema.clone().filter(|s| s != "public");
                    custom.push(CustomType {
                        schema: ty.schema.clone(),
                        sql_name,
                        rust_name: d.rust_name.clone(),
                    });
                }
                CustomTypeHome::PerColumn => {
                    let name = d.mysql_name.clone().ok_or_else(|| {
                        self.err(
                            d.loc,
                            ParseErrorKind::UnknownType,
                            format!(
                                "`sql_types::{}` has no `#[diesel(mysql_type(name = \"…\"))]`",
                                d.rust_name
                            ),
                            "add the attribute with the type's name",
                        )
                    })?;
                    ty.sql_name = name.to_lowercase();
                }
                CustomTypeHome::None => {
                    return Err(self.err(
                        d.loc,
                        ParseErrorKind::UnknownType,
                        format!(
                            "`sql_types::{}` is a custom type, and SQLite has none",
                            d.rust_name
                        ),
                        "use one of SQLite's diesel types (Integer, Text, Binary, Double, …)",
                    ));
                }
            }
            return Ok(ty);
        }
        match builtin_type(backend, &t.name) {
            Some(canon) => {
                ty.sql_name = canon.to_string();
                Ok(ty)
            }
            None => Err(self.err(
                t.loc,
                ParseErrorKind::UnknownType,
                format!("column `{}` has the type `{}`, which diesel does not know on {backend} and `sql_types` does not declare", c.rust_name, t.written),
                backend.diesel_types_hint(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: &str = r#"// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "mood"))]
    pub struct Mood;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Mood;

    posts (id) {
        id -> Int4,
        user_id -> Int4,
        #[max_length = 200]
        title -> Varchar,
        tags -> Nullable<Array<Nullable<Text>>>,
        feeling -> Nullable<Mood>,
    }
}

diesel::table! {
    users {
        id -> Int4,
        #[sql_name = "type"]
        type_ -> Nullable<Text>,
    }
}

diesel::joinable!(posts -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(posts, users,);
"#;

    #[test]
    fn reads_tables_types_and_joinables() {
        let parsed = parse(PG, Path::new("schema.rs")).unwrap();
        assert_eq!(parsed.tables.len(), 2);
        assert_eq!(parsed.sql_types[0].postgres_name.as_deref(), Some("mood"));
        let model = parsed.to_model(Backend::Postgres).unwrap();
        let posts = &model.schema.tables[0];
        assert_eq!(posts.name.sql_name, "posts");
        assert_eq!(posts.columns[2].ty.max_length, Some(200));
        assert_eq!(
            posts.columns[3].ty.to_string(),
            "Nullable<Array<Nullable<Text>>>"
        );
        assert_eq!(posts.columns[4].ty.sql_name, "mood");
        let users = &model.schema.tables[1];
        assert_eq!(users.primary_key_sql, ["id"]);
        assert_eq!(users.columns[1].sql_name, "type");
        assert_eq!(model.schema.foreign_keys[0].parent_table.sql_name, "users");
        assert_eq!(model.custom_types[0].sql_name, "mood");
        assert_eq!(parsed.tables[0].columns[2].loc.line, 17);
    }

    #[test]
    fn errors_name_the_line() {
        let bad = "diesel::table! {\n    t (id) {\n        id -> Int4,\n        x -> Whatever,\n    }\n}\n";
        let e = parse(bad, Path::new("s.rs"))
            .unwrap()
            .to_model(Backend::Postgres)
            .unwrap_err();
        assert_eq!((e.kind, e.line), (ParseErrorKind::UnknownType, 4));
        let e = parse(
            "diesel::table! {\n    t (id) {\n        id -> \n    }\n}\n",
            Path::new("s.rs"),
        )
        .unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::Syntax);
        assert_eq!(e.line, 4);
        let e = parse(
            "diesel::table! {\n    t {\n        x -> Int4,\n    }\n}\n",
            Path::new("s.rs"),
        )
        .unwrap()
        .to_model(Backend::Postgres)
        .unwrap_err();
        assert_eq!((e.kind, e.line), (ParseErrorKind::NoPrimaryKey, 2));
    }
}
