//! The guarded run as a pipeline the wizard drives a stage at a time, and the guards its
//! stages apply (pre-checks in the dry run, a recent backup, the pg_dump it needs).

use std::os::unix::fs::PermissionsExt;

use sluice::core::exec::{ApplyOptions, Control, GuardedRun, Opened};
use sluice::core::record::report::{Event, Stage, StageOutcome};

use crate::support::{fresh_db, run_sluice_env, TestProject};

async fn open(p: &TestProject, rehearse: bool, ctl: Control) -> Box<GuardedRun> {
    let project = p.project();
    let env = project.environment(Some("dev")).unwrap();
    match GuardedRun::open(&project, env, &ApplyOptions::default(), rehearse, ctl).await.unwrap() {
        Opened::Ready(run) => run,
        Opened::Finished(r) => panic!("the run ended at once: {:?} {:?}", r.outcome, r.error),
    }
}

async fn has_note_column(c: &tokio_postgres::Client) -> bool {
    c.query_one(
        "SELECT count(*) > 0 FROM information_schema.columns WHERE table_name = 'a' AND column_name = 'note'",
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn the_wizard_advances_stage_by_stage_overrides_with_a_reason_and_can_abandon() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    p.write("2_b.up.sql", "ALTER TABLE a ADD COLUMN note text;\nDELETE FROM a;\n");

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut run = open(&p, true, Control::events(tx)).await;
    assert_eq!(
        run.stages(),
        [Stage::PreChecks, Stage::Lint, Stage::Backup, Stage::DryRun, Stage::Apply]
    );
    assert_eq!(run.planned().len(), 1);
    assert_eq!(run.planned()[0].version, "2");

    let pre = run.advance().await.expect("pre-checks pass");
    assert_eq!(pre.stage, Stage::PreChecks);
    assert!(!run.report().prechecks.is_empty());

    // DELETE without WHERE is an error finding: the gate refuses and the run stays at lint.
    let refused = run.advance().await.expect_err("the lint gate refuses");
    assert!(refused.message.contains("delete-without-where"), "{}", refused.message);
    assert_eq!(run.next_stage(), Some(Stage::Lint));
    assert!(run.findings().iter().any(|f| f.rule == "delete-without-where"));
    run.override_lint("  ");
    assert!(run.advance().await.is_err(), "a blank reason is no reason");
    run.override_lint("CHG-12: the table is empty");
    let lint = run.advance().await.expect("overridden");
    assert_eq!(lint.outcome, StageOutcome::Warned);
    assert!(lint.summary.contains("CHG-12"), "{}", lint.summary);

    let backup = run.advance().await.unwrap();
    assert_eq!(backup.outcome, StageOutcome::Skipped, "optional on development");

    let dry = run.advance().await.unwrap();
    assert_eq!(dry.stage, Stage::DryRun);
    let rehearsed = &run.report().rehearsal;
    assert_eq!(rehearsed.len(), 1);
    assert_eq!(rehearsed[0].statements[0].locks[0].mode.as_str(), "ACCESS EXCLUSIVE");
    assert!(run.report().schema_diff.as_deref().unwrap_or("").contains("note"));
    assert!(!has_note_column(&c).await, "the dry run rolled back");
    assert_eq!(run.next_stage(), Some(Stage::Apply));
    assert!(run.advance().await.is_err(), "the apply runs only through complete()");

    let run_id = run.run_id().to_string();
    let report = run.abandon().await;
    assert_eq!(report.outcome, "cancelled");
    assert!(report.error.unwrap().message.contains("before apply"));
    assert!(!has_note_column(&c).await, "nothing applied");
    let row = c
        .query_one(
            "SELECT outcome, jsonb_array_length(details->'stages') FROM sluice.runs WHERE run_id = $1",
            &[&run_id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "cancelled");
    assert_eq!(row.get::<_, i32>(1), 4, "every stage that ran is in the record");

    let mut started = Vec::new();
    let mut failed = 0;
    while let Ok(ev) = rx.try_recv() {
        match ev {
            Event::StageStarted { stage } => started.push(stage),
            Event::StageFinished { result } if result.outcome == StageOutcome::Failed => {
                failed += 1
            }
            _ => {}
        }
    }
    assert_eq!(failed, 2, "two refused lint attempts");
    assert_eq!(started.iter().filter(|s| **s == Stage::Lint).count(), 3);
    assert!(started.contains(&Stage::DryRun));

    // Again, to the end: the override and every stage land in the run's report.
    let mut run = open(&p, true, Control::default()).await;
    run.override_lint("CHG-12: the table is empty");
    let report = run.complete().await;
    assert_eq!(report.outcome, "done", "{:?}", report.error);
    assert!(has_note_column(&c).await);
    let stages: Vec<Stage> = report.stages.iter().map(|s| s.stage).collect();
    assert_eq!(stages.last(), Some(&Stage::Apply));
    assert_eq!(report.stages.len(), 5);
    assert_eq!(report.overrides[0].guard, "lint");
    assert!(report.overrides[0].what[0].contains("delete-without-where"));
    let dir = sluice::core::data::config::paths::report_dir(
        p.project().environment(Some("dev")).unwrap(),
    );
    let md = std::fs::read_to_string(dir.unwrap().join(format!("{}.md", report.run_id))).unwrap();
    assert!(md.contains("CHG-12: the table is empty"), "{md}");
    assert!(md.contains("| dry run |"), "{md}");
}

#[tokio::test]
async fn production_apply_in_the_pipeline_needs_the_typed_name() {
    let db = fresh_db().await;
    let c = db.client().await;
    let backups = tempfile::tempdir().unwrap();
    let p = TestProject::new(
        &db,
        "production",
        &format!("backup = {{ dir = \"{}\" }}", backups.path().display()),
    );
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    let mut run = open(&p, true, Control::default()).await;
    run.confirm("Dev");
    let report = run.complete().await;
    assert_eq!(report.outcome, "refused");
    assert!(report.error.unwrap().message.contains("does not match"));
    let gone: bool =
        c.query_one("SELECT to_regclass('public.a') IS NULL", &[]).await.unwrap().get(0);
    assert!(gone, "a refused confirmation applies nothing");
    assert!(report.backup.is_some(), "production took its backup before the confirmation");

    let mut run = open(&p, false, Control::default()).await;
    run.confirm("dev");
    let report = run.complete().await;
    assert_eq!(report.outcome, "done", "{:?}", report.error);
}

#[tokio::test]
async fn a_dry_run_runs_the_prechecks_and_names_a_blocking_session() {
    let db = fresh_db().await;
    let (p, blocker, pid) = crate::support::project_with_idle_blocker(&db, "bi-tool").await;
    let out = p.sluice(&["apply", "--dry-run"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(&format!("pid {pid}")) && out.stderr.contains("bi-tool"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("not needed: a dry run rolls back"), "{}", out.stdout);
    blocker.batch_execute("COMMIT").await.unwrap();
    p.write("3_c.up.sql", "CREATE TABLE c (id int);\n");
    let out = p.sluice(&["apply", "--dry-run", "--to", "2", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let j = out.json();
    let pending =
        j["prechecks"].as_array().unwrap().iter().find(|c| c["name"] == "pending migrations");
    assert_eq!(pending.unwrap()["figure"], "1: 2_b", "--to bounds what the run lists");
    assert_eq!(j["outcome"], "rehearsed");
    let stages: Vec<&str> =
        j["stages"].as_array().unwrap().iter().map(|s| s["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["pre-checks", "lint", "dry-run"]);
}

#[tokio::test]
async fn a_run_without_its_own_backup_needs_a_recent_one_on_disk() {
    let db = fresh_db().await;
    let backups = tempfile::tempdir().unwrap();
    let p = TestProject::new(
        &db,
        "development",
        &format!("backup = {{ dir = \"{}\", max_age = \"1h\" }}", backups.path().display()),
    );
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("no backup on disk"), "{}", out.stderr);

    let taken = p.sluice(&["backup", "--format", "json"]);
    assert_eq!(taken.code, 0, "{}", taken.stderr);
    let file = taken.json()["path"].as_str().unwrap().to_string();
    // Two hours old: too old for the policy.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options().write(true).open(&file).unwrap().set_modified(old).unwrap();
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("2 h old, older than the policy's 1 h"), "{}", out.stderr);

    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("no backup in this run; newest is"), "{}", out.stdout);
    // A run that takes its own backup needs none on disk.
    std::fs::remove_file(&file).unwrap();
    p.write("2_b.up.sql", "CREATE TABLE b (id int);\n");
    assert_eq!(p.sluice(&["apply", "--backup"]).code, 0);
}

#[tokio::test]
async fn a_missing_or_old_pg_dump_is_a_clear_error() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    let bin = tempfile::tempdir().unwrap();
    let dir = bin.path().to_str().unwrap();
    let out = run_sluice_env(p.root(), &["backup"], &[("SLUICE_PG_BINDIR", dir)]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("pg_dump not found in") && out.stderr.contains("SLUICE_PG_BINDIR"),
        "{}",
        out.stderr
    );

    let fake = bin.path().join("pg_dump");
    std::fs::write(&fake, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run_sluice_env(p.root(), &["backup"], &[("SLUICE_PG_BINDIR", dir)]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("is version 9, older than the server"), "{}", out.stderr);

    // An apply whose policy needs a backup stops before any migration runs.
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    let out = run_sluice_env(p.root(), &["apply", "--backup"], &[("SLUICE_PG_BINDIR", dir)]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let c = db.client().await;
    let gone: bool =
        c.query_one("SELECT to_regclass('public.a') IS NULL", &[]).await.unwrap().get(0);
    assert!(gone);
}

/// A young, active report query holding ACCESS SHARE on users: the pre-check names it as
/// a conflict with the ACCESS EXCLUSIVE the ALTER needs (a warning: it may finish in time),
/// passes when the migration only needs ROW EXCLUSIVE, and the lock timeouts of the dry run
/// and the apply name it as the blocker (asked after the timeout: 10 ms beats the watcher).
#[tokio::test]
async fn prechecks_and_the_dry_run_name_a_conflicting_reader() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "lock_timeout = \"10ms\"\nlock_retries = 1");
    p.write("1_a.up.sql", "CREATE TABLE users (id int, email text);\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    let reader = db.client().await;
    let cancel = reader.cancel_token();
    let running = tokio::spawn(async move {
        reader
            .batch_execute(
                "SET application_name = 'weekly-report'; SELECT pg_sleep(30), count(*) FROM users",
            )
            .await
    });
    let c = db.client().await;
    let mut pid = 0;
    for _ in 0..100 {
        let row = c
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'weekly-report' AND state = 'active'",
                &[],
            )
            .await
            .unwrap();
        if let Some(r) = row {
            pid = r.get(0);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(pid > 0, "the report query runs");
    let blocking = |out: &crate::support::Output| {
        out.json()["prechecks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "blocking sessions")
            .cloned()
            .unwrap()
    };
    p.write("2_insert.up.sql", "INSERT INTO users VALUES (1, 'a@example.com');\n");
    let out = p.sluice(&["apply", "--dry-run", "--format", "json"]);
    assert_eq!(
        blocking(&out)["outcome"],
        "pass",
        "ROW EXCLUSIVE waits for no reader: {}",
        out.stdout
    );
    assert_eq!(out.code, 0, "{}", out.stderr);

    p.write("3_alter.up.sql", "ALTER TABLE users ADD COLUMN note text;\n");
    let out = p.sluice(&["apply", "--dry-run", "--format", "json"]);
    let check = blocking(&out);
    assert_eq!(check["outcome"], "warn", "{check}");
    let figure = check["figure"].as_str().unwrap();
    for part in
        [&format!("pid {pid}"), "weekly-report", "ACCESS SHARE on users", "the ACCESS EXCLUSIVE"]
    {
        assert!(figure.contains(part), "{part} in {figure}");
    }
    assert_eq!(out.code, 3, "the dry run timed out on the lock: {}", out.stdout);
    let error = out.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(error.contains("lock timeout"), "{error}");
    assert!(
        error.contains(&format!("blocked by pid {pid}")) && error.contains("weekly-report"),
        "{error}"
    );
    let out = p.sluice(&["apply", "--format", "json"]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    let error = out.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(error.contains("after 2 attempts"), "{error}");
    assert!(error.contains(&format!("blocked by pid {pid}")), "{error}");
    cancel.cancel_query(tokio_postgres::NoTls).await.unwrap();
    assert!(running.await.unwrap().is_err(), "the report query was cancelled");
}
