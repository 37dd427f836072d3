//! What a statement does, in the terms the rules care about.
//!
//! Each statement is parsed on its own with sqlparser (from the tokens the splitter already
//! produced, so locations stay absolute in the file). The syntax tree is reduced to a short
//! list of [`Action`]s: "adds column `c` to `t`", "creates an index on `t` without
//! CONCURRENTLY", "drops type `mood`". Statements sqlparser cannot parse (`DO $$…$$`,
//! `DROP INDEX CONCURRENTLY`, `PRAGMA`, `REINDEX` and more) are read from their leading
//! keywords instead, so the rules that matter still see them; anything else becomes
//! [`Action::Other`] and the statement is marked as not understood.
//!
//! Names are folded to lower case and stripped of schema qualifiers: migrations within one set
//! rarely use two schemas, and all three backends compare unquoted names case-insensitively.

use sqlparser::ast::{
    self, AlterColumnOperation, AlterTableOperation, AlterTypeOperation, ColumnOption, DataType,
    Expr, FromTable, ObjectName, ObjectNamePart, ObjectType, TableConstraint, TableFactor,
    UserDefinedTypeRepresentation,
};
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::backend::Backend;

use crate::sql::{dialect, is_word, keyword, Pos, SplitFile, Statement};

/// A column as defined by CREATE TABLE, ADD COLUMN or MySQL MODIFY/CHANGE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Column {
    pub name: String,
    /// The type as written, lower case (`varchar(20)`, `mood`, `enum('a','b')`).
    pub ty: String,
    /// MySQL inline `ENUM(...)` values, in order.
    pub enum_values: Option<Vec<String>>,
    pub not_null: bool,
    pub primary_key: bool,
    pub unique: bool,
    pub references: bool,
    /// `GENERATED … AS (expr)`, `AS (expr)` or an identity column.
    pub generated: bool,
    /// A generated column whose value is stored (`AS (expr) STORED`).
    pub stored: bool,
    pub default: Option<DefaultExpr>,
}

impl Column {
    /// The type's name without modifiers, array brackets, quotes or schema (`mood` for
    /// `public."mood"[]`), for looking up user-defined types.
    pub fn type_key(&self) -> String {
        type_key(&self.ty)
    }
}

/// The bare name of a type string.
pub fn type_key(ty: &str) -> String {
    let t = ty.trim().trim_end_matches("[]");
    let t = t.split('(').next().unwrap_or(t);
    let t = t.rsplit('.').next().unwrap_or(t);
    t.trim_matches(|c| c == '"' || c == '`').trim().to_string()
}

/// A column default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultExpr {
    /// The expression as written, lower case.
    pub text: String,
    /// `DEFAULT NULL`.
    pub is_null: bool,
    /// A literal (string, number, boolean, optionally signed). SQLite accepts only these,
    /// plus NULL, when adding a column.
    pub constant: bool,
}

/// Kinds of table constraints the rules distinguish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    ForeignKey,
    Check,
    Unique,
    PrimaryKey,
    /// UNIQUE / PRIMARY KEY built from an existing index (`USING INDEX`): no index build.
    UsingIndex,
    Other,
}

/// Whether a transaction statement opens or ends a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
    Begin,
    Commit,
    Rollback,
}

/// One thing a statement does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    CreateTable {
        table: String,
        columns: Vec<Column>,
    },
    DropTable {
        table: String,
        cascade: bool,
        if_exists: bool,
    },
    RenameTable {
        from: String,
        to: String,
    },
    AddColumn {
        table: String,
        column: Column,
    },
    DropColumn {
        table: String,
        column: String,
    },
    RenameColumn {
        table: String,
        from: String,
        to: String,
    },
    /// PostgreSQL `ALTER COLUMN … TYPE`.
    AlterColumnType {
        table: String,
        column: String,
        ty: String,
        using: bool,
    },
    SetNotNull {
        table: String,
        column: String,
    },
    /// MySQL `MODIFY` (old == new name) and `CHANGE`.
    ModifyColumn {
        table: String,
        old: String,
        column: Column,
    },
    AddConstraint {
        table: String,
        name: Option<String>,
        kind: ConstraintKind,
        not_valid: bool,
        /// For `CHECK (col IS NOT NULL)`: the column.
        not_null_check: Option<String>,
    },
    ValidateConstraint {
        table: String,
        name: String,
    },
    CreateIndex {
        table: String,
        name: Option<String>,
        concurrently: bool,
    },
    DropIndex {
        name: String,
        concurrently: bool,
    },
    Reindex {
        concurrently: bool,
    },
    CreateEnum {
        name: String,
        labels: Vec<String>,
    },
    EnumAddValue {
        name: String,
        value: String,
    },
    EnumRenameValue {
        name: String,
        from: String,
        to: String,
    },
    RenameType {
        from: String,
        to: String,
    },
    DropType {
        name: String,
        cascade: bool,
    },
    Update {
        table: String,
        has_where: bool,
    },
    Delete {
        table: String,
        has_where: bool,
    },
    /// `INSERT` (also MySQL `REPLACE` and `LOAD DATA`) into `table`, or the rows a
    /// `CREATE TABLE … AS SELECT` fills its new table with. `reads` are the tables named in the
    /// FROM clauses of its query (and of its subqueries in FROM and WITH).
    Insert {
        table: String,
        reads: Vec<String>,
    },
    /// `TRUNCATE` of one table.
    Truncate {
        table: String,
        cascade: bool,
    },
    /// `DROP SCHEMA` of one schema.
    DropSchema {
        name: String,
        cascade: bool,
    },
    /// PostgreSQL `VACUUM` (`full`: `VACUUM FULL` or `VACUUM (FULL)`), of one table or, with
    /// `table` `None`, of the whole database.
    Vacuum {
        full: bool,
        table: Option<String>,
    },
    /// PostgreSQL `CLUSTER` of one table, or of every table clustered before (`None`).
    Cluster {
        table: Option<String>,
    },
    /// `SET [SESSION | LOCAL] name …`: a run-time setting (`lock_timeout`), lower case.
    SetSetting {
        name: String,
        local: bool,
    },
    Transaction(TxKind),
    Pragma {
        name: String,
        value: Option<String>,
    },
    /// Anything else (SELECT, CREATE FUNCTION, DO, …).
    Other,
}

