//! The PostgreSQL programs sluice runs: where the server binaries are (for throwaway
//! clusters), which client tool (pg_dump, pg_restore, psql) fits a server, and the libpq
//! environment a child tool connects with.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use tokio::process::Command;
use tokio_postgres::config::Host;

use crate::core::db::connect::Target;
use crate::core::error::{Error, Result};

/// initdb's folder: PATH, then pg_config --bindir, then the newest /usr/lib/postgresql/*/bin.
pub fn find_bindir() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            if d.join("initdb").is_file() && d.join("pg_ctl").is_file() {
                // Follow symlinks to the real folder, where psql and pg_dump sit too.
                let real = std::fs::canonicalize(d.join("initdb")).ok();
                return Some(real.and_then(|p| p.parent().map(Path::to_path_buf)).unwrap_or(d));
            }
        }
    }
    if let Ok(out) = StdCommand::new("pg_config").arg("--bindir").output() {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if d.join("initdb").is_file() {
            return Some(d);
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let b = e.path().join("bin");
            b.join("initdb").is_file().then_some((v, b))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b)
}

/// A client tool (pg_dump, pg_restore) no older than the server: from `SLUICE_PG_BINDIR`
/// when set (and only there), else the server's own major version's binaries, then PATH.
pub async fn client_tool(name: &str, server_major: u32) -> Result<PathBuf> {
    let pinned = std::env::var_os("SLUICE_PG_BINDIR").filter(|d| !d.is_empty()).map(PathBuf::from);
    let candidates = match &pinned {
        Some(dir) => vec![dir.join(name)],
        None => {
            let mut c =
                vec![PathBuf::from(format!("/usr/lib/postgresql/{server_major}/bin/{name}"))];
            if let Some(dir) = find_bindir() {
                c.push(dir.join(name));
            }
            c.push(PathBuf::from(name));
            c
        }
    };
    let mut seen = None;
    for c in candidates {
        let Ok(out) = Command::new(&c).arg("--version").output().await else { continue };
        match tool_major(&String::from_utf8_lossy(&out.stdout)) {
            Some(m) if m >= server_major => return Ok(c),
            Some(m) => seen = Some((m, c)),
            None => {}
        }
    }
    let where_ = match &pinned {
        Some(dir) => format!(" in {} (SLUICE_PG_BINDIR)", dir.display()),
        None => String::new(),
    };
    Err(Error::database(match seen {
        Some((m, path)) => format!(
            "{} is version {m}, older than the server ({server_major}): it cannot dump a newer server; install postgresql-client-{server_major}",
            path.display()
        ),
        None => format!(
            "{name} not found{where_}: install the PostgreSQL client tools (postgresql-client), or point SLUICE_PG_BINDIR at them"
        ),
    }))
}

/// The major version in "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)".
pub fn tool_major(version_line: &str) -> Option<u32> {
    let v = version_line.split_whitespace().nth(2)?;
    // "17devel", "16beta2": the leading digits are the major version.
    let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// libpq environment for a child tool: the connection without a password on its command line.
pub fn tool_env(target: &Target, cmd: &mut Command) {
    let c = &target.config;
    match c.get_hosts().first() {
        Some(Host::Tcp(h)) => {
            cmd.env("PGHOST", h);
        }
        Some(Host::Unix(p)) => {
            cmd.env("PGHOST", p);
        }
        None => {}
    }
    if let Some(p) = c.get_ports().first() {
        cmd.env("PGPORT", p.to_string());
    }
    if let Some(u) = c.get_user() {
        cmd.env("PGUSER", u);
    }
    if let Some(pw) = c.get_password() {
        cmd.env("PGPASSWORD", String::from_utf8_lossy(pw).into_owned());
    }
    if let Some(d) = c.get_dbname() {
        cmd.env("PGDATABASE", d);
    }
    if let Some(o) = c.get_options() {
        cmd.env("PGOPTIONS", o);
    }
    let mode = match target.sslmode {
        crate::core::data::config::SslMode::Disable => Some("disable"),
        // libpq's default; node-postgres takes an explicit "prefer" for "require".
        crate::core::data::config::SslMode::Prefer => None,
        crate::core::data::config::SslMode::Require => Some("require"),
        crate::core::data::config::SslMode::VerifyCa => Some("verify-ca"),
        crate::core::data::config::SslMode::VerifyFull => Some("verify-full"),
    };
    if let Some(mode) = mode {
        cmd.env("PGSSLMODE", mode);
    }
    if let Some(root) = target.sslrootcert() {
        cmd.env("PGSSLROOTCERT", root);
    }
    cmd.env("PGAPPNAME", "sluice/backup");
}

/// A code tool's process (`data::code::command`), from its folder, with the connection:
/// DATABASE_URL (what knexfiles and alembic env.py files usually read; the password rides
/// in it, in the child's environment only) and libpq's variables, and PGOPTIONS / PGAPPNAME
/// (read by libpq, so psycopg and psycopg2, and by node-postgres) carrying the timeouts and
/// the application_name sluice finds the tool's sessions by.
pub fn code_tool_process(
    target: &Target,
    c: &crate::core::data::code::command::ToolCommand,
    application_name: &str,
    lock_timeout_ms: u64,
    statement_timeout_ms: u64,
) -> Command {
    let mut cmd = Command::new(&c.program);
    cmd.args(&c.args).current_dir(&c.dir);
    tool_env(target, &mut cmd);
    cmd.env("DATABASE_URL", target.driver_url());
    cmd.env("PGAPPNAME", application_name);
    cmd.env(
        "PGOPTIONS",
        format!(
            "-c lock_timeout={lock_timeout_ms} -c statement_timeout={statement_timeout_ms} -c application_name={application_name}"
        ),
    );
    cmd
}

pub async fn server_major(target: &Target) -> Result<u32> {
    let client = target.connect("sluice/backup").await?;
    let v: i32 =
        client.query_one("SELECT current_setting('server_version_num')::int", &[]).await?.get(0);
    Ok((v / 10_000) as u32)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tool_versions() {
        assert_eq!(
            super::tool_major("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"),
            Some(15)
        );
        assert_eq!(super::tool_major("pg_dump (PostgreSQL) 9.6.24"), Some(9));
        assert_eq!(super::tool_major("pg_dump (PostgreSQL) 17devel"), Some(17));
        assert_eq!(super::tool_major(""), None);
    }
}
