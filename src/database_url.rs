//! Database URLs that never show their password.
//!
//! Every URL the tool handles is wrapped in [`DatabaseUrl`] as soon as it is read. Its `Display`
//! and `Debug` replace the password with `***`, so a URL can be put into any message, error or
//! JSON document without leaking a secret; only the connection code asks for the real text with
//! [`DatabaseUrl::expose`].

use std::fmt;
use std::path::{Path, PathBuf};

use crate::backend::{Backend, UrlRules};

/// A database URL as configured, with a redacted `Display`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DatabaseUrl {
    // A boxed str keeps the URL (and every error that holds one) as small as a `String`.
    raw: Box<str>,
    /// A label for a connection the application opened itself (see
    /// [`DatabaseUrl::of_application_connection`]), never connected to.
    application: bool,
}

impl DatabaseUrl {
    pub fn new(raw: impl Into<String>) -> Self {
        DatabaseUrl {
            raw: raw.into().trim().into(),
            application: false,
        }
    }

    /// The URL that names, in messages, a connection an application opened and handed to the
    /// embedded runner: built from what that session says of itself (no password). Nothing
    /// ever connects to it: opening it again fails at once, so a lost connection is reported
    /// as lost and never replaced by one to another database.
    pub fn of_application_connection(label: impl Into<String>) -> Self {
        DatabaseUrl {
            raw: label.into().into_boxed_str(),
            application: true,
        }
    }

    /// Whether this names an application's own connection (which the tool never reopens).
    pub fn is_application_connection(&self) -> bool {
        self.application
    }

    /// The real URL, with its password: for connecting only, never for output.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// The backend named by the scheme, if the scheme is known.
    pub fn backend(&self) -> Option<Backend> {
        Backend::from_url(&self.raw)
    }

    /// The scheme as written (`postgres`, `mysql`, ...), if there is one.
    pub fn scheme(&self) -> Option<&str> {
        let idx = self.raw.find("://")?;
        let scheme = &self.raw[..idx];
        scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.')
            .then_some(scheme)
    }

    /// The URL with the password replaced by `***` (and nothing else changed).
    pub fn redacted(&self) -> String {
        redact(&self.raw)
    }

    /// For PostgreSQL and MySQL URLs: the database the connection will really use.
    ///
    /// PostgreSQL (libpq): the last `dbname=` query parameter wins over the path (libpq's
    /// keywords are case-sensitive, so `DBNAME=` is not one); an empty `dbname=` means the
    /// database named after the user. MySQL/MariaDB: the first path segment (the client
    /// accepts no database parameter).
    pub fn database_name(&self) -> Option<String> {
        let parsed = url::Url::parse(&self.raw).ok()?;
        match self.backend()?.url_rules() {
            UrlRules::Server {
                libpq_params: true, ..
            } => {
                let params = libpq_params(parsed.query());
                let param = |key: &str| {
                    params
                        .iter()
                        .rev()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v.clone())
                };
                match param("dbname") {
                    Some(name) if !name.is_empty() => Some(name),
                    Some(_) => param("user")
                        .or_else(|| Some(percent_decode(parsed.username())))
                        .filter(|u| !u.is_empty()),
                    None => Some(percent_decode(parsed.path().trim_start_matches('/')))
                        .filter(|n| !n.is_empty()),
                }
            }
            UrlRules::Server {
                libpq_params: false,
                ..
            } => parsed
                .path_segments()
                .and_then(|mut s| s.next())
                .map(percent_decode)
                .filter(|n| !n.is_empty()),
            UrlRules::File => None,
        }
    }

    /// What names the database this URL reaches, compared by meaning rather than spelling:
    /// for servers the backend, host (case-folded), port (the default filled in) and
    /// [`database_name`](Self::database_name); for SQLite the real path of the file. Two URLs
    /// with the same identity reach the same database.
    pub fn identity(&self) -> String {
        let Some(backend) = self.backend() else {
            return format!("raw:{}", self.raw);
        };
        match backend.url_rules() {
            // libpq also takes the host from a `host=` parameter; MySQL clients do not.
            UrlRules::Server {
                default_port,
                libpq_params,
            } => self.server_identity(backend, default_port, libpq_params),
            UrlRules::File => match sqlite_path(&self.raw) {
                Some(path) => format!("{backend}:{}", canonical_path(&path).display()),
                None => format!("{backend}-memory:{}", self.raw),
            },
        }
    }

    /// [`identity`](Self::identity) of a server URL.
    fn server_identity(&self, backend: Backend, default_port: u16, host_in_params: bool) -> String {
        let Ok(parsed) = url::Url::parse(&self.raw) else {
            return format!("raw:{}", self.raw);
        };
        let host_param = host_in_params
            .then(|| {
                libpq_params(parsed.query())
                    .into_iter()
                    .rev()
                    .find(|(k, _)| k == "host")
                    .map(|(_, v)| v)
            })
            .flatten();
        let host = host_param
            .or_else(|| parsed.host_str().map(str::to_string))
            .unwrap_or_default()
            .to_ascii_lowercase();
        format!(
            "{backend}://{host}:{}/{}",
            parsed.port().unwrap_or(default_port),
            self.database_name().unwrap_or_default()
        )
    }

    /// The same server with another database (PostgreSQL and MySQL only). Every query
    /// parameter that could select another database, service file or target (`dbname`,
    /// `service`, `servicefile`, `options`, `target_session_attrs`, `database`, `db`, in any
    /// case or percent-encoding) is removed, so the result connects to `name` and nothing
    /// else; every other parameter is kept exactly as written.
    pub fn with_database(&self, name: &str) -> Option<DatabaseUrl> {
        let mut parsed = url::Url::parse(&self.raw).ok()?;
        parsed.set_path(&format!("/{name}"));
        let kept: Vec<&str> = parsed
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .filter(|pair| {
                let key = pair.split('=').next().unwrap_or_default();
                !selects_target(&percent_decode(&key.replace('+', " ")))
            })
            .collect();
        let query = kept.join("&");
        parsed.set_query((!query.is_empty()).then_some(query.as_str()));
        Some(DatabaseUrl::new(parsed.to_string()))
    }
}