/// An action and where it is best pointed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Act {
    pub action: Action,
    /// A precise position (a column name, a keyword), when one is known.
    pub at: Option<(Pos, usize)>,
}

/// Everything known about one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub actions: Vec<Act>,
    /// sqlparser parsed the statement completely.
    pub parsed: bool,
    /// The statement was understood, by the parser or by its keywords.
    pub understood: bool,
    /// The parser's message when it failed.
    pub parse_error: Option<String>,
}

impl Facts {
    pub fn iter(&self) -> impl Iterator<Item = &Action> {
        self.actions.iter().map(|a| &a.action)
    }
}

/// Read one statement of a split file.
pub fn facts(file: &SplitFile<'_>, stmt: &Statement, backend: Backend) -> Facts {
    {
        let sig: Vec<&TokenWithSpan> = file.significant(stmt).collect();
        if let Some(actions) = by_keywords_first(&sig) {
            return Facts {
                actions,
                parsed: false,
                understood: true,
                parse_error: None,
            };
        }
    }
    let tokens: Vec<TokenWithSpan> = file.tokens[stmt.tokens.clone()].to_vec();
    let d = dialect(backend);
    let mut parser = Parser::new(d).with_tokens_with_locations(tokens);
    let parsed = match parser.parse_statement() {
        Ok(ast) if matches!(parser.peek_token_ref().token, Token::EOF | Token::SemiColon) => {
            Ok(ast)
        }
        Ok(_) => Err(format!(
            "unexpected {} after the end of the statement",
            parser.peek_token_ref().token
        )),
        Err(e) => Err(e.to_string()),
    };
    match parsed {
        Ok(ast) => {
            let actions = from_ast(&ast, backend);
            Facts {
                actions,
                parsed: true,
                understood: true,
                parse_error: None,
            }
        }
        Err(message) => {
            let sig: Vec<&TokenWithSpan> = file.significant(stmt).collect();
            let (actions, understood) = from_tokens(&sig);
            Facts {
                actions,
                parsed: false,
                understood,
                parse_error: Some(message),
            }
        }
    }
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

/// Last part of an object name, lower case.
pub fn object_name(n: &ObjectName) -> String {
    match n.0.last() {
        Some(ObjectNamePart::Identifier(id)) => lower(&id.value),
        Some(other) => lower(&other.to_string()),
        None => String::new(),
    }
}

fn ident_at(id: &ast::Ident) -> Option<(Pos, usize)> {
    let s = id.span.start;
    if s.line == 0 {
        return None;
    }
    let e = id.span.end;
    let width = if e.line == s.line {
        (e.column.saturating_sub(s.column)) as usize
    } else {
        1
    };
    Some((Pos::new(s.line as usize, s.column as usize), width.max(1)))
}

fn name_at(n: &ObjectName) -> Option<(Pos, usize)> {
    match n.0.last() {
        Some(ObjectNamePart::Identifier(id)) => ident_at(id),
        _ => None,
    }
}

fn token_at(t: &TokenWithSpan) -> Option<(Pos, usize)> {
    let s = t.span.start;
    let e = t.span.end;
    let width = if e.line == s.line {
        (e.column.saturating_sub(s.column)) as usize
    } else {
        1
    };
    Some((Pos::new(s.line as usize, s.column as usize), width.max(1)))
}

/// A default the database stores as a constant: a literal, optionally signed or in
/// parentheses. SQLite also reads a lone identifier after `DEFAULT`, bare or double-quoted, as
/// a string literal (`DEFAULT ""`, `DEFAULT active`), except the `CURRENT_*` keywords.
fn is_constant(e: &Expr, backend: Backend) -> bool {
    match e {
        Expr::Value(_) => true,
        Expr::UnaryOp { expr, .. } | Expr::Nested(expr) => is_constant(expr, backend),
        Expr::Identifier(id) if backend.reads_default_identifier_as_string() => {
            id.quote_style.is_some()
                || !matches!(
                    lower(&id.value).as_str(),
                    "current_timestamp" | "current_date" | "current_time"
                )
        }
        _ => false,
    }
}

fn is_null_expr(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if matches!(v.value, ast::Value::Null))
}

fn data_type_text(dt: &DataType) -> String {
    lower(&dt.to_string())
}

fn enum_values(dt: &DataType) -> Option<Vec<String>> {
    match dt {
        DataType::Enum(members, _) => Some(
            members
                .iter()
                .map(|m| match m {
                    ast::EnumMember::Name(n) => n.clone(),
                    ast::EnumMember::NamedValue(n, _) => n.clone(),
                })
                .collect(),
        ),
        _ => None,
    }
}

