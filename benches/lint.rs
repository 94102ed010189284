//! Lint throughput: a generated corpus of 2,000 migration files / 50,000 statements.
//! Prints statements per second and peak RSS; with `squawk` on PATH (pip install squawk-cli)
//! it lints the same corpus in the same run and prints the ratio.

use std::process::Command;

#[path = "common/mod.rs"]
mod common;
use common::{median, run_measured};

const FILES: usize = 2000;
const PER_FILE: usize = 25;

fn statement(i: usize, k: usize) -> String {
    let t = format!("t{}", i % 97);
    match k % 10 {
        0 => format!("CREATE TABLE IF NOT EXISTS n{i}_{k} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text, created_at timestamptz NOT NULL DEFAULT now());"),
        1 => format!("ALTER TABLE {t} ADD COLUMN c{i}_{k} text;"),
        2 => format!("CREATE INDEX i{i}_{k} ON {t} (c{k});"),
        3 => format!("UPDATE {t} SET c{k} = lower(c{k}) WHERE id BETWEEN {i} AND {};", i + 1000),
        4 => format!("ALTER TABLE {t} ADD CONSTRAINT f{i}_{k} FOREIGN KEY (u{k}) REFERENCES users (id) NOT VALID;"),
        5 => format!("COMMENT ON COLUMN {t}.c{k} IS 'generated ''{i}'' ; not a statement';"),
        6 => format!("CREATE OR REPLACE FUNCTION f{i}_{k}(a int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN a + {k}; END $$;"),
        7 => format!("INSERT INTO {t} (id, note) SELECT g, 'row ' || g FROM generate_series(1, {k}) g;"),
        8 => format!("ALTER TABLE {t} ALTER COLUMN c{k} SET DEFAULT 'x{i}';"),
        _ => format!("CREATE VIEW v{i}_{k} AS SELECT id, note FROM {t} WHERE created_at > now() - interval '{k} days';"),
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for i in 1..=FILES {
        let body: Vec<String> = (0..PER_FILE).map(|k| statement(i, k)).collect();
        let p = dir.path().join(format!("{i:05}_m{i}.up.sql"));
        std::fs::write(&p, body.join("\n") + "\n").unwrap();
        paths.push(p);
    }
    let total = FILES * PER_FILE;
    let bin = env!("CARGO_BIN_EXE_sluice");
    let (mut times, mut peak) = (Vec::new(), 0);
    for _ in 0..3 {
        let (t, out, rss) = run_measured(
            Command::new(bin)
                .args(["lint", dir.path().to_str().unwrap(), "--format", "json"])
                .current_dir(dir.path()),
        );
        let j: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(j["files"], FILES);
        times.push(t);
        peak = peak.max(rss);
    }
    let sl = median(times);
    println!(
        "sluice lint: {FILES} files / {total} statements in {:.0} ms (median of 3): {:.0} statements/s, peak RSS {:.1} MB",
        sl.as_secs_f64() * 1e3,
        total as f64 / sl.as_secs_f64(),
        peak as f64 / 1024.0
    );
    if Command::new("squawk").arg("--version").output().is_err() {
        println!("squawk not installed (pip install squawk-cli): no comparison");
        return;
    }
    let mut times = Vec::new();
    let mut peak = 0;
    for _ in 0..3 {
        // squawk exits non-zero when it finds something; only the time and memory matter here.
        let mut cmd = Command::new("squawk");
        cmd.args(&paths).arg("--reporter").arg("gcc");
        let (t, _, rss) = common::run_measured_any_status(&mut cmd);
        times.push(t);
        peak = peak.max(rss);
    }
    let sq = median(times);
    println!(
        "squawk:      {FILES} files / {total} statements in {:.0} ms (median of 3): {:.0} statements/s, peak RSS {:.1} MB",
        sq.as_secs_f64() * 1e3,
        total as f64 / sq.as_secs_f64(),
        peak as f64 / 1024.0
    );
    println!("ratio sluice/squawk time = {:.2} (goal <= 1.0)", sl.as_secs_f64() / sq.as_secs_f64());
}
