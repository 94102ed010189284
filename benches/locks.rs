//! Lock safety under load. pgbench updates random rows of `accounts` at a fixed rate while a
//! session holds a long read on the table (the usual culprit: a report or an idle-in-
//! transaction client) and a migration needs ACCESS EXCLUSIVE on it. Without a lock timeout
//! the migration's queued lock request blocks every update behind it until the reader ends;
//! sluice waits at most lock_timeout per try, steps out of the queue, backs off and retries.
//! `queue_limit` lets sluice wait long for its lock without making anyone wait behind it:
//! the sentinel steps out of the queue once a session has waited there past the limit.
//! Prints the load's p50/p99/max latency (over the whole load, and p99 of the transactions
//! that ended while the migration ran) without a migration, with sluice's at a short
//! lock_timeout, at a long one with and without queue_limit, and with a plain ALTER from
//! psql; asserts nothing about time.
//!
//! Then a backfill on a bigger table under the same load: one UPDATE of every row against
//! `-- sluice:batch rows=2000 pause=20ms`; the load's p99 while each runs, and how long.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sluice::core::db::cluster::Cluster;

const ROWS: i32 = 10_000;
/// The backfill's table.
const BACKFILL_ROWS: i32 = 300_000;
const LOAD_SECS: u64 = 10;
const RATE: u32 = 150;
/// The reader starts this long into the load and holds its lock this long.
const READER_AT: Duration = Duration::from_secs(2);
const READER_HOLDS: &str = "4";