fn apply_option(col: &mut Column, opt: &ColumnOption, backend: Backend) {
    match opt {
        ColumnOption::NotNull => col.not_null = true,
        ColumnOption::Null => col.not_null = false,
        ColumnOption::Default(e) => {
            col.default = Some(DefaultExpr {
                text: lower(&e.to_string()),
                is_null: is_null_expr(e),
                constant: is_constant(e, backend),
            })
        }
        ColumnOption::PrimaryKey(_) => {
            col.primary_key = true;
            col.not_null = true;
        }
        ColumnOption::Unique(_) => col.unique = true,
        ColumnOption::ForeignKey(_) => col.references = true,
        ColumnOption::Generated {
            generation_expr_mode,
            ..
        } => {
            col.generated = true;
            col.stored = matches!(
                generation_expr_mode,
                Some(ast::GeneratedExpressionMode::Stored)
            );
        }
        ColumnOption::Identity(_) => col.generated = true,
        _ => {}
    }
}

fn column_from(
    name: &ast::Ident,
    dt: &DataType,
    opts: &mut dyn Iterator<Item = &ColumnOption>,
    backend: Backend,
) -> Column {
    let mut col = Column {
        name: lower(&name.value),
        ty: data_type_text(dt),
        enum_values: enum_values(dt),
        ..Column::default()
    };
    for o in opts {
        apply_option(&mut col, o, backend);
    }
    col
}

fn column_def(c: &ast::ColumnDef, backend: Backend) -> Column {
    column_from(
        &c.name,
        &c.data_type,
        &mut c.options.iter().map(|o| &o.option),
        backend,
    )
}

/// `col IS NOT NULL` as a check expression: the column.
fn not_null_check(e: &Expr) -> Option<String> {
    match e {
        Expr::IsNotNull(inner) => match &**inner {
            Expr::Identifier(id) => Some(lower(&id.value)),
            Expr::CompoundIdentifier(ids) => ids.last().map(|i| lower(&i.value)),
            _ => None,
        },
        Expr::Nested(inner) => not_null_check(inner),
        _ => None,
    }
}

fn constraint(c: &TableConstraint) -> (ConstraintKind, Option<String>, Option<String>) {
    match c {
        TableConstraint::ForeignKey(fk) => (
            ConstraintKind::ForeignKey,
            fk.name.as_ref().map(|n| lower(&n.value)),
            None,
        ),
        TableConstraint::Check(ck) => (
            ConstraintKind::Check,
            ck.name.as_ref().map(|n| lower(&n.value)),
            not_null_check(&ck.expr),
        ),
        TableConstraint::Unique(u) => (
            ConstraintKind::Unique,
            u.name.as_ref().map(|n| lower(&n.value)),
            None,
        ),
        TableConstraint::PrimaryKey(p) => (
            ConstraintKind::PrimaryKey,
            p.name.as_ref().map(|n| lower(&n.value)),
            None,
        ),
        TableConstraint::PrimaryKeyUsingIndex(_) | TableConstraint::UniqueUsingIndex(_) => {
            (ConstraintKind::UsingIndex, None, None)
        }
        _ => (ConstraintKind::Other, None, None),
    }
}

/// The tables a query reads in its FROM clauses, including derived tables, set operations
/// and WITH queries (subqueries elsewhere, as in WHERE, are not followed).
fn query_reads(q: &ast::Query, out: &mut Vec<String>) {
    if let Some(with) = &q.with {
        for cte in &with.cte_tables {
            query_reads(&cte.query, out);
        }
    }
    set_expr_reads(&q.body, out);
}

fn set_expr_reads(e: &ast::SetExpr, out: &mut Vec<String>) {
    match e {
        ast::SetExpr::Select(s) => {
            for twj in &s.from {
                joins_reads(twj, out);
            }
        }
        ast::SetExpr::Query(q) => query_reads(q, out),
        ast::SetExpr::SetOperation { left, right, .. } => {
            set_expr_reads(left, out);
            set_expr_reads(right, out);
        }
        ast::SetExpr::Table(t) => {
            if let Some(name) = &t.table_name {
                out.push(lower(name));
            }
        }
        _ => {}
    }
}

fn joins_reads(twj: &ast::TableWithJoins, out: &mut Vec<String>) {
    factor_reads(&twj.relation, out);
    for j in &twj.joins {
        factor_reads(&j.relation, out);
    }
}

fn factor_reads(f: &TableFactor, out: &mut Vec<String>) {
    match f {
        TableFactor::Table { name, .. } => out.push(object_name(name)),
        TableFactor::Derived { subquery, .. } => query_reads(subquery, out),
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => joins_reads(table_with_joins, out),
        _ => {}
    }
}

fn relation_name(f: &TableFactor) -> String {
    match f {
        TableFactor::Table { name, .. } => object_name(name),
        _ => String::new(),
    }
}

