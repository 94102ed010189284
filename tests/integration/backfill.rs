//! Batched, resumable backfills (`-- sluice:batch rows=N pause=D`) on the real server:
//! every row the statement selects is touched once, batch by batch in its own transaction,
//! and a run killed mid-way resumes from its checkpoint.

use std::time::Duration;

use crate::support::{fresh_db, TestDb, TestProject};

async fn accounts(db: &TestDb, n: i32) {
    db.client()
        .await
        .batch_execute(&format!(
            "CREATE TABLE accounts (id int PRIMARY KEY, plan text, touched int NOT NULL DEFAULT 0); \
             INSERT INTO accounts (id, plan) SELECT g, CASE WHEN g % 2 = 0 THEN 'paid' END \
               FROM generate_series(1, {n}) g; ANALYZE accounts"
        ))
        .await
        .unwrap();
}

const BACKFILL: &str = "-- sluice:no-transaction\n-- sluice:batch rows=500 pause=0ms\n\
    UPDATE accounts SET plan = 'free', touched = touched + 1 WHERE plan IS NULL;\n";

/// (rows touched once, rows touched more than once, rows still without a plan).
async fn touched(db: &TestDb) -> (i64, i64, i64) {
    let r = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FILTER (WHERE touched = 1), count(*) FILTER (WHERE touched > 1), \
             count(*) FILTER (WHERE plan IS NULL) FROM accounts",
            &[],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1), r.get(2))
}

#[tokio::test]
async fn a_backfill_runs_in_batches_each_its_own_transaction_touching_each_row_once() {
    let db = fresh_db().await;
    accounts(&db, 10_000).await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_plans.up.sql", BACKFILL);
    let out = p.sluice(&["apply", "--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(touched(&db).await, (5000, 0, 0));
    let c = db.client().await;
    // Each batch committed on its own: the changed rows carry 10 different transaction ids.
    let xids: i64 = c
        .query_one("SELECT count(DISTINCT xmin::text) FROM accounts WHERE touched = 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(xids, 20, "5000 rows in batches of 500 keys, half of them selected");
    let r = c
        .query_one("SELECT rows_done, keys_done, batches, last_key FROM sluice.backfills", &[])
        .await
        .unwrap();
    let (rows, keys, batches, last): (i64, i64, i32, Vec<String>) =
        (r.get(0), r.get(1), r.get(2), r.get(3));
    assert_eq!((rows, keys, batches, last), (5000, 10_000, 20, vec!["10000".to_string()]));
    let rows = &out.json()["migrations"][0]["statements"][0]["rows"];
    assert_eq!(rows, 5000, "{}", out.stdout);
}

#[tokio::test]
async fn a_composite_key_and_a_delete_with_using_are_batched() {
    let db = fresh_db().await;
    db.client()
        .await
        .batch_execute(
            "CREATE TABLE events (tenant int, seq int, kind text, PRIMARY KEY (tenant, seq)); \
             INSERT INTO events SELECT t, s, CASE WHEN s % 3 = 0 THEN 'old' ELSE 'new' END \
               FROM generate_series(1, 7) t, generate_series(1, 300) s; \
             CREATE TABLE gone (kind text); INSERT INTO gone VALUES ('old')",
        )
        .await
        .unwrap();
    let p = TestProject::new(&db, "development", "");
    p.write(
        "1_prune.up.sql",
        "-- sluice:no-transaction\n-- sluice:batch rows=250\nDELETE FROM events e USING gone g WHERE e.kind = g.kind;\n",
    );
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let c = db.client().await;
    let left: i64 = c.query_one("SELECT count(*) FROM events", &[]).await.unwrap().get(0);
    let old: i64 =
        c.query_one("SELECT count(*) FROM events WHERE kind = 'old'", &[]).await.unwrap().get(0);
    assert_eq!((left, old), (1400, 0));
    let last: Vec<String> =
        c.query_one("SELECT last_key FROM sluice.backfills", &[]).await.unwrap().get(0);
    assert_eq!(last, ["7", "300"]);
}

#[tokio::test]
async fn what_cannot_be_batched_is_refused_naming_the_file_and_line() {
    let db = fresh_db().await;
    accounts(&db, 10).await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "-- sluice:batch rows=5\nUPDATE accounts SET plan = 'x';\n");
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("1_a.up.sql:2") && out.stderr.contains("batch by batch"),
        "{}",
        out.stderr
    );
    p.write(
        "1_a.up.sql",
        "-- sluice:no-transaction\n-- sluice:batch rows=5\nINSERT INTO accounts (id) VALUES (99);\n",
    );
    let out = p.sluice(&["lint"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains("applies to an UPDATE or a DELETE"), "{said}");
    // A table without a primary key: the run fails there, naming it; nothing changed.
    db.client().await.batch_execute("CREATE TABLE loose (x int)").await.unwrap();
    p.write(
        "1_a.up.sql",
        "-- sluice:no-transaction\n-- sluice:batch rows=5\nUPDATE loose SET x = 1 WHERE x IS NULL;\n",
    );
    let out = p.sluice(&["apply"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("loose is not there or has no primary key"), "{}", out.stderr);
}

/// Killed at several points and resumed by rerunning `apply` (or `resolve --retry`): every
/// row selected is touched exactly once.
#[tokio::test]
async fn a_backfill_killed_mid_way_resumes_from_its_checkpoint() {
    for (seed, after_ms) in [(1, 300u64), (2, 700), (3, 1200)] {
        let db = fresh_db().await;
        accounts(&db, 20_000).await;
        let p = TestProject::new(&db, "development", "");
        p.write("1_plans.up.sql", &BACKFILL.replace("rows=500 pause=0ms", "rows=200 pause=20ms"));
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["--project", p.root().to_str().unwrap(), "apply"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(after_ms)).await;
        child.kill().unwrap();
        child.wait().unwrap();
        let (once, twice, left) = touched(&db).await;
        assert_eq!(twice, 0, "seed {seed}");
        assert!(left > 0 && once > 0, "seed {seed}: killed mid-way ({once} done, {left} left)");
        // The killed session goes once the server notices (client_connection_check_interval).
        let again: &[&str] = if seed == 2 { &["resolve", "--retry"] } else { &["apply"] };
        let mut out = p.sluice(again);
        for _ in 0..40 {
            if out.code == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            out = p.sluice(again);
        }
        assert_eq!(out.code, 0, "seed {seed}: {}\n{}", out.stdout, out.stderr);
        assert_eq!(touched(&db).await, (10_000, 0, 0), "seed {seed}");
    }
}
