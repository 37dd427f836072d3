//! The PostgreSQL catalog: bulk queries over `pg_catalog` (schemas, extensions, tables,
//! columns, constraints, indexes, types, sequences, views, functions, triggers, policies, and
//! the owners and privileges of tables, views, sequences, routines and schemas),
//! with definitions from the server's own `pg_get_*def` functions so that two databases built
//! by the same SQL read the same. Names are `schema.object` (columns, constraints, triggers
//! and policies `schema.table.name`; functions `schema.name(argument types)`). Objects of
//! extensions, the system schemas, diesel's versions table and the tool's own tables are left
//! out; OIDs never appear.

use diesel::prelude::*;

use super::{assemble, CatalogError, ObjectRow};
use crate::catalog::Catalog;

/// The schemas a migration can create objects in.
const USER_NS: &str = r"n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'";

/// Tables of diesel and of this tool.
const NOT_OURS: &str =
    r"c.relname <> '__diesel_schema_migrations' AND c.relname NOT LIKE '\_\_cargo\_migrate%'";

/// `oid` (a row of the catalog `catalog`) does not belong to an extension.
fn not_ext(catalog: &str, oid: &str) -> String {
    format!("NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{catalog}'::regclass AND d.objid = {oid} AND d.deptype = 'e')")
}