fn from_ast(stmt: &ast::Statement, backend: Backend) -> Vec<Act> {
    use ast::Statement as S;
    // Statement-level actions point at the statement's head, which the rules compute.
    let head = None;
    let mut out = Vec::new();
    let mut push = |action: Action, at: Option<(Pos, usize)>| out.push(Act { action, at });
    match stmt {
        S::CreateTable(ct) => {
            let table = object_name(&ct.name);
            push(
                Action::CreateTable {
                    table: table.clone(),
                    columns: ct.columns.iter().map(|c| column_def(c, backend)).collect(),
                },
                name_at(&ct.name),
            );
            if let Some(q) = &ct.query {
                let mut reads = Vec::new();
                query_reads(q, &mut reads);
                push(Action::Insert { table, reads }, head);
            }
        }
        S::Insert(ins) => {
            let table = match &ins.table {
                ast::TableObject::TableName(n) => object_name(n),
                _ => String::new(),
            };
            let mut reads = Vec::new();
            if let Some(q) = &ins.source {
                query_reads(q, &mut reads);
            }
            push(Action::Insert { table, reads }, head)
        }
        S::AlterTable(at) => {
            let table = object_name(&at.name);
            for op in &at.operations {
                alter_op(&table, op, backend, &mut push);
            }
        }
        S::CreateIndex(ci) => push(
            Action::CreateIndex {
                table: object_name(&ci.table_name),
                name: ci.name.as_ref().map(object_name),
                concurrently: ci.concurrently,
            },
            head,
        ),
        S::Drop {
            object_type,
            names,
            cascade,
            if_exists,
            ..
        } => {
            for n in names {
                let at = name_at(n);
                let name = object_name(n);
                match object_type {
                    ObjectType::Table => push(
                        Action::DropTable {
                            table: name,
                            cascade: *cascade,
                            if_exists: *if_exists,
                        },
                        at,
                    ),
                    ObjectType::Index => push(
                        Action::DropIndex {
                            name,
                            concurrently: false,
                        },
                        at,
                    ),
                    ObjectType::Schema => push(
                        Action::DropSchema {
                            name,
                            cascade: *cascade,
                        },
                        at,
                    ),
                    ObjectType::Type => push(
                        Action::DropType {
                            name,
                            cascade: *cascade,
                        },
                        at,
                    ),
                    _ => push(Action::Other, head),
                }
            }
        }
        S::CreateType {
            name,
            representation: Some(UserDefinedTypeRepresentation::Enum { labels }),
        } => push(
            Action::CreateEnum {
                name: object_name(name),
                labels: labels.iter().map(|l| l.value.clone()).collect(),
            },
            name_at(name),
        ),
        S::AlterType(at) => {
            let name = object_name(&at.name);
            match &at.operation {
                AlterTypeOperation::AddValue(v) => push(
                    Action::EnumAddValue {
                        name,
                        value: v.value.value.clone(),
                    },
                    ident_at(&v.value),
                ),
                AlterTypeOperation::RenameValue(v) => push(
                    Action::EnumRenameValue {
                        name,
                        from: v.from.value.clone(),
                        to: v.to.value.clone(),
                    },
                    ident_at(&v.from),
                ),
                AlterTypeOperation::Rename(r) => push(
                    Action::RenameType {
                        from: name,
                        to: lower(&r.new_name.value),
                    },
                    head,
                ),
            }
        }
        S::Update(u) => push(
            Action::Update {
                table: relation_name(&u.table.relation),
                has_where: u.selection.is_some(),
            },
            head,
        ),
        S::Delete(d) => {
            let table = match (&d.tables.first(), &d.from) {
                (Some(n), _) => object_name(n),
                (None, FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t)) => t
                    .first()
                    .map(|t| relation_name(&t.relation))
                    .unwrap_or_default(),
            };
            push(
                Action::Delete {
                    table,
                    has_where: d.selection.is_some(),
                },
                head,
            )
        }
        S::Truncate(t) => {
            let cascade = matches!(t.cascade, Some(ast::CascadeOption::Cascade));
            for target in &t.table_names {
                push(
                    Action::Truncate {
                        table: object_name(&target.name),
                        cascade,
                    },
                    name_at(&target.name),
                )
            }
        }
        S::StartTransaction { statements, .. } if statements.is_empty() => {
            push(Action::Transaction(TxKind::Begin), head)
        }
        S::Commit { .. } => push(Action::Transaction(TxKind::Commit), head),
        S::Rollback {
            savepoint: None, ..
        } => push(Action::Transaction(TxKind::Rollback), head),
        S::RenameTable(renames) => {
            for r in renames {
                push(
                    Action::RenameTable {
                        from: object_name(&r.old_name),
                        to: object_name(&r.new_name),
                    },
                    name_at(&r.old_name),
                )
            }
        }
        S::Pragma { name, value, .. } => push(
            Action::Pragma {
                name: object_name(name),
                value: value
                    .as_ref()
                    .map(|v| lower(&v.to_string()).trim_matches('\'').to_string()),
            },
            head,
        ),
        _ => push(Action::Other, head),
    }
    out
}

