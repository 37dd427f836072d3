//! Distributed SQL engines that speak PostgreSQL's or MySQL's wire protocol (CockroachDB and
//! YugabyteDB; TiDB and Vitess) but differ where a migration tool depends on the server:
//! advisory locks, transactional DDL, `CREATE INDEX CONCURRENTLY`, the introspection catalogs.
//! They are recognised from the server's version string and refused with the engine's name
//! and the page that explains why (docs/scale.md), rather than half-working.

/// An engine the tool recognises and does not run migrations on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    CockroachDb,
    YugabyteDb,
    TiDb,
    Vitess,
}

impl Engine {
    /// The engine's name.
    pub fn name(self) -> &'static str {
        match self {
            Engine::CockroachDb => "CockroachDB",
            Engine::YugabyteDb => "YugabyteDB",
            Engine::TiDb => "TiDB",
            Engine::Vitess => "Vitess",
        }
    }

    /// What would go wrong, in one clause.
    pub fn why(self) -> &'static str {
        match self {
            Engine::CockroachDb => "it has no advisory locks (the migration lock) and runs schema changes asynchronously, outside the migration's transaction",
            Engine::YugabyteDb => "its advisory locks and transactional DDL differ from PostgreSQL's, so the migration lock and the rollback of a failed migration cannot be relied on",
            Engine::TiDb => "its GET_LOCK and DDL jobs differ from MySQL's, so the migration lock and the report of what a failed migration left cannot be relied on",
            Engine::Vitess => "GET_LOCK is per shard and DDL goes through its own schema-change workflow, so one migration lock cannot cover the keyspace",
        }
    }
}

/// The engine a server's version string (`SELECT version()` / `SELECT VERSION()`) names, if
/// it is one of these.
pub fn detect(version: &str) -> Option<Engine> {
    let v = version.to_ascii_lowercase();
    if v.contains("cockroachdb") {
        Some(Engine::CockroachDb)
    } else if v.contains("-yb-") || v.contains("yugabyte") {
        Some(Engine::YugabyteDb)
    } else if v.contains("tidb") {
        Some(Engine::TiDb)
    } else if v.contains("vitess") {
        Some(Engine::Vitess)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_by_their_version_strings() {
        assert_eq!(
            detect("CockroachDB CCL v23.1.11 (x86_64-pc-linux-gnu, built 2023/09/27 01:53:43, go1.19.10)"),
            Some(Engine::CockroachDb)
        );
        assert_eq!(
            detect("PostgreSQL 11.2-YB-2.18.0.0-b0 on x86_64-pc-linux-gnu, compiled by clang"),
            Some(Engine::YugabyteDb)
        );
        assert_eq!(detect("8.0.11-TiDB-v7.5.0"), Some(Engine::TiDb));
        assert_eq!(detect("8.0.30-Vitess"), Some(Engine::Vitess));
        assert_eq!(
            detect("PostgreSQL 15.20 (Debian 15.20-0+deb12u1) on x86_64-pc-linux-gnu"),
            None
        );
        assert_eq!(detect("10.11.19-MariaDB-0+deb12u1"), None);
        assert_eq!(detect("8.0.36"), None);
    }
}
