//! Two-person approval: `sluice approve` prints a one-time code on the second approver's
//! terminal; a run on an environment with approvals.required = 2 applies only with it.

use crate::support::{fresh_db, run_sluice_env, TestProject};

fn approve(p: &TestProject, who: &str, run: Option<&str>) -> serde_json::Value {
    let mut args = vec!["approve", "--format", "json"];
    args.extend(run);
    let out = run_sluice_env(p.root(), &args, &[("SLUICE_OPERATOR", who)]);
    assert_eq!(out.code, 0, "approve failed: {}", out.stderr);
    out.json()
}

#[tokio::test]
async fn a_second_approver_is_required_checked_and_recorded() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(
        &db,
        "production",
        "backup = { mode = \"off\" }\napprovals = { required = 2, ticket = \"required\" }",
    );
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", "--confirm", "dev"];
        args.extend_from_slice(extra);
        p.sluice(&args)
    };

    let out = apply(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("ticket"), "{}", out.stderr);
    let out = apply(&["--ticket", "CHG-7"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("requires a second approver"), "{}", out.stderr);
    assert!(out.stderr.contains("sluice approve"), "says how: {}", out.stderr);

    // The operator cannot approve their own run.
    let own = approve(&p, "tester", None);
    let code = own["code"].as_str().unwrap();
    let out = apply(&["--ticket", "CHG-7", "--approver", "tester", "--approval-code", code]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("someone else"), "{}", out.stderr);

    // Bob's code, with the wrong name: refused, and the code is not spent.
    let bob = approve(&p, "bob", None);
    let code = bob["code"].as_str().unwrap().to_string();
    let out = apply(&["--ticket", "CHG-7", "--approver", "carol", "--approval-code", &code]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("issued to bob, not carol"), "{}", out.stderr);
    let wrong = format!("{}X", &code[..code.len() - 1]);
    let out = apply(&["--ticket", "CHG-7", "--approver", "bob", "--approval-code", &wrong]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("does not approve"), "{}", out.stderr);
    let n: i64 = c
        .query_one("SELECT count(*) FROM pg_tables WHERE tablename = 'a'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "nothing applied while refused");

    // Lower case and without the dash still works; it is recorded in the run.
    let typed = code.to_lowercase().replace('-', "");
    let out = apply(&[
        "--ticket",
        "CHG-7",
        "--approver",
        "Bob",
        "--approval-code",
        &typed,
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let details: String = c
        .query_one("SELECT details::text FROM sluice.runs WHERE outcome = 'done'", &[])
        .await
        .unwrap()
        .get(0);
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["approvals"][0]["approver"], "bob");
    assert_eq!(details["ticket"], "CHG-7");
    let report = out.json();
    assert_eq!(report["approvals"][0]["approver"], "bob");

    // Used once: the same code does not approve another run.
    p.write("2_b.up.sql", "CREATE TABLE b (id int);\n");
    let out = apply(&["--ticket", "CHG-8", "--approver", "bob", "--approval-code", &code]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("used"), "{}", out.stderr);

    // A code for a run id checks the run: unknown ids and finished runs are refused.
    let out = run_sluice_env(p.root(), &["approve", "nosuchrun"], &[("SLUICE_OPERATOR", "bob")]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let done: String = c
        .query_one("SELECT run_id FROM sluice.runs WHERE outcome = 'done'", &[])
        .await
        .unwrap()
        .get(0);
    let out = run_sluice_env(p.root(), &["approve", &done], &[("SLUICE_OPERATOR", "bob")]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("is over"), "{}", out.stderr);
}