fn alter_op(
    table: &str,
    op: &AlterTableOperation,
    backend: Backend,
    push: &mut dyn FnMut(Action, Option<(Pos, usize)>),
) {
    let table = table.to_string();
    match op {
        AlterTableOperation::AddColumn { column_def: c, .. } => push(
            Action::AddColumn {
                table,
                column: column_def(c, backend),
            },
            ident_at(&c.name),
        ),
        AlterTableOperation::DropColumn { column_names, .. } => {
            for c in column_names {
                push(
                    Action::DropColumn {
                        table: table.clone(),
                        column: lower(&c.value),
                    },
                    ident_at(c),
                )
            }
        }
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => push(
            Action::RenameColumn {
                table,
                from: lower(&old_column_name.value),
                to: lower(&new_column_name.value),
            },
            ident_at(old_column_name),
        ),
        AlterTableOperation::RenameTable { table_name } => {
            let to = match table_name {
                ast::RenameTableNameKind::As(n) | ast::RenameTableNameKind::To(n) => object_name(n),
            };
            push(Action::RenameTable { from: table, to }, None)
        }
        AlterTableOperation::AlterColumn { column_name, op } => {
            let column = lower(&column_name.value);
            match op {
                AlterColumnOperation::SetNotNull => {
                    push(Action::SetNotNull { table, column }, ident_at(column_name))
                }
                AlterColumnOperation::SetDataType {
                    data_type, using, ..
                } => push(
                    Action::AlterColumnType {
                        table,
                        column,
                        ty: data_type_text(data_type),
                        using: using.is_some(),
                    },
                    ident_at(column_name),
                ),
                _ => push(Action::Other, None),
            }
        }
        AlterTableOperation::ModifyColumn {
            col_name,
            data_type,
            options,
            ..
        } => {
            let column = column_from(col_name, data_type, &mut options.iter(), backend);
            push(
                Action::ModifyColumn {
                    table,
                    old: lower(&col_name.value),
                    column,
                },
                ident_at(col_name),
            )
        }
        AlterTableOperation::ChangeColumn {
            old_name,
            new_name,
            data_type,
            options,
            ..
        } => {
            let column = column_from(new_name, data_type, &mut options.iter(), backend);
            push(
                Action::ModifyColumn {
                    table,
                    old: lower(&old_name.value),
                    column,
                },
                ident_at(old_name),
            )
        }
        AlterTableOperation::AddConstraint {
            constraint: c,
            not_valid,
        } => {
            let (kind, name, not_null_check) = constraint(c);
            push(
                Action::AddConstraint {
                    table,
                    name,
                    kind,
                    not_valid: *not_valid,
                    not_null_check,
                },
                None,
            )
        }
        AlterTableOperation::ValidateConstraint { name } => push(
            Action::ValidateConstraint {
                table,
                name: lower(&name.value),
            },
            ident_at(name),
        ),
        _ => push(Action::Other, None),
    }
}

/// Unquoted or quoted identifier text of a token, lower case.
fn ident_text(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) => Some(lower(&w.value)),
        Token::DoubleQuotedString(s) => Some(lower(s)),
        _ => None,
    }
}

/// A possibly qualified name starting at `sig[i]`: (name, index after it).
fn name_from(sig: &[&TokenWithSpan], mut i: usize) -> Option<(String, usize)> {
    let mut name = ident_text(&sig.get(i)?.token)?;
    i += 1;
    while matches!(sig.get(i).map(|t| &t.token), Some(Token::Period)) {
        name = ident_text(&sig.get(i + 1)?.token)?;
        i += 2;
    }
    Some((name, i))
}

fn skip_words(sig: &[&TokenWithSpan], mut i: usize, words: &[&str]) -> usize {
    while sig
        .get(i)
        .is_some_and(|t| words.iter().any(|w| is_word(&t.token, w)))
    {
        i += 1;
    }
    i
}

fn string_at(sig: &[&TokenWithSpan], i: usize) -> Option<String> {
    match &sig.get(i)?.token {
        Token::SingleQuotedString(s) => Some(s.clone()),
        Token::EscapedStringLiteral(s) => Some(s.clone()),
        _ => None,
    }
}

/// Statements read from their keywords even when sqlparser parses them, because its syntax
/// tree leaves out what the rules need: PostgreSQL's `VACUUM` (its parser reads Redshift's,
/// not `VACUUM (FULL) t`), `CLUSTER`, and `SET [LOCAL] name`.
fn by_keywords_first(sig: &[&TokenWithSpan]) -> Option<Vec<Act>> {
    let w = |i: usize, word: &str| sig.get(i).is_some_and(|t| is_word(&t.token, word));
    let head = None;
    if w(0, "set") {
        let local = w(1, "local");
        let i = skip_words(sig, 1, &["local", "session"]);
        let (name, _) = name_from(sig, i)?;
        return Some(vec![Act {
            action: Action::SetSetting { name, local },
            at: head,
        }]);
    }
    let vacuum = w(0, "vacuum");
    if !vacuum && !w(0, "cluster") {
        return None;
    }
    let mut full = false;
    let mut i = 1;
    if matches!(sig.get(1).map(|t| &t.token), Some(Token::LParen)) {
        // `VACUUM (FULL, ANALYZE) t`, `VACUUM (FULL true) t`, `CLUSTER (VERBOSE) t`.
        let mut depth = 0usize;
        while let Some(t) = sig.get(i) {
            i += 1;
            match &t.token {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                _ if is_word(&t.token, "full") => {
                    full = !sig.get(i).is_some_and(|n| {
                        is_word(&n.token, "false")
                            || is_word(&n.token, "off")
                            || matches!(&n.token, Token::Number(v, _) if v == "0")
                    })
                }
                _ => {}
            }
        }
    } else {
        full = w(1, "full");
        i = skip_words(sig, 1, &["full", "freeze", "verbose", "analyze", "analyse"]);
    }
    let mut tables = Vec::new();
    let mut j = i;
    while let Some((name, mut next)) = name_from(sig, j) {
        if !vacuum && w(next, "using") {
            tables.push((name, token_at(sig[j])));
            break;
        }
        tables.push((name, token_at(sig[j])));
        // `VACUUM ANALYZE t (a, b)`: skip the column list.
        if matches!(sig.get(next).map(|t| &t.token), Some(Token::LParen)) {
            while sig
                .get(next)
                .is_some_and(|t| !matches!(t.token, Token::RParen))
            {
                next += 1;
            }
            next += 1;
        }
        if matches!(sig.get(next).map(|t| &t.token), Some(Token::Comma)) {
            j = next + 1;
        } else {
            break;
        }
    }
    let make = |table: Option<String>| {
        if vacuum {
            Action::Vacuum { full, table }
        } else {
            Action::Cluster { table }
        }
    };
    if tables.is_empty() {
        return Some(vec![Act {
            action: make(None),
            at: head,
        }]);
    }
    Some(
        tables
            .into_iter()
            .map(|(t, at)| Act {
                action: make(Some(t)),
                at,
            })
            .collect(),
    )
}

