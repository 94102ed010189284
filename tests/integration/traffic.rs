//! Protecting the application's traffic while a migration runs. `queue_limit`: a statement
//! waiting for ACCESS EXCLUSIVE behind a long reader makes every later query on the table
//! queue behind it; the sentinel steps out of the queue once anyone has waited there longer
//! than the limit, and tries again later. Checked on the real server, with a control run
//! that shows the queue it prevents.

use std::time::{Duration, Instant};

use crate::support::{fresh_db, TestDb, TestProject};

async fn accounts(db: &TestDb) {
    db.client()
        .await
        .batch_execute(
            "CREATE TABLE accounts (id int PRIMARY KEY, n int NOT NULL DEFAULT 0); \
             INSERT INTO accounts (id) SELECT g FROM generate_series(1, 100) g",
        )
        .await
        .unwrap();
}

/// Waits until sluice's backend waits for a lock.
async fn sluice_waits(db: &TestDb) {
    let c = db.client().await;
    for _ in 0..400 {
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'sluice/%' \
                 AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if n > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("sluice never waited for its lock");
}

/// An update that wants the table while sluice's ALTER is queued: how long it took.
async fn victim(db: &TestDb) -> Duration {
    let c = db.client().await;
    let t = Instant::now();
    c.batch_execute("UPDATE accounts SET n = n + 1 WHERE id = 1").await.unwrap();
    t.elapsed()
}

/// A reader holds ACCESS SHARE for `hold`; sluice applies an ALTER (ACCESS EXCLUSIVE) with
/// `extra` settings; an update arrives while sluice waits. Returns the update's latency and
/// sluice's JSON report.
async fn scenario(extra: &str, hold: Duration) -> (Duration, serde_json::Value) {
    let db = fresh_db().await;
    accounts(&db).await;
    let p = TestProject::new(&db, "development", extra);
    p.write("1_note.up.sql", "ALTER TABLE accounts ADD COLUMN note text;\n");
    // The reader is busy (a report), not idle in a transaction (the pre-checks refuse that).
    let reader = db.client().await;
    let sql = format!(
        "BEGIN; SELECT count(*) FROM accounts; SELECT pg_sleep({}); COMMIT",
        hold.as_secs_f64()
    );
    let release = tokio::spawn(async move { reader.batch_execute(&sql).await.unwrap() });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let root = p.root().to_path_buf();
    let apply = tokio::task::spawn_blocking(move || {
        crate::support::run_sluice(&root, &["apply", "--format", "json"])
    });
    sluice_waits(&db).await;
    let waited = victim(&db).await;
    release.await.unwrap();
    let out = apply.await.unwrap();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let c = db.client().await;
    let has: bool = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns \
             WHERE table_name = 'accounts' AND column_name = 'note')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(has, "the migration applied once the reader was gone");
    (waited, out.json())
}

#[tokio::test]
async fn without_queue_limit_an_update_queues_behind_the_waiting_alter() {
    let hold = Duration::from_secs(3);
    let (waited, report) = scenario("lock_timeout = \"30s\"", hold).await;
    // The server's lock queue: the update (ROW EXCLUSIVE, no conflict with the reader)
    // still waits behind the queued ACCESS EXCLUSIVE until the reader is gone.
    assert!(waited >= Duration::from_secs(2), "the update waited {waited:?}");
    assert_eq!(report["migrations"][0]["lock_retries"], 0, "{report}");
}

#[tokio::test]
async fn queue_limit_steps_out_of_the_queue_and_applies_once_the_reader_is_gone() {
    let hold = Duration::from_secs(3);
    let extra = "lock_timeout = \"30s\"\nqueue_limit = \"50ms\"\nlock_retries = 60\nlock_retry_backoff = \"50ms\"";
    let (waited, report) = scenario(extra, hold).await;
    eprintln!("queue_limit: the update waited {waited:?}; {}", report["migrations"][0]);
    assert!(waited < Duration::from_millis(1500), "the update waited {waited:?}");
    let m = &report["migrations"][0];
    assert!(m["lock_retries"].as_u64().unwrap() >= 1, "{m}");
    assert!(m["queue_victims"].as_u64().unwrap() >= 1, "{m}");
}

