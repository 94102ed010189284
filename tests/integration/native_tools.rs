//! Differential tests: each quirky folder of `quirks.rs` applied (and rolled back) by its own
//! tool on one fresh database and by sluice on another, then compared: the same catalog, the
//! same rows in the tool's own history table, and the tool finding nothing to do after sluice. `./scripts/setup` installs the tools into a cache; a test whose
//! tool is missing says so and passes without comparing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::quirks::{Quirks, DBMATE, DIESEL, DRIZZLE, SQLX};
use crate::support::{catalog, fresh_db, TestDb, TestProject};

/// Where `./scripts/setup` puts the tools.
pub fn tools_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SLUICE_NATIVE_TOOLS") {
        return PathBuf::from(d);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/nonexistent"));
    cache.join("sluice/native-tools")
}

/// The tool's executable: in the cache, else on PATH; None (with the reason printed) when
/// this machine does not have it.
fn tool(relative: &str, name: &str) -> Option<PathBuf> {
    let cached = tools_dir().join(relative);
    if cached.is_file() {
        return Some(cached);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file())
    });
    if on_path.is_none() {
        eprintln!(
            "skipped: {name} is not installed here (./scripts/setup installs it into {}); the differential test did not compare",
            tools_dir().display()
        );
    }
    on_path
}

/// The pieces of a test database's URL, for tools that want them apart.
pub struct Conn {
    pub user: String,
    /// A socket folder (from a percent-encoded host) or a host name.
    pub host: String,
    pub port: String,
    pub db: String,
    pub url: String,
}

impl Conn {
    /// A libpq-style URL the Node and Python drivers read (a socket as `?host=`).
    pub fn driver_url(&self) -> String {
        match self.socket() {
            Some(s) => {
                format!("postgresql://{}@localhost:{}/{}?host={s}", self.user, self.port, self.db)
            }
            None => self.url.replace("postgres://", "postgresql://"),
        }
    }
}

impl Conn {
    pub fn of(db: &TestDb) -> Conn {
        let rest = db.url.split_once("://").map_or(db.url.as_str(), |(_, r)| r);
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (user, hostport) = authority.rsplit_once('@').unwrap_or(("postgres", authority));
        let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "5432"));
        let host = host.replace("%2F", "/").replace("%2f", "/");
        let db_name = path.split('?').next().unwrap_or("").to_string();
        Conn { user: user.into(), host, port: port.into(), db: db_name, url: db.url.clone() }
    }

    pub fn socket(&self) -> Option<&str> {
        self.host.starts_with('/').then_some(self.host.as_str())
    }
}

pub fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One tool, driven from a test: apply everything, roll everything back, and the versions it
/// recorded.
trait Native {
    fn apply(&self, dir: &Path, c: &Conn);
    fn revert_all(&self, dir: &Path, c: &Conn, count: usize);
    /// Its bookkeeping table, left out of the catalog comparison.
    fn bookkeeping(&self) -> &'static [&'static str];
    /// The rows it records, one text per migration.
    fn recorded_sql(&self) -> &'static str;
    /// sluice keeps this tool's history table too.
    fn kept_by_sluice(&self) -> bool {
        true
    }
}

struct Sqlx(PathBuf);
impl Sqlx {
    fn url(c: &Conn) -> String {
        match c.socket() {
            Some(s) => format!("postgres://{}@localhost:{}/{}?host={s}", c.user, c.port, c.db),
            None => c.url.clone(),
        }
    }
}
impl Native for Sqlx {
    fn apply(&self, dir: &Path, c: &Conn) {
        let mut cmd = Command::new(&self.0);
        cmd.args(["migrate", "run", "--source"]).arg(dir).args(["--database-url", &Self::url(c)]);
        run(&mut cmd, "sqlx migrate run");
    }
    fn revert_all(&self, dir: &Path, c: &Conn, _: usize) {
        let mut cmd = Command::new(&self.0);
        cmd.args(["migrate", "revert", "--target-version", "0", "--source"]).arg(dir);
        cmd.args(["--database-url", &Self::url(c)]);
        run(&mut cmd, "sqlx migrate revert");
    }
    fn bookkeeping(&self) -> &'static [&'static str] {
        &["_sqlx_migrations"]
    }
    fn recorded_sql(&self) -> &'static str {
        "SELECT concat_ws(' ', version, description, success, encode(checksum, 'hex')) FROM _sqlx_migrations ORDER BY version"
    }
}

