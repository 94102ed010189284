//! The migration runners the apply benchmark compares, each on the same generated
//! migrations written in its own folder format: psql (one session running every file, one
//! transaction each or autocommit), sluice, and, when installed, sqlx-cli and dbmate
//! (`./scripts/setup` puts them in the native-tools cache).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Psql,
    Sluice,
    Sqlx,
    Dbmate,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Psql => "psql",
            Tool::Sluice => "sluice",
            Tool::Sqlx => "sqlx-cli",
            Tool::Dbmate => "dbmate",
        }
    }
}

/// Where each tool's executable is.
pub struct Runners {
    pub psql: PathBuf,
    pub sluice: PathBuf,
    pub sqlx: Option<PathBuf>,
    pub dbmate: Option<PathBuf>,
    /// sluice's data directory (reports, audit log), kept out of the user's.
    pub data_dir: PathBuf,
}

impl Runners {
    pub fn find(psql: PathBuf, sluice: PathBuf, data_dir: PathBuf) -> Runners {
        let tools = tools_dir();
        let found = |rel: &str, name: &str| {
            let p = tools.join(rel);
            if p.is_file() {
                return Some(p);
            }
            println!(
                "({name} is not installed here: ./scripts/setup installs it into {}; left out)",
                tools.display()
            );
            None
        };
        Runners {
            psql,
            sluice,
            sqlx: found("bin/sqlx", "sqlx-cli"),
            dbmate: found("node_modules/.bin/dbmate", "dbmate"),
            data_dir,
        }
    }

    pub fn tools(&self) -> Vec<Tool> {
        let mut t = vec![Tool::Psql, Tool::Sluice];
        if self.sqlx.is_some() {
            t.push(Tool::Sqlx);
        }
        if self.dbmate.is_some() {
            t.push(Tool::Dbmate);
        }
        t
    }
}

/// Where `./scripts/setup` puts the native tools.
fn tools_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SLUICE_NATIVE_TOOLS") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".cache"))
        .join("sluice/native-tools")
}

/// The generated migrations: CREATE TABLE and a 50-row INSERT each.
pub struct Workload {
    pub count: usize,
    /// One transaction per migration; else each statement on its own (autocommit).
    pub transactional: bool,
}

impl Workload {
    pub fn body(i: usize) -> String {
        let rows: Vec<String> = (1..=50).map(|r| format!("({r}, 'row {r} of {i}')")).collect();
        format!(
            "CREATE TABLE t{i} (id int PRIMARY KEY, v text);\nINSERT INTO t{i} VALUES {};\n",
            rows.join(", ")
        )
    }

    /// Writes the migrations for `tool` under `dir`.
    pub fn write(&self, tool: Tool, dir: &Path, sluice_url: &str) {
        let m = dir.join("migrations");
        std::fs::create_dir_all(&m).unwrap();
        let nt = !self.transactional;
        for i in 1..=self.count {
            let body = Workload::body(i);
            let (name, text) = match tool {
                Tool::Psql => (format!("{i:05}_m{i}.sql"), body),
                Tool::Sluice => {
                    let head = if nt { "-- sluice:no-transaction\n" } else { "" };
                    (format!("{i:05}_m{i}.up.sql"), format!("{head}{body}"))
                }
                Tool::Sqlx => {
                    let head = if nt { "-- no-transaction\n" } else { "" };
                    (format!("{i:05}_m{i}.sql"), format!("{head}{body}"))
                }
                Tool::Dbmate => {
                    let up = if nt { "-- migrate:up transaction:false" } else { "-- migrate:up" };
                    (format!("{i:05}_m{i}.sql"), format!("{up}\n{body}-- migrate:down\n"))
                }
            };
            std::fs::write(m.join(name), text).unwrap();
        }
        match tool {
            Tool::Sluice => std::fs::write(
                dir.join("sluice.toml"),
                format!("[environments.bench]\ntier = \"development\"\nurl = \"{sluice_url}\"\n"),
            )
            .unwrap(),
            Tool::Psql => {
                // One psql process, one connection, one transaction per file as a careful
                // script would (or autocommit).
                let mut script = String::new();
                for i in 1..=self.count {
                    let f = m.join(format!("{i:05}_m{i}.sql"));
                    if self.transactional {
                        script.push_str(&format!("BEGIN;\n\\i {}\nCOMMIT;\n", f.display()));
                    } else {
                        script.push_str(&format!("\\i {}\n", f.display()));
                    }
                }
                std::fs::write(dir.join("all.psql"), script).unwrap();
            }
            _ => {}
        }
    }
}

