//! `down-drops-not-created`: a `down.sql` that drops a table, column, type or index that its
//! `up.sql` did not create.
//!
//! A `down.sql` should undo exactly what `up.sql` did, so dropping what `up.sql` created is
//! its job and is never reported. Dropping anything else destroys data that existed before the
//! migration, usually because the file was copied from another migration or undoes more than
//! it should. The check is skipped when `up.sql` holds statements the linter cannot read, since
//! what they create is unknown.
//!
//! Safe pattern: drop only what `up.sql` created; to undo a change to an existing object,
//! restore its previous shape instead.

use crate::lint::config::Level;
use crate::lint::model::Action;

use super::{FileKind, FileState, Finding, MigrationCx, Rule, RuleInfo, ALL_BACKENDS};

pub const ID: &str = "down-drops-not-created";

pub struct DownDropsNotCreated;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: ALL_BACKENDS,
    summary: "down.sql drops a table, column, type or index that up.sql did not create",
    on_down: false,
};

impl Rule for DownDropsNotCreated {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_migration(&self, cx: &MigrationCx<'_>, out: &mut Vec<Finding>) {
        let (FileState::Read(up), FileState::Read(down)) = (&cx.up, &cx.down) else {
            return;
        };
        if up.facts.iter().any(|f| !f.understood) {
            return;
        }
        let created = cx.up_created;
        // Objects down.sql itself creates or renames into place before dropping them (restoring
        // an enum by rename-recreate-drop drops the `_old` type it just renamed) are its own.
        let mut own_tables: Vec<&str> = Vec::new();
        let mut own_types: Vec<&str> = Vec::new();
        let mut own_indexes: Vec<&str> = Vec::new();
        for (index, facts) in down.facts.iter().enumerate() {
            for act in &facts.actions {
                match &act.action {
                    Action::CreateTable { table, .. } | Action::RenameTable { to: table, .. } => {
                        own_tables.push(table)
                    }
                    Action::CreateEnum { name, .. } | Action::RenameType { to: name, .. } => {
                        own_types.push(name)
                    }
                    Action::CreateIndex {
                        name: Some(name), ..
                    } => own_indexes.push(name),
                    _ => {}
                }
                let what = match &act.action {
                    Action::DropTable { table, .. }
                        if !created.tables.contains(table)
                            && !own_tables.contains(&table.as_str()) =>
                    {
                        format!("table `{table}`")
                    }
                    Action::DropColumn { table, column }
                        if !created.tables.contains(table)
                            && !own_tables.contains(&table.as_str())
                            && !created.columns.contains(&(table.clone(), column.clone())) =>
                    {
                        format!("column `{table}.{column}`")
                    }
                    Action::DropType { name, .. }
                        if !created.types.contains(name) && !own_types.contains(&name.as_str()) =>
                    {
                        format!("type `{name}`")
                    }
                    Action::DropIndex { name, .. }
                        if !created.indexes.contains(name)
                            && !own_indexes.contains(&name.as_str()) =>
                    {
                        format!("index `{name}`")
                    }
                    _ => continue,
                };
                let at = act.at.or_else(|| Some(down.head(index)));
                out.push(cx.file_finding(
                    ID,
                    FileKind::Down,
                    Some(index),
                    at,
                    format!("down.sql drops {what}, which up.sql did not create: reverting destroys data that existed before this migration"),
                    "make down.sql undo only what up.sql did; to undo a change to an existing object, restore its previous shape",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::rules::drop_table;
    use crate::lint::testing::{at, Case};

    #[test]
    fn fires_on_foreign_drops() {
        let d = Case::pg("CREATE TABLE posts (id INT);")
            .down(Some("DROP TABLE posts;\nDROP TABLE users;"))
            .fires(ID);
        assert_eq!(d.len(), 1);
        assert_eq!(at(&d[0]), (2, 12));
        Case::pg("ALTER TABLE users ADD COLUMN a INT;")
            .down(Some("ALTER TABLE users DROP COLUMN b;"))
            .fires(ID);
    }

    /// Regression: a down.sql that restores an enum by rename-recreate-drop drops the type it
    /// renamed a moment before; that is not a foreign object.
    #[test]
    fn quiet_on_objects_down_sql_renamed_itself() {
        Case::pg("ALTER TYPE mood RENAME TO mood_old;\nCREATE TYPE mood AS ENUM ('a');\nALTER TABLE p ALTER COLUMN m TYPE mood USING m::text::mood;\nDROP TYPE mood_old;")
            .down(Some("ALTER TYPE mood RENAME TO mood_old;\nCREATE TYPE mood AS ENUM ('a', 'b');\nALTER TABLE p ALTER COLUMN m TYPE mood USING m::text::mood;\nDROP TYPE mood_old;"))
            .quiet(ID);
    }

    #[test]
    fn quiet_when_undoing_up() {
        Case::pg("CREATE TYPE mood AS ENUM ('a');\nCREATE TABLE p (id INT, m mood);\nALTER TABLE users ADD COLUMN a INT;\nCREATE INDEX users_a ON users (a);")
            .down(Some("DROP INDEX users_a;\nALTER TABLE users DROP COLUMN a;\nDROP TABLE p;\nDROP TYPE mood;"))
            .quiet(ID);
        // Undoing up.sql is not data loss: the drop rules stay quiet on down.sql.
        Case::pg("CREATE TABLE p (id INT);\nALTER TABLE users ADD COLUMN a INT;")
            .down(Some("ALTER TABLE users DROP COLUMN a;\nDROP TABLE p;"))
            .quiet(drop_table::ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(Case::pg("CREATE TABLE posts (id INT);")
            .down(Some("DROP TABLE posts;\nDROP TABLE users;"))
            .rendered(ID));
    }
}
