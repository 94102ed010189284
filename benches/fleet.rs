//! Rolling 2 small migrations out to a fleet of 200 databases on one throwaway cluster,
//! with `parallel` 1, 4 and 16: wall time, and sluice's own CPU time and peak memory (from
//! GNU time, which measures the child alone). Each setting starts from fresh databases.
//! BENCH_FLEET (200) sets the fleet's size.

use std::process::Command;
use std::time::Instant;

use sluice::core::db::cluster::Cluster;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// (wall s, user+sys CPU s, peak RSS MB, the JSON report) of one sluice run.
fn measured(dir: &std::path::Path, data: &std::path::Path) -> (f64, f64, f64, serde_json::Value) {
    let times = dir.join("time.txt");
    let t = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%U %S %M", "-o"])
        .arg(&times)
        .arg(env!("CARGO_BIN_EXE_sluice"))
        .arg("--project")
        .arg(dir)
        .args(["apply", "--format", "json"])
        .env("SLUICE_DATA_DIR", data)
        .output()
        .expect("run sluice under /usr/bin/time");
    let wall = t.elapsed().as_secs_f64();
    let text = std::fs::read_to_string(&times).unwrap_or_default();
    let f: Vec<f64> = text
        .lines()
        .last()
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (
        wall,
        f.first().unwrap_or(&0.0) + f.get(1).unwrap_or(&0.0),
        f.get(2).unwrap_or(&0.0) / 1024.0,
        report,
    )
}

fn main() {
    if !std::path::Path::new("/usr/bin/time").exists() {
        println!("(GNU time is not installed: apt-get install time; the fleet bench is left out)");
        return;
    }
    let n = knob("BENCH_FLEET", 200);
    let cluster = Cluster::start().expect("cluster");
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("fleet");
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    std::fs::write(
        dir.join("migrations/1_accounts.up.sql"),
        "CREATE TABLE accounts (id bigint PRIMARY KEY, plan text);\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("migrations/2_plan_index.up.sql"),
        "CREATE INDEX accounts_plan_idx ON accounts (plan);\n",
    )
    .unwrap();
    println!(
        "roll 2 migrations out to {n} databases (one cluster, {} cores):",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for parallel in [1usize, 4, 16] {
        let mut urls = String::new();
        for i in 0..n {
            let db = format!("fleet_p{parallel}_{i}");
            cluster.psql("postgres", &format!("CREATE DATABASE {db}")).unwrap();
            urls.push_str(&format!("{}\n", cluster.url(&db)));
        }
        std::fs::write(dir.join("tenants.txt"), urls).unwrap();
        std::fs::write(
            dir.join("sluice.toml"),
            format!("[environments.tenants]\ntier = \"testing\"\nfleet = {{ file = \"tenants.txt\" }}\nrollout = {{ canary = 1, parallel = {parallel} }}\n"),
        )
        .unwrap();
        let (wall, cpu, rss, report) = measured(&dir, &work.path().join("data"));
        let done = report["databases"]
            .as_array()
            .map_or(0, |d| d.iter().filter(|d| d["outcome"] == "done").count());
        assert_eq!(done, n, "every database applied: {report}");
        println!(
            "  parallel {parallel:>2}: {wall:>6.2} s wall ({:.1} ms per database), sluice CPU {cpu:.2} s, peak RSS {rss:.1} MB",
            wall * 1e3 / n as f64
        );
        for i in 0..n {
            let _ = cluster.psql("postgres", &format!("DROP DATABASE fleet_p{parallel}_{i}"));
        }
    }
}
