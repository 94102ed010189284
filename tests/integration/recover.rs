//! Recovery of a no-transaction migration that failed half way: what `sluice resolve` shows,
//! the compensating SQL it runs, and a retry that clears the INVALID index a failed
//! CONCURRENTLY build left behind.

use crate::support::{catalog, fresh_db, TestProject};

const HALF_WAY: &str = "-- sluice:no-transaction
CREATE TABLE c1 (id int, v text);
CREATE INDEX CONCURRENTLY c1_id_idx ON c1 (id);
UPDATE dups SET note = 'touched' WHERE note = '';
CREATE UNIQUE INDEX CONCURRENTLY dups_v_key ON dups (v);
CREATE TABLE never_made (id int);
";

async fn failed_half_way(p: &TestProject, c: &tokio_postgres::Client) -> Vec<String> {
    p.write(
        "1_dups.up.sql",
        "CREATE TABLE dups (v int, note text);\nINSERT INTO dups VALUES (1, ''), (1, '');\n",
    );
    p.write("1_dups.down.sql", "DROP TABLE dups;\n");
    assert_eq!(p.sluice(&["apply", "--to", "1"]).code, 0);
    let before = catalog(c).await;
    p.write("2_half.up.sql", HALF_WAY);
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("statement 4 of 5"), "{}", out.stderr);
    before
}

#[tokio::test]
async fn resolve_shows_what_ran_what_failed_and_the_compensating_sql() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    failed_half_way(&p, &c).await;

    let out = p.sluice(&["resolve", "--format", "json"]);
    assert_eq!(out.code, 1, "a failed migration is something to act on: {}", out.stderr);
    let j = out.json();
    let r = &j["failed"][0];
    assert_eq!(r["version"], "2");
    assert_eq!(r["failed_at"], 4);
    assert!(r["error"].as_str().unwrap().contains("could not create unique index"), "{r}");
    let reached: Vec<&str> = r["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reached"].as_str().unwrap())
        .collect();
    assert_eq!(reached, ["done", "done", "done", "failed", "not-run"]);
    assert_eq!(r["invalid_index"], "dups_v_key");
    assert_eq!(
        r["compensating"],
        serde_json::json!([
            "DROP INDEX CONCURRENTLY IF EXISTS dups_v_key",
            "DROP INDEX CONCURRENTLY IF EXISTS c1_id_idx",
            "DROP TABLE IF EXISTS c1"
        ])
    );
    assert_eq!(r["by_hand"], serde_json::json!([3]), "an UPDATE has no automatic inverse");
    let text = p.sluice(&["resolve"]);
    assert!(text.stdout.contains("✗ failed    4 (line 5) CREATE UNIQUE INDEX"), "{}", text.stdout);
    assert!(text.stdout.contains("INVALID index dups_v_key"), "{}", text.stdout);
}

#[tokio::test]
async fn mark_rolled_back_with_compensate_undoes_what_ran_and_is_recorded() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    let before = failed_half_way(&p, &c).await;

    // Statement 3 (an UPDATE) cannot be undone automatically: without a reason, refused.
    let refused = p.sluice(&["resolve", "2", "--mark-rolled-back", "--compensate"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("statement(s) 3 ran and cannot be undone"),
        "{}",
        refused.stderr
    );
    assert_ne!(catalog(&c).await, before, "a refused resolve changes nothing");

    let done = p.sluice(&[
        "resolve",
        "2",
        "--mark-rolled-back",
        "--compensate",
        "--reason",
        "the note column is scratch; nothing to restore",
        "--format",
        "json",
    ]);
    assert_eq!(done.code, 0, "{}{}", done.stdout, done.stderr);
    let report = done.json();
    assert_eq!(report["compensated"].as_array().unwrap().len(), 3, "{report}");
    assert_eq!(report["overrides"][0]["guard"], "resolve mark-rolled-back");
    assert_eq!(catalog(&c).await, before, "the compensating SQL left the catalog as it was");
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(j["migrations"][1]["state"], "pending");
    let md = p.sluice(&["runs", "show", report["run_id"].as_str().unwrap()]);
    assert!(md.stdout.contains("DROP TABLE IF EXISTS c1"), "{}", md.stdout);
    assert!(md.stdout.contains("nothing to restore"), "{}", md.stdout);
}

