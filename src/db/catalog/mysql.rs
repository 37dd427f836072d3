//! The MySQL/MariaDB catalog: nine `information_schema` queries for the whole database
//! (tables, columns, indexes, foreign keys, checks, views, triggers, routines, events), generic
//! over any diesel connection to a MySQL backend. Names are `table` or `table.object`, never
//! with the database: a scratch database has another name than the live one, so every value
//! is read with the database's own qualifier (`` `db`. ``) removed. Left out, because they
//! differ between two databases built by the same SQL: definers, creation times, event start
//! times and auto-increment counters. Collations are kept only where they differ from the
//! default they would have (a table's from the database's, a column's from its table's), so a
//! live database created with another default collation than the scratch one still compares
//! equal when its objects follow that default.

use diesel::connection::LoadConnection;
use diesel::mysql::Mysql;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use super::{assemble, CatalogError, ObjectRow};
use crate::catalog::Catalog;

#[derive(QueryableByName)]
struct ServerRow {
    #[diesel(sql_type = Nullable<Text>)]
    db: Option<String>,
    #[diesel(sql_type = Text)]
    version: String,
}

/// A quoted identifier, as SQL that builds it from the text expression `e`.
fn q(e: &str) -> String {
    format!("CONCAT('`', REPLACE({e}, '`', '``'), '`')")
}

const NOT_OURS: &str =
    r"{t} <> '__diesel_schema_migrations' AND {t} NOT LIKE '\_\_cargo\_migrate%'";

fn not_ours(t: &str) -> String {
    NOT_OURS.replace("{t}", t)
}

/// The column definition of `c` (an `information_schema.COLUMNS` row), as `ADD COLUMN` and
/// `MODIFY COLUMN` take it.
fn column_definition(mariadb: bool) -> String {
    // MariaDB keeps defaults as SQL expressions; MySQL as values, with DEFAULT_GENERATED
    // marking an expression.
    let default = if mariadb {
        "c.COLUMN_DEFAULT".to_string()
    } else {
        "IF(c.EXTRA LIKE '%DEFAULT_GENERATED%', CONCAT('(', c.COLUMN_DEFAULT, ')'), QUOTE(c.COLUMN_DEFAULT))".to_string()
    };
    format!(
        r"CONCAT({col}, ' ', c.COLUMN_TYPE,
          IF(c.COLLATION_NAME IS NULL, '', CONCAT(' COLLATE ', c.COLLATION_NAME)),
          IF(IFNULL(c.GENERATION_EXPRESSION, '') <> '',
             CONCAT(' GENERATED ALWAYS AS (', c.GENERATION_EXPRESSION, ') ', IF(c.EXTRA LIKE '%STORED%', 'STORED', 'VIRTUAL')),
             CONCAT(IF(c.IS_NULLABLE = 'NO', ' NOT NULL', ' NULL'),
                    IF(c.COLUMN_DEFAULT IS NULL OR c.COLUMN_DEFAULT = 'NULL', '', CONCAT(' DEFAULT ', {default})),
                    IF(c.EXTRA LIKE '%auto_increment%', ' AUTO_INCREMENT', ''),
                    IF(LOCATE('on update', c.EXTRA) > 0, CONCAT(' ', SUBSTRING(c.EXTRA, LOCATE('on update', c.EXTRA))), ''))),
          IF(c.COLUMN_COMMENT <> '', CONCAT(' COMMENT ', QUOTE(c.COLUMN_COMMENT)), ''))",
        col = q("c.COLUMN_NAME"),
    )
}

