//! `cargo migrate bundle --out FILE`: the selected sets' migrations in one file, for hosts
//! without cargo (see [`crate::bundle`]). Folder problems stop it, as they stop `apply`: a
//! bundle never holds what `apply` would refuse to read.

use std::path::{Path, PathBuf};

use super::{stop_on_problems, Outcome};
use crate::bundle::Bundle;
use crate::output::{count, Human, Paint, Printer, Render};
use crate::settings::Resolved;
use serde::Serialize;

/// `bundle`.
pub fn run(resolved: &Resolved, out: &Path, printer: &Printer) -> anyhow::Result<Outcome> {
    if let Some(outcome) = stop_on_problems(resolved, printer, "bundle") {
        return Ok(outcome);
    }
    resolved.require_sets("bundle")?;
    let bundle = Bundle::of(resolved)?;
    bundle.write(out)?;
    printer.report(&BundleReport {
        command: "bundle",
        ok: true,
        file: out.to_path_buf(),
        checksum: bundle.checksum.clone(),
        sets: bundle
            .sets
            .iter()
            .map(|s| BundleSetReport {
                set: s.name.clone(),
                backend: s.backend.as_str(),
                migrations: s.migrations.len(),
                database_url_env: s.database_url_env.clone(),
            })
            .collect(),
    });
    Ok(Outcome::Success)
}

/// `bundle`.
#[derive(Debug, Clone, Serialize)]
pub struct BundleReport {
    /// `"bundle"`.
    pub command: &'static str,
    /// `true`.
    pub ok: bool,
    /// The bundle written.
    pub file: PathBuf,
    /// Its checksum.
    pub checksum: String,
    /// What it holds.
    pub sets: Vec<BundleSetReport>,
}

/// One set of a bundle.
#[derive(Debug, Clone, Serialize)]
pub struct BundleSetReport {
    pub set: String,
    pub backend: &'static str,
    pub migrations: usize,
    /// The variable `--bundle` runs read the set's URL from.
    pub database_url_env: String,
}

impl Render for BundleReport {
    fn human(&self, p: &Human<'_>) {
        for s in &self.sets {
            p.line(format!(
                "{} {} ({}, URL from ${})",
                s.set.strong(),
                count(s.migrations, "migration"),
                s.backend,
                s.database_url_env
            ));
        }
        p.result(format!(
            "wrote {} with {}; run it with `cargo-migrate --bundle {} apply`",
            self.file.display(),
            count(self.sets.len(), "set"),
            self.file.display()
        ));
    }
}
