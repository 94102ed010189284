//! The lint suite's cases (tests/fixtures/lint-suite): one file per danger and per near-miss,
//! each judged against PostgreSQL 15 and written as run (no implicit transaction). The first
//! line says what it is: `-- expect: <rule-id>` (a danger that rule must report at warning or
//! above) or `-- expect: safe` (nothing at warning or above). Shared by the test that holds
//! sluice to every case and the bench that scores sluice and squawk side by side.

use std::path::{Path, PathBuf};

pub struct Case {
    pub path: PathBuf,
    pub name: String,
    /// The rule that must fire, or None for a near-miss that must stay quiet.
    pub expect: Option<String>,
}

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint-suite")
}

pub fn cases() -> Vec<Case> {
    let mut out: Vec<Case> = std::fs::read_dir(dir())
        .expect("the lint suite folder")
        .map(|e| e.expect("a suite entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a suite case");
            let first = text.lines().next().unwrap_or("");
            let expect = first
                .strip_prefix("-- expect: ")
                .unwrap_or_else(|| panic!("{}: no expect line", path.display()))
                .trim();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let expect = (expect != "safe").then(|| expect.to_string());
            Case { path, name, expect }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Whether a linter judged the case right, given the rules it reported at warning or above.
/// `by_rule`: a danger counts only when the expected rule is among them (sluice's own ids);
/// otherwise any report counts (another linter's ids are its own).
pub fn judged_right(case: &Case, reported: &[String], by_rule: bool) -> bool {
    match &case.expect {
        None => reported.is_empty(),
        Some(rule) if by_rule => reported.iter().any(|r| r == rule),
        Some(_) => !reported.is_empty(),
    }
}
