//! A migration goes to the server as one query string (`migration/batch`): what the
//! server's answers must still tell, checked on the server: which statement failed (also
//! when its parser refuses the string and nothing runs), each statement's own duration,
//! which statement waits for a lock, and lock retries of a no-transaction migration.

use sluice::core::exec::{self, ApplyOptions, Control};
use sluice::core::record::report::Event;

use crate::support::{fresh_db, TestProject};

async fn exists(c: &tokio_postgres::Client, table: &str) -> bool {
    c.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table]).await.unwrap().get(0)
}

/// `IS JSON` is PostgreSQL 16 grammar: sluice's parser (libpg_query) splits the file, the
/// server's (15) refuses the whole string before anything in it runs.
const REFUSED: &str = "CREATE TABLE a (id int);\nSELECT '{}' IS JSON;\nCREATE TABLE b (id int);\n";

#[tokio::test]
async fn a_string_the_servers_parser_refuses_names_the_statement_and_runs_nothing() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", REFUSED);
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("1_a.up.sql:2 (statement 2 of 3)"), "{}", out.stderr);
    assert!(out.stderr.contains("syntax error"), "{}", out.stderr);
    assert!(!exists(&c, "a").await, "nothing of the migration ran");
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(j["migrations"][0]["state"], "pending", "{j}");
}

#[tokio::test]
async fn a_refused_no_transaction_string_runs_statement_by_statement_up_to_the_bad_one() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", &format!("-- sluice:no-transaction\n{REFUSED}"));
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("1_a.up.sql:3 (statement 2 of 3)"), "{}", out.stderr);
    assert!(exists(&c, "a").await, "the statement before the bad one ran, as alone it would");
    assert!(!exists(&c, "b").await);
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(j["migrations"][0]["state"], "failed", "{j}");
    assert_eq!(j["migrations"][0]["failed_at_statement"], 2, "{j}");
}

#[tokio::test]
async fn each_statement_reports_its_own_duration_by_the_servers_clock() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    let body = "CREATE TABLE {t} (id int);\nSELECT pg_sleep(0.3);\nCREATE TABLE {t}2 (id int);\n";
    p.write("1_t.up.sql", &body.replace("{t}", "t"));
    p.write("2_n.up.sql", &format!("-- sluice:no-transaction\n{}", body.replace("{t}", "n")));
    let j = p.sluice(&["apply", "--format", "json"]).json();
    assert_eq!(j["outcome"], "done", "{j}");
    for m in j["migrations"].as_array().unwrap() {
        let ms: Vec<u64> = m["statements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["duration_ms"].as_u64().unwrap())
            .collect();
        assert_eq!(ms.len(), 3, "{m}");
        assert!(ms[1] >= 300, "the sleep took its 300 ms: {ms:?}");
        assert!(ms[0] < 100 && ms[2] < 100, "the others did not: {ms:?}");
        let rows: Vec<u64> = m["statements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["rows"].as_u64().unwrap())
            .collect();
        assert_eq!(rows, [0, 1, 0], "{m}");
    }
}

/// A session that holds ACCESS SHARE on `held` while it runs a query for `secs` (active,
/// young: the pre-check lets the run start), then commits.
async fn hold(db: &crate::support::TestDb, secs: f64) -> (i32, tokio::task::JoinHandle<()>) {
    let blocker = db.client().await;
    blocker
        .batch_execute(
            "SET application_name = 'report-job'; BEGIN; LOCK TABLE held IN ACCESS SHARE MODE",
        )
        .await
        .unwrap();
    let pid: i32 = blocker.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    let task = tokio::spawn(async move {
        blocker.batch_execute(&format!("SELECT pg_sleep({secs}); COMMIT")).await.unwrap();
    });
    (pid, task)
}

#[tokio::test]
async fn the_watch_names_the_statement_of_the_batch_that_waits() {
    let db = fresh_db().await;
    let c = db.client().await;
    c.batch_execute("CREATE TABLE held (id int)").await.unwrap();
    let p = TestProject::new(&db, "development", "lock_timeout = \"10s\"");
    p.write(
        "1_w.up.sql",
        "CREATE TABLE x (id int);\nCREATE TABLE y (id int);\nALTER TABLE held ADD COLUMN c int;\n",
    );
    let (pid, task) = hold(&db, 1.5).await;
    let project = p.project();
    let env = project.environment(Some("dev")).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let report =
        exec::apply(&project, env, &ApplyOptions::default(), Control::events(tx)).await.unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
    task.await.unwrap();
    let mut waits = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let Event::Waiting { index, blockers, .. } = ev {
            waits.push((index, blockers.iter().map(|b| b.pid).collect::<Vec<_>>()));
        }
    }
    assert!(!waits.is_empty(), "the watch saw the wait");
    assert!(waits.iter().all(|(i, who)| *i == 3 && who.contains(&pid)), "{waits:?}");
    let ms = report.migrations[0].statements[2].duration_ms;
    assert!(ms >= 1000, "the ALTER waited for the lock: {ms} ms");
}

