//! Transactional migrations travel back to back (`migration/ahead`): while one runs, the
//! strings of the next ones are already sent. Checked on the server: whatever way a
//! migration fails (a statement, its COMMIT, the server's parser refusing its string), none
//! of those sent behind it runs, and a rerun carries on from it.

use crate::support::{fresh_db, TestProject};

async fn exists(c: &tokio_postgres::Client, table: &str) -> bool {
    c.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table]).await.unwrap().get(0)
}

/// Six migrations, each creating its table; the third is `third`.
fn six(p: &TestProject, third: &str) {
    for i in 1..=6 {
        let body = if i == 3 {
            third.to_string()
        } else {
            format!("CREATE TABLE t{i} (id int);\nINSERT INTO t{i} VALUES ({i});\n")
        };
        p.write(&format!("{i}_m{i}.up.sql"), &body);
    }
}

/// What the failure left: the first two applied and their tables there, nothing of the
/// third or of the three sent behind it; then the third fixed, a rerun applies the rest.
async fn check_stopped_at_third(p: &TestProject, c: &tokio_postgres::Client, what: &str) {
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 3, "{what}: {}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("3_m3.up.sql"), "{what}: {}", out.stderr);
    for i in 1..=2 {
        assert!(exists(c, &format!("t{i}")).await, "{what}: t{i} was applied");
    }
    for i in 3..=6 {
        assert!(!exists(c, &format!("t{i}")).await, "{what}: nothing of migration {i} ran");
    }
    let rows: i64 =
        c.query_one("SELECT count(*) FROM sluice.history WHERE success", &[]).await.unwrap().get(0);
    assert_eq!(rows, 2, "{what}: the ledger holds the two that committed");
    let j = p.sluice(&["status", "--format", "json"]).json();
    let states: Vec<&str> =
        j["migrations"].as_array().unwrap().iter().map(|m| m["state"].as_str().unwrap()).collect();
    assert_eq!(&states[..2], ["applied", "applied"], "{what}: {j}");
    assert!(states[3..].iter().all(|s| *s == "pending"), "{what}: {j}");

    p.write("3_m3.up.sql", "CREATE TABLE t3 (id int);\n");
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 0, "{what}: {}{}", out.stdout, out.stderr);
    for i in 1..=6 {
        assert!(exists(c, &format!("t{i}")).await, "{what}: t{i} after the rerun");
    }
}

#[tokio::test]
async fn a_statement_that_fails_stops_the_migrations_sent_behind_it() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    six(&p, "CREATE TABLE t3 (id int);\nSELECT 1 / 0;\n");
    check_stopped_at_third(&p, &c, "division by zero").await;
}

/// A deferred foreign key fails at COMMIT: the transaction is gone, no aborted block stops
/// the strings behind it, so only their guard does.
#[tokio::test]
async fn a_commit_that_fails_stops_the_migrations_sent_behind_it() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    six(
        &p,
        "CREATE TABLE t3 (id int);\n\
         CREATE TABLE p3 (id int PRIMARY KEY);\n\
         CREATE TABLE c3 (p int REFERENCES p3 DEFERRABLE INITIALLY DEFERRED);\n\
         INSERT INTO c3 VALUES (1);\n",
    );
    check_stopped_at_third(&p, &c, "deferred key").await;
    assert!(!exists(&c, "p3").await);
}

/// `IS JSON` is PostgreSQL 16 grammar: the 15 server refuses the whole string, so nothing
/// of it runs and no transaction is open: again only the guard stops the ones behind.
#[tokio::test]
async fn a_string_the_server_refuses_stops_the_migrations_sent_behind_it() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    six(&p, "CREATE TABLE t3 (id int);\nSELECT '{}' IS JSON;\n");
    check_stopped_at_third(&p, &c, "refused string").await;
}