/// A URL query as libpq reads it: `&`-separated `key=value` pairs, both percent-decoded (a
/// `+` stays a `+`).
fn libpq_params(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// A query parameter that can change which database a connection reaches (generous: any
/// case, surrounding blanks ignored).
fn selects_target(key: &str) -> bool {
    matches!(
        key.trim().to_ascii_lowercase().as_str(),
        "dbname"
            | "database"
            | "db"
            | "db_name"
            | "service"
            | "servicefile"
            | "options"
            | "target_session_attrs"
    )
}

/// The real path of a file; for one that does not exist yet, its folder's real path and its
/// name.
pub fn canonical_path(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => dir
            .canonicalize()
            .map(|d| d.join(name))
            .unwrap_or(absolute.clone()),
        _ => absolute,
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let hex = |b: u8| char::from(b).to_digit(16);
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Replace the password of any `scheme://user:password@host` URL, and the value of every
/// parameter whose (percent-decoded, case-insensitive) name holds `pass`, with `***`. This
/// works on any text, parseable or not: everything between `://` and the last `@` is
/// credentials, so a raw `#`, `/`, `?` or `@` in a password never shows.
pub fn redact(raw: &str) -> String {
    let mut out = raw.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        if let Some(at) = out[rest_start..].rfind('@') {
            let at = rest_start + at;
            if let Some(colon) = out[rest_start..at].find(':') {
                let colon = rest_start + colon;
                out.replace_range(colon + 1..at, "***");
            }
        }
    }
    // Query parameters (`?a=b&c=d`) and keyword/value pairs (`a=b c=d`) that carry a password.
    let bytes = out.clone();
    let mut redacted = String::with_capacity(out.len());
    let mut i = 0;
    while i < bytes.len() {
        let ch = bytes[i..].chars().next().unwrap_or(' ');
        let at_key_start = i == 0 || matches!(bytes.as_bytes()[i - 1], b'?' | b'&' | b' ' | b';');
        if at_key_start {
            let key_end = bytes[i..]
                .find(['=', '&', ' ', '?', ';'])
                .map(|k| i + k)
                .unwrap_or(bytes.len());
            if bytes.as_bytes().get(key_end) == Some(&b'=') {
                let key = percent_decode(&bytes[i..key_end]).to_ascii_lowercase();
                if key.contains("pass") {
                    let value_start = key_end + 1;
                    let value_end = bytes[value_start..]
                        .find(['&', ' ', ';'])
                        .map(|v| value_start + v)
                        .unwrap_or(bytes.len());
                    redacted.push_str(&bytes[i..value_start]);
                    if value_end > value_start {
                        redacted.push_str("***");
                    }
                    i = value_end;
                    continue;
                }
            }
        }
        redacted.push(ch);
        i += ch.len_utf8();
    }
    redacted
}

/// Redact every URL-looking password inside a longer text (a database's error message can
/// repeat the connection string).
pub fn redact_text(text: &str, url: &DatabaseUrl) -> String {
    let mut out = text.replace(url.expose(), &url.redacted());
    // The password as written: between the first `:` after `://` and the last `@`, whatever
    // characters it holds (a URL parser would stop at a raw `#` or `/`).
    let raw = url.expose();
    let written = raw.find("://").and_then(|s| {
        let rest = &raw[s + 3..];
        let at = rest.rfind('@')?;
        let colon = rest[..at].find(':')?;
        Some(&rest[colon + 1..at])
    });
    if let Some(pw) = written.filter(|pw| !pw.is_empty()) {
        out = out.replace(pw, "***");
        let decoded = percent_decode(pw);
        if decoded != pw && !decoded.is_empty() {
            out = out.replace(&decoded, "***");
        }
    }
    out
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({:?})", self.redacted())
    }
}

