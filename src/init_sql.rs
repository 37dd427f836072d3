//! A set's `init-sql`: the SQL every connection opened for the set runs first. It lives on
//! its own, outside the configuration reader, because the embedded runner needs it too.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `init-sql` as written: one string, or a list of strings (each run as one batch).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InitSqlList(pub Vec<String>);

impl<'de> Deserialize<'de> for InitSqlList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = InitSqlList;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a list of strings (`init-sql`)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<InitSqlList, E> {
                Ok(InitSqlList(vec![v.to_string()]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<InitSqlList, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(InitSqlList(out))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A set's `init-sql`: the SQL every connection opened for the set runs first, before
/// anything else, and where it was configured (for messages).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InitSql {
    /// The entries, in order; each runs as one batch.
    pub statements: Vec<String>,
    /// The manifest that configured them.
    pub manifest: PathBuf,
    /// `[package.metadata.migrate]` or `[workspace.metadata.migrate]`.
    pub table: &'static str,
}

impl InitSql {
    /// No init-sql.
    pub fn none() -> InitSql {
        InitSql::default()
    }

    /// The init-sql of a package table, else the workspace's (a package value replaces the
    /// workspace's, it is not added to it).
    pub fn resolve(
        package: Option<&InitSqlList>,
        package_manifest: &Path,
        workspace: Option<&InitSqlList>,
        workspace_manifest: &Path,
    ) -> InitSql {
        match (package, workspace) {
            (Some(p), _) => InitSql {
                statements: p.0.clone(),
                manifest: package_manifest.to_path_buf(),
                table: "[package.metadata.migrate]",
            },
            (None, Some(w)) => InitSql {
                statements: w.0.clone(),
                manifest: workspace_manifest.to_path_buf(),
                table: "[workspace.metadata.migrate]",
            },
            (None, None) => InitSql::none(),
        }
    }
}
