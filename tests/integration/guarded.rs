//! The guarded run's pieces: dry run with locks and schema diff, snapshots and drift diffs.

use sluice::core::schema;

use crate::support::{fresh_db, TestProject};

#[tokio::test]
async fn dry_run_reports_locks_and_the_schema_diff_and_changes_nothing() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_base.up.sql", "CREATE TABLE orders (id bigint PRIMARY KEY, status text);\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    p.write(
        "2_change.up.sql",
        "ALTER TABLE orders ADD COLUMN note text;\nCREATE INDEX orders_status_idx ON orders (status);\n",
    );
    p.write("3_cic.up.sql", "-- sluice:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_note_idx ON orders (note);\n");
    let before = schema::snapshot(&c, "sluice").await.unwrap();

    let out = p.sluice(&["apply", "--dry-run", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = out.json();
    let stmts = &r["migrations"][0]["statements"];
    assert_eq!(stmts[0]["locks"][0]["relation"], "public.orders");
    assert_eq!(stmts[0]["locks"][0]["mode"], "ACCESS EXCLUSIVE");
    // The index build's SHARE lock is new at statement 2; ACCESS EXCLUSIVE was already held.
    let second: Vec<&str> =
        stmts[1]["locks"].as_array().unwrap().iter().map(|l| l["mode"].as_str().unwrap()).collect();
    assert!(second.contains(&"SHARE"), "{second:?}");
    let summary = r["migrations"][0]["lock_summary"][0].as_str().unwrap();
    assert!(summary.starts_with("ACCESS EXCLUSIVE on public.orders for "), "{summary}");
    let diff = r["schema_diff"].as_str().unwrap();
    assert!(diff.contains("+column public.orders 0003 note text"), "{diff}");
    assert!(diff.contains("+index public.orders_status_idx"), "{diff}");
    let not_rehearsed = &r["migrations"][1];
    assert_eq!(not_rehearsed["rehearsed"], false);
    assert!(
        not_rehearsed["lock_summary"][0]
            .as_str()
            .unwrap()
            .contains("SHARE UPDATE EXCLUSIVE on orders"),
        "{not_rehearsed}"
    );
    let after = schema::snapshot(&c, "sluice").await.unwrap();
    assert_eq!(before, after, "the dry run left the catalog as it was");

    let text = p.sluice(&["apply", "--dry-run"]);
    assert!(text.stdout.contains("lock: ACCESS EXCLUSIVE on public.orders"), "{}", text.stdout);
    assert!(text.stdout.contains("schema diff:"), "{}", text.stdout);
}

#[tokio::test]
async fn drift_made_by_hand_shows_as_a_diff_against_the_last_snapshot() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    assert_eq!(p.sluice(&["diff"]).code, 2, "no snapshot before the first run");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    let clean = p.sluice(&["diff"]);
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    assert!(clean.stdout.contains("no difference"));

    c.batch_execute("ALTER TABLE a ADD COLUMN sneaky text; CREATE INDEX a_id_idx ON a (id);")
        .await
        .unwrap();
    let drift = p.sluice(&["diff"]);
    assert_eq!(drift.code, 1, "drift is a guard-level finding");
    assert!(drift.stdout.contains("+column public.a 0002 sneaky text"), "{}", drift.stdout);
    assert!(drift.stdout.contains("+index public.a_id_idx"), "{}", drift.stdout);
    let j = p.sluice(&["diff", "--format", "json"]).json();
    assert_eq!(j["changed"], true);

    // A migration file edited after it ran: the file against the SQL the ledger kept.
    p.write("1_a.up.sql", "CREATE TABLE a (id bigint);\n");
    let file = p.sluice(&["diff", "1"]);
    assert_eq!(file.code, 0, "{}", file.stderr);
    assert!(
        file.stdout.contains("-CREATE TABLE a (id int);")
            && file.stdout.contains("+CREATE TABLE a (id bigint);"),
        "{}",
        file.stdout
    );
}

#[tokio::test]
async fn a_version_1_ledger_is_upgraded_in_place() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    c.batch_execute("DROP TABLE sluice.snapshots; UPDATE sluice.meta SET ledger_version = 1;")
        .await
        .unwrap();
    p.write("2_b.up.sql", "CREATE TABLE b (id int);\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    let (v, n): (i32, i64) = {
        let r = c
            .query_one("SELECT (SELECT ledger_version FROM sluice.meta), (SELECT count(*) FROM sluice.snapshots)", &[])
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((v, n), (2, 1));
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(j["migrations"][0]["state"], "applied", "history survived the upgrade");
}
