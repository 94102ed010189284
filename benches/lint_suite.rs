//! The lint suite (tests/fixtures/lint-suite: dangers and near-misses judged on PostgreSQL
//! 15) scored for sluice and, when installed, squawk, in the same run: cases right and wrong
//! for each, and the ratio. squawk is found on PATH or in the native-tools cache that
//! ./scripts/setup fills (pip install squawk-cli).
//!
//! squawk is scored twice: as it ships, and without the three rules that fire on nearly
//! every statement and that sluice covers by itself (it sets lock_timeout and
//! statement_timeout around every migration; re-runnability is advice, `info`, in sluice).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

#[path = "../tests/lint_suite/mod.rs"]
mod suite;

const SQUAWK_SESSION_RULES: &[&str] =
    &["require-lock-timeout", "require-statement-timeout", "prefer-robust-stmts"];

fn squawk() -> Option<PathBuf> {
    if Command::new("squawk").arg("--version").output().is_ok_and(|o| o.status.success()) {
        return Some("squawk".into());
    }
    let home = std::env::var_os("HOME")?;
    let cached = PathBuf::from(home).join(".cache/sluice/native-tools/py/bin/squawk");
    cached.is_file().then_some(cached)
}

/// Findings by file name from a JSON array of objects with a file and a rule field.
fn by_file(
    json: &[u8],
    file: &str,
    rule: &str,
    keep: impl Fn(&serde_json::Value) -> bool,
) -> HashMap<String, Vec<String>> {
    let v: serde_json::Value = serde_json::from_slice(json).expect("linter JSON");
    let list = v.get("findings").cloned().unwrap_or(v);
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for f in list.as_array().expect("a list of findings") {
        if !keep(f) {
            continue;
        }
        let name = PathBuf::from(f[file].as_str().unwrap_or_default());
        let stem = name.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        out.entry(stem).or_default().push(f[rule].as_str().unwrap_or_default().to_string());
    }
    out
}

fn score(
    label: &str,
    cases: &[suite::Case],
    found: &HashMap<String, Vec<String>>,
    by_rule: bool,
) -> usize {
    let mut wrong = Vec::new();
    for c in cases {
        let reported = found.get(&c.name).cloned().unwrap_or_default();
        if !suite::judged_right(c, &reported, by_rule) {
            wrong.push(c.name.as_str());
        }
    }
    let right = cases.len() - wrong.len();
    println!("{label}: {} cases, {right} right, {} wrong", cases.len(), wrong.len());
    if !wrong.is_empty() {
        println!("  wrong: {}", wrong.join(", "));
    }
    right
}

fn main() {
    let cases = suite::cases();
    let dangers = cases.iter().filter(|c| c.expect.is_some()).count();
    println!(
        "lint suite: {} cases ({dangers} dangers, {} near-misses)",
        cases.len(),
        cases.len() - dangers
    );
    let paths: Vec<&PathBuf> = cases.iter().map(|c| &c.path).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("lint")
        .args(&paths)
        .args(["--format", "json"])
        .output()
        .expect("sluice lint");
    let found = by_file(&out.stdout, "file", "rule", |f| f["severity"] != "info");
    let sluice = score("sluice", &cases, &found, true);
    let Some(squawk) = squawk() else {
        println!("squawk not installed (pip install squawk-cli): no comparison");
        return;
    };
    let version = Command::new(&squawk).arg("--version").output().expect("squawk --version");
    println!("{}", String::from_utf8_lossy(&version.stdout).trim());
    let out = Command::new(&squawk)
        .args(&paths)
        .args(["--reporter", "json", "--pg-version", "15"])
        .output()
        .expect("squawk");
    let raw = by_file(&out.stdout, "file", "rule_name", |_| true);
    let raw_right = score("squawk as shipped", &cases, &raw, false);
    let adjusted = by_file(&out.stdout, "file", "rule_name", |f| {
        !SQUAWK_SESSION_RULES.contains(&f["rule_name"].as_str().unwrap_or_default())
    });
    let right = score("squawk without its session-setting rules", &cases, &adjusted, false);
    println!(
        "ratio sluice/squawk right = {:.2} (as shipped {:.2})",
        sluice as f64 / right.max(1) as f64,
        sluice as f64 / raw_right.max(1) as f64
    );
}
