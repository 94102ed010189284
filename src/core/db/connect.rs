//! Turns an environment into a live connection, following libpq's conventions: the URL
//! (from sluice.toml or the variable `url_env` names), then PG* variables and ~/.pgpass for
//! what it leaves out, then TLS per sslmode.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio_postgres::config::{Host, SslMode as PgSslMode};
use tokio_postgres::{Client, Config};

use crate::core::data::config::{Environment, SslMode, Tls};
use crate::core::error::{describe_pg, Error, Result};

/// A resolved connection target. Never prints its password.
#[derive(Clone)]
pub struct Target {
    pub env_name: String,
    pub config: Config,
    pub sslmode: SslMode,
    tls: Tls,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({})", self.describe())
    }
}

impl Target {
    pub fn resolve(env: &Environment) -> Result<Target> {
        let url = match (&env.url, &env.url_env) {
            (Some(u), _) => u.clone(),
            (None, Some(var)) => std::env::var(var).map_err(|_| {
                Error::input(format!(
                    "environment {:?}: the variable {var} (its url_env) is not set; export it with the connection URL",
                    env.name
                ))
            })?,
            (None, None) if env.fleet.is_some() => {
                return Err(Error::input(format!(
                    "environment {:?} is a fleet of databases, not one: its status, apply and rollback go over the fleet; a single database is reached through its own environment",
                    env.name
                )))
            }
            (None, None) => {
                return Err(Error::input(format!("environment {:?} has no url", env.name)))
            }
        };
        Target::from_url(&env.name, &url, &env.tls)
    }