/// replay_lag of the standby, in seconds (None: caught up and idle).
async fn replay_lag(c: &tokio_postgres::Client) -> Option<f64> {
    c.query_opt("SELECT extract(epoch FROM replay_lag)::float8 FROM pg_stat_replication", &[])
        .await
        .unwrap()
        .and_then(|r| r.get(0))
}

/// `max_replica_lag` against a real streaming standby (pg_basebackup -R into a second
/// cluster) whose replay is held back 2 s: the pre-check fails while it lags; a backfill
/// stops cleanly when the standby stays behind; once it keeps up, apply carries on and
/// every row is touched once.
#[tokio::test]
async fn max_replica_lag_fails_the_precheck_and_holds_a_backfill_for_a_real_standby() {
    use sluice::core::db::cluster::Cluster;
    let primary = Cluster::start().unwrap();
    primary.psql("postgres", "CREATE DATABASE lag").unwrap();
    let standby = primary.standby(Some("2s")).unwrap();
    let (c, conn) =
        tokio_postgres::connect(&primary.url("lag"), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    c.batch_execute(
        "CREATE TABLE accounts (id int PRIMARY KEY, plan text, touched int NOT NULL DEFAULT 0); \
         INSERT INTO accounts (id) SELECT generate_series(1, 2000); CREATE TABLE ticks (at timestamptz)",
    )
    .await
    .unwrap();
    let p = tempfile::tempdir().unwrap();
    std::fs::create_dir(p.path().join("migrations")).unwrap();
    std::fs::write(
        p.path().join("sluice.toml"),
        format!(
            "[environments.dev]\ntier = \"development\"\nurl = \"{}\"\nmax_replica_lag = \"500ms\"\nreplica_lag_timeout = \"1500ms\"\n",
            primary.url("lag")
        ),
    )
    .unwrap();
    std::fs::write(
        p.path().join("migrations/1_plans.up.sql"),
        "-- sluice:no-transaction\n-- sluice:batch rows=100 pause=300ms\n\
         UPDATE accounts SET plan = 'free', touched = touched + 1 WHERE plan IS NULL;\n",
    )
    .unwrap();
    let sluice = |args: &[&str]| crate::support::run_sluice(p.path(), args);

    // A steady writer: the standby's replay lag shows its 2 s delay.
    let writer = {
        let (w, conn) =
            tokio_postgres::connect(&primary.url("lag"), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        tokio::spawn(async move {
            loop {
                if w.batch_execute("INSERT INTO ticks VALUES (now())").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let t = Instant::now();
    while replay_lag(&c).await.is_none_or(|l| l < 1.0) {
        assert!(t.elapsed() < Duration::from_secs(20), "the standby never showed its lag");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = sluice(&["apply"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("✗ replication") && out.stdout.contains("replica lags"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("more than max_replica_lag = 500ms"), "{}", out.stdout);
    writer.abort();

    // Idle again, the standby catches up; the backfill's own writes then make it lag.
    let t = Instant::now();
    while replay_lag(&c).await.is_some_and(|l| l >= 0.5) {
        assert!(t.elapsed() < Duration::from_secs(30), "the standby never caught up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = sluice(&["apply"]);
    assert_ne!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("standby replica still lags"), "{}", out.stderr);
    assert!(out.stdout.contains("⏸"), "the wait was told: {}", out.stdout);
    let counts = "SELECT count(*) FILTER (WHERE touched = 1), count(*) FILTER (WHERE touched > 1) FROM accounts";
    let r = c.query_one(counts, &[]).await.unwrap();
    let (once, twice): (i64, i64) = (r.get(0), r.get(1));
    assert!(once > 0 && once < 2000 && twice == 0, "stopped part way: {once} {twice}");

    // The standby keeps up now: apply carries the backfill on to the end, each row once.
    standby.psql("postgres", "ALTER SYSTEM SET recovery_min_apply_delay = 0").unwrap();
    standby.psql("postgres", "SELECT pg_reload_conf()").unwrap();
    let t = Instant::now();
    while replay_lag(&c).await.is_some_and(|l| l >= 0.5) {
        assert!(t.elapsed() < Duration::from_secs(30), "the standby never caught up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = sluice(&["apply"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let r = c.query_one(counts, &[]).await.unwrap();
    assert_eq!((r.get::<_, i64>(0), r.get::<_, i64>(1)), (2000, 0));
}
