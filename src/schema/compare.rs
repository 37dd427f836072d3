//! Comparing two schema files by what they declare rather than by their bytes.
//!
//! `check` compares a schema file with the history's schema byte for byte; when they differ,
//! [`differences`] names the tables and columns that do. For a schema file that several sets of
//! different backends share (or any set with `schema-check = "semantic"`), byte equality is
//! impossible, so `check` compares the declarations instead: tables, their primary keys,
//! columns, SQL types, nullability and `joinable!` lines. In that mode two SQL types are the
//! same when diesel maps both to the same Rust type ([`rust_type`]): `Integer` and `Int4` are
//! both `i32`, `Text` and `Varchar` both `String`. `#[max_length]`, `#[sql_name]` spelling and
//! `allow_tables_to_appear_in_same_query!` are not compared (they change no Rust type).

use std::collections::{BTreeMap, BTreeSet};

use crate::schema::parse::{Loc, ParsedColumn, ParsedSchema, ParsedTable};

/// One declaration that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The table (Rust name, with its schema when it has one).
    pub table: String,
    /// The column, when the difference is about one.
    pub column: Option<String>,
    /// What differs, from the file's side: "... in the file, ... from the migrations".
    pub message: String,
    /// Where in the committed file, when it is there.
    pub loc: Option<Loc>,
}

/// How types are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeMatch {
    /// As written (`Integer` is not `Int4`).
    Exact,
    /// By the Rust type diesel maps them to.
    RustType,
}

/// The Rust type diesel maps a SQL type name to, for the types whose name differs between
/// backends; other names stand for themselves.
pub fn rust_type(sql_type: &str) -> &str {
    match sql_type {
        "SmallInt" | "Int2" | "Smallint" => "i16",
        "Integer" | "Int4" => "i32",
        "BigInt" | "Int8" | "Bigint" => "i64",
        "Float" | "Float4" => "f32",
        "Double" | "Float8" => "f64",
        "Text" | "Varchar" | "VarChar" | "Char" | "Bpchar" | "Tinytext" | "Mediumtext"
        | "Longtext" => "String",
        "Binary" | "Bytea" | "Blob" | "Tinyblob" | "Mediumblob" | "Longblob" | "Varbinary" => {
            "Vec<u8>"
        }
        "Bool" => "bool",
        "Timestamp" | "Datetime" => "NaiveDateTime",
        "Numeric" | "Decimal" => "BigDecimal",
        other => other,
    }
}

fn table_key(t: &ParsedTable) -> String {
    match &t.schema {
        Some(s) => format!("{s}.{}", t.rust_name),
        None => t.rust_name.clone(),
    }
}

fn primary_key(t: &ParsedTable) -> Vec<String> {
    t.primary_key.clone().unwrap_or_else(|| vec!["id".into()])
}

fn type_text(c: &ParsedColumn) -> String {
    c.ty.written.clone()
}

fn same_type(a: &ParsedColumn, b: &ParsedColumn, how: TypeMatch) -> bool {
    match how {
        TypeMatch::Exact => a.ty.written == b.ty.written,
        TypeMatch::RustType => {
            a.ty.nullable == b.ty.nullable
                && a.ty.array == b.ty.array
                && a.ty.unsigned == b.ty.unsigned
                && rust_type(&a.ty.name) == rust_type(&b.ty.name)
        }
    }
}