#[tokio::test]
async fn retry_drops_the_invalid_index_and_refuses_a_changed_earlier_statement() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    failed_half_way(&p, &c).await;
    c.batch_execute("DELETE FROM dups WHERE ctid = (SELECT min(ctid) FROM dups)").await.unwrap();

    // Editing a statement that already ran makes a retry meaningless: refused.
    p.write("2_half.up.sql", &HALF_WAY.replace("c1 (id)", "c1 (id, v)"));
    let refused = p.sluice(&["resolve", "2", "--retry"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("statement 2 of the file changed"), "{}", refused.stderr);

    p.write("2_half.up.sql", HALF_WAY);
    let out = p.sluice(&["resolve", "2", "--retry", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.json()["compensated"],
        serde_json::json!(["DROP INDEX CONCURRENTLY IF EXISTS dups_v_key"])
    );
    let valid: bool = c
        .query_one("SELECT indisvalid FROM pg_index WHERE indexrelid = 'dups_v_key'::regclass", &[])
        .await
        .unwrap()
        .get(0);
    assert!(valid, "the retried build is valid");
    let made: bool =
        c.query_one("SELECT to_regclass('never_made') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(made, "the retry ran on past the failed statement");
    assert_eq!(
        p.sluice(&["status", "--format", "json"]).json()["migrations"][1]["state"],
        "applied"
    );
}

/// The window no transaction can close: a CONCURRENTLY build finished, and the process died
/// before the ledger noted it (made here by rewinding the ledger row as the kill would leave
/// it). The catalog tells: resolve calls it completed and a retry continues after it; a
/// statement that ran in a transaction with its ledger note is known not to have run.
#[tokio::test]
async fn an_interrupted_statement_is_judged_from_the_catalog() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write(
        "1_k.up.sql",
        "-- sluice:no-transaction\nCREATE TABLE k (id int);\nCREATE INDEX CONCURRENTLY k_id ON k (id);\nCREATE TABLE k2 (id int);\n",
    );
    assert_eq!(p.sluice(&["apply"]).code, 0);
    c.batch_execute(
        "DROP TABLE k2; UPDATE sluice.history SET success = false, failed_at_statement = 2, error = NULL",
    )
    .await
    .unwrap();
    let r = p.sluice(&["resolve", "--format", "json"]).json();
    let r = &r["failed"][0];
    assert_eq!(r["interrupted"], "completed", "{r}");
    let reached: Vec<&str> = r["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reached"].as_str().unwrap())
        .collect();
    assert_eq!(reached, ["done", "done", "not-run"]);
    assert_eq!(r["retry_statements"], serde_json::json!(["CREATE TABLE k2 (id int)"]));
    let text = p.sluice(&["resolve"]).stdout;
    assert!(text.contains("it completed (the catalog shows its result)"), "{text}");
    assert!(text.contains("runs 1 statement(s) from 3"), "{text}");
    let out = p.sluice(&["resolve", "1", "--retry"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let back: bool = c.query_one("SELECT to_regclass('k2') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(back, "the retry ran statement 3");

    // Statement 3 is transactional: stopped in it means it rolled back with its note.
    c.batch_execute(
        "DROP TABLE k2; UPDATE sluice.history SET success = false, failed_at_statement = 3, error = NULL \
         WHERE id = (SELECT max(id) FROM sluice.history)",
    )
    .await
    .unwrap();
    let r = p.sluice(&["resolve", "--format", "json"]).json();
    assert_eq!(r["failed"][0]["interrupted"], "not-completed", "{r}");
    assert_eq!(r["failed"][0]["retry_statements"], serde_json::json!(["CREATE TABLE k2 (id int)"]));

    // The last statement completed unrecorded: the retry only records the migration.
    p.write(
        "2_k3.up.sql",
        "-- sluice:no-transaction\nCREATE TABLE k4 (id int);\nCREATE INDEX CONCURRENTLY k4_id ON k4 (id);\n",
    );
    assert_eq!(p.sluice(&["resolve", "1", "--retry"]).code, 0);
    assert_eq!(p.sluice(&["apply"]).code, 0);
    c.batch_execute(
        "UPDATE sluice.history SET success = false, failed_at_statement = 2, error = NULL \
         WHERE id = (SELECT max(id) FROM sluice.history)",
    )
    .await
    .unwrap();
    let out = p.sluice(&["resolve"]);
    assert!(
        out.stdout.contains("every statement ran: it records the migration applied"),
        "{}",
        out.stdout
    );
    let out = p.sluice(&["resolve", "2", "--retry"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(j["migrations"][1]["state"], "applied", "{j}");
}