/// Read a statement sqlparser could not parse from its leading keywords.
fn from_tokens(sig: &[&TokenWithSpan]) -> (Vec<Act>, bool) {
    let head = None;
    let one = |action: Action, at: Option<(Pos, usize)>| (vec![Act { action, at }], true);
    let w = |i: usize, word: &str| sig.get(i).is_some_and(|t| is_word(&t.token, word));
    let Some(first) = sig.first() else {
        return (vec![], false);
    };
    let k = keyword(&first.token);
    match k {
        Some(Keyword::BEGIN) | Some(Keyword::START)
            if k == Some(Keyword::BEGIN) || w(1, "transaction") =>
        {
            one(Action::Transaction(TxKind::Begin), head)
        }
        Some(Keyword::COMMIT) | Some(Keyword::END) => {
            one(Action::Transaction(TxKind::Commit), head)
        }
        Some(Keyword::ROLLBACK) if !sig.iter().any(|t| is_word(&t.token, "to")) => {
            one(Action::Transaction(TxKind::Rollback), head)
        }
        Some(Keyword::DO) => one(Action::Other, head),
        // MySQL `LOAD DATA [LOCAL] INFILE '…' [REPLACE | IGNORE] INTO TABLE t` (and LOAD XML).
        Some(Keyword::LOAD) if w(1, "data") || w(1, "xml") => {
            let Some(into) = sig.iter().position(|t| is_word(&t.token, "into")) else {
                return one(Action::Other, head);
            };
            let table = name_from(sig, skip_words(sig, into + 1, &["table"]))
                .map(|(n, _)| n)
                .unwrap_or_default();
            one(
                Action::Insert {
                    table,
                    reads: Vec::new(),
                },
                head,
            )
        }
        Some(Keyword::PRAGMA) => {
            let Some((name, i)) = name_from(sig, 1) else {
                return one(Action::Other, head);
            };
            let value = sig[i..]
                .iter()
                .find(|t| !matches!(t.token, Token::Eq | Token::LParen))
                .and_then(|t| match &t.token {
                    Token::Word(w) => Some(lower(&w.value)),
                    Token::Number(n, _) => Some(n.clone()),
                    Token::SingleQuotedString(s) => Some(lower(s)),
                    _ => None,
                });
            one(Action::Pragma { name, value }, head)
        }
        Some(Keyword::REINDEX) => {
            let concurrently = sig.iter().any(|t| is_word(&t.token, "concurrently"));
            one(Action::Reindex { concurrently }, head)
        }
        Some(Keyword::DROP) if w(1, "index") => {
            let concurrently = w(2, "concurrently");
            let i = skip_words(sig, 2, &["concurrently", "if", "exists"]);
            let mut acts = Vec::new();
            let mut j = i;
            while let Some((name, next)) = name_from(sig, j) {
                if matches!(name.as_str(), "cascade" | "restrict") {
                    break;
                }
                acts.push(Act {
                    action: Action::DropIndex { name, concurrently },
                    at: head,
                });
                if matches!(sig.get(next).map(|t| &t.token), Some(Token::Comma)) {
                    j = next + 1;
                } else {
                    break;
                }
            }
            if acts.is_empty() {
                return one(Action::Other, head);
            }
            (acts, true)
        }
        Some(Keyword::CREATE) if w(1, "index") || (w(1, "unique") && w(2, "index")) => {
            let concurrently = sig
                .iter()
                .take(5)
                .any(|t| is_word(&t.token, "concurrently"));
            let on = sig.iter().position(|t| is_word(&t.token, "on"));
            let table = on
                .and_then(|i| name_from(sig, skip_words(sig, i + 1, &["only"])))
                .map(|(n, _)| n)
                .unwrap_or_default();
            one(
                Action::CreateIndex {
                    table,
                    name: None,
                    concurrently,
                },
                head,
            )
        }
        Some(Keyword::ALTER) if w(1, "type") => {
            let Some((name, i)) = name_from(sig, 2) else {
                return one(Action::Other, head);
            };
            if w(i, "add") && w(i + 1, "value") {
                let j = skip_words(sig, i + 2, &["if", "not", "exists"]);
                if let Some(value) = string_at(sig, j) {
                    return one(Action::EnumAddValue { name, value }, token_at(sig[j]));
                }
            } else if w(i, "rename") && w(i + 1, "value") {
                if let (Some(from), Some(to)) = (string_at(sig, i + 2), string_at(sig, i + 4)) {
                    return one(
                        Action::EnumRenameValue { name, from, to },
                        token_at(sig[i + 2]),
                    );
                }
            } else if w(i, "rename") && w(i + 1, "to") {
                if let Some((to, _)) = name_from(sig, i + 2) {
                    return one(Action::RenameType { from: name, to }, head);
                }
            }
            (
                vec![Act {
                    action: Action::Other,
                    at: head,
                }],
                false,
            )
        }
        Some(Keyword::DROP) if w(1, "table") || w(1, "type") => {
            let table = w(1, "table");
            let cascade = sig.iter().any(|t| is_word(&t.token, "cascade"));
            let if_exists = w(2, "if") && w(3, "exists");
            let mut j = skip_words(sig, 2, &["if", "exists"]);
            let mut acts = Vec::new();
            while let Some((name, next)) = name_from(sig, j) {
                if matches!(name.as_str(), "cascade" | "restrict") {
                    break;
                }
                let action = if table {
                    Action::DropTable {
                        table: name,
                        cascade,
                        if_exists,
                    }
                } else {
                    Action::DropType { name, cascade }
                };
                acts.push(Act {
                    action,
                    at: token_at(sig[j]),
                });
                if matches!(sig.get(next).map(|t| &t.token), Some(Token::Comma)) {
                    j = next + 1;
                } else {
                    break;
                }
            }
            let understood = !acts.is_empty();
            if acts.is_empty() {
                acts.push(Act {
                    action: Action::Other,
                    at: head,
                });
            }
            (acts, understood)
        }
        Some(Keyword::UPDATE) => {
            let j = skip_words(sig, 1, &["only", "low_priority", "ignore"]);
            let table = name_from(sig, j).map(|(n, _)| n).unwrap_or_default();
            let has_where = sig
                .iter()
                .any(|t| keyword(&t.token) == Some(Keyword::WHERE));
            one(Action::Update { table, has_where }, head)
        }
        Some(Keyword::DELETE) => {
            let j = skip_words(sig, 1, &["low_priority", "quick", "ignore", "from", "only"]);
            let table = name_from(sig, j).map(|(n, _)| n).unwrap_or_default();
            let has_where = sig
                .iter()
                .any(|t| keyword(&t.token) == Some(Keyword::WHERE));
            one(Action::Delete { table, has_where }, head)
        }
        _ => (
            vec![Act {
                action: Action::Other,
                at: head,
            }],
            false,
        ),
    }
}