fn queries() -> Vec<(&'static str, String)> {
    let ns = USER_NS;
    let ours = NOT_OURS;
    let rel_ext = not_ext("pg_class", "c.oid");
    vec![
        (
            "schemas",
            format!(
                r"
SELECT 'schema' AS kind, n.nspname::text AS name,
  json_build_object('comment', obj_description(n.oid, 'pg_namespace'))::text AS attrs,
  json_build_object(
    'create', format('CREATE SCHEMA %I;', n.nspname),
    'drop', format('DROP SCHEMA %I;', n.nspname),
    'fix.comment', format('COMMENT ON SCHEMA %I IS %L;', n.nspname, obj_description(n.oid, 'pg_namespace')))::text AS sql
FROM pg_namespace n WHERE {ns} AND {}",
                not_ext("pg_namespace", "n.oid")
            ),
        ),
        (
            "extensions",
            r"
SELECT 'extension' AS kind, e.extname::text AS name,
  json_build_object('schema', n.nspname)::text AS attrs,
  json_build_object(
    'create', format('CREATE EXTENSION %I WITH SCHEMA %I;', e.extname, n.nspname),
    'drop', format('DROP EXTENSION %I;', e.extname),
    'fix.schema', format('ALTER EXTENSION %I SET SCHEMA %I;', e.extname, n.nspname))::text AS sql
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
                .to_string(),
        ),
        (
            "tables",
            format!(
                r"
SELECT 'table' AS kind, format('%s.%s', n.nspname, c.relname) AS name,
  json_build_object(
    'partitioned', c.relkind = 'p',
    'partition_key', CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
    'partition_of', (SELECT string_agg(format('%s.%s', pn.nspname, pc.relname), ', ' ORDER BY i.inhseqno)
        FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
        WHERE i.inhrelid = c.oid AND c.relispartition),
    'partition_bound', CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
    'inherits', (SELECT string_agg(format('%s.%s', pn.nspname, pc.relname), ', ' ORDER BY i.inhseqno)
        FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
        WHERE i.inhrelid = c.oid AND NOT c.relispartition),
    'unlogged', c.relpersistence = 'u',
    'row_level_security', c.relrowsecurity,
    'force_row_level_security', c.relforcerowsecurity,
    'options', array_to_string(c.reloptions, ', '),
    'comment', obj_description(c.oid, 'pg_class'))::text AS attrs,
  json_build_object(
    'drop', format('DROP TABLE %I.%I;', n.nspname, c.relname),
    'fix.row_level_security', format('ALTER TABLE %I.%I %s ROW LEVEL SECURITY;', n.nspname, c.relname,
        CASE WHEN c.relrowsecurity THEN 'ENABLE' ELSE 'DISABLE' END),
    'fix.force_row_level_security', format('ALTER TABLE %I.%I %s ROW LEVEL SECURITY;', n.nspname, c.relname,
        CASE WHEN c.relforcerowsecurity THEN 'FORCE' ELSE 'NO FORCE' END),
    'fix.unlogged', format('ALTER TABLE %I.%I SET %s;', n.nspname, c.relname,
        CASE WHEN c.relpersistence = 'u' THEN 'UNLOGGED' ELSE 'LOGGED' END),
    'fix.comment', format('COMMENT ON TABLE %I.%I IS %L;', n.nspname, c.relname, obj_description(c.oid, 'pg_class')))::text AS sql
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND {ns} AND {ours} AND {rel_ext}"
            ),
        ),
        (
            "columns",
            format!(
                r#"
SELECT 'column' AS kind, format('%s.%s.%s', n.nspname, c.relname, a.attname) AS name,
  json_build_object(
    'type', format_type(a.atttypid, a.atttypmod),
    'not_null', a.attnotnull,
    'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
    'generated', CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
    'identity', CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
    'collation', CASE WHEN a.attcollation <> t.typcollation THEN format('%I.%I', cn.nspname, co.collname) END,
    'comment', col_description(c.oid, a.attnum))::text AS attrs,
  json_build_object(
    'create', format('ALTER TABLE %I.%I ADD COLUMN %I %s', n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod))
      || CASE WHEN a.attcollation <> t.typcollation THEN format(' COLLATE %I.%I', cn.nspname, co.collname) ELSE '' END
      || CASE WHEN a.attgenerated = 's' THEN format(' GENERATED ALWAYS AS (%s) STORED', pg_get_expr(ad.adbin, ad.adrelid))
              WHEN ad.adbin IS NOT NULL THEN ' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid) ELSE '' END
      || CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY' WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END
      || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END || ';',
    'drop', format('ALTER TABLE %I.%I DROP COLUMN %I;', n.nspname, c.relname, a.attname),
    'fix.type', format('ALTER TABLE %I.%I ALTER COLUMN %I TYPE %s;', n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod)),
    'fix.not_null', format('ALTER TABLE %I.%I ALTER COLUMN %I %s NOT NULL;', n.nspname, c.relname, a.attname,
        CASE WHEN a.attnotnull THEN 'SET' ELSE 'DROP' END),
    'fix.default', CASE WHEN a.attgenerated = '' THEN
        CASE WHEN ad.adbin IS NULL THEN format('ALTER TABLE %I.%I ALTER COLUMN %I DROP DEFAULT;', n.nspname, c.relname, a.attname)
             ELSE format('ALTER TABLE %I.%I ALTER COLUMN %I SET DEFAULT %s;', n.nspname, c.relname, a.attname, pg_get_expr(ad.adbin, ad.adrelid)) END END,
    'fix.collation', format('ALTER TABLE %I.%I ALTER COLUMN %I TYPE %s COLLATE %s;', n.nspname, c.relname, a.attname,
        format_type(a.atttypid, a.atttypmod),
        CASE WHEN a.attcollation <> t.typcollation THEN format('%I.%I', cn.nspname, co.collname) ELSE '"default"' END),
    'fix.comment', format('COMMENT ON COLUMN %I.%I.%I IS %L;', n.nspname, c.relname, a.attname, col_description(c.oid, a.attnum)))::text AS sql
FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  LEFT JOIN pg_collation co ON co.oid = a.attcollation
  LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND {ns} AND {ours} AND {rel_ext}"#
            ),
        ),
        (
            "constraints",
            format!(
                r"
SELECT CASE con.contype WHEN 'p' THEN 'primary-key' WHEN 'u' THEN 'unique' WHEN 'f' THEN 'foreign-key'
         WHEN 'c' THEN 'check' ELSE 'exclusion' END AS kind,
  format('%s.%s.%s', n.nspname, c.relname, con.conname) AS name,
  json_build_object(
    'definition', pg_get_constraintdef(con.oid),
    'validated', con.convalidated,
    'comment', obj_description(con.oid, 'pg_constraint'))::text AS attrs,
  json_build_object(
    'create', format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s;', n.nspname, c.relname, con.conname, pg_get_constraintdef(con.oid)),
    'drop', format('ALTER TABLE %I.%I DROP CONSTRAINT %I;', n.nspname, c.relname, con.conname),
    'fix.validated', CASE WHEN con.convalidated THEN format('ALTER TABLE %I.%I VALIDATE CONSTRAINT %I;', n.nspname, c.relname, con.conname) END,
    'fix.comment', format('COMMENT ON CONSTRAINT %I ON %I.%I IS %L;', con.conname, n.nspname, c.relname, obj_description(con.oid, 'pg_constraint')))::text AS sql
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype IN ('p', 'u', 'f', 'c', 'x') AND {ns} AND {ours} AND {rel_ext}
  AND NOT (con.contype = 'f' AND con.conparentid <> 0
           AND EXISTS (SELECT 1 FROM pg_constraint pc WHERE pc.oid = con.conparentid AND pc.conrelid = con.conrelid))"
            ),
        ),
        (
            "indexes",
            format!(
                r"
SELECT 'index' AS kind, format('%s.%s', n.nspname, ic.relname) AS name,
  json_build_object(
    'definition', pg_get_indexdef(i.indexrelid),
    'clustered', i.indisclustered,
    'comment', obj_description(i.indexrelid, 'pg_class'))::text AS attrs,
  json_build_object(
    'create', pg_get_indexdef(i.indexrelid) || ';',
    'drop', format('DROP INDEX %I.%I;', n.nspname, ic.relname),
    'fix.comment', format('COMMENT ON INDEX %I.%I IS %L;', n.nspname, ic.relname, obj_description(i.indexrelid, 'pg_class')))::text AS sql
FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND {ns} AND {ours} AND {}
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                  WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))",
                not_ext("pg_class", "ic.oid")
            ),
        ),
        (
            "types",
            format!(
                r"
SELECT CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' ELSE 'composite-type' END AS kind,
  format('%s.%s', n.nspname, t.typname) AS name,
  json_build_object(
    'labels', CASE WHEN t.typtype = 'e' THEN
        (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)::text END,
    'base_type', CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
    'not_null', CASE WHEN t.typtype = 'd' THEN t.typnotnull END,
    'default', t.typdefault,
    'collation', CASE WHEN t.typtype = 'd' AND t.typcollation <> bt.typcollation THEN format('%I.%I', cn.nspname, co.collname) END,
    'constraints', (SELECT string_agg(format('%s %s', k.conname, pg_get_constraintdef(k.oid)), '; ' ORDER BY k.conname)
        FROM pg_constraint k WHERE k.contypid = t.oid),
    'attributes', CASE WHEN t.typtype = 'c' THEN
        (SELECT string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum)
         FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) END,
    'comment', obj_description(t.oid, 'pg_type'))::text AS attrs,
  json_build_object(
    'type_name', format('%I.%I', n.nspname, t.typname),
    'drop', format('DROP %s %I.%I;', CASE WHEN t.typtype = 'd' THEN 'DOMAIN' ELSE 'TYPE' END, n.nspname, t.typname),
    'create', CASE t.typtype
      WHEN 'e' THEN format('CREATE TYPE %I.%I AS ENUM (%s);', n.nspname, t.typname,
        (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid))
      WHEN 'c' THEN format('CREATE TYPE %I.%I AS (%s);', n.nspname, t.typname,
        (SELECT string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum)
         FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped))
      ELSE format('CREATE DOMAIN %I.%I AS %s', n.nspname, t.typname, format_type(t.typbasetype, t.typtypmod))
        || coalesce(' DEFAULT ' || t.typdefault, '') || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
        || coalesce((SELECT string_agg(format(' CONSTRAINT %I %s', k.conname, pg_get_constraintdef(k.oid)), '' ORDER BY k.conname)
                     FROM pg_constraint k WHERE k.contypid = t.oid), '') || ';' END,
    'fix.default', CASE WHEN t.typtype = 'd' THEN
        CASE WHEN t.typdefault IS NULL THEN format('ALTER DOMAIN %I.%I DROP DEFAULT;', n.nspname, t.typname)
             ELSE format('ALTER DOMAIN %I.%I SET DEFAULT %s;', n.nspname, t.typname, t.typdefault) END END,
    'fix.not_null', CASE WHEN t.typtype = 'd' THEN format('ALTER DOMAIN %I.%I %s NOT NULL;', n.nspname, t.typname,
        CASE WHEN t.typnotnull THEN 'SET' ELSE 'DROP' END) END,
    'fix.comment', format('COMMENT ON %s %I.%I IS %L;', CASE WHEN t.typtype = 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
        n.nspname, t.typname, obj_description(t.oid, 'pg_type')))::text AS sql
