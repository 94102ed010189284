//! The guarded run's pieces: dry run with locks and schema diff, snapshots and drift diffs.

use sluice::core::db::schema;

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
    assert!(text.stdout.contains("rehearsed (rolled back) in"), "{}", text.stdout);
    assert!(!text.stdout.contains(" applied in "), "a dry run applies nothing: {}", text.stdout);
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
    c.batch_execute(
        "DROP TABLE sluice.snapshots, sluice.approvals; UPDATE sluice.meta SET ledger_version = 1;",
    )
    .await
    .unwrap();
    p.write("2_b.up.sql", "CREATE TABLE b (id int);\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    let (v, n): (i32, i64) = {
        let r = c
            .query_one("SELECT (SELECT ledger_version FROM sluice.meta), (SELECT count(*) FROM sluice.snapshots) + (SELECT count(*) FROM sluice.approvals)", &[])
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((v, n), (5, 1), "snapshots and approvals are back");
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(j["migrations"][0]["state"], "applied", "history survived the upgrade");

    // Version 4 approvals had no OS account; version 5 adds the column.
    c.batch_execute(
        "ALTER TABLE sluice.approvals DROP COLUMN account; UPDATE sluice.meta SET ledger_version = 4;",
    )
    .await
    .unwrap();
    p.write("3_c.up.sql", "CREATE TABLE c (id int);\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    let r = c
        .query_one(
            "SELECT (SELECT ledger_version FROM sluice.meta), \
             (SELECT count(*) FROM information_schema.columns \
              WHERE table_schema = 'sluice' AND table_name = 'approvals' AND column_name = 'account')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!((r.get::<_, i32>(0), r.get::<_, i64>(1)), (5, 1));
}

#[tokio::test]
async fn verify_finds_a_failed_concurrent_index_and_runs_verify_files() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_t.up.sql", "CREATE TABLE t (a int);\nINSERT INTO t VALUES (1), (1), (2);\n");
    p.write("1_t.verify.sql", "SELECT count(*) = 3 FROM t;\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    let ok = p.sluice(&["verify", "--format", "json"]);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    let checks = ok.json()["checks"].as_array().unwrap().clone();
    assert!(
        checks.iter().any(|c| c["name"] == "migration verify" && c["outcome"] == "pass"),
        "{checks:?}"
    );

    p.write(
        "2_u.up.sql",
        "-- sluice:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY t_a_key ON t (a);\n",
    );
    let failed = p.sluice(&["apply"]);
    assert_eq!(failed.code, 3, "duplicates make the unique build fail: {}", failed.stderr);
    assert!(failed.stderr.contains("INVALID index"), "{}", failed.stderr);
    let v = p.sluice(&["verify", "--level", "basic"]);
    assert_eq!(v.code, 1, "{}", v.stdout);
    assert!(
        v.stdout.contains("✗ invalid indexes")
            && v.stdout.contains("DROP INDEX CONCURRENTLY IF EXISTS public.t_a_key;"),
        "{}",
        v.stdout
    );

    let c = db.client().await;
    c.batch_execute("DROP INDEX t_a_key; DELETE FROM t WHERE a = 2;").await.unwrap();
    let v = p.sluice(&["verify", "--format", "json"]).json();
    let vf = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "migration verify")
        .unwrap()
        .clone();
    assert_eq!(vf["outcome"], "fail", "the verify file no longer holds: {vf}");
}

#[tokio::test]
async fn comprehensive_verify_flags_unindexed_foreign_keys_and_superuser() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    p.write(
        "1_t.up.sql",
        "CREATE TABLE parent (id bigint PRIMARY KEY);\nCREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint REFERENCES parent (id));\n",
    );
    assert_eq!(p.sluice(&["apply"]).code, 0);
    let j = p.sluice(&["verify", "--level", "comprehensive", "--format", "json"]).json();
    let find = |name: &str| {
        j["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).cloned().unwrap()
    };
    let fk = find("foreign key indexes");
    assert_eq!(fk["outcome"], "warn");
    assert!(fk["figure"].as_str().unwrap().contains("child"), "{fk}");
    assert_eq!(find("role")["outcome"], "warn", "tests run as a superuser");
    let c = db.client().await;
    c.batch_execute("CREATE INDEX ON child (parent_id)").await.unwrap();
    let j = p.sluice(&["verify", "--level", "comprehensive", "--format", "json"]).json();
    let fk = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "foreign key indexes")
        .cloned()
        .unwrap();
    assert_eq!(fk["outcome"], "pass");
}