/// The table an `ALTER TABLE [IF EXISTS] [ONLY] name …` statement alters; `None` for any
/// other statement.
pub fn altered_table(file: &SplitFile<'_>, stmt: &Statement) -> Option<String> {
    let sig: Vec<&TokenWithSpan> = file.significant(stmt).collect();
    let w = |i: usize, word: &str| sig.get(i).is_some_and(|t| is_word(&t.token, word));
    if !(w(0, "alter") && w(1, "table")) {
        return None;
    }
    let i = skip_words(&sig, 2, &["if", "exists", "only"]);
    name_from(&sig, i).map(|(n, _)| n)
}

/// Whether some statement of `sql` (an `init-sql` entry) is `SET [SESSION | LOCAL] setting …`.
pub fn sets_setting(sql: &str, backend: Backend, setting: &str) -> bool {
    let Ok(file) = crate::sql::split(sql, backend) else {
        return false;
    };
    file.statements.iter().any(|st| {
        facts(&file, st, backend)
            .iter()
            .any(|a| matches!(a, Action::SetSetting { name, .. } if name == setting))
    })
}

/// The significant tokens of a statement that are string literals equal to `value`.
pub fn string_literals<'f>(
    file: &'f SplitFile<'_>,
    stmt: &Statement,
    value: &'f str,
) -> impl Iterator<Item = &'f TokenWithSpan> + 'f {
    let range = stmt.tokens.clone();
    file.tokens[range].iter().filter(move |t| match &t.token {
        Token::SingleQuotedString(s) | Token::EscapedStringLiteral(s) => s == value,
        _ => false,
    })
}

