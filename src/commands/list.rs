//! `cargo migrate list`: the migration sets of the workspace and their migrations, offline.

use super::Outcome;
use crate::output::Printer;
use crate::report::{ListReport, ListedMigration, ListedSet, Report};
use crate::settings::Resolved;

/// `list`.
pub fn run(resolved: &Resolved, printer: &Printer) -> anyhow::Result<Outcome> {
    let problems = resolved.problems();
    let root = &resolved.workspace.root;
    let sets = resolved
        .sets
        .iter()
        .map(|ctx| {
            let set = &ctx.set;
            ListedSet {
                name: set.name.clone(),
                dir: if &set.dir == root {
                    ".".into()
                } else {
                    set.dir.clone()
                },
                backend: ctx.backend(),
                migrations_dir: set.migrations_dir.clone(),
                schema_file: set.schema_file.clone(),
                database_url_env: set.database_url_env.clone(),
                database: ctx.url.as_ref().map(|(u, _)| u.to_string()),
                found_by: set.found_by,
                depends_on: set.depends_on.clone(),
                migrations: ctx
                    .folder
                    .migrations
                    .iter()
                    .map(|m| ListedMigration {
                        version: m.version.clone(),
                        name: m.name.clone(),
                        dir_name: m.dir_name.clone(),
                        has_down: m.has_down(),
                        run_in_transaction: m.run_in_transaction,
                    })
                    .collect(),
                url_origin: ctx.url.as_ref().map(|(_, s)| s.to_string()),
                has_problems: !ctx.folder.problems.is_empty(),
            }
        })
        .collect();
    let ok = problems.is_empty();
    printer.report(Report::List(&ListReport {
        command: "list",
        ok,
        workspace_root: root.clone(),
        sets,
        problems,
    }));
    Ok(if ok {
        Outcome::Success
    } else {
        Outcome::Unusable
    })
}
