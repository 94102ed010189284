//! Crash-consistency trials, shared by the integration test (a few short trials) and the
//! reliability script (`scripts/reliability`, 100+ trials of 200 migrations).
//!
//! One trial: a seeded project mixing transactional and no-transaction migrations, each
//! statement leaving a mark the catalog can show; `sluice apply` killed with SIGKILL at a
//! seeded point (after a seeded number of migrations, plus a seeded part of the next); then
//! the catalog compared with what the ledger, `sluice status` and `sluice resolve` say, and a
//! rerun (`resolve --retry` where the ledger marks a failure, then `apply`) that must
//! complete. Every disagreement is an inconsistency.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A small seeded generator (xorshift64*): the trials must replay from their seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One migration of the generated project and the marks its statements leave.
#[derive(Clone, Debug)]
pub struct Generated {
    pub version: String,
    pub transactional: bool,
    pub rows: u64,
}

/// Writes `count` migrations into `dir`; about one in four runs outside a transaction.
pub fn generate(dir: &Path, seed: u64, count: usize) -> Vec<Generated> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for i in 1..=count {
        let transactional = rng.below(4) != 0;
        let rows = 1 + rng.below(4000);
        let version = format!("{i:04}");
        let (name, text) = if transactional {
            (
                format!("{version}_t{i}.up.sql"),
                format!(
                    "CREATE TABLE t{i} (id int PRIMARY KEY, v text);\n\
                     INSERT INTO t{i} SELECT g, md5(g::text) FROM generate_series(1, {rows}) g;\n\
                     ALTER TABLE t{i} ADD COLUMN w int;\n"
                ),
            )
        } else {
            (
                format!("{version}_n{i}.up.sql"),
                format!(
                    "-- sluice:no-transaction\n\
                     CREATE TABLE n{i} (id int PRIMARY KEY, v text);\n\
                     INSERT INTO n{i} SELECT g, md5(g::text) FROM generate_series(1, {rows}) g;\n\
                     CREATE INDEX CONCURRENTLY n{i}_v ON n{i} (v);\n\
                     ALTER TABLE n{i} ADD COLUMN w int;\n\
                     CREATE INDEX CONCURRENTLY n{i}_w ON n{i} (w);\n"
                ),
            )
        };
        std::fs::write(dir.join(&name), text).expect("write migration");
        let down = name.replace(".up.sql", ".down.sql");
        let table = if transactional { format!("t{i}") } else { format!("n{i}") };
        std::fs::write(dir.join(down), format!("DROP TABLE {table};\n")).expect("write down");
        out.push(Generated { version, transactional, rows });
    }
    out
}

/// The marks of migration `i`'s statements found in the catalog, in statement order.
async fn marks(c: &tokio_postgres::Client, i: usize, g: &Generated) -> Vec<bool> {
    let t = if g.transactional { format!("t{i}") } else { format!("n{i}") };
    let row = c
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL,
                    EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1)
                            AND attname = 'w' AND NOT attisdropped),
                    (SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1 || '_v')),
                    (SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1 || '_w'))",
            &[&t],
        )
        .await
        .expect("read marks");
    let exists: bool = row.get(0);
    let rows: i64 = if exists {
        c.query_one(&format!("SELECT count(*) FROM {t}"), &[]).await.expect("count").get(0)
    } else {
        0
    };
    let has_w: bool = row.get(1);
    let ix_v: Option<bool> = row.get(2);
    let ix_w: Option<bool> = row.get(3);
    let filled = rows as u64 == g.rows;
    if g.transactional {
        vec![exists, filled, has_w]
    } else {
        vec![exists, filled, ix_v == Some(true), has_w, ix_w == Some(true)]
    }
}

/// What a trial found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub seed: u64,
    /// The kill landed while sluice was still applying.
    pub killed_mid_run: bool,
    pub kill_after_ms: u64,
    /// After the kill: how many migrations the ledger held applied, and the failed one.
    pub applied_after_kill: usize,
    pub failed_after_kill: Option<String>,
    pub resolved: bool,
    pub inconsistencies: Vec<String>,
}

pub struct Env<'a> {
    pub bin: &'a Path,
    /// Connection URL of a database, by name, on the server the trials run against.
    pub db_url: &'a dyn Fn(&str) -> String,
    pub admin: &'a tokio_postgres::Client,
}