#[tokio::test]
async fn a_no_transaction_batch_retries_the_statement_that_timed_out_from_where_it_stood() {
    let db = fresh_db().await;
    let c = db.client().await;
    c.batch_execute("CREATE TABLE held (id int)").await.unwrap();
    let p = TestProject::new(
        &db,
        "development",
        "lock_timeout = \"150ms\"\nlock_retries = 3\nlock_retry_backoff = \"200ms\"",
    );
    p.write(
        "1_n.up.sql",
        "-- sluice:no-transaction\nCREATE TABLE n1 (id int);\nALTER TABLE held ADD COLUMN c int;\nCREATE TABLE n2 (id int);\n",
    );
    let (_pid, task) = hold(&db, 0.5).await;
    let project = p.project();
    let env = project.environment(Some("dev")).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let report =
        exec::apply(&project, env, &ApplyOptions::default(), Control::events(tx)).await.unwrap();
    task.await.unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
    let mut timeouts = 0;
    while let Ok(ev) = rx.try_recv() {
        timeouts += matches!(ev, Event::LockTimeout { .. }) as usize;
    }
    assert!(timeouts >= 1, "the ALTER timed out at least once before the holder let go");
    let m = &report.migrations[0];
    assert_eq!(m.lock_retries as usize, timeouts);
    let lines: Vec<usize> = m.statements.iter().map(|s| s.line).collect();
    assert_eq!(lines, [2, 3, 4], "each statement ran once: {lines:?}");
    // n1 ran once: a second CREATE TABLE n1 would have failed the run.
    for t in ["n1", "n2"] {
        assert!(exists(&c, t).await, "{t}");
    }
    let has_c: bool = c
        .query_one("SELECT count(*) = 1 FROM pg_attribute WHERE attrelid = 'held'::regclass AND attname = 'c'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(has_c);
}

/// Each migration's statements see its timeouts and the connection check, which travel
/// in its first marker; a session setting one migration makes is gone by the next.
#[tokio::test]
async fn every_migration_runs_with_its_timeouts_and_from_the_session_defaults() {
    let db = fresh_db().await;
    let p =
        TestProject::new(&db, "development", "lock_timeout = \"3s\"\nstatement_timeout = \"40s\"");
    let expect = |n: &str| {
        format!(
            "DO $$ BEGIN
               IF current_setting('lock_timeout') <> '3s' OR current_setting('statement_timeout') <> '40s'
                  OR current_setting('client_connection_check_interval') <> '2s'
                  OR current_setting('search_path') <> '\"$user\", public' THEN
                 RAISE EXCEPTION 'migration {n} runs with lock_timeout %, statement_timeout %, check %, search_path %',
                   current_setting('lock_timeout'), current_setting('statement_timeout'),
                   current_setting('client_connection_check_interval'), current_setting('search_path');
               END IF;
             END $$;\n"
        )
    };
    p.write("1_a.up.sql", &format!("{}SET search_path = pg_catalog;\n", expect("1")));
    p.write("2_b.up.sql", &expect("2"));
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}