/// How the tools reach the server.
pub enum Link {
    /// The cluster's Unix socket (trust).
    Socket { dir: PathBuf, port: u16 },
    /// TCP to a port (the latency proxy), as a role with a password, without TLS (the
    /// throwaway cluster has none, and each tool would ask for it differently).
    Tcp { port: u16, user: String, password: String },
}

impl Link {
    /// Database `db`'s URL in the form `tool` reads. sluice's carries no password: it
    /// refuses one in sluice.toml and reads PGPASSWORD, as libpq does.
    pub fn url(&self, tool: Tool, db: &str) -> String {
        match self {
            Link::Socket { dir, port } => {
                let d = dir.display();
                match tool {
                    Tool::Psql | Tool::Sluice => {
                        let enc = d.to_string().replace('/', "%2F");
                        format!("postgres://postgres@{enc}:{port}/{db}")
                    }
                    Tool::Sqlx => format!("postgres:///{db}?host={d}&port={port}&user=postgres"),
                    Tool::Dbmate => {
                        format!("postgres://postgres@/{db}?socket={d}&port={port}&sslmode=disable")
                    }
                }
            }
            Link::Tcp { port, user, password } => match tool {
                Tool::Sluice => format!("postgres://{user}@127.0.0.1:{port}/{db}?sslmode=disable"),
                _ => format!("postgres://{user}:{password}@127.0.0.1:{port}/{db}?sslmode=disable"),
            },
        }
    }

    fn password(&self) -> Option<&str> {
        match self {
            Link::Socket { .. } => None,
            Link::Tcp { password, .. } => Some(password),
        }
    }
}

/// Runs `tool` on the folder `dir` wrote for it: its wall time, and for sluice where its
/// own report says the time went (its timings and stages, in milliseconds, by name).
pub fn run(
    r: &Runners,
    tool: Tool,
    dir: &Path,
    link: &Link,
    db: &str,
) -> (Duration, Vec<(String, f64)>) {
    let url = link.url(tool, db);
    let mut cmd = match tool {
        Tool::Psql => {
            let mut c = Command::new(&r.psql);
            c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &url, "-f"])
                .arg(dir.join("all.psql"));
            c
        }
        Tool::Sluice => {
            let mut c = Command::new(&r.sluice);
            c.arg("--project").arg(dir).args(["apply", "--format", "json"]);
            c.env("SLUICE_DATA_DIR", &r.data_dir);
            if let Some(p) = link.password() {
                c.env("PGPASSWORD", p);
            }
            c
        }
        Tool::Sqlx => {
            let mut c = Command::new(r.sqlx.as_ref().expect("sqlx installed"));
            c.args(["migrate", "run", "--source"]).arg(dir.join("migrations"));
            c.args(["--database-url", &url]);
            c
        }
        Tool::Dbmate => {
            let mut c = Command::new(r.dbmate.as_ref().expect("dbmate installed"));
            c.args(["--url", &url, "--migrations-dir"]).arg(dir.join("migrations"));
            c.args(["--no-dump-schema", "up"]);
            c
        }
    };
    let t = Instant::now();
    let out = cmd.output().unwrap();
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "{} failed: {}{}",
        tool.name(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = (tool == Tool::Sluice)
        .then(|| serde_json::from_slice::<serde_json::Value>(&out.stdout).ok())
        .flatten();
    (took, report.map(|j| breakdown(&j)).unwrap_or_default())
}

/// The report's timings and its stages' durations, in the order the run went.
fn breakdown(j: &serde_json::Value) -> Vec<(String, f64)> {
    let t = &j["timings"];
    let mut parts = vec![("open".to_string(), t["open_ms"].as_f64().unwrap_or(0.0))];
    for s in j["stages"].as_array().into_iter().flatten() {
        let name = s["stage"].as_str().unwrap_or("?").to_string();
        parts.push((name, s["duration_ms"].as_f64().unwrap_or(0.0)));
    }
    for (k, name) in [
        ("migrations_ms", "migrations"),
        ("verify_ms", "verify"),
        ("snapshot_ms", "snapshot"),
        ("record_ms", "report files"),
    ] {
        parts.push((name.to_string(), t[k].as_f64().unwrap_or(0.0)));
    }
    parts
}
