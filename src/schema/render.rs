//! Turning a [`Schema`] into the text of `schema.rs`.
//!
//! The output is what `diesel print-schema` prints for the same database and options, after
//! its rustfmt pass (reproduced by [`crate::schema::format`]) and its `patch_file` step
//! ([`crate::schema::patch`]). [`render_unpatched`] is pure; [`render`] additionally reads the
//! patch file named in the options.

use std::collections::{BTreeSet, HashSet};

use heck::ToUpperCamelCase;

use crate::backend::{Backend, CustomTypeHome};
use crate::schema::format::{FormatConfig, Layout};
use crate::schema::model::{Column, ColumnType, ForeignKey, Schema, Table, TableName};
use crate::schema::options::{AllowTablesConfig, DocConfig, PrintSchemaOptions};
use crate::schema::patch::{self, PatchError};

const HEADER: &str = "// @generated automatically by Diesel CLI.";

/// Errors while rendering `schema.rs`.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// SQLite has a closed set of types; anything else cannot be printed.
    #[error("column `{table}.{column}` has type `{sql_type}`, which has no diesel type on SQLite; change the column type in the migration")]
    UnsupportedSqliteType {
        /// Table.
        table: String,
        /// Column.
        column: String,
        /// The type as declared.
        sql_type: String,
    },
    /// The patch file could not be read or applied.
    #[error(transparent)]
    Patch(#[from] PatchError),
}

/// The exact text diesel print-schema writes for this model, formatted as rustfmt would with
/// `fmt`, with `patch_file` applied (the patch file is read from disk).
pub fn render(
    schema: &Schema,
    backend: Backend,
    opts: &PrintSchemaOptions,
    fmt: &FormatConfig,
) -> Result<String, RenderError> {
    let text = render_unpatched(schema, backend, opts, fmt)?;
    match &opts.patch_file {
        Some(path) => Ok(patch::apply_patch_file(&text, path)?),
        None => Ok(text),
    }
}

/// Like [`render`], without the `patch_file` step; does no I/O.
pub fn render_unpatched(
    schema: &Schema,
    backend: Backend,
    opts: &PrintSchemaOptions,
    fmt: &FormatConfig,
) -> Result<String, RenderError> {
    let custom = custom_types(schema, backend, opts)?;
    let mut out = Layout::new(fmt);
    out.line(0, HEADER);
    out.blank();
    let depth = match &opts.schema {
        Some(name) => {
            out.line(
                0,
                &format!(
                    "pub mod {} {{",
                    crate::schema::model::rust_name_for_sql_name(name, None)
                ),
            );
            1
        }
        None => 0,
    };
    if let Some(custom) = &custom {
        write_sql_types(&mut out, depth, backend, opts, schema, custom);
    }
    write_tables(&mut out, depth, schema, opts, custom.as_ref());
    if depth == 1 {
        out.close(0);
    }
    Ok(out.finish())
}

/// Per table, per column: the custom type the column uses, if it needs one.
type CustomTypes = Vec<Vec<Option<ColumnType>>>;

fn builtin_types(backend: Backend) -> HashSet<&'static str> {
    let mut set: HashSet<&'static str> = [
        "Bool",
        "Integer",
        "SmallInt",
        "BigInt",
        "Binary",
        "Text",
        "Double",
        "Float",
        "Numeric",
        "Timestamp",
        "Date",
        "Time",
        "Float4",
        "Smallint",
        "Int2",
        "Int4",
        "Int8",
        "Bigint",
        "Float8",
        "Decimal",
        "VarChar",
        "Varchar",
        "Char",
        "Tinytext",
        "Mediumtext",
        "Longtext",
        "Tinyblob",
        "Blob",
        "Mediumblob",
        "Longblob",
        "Varbinary",
        "Bit",
    ]
    .into_iter()
    .collect();
    set.extend(backend.diesel_only_type_names());
    set
}

