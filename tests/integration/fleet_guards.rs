//! A fleet run's guards beyond one database's: one second approver's code for the whole
//! fleet run, and Ctrl-C stopping the fleet (no new start, the running one cancelled).

use std::time::Duration;

use crate::rollout::{applied, fleet_with, sluice, write};
use crate::support::{other_account, run_sluice_as, run_sluice_env};

#[tokio::test]
async fn one_approval_signs_a_fleet_run_and_is_recorded_in_every_database() {
    let Some(bob) = other_account() else { return };
    let rollout = "{ canary = 1, waves = [1], parallel = 2, max_failures = 0 }";
    let (p, dbs) = fleet_with(4, rollout, &[], "approvals = { required = 2 }").await;
    write(&p, "1_a.up.sql", "CREATE TABLE a (id int);\n");

    // Without an approver: refused before any database starts, saying how.
    let out = sluice(&p, &["apply", "--confirm", "tenants"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("sluice approve --env tenants"), "{}", out.stderr);
    for db in &dbs {
        assert!(applied(db).await.is_empty());
    }
    // A run id makes no sense for a fleet's code.
    let out = run_sluice_env(p.path(), &["approve", "some-run"], &[("SLUICE_OPERATOR", "bob")]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("give no run id"), "{}", out.stderr);

    let issued = run_sluice_as(
        bob,
        p.path(),
        &["approve", "--format", "json"],
        &[("SLUICE_OPERATOR", "bob")],
    );
    assert_eq!(issued.code, 0, "{}", issued.stderr);
    let code = issued.json()["code"].as_str().unwrap().to_string();
    let args = ["apply", "--confirm", "tenants", "--approver", "bob", "--approval-code", &code];
    let mut json = args.to_vec();
    json.extend(["--format", "json"]);
    let out = sluice(&p, &json);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let fleet_run = out.json()["fleet_run"].as_str().unwrap().to_string();
    for db in &dbs {
        assert_eq!(applied(db).await, vec!["1"], "{}", db.name);
        let c = db.client().await;
        let row = c
            .query_one(
                "SELECT details->'approvals'->0->>'approver', details->>'fleet_run' \
                 FROM sluice.runs WHERE action = 'apply' ORDER BY started_at DESC LIMIT 1",
                &[],
            )
            .await
            .unwrap();
        let (approver, run): (Option<String>, Option<String>) = (row.get(0), row.get(1));
        assert_eq!(approver.as_deref(), Some("bob"), "{}", db.name);
        assert_eq!(run.as_deref(), Some(fleet_run.as_str()));
    }
    // The code was spent on the fleet run, on the first database.
    let c = dbs[0].client().await;
    let used: Option<String> =
        c.query_one("SELECT used_by_run FROM sluice.approvals", &[]).await.unwrap().get(0);
    assert_eq!(used.as_deref(), Some(fleet_run.as_str()));

    // Spent: the next fleet run needs a new code.
    write(&p, "2_b.up.sql", "CREATE TABLE b (id int);\n");
    let out = sluice(&p, &args);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("does not approve"), "{}", out.stderr);
    assert_eq!(applied(&dbs[3]).await, vec!["1"]);
}