    pub fn from_url(env_name: &str, url: &str, file_tls: &Tls) -> Result<Target> {
        let (rest, url_tls) = strip_ssl_params(url);
        let mut config = Config::from_str(&rest).map_err(|e| {
            Error::input(format!("environment {env_name:?}: invalid connection URL: {e}"))
        })?;
        fill_from_env(&mut config);
        let tls = Tls {
            sslmode: file_tls
                .sslmode
                .or(url_tls.sslmode)
                .or_else(|| std::env::var("PGSSLMODE").ok().and_then(|s| SslMode::parse(&s))),
            sslrootcert: file_tls
                .sslrootcert
                .clone()
                .or(url_tls.sslrootcert)
                .or_else(|| std::env::var_os("PGSSLROOTCERT").map(PathBuf::from)),
            sslcert: file_tls
                .sslcert
                .clone()
                .or(url_tls.sslcert)
                .or_else(|| std::env::var_os("PGSSLCERT").map(PathBuf::from)),
            sslkey: file_tls
                .sslkey
                .clone()
                .or(url_tls.sslkey)
                .or_else(|| std::env::var_os("PGSSLKEY").map(PathBuf::from)),
        };
        let sslmode = tls.sslmode.unwrap_or(SslMode::Prefer);
        config.ssl_mode(match sslmode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            _ => PgSslMode::Require,
        });
        Ok(Target { env_name: env_name.to_string(), config, sslmode, tls })
    }

    /// `user@host:port/db`, for messages and the header.
    pub fn describe(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(p)) => p.display().to_string(),
            None => "?".into(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        format!(
            "{}@{}:{}/{}",
            self.config.get_user().unwrap_or("?"),
            host,
            port,
            self.config.get_dbname().unwrap_or("?")
        )
    }

    pub fn sslrootcert(&self) -> Option<&Path> {
        self.tls.sslrootcert.as_deref()
    }

    /// Connected through a Unix socket: no network between sluice and the server.
    pub fn is_unix_socket(&self) -> bool {
        matches!(self.config.get_hosts().first(), Some(tokio_postgres::config::Host::Unix(_)))
    }

    /// Every host is a Unix socket.
    fn only_unix_sockets(&self) -> bool {
        let hosts = self.config.get_hosts();
        !hosts.is_empty() && hosts.iter().all(|h| matches!(h, Host::Unix(_)))
    }

    /// What keeps the connection off the network, if anything: a Unix socket, or a loopback
    /// address (a cloud SQL proxy, a pgbouncer sidecar, an SSH tunnel: the proxy encrypts).
    pub fn local_link(&self) -> Option<&'static str> {
        match self.config.get_hosts().first() {
            Some(Host::Unix(_)) => Some("local socket"),
            Some(Host::Tcp(h)) => {
                let bare = h.trim_start_matches('[').trim_end_matches(']');
                let loopback = bare.eq_ignore_ascii_case("localhost")
                    || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
                loopback.then_some("loopback")
            }
            None => None,
        }
    }

    pub fn dbname(&self) -> &str {
        self.config.get_dbname().unwrap_or("")
    }

    /// The same server, user and TLS, another database (a rehearsal's scratch copy).
    pub fn with_dbname(&self, name: &str) -> Target {
        let mut t = self.clone();
        t.config.dbname(name);
        t
    }

    /// The connection as a URL the application drivers read (node-postgres, psycopg,
    /// SQLAlchemy): `postgresql://user:password@host:port/db?sslmode=...`, a Unix socket as
    /// `?host=/dir` (both drivers take that form; TLS on a socket means nothing). It carries the password: it goes to a
    /// child's environment only, never to a file or a log.
    pub fn driver_url(&self) -> String {
        let c = &self.config;
        let user = c.get_user().map(percent).unwrap_or_default();
        let auth = match c.get_password() {
            Some(pw) => format!("{user}:{}@", percent(&String::from_utf8_lossy(pw))),
            None if user.is_empty() => String::new(),
            None => format!("{user}@"),
        };
        let port = c.get_ports().first().copied().unwrap_or(5432);
        let db = percent(self.dbname());
        // "prefer" is libpq's default and node-postgres reads it as "require": left out.
        let mode = match self.sslmode {
            SslMode::Disable => "?sslmode=disable",
            SslMode::Prefer => "",
            SslMode::Require => "?sslmode=require",
            SslMode::VerifyCa => "?sslmode=verify-ca",
            SslMode::VerifyFull => "?sslmode=verify-full",
        };
        match c.get_hosts().first() {
            Some(Host::Unix(dir)) => format!(
                "postgresql://{auth}localhost:{port}/{db}?host={}",
                percent(&dir.display().to_string()).replace("%2F", "/")
            ),
            Some(Host::Tcp(h)) => format!("postgresql://{auth}{h}:{port}/{db}{mode}"),
            None => format!("postgresql://{auth}localhost:{port}/{db}{mode}"),
        }
    }

    /// Opens a connection whose driver runs on its own task.
    pub async fn connect(&self, application_name: &str) -> Result<Client> {
        let mut config = self.config.clone();
        config.application_name(application_name);
        let opened = if self.sslmode == SslMode::Disable || self.only_unix_sockets() {
            // No TLS wanted, or none possible (libpq never uses TLS on a Unix socket and
            // ignores sslmode there): skip building a connector, which loads the system CA
            // bundle, and the SSL request the server would refuse.
            open(&config, tokio_postgres::NoTls).await
        } else {
            open(&config, self.tls_connector()?).await
        };
        opened.map_err(|e| {
            Error::database(format!(
                "cannot connect to {} (environment {}): {}",
                self.describe(),
                self.env_name,
                describe_pg(&e)
            ))
        })
    }

    /// Asks the server to cancel what the session behind `token` is running.
    pub async fn cancel(&self, token: &tokio_postgres::CancelToken) -> Result<()> {
        let sent = if self.sslmode == SslMode::Disable || self.only_unix_sockets() {
            token.cancel_query(tokio_postgres::NoTls).await
        } else {
            token.cancel_query(self.tls_connector()?).await
        };
        sent.map_err(|e| {
            Error::database(format!("cannot send the cancel request: {}", describe_pg(&e)))
        })
    }

    /// The connector for this target's TLS settings, built once per process and again only
    /// when a certificate or key file changes (a long console session outlives a rotation).
    /// Building one costs about 40 ms: OpenSSL reads the whole system CA bundle each time.
    fn tls_connector(&self) -> Result<postgres_native_tls::MakeTlsConnector> {
        let root = self.tls.sslrootcert.clone().or_else(default_root_cert);
        let key = (self.sslmode, root.clone(), self.tls.sslcert.clone(), self.tls.sslkey.clone());
        let stamps: Vec<Option<FileStamp>> =
            [&key.1, &key.2, &key.3].iter().map(|p| p.as_deref().and_then(stamp)).collect();
        let cache = TLS_CACHE.get_or_init(Default::default);
        if let Some(e) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            if e.stamps == stamps {
                return Ok(e.connector.clone());
            }
        }
        // Errors are not kept: the operator may fix the file and try again.
        let connector = self.build_tls_connector()?;
        let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
        let builds = cache.get(&key).map_or(0, |e| e.builds) + 1;
        cache.insert(key, TlsEntry { stamps, connector: connector.clone(), builds });
        Ok(connector)
    }

    fn build_tls_connector(&self) -> Result<postgres_native_tls::MakeTlsConnector> {
        let mut b = native_tls::TlsConnector::builder();
        let root = self.tls.sslrootcert.clone().or_else(default_root_cert);
        let verify = match self.sslmode {
            SslMode::VerifyCa | SslMode::VerifyFull => true,
            // libpq: with a root certificate given, require verifies the chain like verify-ca.
            SslMode::Require => self.tls.sslrootcert.is_some(),
            _ => false,
        };
        if verify {
            let path = root.ok_or_else(|| {
                Error::input(format!(
                    "environment {}: sslmode {:?} needs a root certificate: set sslrootcert",
                    self.env_name, self.sslmode
                ))
            })?;
            let pem = read_file(&path, "sslrootcert")?;
            let cert = native_tls::Certificate::from_pem(&pem).map_err(|e| {
                Error::input(format!("{}: not a PEM certificate: {e}", path.display()))
            })?;
            b.add_root_certificate(cert);
            b.disable_built_in_roots(true);
            if self.sslmode != SslMode::VerifyFull {
                b.danger_accept_invalid_hostnames(true);
            }
        } else {
            b.danger_accept_invalid_certs(true);
            b.danger_accept_invalid_hostnames(true);
        }
        if let (Some(cert), Some(key)) = (&self.tls.sslcert, &self.tls.sslkey) {
            let c = read_file(cert, "sslcert")?;
            let k = read_file(key, "sslkey")?;
            let id = native_tls::Identity::from_pkcs8(&c, &k).map_err(|e| {
                Error::input(format!(
                    "{} / {}: client certificate and key are not usable PEM (the key must be PKCS#8): {e}",
                    cert.display(),
                    key.display()
                ))
            })?;
            b.identity(id);
        }
        let connector =
            b.build().map_err(|e| Error::database(format!("cannot set up TLS: {e}")))?;
        Ok(postgres_native_tls::MakeTlsConnector::new(connector))
    }
}

