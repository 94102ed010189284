//! The guarded apply wizard end to end: the real binary in a pseudo-terminal (tmux) against a
//! real PostgreSQL, on a production-tier environment that needs a backup, a ticket and a
//! second approver.

use std::process::Command;

use crate::demo::{tmux, wait_for};
use crate::support::{fresh_db, other_account, run_sluice_as, run_sluice_env, TestProject};

pub(crate) struct Pane {
    session: String,
}

impl Pane {
    /// `sluice --project P ARGS` in a new tmux session of `w`x`h`, with the project's data
    /// dir and any `env` assignments; it prints `EXITED <code>` when it ends.
    fn open(name: &str, p: &TestProject, env: &str, args: &str, w: u16, h: u16) -> Pane {
        Pane::open_at(name, p.root(), env, args, w, h)
    }

    /// `open`, on the project at `root`.
    pub(crate) fn open_at(
        name: &str,
        root: &std::path::Path,
        env: &str,
        args: &str,
        w: u16,
        h: u16,
    ) -> Pane {
        let pane = Pane { session: format!("sluice-{name}-{}", std::process::id()) };
        let cmd = format!(
            "{env} SLUICE_DATA_DIR={root}/.sluice-data {bin} --project {root} {args}; echo EXITED $?; sleep 30",
            root = root.display(),
            bin = env!("CARGO_BIN_EXE_sluice"),
        );
        let (w, h) = (w.to_string(), h.to_string());
        tmux(&["new-session", "-d", "-s", &pane.session, "-x", &w, "-y", &h, &cmd]);
        pane
    }

    pub(crate) fn screen(&self) -> String {
        tmux(&["capture-pane", "-p", "-J", "-t", &self.session])
    }
    pub(crate) fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.session.as_str()];
        args.extend_from_slice(keys);
        tmux(&args);
    }
    pub(crate) fn text(&self, text: &str) {
        tmux(&["send-keys", "-t", &self.session, "-l", text]);
    }
    /// Waits for `what`, then for a screen that holds still (tmux can be read between the
    /// chunks of one frame), and returns that screen for further checks.
    pub(crate) fn expect(&self, what: &str, secs: u64) -> String {
        let settled = std::cell::RefCell::new(String::new());
        let ok = wait_for(
            || {
                let a = self.screen();
                if !a.contains(what) {
                    return false;
                }
                std::thread::sleep(std::time::Duration::from_millis(60));
                let same = self.screen() == a;
                *settled.borrow_mut() = a;
                same
            },
            secs,
        );
        if !ok {
            let s = self.screen();
            tmux(&["kill-session", "-t", &self.session]);
            panic!("waited for {what:?}:\n{s}");
        }
        settled.into_inner()
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        tmux(&["kill-session", "-t", &self.session]);
    }
}

