use std::time::Duration;

use sluice::core::exec::{self, ApplyOptions, Control};
use sluice::core::record::report::Event;

use crate::support::{catalog, fresh_db, TestProject};

#[tokio::test]
async fn example_applies_and_rolls_back_to_the_starting_catalog() {
    let db = fresh_db().await;
    let c = db.client().await;
    let before = catalog(&c).await;
    let p = TestProject::example(&db);

    // On a fresh database every table 0013 touches is one this run creates: new and empty,
    // so the gate counts its volatile default as info and the whole history applies.
    let out = p.sluice(&["apply", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let report = out.json();
    assert_eq!(report["outcome"], "done");
    assert_eq!(report["migrations"].as_array().unwrap().len(), 14);
    let lint = report["stages"].as_array().unwrap().iter().find(|s| s["stage"] == "lint").unwrap();
    let summary = lint["summary"].as_str().unwrap();
    assert!(
        summary.contains("0 error(s)")
            && summary.contains("discounted to info: orders, users are created by this run"),
        "the gate says what it discounted and why: {summary}"
    );
    let applied = catalog(&c).await;
    assert!(applied.iter().any(|l| l.contains("public.orders_status_idx")), "{applied:?}");
    assert!(applied.iter().any(|l| l.starts_with("fn order_total(bigint)")));
    let n: i64 = c.query_one("SELECT count(*) FROM products", &[]).await.unwrap().get(0);
    assert_eq!(n, 3);

    let j = p.sluice(&["status", "--format", "json"]).json();
    assert!(j["migrations"].as_array().unwrap().iter().all(|m| m["state"] == "applied"));

    let out = p.sluice(&["rollback", "--to", "0"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(catalog(&c).await, before);

    // The ledger kept everything: 14 ups, 14 downs, with the SQL that ran.
    let rows = c
        .query(
            "SELECT direction, count(*) FROM sluice.history WHERE success GROUP BY 1 ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    let counts: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(counts, vec![("down".into(), 14), ("up".into(), 14)]);
    let up_sql: String = c
        .query_one(
            "SELECT up_sql FROM sluice.history WHERE version = '0008' AND direction = 'up'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(up_sql.contains("BEGIN ATOMIC"));
    let who: String =
        c.query_one("SELECT operator FROM sluice.runs LIMIT 1", &[]).await.unwrap().get(0);
    assert_eq!(who, "tester");

    // And it applies again cleanly after a full rollback.
    assert_eq!(p.sluice(&["apply"]).code, 0);
}

#[tokio::test]
async fn the_gate_holds_back_a_rewrite_of_a_busy_table_until_someone_signs_for_it() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::example(&db);
    assert_eq!(p.sluice(&["apply", "--to", "0012"]).code, 0);
    // orders exists now, with rows: 0013's volatile default rewrites it under ACCESS
    // EXCLUSIVE, and the gate refuses it.
    c.batch_execute(
        "INSERT INTO users (email) VALUES ('a@example.com');
         INSERT INTO orders (user_id) SELECT (SELECT min(id) FROM users) FROM generate_series(1, 20000);
         ANALYZE orders;",
    )
    .await
    .unwrap();
    let gated = p.sluice(&["apply"]);
    assert_eq!(gated.code, 1, "{}{}", gated.stdout, gated.stderr);
    assert!(
        gated.stderr.contains("0013_add_order_uuid.up.sql:4 add-column-volatile-default (error)"),
        "{}",
        gated.stderr
    );
    let has_uuid: bool = c
        .query_one(
            "SELECT count(*) > 0 FROM information_schema.columns WHERE column_name = 'order_uuid'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!has_uuid, "a refused run changes nothing");
    let out =
        p.sluice(&["apply", "--format", "json", "--override-lint", "window approved, CHG-4411"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.json()["migrations"].as_array().unwrap().len(), 2);
    let runs: Vec<(String, String)> = c
        .query("SELECT action, outcome FROM sluice.runs ORDER BY started_at", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        runs,
        vec![
            ("apply".into(), "done".into()),
            ("apply".into(), "refused".into()),
            ("apply".into(), "done".into())
        ]
    );
    let reason: String = c
        .query_one("SELECT details->'lint_overridden'->>'reason' FROM sluice.runs WHERE outcome = 'done' AND action = 'apply' ORDER BY started_at DESC LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(reason, "window approved, CHG-4411");
}

#[tokio::test]
async fn apply_to_stops_at_the_version_and_history_lists_it() {
    let db = fresh_db().await;
    let p = TestProject::example(&db);
    let out = p.sluice(&["apply", "--to", "0004"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("done: 4 migration(s) applied"), "{}", out.stdout);
    let h = p.sluice(&["history", "--format", "json"]).json();
    assert_eq!(h["history"].as_array().unwrap().len(), 4);
    assert_eq!(h["history"][0]["os_user"], "tester");
    assert_eq!(h["runs"][0]["action"], "apply");
    let bad = p.sluice(&["apply", "--to", "0099"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("0099"), "{}", bad.stderr);
}

#[tokio::test]
async fn failed_no_transaction_migration_is_marked_and_resolved() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_base.up.sql", "CREATE TABLE t (id int);\n");
    p.write(
        "2_idx.up.sql",
        "-- sluice:no-transaction\nCREATE INDEX CONCURRENTLY t_id_idx ON t (id);\nALTER TABLE t ADD COLUMN x int REFERENCES missing_table (id);\nCREATE TABLE after_it (id int);\n",
    );
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert!(out.stderr.contains("2_idx.up.sql:3 (statement 2 of 3)"), "{}", out.stderr);
    assert!(out.stderr.contains("missing_table"), "{}", out.stderr);
    assert!(out.stderr.contains("sluice resolve 2"), "{}", out.stderr);
    // Statement 1 stays done; the ledger says where it stopped.
    let idx: i64 = c
        .query_one("SELECT count(*) FROM pg_indexes WHERE indexname = 't_id_idx'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(idx, 1);
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(j["migrations"][1]["state"], "failed");
    assert_eq!(j["migrations"][1]["failed_at_statement"], 2);

    // Nothing else runs until it is resolved.
    p.write("3_more.up.sql", "SELECT 3;\n");
    let refused = p.sluice(&["apply"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("resolve"), "{}", refused.stderr);

    // Fix the file and retry: it resumes at statement 2 (statement 1 would fail if re-run).
    p.write(
        "2_idx.up.sql",
        "-- sluice:no-transaction\nCREATE INDEX CONCURRENTLY t_id_idx ON t (id);\nALTER TABLE t ADD COLUMN x int;\nCREATE TABLE after_it (id int);\n",
    );
    let retried = p.sluice(&["resolve", "2", "--retry"]);
    assert_eq!(retried.code, 0, "{}{}", retried.stdout, retried.stderr);
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(j["migrations"][1]["state"], "applied");
    let runs: i64 = c
        .query_one(
            "SELECT count(*) FROM sluice.runs WHERE action = 'resolve' AND outcome = 'done'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(runs, 1);
    assert_eq!(p.sluice(&["apply"]).code, 0);
}

#[tokio::test]
async fn resolve_can_mark_applied_or_rolled_back() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "-- sluice:no-transaction\nCREATE TABLE a (id int);\nSELECT 1/0;\n");
    p.write("2_b.up.sql", "-- sluice:no-transaction\nCREATE TABLE b (id int);\nSELECT 1/0;\n");
    assert_eq!(p.sluice(&["apply", "--to", "1"]).code, 3);
    let not_failed = p.sluice(&["resolve", "2", "--mark-applied"]);
    assert_eq!(not_failed.code, 2, "{}", not_failed.stderr);
    assert_eq!(p.sluice(&["resolve", "1", "--mark-applied"]).code, 0);
    assert_eq!(p.sluice(&["apply"]).code, 3);
    assert_eq!(p.sluice(&["resolve", "2", "--mark-rolled-back"]).code, 0);
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(j["migrations"][0]["state"], "applied");
    assert_eq!(j["migrations"][1]["state"], "pending");
    // Without a resolution it only shows what is failed: nothing is now.
    let shown = p.sluice(&["resolve", "2"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(shown.stdout.contains("no migration is marked failed"), "{}", shown.stdout);
}

#[tokio::test]
async fn production_needs_the_confirmation() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "production", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    p.write("1_a.down.sql", "DROP TABLE a;\n");
    let refused = p.sluice(&["apply"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("--confirm dev"), "{}", refused.stderr);
    let wrong = p.sluice(&["apply", "--confirm", "prod"]);
    assert_eq!(wrong.code, 1);
    let c = db.client().await;
    let ledger: bool =
        c.query_one("SELECT to_regclass('sluice.history') IS NULL", &[]).await.unwrap().get(0);
    assert!(ledger, "a refused run touches nothing");
    assert_eq!(p.sluice(&["apply", "--confirm", "dev"]).code, 0);
    assert_eq!(p.sluice(&["rollback", "--steps", "1"]).code, 1);
    assert_eq!(p.sluice(&["rollback", "--steps", "1", "--confirm", "dev"]).code, 0);
    // A dry run changes nothing and needs no confirmation.
    assert_eq!(p.sluice(&["apply", "--dry-run"]).code, 0);
}

#[tokio::test]
async fn dry_run_rehearses_and_rolls_back() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write(
        "1_a.up.sql",
        "CREATE TABLE a (id int);\nINSERT INTO a SELECT generate_series(1, 25);\n",
    );
    p.write("2_b.up.sql", "-- sluice:no-transaction\nCREATE INDEX CONCURRENTLY a_idx ON a (id);\n");
    let out = p.sluice(&["apply", "--dry-run", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = out.json();
    assert_eq!(r["outcome"], "rehearsed");
    assert_eq!(r["migrations"][0]["statements"][1]["rows"], 25);
    assert_eq!(r["migrations"][0]["statements"][1]["line"], 2);
    assert_eq!(r["migrations"][1]["rehearsed"], false);
    let gone: bool =
        c.query_one("SELECT to_regclass('public.a') IS NULL", &[]).await.unwrap().get(0);
    assert!(gone, "the dry run rolled back");
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(j["migrations"][0]["state"], "pending");
}

#[tokio::test]
async fn lock_timeout_retries_then_names_the_blocker() {
    let db = fresh_db().await;
    let p = TestProject::new(
        &db,
        "development",
        "lock_timeout = \"150ms\"\nlock_retries = 2\nlock_retry_backoff = \"50ms\"",
    );
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    p.write("2_b.up.sql", "ALTER TABLE a ADD COLUMN note text;\n");
    assert_eq!(p.sluice(&["apply", "--to", "1"]).code, 0);

    // The blocker is busy (active, young transaction), so the pre-checks let the run start
    // and the lock timeout is what stops it.
    let blocker = std::sync::Arc::new(db.client().await);
    blocker
        .batch_execute("SET application_name = 'etl-job'; BEGIN; LOCK TABLE a IN ACCESS SHARE MODE")
        .await
        .unwrap();
    let blocker_pid: i32 = blocker.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    let busy = {
        let b = blocker.clone();
        tokio::spawn(async move { b.batch_execute("SELECT pg_sleep(4)").await })
    };

    let project = p.project();
    let env = project.environment(Some("dev")).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let report =
        exec::apply(&project, env, &ApplyOptions::default(), Control::events(tx)).await.unwrap();
    let mut timeouts = 0;
    let mut waited_on = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        match ev {
            Event::LockTimeout { .. } => timeouts += 1,
            Event::Waiting { blockers, .. } => waited_on.extend(blockers.iter().map(|b| b.pid)),
            _ => {}
        }
    }
    assert_eq!(timeouts, 2, "two retries before giving up");
    assert!(waited_on.contains(&blocker_pid), "the watcher saw pid {blocker_pid}: {waited_on:?}");
    let err = report.error.expect("apply fails");
    assert_eq!(err.exit_code, 3);
    assert!(err.message.contains("lock timeout"), "{}", err.message);
    assert!(err.message.contains(&format!("pid {blocker_pid}")), "{}", err.message);
    assert!(err.message.contains("etl-job"), "{}", err.message);
    assert!(err.message.contains("3 attempts"), "{}", err.message);
    assert_eq!(err.blockers[0].pid, blocker_pid);

    // Once the blocker lets go, the same apply goes through.
    busy.await.unwrap().unwrap();
    blocker.batch_execute("COMMIT").await.unwrap();
    let report =
        exec::apply(&project, env, &ApplyOptions::default(), Control::default()).await.unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
}

#[tokio::test]
async fn killed_connection_leaves_ledger_and_schema_consistent() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    p.write(
        "2_b.up.sql",
        "CREATE TABLE b (id int);\nSELECT pg_sleep(1.5);\nCREATE TABLE b2 (id int);\n",
    );
    let root = p.root().to_path_buf();
    let child = std::thread::spawn(move || crate::support::run_sluice(&root, &["apply"]));
    // Kill sluice's backend while it sleeps inside migration 2.
    let mut killed = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let n: i64 = c
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE datname = current_database() AND application_name LIKE 'sluice/%' AND query LIKE '%pg_sleep%' AND state = 'active'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if n > 0 {
            killed = true;
            break;
        }
    }
    assert!(killed, "saw the migration running");
    let out = child.join().unwrap();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("2_b.up.sql"), "{}", out.stderr);
    let b_exists: bool =
        c.query_one("SELECT to_regclass('public.b') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(!b_exists, "the half-run migration was rolled back");
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(j["migrations"][0]["state"], "applied");
    assert_eq!(j["migrations"][1]["state"], "pending");
    let again = p.sluice(&["apply"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let b2: bool =
        c.query_one("SELECT to_regclass('public.b2') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(b2);
}

#[tokio::test]
async fn migrations_start_from_session_defaults() {
    let db = fresh_db().await;
    let c = db.client().await;
    c.batch_execute("CREATE SCHEMA other").await.unwrap();
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "SET search_path = other;\nCREATE TABLE in_other (id int);\n");
    p.write("2_b.up.sql", "CREATE TABLE in_public (id int);\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    let ok: bool = c
        .query_one("SELECT to_regclass('other.in_other') IS NOT NULL AND to_regclass('public.in_public') IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert!(ok, "a SET in one migration does not leak into the next");
}

#[tokio::test]
async fn interrupt_cancels_the_running_statement_and_stops_the_run() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\nSELECT pg_sleep(20);\n");
    p.write("2_b.up.sql", "CREATE TABLE b (id int);\n");
    let project = p.project();
    let env = project.environment(None).unwrap();
    let interrupt = exec::Interrupt::new();
    let ctl = Control { events: None, interrupt: Some(interrupt.clone()), fleet: None };
    let started = std::time::Instant::now();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        interrupt.cancel().await
    });
    let report = exec::apply(&project, env, &ApplyOptions::default(), ctl).await.unwrap();
    canceller.await.unwrap().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "cancelled, not waited out");
    assert_eq!(report.outcome, "cancelled");
    let err = report.error.unwrap();
    assert_eq!(err.exit_code, 1);
    assert!(
        err.message.contains("cancelled by the operator") && err.message.contains("1_a.up.sql:2"),
        "{}",
        err.message
    );
    let none: bool = c
        .query_one(
            "SELECT to_regclass('public.a') IS NULL AND to_regclass('public.b') IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(none, "the cancelled migration rolled back and the next never started");
    let outcome: String = c.query_one("SELECT outcome FROM sluice.runs", &[]).await.unwrap().get(0);
    assert_eq!(outcome, "cancelled");
}

#[tokio::test]
async fn ctrl_c_in_the_cli_cancels_cleanly() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "SELECT pg_sleep(20);\n");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["--project", p.root().to_str().unwrap(), "apply"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let c = db.client().await;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        let running: i64 = c
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(20)%' AND state = 'active' AND pid <> pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        if running > 0 {
            break;
        }
    }
    // SAFETY: signals our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(started.elapsed() < Duration::from_secs(10), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cancelled by the operator"), "{stderr}");
    let still: i64 = c
        .query_one("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(20)%' AND state = 'active' AND pid <> pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(still, 0, "nothing left running on the server");
}

#[tokio::test]
async fn precheck_names_an_idle_in_transaction_session_on_a_touched_table() {
    let db = fresh_db().await;
    let (p, blocker, pid) = crate::support::project_with_idle_blocker(&db, "report-job").await;
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(&format!("pid {pid}"))
            && out.stderr.contains("report-job")
            && out.stderr.contains("on a"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("✗ blocking sessions"), "{}", out.stdout);
    blocker.batch_execute("COMMIT").await.unwrap();
    assert_eq!(p.sluice(&["apply"]).code, 0);
}

#[tokio::test]
async fn outside_the_maintenance_window_needs_a_recorded_reason() {
    let db = fresh_db().await;
    let c = db.client().await;
    // A window that is never now: one minute, on the day after today, at the current minute.
    let (day, minute) = sluice::core::guard::precheck::now_utc_day_minute();
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let end = (minute + 1) % (24 * 60);
    let window = format!(
        "maintenance_window = {{ days = [\"{}\"], start = \"{:02}:{:02}\", end = \"{:02}:{:02}\" }}",
        DAYS[(day as usize + 1) % 7],
        minute / 60,
        minute % 60,
        end / 60,
        end % 60
    );
    let p = TestProject::new(&db, "development", &window);
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("outside the window") && out.stderr.contains("--override-window"),
        "{}",
        out.stderr
    );
    let out = p.sluice(&["apply", "--override-window", "CHG-7 emergency fix"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let reason: String = c
        .query_one(
            "SELECT details->>'window_override' FROM sluice.runs WHERE outcome = 'done'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(reason, "CHG-7 emergency fix");
}
