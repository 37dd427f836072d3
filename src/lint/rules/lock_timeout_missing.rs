//! `lock-timeout-missing`: an `ALTER TABLE` on an existing PostgreSQL table with no
//! `SET lock_timeout` (or `SET LOCAL lock_timeout`) earlier in the same `up.sql`, nor in the
//! set's `init-sql`.
//!
//! Most `ALTER TABLE` forms need an ACCESS EXCLUSIVE lock on the table (some SHARE UPDATE
//! EXCLUSIVE or SHARE ROW EXCLUSIVE). The statement itself may be instant, but it first waits
//! for every transaction already using the table, a long report or a forgotten idle session,
//! and while it waits, every query on the table queues behind it: the table is down for as
//! long as the longest transaction lasts. With a `lock_timeout`, the migration fails instead
//! after that time, and can be retried.
//!
//! Reported once per file, at the first such `ALTER TABLE`. Not reported: tables created
//! earlier in the same file, and a file or set that sets `lock_timeout` before it (an
//! `init-sql` entry of `[package.metadata.migrate]` or `[workspace.metadata.migrate]`
//! counts). Settings the linter cannot see are not counted: `ALTER ROLE … SET lock_timeout`,
//! `ALTER DATABASE … SET`, `options=-c lock_timeout=…` in the URL, `PGOPTIONS`; where you use
//! those, lower this rule to `allow`. The value is not checked (`SET lock_timeout = 0`
//! disables the timeout, and counts).
//!
//! Safe pattern: `SET LOCAL lock_timeout = '5s';` at the top of the migration (diesel runs it
//! in a transaction, which `SET LOCAL` lasts for), or once for the set with
//! `init-sql = "SET lock_timeout = '5s'"`.

use crate::lint::config::Level;
use crate::lint::model::{altered_table, sets_setting, Action, Facts};

use super::{Finding, Rule, RuleInfo, StmtCx, POSTGRES};

pub const ID: &str = "lock-timeout-missing";

pub struct LockTimeoutMissing;

static INFO: RuleInfo = RuleInfo {
    id: ID,
    default_level: Level::Warn,
    backends: POSTGRES,
    summary:
        "ALTER TABLE on an existing table with no lock_timeout set before it (file or init-sql)",
    on_down: false,
};

const SETTING: &str = "lock_timeout";

fn sets_lock_timeout(facts: &Facts) -> bool {
    facts
        .iter()
        .any(|a| matches!(a, Action::SetSetting { name, .. } if name == SETTING))
}

impl Rule for LockTimeoutMissing {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check_statement(&self, cx: &StmtCx<'_>, out: &mut Vec<Finding>) {
        let split = cx.file.split;
        let existing = |index: usize| {
            altered_table(split, &split.statements[index]).filter(|t| cx.is_existing_table(t))
        };
        let Some(table) = existing(cx.index) else {
            return;
        };
        if cx.earlier().any(|(_, f)| sets_lock_timeout(f))
            || cx.earlier().any(|(i, _)| existing(i).is_some())
            || cx
                .file
                .config
                .init_sql
                .iter()
                .any(|sql| sets_setting(sql, cx.backend(), SETTING))
        {
            return;
        }
        out.push(cx.finding(
            ID,
            None,
            format!(
                "ALTER TABLE `{table}` runs without a lock_timeout: while it waits for its lock \
                 behind a long transaction, every query on `{table}` queues behind it"
            ),
            "start the migration with `SET LOCAL lock_timeout = '5s';` (and retry when it times \
             out), or set it for every connection of the set with \
             `init-sql = \"SET lock_timeout = '5s'\"` under [package.metadata.migrate]",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::ID;
    use crate::lint::testing::{at, lint_errors, Case};
    use crate::lint::LintConfig;

    #[test]
    fn fires_once_per_file_at_the_first_alter() {
        let d = Case::pg(
            "SELECT 1;\nALTER TABLE users ADD COLUMN a INT;\nALTER TABLE posts DROP COLUMN b;",
        )
        .fires(ID);
        assert_eq!(d.len(), 1);
        assert_eq!(at(&d[0]), (2, 1));
        // A SET after the ALTER is too late.
        Case::pg("ALTER TABLE users ADD COLUMN a INT;\nSET lock_timeout = '5s';").fires(ID);
        // Another setting does not count.
        Case::pg("SET statement_timeout = '5s';\nALTER TABLE users ADD COLUMN a INT;").fires(ID);
        let config = LintConfig {
            init_sql: vec!["SET search_path = app".into()],
            ..LintConfig::default()
        };
        Case::pg("ALTER TABLE users ADD COLUMN a INT;")
            .config(config)
            .fires(ID);
    }

    #[test]
    fn quiet_with_a_timeout_new_tables_or_allowed() {
        Case::pg("SET LOCAL lock_timeout = '5s';\nALTER TABLE users ADD COLUMN a INT;").quiet(ID);
        Case::pg("set lock_timeout to '1s';\nALTER TABLE ONLY users ADD COLUMN a INT;").quiet(ID);
        Case::pg("CREATE TABLE t (id INT);\nALTER TABLE t ADD COLUMN a INT;").quiet(ID);
        Case::pg("CREATE INDEX i ON users (email);").quiet(ID);
        Case::pg("-- cargo-migrate: allow(lock-timeout-missing): set by the deploy role\nALTER TABLE users ADD COLUMN a INT;")
            .quiet(ID);
        let config = LintConfig {
            init_sql: vec!["SET search_path = app; SET lock_timeout = '5s'".into()],
            ..LintConfig::default()
        };
        Case::pg("ALTER TABLE users ADD COLUMN a INT;")
            .config(config)
            .quiet(ID);
    }

    #[test]
    fn message_and_help() {
        insta::assert_snapshot!(lint_errors("ALTER TABLE users ADD COLUMN a INT;", ID));
    }
}
