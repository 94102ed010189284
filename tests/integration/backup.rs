//! Backups with the real pg_dump and pg_restore.

use std::os::unix::fs::PermissionsExt;

use sluice::core::db::schema;

use crate::support::{fresh_db, TestProject};

async fn counts(c: &tokio_postgres::Client) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in ["users", "products", "orders"] {
        let n: i64 = c.query_one(&format!("SELECT count(*) FROM {t}"), &[]).await.unwrap().get(0);
        out.push((t.to_string(), n));
    }
    out
}

#[tokio::test]
async fn backup_then_restore_round_trip() {
    let db = fresh_db().await;
    let c = db.client().await;
    let backups = tempfile::tempdir().unwrap();
    let p = TestProject::new(
        &db,
        "development",
        &format!("backup = {{ dir = \"{}\" }}", backups.path().display()),
    );
    for e in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), p.migrations().join(e.file_name())).unwrap();
    }
    assert_eq!(p.sluice(&["apply", "--to", "0010"]).code, 0);
    c.batch_execute(
        "INSERT INTO users (email) SELECT 'u' || g || '@x.test' FROM generate_series(1, 500) g",
    )
    .await
    .unwrap();
    let snap = schema::snapshot(&c, "sluice").await.unwrap();
    let rows = counts(&c).await;

    let out = p.sluice(&["backup", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let info = out.json();
    let file = info["path"].as_str().unwrap().to_string();
    assert!(
        file.contains(&format!("dev_{}_", db.name)) && file.ends_with("_manual.dump"),
        "{file}"
    );
    assert!(info["entries"].as_u64().unwrap() > 10);
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(meta.len() > 0);

    // Damage: a table gone, rows added; the restore brings back exactly what was dumped.
    c.batch_execute("DROP VIEW order_summary; DELETE FROM products; INSERT INTO users (email) VALUES ('late@x.test')").await.unwrap();
    let refused = p.sluice(&["restore", &file]);
    assert_eq!(refused.code, 1, "a restore needs the typed name");
    let out = p.sluice(&["restore", &file, "--confirm", "dev"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let c = db.client().await;
    assert_eq!(schema::snapshot(&c, "sluice").await.unwrap(), snap);
    assert_eq!(counts(&c).await, rows);
    let listed = p.sluice(&["backups", "--format", "json"]).json();
    let names: Vec<&str> =
        listed["backups"].as_array().unwrap().iter().map(|b| b["path"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2, "the manual backup and the safety backup: {names:?}");
    assert!(names[0].ends_with("_pre-restore.dump"), "newest first: {names:?}");
    let status = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(status["migrations"][9]["state"], "applied", "the ledger came back with the schema");

    // The restore is a run of its own, in the restored ledger and the audit log.
    let row = c
        .query_one(
            "SELECT outcome, details->>'restored', details->>'safety_backup' FROM sluice.runs WHERE action = 'restore'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some("done"));
    assert_eq!(row.get::<_, String>(1), file);
    assert!(row.get::<_, String>(2).ends_with("_pre-restore.dump"));
    let audit = std::fs::read_to_string(p.root().join(".sluice-data").join("audit.jsonl")).unwrap();
    assert!(audit.lines().any(|l| l.contains("\"action\":\"restore\"")), "{audit}");
    let drift = p.sluice(&["diff"]);
    assert_eq!(drift.code, 0, "the restored schema is the new snapshot: {}", drift.stdout);
}

#[tokio::test]
async fn retention_prunes_only_this_environments_old_backups() {
    let db = fresh_db().await;
    let backups = tempfile::tempdir().unwrap();
    let p = TestProject::new(
        &db,
        "development",
        &format!(
            "backup = {{ dir = \"{}\", keep_count = 2, keep_days = 7 }}",
            backups.path().display()
        ),
    );
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    let other = backups.path().join("staging_x_20200101T000000Z_manual.dump");
    std::fs::write(&other, "not ours").unwrap();
    let stale = backups.path().join(format!("dev_{}_20200101T000000Z_manual.dump", db.name));
    std::fs::write(&stale, "old").unwrap();
    let old = std::process::Command::new("touch")
        .args(["-d", "10 days ago"])
        .arg(&stale)
        .status()
        .unwrap();
    assert!(old.success());

    let first = p.sluice(&["backup", "--format", "json"]).json();
    let pruned: Vec<&str> =
        first["pruned"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert_eq!(pruned, vec![stale.to_str().unwrap()], "older than keep_days");
    for _ in 0..2 {
        assert_eq!(p.sluice(&["backup"]).code, 0);
    }
    let ours = std::fs::read_dir(backups.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("dev_"))
        .count();
    assert_eq!(ours, 2, "keep_count");
    assert!(other.exists(), "another environment's file is never touched");
    assert!(
        !first["path"].as_str().map(std::path::Path::new).unwrap().exists(),
        "the oldest of ours went"
    );
}

#[tokio::test]
async fn a_required_backup_runs_before_apply_and_is_recorded() {
    let db = fresh_db().await;
    let c = db.client().await;
    let backups = tempfile::tempdir().unwrap();
    let p = TestProject::new(
        &db,
        "development",
        &format!("backup = {{ mode = \"required\", dir = \"{}\" }}", backups.path().display()),
    );
    p.write("7_a.up.sql", "CREATE TABLE a (id int);\n");
    p.write("7_a.down.sql", "DROP TABLE a;\n");
    let refused = p.sluice(&["apply", "--no-backup"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    let out = p.sluice(&["apply", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let path = out.json()["backup"]["path"].as_str().unwrap().to_string();
    assert!(path.ends_with("_pre-7.dump"), "{path}");
    let recorded: String = c
        .query_one("SELECT details->'backup'->>'path' FROM sluice.runs WHERE outcome = 'done'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, path);
    // An emergency rollback goes through the same backup policy.
    let back = p.sluice(&["rollback", "--steps", "1"]);
    assert_eq!(back.code, 0, "{}", back.stderr);
    let names: Vec<String> = std::fs::read_dir(backups.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n.ends_with("_pre-rollback-7.dump")), "{names:?}");
}

#[tokio::test]
async fn a_restore_removes_what_was_made_after_the_backup_and_a_truncated_one_changes_nothing() {
    let db = fresh_db().await;
    let c = db.client().await;
    let backups = tempfile::tempdir().unwrap();
    let p = TestProject::new(
        &db,
        "development",
        &format!("backup = {{ dir = \"{}\" }}", backups.path().display()),
    );
    p.write(
        "1_base.up.sql",
        "CREATE TABLE items (id serial PRIMARY KEY, n int GENERATED ALWAYS AS IDENTITY, body text);\nINSERT INTO items (body) SELECT repeat('x', 200) FROM generate_series(1, 20000);\n",
    );
    assert_eq!(p.sluice(&["apply"]).code, 0);
    let out = p.sluice(&["backup", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let file = out.json()["path"].as_str().unwrap().to_string();
    let at_backup = crate::support::catalog(&c).await;

    // Everything a later migration might make, of every kind the restore clears.
    c.batch_execute(
        "CREATE EXTENSION pgcrypto;
         CREATE SCHEMA reporting; CREATE TABLE reporting.daily (d date);
         CREATE TYPE mood AS ENUM ('ok'); CREATE DOMAIN positive AS int CHECK (VALUE > 0);
         CREATE TYPE pair AS (a int, b int);
         CREATE FUNCTION later(int) RETURNS int LANGUAGE sql AS 'SELECT $1';
         CREATE SEQUENCE later_seq; CREATE TABLE later_t (id bigserial, m mood);
         CREATE VIEW later_v AS SELECT * FROM later_t; CREATE MATERIALIZED VIEW later_mv AS SELECT 1 AS x;
         DELETE FROM items WHERE id > 10;",
    )
    .await
    .unwrap();
    let damaged = crate::support::catalog(&c).await;

    // A truncated archive reads its table of contents fine but not all its data: the
    // restore stops before COMMIT and nothing changes.
    let bytes = std::fs::read(&file).unwrap();
    let cut = backups.path().join("cut.dump");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let out = p.sluice(&["restore", cut.to_str().unwrap(), "--confirm", "dev"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("rolled back"), "{}", out.stderr);
    assert_eq!(crate::support::catalog(&c).await, damaged, "a failed restore changes nothing");

    let out = p.sluice(&["restore", &file, "--confirm", "dev"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let c = db.client().await;
    assert_eq!(crate::support::catalog(&c).await, at_backup, "exactly the catalog of the backup");
    let n: i64 = c.query_one("SELECT count(*) FROM items", &[]).await.unwrap().get(0);
    assert_eq!(n, 20000);
    let ext: i64 = c
        .query_one("SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(ext, 0, "the extension made after the backup is gone");
}