type TlsKey = (SslMode, Option<PathBuf>, Option<PathBuf>, Option<PathBuf>);
type FileStamp = (std::time::SystemTime, u64, u64);

struct TlsEntry {
    stamps: Vec<Option<FileStamp>>,
    connector: postgres_native_tls::MakeTlsConnector,
    /// How many times this entry was built: tests check the cache is used.
    builds: u32,
}

static TLS_CACHE: OnceLock<Mutex<HashMap<TlsKey, TlsEntry>>> = OnceLock::new();

fn stamp(path: &Path) -> Option<FileStamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

async fn open<T>(config: &Config, tls: T) -> std::result::Result<Client, tokio_postgres::Error>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>,
    T::Stream: Send + 'static,
{
    let (client, connection) = config.connect(tls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("connection closed: {e}");
        }
    });
    Ok(client)
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::input(format!("{what} {}: {e}", path.display())))
}

fn default_root_cert() -> Option<PathBuf> {
    let p = directories::BaseDirs::new()?.home_dir().join(".postgresql/root.crt");
    p.exists().then_some(p)
}

/// Removes sslmode/sslrootcert/sslcert/sslkey from a URL's query (tokio-postgres knows only
/// some sslmode values) and returns them.
fn strip_ssl_params(url: &str) -> (String, Tls) {
    let mut tls = Tls::default();
    let take = |k: &str, v: &str, tls: &mut Tls| -> bool {
        match k {
            "sslmode" => tls.sslmode = SslMode::parse(v),
            "sslrootcert" => tls.sslrootcert = Some(PathBuf::from(v)),
            "sslcert" => tls.sslcert = Some(PathBuf::from(v)),
            "sslkey" => tls.sslkey = Some(PathBuf::from(v)),
            _ => return false,
        }
        true
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        if let Some((base, query)) = url.split_once('?') {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    !take(k, v, &mut tls)
                })
                .collect();
            let rest = if kept.is_empty() {
                base.to_string()
            } else {
                format!("{base}?{}", kept.join("&"))
            };
            return (rest, tls);
        }
        return (url.to_string(), tls);
    }
    let kept: Vec<&str> = url
        .split_whitespace()
        .filter(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            !take(k.trim(), v.trim().trim_matches('\''), &mut tls)
        })
        .collect();
    (kept.join(" "), tls)
}