fn queries(mariadb: bool) -> Vec<(&'static str, String)> {
    let checks_from = if mariadb {
        // MariaDB names the table in CHECK_CONSTRAINTS (check names are per table there).
        "FROM information_schema.CHECK_CONSTRAINTS cc WHERE cc.CONSTRAINT_SCHEMA = DATABASE()"
            .to_string()
    } else {
        "FROM information_schema.TABLE_CONSTRAINTS tc JOIN information_schema.CHECK_CONSTRAINTS cc \
         ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME \
         WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.CONSTRAINT_TYPE = 'CHECK'"
            .to_string()
    };
    let check_table = if mariadb {
        "cc.TABLE_NAME"
    } else {
        "tc.TABLE_NAME"
    };
    let coldef = column_definition(mariadb);
    vec![
        (
            "tables",
            format!(
                r"
SELECT 'table' AS kind, t.TABLE_NAME AS name,
  CAST(JSON_OBJECT('engine', t.ENGINE, 'collation', NULLIF(t.TABLE_COLLATION, @@collation_database),
                   'options', NULLIF(t.CREATE_OPTIONS, ''), 'comment', NULLIF(t.TABLE_COMMENT, '')) AS CHAR) AS attrs,
  CAST(JSON_OBJECT(
    'drop', CONCAT('DROP TABLE ', {qt}, ';'),
    'fix.engine', CONCAT('ALTER TABLE ', {qt}, ' ENGINE = ', t.ENGINE, ';'),
    'fix.collation', CONCAT('ALTER TABLE ', {qt}, ' COLLATE ', t.TABLE_COLLATION, ';'),
    'fix.comment', CONCAT('ALTER TABLE ', {qt}, ' COMMENT = ', QUOTE(t.TABLE_COMMENT), ';')) AS CHAR) AS `sql`
FROM information_schema.TABLES t
WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE' AND {ours}",
                qt = q("t.TABLE_NAME"),
                ours = not_ours("t.TABLE_NAME")
            ),
        ),
        (
            "columns",
            format!(
                r"
SELECT 'column' AS kind, CONCAT(c.TABLE_NAME, '.', c.COLUMN_NAME) AS name,
  CAST(JSON_OBJECT('type', c.COLUMN_TYPE, 'nullable', c.IS_NULLABLE, 'default', c.COLUMN_DEFAULT,
                   'extra', NULLIF(c.EXTRA, ''), 'generated', NULLIF(c.GENERATION_EXPRESSION, ''),
                   'collation', NULLIF(c.COLLATION_NAME, t.TABLE_COLLATION), 'comment', NULLIF(c.COLUMN_COMMENT, '')) AS CHAR) AS attrs,
  CAST(JSON_OBJECT(
    'create', CONCAT('ALTER TABLE ', {qt}, ' ADD COLUMN ', {coldef}, ';'),
    'drop', CONCAT('ALTER TABLE ', {qt}, ' DROP COLUMN ', {qc}, ';'),
    'replace', CONCAT('ALTER TABLE ', {qt}, ' MODIFY COLUMN ', {coldef}, ';')) AS CHAR) AS `sql`
FROM information_schema.COLUMNS c JOIN information_schema.TABLES t
  ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME AND t.TABLE_TYPE = 'BASE TABLE'
WHERE c.TABLE_SCHEMA = DATABASE() AND {ours}",
                qt = q("c.TABLE_NAME"),
                qc = q("c.COLUMN_NAME"),
                ours = not_ours("c.TABLE_NAME")
            ),
        ),
        (
            "indexes",
            format!(
                r"
SELECT IF(s.INDEX_NAME = 'PRIMARY', 'primary-key', 'index') AS kind, CONCAT(s.TABLE_NAME, '.', s.INDEX_NAME) AS name,
  CAST(JSON_OBJECT(
    'unique', IF(MAX(s.NON_UNIQUE) = 0, 'yes', 'no'),
    'type', MAX(s.INDEX_TYPE),
    'columns', GROUP_CONCAT(CONCAT(IFNULL(s.COLUMN_NAME, '(expression)'), IFNULL(CONCAT('(', s.SUB_PART, ')'), ''),
                                   IF(s.COLLATION = 'D', ' DESC', '')) ORDER BY s.SEQ_IN_INDEX SEPARATOR ', '),
    'comment', NULLIF(MAX(s.INDEX_COMMENT), '')) AS CHAR) AS attrs,
  CAST(JSON_OBJECT(
    'create', IF(s.INDEX_NAME = 'PRIMARY',
      CONCAT('ALTER TABLE ', {qt}, ' ADD PRIMARY KEY (', GROUP_CONCAT({qc} ORDER BY s.SEQ_IN_INDEX SEPARATOR ', '), ');'),
      CONCAT('CREATE ', IF(MAX(s.NON_UNIQUE) = 0, 'UNIQUE ', IF(MAX(s.INDEX_TYPE) IN ('FULLTEXT', 'SPATIAL'), CONCAT(MAX(s.INDEX_TYPE), ' '), '')),
             'INDEX ', {qi}, ' ON ', {qt}, ' (',
             GROUP_CONCAT(CONCAT({qc}, IFNULL(CONCAT('(', s.SUB_PART, ')'), ''), IF(s.COLLATION = 'D', ' DESC', ''))
                          ORDER BY s.SEQ_IN_INDEX SEPARATOR ', '), ');')),
    'drop', IF(s.INDEX_NAME = 'PRIMARY', CONCAT('ALTER TABLE ', {qt}, ' DROP PRIMARY KEY;'),
               CONCAT('DROP INDEX ', {qi}, ' ON ', {qt}, ';'))) AS CHAR) AS `sql`
FROM information_schema.STATISTICS s
WHERE s.TABLE_SCHEMA = DATABASE() AND {ours}
GROUP BY s.TABLE_NAME, s.INDEX_NAME",
                qt = q("s.TABLE_NAME"),
                qi = q("s.INDEX_NAME"),
                qc = q("IFNULL(s.COLUMN_NAME, '')"),
                ours = not_ours("s.TABLE_NAME")
            ),
        ),
        (
            "foreign keys",
            format!(
                r"
SELECT 'foreign-key' AS kind, CONCAT(rc.TABLE_NAME, '.', rc.CONSTRAINT_NAME) AS name,
  CAST(JSON_OBJECT(
    'columns', k.cols,
    'references', CONCAT(IF(rc.UNIQUE_CONSTRAINT_SCHEMA = DATABASE(), '', CONCAT(rc.UNIQUE_CONSTRAINT_SCHEMA, '.')),
                         rc.REFERENCED_TABLE_NAME, ' (', k.refcols, ')'),
    'on_update', rc.UPDATE_RULE, 'on_delete', rc.DELETE_RULE) AS CHAR) AS attrs,
  CAST(JSON_OBJECT(
    'create', CONCAT('ALTER TABLE ', {qt}, ' ADD CONSTRAINT ', {qn}, ' FOREIGN KEY (', k.qcols, ') REFERENCES ',
                     {qr}, ' (', k.qrefcols, ') ON DELETE ', rc.DELETE_RULE, ' ON UPDATE ', rc.UPDATE_RULE, ';'),
    'drop', CONCAT('ALTER TABLE ', {qt}, ' DROP FOREIGN KEY ', {qn}, ';')) AS CHAR) AS `sql`
FROM information_schema.REFERENTIAL_CONSTRAINTS rc
JOIN (SELECT k.CONSTRAINT_NAME, k.TABLE_NAME,
             GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR ', ') AS cols,
             GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR ', ') AS refcols,
             GROUP_CONCAT({kc} ORDER BY k.ORDINAL_POSITION SEPARATOR ', ') AS qcols,
             GROUP_CONCAT({kr} ORDER BY k.ORDINAL_POSITION SEPARATOR ', ') AS qrefcols
      FROM information_schema.KEY_COLUMN_USAGE k
      WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL
      GROUP BY k.CONSTRAINT_NAME, k.TABLE_NAME) k
  ON k.CONSTRAINT_NAME = rc.CONSTRAINT_NAME AND k.TABLE_NAME = rc.TABLE_NAME
WHERE rc.CONSTRAINT_SCHEMA = DATABASE() AND {ours}",
                qt = q("rc.TABLE_NAME"),
                qn = q("rc.CONSTRAINT_NAME"),
                qr = q("rc.REFERENCED_TABLE_NAME"),
                kc = q("k.COLUMN_NAME"),
                kr = q("k.REFERENCED_COLUMN_NAME"),
                ours = not_ours("rc.TABLE_NAME")
            ),
        ),
        (
            "checks",
            format!(
                r"
SELECT 'check' AS kind, CONCAT({check_table}, '.', cc.CONSTRAINT_NAME) AS name,
  CAST(JSON_OBJECT('clause', cc.CHECK_CLAUSE) AS CHAR) AS attrs,
  CAST(JSON_OBJECT(
    'create', CONCAT('ALTER TABLE ', {qt}, ' ADD CONSTRAINT ', {qn}, ' CHECK (', cc.CHECK_CLAUSE, ');'),
    'drop', CONCAT('ALTER TABLE ', {qt}, ' DROP CONSTRAINT ', {qn}, ';')) AS CHAR) AS `sql`
{checks_from} AND {ours}",
                qt = q(check_table),
                qn = q("cc.CONSTRAINT_NAME"),
                ours = not_ours(check_table)
            ),
        ),
        (
            "views",
            format!(
                r"
SELECT 'view' AS kind, v.TABLE_NAME AS name,
  CAST(JSON_OBJECT('definition', v.VIEW_DEFINITION, 'check_option', v.CHECK_OPTION, 'security', v.SECURITY_TYPE) AS CHAR) AS attrs,
  CAST(JSON_OBJECT(
    'create', CONCAT('CREATE VIEW ', {qv}, ' AS ', v.VIEW_DEFINITION, ';'),
    'replace', CONCAT('CREATE OR REPLACE SQL SECURITY ', v.SECURITY_TYPE, ' VIEW ', {qv}, ' AS ', v.VIEW_DEFINITION,
                      IF(v.CHECK_OPTION = 'NONE', '', CONCAT(' WITH ', v.CHECK_OPTION, ' CHECK OPTION')), ';'),
    'drop', CONCAT('DROP VIEW ', {qv}, ';')) AS CHAR) AS `sql`
FROM information_schema.VIEWS v WHERE v.TABLE_SCHEMA = DATABASE()",
                qv = q("v.TABLE_NAME")
            ),
        ),
        (
            "triggers",
            format!(
                r"
SELECT 'trigger' AS kind, CONCAT(tr.EVENT_OBJECT_TABLE, '.', tr.TRIGGER_NAME) AS name,
  CAST(JSON_OBJECT('timing', tr.ACTION_TIMING, 'event', tr.EVENT_MANIPULATION,
                   'statement', tr.ACTION_STATEMENT, 'order', tr.ACTION_ORDER) AS CHAR) AS attrs,
  CAST(JSON_OBJECT(
    'create', CONCAT('CREATE TRIGGER ', {qn}, ' ', tr.ACTION_TIMING, ' ', tr.EVENT_MANIPULATION, ' ON ', {qt},
                     ' FOR EACH ROW ', tr.ACTION_STATEMENT, ';'),
    'drop', CONCAT('DROP TRIGGER ', {qn}, ';')) AS CHAR) AS `sql`
FROM information_schema.TRIGGERS tr WHERE tr.TRIGGER_SCHEMA = DATABASE() AND {ours}",
                qn = q("tr.TRIGGER_NAME"),
                qt = q("tr.EVENT_OBJECT_TABLE"),
                ours = not_ours("tr.EVENT_OBJECT_TABLE")
            ),
        ),
        (
            "routines",
            format!(
                r"
SELECT LOWER(r.ROUTINE_TYPE) AS kind, r.ROUTINE_NAME AS name,
  CAST(JSON_OBJECT('definition', r.ROUTINE_DEFINITION, 'returns', NULLIF(r.DTD_IDENTIFIER, ''), 'parameters', p.params,
                   'deterministic', r.IS_DETERMINISTIC, 'data_access', r.SQL_DATA_ACCESS, 'security', r.SECURITY_TYPE,
                   'comment', NULLIF(r.ROUTINE_COMMENT, '')) AS CHAR) AS attrs,
  CAST(JSON_OBJECT(
    'create', CONCAT('CREATE ', r.ROUTINE_TYPE, ' ', {qn}, '(', IFNULL(p.params, ''), ')',
                     IF(r.ROUTINE_TYPE = 'FUNCTION', CONCAT(' RETURNS ', r.DTD_IDENTIFIER), ''),
                     IF(r.IS_DETERMINISTIC = 'YES', ' DETERMINISTIC', ' NOT DETERMINISTIC'), ' ', r.SQL_DATA_ACCESS,
                     ' SQL SECURITY ', r.SECURITY_TYPE, ' ', r.ROUTINE_DEFINITION, ';'),
    'drop', CONCAT('DROP ', r.ROUTINE_TYPE, ' ', {qn}, ';')) AS CHAR) AS `sql`
FROM information_schema.ROUTINES r
LEFT JOIN (SELECT pa.SPECIFIC_NAME,
                  GROUP_CONCAT(CONCAT_WS(' ', IF(pa.ROUTINE_TYPE = 'PROCEDURE', pa.PARAMETER_MODE, NULL), {qp}, pa.DTD_IDENTIFIER)
                               ORDER BY pa.ORDINAL_POSITION SEPARATOR ', ') AS params
           FROM information_schema.PARAMETERS pa
           WHERE pa.SPECIFIC_SCHEMA = DATABASE() AND pa.ORDINAL_POSITION > 0
           GROUP BY pa.SPECIFIC_NAME) p ON p.SPECIFIC_NAME = r.SPECIFIC_NAME
WHERE r.ROUTINE_SCHEMA = DATABASE()",
                qn = q("r.ROUTINE_NAME"),
                qp = q("pa.PARAMETER_NAME")
            ),
        ),
        (
            "events",
            format!(
                r"
SELECT 'event' AS kind, e.EVENT_NAME AS name,
  CAST(JSON_OBJECT('definition', e.EVENT_DEFINITION, 'type', e.EVENT_TYPE,
                   'interval', CONCAT(e.INTERVAL_VALUE, ' ', e.INTERVAL_FIELD), 'status', e.STATUS,
                   'on_completion', e.ON_COMPLETION, 'comment', NULLIF(e.EVENT_COMMENT, '')) AS CHAR) AS attrs,
  CAST(JSON_OBJECT('drop', CONCAT('DROP EVENT ', {qn}, ';')) AS CHAR) AS `sql`
FROM information_schema.EVENTS e WHERE e.EVENT_SCHEMA = DATABASE()",
                qn = q("e.EVENT_NAME")
            ),
        ),
    ]
}