#[tokio::test]
async fn ctrl_c_stops_a_fleet_run_and_cancels_the_running_database() {
    let rollout = "{ canary = 1, waves = [], parallel = 1, max_failures = 3 }";
    let (p, dbs) = fleet_with(3, rollout, &[], "").await;
    write(&p, "1_a.up.sql", "CREATE TABLE a (id int);\nSELECT pg_sleep(30);\n");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["--project", p.path().to_str().unwrap()])
        .args(["apply", "--confirm", "tenants", "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let c = dbs[0].client().await;
    let sleeping = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' \
                    AND state = 'active' AND pid <> pg_backend_pid()";
    let mut seen = false;
    for _ in 0..400 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        if c.query_one(sleeping, &[]).await.unwrap().get::<_, i64>(0) > 0 {
            seen = true;
            break;
        }
    }
    assert!(seen, "the canary never started its statement");
    // SAFETY: signals our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(started.elapsed() < Duration::from_secs(10), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stopping the fleet run"), "{stderr}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcomes: Vec<&str> =
        r["databases"].as_array().unwrap().iter().map(|d| d["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["cancelled", "not-started", "not-started"], "{r}");
    assert!(r["stopped"].as_str().unwrap().contains("stopped by the operator"), "{r}");
    // The canary's transaction rolled back; nothing else was touched.
    let tables: i64 = c
        .query_one("SELECT count(*) FROM pg_tables WHERE tablename = 'a'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
    assert_eq!(c.query_one(sleeping, &[]).await.unwrap().get::<_, i64>(0), 0);
    for db in &dbs {
        assert!(applied(db).await.is_empty(), "{}", db.name);
    }
}

/// The console on a fleet, in a real terminal: the fleet's tab (the failed database first),
/// Enter into one database and Esc back, then the fleet wizard: the plan, the typed name,
/// each database's progress, the report; every database ends applied.
#[tokio::test]
async fn the_console_shows_a_fleet_opens_a_database_and_rolls_the_fleet_out() {
    if std::process::Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux not installed; skipped");
        return;
    }
    let rollout = "{ canary = 1, waves = [1], parallel = 2, max_failures = 1 }";
    let (p, dbs) = fleet_with(4, rollout, &[], "").await;
    write(&p, "1_a.up.sql", "CREATE TABLE a (id int);\n");
    write(&p, "2_b.up.sql", "CREATE TABLE b (id int);\n");
    assert_eq!(sluice(&p, &["apply", "--to", "1", "--confirm", "tenants"]).code, 0);
    // The third database already has b: its 2_b fails there, within the budget of 1.
    dbs[2].client().await.batch_execute("CREATE TABLE b (id int)").await.unwrap();

    let pane = crate::wizard::Pane::open_at("fleet", p.path(), "", "", 120, 40);
    let s = pane.expect("Databases (4)", 20);
    assert!(s.contains("fleet of 4 databases"), "{s}");
    assert!(s.contains("Heads: 1 ×4"), "{s}");
    pane.keys(&["Enter"]);
    let name = &dbs[0].name;
    let s = pane.expect("Migrations (2)", 20);
    assert!(s.contains(&format!("tenants/{name}")) || s.contains(name.as_str()), "{s}");
    pane.keys(&["Escape"]);
    pane.expect("Databases (4)", 10);

    pane.keys(&["a"]);
    pane.expect("4 databases in 3 wave(s)", 20);
    pane.keys(&["Enter"]);
    pane.expect("Type the environment name", 10);
    pane.text("tenants");
    pane.keys(&["Enter"]);
    let s = pane.expect("Fleet run ", 60);
    assert!(s.contains("1 failed"), "{s}");
    assert!(s.contains("already exists"), "the failed database's error: {s}");
    pane.keys(&["Enter"]);
    let s = pane.expect("Databases (4)", 20);
    // Its transaction rolled back: 2_b is still pending there, listed first.
    assert!(s.contains("3 up to date · 1 with pending"), "the reloaded fleet: {s}");
    let first = s.lines().nth(2).unwrap_or_default();
    assert!(first.contains("•") && first.contains(&dbs[2].name), "{s}");
    for (i, db) in dbs.iter().enumerate() {
        let want: Vec<&str> = if i == 2 { vec!["1"] } else { vec!["1", "2"] };
        assert_eq!(applied(db).await, want, "{}", db.name);
    }
    pane.keys(&["q"]);
    pane.expect("EXITED 0", 10);
}

/// prod promotes from a fleet: every database of the fleet must have run what prod would
/// apply; one that has not is named, and the gate passes once the fleet caught up.
#[tokio::test]
async fn promotion_from_a_fleet_needs_every_database_of_it() {
    let prod = crate::support::fresh_db().await;
    let rollout = "{ canary = 1, waves = [], parallel = 2, max_failures = 0 }";
    let (p, dbs) = fleet_with(3, rollout, &[], "").await;
    let toml = std::fs::read_to_string(p.path().join("sluice.toml"))
        .unwrap()
        .replace("tier = \"production\"", "tier = \"testing\"");
    let toml = format!(
        "{toml}\n[environments.prod]\ntier = \"production\"\nurl = \"{}\"\npromote_from = \"tenants\"\nbackup = {{ mode = \"off\" }}\n",
        prod.url
    );
    std::fs::write(p.path().join("sluice.toml"), toml).unwrap();
    write(&p, "1_a.up.sql", "CREATE TABLE a (id int);\n");
    let prod_apply = || sluice(&p, &["--env", "prod", "apply", "--confirm", "prod"]);

    // The shard of positions 0 and 2 only: the database at 1 lags.
    assert_eq!(sluice(&p, &["--env", "tenants", "apply", "--shard", "0/2"]).code, 0);
    assert!(applied(&dbs[1]).await.is_empty());
    let out = prod_apply();
    assert_eq!(out.code, 1, "{}", out.stderr);
    // Named by its label (user@host:port/database).
    let named = |db: &crate::support::TestDb| out.stderr.contains(&format!("/{})", db.name));
    assert!(out.stderr.contains("1_a not applied on tenants ("), "{}", out.stderr);
    assert!(named(&dbs[1]) && !named(&dbs[0]) && !named(&dbs[2]), "{}", out.stderr);
    assert!(applied(&prod).await.is_empty());

    assert_eq!(sluice(&p, &["--env", "tenants", "apply"]).code, 0);
    let out = sluice(&p, &["--env", "prod", "apply", "--confirm", "prod", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let checks = out.json()["prechecks"].clone();
    let row = checks.as_array().unwrap().iter().find(|c| c["name"] == "promotion").unwrap();
    assert!(row["figure"].as_str().unwrap().contains("(every database)"), "{row}");
    assert_eq!(applied(&prod).await, vec!["1"]);
}
