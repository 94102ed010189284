use crate::support::{fresh_db, run_sluice, TestProject};
use std::time::Duration;

#[tokio::test]
async fn a_second_runner_is_refused_and_told_who_holds_the_ledger() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_slow.up.sql", "CREATE TABLE a (id int);\nSELECT pg_sleep(3);\n");
    let root = p.root().to_path_buf();
    let first = std::thread::spawn(move || run_sluice(&root, &["apply"]));
    // Wait until the first run holds the ledger lock and has written its run's row (the
    // refusal names the operator from it; under load the two are milliseconds apart).
    let mut holder_pid = None;
    for _ in 0..250 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let has_runs = "SELECT to_regclass('sluice.runs') IS NOT NULL";
        if !c.query_one(has_runs, &[]).await.unwrap().get::<_, bool>(0) {
            continue;
        }
        let running = "SELECT count(*) FROM sluice.runs WHERE outcome = 'running'";
        if c.query_one(running, &[]).await.unwrap().get::<_, i64>(0) == 0 {
            continue;
        }
        let row = c
            .query_opt(
                "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                 WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'sluice/%'
                   AND a.datname = current_database()",
                &[],
            )
            .await
            .unwrap();
        if let Some(r) = row {
            holder_pid = Some(r.get::<_, i32>(0));
            break;
        }
    }
    let holder_pid = holder_pid.expect("first run took the lock");
    let second = p.sluice(&["apply", "--format", "json"]);
    assert_eq!(second.code, 1, "{}", second.stderr);
    let err = second.json();
    let msg = err["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains(&format!("pid {holder_pid}")), "{msg}");
    assert!(msg.contains("sluice/"), "{msg}");
    assert!(msg.contains("operator tester"), "{msg}");
    let first = first.join().unwrap();
    assert_eq!(first.code, 0, "{}", first.stderr);
    // The lock went with the first run.
    assert_eq!(p.sluice(&["apply"]).code, 0);
}

/// Ten `sluice apply` processes at once: exactly one applies, nine are refused naming the
/// holder, a rollback meanwhile is refused too, and the ledger holds each migration once.
#[tokio::test]
async fn ten_concurrent_applies_one_wins_and_a_rollback_meanwhile_is_refused() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    p.write("1_a.down.sql", "DROP TABLE a;\n");
    p.write("2_slow.up.sql", "CREATE TABLE b (id int);\nSELECT pg_sleep(2);\n");
    p.write("2_slow.down.sql", "DROP TABLE b;\n");
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(10));
    let runs: Vec<_> = (0..10)
        .map(|_| {
            let root = p.root().to_path_buf();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                run_sluice(&root, &["apply", "--format", "json"])
            })
        })
        .collect();
    // While the winner sleeps in migration 2, a rollback is refused.
    let sleeping = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                    AND state = 'active' AND query LIKE '%pg_sleep(2)%' AND pid <> pg_backend_pid()";
    let mut in_2 = false;
    for _ in 0..500 {
        if c.query_one(sleeping, &[]).await.unwrap().get::<_, i64>(0) > 0 {
            in_2 = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(in_2, "the winner reached migration 2");
    let rollback = p.sluice(&["rollback", "--steps", "1", "--format", "json"]);
    let outs: Vec<_> = runs.into_iter().map(|t| t.join().unwrap()).collect();
    let won: Vec<_> = outs.iter().filter(|o| o.code == 0).collect();
    assert_eq!(
        won.len(),
        1,
        "exactly one applies: {:?}",
        outs.iter().map(|o| o.code).collect::<Vec<_>>()
    );
    assert_eq!(won[0].json()["migrations"].as_array().unwrap().len(), 2);
    for o in outs.iter().filter(|o| o.code != 0) {
        assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
        let msg = o.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(
            msg.contains("locked by another sluice run: pid ") && msg.contains("sluice/"),
            "{msg}"
        );
    }
    assert_eq!(rollback.code, 1, "{}{}", rollback.stdout, rollback.stderr);
    assert!(rollback.json()["error"]["message"].as_str().unwrap().contains("pid "));
    let rows: Vec<(String, i64)> = c
        .query(
            "SELECT version, count(*) FROM sluice.history GROUP BY version ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(rows, [("1".to_string(), 1), ("2".to_string(), 1)]);
    eprintln!("[figure] race_runs=11");
}

/// The ledger lock is a session lock: a sluice killed with SIGKILL mid-run leaves nothing
/// held once its connection is gone, and the next run proceeds.
#[tokio::test]
async fn a_killed_runner_leaves_no_lock_behind() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_slow.up.sql", "CREATE TABLE a (id int);\nSELECT pg_sleep(1.5);\n");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["--project", p.root().to_str().unwrap(), "apply"])
        .env("SLUICE_DATA_DIR", p.root().join(".sluice-data"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let held = "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND a.datname = current_database()";
    let mut seen = false;
    for _ in 0..250 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if c.query_one(held, &[]).await.unwrap().get::<_, i64>(0) > 0 {
            seen = true;
            break;
        }
    }
    assert!(seen, "the run took the lock");
    child.kill().unwrap(); // SIGKILL: no chance to unlock
    child.wait().unwrap();
    // The server notices the dead client when pg_sleep returns; the lock goes with it.
    let mut released = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if c.query_one(held, &[]).await.unwrap().get::<_, i64>(0) == 0 {
            released = true;
            break;
        }
    }
    assert!(released, "the advisory lock died with the connection");
    let status = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(
        status["migrations"][0]["state"], "pending",
        "the transaction rolled back: {status}"
    );
    let again = p.sluice(&["apply"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    eprintln!("[figure] faults_injected=1");
}
