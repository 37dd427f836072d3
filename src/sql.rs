//! Splitting a migration file into statements: shared by the linter and the runner (which
//! sends MySQL migrations one statement at a time).
//!
//! Diesel sends a whole `up.sql`/`down.sql` to the database as one batch, so the linter has
//! to find the statement boundaries itself. This module does it on sqlparser's token stream,
//! never with text patterns: a top-level `;` ends a statement, and everything the tokenizer
//! keeps in one token (strings, quoted identifiers, comments, `$$` and `$tag$` bodies) can
//! contain semicolons freely.
//!
//! Trigger, procedure, function and event bodies written with `BEGIN … END` (SQLite and MySQL)
//! contain semicolons of their own. Block depth is tracked only inside statements that start
//! with `CREATE` and name one of those object kinds: `BEGIN` and `CASE` open a block, `END`
//! closes one, and `END IF` / `END LOOP` / `END WHILE` / `END REPEAT` close constructs that were
//! never counted, so they leave the depth alone. A bare `BEGIN;` anywhere else is a
//! transaction statement and is never counted.
//!
//! Each statement keeps the location of its first significant token (not whitespace, not a
//! comment), the location just past its last one, its token range and its byte range in the
//! original text. A tokenizer failure (unterminated string, quoted identifier, dollar quote or
//! block comment) is returned as a [`SplitError`] at the position of the opening quote.

use std::ops::Range;

use sqlparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

use crate::backend::{Backend, Parser};

/// A 1-based line and character column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    pub fn new(line: usize, column: usize) -> Pos {
        Pos { line, column }
    }
}

/// One statement of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Indexes into [`SplitFile::tokens`]: first significant token up to (not including) the
    /// terminating `;` or the end of the file.
    pub tokens: Range<usize>,
    /// Where the first significant token starts.
    pub start: Pos,
    /// Where the last significant token ends (exclusive column).
    pub end: Pos,
    /// Byte range of the statement text in the file, without the terminating `;`.
    pub bytes: Range<usize>,
}

/// A single-line comment (`-- …` or MySQL `# …`), kept for inline suppressions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub pos: Pos,
    /// Comment text without its prefix.
    pub text: String,
    /// True when nothing but whitespace precedes the comment on its line.
    pub own_line: bool,
}

/// A file split into statements.
#[derive(Debug, Clone)]
pub struct SplitFile<'t> {
    pub text: &'t str,
    pub tokens: Vec<TokenWithSpan>,
    pub statements: Vec<Statement>,
    pub comments: Vec<Comment>,
    /// For each line (index = line - 1): whether a significant token starts on it.
    pub code_lines: Vec<bool>,
    line_starts: Vec<usize>,
}

/// The file cannot be tokenized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    pub message: String,
    pub pos: Pos,
}

/// The sqlparser dialect used for a backend.
pub fn dialect(backend: Backend) -> &'static dyn Dialect {
    static PG: PostgreSqlDialect = PostgreSqlDialect {};
    static MY: MySqlDialect = MySqlDialect {};
    static LITE: SQLiteDialect = SQLiteDialect {};
    match backend.lexicon().parser {
        Parser::Postgres => &PG,
        Parser::Mysql => &MY,
        Parser::Sqlite => &LITE,
    }
}

/// True for whitespace and comments.
pub fn is_trivia(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_))
}

/// The keyword of a token, if it is an unquoted word.
pub fn keyword(t: &Token) -> Option<Keyword> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.keyword),
        _ => None,
    }
}

/// True when the token is the unquoted word `word` (ASCII case-insensitive). Works for words
/// sqlparser does not know as keywords too.
pub fn is_word(t: &Token, word: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

impl<'t> SplitFile<'t> {
    /// The significant tokens of a statement.
    pub fn significant(&self, stmt: &Statement) -> impl Iterator<Item = &TokenWithSpan> + '_ {
        let range = stmt.tokens.clone();
        self.tokens[range].iter().filter(|t| !is_trivia(&t.token))
    }

    /// The statement's text (without the terminating `;`).
    pub fn stmt_text(&self, stmt: &Statement) -> &'t str {
        self.text.get(stmt.bytes.clone()).unwrap_or("")
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: usize) -> &'t str {
        line_text(self.text, &self.line_starts, line)
    }

    /// Byte offset of a position (clamped to the text).
    pub fn offset(&self, pos: Pos) -> usize {
        offset_of(self.text, &self.line_starts, pos)
    }

    /// Whether a line (1-based) holds the start of a significant token.
    pub fn has_code(&self, line: usize) -> bool {
        line.checked_sub(1)
            .and_then(|i| self.code_lines.get(i))
            .copied()
            .unwrap_or(false)
    }
}

