//! What the console's live view is fed during an apply: statement progress from
//! pg_stat_progress_*, the sessions queued behind our statement, and the operator's answers
//! to a lock timeout (retry now, wait longer).

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::core::exec::{self, ApplyOptions, Control, Interrupt};
use sluice::core::record::report::Event;

use crate::support::{fresh_db, TestProject};

#[tokio::test]
async fn a_long_index_build_reports_its_progress() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    p.write(
        "1_big.up.sql",
        "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 600000) g;\n",
    );
    p.write("2_idx.up.sql", "CREATE INDEX big_h ON big (h);\n");
    assert_eq!(p.sluice(&["apply", "--to", "1"]).code, 0);
    let project = p.project();
    let env = project.environment(Some("dev")).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let opts = ApplyOptions { override_lint: Some("test table".into()), ..Default::default() };
    let report = exec::apply(&project, env, &opts, Control::events(tx)).await.unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
    let mut seen = Vec::new();
    let mut elapsed = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let Event::Progress { version, elapsed_ms, command, .. } = ev {
            assert_eq!(version, "2");
            elapsed.push(elapsed_ms);
            seen.extend(command);
        }
    }
    assert!(!elapsed.is_empty(), "a statement this long is watched");
    assert!(elapsed.windows(2).all(|w| w[0] < w[1]), "{elapsed:?}");
    let c = seen.iter().find(|c| c.command == "CREATE INDEX").unwrap_or_else(|| panic!("{seen:?}"));
    assert!(!c.phase.is_empty() && c.total >= c.done, "{c:?}");
}

#[tokio::test]
async fn sessions_queued_behind_our_statement_are_named() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "lock_timeout = \"4s\"\nlock_retries = 0");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    p.write("2_b.up.sql", "ALTER TABLE a ADD COLUMN note text;\n");
    assert_eq!(p.sluice(&["apply", "--to", "1"]).code, 0);
    // A busy reader holds the table for 2 s; our ALTER waits for it; a second reader that
    // arrives meanwhile queues behind our ALTER: that is the session we block.
    let holder = db.client().await;
    let queued = db.client().await;
    let queued_pid: i32 = queued.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    holder.batch_execute("BEGIN; LOCK TABLE a IN ACCESS SHARE MODE").await.unwrap();
    let hold = tokio::spawn(async move {
        holder.batch_execute("SELECT pg_sleep(2); COMMIT").await.unwrap();
    });
    let reader = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        queued.batch_execute("SET application_name = 'late-reader'; SELECT count(*) FROM a").await
    });
    let project = p.project();
    let env = project.environment(Some("dev")).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let report =
        exec::apply(&project, env, &ApplyOptions::default(), Control::events(tx)).await.unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
    hold.await.unwrap();
    reader.await.unwrap().unwrap();
    let mut blocked = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let Event::Progress { blocking, .. } = ev {
            blocked.extend(blocking);
        }
    }
    let b = blocked.iter().find(|b| b.pid == queued_pid).unwrap_or_else(|| panic!("{blocked:?}"));
    assert_eq!(b.application_name, "late-reader");
    assert!(b.query.contains("count(*) FROM a"), "{b:?}");
}

/// After the first lock timeout the operator says "wait longer": the next try starts at
/// once (not after the 20 s backoff) and waits long enough for the holder to let go.
#[tokio::test]
async fn wait_longer_cuts_the_backoff_and_outwaits_the_holder() {
    for (version, sql) in [
        ("2", "ALTER TABLE a ADD COLUMN note text;\n"),
        ("3", "-- sluice:no-transaction\nALTER TABLE a ADD COLUMN other text;\n"),
    ] {
        let db = fresh_db().await;
        let p = TestProject::new(
            &db,
            "development",
            "lock_timeout = \"200ms\"\nlock_retries = 2\nlock_retry_backoff = \"20s\"",
        );
        p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
        p.write(&format!("{version}_b.up.sql"), sql);
        assert_eq!(p.sluice(&["apply", "--to", "1"]).code, 0);
        let holder = db.client().await;
        holder.batch_execute("BEGIN; LOCK TABLE a IN ACCESS SHARE MODE").await.unwrap();
        let hold = tokio::spawn(async move {
            holder.batch_execute("SELECT pg_sleep(2); COMMIT").await.unwrap();
        });
        let project = p.project();
        let env = project.environment(Some("dev")).unwrap().clone();
        let interrupt = Interrupt::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let ctl = Control { events: Some(tx), interrupt: Some(interrupt.clone()), fleet: None };
        let started = Instant::now();
        let run = tokio::spawn(async move {
            exec::apply(&project, &env, &ApplyOptions::default(), ctl).await.unwrap()
        });
        let mut timeouts = 0;
        while let Some(ev) = rx.recv().await {
            if let Event::LockTimeout { .. } = ev {
                timeouts += 1;
                Arc::clone(&interrupt).wait_longer(10_000);
            }
        }
        let report = run.await.unwrap();
        hold.await.unwrap();
        assert!(report.error.is_none(), "{version}: {:?}", report.error);
        assert_eq!(timeouts, 1, "{version}: the longer wait outlasted the holder");
        assert!(started.elapsed() < Duration::from_secs(10), "{version}: no 20 s backoff");
    }
}
