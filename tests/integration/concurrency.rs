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
    // Wait until the first run holds the ledger lock.
    let mut holder_pid = None;
    for _ in 0..250 {
        tokio::time::sleep(Duration::from_millis(20)).await;
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