/// Keywords of libpq's `key=value` connection strings, and of the ODBC/ADO style
/// (`Server=…;Database=…;Uid=…;Pwd=…`) some MySQL tools use; compared case-insensitively.
const CONNECTION_STRING_KEYWORDS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "channel_binding",
    "connect_timeout",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "replication",
    "gssencmode",
    "sslmode",
    "requiressl",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslcertmode",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "sslnegotiation",
    "requirepeer",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "service",
    "target_session_attrs",
    "load_balance_hosts",
    "require_auth",
    "server",
    "database",
    "uid",
    "pwd",
    "user id",
    "data source",
    "initial catalog",
];

/// Whether `text` is a `key=value` connection string (`host=db user=app password=… dbname=x`,
/// `Server=db;Database=x;Pwd=…`) rather than a URL or a file path: it has no `://`, and one of
/// its blank- or `;`-separated words is a known keyword followed by `=`. Such a string must
/// never become a SQLite file name (which would write its password to disk) nor be echoed.
pub fn is_keyword_connection_string(text: &str) -> bool {
    let text = text.trim();
    if text.contains("://") {
        return false;
    }
    let is_keyword = |key: &str| {
        let key = key.trim().to_ascii_lowercase();
        CONNECTION_STRING_KEYWORDS.contains(&key.as_str())
    };
    // The first key may contain a blank (`User Id=`); the others are single words.
    let first_key = text.split(['=', ';']).next().unwrap_or_default();
    if text[first_key.len()..].starts_with('=') && is_keyword(first_key) {
        return true;
    }
    text.split(|c: char| c.is_whitespace() || c == ';')
        .filter_map(|word| word.split_once('='))
        .any(|(key, _)| is_keyword(key))
}

/// The keywords of a connection string, for messages (never its values).
pub fn connection_string_keywords(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == ';')
        .filter_map(|word| word.split_once('='))
        .map(|(key, _)| key.trim().to_ascii_lowercase())
        .filter(|key| CONNECTION_STRING_KEYWORDS.contains(&key.as_str()))
        .collect()
}

/// How a SQLite URL names its database, split into parts that are never re-spelled.
///
/// `file:…` (also after `sqlite:`) is a SQLite URI, and so is `sqlite://…`, which diesel opens
/// as `file:…`: its path is percent-decoded and everything from `?` or `#` on (`?mode=ro`,
/// `?immutable=1`, `?vfs=…`) is kept. Anything else (`dev.db`, `sqlite:dev.db`, `:memory:`)
/// is a plain file name, taken literally.
struct SqliteTarget<'a> {
    /// The prefix as written (`file:`, `sqlite://`, `sqlite:file:`, `sqlite:`, or empty).
    prefix: &'a str,
    /// Whether SQLite reads it as a URI.
    uri: bool,
    /// A URI's authority with its `//` (`//localhost`), if any.
    authority: &'a str,
    /// The path as written (still percent-encoded in a URI).
    path: &'a str,
    /// A URI's `?query#fragment`, as written.
    suffix: &'a str,
}