/// Position and width of a token.
pub fn token_pos(t: &TokenWithSpan) -> (Pos, usize) {
    token_at(t).unwrap_or((Pos::new(1, 1), 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::split;

    fn acts(sql: &str, backend: Backend) -> Vec<Facts> {
        let f = split(sql, backend).unwrap();
        f.statements.iter().map(|s| facts(&f, s, backend)).collect()
    }

    #[test]
    fn ast_actions_for_common_ddl() {
        let f = acts(
            "CREATE TABLE Users (id INT PRIMARY KEY, email TEXT NOT NULL DEFAULT '');\n\
             ALTER TABLE public.users ADD COLUMN age INT NOT NULL, DROP COLUMN email;\n\
             CREATE INDEX CONCURRENTLY i ON users (age);",
            Backend::Postgres,
        );
        assert!(f.iter().all(|f| f.parsed));
        match &f[0].actions[0].action {
            Action::CreateTable { table, columns } => {
                assert_eq!(table, "users");
                assert!(columns[0].primary_key && columns[1].not_null);
                assert_eq!(columns[1].default.as_ref().map(|d| d.constant), Some(true));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&f[1].actions[0].action, Action::AddColumn { table, column } if table == "users" && column.not_null && column.default.is_none())
        );
        assert!(
            matches!(&f[1].actions[1].action, Action::DropColumn { column, .. } if column == "email")
        );
        assert_eq!(f[1].actions[1].at.map(|a| a.0), Some(Pos::new(2, 67)));
        assert!(matches!(
            &f[2].actions[0].action,
            Action::CreateIndex {
                concurrently: true,
                ..
            }
        ));
    }

    #[test]
    fn keyword_fallback_for_unparsable_statements() {
        let f = acts(
            "DROP INDEX CONCURRENTLY IF EXISTS a, b;\nPRAGMA foreign_keys = OFF;\nDO $$ BEGIN END $$;\nREINDEX INDEX CONCURRENTLY x;",
            Backend::Postgres,
        );
        assert!(!f[0].parsed && f[0].understood);
        assert_eq!(f[0].actions.len(), 2);
        assert!(
            matches!(&f[0].actions[1].action, Action::DropIndex { name, concurrently: true } if name == "b")
        );
        assert!(
            matches!(&f[1].actions[0].action, Action::Pragma { name, value: Some(v) } if name == "foreign_keys" && v == "off")
        );
        assert!(f[2].understood);
        assert!(matches!(
            &f[3].actions[0].action,
            Action::Reindex { concurrently: true }
        ));
    }

    #[test]
    fn enum_and_mysql_column_facts() {
        let f = acts(
            "ALTER TYPE mood ADD VALUE 'meh';\nALTER TYPE mood RENAME TO mood_old;",
            Backend::Postgres,
        );
        assert!(
            matches!(&f[0].actions[0].action, Action::EnumAddValue { name, value } if name == "mood" && value == "meh")
        );
        assert!(
            matches!(&f[1].actions[0].action, Action::RenameType { to, .. } if to == "mood_old")
        );
        let f = acts(
            "ALTER TABLE t MODIFY status ENUM('a','b') NOT NULL",
            Backend::Mysql,
        );
        match &f[0].actions[0].action {
            Action::ModifyColumn { column, .. } => {
                assert_eq!(
                    column.enum_values.as_deref(),
                    Some(&["a".to_string(), "b".to_string()][..])
                );
                assert!(column.not_null);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn inserts_and_the_tables_they_read() {
        let f = acts(
            "INSERT INTO new_t (id) SELECT a.id FROM \"t\" AS a JOIN (SELECT id FROM u) x ON x.id = a.id;\n\
             CREATE TABLE c AS WITH w AS (SELECT * FROM v) SELECT * FROM w UNION SELECT * FROM z;\n\
             DROP TABLE IF EXISTS old, older;\n\
             INSERT INTO logs VALUES (1);",
            Backend::Sqlite,
        );
        assert_eq!(
            f[0].actions[0].action,
            Action::Insert {
                table: "new_t".into(),
                reads: vec!["t".into(), "u".into()]
            }
        );
        assert!(
            matches!(&f[1].actions[0].action, Action::CreateTable { table, .. } if table == "c")
        );
        assert!(
            matches!(&f[1].actions[1].action, Action::Insert { table, reads } if table == "c" && reads == &["v", "w", "z"])
        );
        assert!(f[2].iter().all(|a| matches!(
            a,
            Action::DropTable {
                if_exists: true,
                ..
            }
        )));
        assert!(
            matches!(&f[3].actions[0].action, Action::Insert { reads, .. } if reads.is_empty())
        );
        let f = acts(
            "REPLACE INTO t (a) VALUES (1);\nLOAD DATA LOCAL INFILE 'x.csv' IGNORE INTO TABLE db.t2;",
            Backend::Mysql,
        );
        assert!(matches!(&f[0].actions[0].action, Action::Insert { table, .. } if table == "t"));
        assert!(!f[1].parsed && f[1].understood);
        assert!(matches!(&f[1].actions[0].action, Action::Insert { table, .. } if table == "t2"));
    }

    #[test]
    fn maintenance_settings_truncate_and_schemas() {
        let f = acts(
            "VACUUM (FULL, ANALYZE) public.t, u (a, b);\nVACUUM ANALYZE;\nVACUUM (FULL false) t;\nCLUSTER VERBOSE t USING t_pkey;\nCLUSTER;\nSET LOCAL lock_timeout = '5s';\nset lock_timeout TO '1s';\nTRUNCATE TABLE a, b CASCADE;\nDROP SCHEMA IF EXISTS app CASCADE;",
            Backend::Postgres,
        );
        assert!(f.iter().all(|f| f.understood));
        assert_eq!(
            f[0].iter().collect::<Vec<_>>(),
            vec![
                &Action::Vacuum {
                    full: true,
                    table: Some("t".into())
                },
                &Action::Vacuum {
                    full: true,
                    table: Some("u".into())
                }
            ]
        );
        assert_eq!(
            f[1].actions[0].action,
            Action::Vacuum {
                full: false,
                table: None
            }
        );
        assert_eq!(
            f[2].actions[0].action,
            Action::Vacuum {
                full: false,
                table: Some("t".into())
            }
        );
        assert_eq!(
            f[3].actions[0].action,
            Action::Cluster {
                table: Some("t".into())
            }
        );
        assert_eq!(f[4].actions[0].action, Action::Cluster { table: None });
        assert_eq!(
            f[5].actions[0].action,
            Action::SetSetting {
                name: "lock_timeout".into(),
                local: true
            }
        );
        assert_eq!(
            f[6].actions[0].action,
            Action::SetSetting {
                name: "lock_timeout".into(),
                local: false
            }
        );
        assert_eq!(
            f[7].iter().collect::<Vec<_>>(),
            vec![
                &Action::Truncate {
                    table: "a".into(),
                    cascade: true
                },
                &Action::Truncate {
                    table: "b".into(),
                    cascade: true
                }
            ]
        );
        assert_eq!(
            f[8].actions[0].action,
            Action::DropSchema {
                name: "app".into(),
                cascade: true
            }
        );
    }

    #[test]
    fn altered_tables_and_init_sql_settings() {
        let sql = "ALTER TABLE IF EXISTS ONLY public.Users ADD COLUMN a INT;\nALTER TYPE mood RENAME TO m;";
        let f = split(sql, Backend::Postgres).unwrap();
        assert_eq!(
            altered_table(&f, &f.statements[0]).as_deref(),
            Some("users")
        );
        assert_eq!(altered_table(&f, &f.statements[1]), None);
        assert!(sets_setting(
            "SET search_path = app; SET lock_timeout = '5s'",
            Backend::Postgres,
            "lock_timeout"
        ));
        assert!(!sets_setting(
            "SET statement_timeout = '5s'",
            Backend::Postgres,
            "lock_timeout"
        ));
    }

    #[test]
    fn type_keys() {
        assert_eq!(type_key("public.\"mood\"[]"), "mood");
        assert_eq!(type_key("varchar(20)"), "varchar");
    }
}
