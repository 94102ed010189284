//! A throwaway PostgreSQL cluster from the local server binaries, for `sluice demo` and the
//! tests. It listens on a private Unix socket (trust) and on 127.0.0.1 (password only), and a
//! watchdog process removes it when its owner exits, however it exits.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::core::db::tools::find_bindir;
use crate::core::error::{Error, Result};

pub struct Cluster {
    pub dir: PathBuf,
    pub port: u16,
    pub bin: PathBuf,
    /// Closing this pipe tells the watchdog to stop the server and delete the directory.
    pub(super) watchdog_pipe: Option<ChildStdin>,
    pub(super) watchdog: Option<Child>,
}

/// The role created with a password, reachable over TCP, for authentication tests.
pub const PASSWORD_ROLE: &str = "sluice_pw";

impl Cluster {
    /// initdb + start. Takes about a second. Durability is off (fsync, synchronous commit,
    /// full page writes): a throwaway cluster loses nothing it needs in a crash.
    pub fn start() -> Result<Cluster> {
        Cluster::start_with(false, None)
    }

    /// Like `start`, with PostgreSQL's default durability (each commit waits for fsync),
    /// for benchmarks that must show what a production server costs.
    pub fn start_durable() -> Result<Cluster> {
        Cluster::start_with(true, None)
    }

    /// Like `start`, with the data directory under `base` (a tmpfs such as /dev/shm, where
    /// creating and deleting thousands of files costs no file system work a benchmark would
    /// measure instead of the client).
    pub fn start_under(base: &Path) -> Result<Cluster> {
        Cluster::start_with(false, Some(base))
    }

    fn start_with(durable: bool, base: Option<&Path>) -> Result<Cluster> {
        let bin = find_bindir().ok_or_else(|| {
            Error::database(
                "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH, via pg_config or in /usr/lib/postgresql/*/bin: install the postgresql package",
            )
        })?;
        let as_postgres = is_root();
        let base = match base {
            Some(b) => b.to_path_buf(),
            None if Path::new("/tmp").is_dir() => PathBuf::from("/tmp"),
            None => std::env::temp_dir(),
        };
        let dir = base.join(format!(
            "sluice-pg-{}-{}",
            std::process::id(),
            crate::core::host::identity::new_run_id()
        ));
        std::fs::create_dir(&dir)
            .map_err(|e| Error::database(format!("{}: {e}", dir.display())))?;
        set_mode(&dir, 0o700)?;
        if as_postgres {
            chown_to_postgres(&dir)?;
        }
        // The watchdog comes first, so even a failed start leaves nothing behind.
        let (watchdog, pipe) = spawn_watchdog(&bin, &dir, as_postgres)?;
        let mut cluster = Cluster {
            dir: dir.clone(),
            port: 0,
            bin: bin.clone(),
            watchdog_pipe: Some(pipe),
            watchdog: Some(watchdog),
        };
        let data = dir.join("data");
        let pwfile = dir.join("pw");
        std::fs::write(&pwfile, "unused-superuser-password\n")
            .map_err(|e| Error::database(format!("{}: {e}", pwfile.display())))?;
        if as_postgres {
            chown_to_postgres(&pwfile)?;
        }
        run(
            pg_command(&bin.join("initdb"), as_postgres, &dir).arg("-D").arg(&data).args([
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "-A",
                "trust",
            ]),
            "initdb",
        )?;
        let hba = "local all all trust\nlocal replication all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n";
        std::fs::write(data.join("pg_hba.conf"), hba)
            .map_err(|e| Error::database(format!("pg_hba.conf: {e}")))?;
        let mut last_err = None;
        for _ in 0..3 {
            let port = free_port()?;
            let durability = if durable {
                ""
            } else {
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            };
            let opts = format!(
                "-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{}' \
                 {durability} -c max_connections=200",
                dir.display()
            );
            let res = run(
                pg_command(&bin.join("pg_ctl"), as_postgres, &dir)
                    .arg("-D")
                    .arg(&data)
                    .arg("-l")
                    .arg(dir.join("server.log"))
                    .args(["-w", "-t", "30", "-o", &opts, "start"]),
                "pg_ctl start",
            );
            match res {
                Ok(()) => {
                    cluster.port = port;
                    last_err = None;
                    break;
                }
                Err(e) => last_err = Some(e),
            }
        }
        if let Some(e) = last_err {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            return Err(e.context(format_args!("server log: {}", log.lines().last().unwrap_or(""))));
        }
        Ok(cluster)
    }

