//! Two-person approval: `sluice approve` prints a one-time code on the second approver's
//! terminal; a run on an environment with approvals.required = 2 applies only with it. The
//! second person is another OS account; names are labels anyone can set.

use crate::support::{fresh_db, other_account, run_sluice_as, run_sluice_env, TestProject};

/// `sluice approve` as `who`, on this OS account (`other` None) or the other one.
fn approve(p: &TestProject, who: &str, other: Option<(u32, u32)>) -> serde_json::Value {
    let args = ["approve", "--format", "json"];
    let env = [("SLUICE_OPERATOR", who)];
    let out = match other {
        Some(account) => run_sluice_as(account, p.root(), &args, &env),
        None => run_sluice_env(p.root(), &args, &env),
    };
    assert_eq!(out.code, 0, "approve failed: {}", out.stderr);
    out.json()
}

#[tokio::test]
async fn a_second_approver_is_required_checked_and_recorded() {
    let Some(bob_account) = other_account() else { return };
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

    // The operator cannot approve their own run, under their own name or another.
    for label in ["tester", "bob"] {
        let own = approve(&p, label, None);
        let code = own["code"].as_str().unwrap();
        let out = apply(&["--ticket", "CHG-7", "--approver", label, "--approval-code", code]);
        assert_eq!(out.code, 1, "{label}: {}", out.stderr);
        assert!(out.stderr.contains("on their own account"), "{label}: {}", out.stderr);
    }

    // Bob's code, with the wrong name: refused, and the code is not spent.
    let bob = approve(&p, "bob", Some(bob_account));
    assert_eq!(bob["account"], "postgres");
    let code = bob["code"].as_str().unwrap().to_string();
    let out = apply(&["--ticket", "CHG-7", "--approver", "carol", "--approval-code", &code]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("issued to bob, not carol"), "{}", out.stderr);
    // One character off (a code ending in X gets a Y: the same code would be no test).
    let last = if code.ends_with('X') { 'Y' } else { 'X' };
    let wrong = format!("{}{last}", &code[..code.len() - 1]);
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
    assert_eq!(details["approvals"][0]["account"], "postgres");
    assert_eq!(details["ticket"], "CHG-7");
    let report = out.json();
    assert_eq!(report["approvals"][0]["approver"], "bob");

    // Used once: the same code does not approve another run.
    p.write("2_b.up.sql", "CREATE TABLE b (id int);\n");
    let out = apply(&["--ticket", "CHG-8", "--approver", "bob", "--approval-code", &code]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("used"), "{}", out.stderr);

    // A code for a run id checks the run: unknown ids and finished runs are refused.
    let bob_env = [("SLUICE_OPERATOR", "bob")];
    let out = run_sluice_as(bob_account, p.root(), &["approve", "nosuchrun"], &bob_env);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let done: String = c
        .query_one("SELECT run_id FROM sluice.runs WHERE outcome = 'done'", &[])
        .await
        .unwrap()
        .get(0);
    let out = run_sluice_as(bob_account, p.root(), &["approve", &done], &bob_env);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("is over"), "{}", out.stderr);

    // A code from a sluice that did not record the approver's account proves nothing.
    let old = approve(&p, "bob", Some(bob_account));
    c.batch_execute("UPDATE sluice.approvals SET account = NULL WHERE used_at IS NULL")
        .await
        .unwrap();
    let code = old["code"].as_str().unwrap();
    let out = apply(&["--ticket", "CHG-9", "--approver", "bob", "--approval-code", code]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("older sluice"), "{}", out.stderr);
}
