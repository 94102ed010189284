//! Test support: a real PostgreSQL for every test. `SLUICE_TEST_DATABASE_URL` names a server
//! to use; otherwise one throwaway cluster is started for the whole test run (and removed by
//! its watchdog when the test process exits, even on failure). Each test gets a fresh database.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use sluice::core::data::config::Project;
use sluice::core::db::cluster::Cluster;

struct Server {
    /// URL of the maintenance database, without password.
    admin_url: String,
    cluster: Option<Cluster>,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn server() -> &'static Server {
    SERVER.get_or_init(|| match std::env::var("SLUICE_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            // Runs while every other test waits on this OnceLock, so setting the
            // environment here races with no reader.
            let url = strip_password(&url);
            std::env::set_var(
                "SLUICE_DATA_DIR",
                std::env::temp_dir().join(format!("sluice-test-data-{}", std::process::id())),
            );
            Server { admin_url: url, cluster: None }
        }
        _ => {
            let cluster = Cluster::start().expect("start a throwaway PostgreSQL cluster");
            // In-process runs write reports and the audit log here; it goes with the cluster.
            std::env::set_var("SLUICE_DATA_DIR", cluster.dir.join("sluice-data"));
            Server { admin_url: cluster.url("postgres"), cluster: Some(cluster) }
        }
    })
}

fn strip_password(url: &str) -> String {
    let Some(rest) = url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://"))
    else {
        return url.to_string();
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    if let Some((userinfo, host)) = authority.rsplit_once('@') {
        if let Some((user, pw)) = userinfo.split_once(':') {
            std::env::set_var("PGPASSWORD", pw);
            return format!("postgres://{user}@{host}{tail}");
        }
    }
    url.to_string()
}

/// `url` with its database replaced.
fn with_db(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    format!("{}/{db}{query}", &base[..host_end])
}

pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn client(&self) -> tokio_postgres::Client {
        connect(&self.url).await
    }

    /// A connection to the server's maintenance database (to drop or recreate this one).
    pub async fn admin(&self) -> tokio_postgres::Client {
        connect(&server().admin_url).await
    }
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let mut config: tokio_postgres::Config = url.parse().expect("test URL");
    if config.get_password().is_none() {
        if let Ok(pw) = std::env::var("PGPASSWORD") {
            config.password(pw);
        }
    }
    let (client, conn) = config.connect(tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// A project with table `a` applied (1_a) and `ALTER TABLE a` pending (2_b), and a session
/// of application `app` idle in a transaction that read `a`: the blocker the pre-checks
/// must name. Returns the project, the blocking client and its pid.
pub async fn project_with_idle_blocker(
    db: &TestDb,
    app: &str,
) -> (TestProject, tokio_postgres::Client, i32) {
    let p = TestProject::new(db, "development", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    p.write("2_b.up.sql", "ALTER TABLE a ADD COLUMN note text;\n");
    assert_eq!(p.sluice(&["apply", "--to", "1"]).code, 0);
    let blocker = db.client().await;
    blocker
        .batch_execute(&format!("SET application_name = '{app}'; BEGIN; SELECT count(*) FROM a"))
        .await
        .unwrap();
    let pid: i32 = blocker.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    (p, blocker, pid)
}

/// A fresh, empty database for one test.
pub async fn fresh_db() -> TestDb {
    let server = server();
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let name = format!("sluice_t{}_{n}", std::process::id());
    let admin = connect(&server.admin_url).await;
    admin
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE template0"))
        .await
        .expect("create db");
    TestDb { url: with_db(&server.admin_url, &name), name }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // The local cluster goes away whole; an external server is cleaned database by database.
        let server = server();
        if server.cluster.is_some() {
            return;
        }
        let admin = server.admin_url.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let c = connect(&admin).await;
                c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok()
            })
        })
        .join();
    }
}

/// The role `sluice_pw` with password `right`, for tests that authenticate over TCP.
pub async fn ensure_password_role(c: &tokio_postgres::Client) {
    c.batch_execute(
        "DO $$ BEGIN CREATE ROLE sluice_pw LOGIN PASSWORD 'right'; \
         EXCEPTION WHEN duplicate_object THEN NULL; END $$",
    )
    .await
    .expect("create sluice_pw");
}

/// The URL of database `name` on the test server.
pub fn db_url(name: &str) -> String {
    with_db(&server().admin_url, name)
}

/// A connection to the test server's maintenance database.
pub async fn admin() -> tokio_postgres::Client {
    connect(&server().admin_url).await
}

pub fn cluster() -> Option<&'static Cluster> {
    server().cluster.as_ref()
}

/// A project folder: sluice.toml with one environment `dev` (or a given tier/extra keys)
/// pointing at `db`, and a migrations folder.
pub struct TestProject {
    pub dir: tempfile::TempDir,
}

impl TestProject {
    pub fn new(db: &TestDb, tier: &str, extra: &str) -> TestProject {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("migrations")).unwrap();
        let toml = format!(
            "[project]\nname = \"t\"\n\n[environments.dev]\ntier = \"{tier}\"\nurl = \"{}\"\n{extra}\n",
            db.url
        );
        std::fs::write(dir.path().join("sluice.toml"), toml).unwrap();
        TestProject { dir }
    }

    /// A project holding a copy of the example migrations.
    pub fn example(db: &TestDb) -> TestProject {
        let p = TestProject::new(db, "development", "");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        for e in std::fs::read_dir(src).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), p.migrations().join(e.file_name())).unwrap();
        }
        p
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn migrations(&self) -> PathBuf {
        self.dir.path().join("migrations")
    }

    /// Writes a file below the migrations folder, making the folders it names.
    pub fn write(&self, file: &str, text: &str) {
        let path = self.migrations().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn project(&self) -> Project {
        Project::load(Some(self.root())).expect("load project")
    }

    /// Runs the sluice binary in this project.
    pub fn sluice(&self, args: &[&str]) -> Output {
        run_sluice(self.root(), args)
    }
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr)
        })
    }
}

