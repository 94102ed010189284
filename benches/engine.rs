//! Engine benchmarks against throwaway clusters. Prints figures; asserts nothing about time.
//!
//! 1. Apply speed: the same generated migrations (CREATE TABLE + a 50-row INSERT each)
//!    applied by psql (one session), sluice, and, when installed, sqlx-cli and dbmate, each
//!    on a fresh database, in alternating rounds: one transaction per migration, and with
//!    every statement on its own (no-transaction); over the local socket and through a
//!    proxy adding 1 ms each way; on a cluster with fsync off (the client's own cost shows),
//!    then on one with PostgreSQL's default durability. Medians, and ratios to psql.
//! 2. The fixed cost of a run on the example project (`migrations/`): nothing pending, and
//!    one pending migration, by stage.
//! 3. `sluice status` on 5,000 migrations with 5,000 ledger rows: wall time and peak RSS.
//!
//! BENCH_ROUNDS (5), BENCH_COUNT (500), BENCH_ONLY=apply|fixed|status, BENCH_DURABILITY=
//! off|on|both (both), BENCH_LINK=local|network (both).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use sluice::core::db::cluster::Cluster;

#[path = "common/mod.rs"]
mod common;
use common::peers::{Link, Runners, Tool, Workload};
use common::{fixed_cost, median, run_measured};