struct Dbmate(PathBuf);
impl Dbmate {
    fn cmd(&self, dir: &Path, c: &Conn) -> Command {
        let url = match c.socket() {
            Some(s) => format!(
                "postgres://{}@localhost:{}/{}?socket={s}&sslmode=disable",
                c.user, c.port, c.db
            ),
            None if c.url.contains('?') => format!("{}&sslmode=disable", c.url),
            None => format!("{}?sslmode=disable", c.url),
        };
        let mut cmd = Command::new(&self.0);
        cmd.args(["--url", &url, "--no-dump-schema", "--migrations-dir"]).arg(dir);
        cmd
    }
}
impl Native for Dbmate {
    fn apply(&self, dir: &Path, c: &Conn) {
        run(self.cmd(dir, c).arg("up"), "dbmate up");
    }
    fn revert_all(&self, dir: &Path, c: &Conn, count: usize) {
        for _ in 0..count {
            run(self.cmd(dir, c).arg("rollback"), "dbmate rollback");
        }
    }
    fn bookkeeping(&self) -> &'static [&'static str] {
        &["schema_migrations"]
    }
    fn recorded_sql(&self) -> &'static str {
        "SELECT version FROM schema_migrations ORDER BY version"
    }
}

struct Diesel(PathBuf);
impl Diesel {
    fn cmd(&self, dir: &Path, c: &Conn, verb: &[&str]) -> Command {
        let mut cmd = Command::new(&self.0);
        cmd.arg("migration").args(verb).arg("--migration-dir").arg(dir);
        cmd.args(["--database-url", &c.url]).current_dir(dir);
        cmd
    }
}
impl Native for Diesel {
    fn apply(&self, dir: &Path, c: &Conn) {
        run(&mut self.cmd(dir, c, &["run"]), "diesel migration run");
    }
    fn revert_all(&self, dir: &Path, c: &Conn, _: usize) {
        run(&mut self.cmd(dir, c, &["revert", "--all"]), "diesel migration revert --all");
    }
    fn bookkeeping(&self) -> &'static [&'static str] {
        &["__diesel_schema_migrations"]
    }
    fn recorded_sql(&self) -> &'static str {
        "SELECT version FROM __diesel_schema_migrations ORDER BY version"
    }
}

/// drizzle-orm's own migrator (what `drizzle-kit migrate` calls), through node-postgres.
struct Drizzle(PathBuf);
const DRIZZLE_MIGRATE: &str = r#"
const { drizzle } = require('drizzle-orm/node-postgres');
const { migrate } = require('drizzle-orm/node-postgres/migrator');
const { Client } = require('pg');
(async () => {
  const [host, port, user, database, folder] = process.argv.slice(1);
  const client = new Client({ host, port: Number(port), user, database });
  await client.connect();
  await migrate(drizzle(client), { migrationsFolder: folder });
  await client.end();
})().catch((e) => { console.error(e); process.exit(1); });
"#;
impl Native for Drizzle {
    fn apply(&self, dir: &Path, c: &Conn) {
        let mut cmd = Command::new("node");
        cmd.args(["-e", DRIZZLE_MIGRATE, "--", &c.host, &c.port, &c.user, &c.db]).arg(dir);
        cmd.env("NODE_PATH", &self.0);
        run(&mut cmd, "drizzle-orm migrate");
    }
    fn revert_all(&self, _: &Path, _: &Conn, _: usize) {
        unreachable!("drizzle has no down migrations")
    }
    fn bookkeeping(&self) -> &'static [&'static str] {
        &["__drizzle_migrations", "schema drizzle"]
    }
    fn recorded_sql(&self) -> &'static str {
        "SELECT created_at::text FROM drizzle.__drizzle_migrations ORDER BY created_at"
    }
    fn kept_by_sluice(&self) -> bool {
        false
    }
}

