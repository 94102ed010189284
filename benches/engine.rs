//! Engine benchmarks against a throwaway cluster. Prints figures; asserts nothing about time.
//!
//! 1. Apply 500 generated migrations (CREATE TABLE + INSERT each) with sluice, against psql
//!    running the same files one transaction each over one connection. Reports the ratio;
//!    then the same as no-transaction files, against psql in autocommit.
//! 2. `sluice status` on 5,000 migrations with 5,000 ledger rows: wall time and peak RSS.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sluice::core::data::config::Project;
use sluice::core::db::cluster::Cluster;
use sluice::core::exec::{self, ApplyOptions};

#[path = "common/mod.rs"]
mod common;
use common::{median, run_measured};

fn write_project(dir: &Path, url: &str, count: usize, body: impl Fn(usize) -> String) {
    let m = dir.join("migrations");
    std::fs::create_dir_all(&m).unwrap();
    for i in 1..=count {
        std::fs::write(m.join(format!("{i:05}_m{i}.up.sql")), body(i)).unwrap();
    }
    std::fs::write(
        dir.join("sluice.toml"),
        format!("[environments.bench]\ntier = \"development\"\nurl = \"{url}\"\n"),
    )
    .unwrap();
}

fn small(i: usize) -> String {
    format!("CREATE TABLE t{i} (id int PRIMARY KEY, v text);\nINSERT INTO t{i} VALUES (1, 'row {i}');\n")
}

fn no_transaction(i: usize) -> String {
    format!("-- sluice:no-transaction\n{}", small(i))
}

fn psql_run(cluster: &Cluster, conn: &str, dir: &Path, count: usize, wrap: bool) -> Duration {
    // One psql process, one connection, one transaction per file as a careful script would
    // (or autocommit, for no-transaction files).
    let mut script = String::new();
    for i in 1..=count {
        let f = dir.join("migrations").join(format!("{i:05}_m{i}.up.sql"));
        if wrap {
            script.push_str(&format!("BEGIN;\n\\i {}\nCOMMIT;\n", f.display()));
        } else {
            script.push_str(&format!("\\i {}\n", f.display()));
        }
    }
    let path = dir.join("all.psql");
    std::fs::write(&path, script).unwrap();
    let t = Instant::now();
    let out = Command::new(cluster.bin.join("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conn, "-f"])
        .arg(&path)
        .output()
        .unwrap();
    let d = t.elapsed();
    assert!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
    d
}

async fn sluice_run(dir: &Path) -> Duration {
    let project = Project::load(Some(dir)).unwrap();
    let env = project.environment(None).unwrap();
    let t = Instant::now();
    let report = exec::apply(&project, env, &ApplyOptions::default(), exec::Control::default())
        .await
        .unwrap();
    let d = t.elapsed();
    assert!(report.error.is_none(), "{:?}", report.error);
    d
}

/// sluice against psql on the same generated files, each on fresh databases, alternating.
struct Compare<'a> {
    cluster: &'a Cluster,
    work: &'a Path,
    rounds: usize,
    url: &'a dyn Fn(&str) -> String,
}

impl Compare<'_> {
    async fn run(
        &self,
        what: &str,
        tag: &str,
        count: usize,
        body: fn(usize) -> String,
        wrap: bool,
    ) {
        let (mut ps, mut sl) = (Vec::new(), Vec::new());
        for r in 0..self.rounds {
            let (pdb, sdb) = (format!("bench_{tag}_psql_{r}"), format!("bench_{tag}_sluice_{r}"));
            for db in [&pdb, &sdb] {
                self.cluster.psql("postgres", &format!("CREATE DATABASE {db}")).unwrap();
                write_project(&self.work.join(db), &(self.url)(db), count, body);
            }
            ps.push(psql_run(self.cluster, &(self.url)(&pdb), &self.work.join(&pdb), count, wrap));
            sl.push(sluice_run(&self.work.join(&sdb)).await);
        }
        report_apply(&format!("{count} {what}"), self.rounds, ps, sl);
    }
}

fn report_apply(what: &str, rounds: usize, ps: Vec<Duration>, sl: Vec<Duration>) {
    let (p, s) = (median(ps.clone()), median(sl.clone()));
    println!("apply {what} ({rounds} rounds, median):");
    println!("  psql   {:>8.1} ms   {:?}", p.as_secs_f64() * 1e3, ps);
    println!("  sluice {:>8.1} ms   {:?}", s.as_secs_f64() * 1e3, sl);
    println!("  ratio sluice/psql = {:.2} (goal <= 1.3)", s.as_secs_f64() / p.as_secs_f64());
}

#[tokio::main]
async fn main() {
    let cluster = Cluster::start().expect("cluster");
    let work = tempfile::tempdir().unwrap();

    // 1. sluice vs psql, alternating, on fresh databases each round.
    let count = 500;
    let only_status = std::env::var("BENCH_ONLY").is_ok_and(|v| v == "status");
    let rounds = std::env::var("BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    // Then the same with every file `-- sluice:no-transaction`, against psql in autocommit:
    // each statement commits with its ledger note.
    if !only_status {
        let local = |db: &str| cluster.url(db);
        let c = Compare { cluster: &cluster, work: work.path(), rounds, url: &local };
        c.run("migrations", "local", count, small, true).await;
        let nt = "no-transaction migrations (2 statements each)";
        c.run(nt, "local_nt", count, no_transaction, false).await;
    }

    // 1b. no-transaction files over a link with 1 ms latency each way, where round trips
    // rather than fsyncs decide: sluice pays one more per statement than psql (the ledger).
    if !only_status {
        cluster.psql("postgres", "CREATE ROLE bench LOGIN SUPERUSER PASSWORD 'bench'").unwrap();
        let port = common::latency::proxy(cluster.port, Duration::from_millis(1));
        // sluice refuses a password in sluice.toml; nothing else runs while this is set.
        std::env::set_var("PGPASSWORD", "bench");
        let far = |db: &str| format!("postgres://bench@127.0.0.1:{port}/{db}");
        let c = Compare { cluster: &cluster, work: work.path(), rounds, url: &far };
        let nt = "no-transaction migrations over a 2 ms round trip";
        c.run(nt, "far_nt", 100, no_transaction, false).await;
    }

    // 2. status on 5,000 migrations with 5,000 ledger rows.
    let n = 5000;
    cluster.psql("postgres", "CREATE DATABASE bench_status").unwrap();
    let dir = work.path().join("status");
    write_project(&dir, &cluster.url("bench_status"), n, |i| format!("SELECT {i};\n"));
    let t = Instant::now();
    sluice_run(&dir).await;
    println!("apply {n} one-statement migrations: {:.1} s", t.elapsed().as_secs_f64());
    let bin = env!("CARGO_BIN_EXE_sluice");
    let (mut times, mut peak) = (Vec::new(), 0);
    for _ in 0..5 {
        let (t, out, rss) = run_measured(Command::new(bin).args([
            "--project",
            dir.to_str().unwrap(),
            "status",
            "--format",
            "json",
        ]));
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
