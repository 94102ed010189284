//! Production guards against the tricks people try at 3 a.m.: near-miss confirmations,
//! environment variables that look like switches, confirmations piped into stdin, a
//! misspelt tier, a second environment that points a lower tier at the production
//! database, and one person acting as their own second approver. Every trick must be
//! refused with nothing applied.

use crate::support::{
    fresh_db, other_account, run_sluice_as, run_sluice_as_via, run_sluice_env, TestProject,
};

async fn untouched(c: &tokio_postgres::Client) -> bool {
    c.query_one("SELECT to_regclass('a') IS NULL", &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn no_trick_gets_a_production_apply_past_its_confirmation() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "production", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    p.write("1_a.down.sql", "DROP TABLE a;\n");
    let mut tried = 0;
    for confirm in ["DEV", " dev", "dev ", "de", "dev\n", "'dev'", "*", "", "production", "dev,dev"]
    {
        tried += 1;
        let out = p.sluice(&["apply", "--confirm", confirm]);
        assert_ne!(out.code, 0, "--confirm {confirm:?} let the apply through");
        assert!(untouched(&c).await, "--confirm {confirm:?}");
    }
    let switches: &[(&str, &str)] = &[
        ("SLUICE_CONFIRM", "dev"),
        ("SLUICE_YES", "1"),
        ("SLUICE_FORCE", "1"),
        ("SLUICE_TIER", "development"),
        ("SLUICE_ENV", "dev"),
        ("SLUICE_SKIP_GUARDS", "1"),
        ("CI", "true"),
        ("GITHUB_ACTIONS", "true"),
        ("TERM", "dumb"),
        ("SLUICE_OPERATOR", "root"),
    ];
    for (k, v) in switches {
        tried += 1;
        let out = run_sluice_env(p.root(), &["apply"], &[(k, v)]);
        assert_eq!(out.code, 1, "{k}={v}: {}", out.stderr);
        assert!(out.stderr.contains("--confirm dev"), "{k}={v}: {}", out.stderr);
        assert!(untouched(&c).await, "{k}={v}");
    }
    // A confirmation piped into stdin is not a typed one: headless never prompts.
    tried += 1;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["--project", p.root().to_str().unwrap(), "apply"])
        .env("SLUICE_DATA_DIR", p.root().join(".sluice-data"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(b"dev\ny\nyes\n");
    }
    assert_eq!(child.wait().unwrap().code(), Some(1));
    assert!(untouched(&c).await, "a piped confirmation");
    eprintln!("[figure] guard_tricks={tried}");
}

#[tokio::test]
async fn a_misspelt_tier_is_an_error_not_development() {
    let db = fresh_db().await;
    let c = db.client().await;
    for tier in ["Production", "PRODUCTION", "prod", "production ", "live"] {
        let p = TestProject::new(&db, tier, "");
        p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
        let out = p.sluice(&["apply"]);
        assert_eq!(out.code, 2, "tier {tier:?}: {}", out.stderr);
        assert!(out.stderr.contains("sluice.toml"), "tier {tier:?}: {}", out.stderr);
        assert!(untouched(&c).await, "tier {tier:?}");
    }
    // Two tiers for one environment: TOML itself refuses the duplicate key.
    let p = TestProject::new(&db, "production", "tier = \"development\"");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(untouched(&c).await);
    eprintln!("[figure] guard_tricks=6");
}

#[tokio::test]
async fn a_development_alias_of_a_production_database_is_refused() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "production", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    p.write("1_a.down.sql", "DROP TABLE a;\n");
    p.write("2_b.up.sql", "CREATE TABLE b (id int);\n");
    p.write("2_b.down.sql", "DROP TABLE b;\n");
    assert_eq!(p.sluice(&["apply", "--to", "1", "--confirm", "dev"]).code, 0);
    // The same database again, under a development environment.
    let toml = std::fs::read_to_string(p.root().join("sluice.toml")).unwrap();
    let alias =
        format!("{toml}\n[environments.sandbox]\ntier = \"development\"\nurl = \"{}\"\n", db.url);
    std::fs::write(p.root().join("sluice.toml"), alias).unwrap();
    for args in [
        &["apply", "--env", "sandbox"][..],
        &["rollback", "--env", "sandbox", "--steps", "1"][..],
        &["resolve", "1", "--env", "sandbox", "--mark-rolled-back", "--reason", "x"][..],
    ] {
        let out = p.sluice(args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("through the production-tier environment 'dev'"),
            "{args:?}: {}",
            out.stderr
        );
    }
    let b: bool = c.query_one("SELECT to_regclass('b') IS NULL", &[]).await.unwrap().get(0);
    assert!(b && !untouched(&c).await, "nothing changed through the alias");
    // Through the production environment itself it still works.
    assert_eq!(p.sluice(&["apply", "--env", "dev", "--confirm", "dev"]).code, 0);
    eprintln!("[figure] guard_tricks=3");
}

/// Whether `unshare -r` (an unprivileged user namespace) works here.
fn user_namespaces() -> bool {
    let probe = std::process::Command::new("unshare").args(["-r", "true"]).status();
    let ok = probe.map(|s| s.success()).unwrap_or(false);
    if !ok {
        eprintln!("unshare -r does not work here; the user-namespace trick is skipped");
    }
    ok
}

#[tokio::test]
async fn nobody_is_their_own_second_approver() {
    let Some(bob) = other_account() else { return };
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "production", "approvals = { required = 2 }");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    let redeem = |name: &str, code: &str| {
        p.sluice(&["apply", "--confirm", "dev", "--approver", name, "--approval-code", code])
    };
    let code_of = |out: crate::support::Output| {
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.json()["code"].as_str().unwrap().to_string()
    };
    let mut tried = 0;

    // A name from the environment, on the operator's own account.
    for label in ["bob", "postgres", "Bob "] {
        tried += 1;
        let env = [("SLUICE_OPERATOR", label), ("USER", label), ("LOGNAME", label)];
        let code = code_of(run_sluice_env(p.root(), &["approve", "--format", "json"], &env));
        let out = redeem(label.trim(), &code);
        assert_eq!(out.code, 1, "{label}: {}", out.stderr);
        assert!(out.stderr.contains("on their own account"), "{label}: {}", out.stderr);
        assert!(untouched(&c).await, "{label}");
    }

    // Bob alone: inside a user namespace his uid is 0 ("root"), another account than the
    // one his code came from. Neither issuing nor redeeming is vouched for there.
    if user_namespaces() {
        let ns = ["unshare", "-r"];
        let env = [("SLUICE_OPERATOR", "bob")];
        tried += 1;
        let out = run_sluice_as_via(bob, &ns, p.root(), &["approve"], &env);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(out.stderr.contains("user namespace"), "{}", out.stderr);
        tried += 1;
        let code = code_of(run_sluice_as(bob, p.root(), &["approve", "--format", "json"], &env));
        let args = ["apply", "--confirm", "dev", "--approver", "bob", "--approval-code", &code];
        let env = [("SLUICE_OPERATOR", "alice")];
        let out = run_sluice_as_via(bob, &ns, p.root(), &args, &env);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(out.stderr.contains("user namespace"), "{}", out.stderr);
        assert!(untouched(&c).await);
        // The refusal did not spend the code: the real operator's run takes it.
        let out = redeem("bob", &code);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(!untouched(&c).await);
    }
    eprintln!("[figure] guard_tricks={tried}");
}