/// Read the whole catalog of a MySQL/MariaDB database.
pub fn mysql<C: LoadConnection<Backend = Mysql>>(conn: &mut C) -> Result<Catalog, CatalogError> {
    let server: Vec<ServerRow> = diesel::sql_query("SELECT DATABASE() AS db, VERSION() AS version")
        .load(conn)
        .map_err(CatalogError::query("mysql", "the database's name"))?;
    let Some(ServerRow {
        db: Some(db),
        version,
    }) = server.into_iter().next()
    else {
        return Err(CatalogError::Row {
            backend: "mysql",
            what: "the database's name",
            message: "the connection has no database selected".to_string(),
        });
    };
    let mariadb = version.to_ascii_lowercase().contains("mariadb");
    // Index column lists and parameter lists are built with GROUP_CONCAT, which MySQL cuts
    // at 1024 bytes by default.
    diesel::sql_query("SET SESSION group_concat_max_len = 1048576")
        .execute(conn)
        .map_err(CatalogError::query("mysql", "group_concat_max_len"))?;
    let qualifier = format!("`{}`.", db.replace('`', "``"));
    let normalise = |v: String| v.replace(&qualifier, "");
    let mut catalog = Catalog::new();
    for (what, sql) in queries(mariadb) {
        let rows: Vec<ObjectRow> = diesel::sql_query(&sql)
            .load(conn)
            .map_err(CatalogError::query("mysql", what))?;
        assemble(&mut catalog, rows, "mysql", what, &normalise)?;
    }
    Ok(catalog)
}