fn custom_types(
    schema: &Schema,
    backend: Backend,
    opts: &PrintSchemaOptions,
) -> Result<Option<CustomTypes>, RenderError> {
    if !opts.generate_missing_sql_type_definitions() {
        return Ok(None);
    }
    let builtin = builtin_types(backend);
    let mut all = Vec::new();
    for t in &schema.tables {
        let mut per_column = Vec::new();
        for c in &t.columns {
            let needs = !builtin.contains(c.ty.rust_name.as_str())
                && !opts
                    .except_custom_type_definitions
                    .iter()
                    .any(|rx| rx.is_match(&c.ty.rust_name));
            if !needs {
                per_column.push(None);
                continue;
            }
            let ty = match backend.custom_types() {
                CustomTypeHome::None => {
                    return Err(RenderError::UnsupportedSqliteType {
                        table: t.name.sql_name.clone(),
                        column: c.sql_name.clone(),
                        sql_type: c.ty.sql_name.clone(),
                    })
                }
                CustomTypeHome::Named => c.ty.clone(),
                CustomTypeHome::PerColumn => ColumnType {
                    rust_name: format!("{} {} {}", t.name.rust_name, c.rust_name, c.ty.rust_name)
                        .to_upper_camel_case(),
                    ..c.ty.clone()
                },
            };
            per_column.push(Some(ty));
        }
        all.push(per_column);
    }
    Ok(Some(all))
}

/// Writes a Rust string literal for `s`: raw (with enough `#`) when it contains `"`.
fn rust_string(s: &str) -> String {
    if s.contains('"') {
        let hashes = "#".repeat(s.matches('#').count() + 1);
        format!("r{hashes}\"{s}\"{hashes}")
    } else {
        format!("\"{s}\"")
    }
}

fn write_sql_types(
    out: &mut Layout<'_>,
    depth: usize,
    backend: Backend,
    opts: &PrintSchemaOptions,
    schema: &Schema,
    custom: &CustomTypes,
) {
    let docs = opts.with_docs == DocConfig::DatabaseCommentsFallbackToAutoGeneratedDocComment;
    let derives = opts.custom_type_derives();
    // (type, table, column) in output order
    let mut entries: Vec<(&ColumnType, &Table, &Column)> = Vec::new();
    for (t, cols) in schema.tables.iter().zip(custom) {
        for (c, ty) in t.columns.iter().zip(cols) {
            if let Some(ty) = ty {
                entries.push((ty, t, c));
            }
        }
    }
    if entries.is_empty() {
        return;
    }
    entries.sort_by(|a, b| a.0.rust_name.cmp(&b.0.rust_name));
    if backend.has_named_types() {
        entries.dedup_by(|a, b| a.0.rust_name == b.0.rust_name);
    }
    if docs {
        out.line(depth, "/// A module containing custom SQL type definitions");
        out.line(depth, "///");
        out.line(depth, "/// (Automatically generated by Diesel.)");
    }
    out.line(depth, "pub mod sql_types {");
    let inner = depth + 1;
    for (idx, (ty, table, column)) in entries.iter().enumerate() {
        if idx != 0 {
            out.blank();
        }
        match backend {
            Backend::Mysql => {
                if docs {
                    out.line(
                        inner,
                        &format!("/// The `{}` SQL type for the", ty.sql_name),
                    );
                    out.line(
                        inner,
                        &format!(
                            "/// [`{t}::{c}`](super::{t}::{c})) column",
                            t = table.name.rust_name,
                            c = column.rust_name
                        ),
                    );
                    out.line(inner, "///");
                    out.line(inner, "/// (Automatically generated by Diesel.)");
                }
                out.derive(inner, &derives);
                let mut chars = ty.sql_name.chars();
                let name: String = match chars.next() {
                    Some(first) => first.to_uppercase().chain(chars).collect(),
                    None => String::new(),
                };
                out.nested_attr(
                    inner,
                    "diesel",
                    "mysql_type",
                    &[format!("name = \"{name}\"")],
                );
            }
            _ => {
                if docs {
                    let what = match &ty.schema {
                        Some(s) => format!(
                            "{}.{}",
                            s.replace('\n', "\\n"),
                            ty.sql_name.replace('\n', "\\n")
                        ),
                        None => ty.sql_name.replace('\n', "\\n"),
                    };
                    out.line(inner, &format!("/// The `{what}` SQL type"));
                    out.line(inner, "///");
                    out.line(inner, "/// (Automatically generated by Diesel.)");
                }
                out.derive(inner, &derives);
                let mut args = vec![format!("name = {}", rust_string(&ty.sql_name))];
                if let Some(s) = &ty.schema {
                    args.push(format!("schema = {}", rust_string(s)));
                }
                out.nested_attr(inner, "diesel", "postgres_type", &args);
            }
        }
        out.line(inner, &format!("pub struct {};", ty.rust_name));
    }
    out.close(depth);
    out.blank();
}