fn compute_line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            starts.push(i + 1);
        }
    }
    starts
}

fn line_text<'t>(text: &'t str, starts: &[usize], line: usize) -> &'t str {
    let Some(&start) = line.checked_sub(1).and_then(|i| starts.get(i)) else {
        return "";
    };
    let end = starts
        .get(line)
        .map(|e| e.saturating_sub(1))
        .unwrap_or(text.len());
    text.get(start..end.max(start))
        .unwrap_or("")
        .trim_end_matches('\r')
}

fn offset_of(text: &str, starts: &[usize], pos: Pos) -> usize {
    let Some(&start) = pos.line.checked_sub(1).and_then(|i| starts.get(i)) else {
        return text.len();
    };
    let rest = text.get(start..).unwrap_or("");
    let skip = pos.column.saturating_sub(1);
    match rest.char_indices().nth(skip) {
        Some((i, _)) => start + i,
        None => text.len(),
    }
}

fn pos_of(t: &TokenWithSpan) -> Pos {
    Pos::new(t.span.start.line as usize, t.span.start.column as usize)
}

fn end_of(t: &TokenWithSpan) -> Pos {
    Pos::new(t.span.end.line as usize, t.span.end.column as usize)
}

/// Object kinds after `CREATE` whose bodies may hold `BEGIN … END` blocks.
fn starts_block_body(sig: &[&Token]) -> bool {
    if sig
        .first()
        .is_none_or(|t| keyword(t) != Some(Keyword::CREATE))
    {
        return false;
    }
    for t in sig.iter().skip(1).take(16) {
        match keyword(t) {
            Some(Keyword::TRIGGER | Keyword::PROCEDURE | Keyword::FUNCTION | Keyword::EVENT) => {
                return true
            }
            Some(
                Keyword::TABLE
                | Keyword::INDEX
                | Keyword::VIEW
                | Keyword::TYPE
                | Keyword::SCHEMA
                | Keyword::SEQUENCE
                | Keyword::UNIQUE
                | Keyword::EXTENSION
                | Keyword::DATABASE
                | Keyword::DOMAIN
                | Keyword::ROLE
                | Keyword::USER
                | Keyword::POLICY
                | Keyword::MATERIALIZED,
            ) => return false,
            _ => {}
        }
        if matches!(t, Token::LParen) {
            return false;
        }
    }
    false
}

/// Split `text` into statements using the backend's tokenizer.
pub fn split(text: &str, backend: Backend) -> Result<SplitFile<'_>, SplitError> {
    let line_starts = compute_line_starts(text);
    let tokens = match Tokenizer::new(dialect(backend), text).tokenize_with_location() {
        Ok(tokens) => tokens,
        Err(e) => return Err(tokenizer_error(text, &line_starts, backend, e)),
    };

    let mut statements = Vec::new();
    let mut comments = Vec::new();
    let mut code_lines = vec![false; line_starts.len()];

    // State of the statement being read.
    let mut first: Option<usize> = None; // index of its first significant token
    let mut last: usize = 0; // index of its last significant token
    let mut head: Vec<&Token> = Vec::new(); // its first significant tokens
    let mut block: Option<bool> = None; // decided once the head is long enough
    let mut depth: usize = 0;
    let mut skip_next_word = false; // the word after END (IF, LOOP, CASE, …)

    let finish = |first: usize, last: usize, end_tok: usize, statements: &mut Vec<Statement>| {
        let start = pos_of(&tokens[first]);
        let end = end_of(&tokens[last]);
        let b0 = offset_of(text, &line_starts, start);
        let b1 = offset_of(text, &line_starts, end).max(b0);
        statements.push(Statement {
            tokens: first..end_tok,
            start,
            end,
            bytes: b0..b1,
        });
    };

    for (i, tok) in tokens.iter().enumerate() {
        match &tok.token {
            Token::Whitespace(Whitespace::SingleLineComment { comment, .. }) => {
                let pos = pos_of(tok);
                let own_line = line_text(text, &line_starts, pos.line)
                    .chars()
                    .take(pos.column.saturating_sub(1))
                    .all(char::is_whitespace);
                comments.push(Comment {
                    pos,
                    text: comment.trim_end().to_string(),
                    own_line,
                });
                continue;
            }
            Token::Whitespace(_) | Token::EOF => continue,
            _ => {}
        }
        let line = tok.span.start.line as usize;
        if let Some(slot) = line.checked_sub(1).and_then(|l| code_lines.get_mut(l)) {
            *slot = true;
        }

        if matches!(tok.token, Token::SemiColon) && (depth == 0 || block != Some(true)) {
            if let Some(f) = first.take() {
                finish(f, last, i, &mut statements);
            }
            head.clear();
            block = None;
            depth = 0;
            skip_next_word = false;
            continue;
        }

        if first.is_none() {
            first = Some(i);
        }
        last = i;
        if head.len() < 18 {
            head.push(&tok.token);
        }
        if block.is_none() {
            let decided = head.len() >= 18
                || head.iter().any(|t| {
                    matches!(
                        keyword(t),
                        Some(Keyword::BEGIN | Keyword::AS | Keyword::ON | Keyword::RETURNS)
                    ) || matches!(t, Token::LParen)
                });
            if decided
                || head
                    .first()
                    .is_none_or(|t| keyword(t) != Some(Keyword::CREATE))
            {
                block = Some(starts_block_body(&head));
            }
        }
        if block == Some(true) {
            if skip_next_word {
                skip_next_word = false;
                if ["if", "loop", "while", "repeat"]
                    .iter()
                    .any(|w| is_word(&tok.token, w))
                {
                    // `END IF` and friends close constructs that were never counted.
                    depth += 1;
                    continue;
                }
                if keyword(&tok.token) == Some(Keyword::CASE) {
                    // `END CASE` closes a CASE statement: already counted by the END.
                    continue;
                }
            }
            match keyword(&tok.token) {
                Some(Keyword::BEGIN | Keyword::CASE) => depth += 1,
                Some(Keyword::END) => {
                    depth = depth.saturating_sub(1);
                    skip_next_word = true;
                }
                _ => {}
            }
        }
    }
    if let Some(f) = first {
        finish(f, last, tokens.len(), &mut statements);
    }
    Ok(SplitFile {
        text,
        tokens,
        statements,
        comments,
        code_lines,
        line_starts,
    })
}