fn sqlite_target(url: &str) -> SqliteTarget<'_> {
    let (prefix, uri, body) = if let Some(rest) = url.strip_prefix("sqlite://") {
        ("sqlite://", true, rest)
    } else if let Some(rest) = url.strip_prefix("sqlite:file:") {
        ("sqlite:file:", true, rest)
    } else if let Some(rest) = url.strip_prefix("sqlite:") {
        ("sqlite:", false, rest)
    } else if let Some(rest) = url.strip_prefix("file:") {
        ("file:", true, rest)
    } else {
        ("", false, url)
    };
    if !uri {
        return SqliteTarget {
            prefix,
            uri,
            authority: "",
            path: body,
            suffix: "",
        };
    }
    let split = body.find(['?', '#']).unwrap_or(body.len());
    let (mut path, suffix) = body.split_at(split);
    let mut authority = "";
    // `file://host/path`: only after `file:`/`sqlite:file:` (diesel's `sqlite://x` is `file:x`).
    if prefix != "sqlite://" && path.starts_with("//") {
        let end = path[2..].find('/').map(|i| i + 2).unwrap_or(path.len());
        authority = &path[..end];
        path = &path[end..];
    }
    SqliteTarget {
        prefix,
        uri,
        authority,
        path,
        suffix,
    }
}

impl SqliteTarget<'_> {
    fn is_memory(&self) -> bool {
        let query = self.suffix.trim_start_matches('?');
        let query = query.split('#').next().unwrap_or_default();
        self.path == ":memory:"
            || self.path.is_empty()
            || (self.uri
                && query
                    .split('&')
                    .any(|kv| kv == "mode=memory" || kv == "vfs=memdb"))
    }

    fn file(&self) -> Option<PathBuf> {
        if self.is_memory() {
            return None;
        }
        Some(PathBuf::from(if self.uri {
            percent_decode(self.path)
        } else {
            self.path.to_string()
        }))
    }
}

/// The file a SQLite URL opens, percent-decoded for URIs (`None` for in-memory databases).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    sqlite_target(url).file()
}

/// What to hand SQLite to open the database of a SQLite URL: a `file:` URI with its
/// parameters for the URI forms (`sqlite://x?mode=ro` is `file:x?mode=ro`, as for diesel), the
/// path for the others.
pub fn sqlite_open_target(url: &str) -> String {
    let t = sqlite_target(url);
    if t.uri {
        format!("file:{}{}{}", t.authority, t.path, t.suffix)
    } else {
        t.path.to_string()
    }
}

/// Where a relative SQLite path is resolved: against `base` (the package folder). The URL
/// keeps its form and every URI parameter: `file:rel.db?mode=ro` becomes
/// `file:/abs/rel.db?mode=ro`.
pub fn resolve_sqlite_url(url: &DatabaseUrl, base: &Path) -> DatabaseUrl {
    let raw = url.expose();
    let t = sqlite_target(raw);
    match t.file() {
        Some(path) if path.is_relative() && t.authority.is_empty() => {
            if t.uri {
                let base = uri_escape(&base.to_string_lossy());
                let sep = if base.ends_with('/') { "" } else { "/" };
                DatabaseUrl::new(format!("{}{base}{sep}{}{}", t.prefix, t.path, t.suffix))
            } else {
                DatabaseUrl::new(base.join(path).to_string_lossy().into_owned())
            }
        }
        _ => url.clone(),
    }
}

