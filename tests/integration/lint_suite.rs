//! sluice's lint against the suite of dangers and near-misses: every case judged right.

use sluice::core::data::lint::{self, Down, Input, LintOptions, Severity};

#[path = "../lint_suite/mod.rs"]
mod suite;

#[test]
fn every_danger_found_and_no_near_miss_flagged() {
    let cases = suite::cases();
    assert!(cases.len() >= 100, "the suite holds {} cases", cases.len());
    let opts = LintOptions { server_version: Some(150_000), ..LintOptions::default() };
    let mut wrong = Vec::new();
    for case in &cases {
        let input = Input {
            path: case.path.clone(),
            text: std::fs::read_to_string(&case.path).unwrap(),
            down: Down::NotJudged,
            no_transaction: false,
        };
        let findings = lint::lint_one(&input, &opts);
        let reported: Vec<String> = findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .map(|f| f.rule.to_string())
            .collect();
        if !suite::judged_right(case, &reported, true) {
            let expect = case.expect.as_deref().unwrap_or("safe");
            wrong.push(format!("{}: expected {expect}, reported {reported:?}", case.name));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases wrong:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}