fn median_f64(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Each tool on a fresh database per round, the order turned each round.
fn compare(
    cluster: &Cluster,
    runners: &Runners,
    work: &Path,
    link: &Link,
    label: &str,
    w: &Workload,
    rounds: usize,
) {
    let tools = runners.tools();
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); tools.len()];
    let mut sluice_parts: Vec<Vec<(String, f64)>> = Vec::new();
    let tag = label.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    for r in 0..rounds {
        for k in 0..tools.len() {
            let t = (k + r) % tools.len();
            let tool = tools[t];
            let db = format!("b_{tag}_{}_{r}", tool.name().replace('-', "_"));
            cluster.psql("postgres", &format!("CREATE DATABASE {db}")).unwrap();
            let dir = work.join(&db);
            w.write(tool, &dir, &link.url(Tool::Sluice, &db));
            // What CREATE DATABASE wrote is flushed before the clock starts.
            cluster.psql("postgres", "CHECKPOINT").unwrap();
            let (took, parts) = common::peers::run(runners, tool, &dir, link, &db);
            times[t].push(took);
            if !parts.is_empty() {
                sluice_parts.push(parts);
            }
            cluster.psql("postgres", &format!("DROP DATABASE {db}")).unwrap();
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let psql = median(times[0].clone()).as_secs_f64();
    println!("{label} ({rounds} rounds, median, ratio to psql):");
    for (t, tool) in tools.iter().enumerate() {
        let m = median(times[t].clone()).as_secs_f64();
        let all: Vec<String> =
            times[t].iter().map(|d| format!("{:.0}", d.as_secs_f64() * 1e3)).collect();
        println!(
            "  {:<9} {:>8.1} ms  {:>5.2}x   [{} ms]",
            tool.name(),
            m * 1e3,
            m / psql,
            all.join(", ")
        );
    }
    if let Some(first) = sluice_parts.first() {
        // Each part's own median: they need not add up to the median run.
        let parts: Vec<String> = (0..first.len())
            .map(|i| {
                let v: Vec<f64> =
                    sluice_parts.iter().filter_map(|p| p.get(i).map(|x| x.1)).collect();
                format!("{} {:.1}", first[i].0, median_f64(v))
            })
            .collect();
        println!("  (sluice's own report, ms, medians: {})", parts.join(", "));
    }
}

fn apply_speed(durable: bool, runners: &Runners, rounds: usize, count: usize) {
    // fsync off on a tmpfs where there is one: creating 1,000 tables is then no file system
    // work, and what is left is the client's (on this machine's ext4, inode allocation after
    // the last round's DROP DATABASE took most of the time, and varied run to run).
    let shm = Path::new("/dev/shm");
    let cluster = match (durable, shm.is_dir()) {
        (true, _) => Cluster::start_durable(),
        (false, true) => Cluster::start_under(shm),
        (false, false) => Cluster::start(),
    }
    .expect("cluster");
    let work = tempfile::tempdir().unwrap();
    cluster.psql("postgres", "CREATE ROLE bench LOGIN SUPERUSER PASSWORD 'bench'").unwrap();
    let durability = match (durable, shm.is_dir()) {
        (true, _) => "fsync on",
        (false, true) => "fsync off, tmpfs",
        (false, false) => "fsync off",
    };
    let proxied = common::latency::proxy(cluster.port, Duration::from_millis(1));
    let links = [
        (
            "local socket",
            Link::Socket { dir: cluster.socket_dir().to_path_buf(), port: cluster.port },
        ),
        (
            "1 ms each way",
            Link::Tcp { port: proxied, user: "bench".into(), password: "bench".into() },
        ),
    ];
    let only = std::env::var("BENCH_LINK").unwrap_or_default();
    for (k, (where_, link)) in links.iter().enumerate() {
        if (only == "local" && k != 0) || (only == "network" && k != 1) {
            continue;
        }
        for transactional in [true, false] {
            let w = Workload { count, transactional };
            let kind = if transactional { "transactional" } else { "no-transaction" };
            let label = format!("apply {count} {kind} migrations, {where_}, {durability}");
            compare(&cluster, runners, work.path(), link, &label, &w, rounds);
        }
    }
}

fn status(cluster: &Cluster, work: &Path) {
    let n = 5000;
    cluster.psql("postgres", "CREATE DATABASE bench_status").unwrap();
    let dir = work.join("status");
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    for i in 1..=n {
        std::fs::write(
            dir.join("migrations").join(format!("{i:05}_m{i}.up.sql")),
            format!("SELECT {i};\n"),
        )
        .unwrap();
    }
    std::fs::write(
        dir.join("sluice.toml"),
        format!(
            "[environments.bench]\ntier = \"development\"\nurl = \"{}\"\n",
            cluster.url("bench_status")
        ),
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_sluice");
    let data = work.join("data");
    let sluice = |args: &[&str]| {
        let mut c = Command::new(bin);
        c.arg("--project").arg(&dir).args(args).env("SLUICE_DATA_DIR", &data);
        c
    };
    assert!(sluice(&["apply"]).output().unwrap().status.success());
    let (mut times, mut peak) = (Vec::new(), 0);
    for _ in 0..5 {
        let (t, out, rss) = run_measured(&mut sluice(&["status", "--format", "json"]));
        times.push(t);
        peak = peak.max(rss);
        let j: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(j["migrations"].as_array().unwrap().len(), n);
    }
    println!(
        "sluice status, {n} migrations + {n} ledger rows: median {:.0} ms (goal < 300), peak RSS {:.1} MB (goal < 50)",
        median(times).as_secs_f64() * 1e3,
        peak as f64 / 1024.0
    );
}

fn main() {
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let rounds = knob("BENCH_ROUNDS", 5);
    let count = knob("BENCH_COUNT", 500);
    let work = tempfile::tempdir().unwrap();
    if only.is_empty() || only == "apply" {
        let psql =
            sluice::core::db::tools::find_bindir().expect("PostgreSQL binaries").join("psql");
        let sluice = env!("CARGO_BIN_EXE_sluice").into();
        let runners = Runners::find(psql, sluice, work.path().join("data"));
        let durability = std::env::var("BENCH_DURABILITY").unwrap_or_else(|_| "both".into());
        for durable in [false, true] {
            if durability == "both" || durability == if durable { "on" } else { "off" } {
                apply_speed(durable, &runners, rounds, count);
            }
        }
    }
    if only.is_empty() || only == "fixed" {
        fixed_cost::run(work.path(), rounds.max(5));
    }
    if only.is_empty() || only == "status" {
        let cluster = Cluster::start().expect("cluster");
        status(&cluster, work.path());
    }
}
