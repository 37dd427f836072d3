//! `prefer-text-over-char`: a PostgreSQL column of type `CHAR(n)` / `CHARACTER(n)` (or plain
//! `CHAR`, which is `CHAR(1)`) in a new table, an added column or a type change.
//!
//! `char(n)` pads every value with spaces to `n` characters, strips them again in some
//! comparisons and not in others (`LIKE`, `||`, casts to `text`), and is no faster than `text`
//! in PostgreSQL: the padding only costs space. A longer value is an error, a shorter one comes
//! back padded into Rust strings. No lock is involved: this is about the schema, not about
//! running the migration.
//!
//! Not reported: `VARCHAR(n)` / `CHARACTER VARYING(n)`, and the internal one-byte type
//! `"char"` (quoted).
//!
//! Safe pattern: `TEXT` (or `VARCHAR(n)`), with `CHECK (char_length(col) = n)` when the length
//! is fixed.

use crate::lint::config::Level;
use crate::lint::model::type_key;

use super::{Finding, Rule, RuleInfo, StmtCx, POSTGRES};

pub const ID: &str = "prefer-text-over-char";

pub struct PreferTextOverChar;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: POSTGRES,
    summary: "CHAR(n) column, which pads values with spaces, where TEXT or VARCHAR does not",
    on_down: false,
};

/// `char`, `char(3)`, `character(3)`, arrays of them; not `"char"`.
pub fn is_char(ty: &str) -> bool {
    matches!(type_key(ty).as_str(), "char" | "character") && !ty.trim_start().starts_with('"')
}

impl Rule for PreferTextOverChar {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        for (name, ty, at) in cx.typed_columns() {
            if !is_char(ty) {
                continue;
            }
            out.push(cx.finding(
                ID,
                at,
                format!(
                    "column `{name}` is {}: values are padded with spaces to its length",
                    ty.to_uppercase()
                ),
                "use TEXT or VARCHAR(n); for a fixed length, add `CHECK (char_length(col) = n)`",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{is_char, ID};
    use crate::lint::testing::{at, lint_errors, Case};

    #[test]
    fn recognises_the_spellings() {
        for ty in ["char", "char(2)", "character(3)", "char(2)[]"] {
            assert!(is_char(ty), "{ty}");
        }
        for ty in [
            "varchar(2)",
            "character varying(3)",
            "char varying",
            "\"char\"",
            "text",
        ] {
            assert!(!is_char(ty), "{ty}");
        }
    }

    #[test]
    fn fires_on_char_columns() {
        let d = Case::pg("CREATE TABLE countries (code CHAR(2) PRIMARY KEY);").fires(ID);
        assert_eq!(at(&d[0]), (1, 30));
        Case::pg("ALTER TABLE countries ADD COLUMN iso3 character(3);").fires(ID);
        Case::pg("ALTER TABLE countries ALTER COLUMN code TYPE char(2);").fires(ID);
    }

    #[test]
    fn quiet_on_text_varchar_or_allowed() {
        Case::pg("CREATE TABLE countries (code VARCHAR(2), name TEXT, flag \"char\");").quiet(ID);
        Case::pg("-- cargo-migrate: allow(prefer-text-over-char): legacy export format\nCREATE TABLE countries (code CHAR(2));")
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors(
            "CREATE TABLE countries (code CHAR(2) NOT NULL);",
            ID
        ));
    }
}
