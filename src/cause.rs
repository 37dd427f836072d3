//! Why a statement failed, as far as the database's own message tells: a fault of the server
//! (an extension it lacks, a connection it dropped, a privilege it refuses) or of the SQL.
//!
//! Pure: it reads the message the database layer already turned into text, so the help a
//! person gets says "fix this migration" only where the migration is what to fix.

/// The cause of a failed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The server has no such extension installed (PostgreSQL `CREATE EXTENSION`).
    MissingExtension {
        /// The extension's name.
        name: String,
    },
    /// The connection to the server was lost: a restart, a terminated session, a network
    /// failure. Nothing is known about the statement that was running.
    ConnectionLost,
    /// The server refused a privilege.
    Permission,
    /// The server could not parse the SQL: wrong SQL, or SQL for another engine or a newer
    /// server version than the one it ran on.
    Syntax,
    /// Anything else: the SQL ran and the database rejected what it did.
    Sql,
}

impl Cause {
    /// The cause as the JSON report names it; `None` for [`Cause::Sql`], the ordinary case.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Cause::MissingExtension { .. } => Some("missing_extension"),
            Cause::ConnectionLost => Some("connection_lost"),
            Cause::Permission => Some("permission"),
            Cause::Syntax => Some("syntax"),
            Cause::Sql => None,
        }
    }
}

/// Classify a database message.
pub fn classify(message: &str) -> Cause {
    let lower = message.to_ascii_lowercase();
    if let Some(name) = missing_extension(message) {
        return Cause::MissingExtension { name };
    }
    const LOST: &[&str] = &[
        "server closed the connection unexpectedly",
        "terminating connection",
        "connection to server was lost",
        "no connection to the server",
        "lost connection to",
        "server has gone away",
        "connection reset by peer",
        "broken pipe",
        "connection refused",
        "connection was killed",
        "connection closed",
        "connection has been closed unexpectedly",
        "could not receive data from server",
        "could not send data to server",
        "the database system is shutting down",
        "the database system is starting up",
    ];
    if LOST.iter().any(|p| lower.contains(p)) {
        return Cause::ConnectionLost;
    }
    const DENIED: &[&str] = &[
        "permission denied",
        "must be owner of",
        "must be superuser",
        "must be a superuser",
        "access denied",
        "command denied to user",
        "insufficient privilege",
        "attempt to write a readonly database",
    ];
    if DENIED.iter().any(|p| lower.contains(p)) {
        return Cause::Permission;
    }
    const SYNTAX: &[&str] = &[
        "syntax error",
        "you have an error in your sql syntax",
        "incomplete input",
        "unrecognized token",
    ];
    if SYNTAX.iter().any(|p| lower.contains(p)) {
        return Cause::Syntax;
    }
    Cause::Sql
}

/// The privilege a "permission denied" message names, as a person reads it: `the CREATE
/// privilege` (MySQL's `CREATE command denied to user …`), `a privilege on table t` or `on
/// schema s` (PostgreSQL's `permission denied for table t`), `ownership of table t`
/// (`must be owner of table t`), `superuser rights`; otherwise `the privilege the server
/// names (MESSAGE)`.
pub fn privilege(message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    // ASCII lower-casing keeps byte offsets: the text after a phrase, as the server wrote it.
    let after = |needle: &str| {
        lower
            .find(needle)
            .map(|at| message[at + needle.len()..].trim())
    };
    if let Some(at) = lower.find(" command denied to user") {
        let verb = message[..at].split_whitespace().last().unwrap_or("");
        let object = after(" for table ")
            .map(|t| format!(" on table {t}"))
            .unwrap_or_default();
        return format!("the {} privilege{object}", verb.to_ascii_uppercase());
    }
    if let Some(rest) = after("permission denied for ") {
        let object = rest.trim_end_matches('.');
        let wanted = if object.starts_with("schema ") {
            "the CREATE (or USAGE) privilege"
        } else {
            "the privilege the statement needs"
        };
        return format!("{wanted} on {object}");
    }
    if let Some(rest) = after("permission denied to ") {
        return format!("the right to {rest}");
    }
    if let Some(rest) = after("must be owner of ") {
        return format!("ownership of {rest}");
    }
    if lower.contains("must be superuser") || lower.contains("must be a superuser") {
        return "superuser rights".to_string();
    }
    if lower.contains("attempt to write a readonly database") {
        return "write access to the database file".to_string();
    }
    format!("the privilege the server names (\"{message}\")")
}

