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

async fn successes(c: &tokio_postgres::Client) -> i64 {
    c.query_one("SELECT count(*) FROM sluice.history WHERE success", &[]).await.unwrap().get(0)
}

/// The ledger row goes through a statement prepared on the session. A migration that drops
/// prepared statements (DEALLOCATE ALL in a transaction, DISCARD ALL outside one) must not
/// take the migrations after it down with it: the string after it prepares anew.
#[tokio::test]
async fn migrations_that_drop_prepared_statements_are_recorded_and_so_are_the_next() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    six(&p, "CREATE TABLE t3 (id int);\nDEALLOCATE ALL;\n");
    p.write("7_m7.up.sql", "-- sluice:no-transaction\nDISCARD ALL;\n");
    for i in 8..=10 {
        p.write(&format!("{i}_m{i}.up.sql"), &format!("CREATE TABLE t{i} (id int);\n"));
    }
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(successes(&c).await, 10, "every migration recorded once");
    for i in [1, 2, 3, 4, 5, 6, 8, 9, 10] {
        assert!(exists(&c, &format!("t{i}")).await, "t{i}");
    }
    let j = p.sluice(&["status", "--format", "json"]).json();
    let states = j["migrations"].as_array().unwrap();
    assert!(states.iter().all(|m| m["state"] == "applied"), "{j}");
}

/// A function that deallocates (which sluice cannot see in the migration's text) drops the
/// session's prepared markers and ledger row: the migration rolls back whole and runs again
/// at once with its markers spelled out and its row prepared right before it is written.
/// Both ways: the function in the middle (the next marker is gone) and last (the row is).
#[tokio::test]
async fn a_function_that_drops_the_prepared_statements_runs_its_migration_again_without_them() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_m1.up.sql", "CREATE TABLE t1 (id int);\n");
    p.write(
        "2_m2.up.sql",
        "CREATE FUNCTION drop_all() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'DEALLOCATE ALL'; END $$;\n\
         CREATE TABLE t2 (id int);\n\
         SELECT drop_all();\n\
         INSERT INTO t2 VALUES (2);\n",
    );
    p.write("3_m3.up.sql", "CREATE TABLE t3 (id int);\nSELECT drop_all();\n");
    p.write("4_m4.up.sql", "CREATE TABLE t4 (id int);\nINSERT INTO t4 VALUES (4);\n");
    let out = p.sluice(&["apply", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(successes(&c).await, 4, "each migration recorded once");
    let ran: i64 = c.query_one("SELECT count(*) FROM t2", &[]).await.unwrap().get(0);
    assert_eq!(ran, 1, "migration 2 committed once");
    for t in ["t3", "t4"] {
        assert!(exists(&c, t).await, "{t}");
    }
    let j = out.json();
    let m2 = &j["migrations"][1];
    assert_eq!(m2["statements"].as_array().unwrap().len(), 4, "{m2}");
}

/// What sluice believes runs only outside a transaction block, against the server's answer
/// inside one (SQLSTATE 25001), both ways.
#[tokio::test]
async fn statements_that_need_no_transaction_are_the_ones_the_server_refuses_in_one() {
    let db = fresh_db().await;
    let c = db.client().await;
    c.batch_execute("CREATE TABLE nt (id int)").await.unwrap();
    for sql in [
        "DISCARD ALL",
        "DISCARD PLANS",
        "DISCARD TEMP",
        "VACUUM nt",
        "CREATE INDEX CONCURRENTLY nt_id ON nt (id)",
        "CREATE INDEX nt_id2 ON nt (id)",
        "DEALLOCATE ALL",
    ] {
        let st = sluice::core::data::sql::split(sql).unwrap().remove(0);
        c.batch_execute("BEGIN").await.unwrap();
        let refused = match c.batch_execute(sql).await {
            Ok(()) => false,
            Err(e) => {
                assert_eq!(e.code().map(|c| c.code()), Some("25001"), "{sql}: {e}");
                true
            }
        };
        c.batch_execute("ROLLBACK").await.unwrap();
        assert_eq!(st.needs_no_transaction().is_some(), refused, "{sql}");
    }
}

/// The prepared ledger row carries the session's own fields in its text and only the
/// migration's as parameters: every row written through it, on the server, says who ran
/// which file in which run, with its text, its down file and a duration.
#[tokio::test]
async fn rows_through_the_prepared_statement_carry_the_run_and_the_file() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    six(&p, "CREATE TABLE t3 (id int);\nINSERT INTO t3 VALUES (3);\n");
    p.write("2_m2.down.sql", "DROP TABLE t2;\n");
    let out = p.sluice(&["apply", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let run_id = out.json()["run_id"].as_str().unwrap().to_string();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    let rows = c
        .query(
            "SELECT version, name, up_sql, down_sql, direction, os_user, client_host, run_id, \
             success, failed_at_statement, error, duration_ms, checksum \
             FROM sluice.history ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 6);
    for (k, r) in rows.iter().enumerate() {
        let i = k + 1;
        let text =
            std::fs::read_to_string(p.dir.path().join(format!("migrations/{i}_m{i}.up.sql")));
        assert_eq!(r.get::<_, String>(0), i.to_string());
        assert_eq!(r.get::<_, String>(1), format!("m{i}"));
        assert_eq!(r.get::<_, String>(2), text.unwrap());
        let down: Option<String> = r.get(3);
        assert_eq!(down.as_deref(), (i == 2).then_some("DROP TABLE t2;\n"), "row {i}");
        assert_eq!(r.get::<_, String>(4), "up");
        assert_eq!(r.get::<_, String>(5), "tester");
        assert_eq!(r.get::<_, String>(6), host);
        assert_eq!(r.get::<_, String>(7), run_id);
        assert!(r.get::<_, bool>(8), "row {i} a success");
        assert_eq!(r.get::<_, Option<i32>>(9), None);
        assert_eq!(r.get::<_, Option<String>>(10), None);
        assert!(r.get::<_, Option<i64>>(11).is_some_and(|ms| ms >= 0), "row {i} a duration");
        assert_eq!(r.get::<_, String>(12).len(), 64);
    }
    let j = p.sluice(&["status", "--format", "json"]).json();
    let states = j["migrations"].as_array().unwrap();
    assert!(states.iter().all(|m| m["state"] == "applied"), "checksums agree: {j}");
}
