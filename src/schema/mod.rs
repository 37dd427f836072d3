//! Everything about `schema.rs` that does not need a database.
//!
//! - [`model`]: tables, columns, types and foreign keys of an introspected schema, and diesel's
//!   naming rules.
//! - [`options`]: the `[print_schema]` sections of `diesel.toml`.
//! - [`render`](mod@render): model + options -> the exact text `diesel print-schema` produces.
//! - [`format`](mod@format): the rustfmt settings and layout rules that text follows.
//! - [`patch`]: applying a `patch_file` to the text.
//!
//! Reading a live database into the model lives in `db::introspect`.

pub mod compare;
pub mod format;
pub mod model;
pub mod options;
pub mod parse;
pub mod patch;
pub mod render;

pub use format::{FormatConfig, FormatError};
pub use model::Schema;
pub use options::{print_schema_sections, PrintSchemaOptions};
pub use render::render;

/// One rendered `[print_schema]` section: the text `diesel print-schema` would print for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RenderedSection {
    /// `default`, or the NAME of `[print_schema.NAME]`.
    pub key: String,
    /// The schema file this section writes, if any.
    pub file: Option<std::path::PathBuf>,
    /// The schema.rs text.
    pub text: String,
    /// The server (or SQLite library) and version the history was replayed on, when this
    /// section comes from a replay.
    #[serde(default)]
    pub replayed_on: Option<String>,
}