/// libpq's environment variables and ~/.pgpass fill what the URL leaves out.
fn fill_from_env(config: &mut Config) {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if config.get_hosts().is_empty() {
        match var("PGHOST") {
            Some(h) if h.starts_with('/') => {
                config.host_path(h);
            }
            Some(h) => {
                config.host(&h);
            }
            None => {
                let port = var("PGPORT").unwrap_or_else(|| "5432".into());
                let sock = ["/var/run/postgresql", "/tmp"]
                    .into_iter()
                    .find(|d| Path::new(d).join(format!(".s.PGSQL.{port}")).exists());
                match sock {
                    Some(d) => config.host_path(d),
                    None => config.host("localhost"),
                };
            }
        }
    }
    if config.get_ports().is_empty() {
        if let Some(p) = var("PGPORT").and_then(|p| p.parse().ok()) {
            config.port(p);
        }
    }
    if config.get_user().is_none() {
        let user = var("PGUSER").unwrap_or_else(crate::core::host::identity::os_user);
        config.user(&user);
    }
    if config.get_dbname().is_none() {
        let db =
            var("PGDATABASE").or_else(|| config.get_user().map(str::to_string)).unwrap_or_default();
        config.dbname(&db);
    }
    // `-c search_path=app` and the like: what psql and the project's own tool get too.
    if config.get_options().is_none() {
        if let Some(o) = var("PGOPTIONS") {
            config.options(o);
        }
    }
    if config.get_connect_timeout().is_none() {
        let secs = var("PGCONNECT_TIMEOUT").and_then(|s| s.parse().ok()).unwrap_or(10);
        config.connect_timeout(Duration::from_secs(secs));
    }
    if config.get_password().is_none() {
        if let Some(pw) = var("PGPASSWORD") {
            config.password(pw);
        } else if let Some(pw) = pgpass_lookup(config) {
            config.password(pw);
        }
    }
}

fn pgpass_lookup(config: &Config) -> Option<String> {
    let path = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| Some(directories::BaseDirs::new()?.home_dir().join(".pgpass")))?;
    let text = std::fs::read_to_string(&path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // libpq ignores a password file others can read; so do we.
        if let Ok(meta) = std::fs::metadata(&path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!("{} is readable by others; ignored", path.display());
                return None;
            }
        }
    }
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        _ => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
    let db = config.get_dbname().unwrap_or("");
    let user = config.get_user().unwrap_or("");
    pgpass_find(&text, &host, &port, db, user)
}

