//! The fixed cost of a guarded `sluice apply` on the example project (`migrations/`, its
//! `dev` environment): with nothing pending, and with one pending migration (0014), each
//! trial on a fresh copy of a database at 0013. The cost by stage comes from the run's own
//! JSON report (stages and timings); what is left of the wall time is the process itself
//! (start, reading sluice.toml, printing).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sluice::core::db::cluster::Cluster;

struct Trial {
    wall: Duration,
    report: serde_json::Value,
}

fn apply(bin: &str, project: &Path, data: &Path, url: &str, args: &[&str]) -> Trial {
    let t = Instant::now();
    let out = Command::new(bin)
        .arg("--project")
        .arg(project)
        .args(["apply", "--env", "dev", "--format", "json"])
        .args(args)
        .env("SHOP_DEV_URL", url)
        .env("SLUICE_DATA_DIR", data)
        .output()
        .unwrap();
    let wall = t.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Trial { wall, report: serde_json::from_slice(&out.stdout).unwrap() }
}

fn ms(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

fn med(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Medians of each part of the trials' time, printed as one line per part.
fn print(label: &str, trials: &[Trial]) {
    let stage = |t: &Trial, name: &str| -> f64 {
        let stages = t.report["stages"].as_array().cloned().unwrap_or_default();
        // + 0.0: an empty f64 sum is -0.0.
        stages.iter().filter(|s| s["stage"] == name).map(|s| ms(&s["duration_ms"])).sum::<f64>()
            + 0.0
    };
    let timing = |t: &Trial, name: &str| ms(&t.report["timings"][name]);
    let wall: Vec<f64> = trials.iter().map(|t| t.wall.as_secs_f64() * 1e3).collect();
    let migrations: Vec<f64> = trials.iter().map(|t| timing(t, "migrations_ms")).collect();
    let fixed: Vec<f64> = wall.iter().zip(&migrations).map(|(w, m)| w - m).collect();
    println!(
        "{label} ({} trials, median): wall {:.1} ms, migrations {:.1} ms, fixed cost {:.1} ms (goal < 150)",
        trials.len(),
        med(wall.clone()),
        med(migrations),
        med(fixed)
    );
    let mut parts: Vec<(&str, Vec<f64>)> =
        vec![("open", trials.iter().map(|t| timing(t, "open_ms")).collect())];
    for s in ["pre-checks", "lint", "backup"] {
        parts.push((s, trials.iter().map(|t| stage(t, s)).collect()));
    }
    for (name, key) in
        [("verify", "verify_ms"), ("snapshot", "snapshot_ms"), ("report files", "record_ms")]
    {
        parts.push((name, trials.iter().map(|t| timing(t, key)).collect()));
    }
    // What no part covers: the process starting, reading sluice.toml, printing the report.
    let counted = |t: &Trial| -> f64 {
        let stages: f64 = ["pre-checks", "lint", "backup"].iter().map(|s| stage(t, s)).sum();
        let timings: f64 = ["open_ms", "migrations_ms", "verify_ms", "snapshot_ms", "record_ms"]
            .iter()
            .map(|k| timing(t, k))
            .sum();
        stages + timings
    };
    let process: Vec<f64> = trials.iter().zip(&wall).map(|(t, w)| w - counted(t)).collect();
    parts.push(("the rest (process start, sluice.toml, output)", process));
    let line: Vec<String> = parts.into_iter().map(|(n, v)| format!("{n} {:.1}", med(v))).collect();
    println!("  by stage (ms): {}", line.join(", "));
}

pub fn run(work: &Path, trials: usize) {
    let cluster = Cluster::start().expect("cluster");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let project = work.join("example");
    std::fs::create_dir_all(project.join("migrations")).unwrap();
    std::fs::copy(root.join("sluice.toml"), project.join("sluice.toml")).unwrap();
    for f in std::fs::read_dir(root.join("migrations")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, project.join("migrations").join(f.file_name().unwrap())).unwrap();
    }
    let bin = env!("CARGO_BIN_EXE_sluice");
    let data = work.join("fixed-data");
    cluster.psql("postgres", "CREATE DATABASE example_0013").unwrap();
    apply(bin, &project, &data, &cluster.url("example_0013"), &["--to", "0013"]);
    let (mut idle, mut one, mut n) = (Vec::new(), Vec::new(), 0);
    for _ in 0..trials {
        for (list, args) in [(&mut idle, vec!["--to", "0013"]), (&mut one, vec![])] {
            n += 1;
            let db = format!("example_{n}");
            cluster
                .psql("postgres", &format!("CREATE DATABASE {db} TEMPLATE example_0013"))
                .unwrap();
            cluster.psql("postgres", "CHECKPOINT").unwrap();
            list.push(apply(bin, &project, &data, &cluster.url(&db), &args));
        }
    }
    assert!(idle.iter().all(|t| t.report["outcome"] == "nothing-to-do"));
    assert!(one.iter().all(|t| t.report["outcome"] == "done"
        && t.report["migrations"].as_array().is_some_and(|m| m.len() == 1)));
    print("example project, nothing pending", &idle);
    print("example project, one pending migration (0014)", &one);
}