#[tokio::test]
async fn hooks_get_the_run_facts_and_a_failing_pre_hook_stops_the_run() {
    let db = fresh_db().await;
    let c = db.client().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("hook.log");
    let hooks = format!(
        "hooks = {{ pre_check = [\"test ! -e {stop}\"], post_apply = [\"echo $SLUICE_STAGE $SLUICE_ENV $SLUICE_TIER $SLUICE_MIGRATIONS $SLUICE_OUTCOME >> {log}\"], post_verify = [\"test ! -e {degrade}\"], timeout = \"5s\" }}",
        stop = dir.path().join("stop").display(),
        degrade = dir.path().join("degrade").display(),
        log = log.display()
    );
    let p = TestProject::new(&db, "development", &hooks);
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    p.write("2_b.up.sql", "CREATE TABLE b (id int);\n");

    std::fs::write(dir.path().join("stop"), "").unwrap();
    let out = p.sluice(&["apply", "--to", "1"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("pre_check hook") && out.stderr.contains("exit 1"),
        "{}",
        out.stderr
    );
    let none: bool =
        c.query_one("SELECT to_regclass('public.a') IS NULL", &[]).await.unwrap().get(0);
    assert!(none, "a failing pre hook stops the run before any change");

    std::fs::remove_file(dir.path().join("stop")).unwrap();
    assert_eq!(p.sluice(&["apply", "--to", "1"]).code, 0);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().trim(),
        "post_apply dev development 1 applied"
    );

    std::fs::write(dir.path().join("degrade"), "").unwrap();
    let out = p.sluice(&["apply", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let r = out.json();
    assert_eq!(r["outcome"], "degraded");
    assert!(r["error"]["message"].as_str().unwrap().contains("post_verify hook"), "{r}");
    let b: bool =
        c.query_one("SELECT to_regclass('public.b') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(b, "the migration itself was applied");
    let recorded: i64 = c
        .query_one("SELECT count(*) FROM sluice.runs WHERE details ? 'hooks_post_verify'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, 2);
}

#[tokio::test]
async fn every_run_writes_reports_and_an_audit_line() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    let out = p.sluice(&["apply", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run_id = out.json()["run_id"].as_str().unwrap().to_string();
    let data = p.root().join(".sluice-data");
    let md =
        std::fs::read_to_string(data.join("reports/dev").join(format!("{run_id}.md"))).unwrap();
    assert!(md.starts_with(&format!("# sluice run {run_id} · apply · dev")), "{md}");
    assert!(md.contains("| 1 | a | up | file |"), "{md}");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("reports/dev").join(format!("{run_id}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(json["operator"], "tester");
    assert_eq!(json["report"]["outcome"], "done");
    let audit = std::fs::read_to_string(data.join("audit.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(
        (line["run_id"].as_str(), line["outcome"].as_str()),
        (Some(run_id.as_str()), Some("done"))
    );

    let listed = p.sluice(&["runs", "--format", "json"]).json();
    assert_eq!(listed["runs"][0]["run_id"], run_id.as_str());
    let shown = p.sluice(&["runs", "show", &run_id]);
    assert_eq!(shown.code, 0);
    assert!(shown.stdout.contains("| outcome | **done** |"), "{}", shown.stdout);
    assert_eq!(p.sluice(&["runs", "show", "nope"]).code, 2);
}

#[tokio::test]
async fn seeds_run_after_apply_idempotently_with_checksums_kept() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "seeds = [\"seeds/development\"]");
    std::fs::create_dir_all(p.root().join("seeds/development")).unwrap();
    std::fs::write(
        p.root().join("seeds/development/01_plans.sql"),
        "INSERT INTO plans (name) VALUES ('free'), ('pro') ON CONFLICT (name) DO NOTHING;\n",
    )
    .unwrap();
    p.write("1_plans.up.sql", "CREATE TABLE plans (name text PRIMARY KEY);\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    p.write("2_more.up.sql", "ALTER TABLE plans ADD COLUMN price int;\n");
    let second = p.sluice(&["apply"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let n: i64 = c.query_one("SELECT count(*) FROM plans", &[]).await.unwrap().get(0);
    assert_eq!(n, 2, "seeds ran twice and stayed idempotent");
    let sums: Vec<String> = c
        .query("SELECT checksum FROM sluice.seeds ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(sums.len(), 2);
    assert_eq!(sums[0], sums[1]);
    assert_eq!(sums[0].len(), 64);

    std::fs::write(
        p.root().join("seeds/development/02_bad.sql"),
        "INSERT INTO nowhere VALUES (1);\n",
    )
    .unwrap();
    p.write("3_x.up.sql", "SELECT 1;\n");
    let bad = p.sluice(&["apply"]);
    assert_eq!(bad.code, 3);
    assert!(
        bad.stderr.contains("02_bad.sql:1") && bad.stderr.contains("nowhere"),
        "{}",
        bad.stderr
    );
}

/// The backup leaves the machine through a post_backup hook that gets the file, its size and
/// its checksum; a failed copy stops the run before any change. A notification hook gets
/// what a message needs.
#[tokio::test]
async fn post_backup_gets_the_file_and_notifications_get_the_run() {
    let db = fresh_db().await;
    let c = db.client().await;
    let dir = tempfile::tempdir().unwrap();
    let (uploads, notes) = (dir.path().join("uploads"), dir.path().join("notify.log"));
    std::fs::create_dir(&uploads).unwrap();
    let hooks = format!(
        "backup = {{ mode = \"required\", dir = \"{backups}\" }}\nhooks = {{ post_backup = [\"test ! -e {fail} && cp \\\"$SLUICE_BACKUP_FILE\\\" {uploads}/ && echo $SLUICE_BACKUP_BYTES $SLUICE_BACKUP_SHA256 > {uploads}/meta\"], post_verify = [\"echo $SLUICE_OUTCOME $SLUICE_ENV $SLUICE_MIGRATIONS $SLUICE_MIGRATION_COUNT $SLUICE_RUN_ID $SLUICE_DURATION_MS $SLUICE_REPORT >> {notes}\"], timeout = \"20s\" }}",
        backups = dir.path().join("backups").display(),
        fail = dir.path().join("fail").display(),
        uploads = uploads.display(),
        notes = notes.display()
    );
    let p = TestProject::new(&db, "development", &hooks);
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");

    std::fs::write(dir.path().join("fail"), "").unwrap();
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("post_backup hook"), "{}", out.stderr);
    let none: bool =
        c.query_one("SELECT to_regclass('public.a') IS NULL", &[]).await.unwrap().get(0);
    assert!(none, "a failed upload stops the run before any change");

    std::fs::remove_file(dir.path().join("fail")).unwrap();
    let out = p.sluice(&["apply", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let report = out.json();
    let backup = std::path::PathBuf::from(report["backup"]["path"].as_str().unwrap());
    let copy = uploads.join(backup.file_name().unwrap());
    let bytes = std::fs::read(&copy).expect("the hook copied the backup");
    use sha2::Digest;
    let sum: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let meta = std::fs::read_to_string(uploads.join("meta")).unwrap();
    assert_eq!(meta.trim(), format!("{} {sum}", bytes.len()));
    assert_eq!(report["backup"]["sha256"], sum.as_str());

    let note = std::fs::read_to_string(&notes).unwrap();
    let f: Vec<&str> = note.split_whitespace().collect();
    let run_id = report["run_id"].as_str().unwrap();
    assert_eq!(&f[..5], ["passed", "dev", "1", "1", run_id], "{note}");
    assert!(f[5].parse::<u64>().is_ok(), "{note}");
    assert!(f[6].ends_with(&format!("{run_id}.md")), "{note}");
    assert!(std::path::Path::new(f[6]).is_file(), "the report is there once the run ends");
}

/// Each migration's locks are the ones it requests, though the dry run's one transaction
/// already holds them from an earlier migration: named by the table (never a bare oid),
/// with the rewrite said, and the statement's known level where pg_locks cannot show it.
#[tokio::test]
async fn dry_run_names_each_migrations_own_locks_and_rewrites() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    p.write(
        "1_base.up.sql",
        "CREATE TABLE orders (id bigint PRIMARY KEY, status text, note text);\n\
         INSERT INTO orders SELECT g, 'new', repeat('x', 3000) FROM generate_series(1, 500) g;\n",
    );
    assert_eq!(p.sluice(&["apply"]).code, 0);
    p.write("2_index.up.sql", "CREATE INDEX orders_status_idx ON orders (status);\n");
    p.write(
        "3_uuid.up.sql",
        "ALTER TABLE orders ADD COLUMN uuid uuid NOT NULL DEFAULT gen_random_uuid();\n",
    );
    p.write("4_again.up.sql", "ALTER TABLE orders ALTER COLUMN note SET DEFAULT '';\n");
    p.write(
        "5_audit.up.sql",
        "CREATE TABLE audit (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id));\n",
    );
    let out = p.sluice(&["apply", "--dry-run", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = out.json();
    let m = |v: &str| {
        r["migrations"].as_array().unwrap().iter().find(|m| m["version"] == v).unwrap().clone()
    };
    let summary = |v: &str| -> Vec<String> {
        m(v)["lock_summary"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().into())
            .collect()
    };
    let all = format!("{}", r["migrations"]);
    assert!(!all.contains("oid "), "no bare oids: {all}");
    assert!(!all.contains("pg_toast"), "TOAST tables are their table: {all}");
    assert!(!all.contains("orders_status_idx"), "indexes are their table: {all}");

    assert_eq!(summary("2").len(), 1, "{:?}", summary("2"));
    assert!(summary("2")[0].starts_with("SHARE on public.orders"), "{:?}", summary("2"));
    // The rewrite upgrades SHARE to ACCESS EXCLUSIVE: pg_locks shows it, and the new file.
    let uuid = &m("3")["statements"][0]["locks"][0];
    assert_eq!(uuid["relation"], "public.orders");
    assert_eq!(uuid["mode"], "ACCESS EXCLUSIVE");
    assert_eq!(uuid["source"], "observed");
    assert_eq!(uuid["rewrite"], true);
    assert!(summary("3")[0].contains("(rewrite of public.orders)"), "{:?}", summary("3"));
    // 4 and 5 need locks the transaction already holds: the statement's known level.
    let again = &m("4")["statements"][0]["locks"][0];
    assert_eq!(again["mode"], "ACCESS EXCLUSIVE");
    assert_eq!(again["source"], "statement");
    assert!(again.get("rewrite").is_none(), "SET DEFAULT rewrites nothing: {again}");
    let audit = &m("5")["statements"][0]["locks"][0];
    assert_eq!(
        (audit["relation"].as_str(), audit["mode"].as_str()),
        (Some("public.orders"), Some("SHARE ROW EXCLUSIVE"))
    );
    assert!(summary("5")[0].contains("the statement's known lock"), "{:?}", summary("5"));
    assert!(
        !summary("5").iter().any(|s| s.contains("public.audit")),
        "a new table is nobody's wait: {:?}",
        summary("5")
    );
}

/// The example project's 0013 (the demo's): a rewrite of orders under ACCESS EXCLUSIVE,
/// though 0012's index build already holds a lock on orders in the dry run.
#[tokio::test]
async fn the_examples_0013_dry_run_names_the_rewrite_of_orders() {
    let db = fresh_db().await;
    let p = TestProject::example(&db);
    assert_eq!(p.sluice(&["apply", "--to", "0011"]).code, 0);
    db.client()
        .await
        .batch_execute(
            "INSERT INTO users (email) VALUES ('a@example.com');
             INSERT INTO orders (user_id) SELECT min(id) FROM users, generate_series(1, 300) GROUP BY generate_series;",
        )
        .await
        .unwrap();
    let out = p.sluice(&["apply", "--dry-run", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = out.json();
    let m = r["migrations"].as_array().unwrap().iter().find(|m| m["version"] == "0013").unwrap();
    let first = m["lock_summary"][0].as_str().unwrap();
    assert!(first.starts_with("ACCESS EXCLUSIVE on public.orders for "), "{first}");
    assert!(first.ends_with("(rewrite of public.orders)"), "{first}");
    assert_eq!(m["lock_summary"].as_array().unwrap().len(), 1, "{m}");
}

#[tokio::test]
async fn a_snapshot_read_over_two_connections_is_the_same_text() {
    let db = fresh_db().await;
    let (a, b) = (db.client().await, db.client().await);
    a.batch_execute(
        "CREATE TYPE mood AS ENUM ('ok', 'sad');
         CREATE TABLE t (id int PRIMARY KEY, m mood, n text CHECK (n <> ''));
         CREATE INDEX t_n ON t (n);
         CREATE VIEW v AS SELECT id FROM t;
         CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';",
    )
    .await
    .unwrap();
    let one = schema::snapshot(&a, "sluice").await.unwrap();
    // The second connection keeps the watch's short statement_timeout, and stays usable.
    b.batch_execute("SET statement_timeout = 2000").await.unwrap();
    let two = schema::snapshot_on_two(&a, &b, "sluice").await.unwrap();
    assert_eq!(one, two);
    for part in
        ["index public.t_n", "constraint public.t.t_n_check", "type public.mood", "function f() "]
    {
        assert!(one.contains(part), "{part}: {one}");
    }
    let timeout: String = b.query_one("SHOW statement_timeout", &[]).await.unwrap().get(0);
    assert_eq!(timeout, "2s");
}