fn sluice(env: &Env, root: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env.bin)
        .args(["--project", root.to_str().expect("utf-8 temp path")])
        .args(args)
        .env("SLUICE_OPERATOR", "faults")
        .env("SLUICE_DATA_DIR", root.join(".sluice-data"))
        .stdin(Stdio::null())
        .output()
        .expect("run sluice");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn recreate(admin: &tokio_postgres::Client, db: &str) {
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await
        .expect("drop trial database");
    admin.batch_execute(&format!("CREATE DATABASE {db}")).await.expect("create trial database");
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// Migrations the ledger holds applied; 0 before sluice has created it.
async fn applied(c: &tokio_postgres::Client) -> i64 {
    match c.query_one("SELECT count(*) FROM sluice.history WHERE success", &[]).await {
        Ok(row) => row.get(0),
        Err(_) => 0,
    }
}

/// A killed client's backend may still finish its statement (the server notices the
/// lost client within client_connection_check_interval): wait until none is left.
async fn wait_for_orphans(admin: &tokio_postgres::Client, db: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let n: i64 = admin
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", &[&db])
            .await
            .expect("pg_stat_activity")
            .get(0);
        if n == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A project folder with the seed's migrations and one environment `dev` on `db`.
fn project(
    env: &Env<'_>,
    db: &str,
    seed: u64,
    count: usize,
) -> (tempfile::TempDir, Vec<Generated>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).expect("mkdir");
    let generated = generate(&migrations, seed, count);
    let toml =
        format!("[environments.dev]\ntier = \"development\"\nurl = \"{}\"\n", (env.db_url)(db));
    std::fs::write(dir.path().join("sluice.toml"), toml).expect("write sluice.toml");
    (dir, generated)
}

/// Runs one trial: `count` migrations, SIGKILL at a seeded point of the run; `window` is
/// how long an uninterrupted apply takes.
pub async fn trial(env: &Env<'_>, seed: u64, count: usize, window: Duration) -> Outcome {
    let mut o = Outcome { seed, ..Outcome::default() };
    let db = format!("sluice_crash_{}_{seed}", std::process::id());
    recreate(env.admin, &db).await;
    let (dir, generated) = project(env, &db, seed, count);
    let root = dir.path();

    // The kill point is seeded by progress, not by the clock alone: wait until the ledger
    // holds `after` applied migrations, then a seeded part of one migration's time. A
    // clock drawn from a calibration run lands after the end whenever the machine is busier
    // during calibration than during the trial (CI runs tests side by side).
    let mut rng = Rng::new(seed ^ 0x00C0_FFEE);
    let after = rng.below(count as u64) as i64;
    let per_migration = (window.as_millis() as u64 / count.max(1) as u64).max(1);
    let extra = Duration::from_millis(rng.below(per_migration));
    let watch = connect(&(env.db_url)(&db)).await;
    let started = Instant::now();
    let mut child = Command::new(env.bin)
        .args(["--project", root.to_str().expect("utf-8"), "apply", "--env", "dev"])
        .env("SLUICE_OPERATOR", "faults")
        .env("SLUICE_DATA_DIR", root.join(".sluice-data"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sluice apply");
    let mut deadline = None;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if deadline.is_none() && applied(&watch).await >= after {
            deadline = Some(Instant::now() + extra);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            o.killed_mid_run = true;
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    o.kill_after_ms = started.elapsed().as_millis() as u64;
    drop(watch);
    if !wait_for_orphans(env.admin, &db).await {
        o.inconsistencies.push("a backend of the killed run was still there after 60 s".into());
    }

    let c = connect(&(env.db_url)(&db)).await;
    check_after_kill(env, root, &c, &generated, &mut o).await;
    recover_and_finish(env, root, &c, &generated, &mut o).await;
    drop(c);
    let _ = env.admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).await;
    o
}

async fn check_after_kill(
    env: &Env<'_>,
    root: &Path,
    c: &tokio_postgres::Client,
    generated: &[Generated],
    o: &mut Outcome,
) {
    let bad = |o: &mut Outcome, m: String| o.inconsistencies.push(m);
    let (code, out, err) = sluice(env, root, &["status", "--env", "dev", "--format", "json"]);
    let status: serde_json::Value = match serde_json::from_str(&out) {
        Ok(v) => v,
        Err(e) => return bad(o, format!("status exited {code}, not JSON ({e}): {err}")),
    };
    let (_, recovery_out, _) = sluice(env, root, &["resolve", "--env", "dev", "--format", "json"]);
    let recovery: serde_json::Value = serde_json::from_str(&recovery_out).unwrap_or_default();
    let failed = recovery["failed"].as_array().cloned().unwrap_or_default();
    let mut seen_not_applied = false;
    for (i, g) in generated.iter().enumerate() {
        let n = i + 1;
        let entry = &status["migrations"][i];
        let state = entry["state"].as_str().unwrap_or("?").to_string();
        if entry["version"] != g.version.as_str() {
            bad(o, format!("status lists {} where {} belongs", entry["version"], g.version));
            continue;
        }
        let m = marks(c, n, g).await;
        let ran = m.iter().take_while(|b| **b).count();
        if m[ran..].iter().any(|b| *b) {
            bad(o, format!("{}: statements took effect out of order: {m:?}", g.version));
        }
        match state.as_str() {
            "applied" => {
                o.applied_after_kill += 1;
                if seen_not_applied {
                    bad(o, format!("{} applied after a migration that is not", g.version));
                }
                if ran != m.len() {
                    bad(o, format!("{} applied in the ledger, marks {m:?}", g.version));
                }
            }
            "pending" => {
                seen_not_applied = true;
                if ran != 0 {
                    bad(o, format!("{} absent from the ledger, marks {m:?}", g.version));
                }
            }
            "failed" => {
                seen_not_applied = true;
                o.failed_after_kill = Some(g.version.clone());
                if g.transactional {
                    bad(o, format!("{} is transactional yet marked failed", g.version));
                }
                let Some(r) = failed.iter().find(|r| r["version"] == g.version.as_str()) else {
                    bad(o, format!("{} failed, but sluice resolve does not show it", g.version));
                    continue;
                };
                let done = r["statements"]
                    .as_array()
                    .map_or(0, |s| s.iter().filter(|s| s["reached"] == "done").count());
                if done != ran {
                    bad(
                        o,
                        format!(
                            "{}: resolve says {done} statement(s) ran, the catalog shows {ran} ({m:?}, interrupted: {})",
                            g.version, r["interrupted"]
                        ),
                    );
                }
                let at = entry["failed_at_statement"].as_i64().unwrap_or(0);
                if at != r["failed_at"].as_i64().unwrap_or(-1) {
                    bad(
                        o,
                        format!(
                            "{}: status says statement {at}, resolve {}",
                            g.version, r["failed_at"]
                        ),
                    );
                }
            }
            other => bad(o, format!("{} is {other} after a kill", g.version)),
        }
    }
}

async fn recover_and_finish(
    env: &Env<'_>,
    root: &Path,
    c: &tokio_postgres::Client,
    generated: &[Generated],
    o: &mut Outcome,
) {
    if let Some(v) = o.failed_after_kill.clone() {
        let (code, out, err) = sluice(env, root, &["resolve", &v, "--env", "dev", "--retry"]);
        if code != 0 {
            o.inconsistencies.push(format!("resolve {v} --retry exited {code}: {out}{err}"));
            return;
        }
    }
    let (code, out, err) = sluice(env, root, &["apply", "--env", "dev"]);
    if code != 0 {
        o.inconsistencies.push(format!("the rerun exited {code}: {out}{err}"));
        return;
    }
    let (_, out, _) = sluice(env, root, &["status", "--env", "dev", "--format", "json"]);
    let status: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    for (i, g) in generated.iter().enumerate() {
        if status["migrations"][i]["state"] != "applied" {
            o.inconsistencies.push(format!(
                "{} is {} after the rerun",
                g.version, status["migrations"][i]["state"]
            ));
        }
        let m = marks(c, i + 1, g).await;
        if m.iter().any(|b| !b) {
            o.inconsistencies.push(format!("{} incomplete after the rerun: {m:?}", g.version));
        }
    }
    o.resolved = o.inconsistencies.is_empty();
}

/// How long an uninterrupted apply of the seed's project takes: it scales the seeded part
/// of a migration's time a trial waits before its kill.
pub async fn calibrate(env: &Env<'_>, seed: u64, count: usize) -> Duration {
    let db = format!("sluice_crash_{}_calibrate", std::process::id());
    recreate(env.admin, &db).await;
    let (dir, _) = project(env, &db, seed, count);
    let root = dir.path();
    let t = Instant::now();
    let (code, out, err) = sluice(env, root, &["apply", "--env", "dev"]);
    let took = t.elapsed();
    assert_eq!(code, 0, "calibration apply failed: {out}{err}");
    let _ = env.admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).await;
    took
}
