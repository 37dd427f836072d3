//! `cargo migrate generate NAME [--diff-schema] [--edit]`: a new migration folder.
//!
//! The folder is named as diesel_cli 2.3 names it, `%Y-%m-%d-%H%M%S-XXXX_<name>` in UTC, where
//! `XXXX` is the first four-hex-digit sub-version that no existing folder starts with; so folders
//! made by either tool sort the same way. With `--diff-schema` the files are filled with the SQL
//! that turns the schema the history produces (replayed on a scratch database and introspected)
//! into the schema the committed schema file describes (parsed, never compiled); the planning is
//! [`crate::generate::plan`]. Both files are written into a hidden temporary folder which is then
//! renamed into place, so a failure never leaves half a migration behind.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use colored::Colorize;
use diesel::sql_types::{Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::json;

use super::{stop_on_problems, Outcome};
use crate::backend::Backend;
use crate::db::scratch::ScratchDb;
use crate::db::Connection;
use crate::generate::{self, HistoryFacts, NoteKind, Plan};
use crate::output::Printer;
use crate::settings::{Resolved, SetContext};

/// Options of `generate`.
#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    /// The migration's name (snake_case).
    pub name: String,
    /// Fill the files from the difference between the schema file and the history.
    pub diff_schema: bool,
    /// Open both files in `$VISUAL` / `$EDITOR` afterwards.
    pub edit: bool,
}

/// Why `generate` refused to run.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The name is not snake_case.
    #[error("the migration name `{name}` is not snake_case\nhelp: write it as `{suggestion}`")]
    NotSnakeCase { name: String, suggestion: String },
    /// The name has nothing to turn into snake_case.
    #[error("the migration name `{name}` has no letters or digits to make a snake_case name of\nhelp: name the migration after what it does, e.g. `add_users_email`")]
    EmptyName { name: String },
    /// No set, or more than one, is selected.
    #[error("{0}")]
    Selection(String),
    /// The folder exists already.
    #[error("the migration folder `{0}` already exists\nhelp: wait a second and run the command again, or choose another name")]
    Exists(PathBuf),
    /// No schema file is configured.
    #[error("set `{set}` has no schema file, so --diff-schema has nothing to compare with\nhelp: set `[print_schema] file` in diesel.toml or `schema` in [package.metadata.migrate]")]
    NoSchemaFile { set: String },
}

/// The name as diesel would accept it: lowercase snake_case of letters, digits and `_`.
pub fn check_name(name: &str) -> Result<(), GenerateError> {
    use heck::ToSnakeCase;
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    let suggestion = cleaned.to_snake_case();
    if suggestion.is_empty() {
        return Err(GenerateError::EmptyName {
            name: name.to_string(),
        });
    }
    if suggestion != name {
        return Err(GenerateError::NotSnakeCase {
            name: name.to_string(),
            suggestion,
        });
    }
    Ok(())
}