fn doc_lines(out: &mut Layout<'_>, depth: usize, extra: usize, text: &str) {
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            out.macro_body_line(depth, extra, "///");
        } else {
            out.macro_body_line(depth, extra, &format!("/// {line}"));
        }
    }
}

fn write_tables(
    out: &mut Layout<'_>,
    depth: usize,
    schema: &Schema,
    opts: &PrintSchemaOptions,
    custom: Option<&CustomTypes>,
) {
    for (idx, table) in schema.tables.iter().enumerate() {
        if idx != 0 {
            out.blank();
        }
        write_table(out, depth, table, opts, custom.map(|c| c[idx].as_slice()));
    }
    if !schema.foreign_keys.is_empty() {
        out.blank();
    }
    for fk in &schema.foreign_keys {
        out.line(
            depth,
            &format!(
                "diesel::joinable!({} -> {} ({}));",
                fk.child_table.rust_name, fk.parent_table.rust_name, fk.foreign_key_columns_rust[0]
            ),
        );
    }
    let groups: Vec<Vec<&TableName>> = match opts.allow_tables_to_appear_in_same_query_config {
        AllowTablesConfig::FkRelatedTables => fk_groups(&schema.tables, &schema.foreign_keys),
        AllowTablesConfig::AllTables => vec![schema.tables.iter().map(|t| &t.name).collect()],
        AllowTablesConfig::None => vec![],
    };
    for (i, group) in groups.into_iter().filter(|g| g.len() >= 2).enumerate() {
        if i == 0 {
            out.blank();
        }
        let names: Vec<String> = group.iter().map(|t| t.rust_name.clone()).collect();
        out.call_list(
            depth,
            "diesel::allow_tables_to_appear_in_same_query!",
            &names,
        );
    }
}

/// Groups of tables connected through foreign keys (in either direction), each sorted, and the
/// groups sorted by their first table.
fn fk_groups<'a>(tables: &'a [Table], fks: &'a [ForeignKey]) -> Vec<Vec<&'a TableName>> {
    let mut seen: BTreeSet<&TableName> = BTreeSet::new();
    let mut groups = Vec::new();
    for t in tables {
        if !seen.insert(&t.name) {
            continue;
        }
        let mut group = Vec::new();
        let mut stack = vec![&t.name];
        while let Some(name) = stack.pop() {
            group.push(name);
            for fk in fks.iter().filter(|fk| &fk.parent_table == name) {
                if seen.insert(&fk.child_table) {
                    stack.push(&fk.child_table);
                }
            }
            for fk in fks.iter().filter(|fk| &fk.child_table == name) {
                if seen.insert(&fk.parent_table) {
                    stack.push(&fk.parent_table);
                }
            }
        }
        group.sort();
        groups.push(group);
    }
    groups.sort();
    groups
}

