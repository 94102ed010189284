//! Lock safety under load. pgbench updates random rows of `accounts` at a fixed rate while a
//! session holds a long read on the table (the usual culprit: a report or an idle-in-
//! transaction client) and a migration needs ACCESS EXCLUSIVE on it. Without a lock timeout
//! the migration's queued lock request blocks every update behind it until the reader ends;
//! sluice waits at most lock_timeout per try, steps out of the queue, backs off and retries.
//! Prints the load's p50/p99/max latency without a migration, with sluice's, and with a plain
//! ALTER from psql; asserts nothing about time.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sluice::core::db::cluster::Cluster;

const ROWS: i32 = 10_000;
const LOAD_SECS: u64 = 8;
const RATE: u32 = 200;
/// The reader starts this long into the load and holds its lock this long.
const READER_AT: Duration = Duration::from_secs(2);
const READER_HOLDS: &str = "3";
const LOCK_TIMEOUT_MS: u64 = 100;

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
fn pgbench(cluster: &Cluster, db: &str, dir: &Path) -> Child {
    let script = dir.join("update.sql");
    std::fs::write(
        &script,
        format!("\\set id random(1, {ROWS})\nUPDATE accounts SET balance = balance + 1 WHERE id = :id;\n"),
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

/// Latencies (ms) from pgbench's per-transaction logs: client, tx, latency µs, ...
fn latencies(dir: &Path) -> Vec<f64> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if !e.file_name().to_string_lossy().starts_with("lat") {
            continue;
        }
        for line in std::fs::read_to_string(e.path()).unwrap().lines() {
            if let Some(us) = line.split_whitespace().nth(2).and_then(|v| v.parse::<f64>().ok()) {
                out.push(us / 1000.0);
            }
        }
    }
    out.sort_by(|a, b| a.total_cmp(b));
    out
}

fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn reset(cluster: &Cluster) -> String {
    let _ = cluster.psql("postgres", "DROP DATABASE IF EXISTS locks WITH (FORCE)");
    cluster.psql("postgres", "CREATE DATABASE locks").unwrap();
    cluster
        .psql(
            "locks",
            &format!(
                "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL DEFAULT 0); \
                 INSERT INTO accounts (id) SELECT g FROM generate_series(1, {ROWS}) g; ANALYZE accounts"
            ),
        )
        .unwrap();
    "locks".into()
}

enum Migration {
    None,
    Sluice,
    Plain,
}

fn round(cluster: &Cluster, how: Migration) -> (Vec<f64>, String) {
    let db = reset(cluster);
    let dir = tempfile::tempdir().unwrap();
    let load = pgbench(cluster, &db, dir.path());
    std::thread::sleep(READER_AT);
    let reader = psql(
        cluster,
        &db,
        &format!("BEGIN; SELECT count(*) FROM accounts; SELECT pg_sleep({READER_HOLDS}); COMMIT"),
    );
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let note = match how {
        Migration::None => String::new(),
        Migration::Sluice => {
            let project = dir.path().join("project");
            std::fs::create_dir_all(project.join("migrations")).unwrap();
            std::fs::write(
                project.join("migrations/1_note.up.sql"),
                "ALTER TABLE accounts ADD COLUMN note text;\n",
            )
            .unwrap();
            std::fs::write(
                project.join("sluice.toml"),
                format!(
                    "[environments.bench]\ntier = \"development\"\nurl = \"{}\"\nlock_timeout = \"{LOCK_TIMEOUT_MS}ms\"\nlock_retries = 10\nlock_retry_backoff = \"200ms\"\n",
                    cluster.url(&db)
                ),
            )
            .unwrap();
            let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
                .args(["--project", project.to_str().unwrap(), "apply", "--format", "json"])
                .env("SLUICE_DATA_DIR", dir.path().join("data"))
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            format!(
                "applied after {} lock timeout(s) of {LOCK_TIMEOUT_MS} ms, {} ms in all",
                j["migrations"][0]["lock_retries"],
                started.elapsed().as_millis()
            )
        }
        Migration::Plain => {
            let mut alter = psql(cluster, &db, "ALTER TABLE accounts ADD COLUMN note text");
            alter.wait().unwrap();
            format!("waited in the lock queue, applied after {} ms", started.elapsed().as_millis())
        }
    };
    let mut reader = reader;
    reader.wait().unwrap();
    let mut load = load;
    load.wait().unwrap();
    (latencies(dir.path()), note)
}

fn main() {
    let cluster = Cluster::start().expect("start a throwaway cluster");
    println!(
        "pgbench: {RATE} updates/s on {ROWS} rows for {LOAD_SECS} s; a reader holds ACCESS SHARE for {READER_HOLDS} s from {} s",
        READER_AT.as_secs()
    );
    for (name, how) in [
        ("no migration", Migration::None),
        ("sluice (lock_timeout 100ms, retries)", Migration::Sluice),
        ("plain ALTER, no lock_timeout", Migration::Plain),
    ] {
        let (lat, note) = round(&cluster, how);
        println!(
            "{name:<38} p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  ({} transactions) {note}",
            pct(&lat, 0.50),
            pct(&lat, 0.99),
            lat.last().copied().unwrap_or(f64::NAN),
            lat.len()
        );
    }
}