/// A file path written into a SQLite URI: `%`, `?` and `#` escaped so that they stay part of
/// the path.
fn uri_escape(path: &str) -> String {
    path.replace('%', "%25")
        .replace('?', "%3F")
        .replace('#', "%23")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_never_displayed() {
        let url = DatabaseUrl::new("postgres://app:s3cr3t@db.example:5432/prod?sslmode=require");
        assert_eq!(
            url.to_string(),
            "postgres://app:***@db.example:5432/prod?sslmode=require"
        );
        assert!(!format!("{url:?}").contains("s3cr3t"));
        assert_eq!(
            url.expose(),
            "postgres://app:s3cr3t@db.example:5432/prod?sslmode=require"
        );
    }

    #[test]
    fn password_with_at_sign_and_query_password() {
        assert_eq!(
            redact("mysql://root:p@ss@localhost/db"),
            "mysql://root:***@localhost/db"
        );
        assert_eq!(
            redact("postgres://localhost/db?user=a&password=hunter2&x=1"),
            "postgres://localhost/db?user=a&password=***&x=1"
        );
        assert_eq!(
            redact("postgres://app@localhost/db"),
            "postgres://app@localhost/db"
        );
        assert_eq!(redact("dev.db"), "dev.db");
    }

    #[test]
    fn redacts_inside_messages() {
        let url = DatabaseUrl::new("postgres://app:pa%21ss@h/db");
        let msg = "could not connect with postgres://app:pa%21ss@h/db (password pa!ss)";
        let out = redact_text(msg, &url);
        assert!(!out.contains("pa%21ss") && !out.contains("pa!ss"), "{out}");
    }

    #[test]
    fn query_parameters_never_redirect_a_derived_url() {
        let url = DatabaseUrl::new(
            "postgres://u:pw@h:5432/x?dbname=real&sslmode=disable&service=s&servicefile=f&options=-c%20x&DB=y",
        );
        // libpq keywords are case-sensitive: `DB=y` selects nothing, `dbname=real` does.
        assert_eq!(url.database_name().as_deref(), Some("real"));
        let scratch = url.with_database("scratch_1").unwrap();
        assert_eq!(
            scratch.expose(),
            "postgres://u:pw@h:5432/scratch_1?sslmode=disable"
        );
        assert_eq!(scratch.database_name().as_deref(), Some("scratch_1"));
        let plain = DatabaseUrl::new("mysql://root@h/app?database=real")
            .with_database("s")
            .unwrap();
        assert_eq!(plain.expose(), "mysql://root@h/s");
    }

    #[test]
    fn the_effective_database_is_what_libpq_and_mysql_connect_to() {
        let name = |u: &str| DatabaseUrl::new(u).database_name();
        assert_eq!(
            name("postgres://u@h/x?dbname=real").as_deref(),
            Some("real")
        );
        assert_eq!(
            name("postgres://u@h/x?db%6eame=real").as_deref(),
            Some("real")
        );
        assert_eq!(name("postgres://u@h/x?DBNAME=real").as_deref(), Some("x"));
        assert_eq!(
            name("postgres://u@h/x?dbname=a&dbname=b").as_deref(),
            Some("b")
        );
        assert_eq!(name("postgres://bob@h/x?dbname=").as_deref(), Some("bob"));
        assert_eq!(
            name("postgres://u@h/x?dbname=my+db").as_deref(),
            Some("my+db")
        );
        assert_eq!(name("mysql://r@h/app/extra").as_deref(), Some("app"));
        assert_eq!(name("mysql://r@h/").as_deref(), None);
        let id = |u: &str| DatabaseUrl::new(u).identity();
        assert_eq!(
            id("postgres://a:pw@H/x?dbname=real&sslmode=disable"),
            id("postgresql://b@h:5432/real")
        );
        assert_ne!(id("postgres://h/real"), id("postgres://h:5433/real"));
        assert_ne!(id("postgres://h/x?dbname=real"), id("postgres://h/x"));
        assert_eq!(id("mysql://r@h/app"), id("mariadb://s:pw@h:3306/app"));
        // Decoding never panics on text that is not an escape.
        assert_eq!(percent_decode("%a\u{e9}%zz%4"), "%a\u{e9}%zz%4");
    }

    #[test]
    fn database_name_and_swap() {
        let url = DatabaseUrl::new("postgres://u:p@h:5432/app?sslmode=disable");
        assert_eq!(url.database_name().as_deref(), Some("app"));
        let other = url.with_database("scratch_1").unwrap();
        assert_eq!(
            other.expose(),
            "postgres://u:p@h:5432/scratch_1?sslmode=disable"
        );
        assert_eq!(url.scheme(), Some("postgres"));
        assert_eq!(DatabaseUrl::new("dev.db").scheme(), None);
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://dev.db"),
            Some(PathBuf::from("dev.db"))
        );
        assert_eq!(sqlite_path("/tmp/x.db"), Some(PathBuf::from("/tmp/x.db")));
        assert_eq!(sqlite_path(":memory:"), None);
        assert_eq!(
            sqlite_path("file:x.db?mode=ro"),
            Some(PathBuf::from("x.db"))
        );
        assert_eq!(sqlite_path("file::memory:?cache=shared"), None);
        assert_eq!(sqlite_path("file:x?mode=memory"), None);
        assert_eq!(
            sqlite_path("file:my%20db.db?mode=ro"),
            Some(PathBuf::from("my db.db"))
        );
        assert_eq!(
            sqlite_path("file://localhost/abs/x.db"),
            Some(PathBuf::from("/abs/x.db"))
        );
        assert_eq!(
            sqlite_path("file:///abs/x.db"),
            Some(PathBuf::from("/abs/x.db"))
        );
        assert_eq!(sqlite_path("sqlite:rel.db"), Some(PathBuf::from("rel.db")));
    }
}

#[cfg(test)]
mod connection_strings {
    use super::*;