fn psql(cluster: &Cluster, db: &str, sql: &str) -> Child {
    Command::new(cluster.bin.join("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
        .arg(cluster.socket_dir())
        .args(["-p", &cluster.port.to_string(), "-U", "postgres", "-d", db, "-c", sql])
        .stdout(Stdio::null())
        .spawn()
        .expect("psql")
}

/// Starts pgbench for LOAD_SECS at RATE transactions/s, logging each transaction's latency.
fn pgbench(cluster: &Cluster, db: &str, dir: &Path, rows: i32) -> Child {
    let script = dir.join("update.sql");
    std::fs::write(
        &script,
        format!("\\set id random(1, {rows})\nUPDATE accounts SET balance = balance + 1 WHERE id = :id;\n"),
    )
    .unwrap();
    Command::new(cluster.bin.join("pgbench"))
        .args(["-n", "-c", "4", "-j", "2", "-T", &LOAD_SECS.to_string(), "-R", &RATE.to_string()])
        .arg("-l")
        .arg(format!("--log-prefix={}", dir.join("lat").display()))
        .args(["-f"])
        .arg(&script)
        .args(["-h"])
        .arg(cluster.socket_dir())
        .args(["-p", &cluster.port.to_string(), "-U", "postgres", db])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pgbench")
}

/// (latency ms, when it ended as Unix seconds) from pgbench's per-transaction logs: client,
/// tx, latency µs, script, epoch s, µs.
fn latencies(dir: &Path) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if !e.file_name().to_string_lossy().starts_with("lat") {
            continue;
        }
        for line in std::fs::read_to_string(e.path()).unwrap().lines() {
            let f: Vec<f64> = line.split_whitespace().filter_map(|v| v.parse().ok()).collect();
            if f.len() >= 6 {
                out.push((f[2] / 1000.0, f[4] + f[5] / 1e6));
            }
        }
    }
    out
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

fn now_s() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn reset(cluster: &Cluster, rows: i32) -> String {
    let _ = cluster.psql("postgres", "DROP DATABASE IF EXISTS locks WITH (FORCE)");
    cluster.psql("postgres", "CREATE DATABASE locks").unwrap();
    cluster
        .psql(
            "locks",
            &format!(
                "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL DEFAULT 0, plan text); \
                 INSERT INTO accounts (id) SELECT g FROM generate_series(1, {rows}) g; ANALYZE accounts"
            ),
        )
        .unwrap();
    "locks".into()
}

enum Migration {
    None,
    Sluice { lock_timeout: &'static str, queue_limit: Option<&'static str> },
    Plain,
}

/// sluice applies one ALTER with these settings; what its report says of the wait.
fn sluice(
    cluster: &Cluster,
    db: &str,
    dir: &Path,
    lock_timeout: &str,
    queue: Option<&str>,
) -> String {
    let alter = "ALTER TABLE accounts ADD COLUMN note text;\n";
    let j = sluice_apply(cluster, db, dir, alter, lock_timeout, queue);
    let m = &j["migrations"][0];
    format!(
        "applied after {} retr(ies), {} session(s) let through, {} ms in all",
        m["lock_retries"],
        m["queue_victims"].as_u64().unwrap_or(0),
        j["duration_ms"]
    )
}

/// `sluice apply` of one migration with these settings: its JSON report.
fn sluice_apply(
    cluster: &Cluster,
    db: &str,
    dir: &Path,
    sql: &str,
    lock_timeout: &str,
    queue: Option<&str>,
) -> serde_json::Value {
    let project = dir.join("project");
    std::fs::create_dir_all(project.join("migrations")).unwrap();
    std::fs::write(project.join("migrations/1_m.up.sql"), sql).unwrap();
    let queue_line = queue.map(|q| format!("queue_limit = \"{q}\"\n")).unwrap_or_default();
    std::fs::write(
        project.join("sluice.toml"),
        format!(
            "[environments.bench]\ntier = \"development\"\nurl = \"{}\"\nlock_timeout = \"{lock_timeout}\"\n{queue_line}lock_retries = 20\nlock_retry_backoff = \"100ms\"\n",
            cluster.url(db)
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["--project", project.to_str().unwrap(), "apply", "--format", "json"])
        .env("SLUICE_DATA_DIR", dir.join("data"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The backfill under load: (p99 of the transactions that ended while it ran, its time).
fn backfill_round(cluster: &Cluster, batched: bool) -> (f64, usize, Duration) {
    let db = reset(cluster, BACKFILL_ROWS);
    let dir = tempfile::tempdir().unwrap();
    let mut load = pgbench(cluster, &db, dir.path(), BACKFILL_ROWS);
    std::thread::sleep(READER_AT);
    let (from, t) = (now_s(), Instant::now());
    let update = "UPDATE accounts SET plan = 'free' WHERE plan IS NULL";
    if batched {
        let sql =
            format!("-- sluice:no-transaction\n-- sluice:batch rows=2000 pause=20ms\n{update};\n");
        sluice_apply(cluster, &db, dir.path(), &sql, "5s", None);
    } else {
        psql(cluster, &db, update).wait().unwrap();
    }
    let (to, took) = (now_s(), t.elapsed());
    load.wait().unwrap();
    let during: Vec<f64> = latencies(dir.path())
        .into_iter()
        .filter(|(_, at)| *at >= from && *at <= to + 0.5)
        .map(|(l, _)| l)
        .collect();
    let during = sorted(during);
    (pct(&during, 0.99), during.len(), took)
}

/// The load's latencies, those that ended while the migration ran, and what happened.
fn round(cluster: &Cluster, how: Migration) -> (Vec<f64>, Vec<f64>, String) {
    let db = reset(cluster, ROWS);
    let dir = tempfile::tempdir().unwrap();
    let load = pgbench(cluster, &db, dir.path(), ROWS);
    std::thread::sleep(READER_AT);
    let reader = psql(
        cluster,
        &db,
        &format!("BEGIN; SELECT count(*) FROM accounts; SELECT pg_sleep({READER_HOLDS}); COMMIT"),
    );
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let from = now_s();
    let note = match how {
        Migration::None => String::new(),
        Migration::Sluice { lock_timeout, queue_limit } => {
            sluice(cluster, &db, dir.path(), lock_timeout, queue_limit)
        }
        Migration::Plain => {
            let mut alter = psql(cluster, &db, "ALTER TABLE accounts ADD COLUMN note text");
            alter.wait().unwrap();
            format!("waited in the lock queue, applied after {} ms", started.elapsed().as_millis())
        }
    };
    // No migration: the reader's span stands for it.
    let to = if note.is_empty() { from + 4.0 } else { now_s() };
    let mut reader = reader;
    reader.wait().unwrap();
    let mut load = load;
    load.wait().unwrap();
    let all = latencies(dir.path());
    let during = all.iter().filter(|(_, t)| *t >= from && *t <= to + 0.5).map(|(l, _)| *l);
    let during = sorted(during.collect());
    (sorted(all.into_iter().map(|(l, _)| l).collect()), during, note)
}

fn main() {
    let cluster = Cluster::start().expect("start a throwaway cluster");
    println!(
        "pgbench: {RATE} updates/s on {ROWS} rows for {LOAD_SECS} s; a reader holds ACCESS SHARE for {READER_HOLDS} s from {} s",
        READER_AT.as_secs()
    );
    let short = Migration::Sluice { lock_timeout: "100ms", queue_limit: None };
    let long = Migration::Sluice { lock_timeout: "30s", queue_limit: None };
    let guarded = Migration::Sluice { lock_timeout: "30s", queue_limit: Some("50ms") };
    for (name, how) in [
        ("no migration", Migration::None),
        ("sluice lock_timeout 100ms", short),
        ("sluice lock_timeout 30s", long),
        ("sluice lock_timeout 30s, queue_limit 50ms", guarded),
        ("plain ALTER, no lock_timeout", Migration::Plain),
    ] {
        let (lat, during, note) = round(&cluster, how);
        println!(
            "{name:<43} p50 {:>6.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  during: p99 {:>7.1} ms of {} ({} transactions) {note}",
            pct(&lat, 0.50),
            pct(&lat, 0.99),
            lat.last().copied().unwrap_or(f64::NAN),
            pct(&during, 0.99),
            during.len(),
            lat.len()
        );
    }
    println!("backfill of {BACKFILL_ROWS} rows under the same load:");
    for (name, batched) in [("one UPDATE", false), ("sluice:batch rows=2000 pause=20ms", true)] {
        let (p99, n, took) = backfill_round(&cluster, batched);
        println!(
            "  {name:<36} during: p99 {p99:>7.1} ms of {n} transactions; took {:.1} s",
            took.as_secs_f64()
        );
    }
}