FROM pg_type t
  JOIN pg_namespace n ON n.oid = t.typnamespace
  LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
  LEFT JOIN pg_collation co ON co.oid = t.typcollation
  LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
WHERE (t.typtype IN ('e', 'd')
       OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = t.typrelid AND r.relkind = 'c')))
  AND {ns} AND {}",
                not_ext("pg_type", "t.oid")
            ),
        ),
        (
            "sequences",
            format!(
                r"
SELECT 'sequence' AS kind, format('%s.%s', n.nspname, c.relname) AS name,
  json_build_object(
    'type', format_type(s.seqtypid, NULL),
    'start', s.seqstart, 'increment', s.seqincrement, 'min', s.seqmin, 'max', s.seqmax,
    'cache', s.seqcache, 'cycle', s.seqcycle,
    'owned_by', (SELECT format('%s.%s.%s', dn.nspname, dc.relname, da.attname)
        FROM pg_depend d JOIN pg_class dc ON dc.oid = d.refobjid JOIN pg_namespace dn ON dn.oid = dc.relnamespace
          JOIN pg_attribute da ON da.attrelid = d.refobjid AND da.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'a' AND d.refclassid = 'pg_class'::regclass),
    'comment', obj_description(c.oid, 'pg_class'))::text AS attrs,
  json_build_object(
    'drop', format('DROP SEQUENCE %I.%I;', n.nspname, c.relname),
    'create', format('CREATE SEQUENCE %I.%I AS %s INCREMENT BY %s MINVALUE %s MAXVALUE %s START WITH %s CACHE %s%s;',
        n.nspname, c.relname, format_type(s.seqtypid, NULL), s.seqincrement, s.seqmin, s.seqmax, s.seqstart, s.seqcache,
        CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END),
    'replace', format('ALTER SEQUENCE %I.%I AS %s INCREMENT BY %s MINVALUE %s MAXVALUE %s START WITH %s CACHE %s%s;',
        n.nspname, c.relname, format_type(s.seqtypid, NULL), s.seqincrement, s.seqmin, s.seqmax, s.seqstart, s.seqcache,
        CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END),
    'fix.comment', format('COMMENT ON SEQUENCE %I.%I IS %L;', n.nspname, c.relname, obj_description(c.oid, 'pg_class')))::text AS sql
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {ns} AND {ours} AND {rel_ext}
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i')"
            ),
        ),
        (
            "views",
            format!(
                r"
SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized-view' END AS kind,
  format('%s.%s', n.nspname, c.relname) AS name,
  json_build_object(
    'definition', pg_get_viewdef(c.oid, true),
    'options', array_to_string(c.reloptions, ', '),
    'comment', obj_description(c.oid, 'pg_class'))::text AS attrs,
  json_build_object(
    'drop', format('DROP %s %I.%I;', CASE c.relkind WHEN 'v' THEN 'VIEW' ELSE 'MATERIALIZED VIEW' END, n.nspname, c.relname),
    'create', format('CREATE %s %I.%I AS %s;', CASE c.relkind WHEN 'v' THEN 'VIEW' ELSE 'MATERIALIZED VIEW' END, n.nspname, c.relname,
        regexp_replace(pg_get_viewdef(c.oid, true), '^\s+|;\s*$', '', 'g')),
    'replace', CASE WHEN c.relkind = 'v' THEN format('CREATE OR REPLACE VIEW %I.%I AS %s;', n.nspname, c.relname,
        regexp_replace(pg_get_viewdef(c.oid, true), '^\s+|;\s*$', '', 'g')) END,
    'fix.comment', format('COMMENT ON %s %I.%I IS %L;', CASE c.relkind WHEN 'v' THEN 'VIEW' ELSE 'MATERIALIZED VIEW' END,
        n.nspname, c.relname, obj_description(c.oid, 'pg_class')))::text AS sql
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND {ns} AND {ours} AND {rel_ext}"
            ),
        ),
        (
            "functions",
            format!(
                r"
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END AS kind,
  format('%s.%s(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) AS name,
  json_build_object(
    'definition', CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END,
    'aggregate', CASE WHEN p.prokind = 'a' THEN true END,
    'comment', obj_description(p.oid, 'pg_proc'))::text AS attrs,
  json_build_object(
    'create', CASE WHEN p.prokind <> 'a' THEN rtrim(pg_get_functiondef(p.oid), E'\n') || ';' END,
    'replace', CASE WHEN p.prokind <> 'a' THEN rtrim(pg_get_functiondef(p.oid), E'\n') || ';' END,
    'drop', format('DROP %s %s;', CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
        p.oid::regprocedure),
    'fix.comment', format('COMMENT ON %s %s IS %L;', CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
        p.oid::regprocedure, obj_description(p.oid, 'pg_proc')))::text AS sql
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {ns} AND {}",
                not_ext("pg_proc", "p.oid")
            ),
        ),
        (
            "triggers",
            format!(
                r"
SELECT 'trigger' AS kind, format('%s.%s.%s', n.nspname, c.relname, tg.tgname) AS name,
  json_build_object(
    'definition', pg_get_triggerdef(tg.oid),
    'enabled', CASE tg.tgenabled WHEN 'O' THEN 'yes' WHEN 'D' THEN 'no' WHEN 'R' THEN 'replica only' WHEN 'A' THEN 'always' END,
    'comment', obj_description(tg.oid, 'pg_trigger'))::text AS attrs,
  json_build_object(
    'create', pg_get_triggerdef(tg.oid) || ';',
    'drop', format('DROP TRIGGER %I ON %I.%I;', tg.tgname, n.nspname, c.relname),
    'fix.enabled', format('ALTER TABLE %I.%I %s TRIGGER %I;', n.nspname, c.relname,
        CASE tg.tgenabled WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA' WHEN 'A' THEN 'ENABLE ALWAYS' ELSE 'ENABLE' END, tg.tgname),
    'fix.comment', format('COMMENT ON TRIGGER %I ON %I.%I IS %L;', tg.tgname, n.nspname, c.relname, obj_description(tg.oid, 'pg_trigger')))::text AS sql
FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT tg.tgisinternal AND {ns} AND {ours} AND {rel_ext}"
            ),
        ),
        (
            "policies",
            format!(
                r"
SELECT 'policy' AS kind, format('%s.%s.%s', n.nspname, c.relname, pol.polname) AS name,
  json_build_object(
    'command', x.cmd,
    'permissive', pol.polpermissive,
    'roles', x.roles,
    'using', pg_get_expr(pol.polqual, pol.polrelid),
    'with_check', pg_get_expr(pol.polwithcheck, pol.polrelid))::text AS attrs,
  json_build_object(
    'drop', format('DROP POLICY %I ON %I.%I;', pol.polname, n.nspname, c.relname),
    'create', format('CREATE POLICY %I ON %I.%I AS %s FOR %s TO %s', pol.polname, n.nspname, c.relname,
        CASE WHEN pol.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END, x.cmd, x.roles)
      || coalesce(' USING (' || pg_get_expr(pol.polqual, pol.polrelid) || ')', '')
      || coalesce(' WITH CHECK (' || pg_get_expr(pol.polwithcheck, pol.polrelid) || ')', '') || ';')::text AS sql
FROM pg_policy pol
  JOIN pg_class c ON c.oid = pol.polrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN LATERAL (SELECT
      CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS cmd,
      (SELECT string_agg(rn, ', ' ORDER BY rn) FROM (SELECT CASE WHEN r = 0 THEN 'public' ELSE quote_ident(pg_get_userbyid(r)) END AS rn
                                                     FROM unnest(pol.polroles) AS r) names) AS roles) x
WHERE {ns} AND {ours} AND {rel_ext}"
            ),
        ),
        (
            "privileges",
            format!(
                r#"
WITH db AS (SELECT COALESCE(
    (SELECT c.relowner FROM pg_class c WHERE c.relname = '__diesel_schema_migrations' AND c.relkind = 'r' LIMIT 1),
    (SELECT datdba FROM pg_database WHERE datname = current_database())) AS migrator),
objects(label, owner, acl, oid, catalog) AS (
  SELECT format('%s %s.%s', CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized-view' ELSE 'table' END,
           n.nspname, c.relname),
         c.relowner, COALESCE(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner)),
         c.oid, 'pg_class'::regclass
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND {ns} AND {ours}
  UNION ALL
  SELECT format('%s %s.%s(%s)', CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, n.nspname, p.proname,
           pg_get_function_identity_arguments(p.oid)),
         p.proowner, COALESCE(p.proacl, acldefault('f', p.proowner)), p.oid, 'pg_proc'::regclass
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE {ns}
  UNION ALL
  SELECT format('schema %s', n.nspname), n.nspowner, COALESCE(n.nspacl, acldefault('n', n.nspowner)), n.oid,
         'pg_namespace'::regclass
  FROM pg_namespace n WHERE {ns}
)
SELECT 'privileges' AS kind, o.label AS name,
  json_build_object(
    'owner', CASE WHEN o.owner <> db.migrator THEN pg_get_userbyid(o.owner) END,
    'grants', (SELECT string_agg(g.line, '; ' ORDER BY g.line) FROM (
        SELECT format('%s: %s',
                 CASE WHEN a.grantee = 0 THEN 'PUBLIC' WHEN a.grantee = o.owner THEN 'owner' ELSE pg_get_userbyid(a.grantee) END,
                 string_agg(a.privilege_type || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END, ', '
                            ORDER BY a.privilege_type)) AS line
        FROM aclexplode(o.acl) a GROUP BY a.grantee) g))::text AS attrs,
  NULL::text AS sql
FROM objects o CROSS JOIN db
WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = o.catalog AND d.objid = o.oid AND d.deptype = 'e')"#
            ),
        ),
    ]
}

/// Read the whole catalog of a PostgreSQL database.
pub fn postgres(conn: &mut diesel::PgConnection) -> Result<Catalog, CatalogError> {
    let mut catalog = Catalog::new();
    for (what, sql) in queries() {
        let rows: Vec<ObjectRow> = diesel::sql_query(&sql)
            .load(conn)
            .map_err(CatalogError::query("postgres", what))?;
        assemble(&mut catalog, rows, "postgres", what, &|v| v)?;
    }
    Ok(catalog)
}