#[tokio::test]
async fn guarded_apply_on_production_with_two_approvers() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux not installed; skipped");
        return;
    }
    let Some(bob_account) = other_account() else { return };
    let db = fresh_db().await;
    let c = db.client().await;
    let backups = tempfile::tempdir().unwrap();
    let p = TestProject::new(
        &db,
        "production",
        &format!(
            "backup = {{ mode = \"required\", dir = \"{}\" }}\napprovals = {{ required = 2, ticket = \"required\" }}",
            backups.path().display()
        ),
    );
    p.write("1_orders.up.sql", "CREATE TABLE orders (id bigint PRIMARY KEY, status text);\n");
    p.write("1_orders.down.sql", "DROP TABLE orders;\n");
    p.write("2_note.up.sql", "ALTER TABLE orders ADD COLUMN note text;\n");
    p.write("2_note.down.sql", "ALTER TABLE orders DROP COLUMN note;\n");
    p.write(
        "3_status_idx.up.sql",
        "-- sluice:no-transaction\nCREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);\n",
    );
    p.write(
        "3_status_idx.down.sql",
        "-- sluice:no-transaction\nDROP INDEX CONCURRENTLY orders_status_idx;\n",
    );
    let pane = Pane::open("wizard", &p, "SLUICE_OPERATOR=dba.kim", "", 160, 48);
    pane.expect("Migrations (3)", 20);

    // a opens the wizard; pre-checks and lint run by themselves (they only read).
    pane.keys(&["a"]);
    let s = pane.expect("continue to Backup", 20);
    assert!(s.contains("Apply to DEV · 3 migration(s) (1 → 3)"), "{s}");
    let run_id = s
        .lines()
        .find_map(|l| l.split("run ").nth(1).and_then(|r| r.split_whitespace().next()))
        .expect("the wizard names its run")
        .to_string();
    pane.keys(&["Enter"]);
    assert!(
        pane.expect("continue to Dry run", 30).contains(backups.path().to_str().unwrap()),
        "the backup file is shown"
    );
    pane.keys(&["Enter"]);
    assert!(
        pane.expect("continue to Confirm", 30).contains("not rehearsable"),
        "the CONCURRENTLY index is flagged"
    );
    pane.keys(&["Enter"]);
    pane.expect("Type the environment name", 10);

    // A wrong name is refused; the right one with the second approver's code applies.
    pane.text("prod");
    pane.keys(&["Enter"]);
    pane.expect("does not match", 10);
    pane.keys(&["BSpace", "BSpace", "BSpace", "BSpace"]);
    pane.text("dev");
    // The operator's own account cannot approve the run, whatever name it gives.
    let own = run_sluice_env(p.root(), &["approve", &run_id], &[("SLUICE_OPERATOR", "bob")]);
    assert_eq!(own.code, 1, "{}", own.stderr);
    assert!(own.stderr.contains("is the operator of run"), "{}", own.stderr);
    let bob = [("SLUICE_OPERATOR", "bob")];
    let approve =
        run_sluice_as(bob_account, p.root(), &["approve", &run_id, "--format", "json"], &bob);
    assert_eq!(approve.code, 0, "{}", approve.stderr);
    let code = approve.json()["code"].as_str().unwrap().to_string();
    pane.keys(&["Tab"]);
    pane.text("bob");
    pane.keys(&["Tab"]);
    pane.text(&code);
    pane.keys(&["Tab"]);
    pane.text("CHG-4411");
    pane.keys(&["Enter"]);
    let s = pane.expect("Outcome: done", 30);
    assert!(s.contains("Second approver: bob"), "{s}");
    assert!(s.contains("Ticket: CHG-4411"), "{s}");

    let n: i64 = c
        .query_one("SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_status_idx'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "the index was built");
    let row = c
        .query_one(
            "SELECT outcome, operator, details::text FROM sluice.runs WHERE run_id = $1",
            &[&run_id],
        )
        .await
        .unwrap();
    let (outcome, operator, details): (String, String, String) =
        (row.get(0), row.get(1), row.get(2));
    assert_eq!((outcome.as_str(), operator.as_str()), ("done", "dba.kim"));
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["approvals"][0]["approver"], "bob");
    assert_eq!(details["ticket"], "CHG-4411");
    let stages: Vec<&str> = details["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["pre-checks", "lint", "backup", "dry-run", "apply"]);
    let dumps = std::fs::read_dir(backups.path()).unwrap().count();
    assert!(dumps >= 1, "a backup file was written");

    // Enter closes the report and reloads: every migration applied.
    pane.keys(&["Enter"]);
    pane.expect("✓ 3 status_idx", 20);

    // 3 a.m.: u, Enter takes the safe default (the newest migration only), the typed name,
    // the second approver's code (issued before the run) and a ticket, Enter runs it.
    pane.keys(&["u"]);
    assert!(pane
        .expect("Roll back 3_status_idx only (down SQL from file)", 20)
        .contains("DROP INDEX CONCURRENTLY orders_status_idx"));
    pane.keys(&["Enter"]);
    pane.expect("Type the environment name to roll back", 10);
    let approve = run_sluice_as(bob_account, p.root(), &["approve", "--format", "json"], &bob);
    assert_eq!(approve.code, 0, "{}", approve.stderr);
    let code = approve.json()["code"].as_str().unwrap().to_string();
    pane.text("dev");
    pane.keys(&["Tab"]);
    pane.text("bob");
    pane.keys(&["Tab"]);
    pane.text(&code);
    pane.keys(&["Tab"]);
    pane.text("INC-77");
    pane.keys(&["Enter"]);
    pane.expect("Outcome: done", 60);
    let n: i64 = c
        .query_one("SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_status_idx'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "the index was dropped");
    let row = c
        .query_one("SELECT outcome, details::text FROM sluice.runs WHERE action = 'rollback'", &[])
        .await
        .unwrap();
    let (outcome, details): (String, String) = (row.get(0), row.get(1));
    assert_eq!(outcome, "done");
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["approvals"][0]["approver"], "bob");
    assert_eq!(details["ticket"], "INC-77");
    let state: String = c
        .query_one(
            "SELECT direction FROM sluice.history WHERE version = '3' ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, "down");
    pane.keys(&["Enter"]);
    pane.expect("• 3 status_idx", 20);
    pane.keys(&["q"]);
    pane.expect("EXITED", 10);
}

#[tokio::test]
async fn sluice_rollback_without_a_target_opens_the_emergency_rollback_in_a_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux not installed; skipped");
        return;
    }
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    p.write("1_a.down.sql", "DROP TABLE a;\n");
    p.write("2_b.up.sql", "CREATE TABLE b (id int);\n");
    p.write("2_b.down.sql", "DROP TABLE b;\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    let pane = Pane::open("rollback", &p, "", "rollback", 120, 40);
    pane.expect("← Enter", 20);
    // Two keys on a development tier: Enter takes the default, Enter runs it.
    pane.keys(&["Enter"]);
    pane.expect("Enter runs it", 10);
    pane.keys(&["Enter"]);
    pane.expect("Outcome: done", 30);
    let c = db.client().await;
    let b: bool = c.query_one("SELECT to_regclass('b') IS NULL", &[]).await.unwrap().get(0);
    let a: bool = c.query_one("SELECT to_regclass('a') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(a && b, "only the newest migration was rolled back");
    pane.keys(&["q"]);
    pane.expect("EXITED 0", 10);
    // Headless, with no terminal, the same command says what it needs.
    let out = p.sluice(&["rollback"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--steps N or --to VERSION"), "{}", out.stderr);
}

#[tokio::test]
async fn sluice_resolve_in_a_terminal_opens_the_recovery_and_undoes_what_ran() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux not installed; skipped");
        return;
    }
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write(
        "1_dups.up.sql",
        "CREATE TABLE dups (v int, note text);\nINSERT INTO dups VALUES (1, ''), (1, '');\n",
    );
    assert_eq!(p.sluice(&["apply"]).code, 0);
    let before = crate::support::catalog(&c).await;
    p.write(
        "2_half.up.sql",
        "-- sluice:no-transaction\nCREATE TABLE c1 (id int);\nUPDATE dups SET note = 'x' WHERE note = '';\nCREATE UNIQUE INDEX CONCURRENTLY dups_v_key ON dups (v);\nCREATE TABLE never_made (id int);\n",
    );
    assert_eq!(p.sluice(&["apply"]).code, 3);

    let pane = Pane::open("recover", &p, "", "resolve", 140, 45);
    let s = pane.expect("2_half failed at statement 3 of 4", 20);
    assert!(s.contains("INVALID index dups_v_key"), "{s}");
    assert!(s.contains("could not create unique index"), "{s}");
    // Undo what ran: statement 2 (an UPDATE) has no automatic undo, so a reason is asked.
    pane.keys(&["2"]);
    pane.expect("DROP TABLE IF EXISTS c1;", 10);
    pane.keys(&["Enter"]);
    pane.expect("Why (recorded)", 10);
    pane.keys(&["Enter"]);
    pane.expect("say how the statements with no automatic undo were undone", 10);
    pane.text("notes are scratch");
    pane.keys(&["Enter"]);
    pane.expect("Outcome: done", 30);
    assert_eq!(crate::support::catalog(&c).await, before, "what ran was undone");
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(j["migrations"][1]["state"], "pending");
    let reason: String = c
        .query_one(
            "SELECT details->>'reason' FROM sluice.runs WHERE action = 'resolve' AND outcome = 'done'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(reason, "notes are scratch");
    pane.keys(&["q"]);
    pane.expect("EXITED 0", 10);
}

#[tokio::test]
async fn the_emergency_rollback_restores_the_newest_backup() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux not installed; skipped");
        return;
    }
    let db = fresh_db().await;
    let c = db.client().await;
    let backups = tempfile::tempdir().unwrap();
    let p = TestProject::new(
        &db,
        "development",
        &format!("backup = {{ mode = \"required\", dir = \"{}\" }}", backups.path().display()),
    );
    p.write("1_keep.up.sql", "CREATE TABLE keep (id int);\nINSERT INTO keep VALUES (7);\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    // The backup the next apply takes holds `keep` with its row and no `gone`.
    p.write("2_gone.up.sql", "CREATE TABLE gone (id int);\nDELETE FROM keep WHERE id = 7;\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);

    let pane = Pane::open("restore", &p, "", "rollback", 140, 45);
    let s = pane.expect("← Enter", 20);
    assert!(s.contains("2_gone") || s.contains("2 gone"), "{s}");
    assert!(
        s.contains("cannot: 2 has no down SQL"),
        "no down file: the default is the restore\n{s}"
    );
    pane.expect("▶2 Restore backup", 5);
    pane.keys(&["Enter"]);
    pane.expect("Enter runs it", 10);
    pane.keys(&["Enter"]);
    pane.expect("Outcome: done", 60);
    let gone: bool = c.query_one("SELECT to_regclass('gone') IS NULL", &[]).await.unwrap().get(0);
    assert!(gone, "the table made after the backup is gone");
    let n: i64 = c.query_one("SELECT count(*) FROM keep WHERE id = 7", &[]).await.unwrap().get(0);
    assert_eq!(n, 1, "the deleted row is back");
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(j["migrations"][1]["state"], "pending", "the ledger is the backup's");
    let restores: i64 = c
        .query_one("SELECT count(*) FROM sluice.runs WHERE action = 'restore'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(restores, 1, "the restore is recorded after the restored ledger");
    pane.keys(&["q"]);
    pane.expect("EXITED 0", 10);
}

/// The console on a Flyway folder, unchanged: versions in Flyway's order (1.10 after 1.9),
/// the repeatable last, and the guided apply runs them all.
#[tokio::test]
async fn the_console_lists_and_applies_a_flyway_folder() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux not installed; skipped");
        return;
    }
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    crate::layouts::copy_fixture(&p, "flyway");
    let pane = Pane::open("flyway", &p, "", "", 160, 48);
    let s = pane.expect("Migrations (8)", 20);
    let at = |what: &str| s.find(what).unwrap_or_else(|| panic!("{what} on screen:\n{s}"));
    assert!(at("1.9 ") < at("1.10 ") && at("1.10 ") < at("1.11 "), "{s}");
    assert!(at("1.11 ") < at("R__order_totals"), "{s}");
    pane.keys(&["a"]);
    // Development tier: Enter through pre-checks, backup, dry run and confirm.
    for _ in 0..10 {
        if pane.screen().contains("Outcome: done") {
            break;
        }
        pane.keys(&["Enter"]);
        wait_for(|| pane.screen().contains("Outcome: done"), 3);
    }
    pane.expect("Outcome: done", 30);
    let c = db.client().await;
    let view: bool =
        c.query_one("SELECT to_regclass('order_totals') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(view, "the repeatable ran");
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert!(j["migrations"].as_array().unwrap().iter().all(|m| m["state"] == "applied"), "{j}");
}

/// A Knex project in the console: the list names Knex's migrations once, the SQL tab shows
/// the migration's source, and the guided apply goes pre-checks, lint (nothing to lint),
/// backup, the dry run on a copy, confirm, apply through knex, report.
#[tokio::test]
async fn the_console_applies_a_knex_project_through_knex() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux not installed; skipped");
        return;
    }
    if crate::code_tools::tool("node_modules/.bin/knex").is_none() {
        return;
    }
    let db = fresh_db().await;
    let p = crate::code_apply::project(&db, "knex", "");
    let pane = Pane::open("knex", &p, "", "", 160, 48);
    let s = pane.expect("Migrations (3)", 20);
    assert!(s.contains("• 20240101090000_create_accounts  pending"), "{s}");
    assert!(s.contains("knex.schema.createTable('accounts'"), "the SQL tab shows the source:\n{s}");
    pane.keys(&["a"]);
    pane.expect("knex prints no SQL before they run: nothing to lint", 20);
    pane.keys(&["Enter"]);
    pane.expect("continue to Dry run", 20);
    pane.keys(&["Enter"]);
    let s = pane.expect("continue to Confirm", 60);
    assert!(s.contains("3 migration(s) rehearsed"), "the dry run on a copy:\n{s}");
    let none: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM pg_tables WHERE tablename = 'accounts'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(none, 0, "the rehearsal left the target as it was");
    pane.keys(&["Enter"]);
    pane.expect("Enter applies.", 20);
    for _ in 0..5 {
        if pane.screen().contains("Outcome: done") {
            break;
        }
        pane.keys(&["Enter"]);
        wait_for(|| pane.screen().contains("Outcome: done"), 5);
    }
    pane.expect("Outcome: done", 30);
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert!(j["migrations"].as_array().unwrap().iter().all(|m| m["state"] == "applied"), "{j}");
    let c = db.client().await;
    let ran: i64 = c.query_one("SELECT count(*) FROM knex_migrations", &[]).await.unwrap().get(0);
    assert_eq!(ran, 3, "knex recorded each migration it ran");
}