pub fn run_sluice(dir: &Path, args: &[&str]) -> Output {
    run_sluice_env(dir, args, &[])
}

/// Runs sluice with extra environment variables.
pub fn run_sluice_env(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["--project", dir.to_str().unwrap()])
        .args(args)
        .env("SLUICE_OPERATOR", "tester")
        .env("SLUICE_DATA_DIR", dir.join(".sluice-data"))
        .envs(envs.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run sluice");
    finish(out)
}

fn finish(out: std::process::Output) -> Output {
    let o = Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!o.stderr.contains("panicked"), "sluice panicked: {}", o.stderr);
    o
}

/// A second person: the OS account `postgres` (which the throwaway cluster runs as, so it
/// reaches the socket), as (uid, gid). Switching to it needs root, which CI has; elsewhere
/// None, and the two-person tests say they were skipped.
pub fn other_account() -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    if std::fs::metadata("/proc/self").ok()?.uid() != 0 {
        eprintln!("not root: cannot act as a second OS account; two-person checks skipped");
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() > 3 && f[0] == "postgres" {
            Some((f[2].parse().ok()?, f[3].parse().ok()?))
        } else {
            None
        }
    })
}

/// Runs sluice in project `dir` as the other OS account, with its own data folder, as a
/// second approver on their own terminal would. The project is made readable to it.
pub fn run_sluice_as(
    account: (u32, u32),
    dir: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Output {
    run_sluice_as_via(account, &[], dir, args, envs)
}

/// `run_sluice_as` through a wrapper command (`["unshare", "-r"]`).
pub fn run_sluice_as_via(
    account: (u32, u32),
    wrapper: &[&str],
    dir: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Output {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = dir.join(".sluice-data-other");
    std::fs::create_dir_all(&data).unwrap();
    std::os::unix::fs::chown(&data, Some(account.0), Some(account.1)).unwrap();
    let bin = binary_for_others();
    let mut cmd = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let out = cmd
        .args(["--project", dir.to_str().unwrap()])
        .args(args)
        .env("SLUICE_DATA_DIR", &data)
        .env("HOME", &data)
        .env_remove("USER")
        .env_remove("LOGNAME")
        .envs(envs.iter().copied())
        .uid(account.0)
        .gid(account.1)
        .current_dir(&data)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run sluice as the other account");
    finish(out)
}

/// The sluice binary where another account can run it: in place when every folder above
/// it is open to others, else a copy in the throwaway cluster's folder (CI may build
/// under a private home).
fn binary_for_others() -> &'static Path {
    use std::os::unix::fs::PermissionsExt;
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_sluice"));
        let open = bin.ancestors().skip(1).all(|d| {
            std::fs::metadata(d).map(|m| m.permissions().mode() & 0o001 != 0).unwrap_or(false)
        });
        match cluster() {
            Some(c) if !open => {
                let copy = c.dir.join("sluice-bin");
                std::fs::copy(&bin, &copy).expect("copy sluice for the other account");
                copy
            }
            _ => bin,
        }
    })
}

/// Every user object outside the ledger schema: relations with their columns, indexes,
/// constraints, functions, types and triggers. Two equal snapshots mean equal catalogs.
/// The history tables sluice keeps for golang-migrate, dbmate, sqlx and diesel folders.
pub const TOOL_TABLES: [&str; 5] = [
    "schema_migrations",
    "_sqlx_migrations",
    "__diesel_schema_migrations",
    "goose_db_version",
    "gorp_migrations",
];

/// `catalog` without the tools' history tables, and how many rows they hold.
pub async fn catalog_and_tool_rows(c: &tokio_postgres::Client) -> (Vec<String>, i64) {
    let all = catalog(c).await;
    let mut rows = 0;
    for t in TOOL_TABLES {
        if all.iter().any(|l| l.starts_with(&format!("rel public.{t} r"))) {
            // goose starts its table with a version 0 row and keeps it.
            let only = if t == "goose_db_version" { " WHERE version_id <> 0" } else { "" };
            let sql = format!("SELECT count(*) FROM {t}{only}");
            let n: i64 = c.query_one(&sql, &[]).await.unwrap().get(0);
            rows += n;
        }
    }
    let kept = all.into_iter().filter(|l| !TOOL_TABLES.iter().any(|t| l.contains(t))).collect();
    (kept, rows)
}

pub async fn catalog(c: &tokio_postgres::Client) -> Vec<String> {
    let rows = c
        .query(
            "SELECT 'rel ' || n.nspname || '.' || cl.relname || ' ' || cl.relkind::text || ' ' ||
                    coalesce((SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull, ',' ORDER BY a.attnum)
                              FROM pg_attribute a WHERE a.attrelid = cl.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
             FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'sluice') AND n.nspname NOT LIKE 'pg_toast%'
             UNION ALL
             SELECT 'con ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
             FROM pg_constraint WHERE connamespace = 'public'::regnamespace
             UNION ALL
             SELECT 'fn ' || oid::regprocedure::text FROM pg_proc WHERE pronamespace = 'public'::regnamespace
             UNION ALL
             SELECT 'type ' || typname FROM pg_type WHERE typnamespace = 'public'::regnamespace
             UNION ALL
             SELECT 'trg ' || tgname FROM pg_trigger WHERE NOT tgisinternal
             UNION ALL
             SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' AND nspname NOT IN ('information_schema', 'sluice')
             ORDER BY 1",
            &[],
        )
        .await
        .expect("catalog query");
    rows.iter().map(|r| r.get::<_, String>(0)).collect()
}