fn write_table(
    out: &mut Layout<'_>,
    depth: usize,
    table: &Table,
    opts: &PrintSchemaOptions,
    custom: Option<&[Option<ColumnType>]>,
) {
    out.line(depth, "diesel::table! {");
    let mut wrote_import = false;
    if let Some(imports) = &opts.import_types {
        for i in imports {
            out.macro_body_line(depth, 4, &format!("use {i};"));
            wrote_import = true;
        }
    }
    let mut imported: HashSet<&str> = HashSet::new();
    for ty in custom.unwrap_or(&[]).iter().flatten() {
        if imported.insert(ty.rust_name.as_str()) {
            if !wrote_import {
                out.macro_body_line(depth, 4, "use diesel::sql_types::*;");
            }
            out.macro_body_line(
                depth,
                4,
                &format!("use super::sql_types::{};", ty.rust_name),
            );
            wrote_import = true;
        }
    }
    if wrote_import {
        out.macro_body_line(depth, 4, "");
    }
    let full = table.name.full_sql_name();
    match opts.with_docs {
        DocConfig::NoDocComments => {}
        DocConfig::OnlyDatabaseComments => {
            if let Some(c) = &table.comment {
                doc_lines(out, depth, 4, c);
            }
        }
        DocConfig::DatabaseCommentsFallbackToAutoGeneratedDocComment => match &table.comment {
            Some(c) => doc_lines(out, depth, 4, c),
            None => doc_lines(
                out,
                depth,
                4,
                &format!(
                    "Representation of the `{full}` table.\n\n(Automatically generated by Diesel.)"
                ),
            ),
        },
    }
    if table.name.rust_name != table.name.sql_name {
        out.macro_body_line(depth, 4, &format!("#[sql_name = {}]", rust_string(&full)));
    }
    out.macro_body_line(
        depth,
        4,
        &format!(
            "{} ({}) {{",
            table.name.rust_path(),
            table.primary_key.join(", ")
        ),
    );
    for (i, col) in table.columns.iter().enumerate() {
        let ty = custom.and_then(|c| c[i].as_ref()).unwrap_or(&col.ty);
        let shown = ty.to_string();
        match opts.with_docs {
            DocConfig::NoDocComments => {}
            DocConfig::OnlyDatabaseComments => {
                if let Some(c) = &col.comment {
                    doc_lines(out, depth, 8, c);
                }
            }
            DocConfig::DatabaseCommentsFallbackToAutoGeneratedDocComment => match &col.comment {
                Some(c) => doc_lines(out, depth, 8, c),
                None => doc_lines(
                    out,
                    depth,
                    8,
                    &format!(
                        "The `{}` column of the `{full}` table.\n\nIts SQL type is `{shown}`.\n\n(Automatically generated by Diesel.)",
                        col.sql_name
                    ),
                ),
            },
        }
        if col.rust_name != col.sql_name {
            out.macro_body_line(
                depth,
                8,
                &format!("#[sql_name = {}]", rust_string(&col.sql_name)),
            );
        }
        if let Some(n) = col.ty.max_length {
            out.macro_body_line(depth, 8, &format!("#[max_length = {n}]"));
        }
        out.macro_body_line(depth, 8, &format!("{} -> {shown},", col.rust_name));
    }
    out.macro_body_line(depth, 4, "}");
    out.line(depth, "}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::model::{Column, ColumnType, ForeignKey, Table, TableName};

    fn users_posts() -> Schema {
        let users = TableName::new("users");
        let posts = TableName::new("posts");
        let mut name_ty = ColumnType::simple("Varchar", "varchar", true);
        name_ty.max_length = Some(50);
        let users_t = Table::new(
            users.clone(),
            vec!["id".into()],
            vec![
                Column::new(
                    &users,
                    "id",
                    ColumnType::simple("Int4", "int4", false),
                    None,
                ),
                Column::new(&users, "name", name_ty, Some("Display name".into())),
                Column::new(
                    &users,
                    "type",
                    ColumnType::simple("Text", "text", false),
                    None,
                ),
            ],
            None,
        );
        let posts_t = Table::new(
            posts.clone(),
            vec!["id".into()],
            vec![
                Column::new(
                    &posts,
                    "id",
                    ColumnType::simple("Int4", "int4", false),
                    None,
                ),
                Column::new(
                    &posts,
                    "user_id",
                    ColumnType::simple("Int4", "int4", false),
                    None,
                ),
            ],
            None,
        );
        let fks = vec![ForeignKey::new(
            posts,
            users,
            vec!["user_id".into()],
            vec!["id".into()],
        )];
        Schema {
            foreign_keys: crate::schema::model::safe_foreign_keys(
                fks,
                &[posts_t.clone(), users_t.clone()],
            ),
            tables: vec![posts_t, users_t],
        }
    }

    #[test]
    fn renders_tables_joinables_and_groups() {
        let out = render_unpatched(
            &users_posts(),
            Backend::Postgres,
            &PrintSchemaOptions::default(),
            &FormatConfig::default(),
        )
        .unwrap();
        let expected = "// @generated automatically by Diesel CLI.

diesel::table! {
    posts (id) {
        id -> Int4,
        user_id -> Int4,
    }
}

diesel::table! {
    users (id) {
        id -> Int4,
        #[max_length = 50]
        name -> Nullable<Varchar>,
        #[sql_name = \"type\"]
        type_ -> Text,
    }
}

diesel::joinable!(posts -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(posts, users,);
";
        assert_eq!(out, expected);
    }

    #[test]
    fn renders_custom_types_in_a_schema_module_with_docs() {
        let t = TableName::in_schema("things", "custom", "public");
        let mut mood = ColumnType::simple("Mood", "mood", false);
        mood.schema = Some("custom".into());
        let table = Table::new(
            t.clone(),
            vec!["id".into()],
            vec![
                Column::new(&t, "id", ColumnType::simple("Int4", "int4", false), None),
                Column::new(&t, "mood", mood, None),
            ],
            Some("All the things".into()),
        );
        let schema = Schema {
            tables: vec![table],
            foreign_keys: vec![],
        };
        let opts = PrintSchemaOptions {
            schema: Some("custom".into()),
            with_docs: DocConfig::DatabaseCommentsFallbackToAutoGeneratedDocComment,
            ..Default::default()
        };
        let out =
            render_unpatched(&schema, Backend::Postgres, &opts, &FormatConfig::default()).unwrap();
        assert!(out.contains(
            "pub mod custom {\n    /// A module containing custom SQL type definitions\n"
        ));
        assert!(out.contains(
            "        #[derive(diesel::sql_types::SqlType)]\n        #[diesel(postgres_type(name = \"mood\", schema = \"custom\"))]\n        pub struct Mood;\n"
        ));
        assert!(out.contains("        use super::sql_types::Mood;\n\n        /// All the things\n        custom.things (id) {\n"));
        assert!(out.contains("            /// Its SQL type is `Mood`.\n"));
        assert!(out.ends_with("    }\n}\n"));
    }

    #[test]
    fn mysql_custom_types_are_per_column() {
        let t = TableName::new("users");
        let table = Table::new(
            t.clone(),
            vec!["id".into()],
            vec![
                Column::new(
                    &t,
                    "id",
                    ColumnType::simple("Integer", "integer", false),
                    None,
                ),
                Column::new(&t, "status", ColumnType::simple("Enum", "enum", true), None),
            ],
            None,
        );
        let schema = Schema {
            tables: vec![table],
            foreign_keys: vec![],
        };
        let out = render_unpatched(
            &schema,
            Backend::Mysql,
            &PrintSchemaOptions::default(),
            &FormatConfig::default(),
        )
        .unwrap();
        assert!(out.contains(
            "    #[diesel(mysql_type(name = \"Enum\"))]\n    pub struct UsersStatusEnum;\n"
        ));
        assert!(out.contains("        status -> Nullable<UsersStatusEnum>,\n"));
        assert!(!out.contains("allow_tables_to_appear_in_same_query"));
    }

    #[test]
    fn raw_strings_for_quotes() {
        assert_eq!(rust_string("plain"), "\"plain\"");
        assert_eq!(rust_string("a\"b#"), "r##\"a\"b#\"##");
    }
}