fn without(lines: Vec<String>, skip: &[&str]) -> Vec<String> {
    lines.into_iter().filter(|l| !skip.iter().any(|s| l.contains(s))).collect()
}

async fn rows(c: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    c.query(sql, &[]).await.unwrap().iter().map(|r| r.get(0)).collect()
}

/// The folder through the tool on one database and through sluice on another: the same
/// catalog, the same rows in the tool's history table (sluice keeps it for the tools that
/// have one it can write), the tool finding nothing to do where sluice applied, and (with
/// downs) the same catalog after rolling everything back.
async fn compare(q: &Quirks, native: &dyn Native) {
    let layout = q.layout;
    let (theirs, ours) = (fresh_db().await, fresh_db().await);
    let (tc, oc) = (theirs.client().await, ours.client().await);
    let folder = tempfile::tempdir().unwrap();
    q.write(folder.path());
    let skip = native.bookkeeping();
    let (their_conn, our_conn) = (Conn::of(&theirs), Conn::of(&ours));

    native.apply(folder.path(), &their_conn);
    let p = TestProject::new(&ours, "development", "");
    q.write(&p.migrations());
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 0, "{layout}: {}{}", out.stdout, out.stderr);
    assert_eq!(
        without(catalog(&tc).await, skip),
        without(catalog(&oc).await, skip),
        "{layout}: the tool and sluice built the same schema"
    );
    let recorded = rows(&tc, native.recorded_sql()).await;
    let j = p.sluice(&["status", "--format", "json"]).json();
    let applied = j["migrations"].as_array().unwrap().iter().filter(|m| m["state"] == "applied");
    assert_eq!(recorded.len(), applied.count(), "{layout}: {recorded:?}");
    if native.kept_by_sluice() {
        assert_eq!(catalog(&tc).await, catalog(&oc).await, "{layout}: the same history table");
        let ours = rows(&oc, native.recorded_sql()).await;
        assert_eq!(recorded, ours, "{layout}: sluice wrote the rows the tool writes");
        // The tool, pointed at sluice's database, finds everything done.
        let before = catalog(&oc).await;
        native.apply(folder.path(), &our_conn);
        assert_eq!(catalog(&oc).await, before, "{layout}: the tool ran nothing again");
        assert_eq!(rows(&oc, native.recorded_sql()).await, ours, "{layout}");
    }
    if !q.reversible {
        return;
    }
    native.revert_all(folder.path(), &their_conn, q.versions.len());
    let back = p.sluice(&["rollback", "--to", "0"]);
    assert_eq!(back.code, 0, "{layout}: {}{}", back.stdout, back.stderr);
    assert_eq!(
        catalog(&tc).await,
        catalog(&oc).await,
        "{layout}: both rolled back to the same schema and the same empty history table"
    );
    assert!(rows(&oc, native.recorded_sql()).await.is_empty(), "{layout}");
}

#[tokio::test]
async fn sqlx_cli_and_sluice_agree_on_a_quirky_folder() {
    if let Some(bin) = tool("bin/sqlx", "sqlx") {
        compare(&SQLX, &Sqlx(bin)).await;
    }
}

#[tokio::test]
async fn dbmate_and_sluice_agree_on_a_quirky_folder() {
    if let Some(bin) = tool("node_modules/.bin/dbmate", "dbmate") {
        compare(&DBMATE, &Dbmate(bin)).await;
    }
}

#[tokio::test]
async fn diesel_cli_and_sluice_agree_on_a_quirky_folder() {
    if let Some(bin) = tool("bin/diesel", "diesel") {
        compare(&DIESEL, &Diesel(bin)).await;
    }
}

#[tokio::test]
async fn drizzles_migrator_and_sluice_agree_on_a_quirky_folder() {
    let modules = tools_dir().join("node_modules");
    if !modules.join("drizzle-orm").is_dir() || !modules.join("pg").is_dir() {
        eprintln!(
            "skipped: drizzle-orm and pg are not installed in {} (./scripts/setup installs them); the differential test did not compare",
            modules.display()
        );
        return;
    }
    compare(&DRIZZLE, &Drizzle(modules)).await;
}
