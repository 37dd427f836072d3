//! Creating and dropping a set's own database, for `setup` and `database create|drop|reset`.
//!
//! Only the database the set's URL names is ever touched: its name is read from the URL as the
//! client will use it ([`DatabaseUrl::database_name`]), and the server is reached through the
//! same URL with that database swapped for the server's admin database
//! ([`DatabaseUrl::with_database`], which removes every parameter that could select another).
//! A SQLite database is its file, with the `-wal`, `-shm` and `-journal` files SQLite keeps
//! beside it.
//!
//! What may be dropped (a local server, a confirmation) is decided by the command; this module
//! answers [`is_local`] and does what it is told.

use std::path::PathBuf;

use diesel::RunQueryDsl;

use super::{with_conn, ConnectOptions, Connection, DbError, NameRow};
use crate::backend::Backend;
use crate::database_url::{sqlite_path, DatabaseUrl};

/// What [`create`] found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The database was created.
    Created,
    /// It existed already; nothing was changed.
    Existed,
}

/// What [`drop`] found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// The database was dropped (for SQLite: its files deleted).
    Dropped,
    /// There was no such database; nothing was changed.
    Missing,
}

/// Whether the URL reaches a database on this machine: a SQLite file, a Unix socket, or a
/// loopback host (`localhost`, `127.0.0.0/8`, `::1`).
pub fn is_local(url: &DatabaseUrl, backend: Backend) -> bool {
    if backend.is_file_database() {
        return true;
    }
    // Read by hand rather than with a URL parser: libpq accepts an empty host
    // (`postgres://user@/db?host=/run/postgresql`), which URL parsers refuse.
    let raw = url.expose();
    let Some((_, rest)) = raw.split_once("://") else {
        return false;
    };
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = before_query.split('/').next().unwrap_or_default();
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let url_host = match hostport.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => hostport.split(':').next().unwrap_or_default(),
    };
    // A host (or socket) given as a parameter wins over the URL's host, as the clients read it.
    let param_host = url::form_urlencoded::parse(query.as_bytes()).find_map(|(k, v)| {
        let k = k.to_ascii_lowercase();
        (k == "host" || k == "socket" || k == "unix_socket").then(|| v.into_owned())
    });
    // The URL's host may be a percent-encoded socket folder (`%2Frun%2Fpostgresql`).
    let decoded = || {
        url::form_urlencoded::parse(format!("h={url_host}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let host = param_host.unwrap_or_else(decoded);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.is_empty()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The server's admin connection and the name of the set's database on it.
fn admin_for(url: &DatabaseUrl, backend: Backend) -> Result<(Connection, String), DbError> {
    let (admin_database, scheme) = super::scratch::server_of(backend)
        .map(|s| (s.admin_database, s.scheme))
        .unwrap_or(("", "sqlite"));
    let unusable = |reason: &str| DbError::Connect {
        url: url.clone(),
        message: format!("{reason} (a {scheme}:// URL naming a database is needed)"),
    };
    let name = url
        .database_name()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| unusable("the URL names no database"))?;
    let admin = url
        .with_database(admin_database)
        .ok_or_else(|| unusable("it is not a URL"))?;
    let conn = Connection::establish(&admin, backend, ConnectOptions::default())?;
    Ok((conn, name))
}

/// `name` as a quoted identifier of the server.
fn quote(backend: Backend, name: &str) -> String {
    (super::own_tables(backend).quote)(name)
}

/// Whether the server has a database called `name`.
fn server_has(conn: &mut Connection, url: &DatabaseUrl, name: &str) -> Result<bool, DbError> {
    let list = super::own_tables(conn.backend()).databases;
    if list.is_empty() {
        return Ok(false);
    }
    let q = diesel::sql_query(list);
    let rows: Vec<NameRow> = with_conn!(conn, c => q.load(c))
        .map_err(|e| DbError::query("listing the server's databases", url, &e))?;
    Ok(rows.iter().any(|r| r.name == name))
}

/// The files of a SQLite database: the file itself and what SQLite keeps beside it.
fn sqlite_files(url: &DatabaseUrl) -> Result<Vec<PathBuf>, DbError> {
    let path = sqlite_path(url.expose()).ok_or_else(|| DbError::Connect {
        url: url.clone(),
        message: "an in-memory SQLite database has no file to create or drop".to_string(),
    })?;
    let mut files = vec![path.clone()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = path.clone().into_os_string();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    Ok(files)
}

/// Create the set's database when it does not exist.
pub fn create(url: &DatabaseUrl, backend: Backend) -> Result<Created, DbError> {
    if backend.is_file_database() {
        let files = sqlite_files(url)?;
        if files[0].exists() {
            return Ok(Created::Existed);
        }
        let opts = ConnectOptions {
            create_sqlite: true,
            ..ConnectOptions::default()
        };
        Connection::establish(url, backend, opts)?;
        Ok(Created::Created)
    } else {
        let (mut conn, name) = admin_for(url, backend)?;
        if server_has(&mut conn, url, &name)? {
            return Ok(Created::Existed);
        }
        match conn.batch_execute(&format!("CREATE DATABASE {}", quote(backend, &name))) {
            Ok(()) => Ok(Created::Created),
            // Created by someone else in between.
            Err(_) if server_has(&mut conn, url, &name)? => Ok(Created::Existed),
            Err(e) => Err(DbError::query(
                format!("creating the database {name}"),
                url,
                &e,
            )),
        }
    }
}

/// Drop the set's database. PostgreSQL refuses while other sessions are connected to it; that
/// error is returned as it is, and nothing is forced.
pub fn drop(url: &DatabaseUrl, backend: Backend) -> Result<Dropped, DbError> {
    if backend.is_file_database() {
        let files = sqlite_files(url)?;
        if !files[0].exists() {
            return Ok(Dropped::Missing);
        }
        for file in &files {
            match std::fs::remove_file(file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(DbError::Connect {
                        url: url.clone(),
                        message: format!("cannot delete `{}`: {e}", file.display()),
                    })
                }
            }
        }
        Ok(Dropped::Dropped)
    } else {
        let (mut conn, name) = admin_for(url, backend)?;
        if !server_has(&mut conn, url, &name)? {
            return Ok(Dropped::Missing);
        }
        conn.batch_execute(&format!("DROP DATABASE {}", quote(backend, &name)))
            .map_err(|e| DbError::query(format!("dropping the database {name}"), url, &e))?;
        Ok(Dropped::Dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_means_this_machine() {
        let local = |u: &str| is_local(&DatabaseUrl::new(u), Backend::from_url(u).unwrap());
        assert!(local("postgres://u@localhost/app"));
        assert!(local("postgres://u@127.0.0.1:5432/app"));
        assert!(local("postgres://u@127.8.9.1/app"));
        assert!(local("postgres://u@[::1]/app"));
        assert!(local("postgres:///app"));
        assert!(local("postgres://u@/app?host=/var/run/postgresql"));
        assert!(local("mysql://root@localhost/app"));
        assert!(local("postgres://u@%2Frun%2Fpostgresql/app"));
        assert!(local("app.db"));
        assert!(!local("postgres://u@db.example.com/app"));
        assert!(!local("postgres://u@10.0.0.5/app"));
        // A host parameter sends libpq elsewhere, whatever the URL's host says.
        assert!(!local("postgres://u@localhost/app?host=db.example.com"));
        assert!(!local("mysql://root@prod-db:3306/app"));
    }
}