/// `YYYY-MM-DD-HHMMSS` in UTC for `now`.
pub fn timestamp(now: SystemTime) -> String {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    format!(
        "{year:04}-{month:02}-{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The version diesel_cli 2.3 would pick at `now`: the timestamp plus the first `-XXXX`
/// sub-version that no name in `existing` starts with and whose diesel version (dashes removed)
/// is not in `taken`.
pub fn next_version(
    now: SystemTime,
    existing: &[String],
    taken: &std::collections::BTreeSet<String>,
) -> Option<String> {
    let stamp = timestamp(now);
    (0..=u16::MAX)
        .map(|sub| format!("{stamp}-{sub:04x}"))
        .find(|v| {
            !existing.iter().any(|e| e.starts_with(v.as_str()))
                && !taken.contains(&v.replace('-', ""))
        })
}

fn select_set(resolved: &Resolved) -> Result<&SetContext, GenerateError> {
    match resolved.sets.as_slice() {
        [one] => Ok(one),
        [] => Err(GenerateError::Selection("no migration set is selected, so there is nowhere to put the migration\nhelp: run it in a workspace whose members have diesel migrations, or fix -p/--exclude".into())),
        many => {
            let names: Vec<&str> = many.iter().map(|c| c.set.name.as_str()).collect();
            Err(GenerateError::Selection(format!(
                "{} migration sets are selected ({}), and a migration belongs to one\nhelp: choose the set with -p NAME, e.g. `cargo migrate generate … -p {}`",
                names.len(),
                names.join(", "),
                names[0]
            )))
        }
    }
}

#[derive(QueryableByName)]
struct Row3 {
    #[diesel(sql_type = Text)]
    a: String,
    #[diesel(sql_type = Text)]
    b: String,
    #[diesel(sql_type = Nullable<Text>)]
    c: Option<String>,
}

fn load3(conn: &mut Connection, sql: &str) -> Vec<Row3> {
    let q = diesel::sql_query(sql);
    crate::with_conn!(conn, c => q.load::<Row3>(c)).unwrap_or_default()
}

/// Read what the plan needs beyond the model from the replayed database.
fn history_facts(conn: &mut Connection) -> HistoryFacts {
    let mut facts = HistoryFacts::default();
    match conn.backend() {
        Backend::Sqlite => {
            for r in load3(conn, "SELECT type AS a, tbl_name AS b, sql AS c FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite%' ORDER BY rowid") {
                let Some(sql) = r.c else { continue };
                if r.a == "table" {
                    facts.table_sql.insert(r.b, sql);
                } else {
                    facts.table_objects.entry(r.b).or_default().push(sql);
                }
            }
        }
        Backend::Postgres => {
            for r in load3(conn, "SELECT n.nspname::text AS a, t.typname::text AS b, NULL::text AS c FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace") {
                facts.existing_types.insert(format!("{}.{}", r.a, r.b));
            }
            let constraints = "FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid \
                 JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname = current_schema()";
            let first_column = "(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = con.conrelid AND a.attnum = con.conkey[1])";
            for r in load3(conn, &format!("SELECT con.conname::text AS a, cl.relname::text AS b, {first_column} AS c {constraints} AND con.contype = 'f' AND array_length(con.conkey, 1) = 1")) {
                if let Some(col) = r.c {
                    facts.foreign_key_names.insert((r.b, col), r.a);
                }
            }
            for r in load3(conn, &format!("SELECT con.conname::text AS a, cl.relname::text AS b, NULL::text AS c {constraints} AND con.contype = 'p'")) {
                facts.primary_key_names.insert(r.b, r.a);
            }
        }
        Backend::Mysql => {
            for r in load3(
                conn,
                "SELECT CAST(constraint_name AS CHAR) AS a, CAST(table_name AS CHAR) AS b, CAST(column_name AS CHAR) AS c \
                 FROM information_schema.key_column_usage WHERE table_schema = DATABASE() AND referenced_table_name IS NOT NULL",
            ) {
                if let Some(col) = r.c {
                    facts.foreign_key_names.insert((r.b, col), r.a);
                }
            }
        }
    }
    facts
}

/// The schema file `--diff-schema` compares with: the set's schema file, else the default
/// `[print_schema]` section's file.
fn schema_file(ctx: &SetContext) -> anyhow::Result<(PathBuf, crate::schema::PrintSchemaOptions)> {
    let sections = crate::db::history::sections(&ctx.set)?;
    let default = sections
        .into_iter()
        .find(|(k, _)| k == "default")
        .map(|(_, o)| o);
    match default {
        Some(opts) if opts.file.is_some() => Ok((opts.file.clone().unwrap_or_default(), opts)),
        _ => Err(GenerateError::NoSchemaFile {
            set: ctx.set.name.clone(),
        }
        .into()),
    }
}

/// Plan the `--diff-schema` migration of one set: parse its schema file, replay its history,
/// compare. Nothing is written.
pub fn plan_for(resolved: &Resolved, ctx: &SetContext) -> anyhow::Result<Plan> {
    let backend = super::schema::backend_of(ctx)?;
    let (file, opts) = schema_file(ctx)?;
    let parsed = crate::schema::parse::parse_file(&file).map_err(|mut e| {
        e.file = resolved.show(&e.file);
        e
    })?;
    let desired = parsed.to_model(backend).map_err(|mut e| {
        e.file = resolved.show(&e.file);
        e
    })?;
    let server = resolved.scratch_server(ctx, backend);
    let mut scratch = ScratchDb::create(backend, server.as_ref())?;
    if let Err(err) = scratch.replay(&ctx.folder.migrations) {
        let diag = super::schema::history_diagnostic(
            resolved,
            ctx,
            &crate::db::history::HistoryError::Replay(err),
        );
        anyhow::bail!("{}", diag.render());
    }
    let history = match &mut scratch.conn {
        Connection::Sqlite(c) => crate::db::introspect::sqlite(c, &opts),
        Connection::Postgres(c) => crate::db::introspect::postgres(c, &opts),
        Connection::Mysql(c) => crate::db::introspect::mysql(c, &opts),
    }
    .map_err(|e| {
        anyhow::anyhow!(
            "set `{}`: reading the schema of the replayed history failed: {e}",
            ctx.set.name
        )
    })?;
    let facts = history_facts(&mut scratch.conn);
    Ok(generate::plan(
        &history,
        &desired.schema,
        &desired.custom_types,
        backend,
        &facts,
    ))
}

fn header_up(plan: Option<(&Plan, &Path)>) -> String {
    match plan {
        None => "-- Your SQL goes here: the changes this migration makes.\n".to_string(),
        Some((_, file)) => format!(
            "-- Generated by `cargo migrate generate --diff-schema`: turns the schema the migrations produce\n\
             -- into the one {} describes. Review it before applying; resolve every TODO.\n\n",
            file.display()
        ),
    }
}

fn header_down(plan: Option<(&Plan, &Path)>) -> String {
    match plan {
        None => "-- This file undoes everything up.sql does.\n".to_string(),
        Some(_) => {
            "-- Undoes up.sql, in reverse order. Data that up.sql deleted does not come back.\n\n"
                .to_string()
        }
    }
}

/// Write `up` and `down` into `<migrations>/<dir_name>` through a temporary folder.
fn write_migration(
    migrations: &Path,
    dir_name: &str,
    up: &str,
    down: &str,
) -> anyhow::Result<PathBuf> {
    let target = migrations.join(dir_name);
    if target.exists() {
        return Err(GenerateError::Exists(target).into());
    }
    std::fs::create_dir_all(migrations).map_err(|e| {
        anyhow::anyhow!(
            "cannot create the migrations folder `{}`: {e}",
            migrations.display()
        )
    })?;
    let tmp = migrations.join(format!(
        ".{dir_name}.cargo-migrate-{}.tmp",
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        std::fs::create_dir(&tmp)?;
        std::fs::write(tmp.join("up.sql"), up)?;
        std::fs::write(tmp.join("down.sql"), down)?;
        std::fs::rename(&tmp, &target)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        anyhow::bail!("cannot write the migration `{}`: {e}\nhelp: check that the migrations folder is writable; nothing was created", target.display());
    }
    Ok(target)
}

fn open_in_editor(files: &[PathBuf], printer: &Printer) {
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()));
    let Some(editor) = editor else {
        printer.warn("--edit: neither $VISUAL nor $EDITOR is set, so the files were not opened");
        return;
    };
    let mut parts = editor.split_whitespace();
    let Some(program) = parts.next() else { return };
    match std::process::Command::new(program)
        .args(parts)
        .args(files)
        .status()
    {
        Ok(status) if status.success() => {}
        Ok(status) => printer.warn(format!("--edit: `{editor}` exited with {status}")),
        Err(e) => printer.warn(format!("--edit: cannot run `{editor}`: {e}")),
    }
}

pub fn run(
    resolved: &Resolved,
    opts: &GenerateOptions,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    check_name(&opts.name)?;
    let ctx = select_set(resolved)?;
    let set = &ctx.set.name;
    let mut plan_and_file: Option<(Plan, PathBuf)> = None;
    if opts.diff_schema {
        if let Some(outcome) = stop_on_problems(resolved, printer, "generate") {
            return Ok(outcome);
        }
        let (file, _) = schema_file(ctx)?;
        let plan = plan_for(resolved, ctx)?;
        let shown = resolved.show(&file);
        if plan.is_empty() {
            printer.result(format!(
                "{} {} matches the schema the migrations produce; no migration created",
                set.bold(),
                shown.display()
            ));
            printer.json(&json!({ "command": "generate", "ok": true, "set": set, "created": null, "changes": [] }));
            return Ok(Outcome::Success);
        }
        plan_and_file = Some((plan, shown));
    }
    let migrations = &ctx.set.migrations_dir;
    let existing: Vec<String> = std::fs::read_dir(migrations)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut taken = resolved.sibling_versions(ctx);
    taken.extend(ctx.folder.migrations.iter().map(|m| m.version.clone()));
    let version = next_version(SystemTime::now(), &existing, &taken)
        .ok_or_else(|| anyhow::anyhow!("every sub-version of this second is taken in `{}`\nhelp: wait a second and run the command again", resolved.show(migrations).display()))?;
    let dir_name = format!("{version}_{}", opts.name);
    let pf = plan_and_file.as_ref().map(|(p, f)| (p, f.as_path()));
    let up = header_up(pf) + pf.map(|(p, _)| p.up.as_str()).unwrap_or("");
    let down = header_down(pf) + pf.map(|(p, _)| p.down.as_str()).unwrap_or("");
    let dir = write_migration(migrations, &dir_name, &up, &down)?;
    let files = [dir.join("up.sql"), dir.join("down.sql")];

    for f in &files {
        printer.line(format!(
            "{} {}",
            "Created".green().bold(),
            resolved.show(f).display()
        ));
    }
    let mut notes_json = Vec::new();
    if let Some((plan, file)) = &plan_and_file {
        printer.line(format!(
            "{} from {}:",
            super::count(plan.changes.len(), "change"),
            file.display()
        ));
        for c in &plan.changes {
            printer.line(format!("  {c}"));
        }
        for n in &plan.notes {
            match n.kind {
                NoteKind::DataLoss => printer.warn(format!("data loss: {}", n.message)),
                NoteKind::Todo => printer.warn(format!("TODO: {}", n.message)),
                NoteKind::Info => printer.line(format!("{} {}", "note:".cyan().bold(), n.message)),
            }
        }
        notes_json = plan.notes.clone();
    }
    let next = if plan_and_file.is_some() {
        format!("review both files (resolve every TODO), then run `cargo migrate check -p {set}` and `cargo migrate apply -p {set}`")
    } else {
        format!("write the SQL into both files, then run `cargo migrate apply -p {set}`")
    };
    printer.line(format!("{} {next}", "next:".bold()));
    printer.json(&json!({
        "command": "generate",
        "ok": true,
        "set": set,
        "created": resolved.show(&dir),
        "version": version.replace('-', ""),
        "files": files.iter().map(|f| resolved.show(f)).collect::<Vec<_>>(),
        "changes": plan_and_file.as_ref().map(|(p, _)| p.changes.clone()).unwrap_or_default(),
        "notes": notes_json,
    }));
    if opts.edit {
        open_in_editor(&files, printer);
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_snake_case() {
        assert!(check_name("add_users").is_ok());
        assert!(check_name("v2_fix").is_ok());
        match check_name("AddUsers") {
            Err(GenerateError::NotSnakeCase { suggestion, .. }) => {
                assert_eq!(suggestion, "add_users")
            }
            other => panic!("{other:?}"),
        }
        match check_name("add users-email") {
            Err(GenerateError::NotSnakeCase { suggestion, .. }) => {
                assert_eq!(suggestion, "add_users_email")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            check_name("!!"),
            Err(GenerateError::EmptyName { .. })
        ));
    }

    #[test]
    fn versions_follow_diesel_cli() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(timestamp(t), "2023-11-14-221320");
        let none = Default::default();
        assert_eq!(
            next_version(t, &[], &none).unwrap(),
            "2023-11-14-221320-0000"
        );
        let existing = vec![
            "2023-11-14-221320-0000_a".to_string(),
            "2023-11-14-221320-0001_b".to_string(),
        ];
        assert_eq!(
            next_version(t, &existing, &none).unwrap(),
            "2023-11-14-221320-0002"
        );
        let taken = ["202311142213200002".to_string()].into_iter().collect();
        assert_eq!(
            next_version(t, &existing, &taken).unwrap(),
            "2023-11-14-221320-0003"
        );
        assert_eq!(
            timestamp(UNIX_EPOCH + std::time::Duration::from_secs(951_782_400)),
            "2000-02-29-000000"
        );
    }
}
