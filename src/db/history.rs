//! The schema a set's migration history produces: replay on a scratch database, introspect,
//! render each `[print_schema]` section as diesel print-schema would.

use std::path::{Path, PathBuf};

use crate::backend::Backend;
use crate::database_url::DatabaseUrl;
use crate::db::introspect;
use crate::db::scratch::{ReplayError, ScratchDb};
use crate::db::{Connection, DbError};
use crate::migration::Migration;
use crate::schema::{print_schema_sections, render, FormatConfig, PrintSchemaOptions};
use crate::workspace::MigrationSet;

/// One rendered `[print_schema]` section.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RenderedSection {
    /// `default`, or the NAME of `[print_schema.NAME]`.
    pub key: String,
    /// The schema file this section writes, if any.
    pub file: Option<PathBuf>,
    pub text: String,
}

/// Why the schema of a history could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Scratch(#[from] DbError),
    #[error("replaying the history failed")]
    Replay(ReplayError),
    #[error("reading the replayed schema failed: {0}")]
    Introspect(String),
    #[error("rendering the schema failed: {0}")]
    Render(String),
}

/// The print-schema sections of a set, with the set's schema file on the default section.
pub fn sections(set: &MigrationSet) -> Result<Vec<(String, PrintSchemaOptions)>, HistoryError> {
    let mut sections = match &set.diesel_toml {
        Some(d) => {
            let empty = toml::Value::Table(Default::default());
            let value = d.print_schema.as_ref().unwrap_or(&empty);
            let dir = d.path.parent().unwrap_or(Path::new("."));
            print_schema_sections(value, dir)
                .map_err(|e| HistoryError::Config(format!("{}: {e}", d.path.display())))?
        }
        None => vec![("default".to_string(), PrintSchemaOptions::default())],
    };
    if let Some((_, default)) = sections.iter_mut().find(|(k, _)| k == "default") {
        if set.schema_file.is_some() {
            default.file = set.schema_file.clone();
        }
    }
    Ok(sections)
}

/// rustfmt settings that apply to the set's schema output.
pub fn format_config(set: &MigrationSet, root: &Path) -> Result<FormatConfig, HistoryError> {
    FormatConfig::discover(&set.dir, root).map_err(|e| HistoryError::Config(e.to_string()))
}

/// Replay `migrations` on a fresh scratch database and render every section.
pub fn render_history(
    backend: Backend,
    server: Option<&DatabaseUrl>,
    migrations: &[Migration],
    sections: &[(String, PrintSchemaOptions)],
    fmt: &FormatConfig,
) -> Result<Vec<RenderedSection>, HistoryError> {
    let mut scratch = ScratchDb::create(backend, server)?;
    scratch.replay(migrations).map_err(HistoryError::Replay)?;
    render_live(&mut scratch.conn, sections, fmt)
}

/// Render every section from a live connection (a scratch database or a real one).
pub fn render_live(
    conn: &mut Connection,
    sections: &[(String, PrintSchemaOptions)],
    fmt: &FormatConfig,
) -> Result<Vec<RenderedSection>, HistoryError> {
    let backend = conn.backend();
    let mut out = Vec::new();
    for (key, opts) in sections {
        let schema = match conn {
            Connection::Sqlite(c) => introspect::sqlite(c, opts),
            Connection::Postgres(c) => introspect::postgres(c, opts),
            Connection::Mysql(c) => introspect::mysql(c, opts),
        }
        .map_err(|e| HistoryError::Introspect(e.to_string()))?;
        let text =
            render(&schema, backend, opts, fmt).map_err(|e| HistoryError::Render(e.to_string()))?;
        out.push(RenderedSection {
            key: key.clone(),
            file: opts.file.clone(),
            text,
        });
    }
    Ok(out)
}
