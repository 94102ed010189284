//! Server-side faults: a backend terminated mid-statement, the server restarted mid-run
//! (`pg_ctl restart -m fast`), the backup's connection dropped, the backup disk full. Each
//! must end in a clear message and exit code, a ledger that matches the catalog, no advisory
//! lock left behind, and a rerun that completes. (pg_dump missing or too old: pipeline.rs.)
//! Each prints a `[figure]` line the reliability script adds up.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sluice::core::db::cluster::Cluster;

use crate::support::{connect, fresh_db, run_sluice, Output, TestProject};

/// Advisory locks held in database `db` (the ledger lock is the only one sluice takes).
async fn advisory_locks(c: &tokio_postgres::Client, db: &str) -> i64 {
    c.query_one(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
         WHERE l.locktype = 'advisory' AND d.datname = $1",
        &[&db],
    )
    .await
    .unwrap()
    .get(0)
}

/// Waits (up to 30 s) until a session of `db` runs a query matching `like` (`%` wildcards).
async fn wait_active(c: &tokio_postgres::Client, db: &str, like: &str) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(30) {
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND state = 'active' \
                 AND query LIKE $2 AND pid <> pg_backend_pid()",
                &[&db, &like],
            )
            .await
            .unwrap()
            .get(0);
        if n > 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

/// Waits (up to 30 s) until the runner's marker names statement `n` (`sluice/<run>:<n>`)
/// of a query string matching `like`.
async fn wait_marked(c: &tokio_postgres::Client, db: &str, n: usize, like: &str) -> bool {
    let t = Instant::now();
    let name = format!("sluice/%:{n}");
    while t.elapsed() < Duration::from_secs(30) {
        let row = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND state = 'active' \
                 AND application_name LIKE $2 AND query LIKE $3",
                &[&db, &name, &like],
            )
            .await
            .unwrap();
        if row.get::<_, i64>(0) > 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

fn apply_in_background(
    root: &Path,
    args: &'static [&'static str],
) -> std::thread::JoinHandle<Output> {
    let root = root.to_path_buf();
    std::thread::spawn(move || run_sluice(&root, args))
}