    #[test]
    fn keyword_strings_are_recognised_and_paths_are_not() {
        for text in [
            "host=127.0.0.1 user=postgres password=pw dbname=x",
            "  dbname = x",
            "password=pw host=h",
            "PORT=5432",
            "Server=db;Database=x;Uid=u;Pwd=pw",
            "User Id=u;Password=pw",
            "dev.db password=pw",
        ] {
            assert!(is_keyword_connection_string(text), "{text}");
        }
        for text in [
            "dev.db",
            "/var/lib/app.db",
            "file:x.db?mode=ro",
            "postgres://u@h/x?host=/tmp&user=u",
            "data=1.db",
            ":memory:",
        ] {
            assert!(!is_keyword_connection_string(text), "{text}");
        }
        assert_eq!(
            connection_string_keywords("host=h user=u password=SECRET dbname=x"),
            ["host", "user", "password", "dbname"]
        );
    }
}

#[cfg(test)]
mod sqlite_uris {
    use super::*;

    #[test]
    fn uri_parameters_survive_resolution_in_every_form() {
        let base = Path::new("/srv/my app?#%");
        let resolved = |u: &str| {
            resolve_sqlite_url(&DatabaseUrl::new(u), base)
                .expose()
                .to_string()
        };
        assert_eq!(
            resolved("file:ro.db?mode=ro"),
            "file:/srv/my app%3F%23%25/ro.db?mode=ro"
        );
        assert_eq!(
            resolved("sqlite:file:sub/ro.db?mode=ro&cache=private#frag"),
            "sqlite:file:/srv/my app%3F%23%25/sub/ro.db?mode=ro&cache=private#frag"
        );
        assert_eq!(
            resolved("sqlite://ro.db?immutable=1"),
            "sqlite:///srv/my app%3F%23%25/ro.db?immutable=1"
        );
        assert_eq!(
            resolved("file:/abs/ro.db?mode=ro"),
            "file:/abs/ro.db?mode=ro"
        );
        assert_eq!(
            resolved("file::memory:?cache=shared"),
            "file::memory:?cache=shared"
        );
        assert_eq!(resolved("dev.db"), "/srv/my app?#%/dev.db");
        for u in [
            "file:ro.db?mode=ro",
            "sqlite:file:sub/ro.db?mode=ro",
            "sqlite://ro.db?mode=ro",
        ] {
            let r = resolve_sqlite_url(&DatabaseUrl::new(u), base);
            let path = sqlite_path(r.expose()).unwrap();
            assert!(path.starts_with("/srv/my app?#%"), "{u} -> {path:?}");
            assert!(sqlite_open_target(r.expose()).ends_with("?mode=ro"), "{u}");
        }
        assert_eq!(
            sqlite_open_target("sqlite://x.db?mode=ro"),
            "file:x.db?mode=ro"
        );
        assert_eq!(sqlite_open_target("sqlite:x.db"), "x.db");
        assert_eq!(sqlite_open_target("/tmp/x.db"), "/tmp/x.db");
    }
}

#[cfg(test)]
mod redaction {
    use super::redact;

    #[test]
    fn raw_url_delimiters_in_a_password_never_show() {
        for pw in [
            "pa#ss", "pa/ss", "pa?ss", "p@ss", "a/b+c=", "x?y#z/w", "ab:cd", "%zz#/",
        ] {
            for url in [
                format!("postgres://app:{pw}@db.example.com:5432/prod"),
                format!("mysql://app:{pw}@db/prod?ssl-mode=REQUIRED"),
                format!("postgres://app:{pw}@db"),
            ] {
                let shown = redact(&url);
                assert!(!shown.contains(pw), "{url} -> {shown}");
                assert!(shown.contains("app:***@"), "{url} -> {shown}");
            }
        }
    }

    #[test]
    fn password_parameters_under_any_spelling_never_show() {
        for url in [
            "postgres://db/prod?pass%77ord=SECRETPW",
            "postgres://db/prod?PASSWORD=SECRETPW",
            "postgres://db/prod?sslmode=require&Password=SECRETPW",
            "mysql://db/prod?passwd=SECRETPW",
            "host=db user=app password=SECRETPW dbname=prod",
        ] {
            let shown = redact(url);
            assert!(!shown.contains("SECRETPW"), "{url} -> {shown}");
        }
        assert_eq!(
            redact("postgres://db/prod?sslmode=require"),
            "postgres://db/prod?sslmode=require"
        );
    }
}