/// Finds the first matching line of a pgpass file (fields may be `*`; `\:` and `\\` escape).
pub fn pgpass_find(text: &str, host: &str, port: &str, db: &str, user: &str) -> Option<String> {
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                }
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut cur)),
                _ => cur.push(c),
            }
        }
        fields.push(cur);
        if fields.len() != 5 {
            continue;
        }
        let m = |pat: &str, v: &str| pat == "*" || pat == v;
        if m(&fields[0], host) && m(&fields[1], port) && m(&fields[2], db) && m(&fields[3], user) {
            return Some(fields[4].clone());
        }
    }
    None
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn driver_url_encodes_the_password_and_keeps_sockets() {
        let tls = super::Tls::default();
        let t =
            super::Target::from_url("t", "postgres://app:p%2Fw%40rd@db.example:6432/shop", &tls)
                .unwrap();
        assert_eq!(t.driver_url(), "postgresql://app:p%2Fw%40rd@db.example:6432/shop");
        let s =
            super::Target::from_url("t", "postgres://app@%2Ftmp%2Fpg:55432/shop", &tls).unwrap();
        assert_eq!(s.driver_url(), "postgresql://app@localhost:55432/shop?host=/tmp/pg");
    }

    use super::*;

    #[test]
    fn loopback_and_sockets_keep_off_the_network() {
        let link = |url: &str| Target::from_url("t", url, &Tls::default()).unwrap().local_link();
        assert_eq!(link("postgres://u@127.0.0.1:5432/db"), Some("loopback"));
        assert_eq!(link("postgres://u@127.8.9.1/db"), Some("loopback"));
        assert_eq!(link("postgres://u@[::1]:6432/db"), Some("loopback"));
        assert_eq!(link("postgres://u@localhost/db"), Some("loopback"));
        assert_eq!(link("postgres://u@%2Frun%2Fpostgresql/db"), Some("local socket"));
        assert_eq!(link("postgres://u@db.internal.example.com/db"), None);
        assert_eq!(link("postgres://u@10.0.0.12/db"), None);
    }

    #[test]
    fn ssl_params_are_taken_out_of_the_url() {
        let (rest, tls) = strip_ssl_params(
            "postgres://app@db:5432/shop?sslmode=verify-full&sslrootcert=/c/root.crt&connect_timeout=3",
        );
        assert_eq!(rest, "postgres://app@db:5432/shop?connect_timeout=3");
        assert_eq!(tls.sslmode, Some(SslMode::VerifyFull));
        assert_eq!(tls.sslrootcert, Some(PathBuf::from("/c/root.crt")));
        let t = Target::from_url("x", "postgres://app@db/shop?sslmode=verify-ca", &Tls::default())
            .unwrap();
        assert_eq!(t.sslmode, SslMode::VerifyCa);
        assert_eq!(t.describe(), "app@db:5432/shop");
    }

    fn builds(t: &Target) -> u32 {
        let root = t.tls.sslrootcert.clone();
        let key = (t.sslmode, root, t.tls.sslcert.clone(), t.tls.sslkey.clone());
        let cache = TLS_CACHE.get_or_init(Default::default);
        let n = cache.lock().unwrap().get(&key).map_or(0, |e| e.builds);
        n
    }

    fn make_cert(dir: &Path, name: &str) -> Vec<u8> {
        let (cert, key) = (dir.join(format!("{name}.crt")), dir.join(format!("{name}.key")));
        let out = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
            .args(["-nodes", "-days", "1", "-subj", &format!("/CN={name}"), "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::read(cert).unwrap()
    }

    #[test]
    fn the_tls_connector_is_built_once_and_again_when_its_root_certificate_changes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root.crt");
        std::fs::write(&root, make_cert(dir.path(), "first")).unwrap();
        let url = format!("postgres://a@h/db?sslmode=verify-ca&sslrootcert={}", root.display());
        let t = Target::from_url("x", &url, &Tls::default()).unwrap();
        t.tls_connector().unwrap();
        t.tls_connector().unwrap();
        // A target resolved again (the console does so on every reload) shares it too.
        Target::from_url("x", &url, &Tls::default()).unwrap().tls_connector().unwrap();
        assert_eq!(builds(&t), 1);
        // A broken file is reported, not hidden behind the connector built before it.
        std::fs::write(&root, "not a certificate").unwrap();
        let err = t.tls_connector().err().expect("a broken root certificate is refused");
        assert!(err.message.contains("not a PEM certificate"), "{err}");
        // A rotated certificate is read again.
        std::fs::write(&root, make_cert(dir.path(), "second")).unwrap();
        t.tls_connector().unwrap();
        assert_eq!(builds(&t), 2);
    }

    #[test]
    fn pgpass_matching() {
        let text = "# comment\ndb:5432:shop:app:s3cr\\:et\n*:*:*:other:pw2\n";
        assert_eq!(pgpass_find(text, "db", "5432", "shop", "app").as_deref(), Some("s3cr:et"));
        assert_eq!(pgpass_find(text, "x", "1", "y", "other").as_deref(), Some("pw2"));
        assert_eq!(pgpass_find(text, "db", "5433", "shop", "app"), None);
    }

    #[test]
    fn verify_full_without_root_cert_is_a_clear_error() {
        let t = Target::from_url(
            "prod",
            "postgres://app@db/shop?sslmode=verify-full&sslrootcert=/nonexistent/root.crt",
            &Tls::default(),
        )
        .unwrap();
        let err = t.tls_connector().err().expect("missing file must fail");
        assert!(err.message.contains("/nonexistent/root.crt"), "{err}");
    }
}