    /// URL over the private Unix socket as the superuser `postgres` (trust).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@{}:{}/{db}", encode_path(&self.dir), self.port)
    }

    /// URL over TCP for a role that must give a password.
    pub fn tcp_url(&self, user: &str, password: &str, db: &str) -> String {
        format!("postgres://{user}:{password}@127.0.0.1:{}/{db}", self.port)
    }

    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// Runs SQL as the superuser through psql (used before any sluice connection exists).
    pub fn psql(&self, db: &str, sql: &str) -> Result<String> {
        let psql = self.bin.join("psql");
        let psql = if psql.is_file() { psql } else { PathBuf::from("psql") };
        let out = Command::new(psql)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.dir)
            .args(["-p", &self.port.to_string(), "-U", "postgres", "-d", db, "-c", sql])
            .output()
            .map_err(|e| Error::database(format!("psql: {e}")))?;
        if !out.status.success() {
            return Err(Error::database(format!(
                "psql: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Turns on TLS with the given PEM certificate and key (copied into the data folder,
    /// owned by the server's user, mode 0600) and reloads the server.
    pub fn enable_tls(&self, cert: &Path, key: &Path) -> Result<()> {
        let data = self.dir.join("data");
        for (src, name) in [(cert, "server.crt"), (key, "server.key")] {
            let dest = data.join(name);
            std::fs::copy(src, &dest)
                .map_err(|e| Error::database(format!("{}: {e}", src.display())))?;
            set_mode(&dest, 0o600)?;
            if is_root() {
                chown_to_postgres(&dest)?;
            }
        }
        self.psql("postgres", "ALTER SYSTEM SET ssl = on")?;
        self.psql("postgres", "SELECT pg_reload_conf()")?;
        // The reload is asynchronous: wait until the server reports TLS on (under load,
        // seconds).
        for _ in 0..200 {
            if self.psql("postgres", "SHOW ssl")? == "on" {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Err(Error::database("the server did not turn TLS on; see its log"))
    }

    /// `pg_ctl restart -m fast`: every session is terminated and the server comes back with
    /// the options it was started with. For fault-injection tests.
    pub fn restart_fast(&self) -> Result<()> {
        run(
            pg_command(&self.bin.join("pg_ctl"), is_root(), &self.dir)
                .arg("-D")
                .arg(self.dir.join("data"))
                .arg("-l")
                .arg(self.dir.join("server.log"))
                .args(["-w", "-t", "30", "-m", "fast", "restart"]),
            "pg_ctl restart",
        )
    }

    /// Stops the server and removes its directory now.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        drop(self.watchdog_pipe.take());
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.wait();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn encode_path(p: &Path) -> String {
    p.display().to_string().replace('%', "%25").replace('/', "%2F")
}

pub(super) fn spawn_watchdog(
    bin: &Path,
    dir: &Path,
    as_postgres: bool,
) -> Result<(Child, ChildStdin)> {
    let pg_ctl = bin.join("pg_ctl");
    let stop = if as_postgres {
        format!(
            "runuser -u postgres -- '{}' -D '{}/data' -m immediate stop",
            pg_ctl.display(),
            dir.display()
        )
    } else {
        format!("'{}' -D '{}/data' -m immediate stop", pg_ctl.display(), dir.display())
    };
    let script = format!(
        "cat > /dev/null; if [ -f '{d}/data/postmaster.pid' ]; then {stop} > /dev/null 2>&1; fi; rm -rf '{d}'",
        d = dir.display()
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir("/")
        // Its own process group: a Ctrl-C at the terminal must not kill the cleaner.
        .process_group(0)
        .spawn()
        .map_err(|e| Error::database(format!("cannot start the cluster watchdog: {e}")))?;
    let pipe = child.stdin.take().ok_or_else(|| Error::database("watchdog has no stdin"))?;
    Ok((child, pipe))
}

pub(super) fn pg_command(bin: &Path, as_postgres: bool, cwd: &Path) -> Command {
    let mut c = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    c.current_dir(cwd);
    c
}

pub(super) fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let out =
        cmd.stdin(Stdio::null()).output().map_err(|e| Error::database(format!("{what}: {e}")))?;
    if !out.status.success() {
        let mut msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if msg.is_empty() {
            msg = String::from_utf8_lossy(&out.stdout).trim().to_string();
        }
        return Err(Error::database(format!("{what} failed: {msg}")));
    }
    Ok(())
}

pub(super) fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Error::database(format!("cannot find a free port: {e}")))?;
    let port = l.local_addr().map_err(|e| Error::database(e.to_string()))?.port();
    Ok(port)
}

pub(super) fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

pub(super) fn set_mode(p: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::database(format!("{}: {e}", p.display())))
}

pub(super) fn chown_to_postgres(p: &Path) -> Result<()> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let ids = passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 3 && f[0] == "postgres").then(|| (f[2].parse().ok(), f[3].parse().ok()))
    });
    let Some((Some(uid), Some(gid))) = ids else {
        return Err(Error::database(
            "running as root, but there is no `postgres` user to run the server as (PostgreSQL refuses root)",
        ));
    };
    std::os::unix::fs::chown(p, Some(uid), Some(gid))
        .map_err(|e| Error::database(format!("chown {}: {e}", p.display())))
}