/// `extension "x" is not available` (PostgreSQL 15+) or the older
/// `could not open extension control file ".../x.control"`.
fn missing_extension(message: &str) -> Option<String> {
    if let Some(rest) = message.split("extension \"").nth(1) {
        if let Some((name, tail)) = rest.split_once('"') {
            if tail.trim_start().starts_with("is not available") {
                return Some(name.to_string());
            }
        }
    }
    let rest = message
        .split("could not open extension control file \"")
        .nth(1)?;
    let path = rest.split('"').next()?;
    let file = path.rsplit('/').next()?;
    file.strip_suffix(".control").map(str::to_string)
}

/// What to do about a failed replay on a scratch database, by cause. `server` is the server
/// (or SQLite library) version the replay ran on, when known.
pub fn replay_help(cause: &Cause, server: Option<&str>) -> String {
    let on = server
        .map(|v| format!(" (the replay ran on {v})"))
        .unwrap_or_default();
    match cause {
        Cause::MissingExtension { name } => format!(
            "the scratch server lacks the extension `{name}`{on}: install it on the server given by --scratch-url or MIGRATE_SCRATCH_URL (or use a server image that has it); the migration itself may be fine"
        ),
        Cause::ConnectionLost => format!(
            "the connection to the scratch server was lost{on}: check that it is up and reachable, then run the check again; the migration itself may be fine"
        ),
        Cause::Permission => format!(
            "the scratch server refused a privilege{on}: the role in --scratch-url or MIGRATE_SCRATCH_URL must be able to create databases and everything the migrations create (extensions may need a superuser)"
        ),
        Cause::Syntax if server.is_some_and(|v| v.starts_with("SQLite")) => format!(
            "SQLite could not parse this migration{on}: fix its SQL; if it is written for another engine, the set's `backend` may be wrong"
        ),
        Cause::Syntax => format!(
            "the server could not parse this migration{on}: fix its SQL; if it is written for a newer server version or another engine, point --scratch-url at a server like the one it runs on"
        ),
        Cause::Sql => format!(
            "the migrations do not run on an empty database{on}; fix this migration (the scratch database was dropped)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_server_messages() {
        // PostgreSQL 15, `CREATE EXTENSION nosuch_ext`.
        assert_eq!(
            classify("extension \"nosuch_ext\" is not available"),
            Cause::MissingExtension {
                name: "nosuch_ext".into()
            }
        );
        // PostgreSQL 12-14.
        assert_eq!(
            classify("could not open extension control file \"/usr/share/postgresql/13/extension/postgis.control\": No such file or directory"),
            Cause::MissingExtension {
                name: "postgis".into()
            }
        );
        assert_eq!(
            classify("terminating connection due to administrator command"),
            Cause::ConnectionLost
        );
        assert_eq!(
            classify("server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally"),
            Cause::ConnectionLost
        );
        assert_eq!(
            classify("Lost connection to MySQL server during query"),
            Cause::ConnectionLost
        );
        // libpq over TLS, after `pg_terminate_backend` of its own session.
        assert_eq!(
            classify("SSL connection has been closed unexpectedly"),
            Cause::ConnectionLost
        );
        assert_eq!(
            classify("permission denied to create extension \"hstore\""),
            Cause::Permission
        );
        assert_eq!(
            classify("CREATE command denied to user 'app'@'localhost' for table 'x'"),
            Cause::Permission
        );
        assert_eq!(
            classify("syntax error at or near \"AUTO_INCREMENT\""),
            Cause::Syntax
        );
        assert_eq!(
            classify("You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near '[])' at line 1"),
            Cause::Syntax
        );
        assert_eq!(classify("near \"SELEC\": syntax error"), Cause::Syntax);
        assert_eq!(classify("column \"nmae\" does not exist"), Cause::Sql);
        assert_eq!(
            classify("relation \"extension_list\" does not exist"),
            Cause::Sql
        );
    }

    #[test]
    fn privileges_are_named() {
        assert_eq!(
            privilege("CREATE command denied to user 'app'@'localhost' for table `d`.`b`"),
            "the CREATE privilege on table `d`.`b`"
        );
        assert_eq!(
            privilege("permission denied for schema public"),
            "the CREATE (or USAGE) privilege on schema public"
        );
        assert_eq!(
            privilege("must be owner of table users"),
            "ownership of table users"
        );
        assert_eq!(
            privilege("permission denied to create extension \"hstore\""),
            "the right to create extension \"hstore\""
        );
    }

    #[test]
    fn only_the_sql_cause_says_to_fix_the_migration_alone() {
        let ext = replay_help(
            &Cause::MissingExtension {
                name: "postgis".into(),
            },
            Some("PostgreSQL 15.20"),
        );
        assert!(ext.contains("lacks the extension `postgis`"), "{ext}");
        assert!(ext.contains("PostgreSQL 15.20"), "{ext}");
        assert!(replay_help(&Cause::Sql, None).contains("fix this migration"));
        assert!(replay_help(&Cause::Syntax, Some("MariaDB 10.11.19")).contains("newer server"));
    }
}