/// Turn a tokenizer error into a located error at the opening quote.
fn tokenizer_error(
    text: &str,
    line_starts: &[usize],
    backend: Backend,
    e: sqlparser::tokenizer::TokenizerError,
) -> SplitError {
    let reported = Pos::new(e.location.line as usize, e.location.column as usize);
    let opening = find_unterminated(text, backend);
    let (message, pos) = match opening {
        Some((what, pos)) => (format!("unterminated {what}"), pos),
        None => (e.message.clone(), reported),
    };
    let pos = if pos.line == 0 { Pos::new(1, 1) } else { pos };
    let _ = line_starts;
    SplitError { message, pos }
}

/// Scan the text the way SQL lexes quotes to find the construct that never closes. Used only
/// to locate a tokenizer error precisely; statement splitting itself never uses this.
fn find_unterminated(text: &str, backend: Backend) -> Option<(&'static str, Pos)> {
    let lex = backend.lexicon();
    let chars: Vec<char> = text.chars().collect();
    let (mut line, mut col) = (1usize, 1usize);
    let mut i = 0;
    let advance = |c: char, line: &mut usize, col: &mut usize| {
        if c == '\n' {
            *line += 1;
            *col = 1;
        } else {
            *col += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let start = Pos::new(line, col);
        let next = chars.get(i + 1).copied();
        // Comments.
        if c == '-' && next == Some('-') || (c == '#' && lex.hash_comments) {
            while i < chars.len() && chars[i] != '\n' {
                advance(chars[i], &mut line, &mut col);
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            let mut j = i + 2;
            let mut depth = 1;
            advance(c, &mut line, &mut col);
            advance('*', &mut line, &mut col);
            while j < chars.len() && depth > 0 {
                if chars[j] == '*' && chars.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    advance('*', &mut line, &mut col);
                    advance('/', &mut line, &mut col);
                    j += 2;
                    continue;
                }
                if lex.nested_block_comments && chars[j] == '/' && chars.get(j + 1) == Some(&'*') {
                    depth += 1;
                    advance('/', &mut line, &mut col);
                    advance('*', &mut line, &mut col);
                    j += 2;
                    continue;
                }
                advance(chars[j], &mut line, &mut col);
                j += 1;
            }
            if depth > 0 {
                return Some(("block comment", start));
            }
            i = j;
            continue;
        }
        // Dollar quotes (PostgreSQL).
        if c == '$' && lex.dollar_quotes {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            let tag_is_word = chars.get(i + 1).is_none_or(|c| !c.is_ascii_digit());
            if chars.get(j) == Some(&'$') && tag_is_word {
                let tag: String = chars[i..=j].iter().collect();
                let body_start = j + 1;
                let tag_chars: Vec<char> = tag.chars().collect();
                let mut k = body_start;
                let mut found = None;
                while k + tag_chars.len() <= chars.len() {
                    if chars[k..k + tag_chars.len()] == tag_chars[..] {
                        found = Some(k + tag_chars.len());
                        break;
                    }
                    k += 1;
                }
                match found {
                    Some(end) => {
                        while i < end {
                            advance(chars[i], &mut line, &mut col);
                            i += 1;
                        }
                        continue;
                    }
                    None => return Some(("dollar-quoted string", start)),
                }
            }
        }
        let quote = match c {
            '\'' => Some(("string literal", '\'')),
            '"' if lex.double_quoted_strings => Some(("string literal", '"')),
            '"' => Some(("quoted identifier", '"')),
            '`' if lex.backtick_identifiers => Some(("quoted identifier", '`')),
            '[' if lex.bracket_identifiers => Some(("quoted identifier", ']')),
            _ => None,
        };
        if let Some((what, close)) = quote {
            let backslash = lex.backslash_escapes && close != '`';
            advance(c, &mut line, &mut col);
            let mut j = i + 1;
            let mut closed = false;
            while j < chars.len() {
                let d = chars[j];
                if backslash && d == '\\' {
                    advance(d, &mut line, &mut col);
                    if let Some(&e) = chars.get(j + 1) {
                        advance(e, &mut line, &mut col);
                    }
                    j += 2;
                    continue;
                }
                advance(d, &mut line, &mut col);
                j += 1;
                if d == close {
                    if close != ']' && chars.get(j) == Some(&close) {
                        advance(close, &mut line, &mut col);
                        j += 1;
                        continue;
                    }
                    closed = true;
                    break;
                }
            }
            if !closed {
                return Some((what, start));
            }
            i = j;
            continue;
        }
        advance(c, &mut line, &mut col);
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str, backend: Backend) -> Vec<String> {
        let f = split(sql, backend).expect("splits");
        f.statements
            .iter()
            .map(|s| f.stmt_text(s).to_string())
            .collect()
    }

    #[test]
    fn splits_on_top_level_semicolons() {
        let s = texts(
            "CREATE TABLE a (id INT);\n\nCREATE TABLE b (id INT);",
            Backend::Postgres,
        );
        assert_eq!(s, ["CREATE TABLE a (id INT)", "CREATE TABLE b (id INT)"]);
    }

    #[test]
    fn empty_statements_and_comments_are_skipped() {
        let f = split("-- only a comment\n;;\n/* block */ ;", Backend::Postgres).unwrap();
        assert!(f.statements.is_empty());
        assert_eq!(f.comments.len(), 1);
        assert_eq!(f.comments[0].text, " only a comment");
        assert!(f.comments[0].own_line);
    }

    #[test]
    fn semicolons_inside_strings_identifiers_and_comments() {
        let sql =
            "INSERT INTO t VALUES ('a;b');\nSELECT \"x;y\" FROM t; -- c;d\n/* e;f */ SELECT 1";
        let s = texts(sql, Backend::Postgres);
        assert_eq!(
            s,
            [
                "INSERT INTO t VALUES ('a;b')",
                "SELECT \"x;y\" FROM t",
                "SELECT 1"
            ]
        );
        let s = texts("SELECT `a;b` FROM t; SELECT 'it''s;'", Backend::Mysql);
        assert_eq!(s, ["SELECT `a;b` FROM t", "SELECT 'it''s;'"]);
    }

    #[test]
    fn dollar_quotes_keep_their_semicolons() {
        let sql = "DO $$ BEGIN PERFORM 1; PERFORM 2; END $$;\n\
                   CREATE FUNCTION f() RETURNS trigger AS $body$\nBEGIN\n  NEW.x := 1;\n  RETURN NEW;\nEND;\n$body$ LANGUAGE plpgsql;\nSELECT 1;";
        let s = texts(sql, Backend::Postgres);
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(s[0].starts_with("DO $$"));
        assert!(s[1].ends_with("LANGUAGE plpgsql"));
        assert_eq!(s[2], "SELECT 1");
    }

    #[test]
    fn explicit_transaction_is_not_a_block() {
        let s = texts(
            "BEGIN;\nCREATE TABLE t (id INT);\nCOMMIT;",
            Backend::Postgres,
        );
        assert_eq!(s, ["BEGIN", "CREATE TABLE t (id INT)", "COMMIT"]);
        let s = texts(
            "BEGIN TRANSACTION;\nUPDATE t SET a = 1 WHERE id = 2;\nEND;",
            Backend::Sqlite,
        );
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn sqlite_trigger_with_case_inside() {
        let sql = "CREATE TRIGGER trg AFTER INSERT ON t\nBEGIN\n  UPDATE t SET k = CASE WHEN NEW.a > 0 THEN 'p' ELSE 'n' END WHERE id = NEW.id;\n  DELETE FROM log;\nEND;\nSELECT 1;";
        let s = texts(sql, Backend::Sqlite);
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(s[0].ends_with("END"));
        assert_eq!(s[1], "SELECT 1");
    }

    #[test]
    fn mysql_trigger_with_end_if() {
        let sql = "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW\nBEGIN\n  IF NEW.a < 0 THEN\n    SET NEW.a = 0;\n  END IF;\nEND;\nINSERT INTO t VALUES (1);";
        let s = texts(sql, Backend::Mysql);
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(s[0].contains("END IF;"));
        assert!(s[1].starts_with("INSERT"));
    }

    #[test]
    fn mysql_procedure_with_case_while_loop_repeat() {
        let sql = "CREATE DEFINER=`root`@`localhost` PROCEDURE p(IN n INT)\nBEGIN\n  DECLARE i INT DEFAULT 0;\n  CASE n WHEN 1 THEN SET i = 1; ELSE SET i = 2; END CASE;\n  WHILE i < 10 DO SET i = i + 1; END WHILE;\n  l: LOOP LEAVE l; END LOOP;\n  REPEAT SET i = i - 1; UNTIL i < 0 END REPEAT;\n  BEGIN SELECT 1; END;\nEND;\nSELECT 2;";
        let s = texts(sql, Backend::Mysql);
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(s[0].ends_with("END"));
        assert_eq!(s[1], "SELECT 2");
    }

    #[test]
    fn mysql_event_and_function_bodies() {
        let sql = "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM s WHERE old = 1; END;\nCREATE FUNCTION f(x INT) RETURNS INT DETERMINISTIC BEGIN RETURN CASE WHEN x > 0 THEN 1 ELSE 0 END; END;\nSELECT 3;";
        let s = texts(sql, Backend::Mysql);
        assert_eq!(s.len(), 3, "{s:?}");
        assert_eq!(s[2], "SELECT 3");
    }

    #[test]
    fn case_outside_a_body_does_not_change_splitting() {
        let sql = "UPDATE t SET a = CASE WHEN b THEN 1 ELSE 2 END;\nUPDATE t SET a = 3;";
        assert_eq!(texts(sql, Backend::Sqlite).len(), 2);
    }

    #[test]
    fn a_table_named_like_a_keyword_is_not_a_body() {
        let sql = "CREATE TABLE event (id INT);\nCREATE INDEX i ON event (id);";
        assert_eq!(texts(sql, Backend::Mysql).len(), 2);
    }

    #[test]
    fn statement_positions_and_bytes() {
        let sql = "-- header\n  CREATE TABLE é (id INT);\n\tDROP TABLE x";
        let f = split(sql, Backend::Postgres).unwrap();
        assert_eq!(f.statements[0].start, Pos::new(2, 3));
        assert_eq!(f.statements[1].start, Pos::new(3, 2));
        assert_eq!(f.stmt_text(&f.statements[0]), "CREATE TABLE é (id INT)");
        assert_eq!(f.stmt_text(&f.statements[1]), "DROP TABLE x");
        assert!(f.has_code(2) && !f.has_code(1));
        assert_eq!(f.line_text(2), "  CREATE TABLE é (id INT);");
    }

    #[test]
    fn unterminated_string_is_located_at_its_quote() {
        let e = split("SELECT 1;\nSELECT 'abc;\nSELECT 2;", Backend::Postgres).unwrap_err();
        assert_eq!(e.pos, Pos::new(2, 8));
        assert!(e.message.contains("string"), "{}", e.message);
    }

    #[test]
    fn unterminated_identifier_and_dollar_quote() {
        let e = split("SELECT \"abc FROM t;", Backend::Postgres).unwrap_err();
        assert_eq!(e.pos, Pos::new(1, 8));
        assert!(e.message.contains("identifier"), "{}", e.message);
        let e = split("SELECT 1;\n  DO $x$ BEGIN END;", Backend::Postgres).unwrap_err();
        assert_eq!(e.pos, Pos::new(2, 6));
        assert!(e.message.contains("dollar"), "{}", e.message);
        let e = split("SELECT `abc FROM t;", Backend::Mysql).unwrap_err();
        assert_eq!(e.pos, Pos::new(1, 8));
    }

    #[test]
    fn unterminated_block_body_runs_to_the_end_without_panicking() {
        let s = texts(
            "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1;",
            Backend::Sqlite,
        );
        assert_eq!(s.len(), 1);
    }
}