fn figure(name: &str, n: usize) {
    eprintln!("[figure] {name}={n}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_terminated_mid_statement_leaves_the_ledger_at_that_statement_and_no_lock() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    let file = "-- sluice:no-transaction\nCREATE TABLE a (id int);\nSELECT pg_sleep(30);\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n";
    p.write("1_a.up.sql", file);
    let child = apply_in_background(p.root(), &["apply"]);
    // The first two statements go in one query string; its marker names the second in the
    // runner's application_name while it runs.
    assert!(wait_marked(&c, &db.name, 2, "%pg_sleep(30)%").await, "saw the statement running");
    c.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name LIKE 'sluice/%:2' AND pid <> pg_backend_pid()",
        &[],
    )
    .await
    .unwrap();
    let out = child.join().unwrap();
    figure("faults_injected", 1);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("1_a.up.sql:3 (statement 2 of 3)"), "{}", out.stderr);
    assert!(out.stderr.contains("terminating connection"), "{}", out.stderr);
    assert_eq!(advisory_locks(&c, &db.name).await, 0, "the lock died with the session");

    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(j["migrations"][0]["state"], "failed", "{j}");
    assert_eq!(j["migrations"][0]["failed_at_statement"], 2, "{j}");
    let r = p.sluice(&["resolve", "--format", "json"]).json();
    let reached: Vec<&str> = r["failed"][0]["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reached"].as_str().unwrap())
        .collect();
    assert_eq!(reached, ["done", "failed", "not-run"], "{r}");
    assert_eq!(r["failed"][0]["interrupted"], "not-completed", "{r}");

    p.write("1_a.up.sql", &file.replace("pg_sleep(30)", "pg_sleep(0)"));
    let out = p.sluice(&["resolve", "1", "--retry"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let made: bool =
        c.query_one("SELECT to_regclass('a_id') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(made);
}

fn write_project(root: &Path, url: &str, extra: &str) -> PathBuf {
    let m = root.join("migrations");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(
        root.join("sluice.toml"),
        format!("[environments.dev]\ntier = \"development\"\nurl = \"{url}\"\n{extra}\n"),
    )
    .unwrap();
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_mid_run_leaves_a_consistent_ledger_and_a_rerun_completes() {
    // Its own cluster: restarting the shared one would break the other tests.
    let cluster = Cluster::start().expect("start a cluster to restart");
    let admin = connect(&cluster.url("postgres")).await;
    admin.batch_execute("CREATE DATABASE r").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let m = write_project(dir.path(), &cluster.url("r"), "");
    std::fs::write(m.join("1_a.up.sql"), "CREATE TABLE a (id int);\n").unwrap();
    let b = "CREATE TABLE b (id int);\nSELECT pg_sleep(30);\n";
    std::fs::write(m.join("2_b.up.sql"), b).unwrap();
    let c3 = "-- sluice:no-transaction\nCREATE TABLE c (id int);\nSELECT pg_sleep(30);\nCREATE TABLE c2 (id int);\n";
    std::fs::write(m.join("3_c.up.sql"), c3).unwrap();

    // In a transactional migration: it rolls back whole, the one before stays applied.
    let child = apply_in_background(dir.path(), &["apply"]);
    assert!(wait_active(&admin, "r", "%pg_sleep%").await);
    cluster.restart_fast().expect("restart");
    let out = child.join().unwrap();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("2_b.up.sql"), "{}", out.stderr);
    let c = connect(&cluster.url("r")).await;
    let status = run_sluice(dir.path(), &["status", "--format", "json"]).json();
    let states: Vec<&str> = status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["applied", "pending", "pending"], "{status}");
    let b_there: bool =
        c.query_one("SELECT to_regclass('b') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(!b_there, "the interrupted transaction rolled back");
    assert_eq!(advisory_locks(&c, "r").await, 0);

    // In a no-transaction one: the ledger stops at the statement that was running.
    std::fs::write(m.join("2_b.up.sql"), b.replace("pg_sleep(30)", "pg_sleep(0)")).unwrap();
    let child = apply_in_background(dir.path(), &["apply"]);
    let admin = connect(&cluster.url("postgres")).await;
    assert!(wait_marked(&admin, "r", 2, "%pg_sleep(30)%").await);
    cluster.restart_fast().expect("restart");
    let out = child.join().unwrap();
    figure("faults_injected", 2);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("3_c.up.sql:3 (statement 2 of 3)"), "{}", out.stderr);
    let c = connect(&cluster.url("r")).await;
    let status = run_sluice(dir.path(), &["status", "--format", "json"]).json();
    assert_eq!(status["migrations"][1]["state"], "applied", "{status}");
    assert_eq!(status["migrations"][2]["state"], "failed", "{status}");
    assert_eq!(status["migrations"][2]["failed_at_statement"], 2, "{status}");
    let row = c
        .query_one("SELECT to_regclass('c') IS NOT NULL, to_regclass('c2') IS NOT NULL", &[])
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0) && !row.get::<_, bool>(1), "statement 1 ran, 3 did not");
    assert_eq!(advisory_locks(&c, "r").await, 0);

    std::fs::write(m.join("3_c.up.sql"), c3.replace("pg_sleep(30)", "pg_sleep(0)")).unwrap();
    let out = run_sluice(dir.path(), &["resolve", "3", "--retry"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let status = run_sluice(dir.path(), &["status", "--format", "json"]).json();
    assert!(
        status["migrations"].as_array().unwrap().iter().all(|m| m["state"] == "applied"),
        "{status}"
    );
}

/// A database big enough that pg_dump runs for a while and writes more than a few hundred KiB.
async fn filled_db() -> (crate::support::TestDb, tokio_postgres::Client) {
    let db = fresh_db().await;
    let c = db.client().await;
    c.batch_execute(
        "CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) AS v \
         FROM generate_series(1, 300000) g",
    )
    .await
    .unwrap();
    (db, c)
}

fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|r| r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_whose_connection_drops_fails_cleanly_and_applies_nothing() {
    let (db, c) = filled_db().await;
    let backups = tempfile::tempdir().unwrap();
    let extra =
        format!("backup = {{ mode = \"required\", dir = \"{}\" }}", backups.path().display());
    let p = TestProject::new(&db, "development", &extra);
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    let child = apply_in_background(p.root(), &["apply"]);
    assert!(wait_active(&c, &db.name, "COPY%").await, "saw pg_dump copying");
    c.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'sluice/backup' AND query LIKE 'COPY%'",
        &[],
    )
    .await
    .unwrap();
    let out = child.join().unwrap();
    figure("faults_injected", 1);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("pg_dump failed"), "{}", out.stderr);
    assert_eq!(files_in(backups.path()), Vec::<String>::new(), "no partial dump left");
    let a: bool = c.query_one("SELECT to_regclass('a') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(!a, "no migration runs without its backup");
    assert_eq!(
        p.sluice(&["status", "--format", "json"]).json()["migrations"][0]["state"],
        "pending"
    );
    assert_eq!(advisory_locks(&c, &db.name).await, 0);
    let again = p.sluice(&["apply"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(files_in(backups.path()).len(), 1);
}

/// Unmounts the small file system when the test ends, passed or failed.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

fn small_tmpfs(size: &str) -> Option<(tempfile::TempDir, Mount)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: cannot mount a small tmpfs for the full-disk test; skipped");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(mounted.success(), "mount a {size} tmpfs");
    let mount = Mount(dir.path().to_path_buf());
    Some((dir, mount))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_disk_too_small_or_filling_up_fails_cleanly_and_applies_nothing() {
    let (db, c) = filled_db().await;

    // Too small from the start: the pre-check refuses before anything runs.
    let Some((dir, _mount)) = small_tmpfs("256k") else { return };
    let backups = dir.path().join("backups");
    let extra = format!("backup = {{ mode = \"required\", dir = \"{}\" }}", backups.display());
    let p = TestProject::new(&db, "development", &extra);
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("backup space: 0.2 MB free, database is"), "{}", out.stderr);

    // Room enough at the pre-check, then another process fills the disk while pg_dump
    // writes: pg_dump fails, its partial file goes, nothing is applied.
    let Some((dir, _mount)) = small_tmpfs("64m") else { return };
    let backups = dir.path().join("backups");
    let extra = format!("backup = {{ mode = \"required\", dir = \"{}\" }}", backups.display());
    let p = TestProject::new(&db, "development", &extra);
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    let filler = {
        let (backups, fill) = (backups.clone(), dir.path().join("filler"));
        std::thread::spawn(move || {
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(30) {
                if files_in(&backups).iter().any(|f| f.ends_with(".partial")) {
                    use std::io::Write;
                    let mut f = std::fs::File::create(&fill).unwrap();
                    let block = vec![0u8; 1 << 20];
                    while f.write_all(&block).is_ok() {}
                    return true;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            false
        })
    };
    let out = p.sluice(&["apply"]);
    assert!(filler.join().unwrap(), "the disk was filled during the dump");
    figure("faults_injected", 2);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("No space left on device"), "{}", out.stderr);
    assert_eq!(files_in(&backups), Vec::<String>::new(), "no partial dump left");
    let a: bool = c.query_one("SELECT to_regclass('a') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(!a, "no migration runs without its backup");
    assert_eq!(advisory_locks(&c, &db.name).await, 0);
}