/// What `file` (committed) declares differently from `history` (rendered from the
/// migrations), table by table, in the file's order, then the history's.
pub fn differences(file: &ParsedSchema, history: &ParsedSchema, how: TypeMatch) -> Vec<Difference> {
    let mut out = Vec::new();
    let theirs: BTreeMap<String, &ParsedTable> =
        history.tables.iter().map(|t| (table_key(t), t)).collect();
    let ours: BTreeSet<String> = file.tables.iter().map(table_key).collect();
    for t in &file.tables {
        let key = table_key(t);
        let Some(h) = theirs.get(&key) else {
            out.push(Difference {
                table: key.clone(),
                column: None,
                message: format!("table `{key}` is in the file, but no migration creates it"),
                loc: Some(t.loc),
            });
            continue;
        };
        if primary_key(t) != primary_key(h) {
            out.push(Difference {
                table: key.clone(),
                column: None,
                message: format!(
                    "table `{key}` has the primary key ({}) in the file, ({}) from the migrations",
                    primary_key(t).join(", "),
                    primary_key(h).join(", ")
                ),
                loc: Some(t.loc),
            });
        }
        let hcols: BTreeMap<&str, &ParsedColumn> = h
            .columns
            .iter()
            .map(|c| (c.rust_name.as_str(), c))
            .collect();
        for c in &t.columns {
            match hcols.get(c.rust_name.as_str()) {
                None => out.push(Difference {
                    table: key.clone(),
                    column: Some(c.rust_name.clone()),
                    message: format!(
                        "column `{key}.{}` is in the file, but the migrations do not create it",
                        c.rust_name
                    ),
                    loc: Some(c.loc),
                }),
                Some(hc) if !same_type(c, hc, how) => out.push(Difference {
                    table: key.clone(),
                    column: Some(c.rust_name.clone()),
                    message: format!(
                        "column `{key}.{}` is `{}` in the file, `{}` from the migrations",
                        c.rust_name,
                        type_text(c),
                        type_text(hc)
                    ),
                    loc: Some(c.ty.loc),
                }),
                Some(_) => {}
            }
        }
        let fcols: BTreeSet<&str> = t.columns.iter().map(|c| c.rust_name.as_str()).collect();
        for hc in &h.columns {
            if !fcols.contains(hc.rust_name.as_str()) {
                out.push(Difference {
                    table: key.clone(),
                    column: Some(hc.rust_name.clone()),
                    message: format!(
                        "column `{key}.{}` (`{}`) is created by the migrations, but is not in the file",
                        hc.rust_name,
                        type_text(hc)
                    ),
                    loc: Some(t.loc),
                });
            }
        }
    }
    for h in &history.tables {
        let key = table_key(h);
        if !ours.contains(&key) {
            out.push(Difference {
                table: key.clone(),
                column: None,
                message: format!(
                    "table `{key}` is created by the migrations, but is not in the file"
                ),
                loc: None,
            });
        }
    }
    let joins = |s: &ParsedSchema| -> BTreeSet<(String, String, String)> {
        s.joinables
            .iter()
            .map(|j| (j.child.clone(), j.parent.clone(), j.column.clone()))
            .collect()
    };
    let (fj, hj) = (joins(file), joins(history));
    for (child, parent, column) in fj.difference(&hj) {
        out.push(Difference {
            table: child.clone(),
            column: Some(column.clone()),
            message: format!(
                "`joinable!({child} -> {parent} ({column}))` is in the file, but the migrations create no such foreign key"
            ),
            loc: file
                .joinables
                .iter()
                .find(|j| j.child == *child && j.column == *column)
                .map(|j| j.loc),
        });
    }
    for (child, parent, column) in hj.difference(&fj) {
        out.push(Difference {
            table: child.clone(),
            column: Some(column.clone()),
            message: format!(
                "the migrations create the foreign key `joinable!({child} -> {parent} ({column}))`, which is not in the file"
            ),
            loc: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::parse::parse;
    use std::path::Path;

    fn schema(text: &str) -> ParsedSchema {
        parse(text, Path::new("schema.rs")).unwrap()
    }

    const SQLITE: &str = "diesel::table! {\n    users (id) {\n        id -> Integer,\n        name -> Text,\n        bio -> Nullable<Text>,\n    }\n}\n";
    const PG: &str = "diesel::table! {\n    users (id) {\n        id -> Int4,\n        name -> Varchar,\n        bio -> Nullable<Text>,\n    }\n}\n";

    #[test]
    fn equivalent_types_are_the_same_rust_type() {
        assert!(differences(&schema(SQLITE), &schema(PG), TypeMatch::RustType).is_empty());
        let exact = differences(&schema(SQLITE), &schema(PG), TypeMatch::Exact);
        assert_eq!(exact.len(), 2);
        assert_eq!(exact[0].column.as_deref(), Some("id"));
        assert_eq!(
            exact[0].message,
            "column `users.id` is `Integer` in the file, `Int4` from the migrations"
        );
    }

    #[test]
    fn real_differences_name_table_and_column() {
        let other = PG
            .replace("bio -> Nullable<Text>", "bio -> Text")
            .replace("        name -> Varchar,\n", "");
        let d = differences(&schema(SQLITE), &schema(&other), TypeMatch::RustType);
        let msgs: Vec<_> = d.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "column `users.name` is in the file, but the migrations do not create it",
                "column `users.bio` is `Nullable<Text>` in the file, `Text` from the migrations",
            ]
        );
        let extra = format!(
            "{SQLITE}\ndiesel::table! {{\n    tags (id) {{\n        id -> Integer,\n    }}\n}}\n"
        );
        let d = differences(&schema(SQLITE), &schema(&extra), TypeMatch::RustType);
        assert_eq!(d[0].table, "tags");
        assert!(d[0]
            .message
            .contains("created by the migrations, but is not in the file"));
    }
}
