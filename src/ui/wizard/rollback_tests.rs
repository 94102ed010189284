//! The emergency rollback driven by keys: the safe default, few keypresses, refusals.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::*;
use crate::core::backup::BackupFile;
use crate::core::exec::emergency::{DownPlan, LastRun};
use crate::core::lint::{Finding, Severity};

fn down(v: &str, name: &str, source: Option<&'static str>, sql: &str) -> DownPlan {
    DownPlan {
        version: v.into(),
        name: name.into(),
        source,
        sql: source.map(|_| sql.to_string()),
        findings: Vec::new(),
    }
}

fn plan() -> RollbackPlan {
    let mut newest =
        down("0013", "order_uuid", Some("file"), "ALTER TABLE orders DROP COLUMN order_uuid;");
    newest.findings.push(Finding {
        file: "0013_order_uuid.down.sql".into(),
        line: 1,
        column: 1,
        rule: "ban-drop-column",
        severity: Severity::Warning,
        message: "orders.order_uuid: dropping a column loses its data".into(),
        help: "expected in a rollback".into(),
        lock: Some("ACCESS EXCLUSIVE"),
        rewrites: false,
        excerpt: String::new(),
    });
    RollbackPlan {
        applied: vec![
            newest,
            down("0012", "orders_note", Some("ledger"), "ALTER TABLE orders DROP COLUMN note;"),
            down("0011", "orders_index", Some("file"), "DROP INDEX orders_status_idx;"),
            down("0010", "base", Some("file"), "DROP TABLE orders;"),
        ],
        last_run: Some(LastRun {
            run_id: "7f3a2b1c".into(),
            operator: "dba.kim".into(),
            started_at: "2026-11-23T02:14:00Z".into(),
            outcome: "done".into(),
            versions: vec!["0011".into(), "0012".into(), "0013".into()],
        }),
        backups: vec![BackupFile {
            path: "/backups/prod_20261123T021200Z_pre-0013.dump".into(),
            bytes: 2_254_857_830,
            age_s: 720,
        }],
    }
}

fn loaded(tier: &str, approvals: u8) -> RollbackWizard {
    let mut w = RollbackWizard::new("prod", tier, approvals, false);
    w.on_msg(RunMsg::RollbackPlan(Ok(Box::new(plan()))));
    w
}

fn typed(w: &mut RollbackWizard, text: &str) {
    for c in text.chars() {
        w.on_key(Key::Char(c));
    }
}

#[test]
fn the_safe_default_runs_in_two_keys_and_the_typed_name() {
    let mut w = loaded("production", 1);
    assert_eq!(w.options.len(), 3, "{:?}", w.options);
    assert!(w.options[1].label.contains("whole run 7f3a2b1c (0013, 0012, 0011)"));
    assert!(w.options[1].label.contains("down from the ledger for 0012"));
    assert!(w.options[2].label.contains("taken 12 min ago"));
    assert_eq!(w.selected, 0, "the newest migration only is the default");
    assert!(w.on_key(Key::Enter).is_empty());
    assert_eq!(w.phase, Phase::Confirm);
    typed(&mut w, "prdo");
    assert!(w.on_key(Key::Enter).is_empty(), "a wrong name is refused");
    assert!(w.note.as_deref().unwrap().contains("does not match"));
    for _ in 0..3 {
        w.on_key(Key::Backspace);
    }
    typed(&mut w, "rod");
    let out = w.on_key(Key::Enter);
    let sign = Sign { confirm: Some("prod".into()), ticket: None, approval: None };
    assert_eq!(out, [Effect::Run(RunCmd::Rollback { choice: Choice::Steps(1), sign })]);
    assert_eq!(w.phase, Phase::Running);
}

#[test]
fn whole_run_restore_and_two_approvers() {
    let mut w = loaded("production", 2);
    w.on_key(Key::Char('3'));
    w.on_key(Key::Enter);
    typed(&mut w, "prod");
    assert!(w.on_key(Key::Enter).is_empty(), "the second approver is missing");
    assert!(w.note.as_deref().unwrap().contains("sluice approve --env prod"));
    w.on_key(Key::Tab);
    typed(&mut w, "bob");
    w.on_key(Key::Tab);
    typed(&mut w, "ABCD-EFGH");
    let out = w.on_key(Key::Enter);
    let Effect::Run(RunCmd::Rollback { choice, sign }) = &out[0] else { panic!("{out:?}") };
    assert_eq!(*choice, Choice::Restore("/backups/prod_20261123T021200Z_pre-0013.dump".into()));
    assert_eq!(sign.approval, Some(("bob".into(), "ABCD-EFGH".into())));

    let mut w = loaded("development", 1);
    w.on_key(Key::Down);
    let out = [w.on_key(Key::Enter), w.on_key(Key::Enter)].concat();
    assert!(
        matches!(&out[..], [Effect::Run(RunCmd::Rollback { choice: Choice::Steps(3), .. })]),
        "{out:?}"
    );
}

#[test]
fn unavailable_options_explain_and_nothing_runs() {
    let mut p = plan();
    p.applied[0] = down("0013", "order_uuid", None, "");
    let mut w = RollbackWizard::new("dev", "development", 1, false);
    w.on_msg(RunMsg::RollbackPlan(Ok(Box::new(p))));
    assert_eq!(w.selected, 2, "the default skips what cannot run: the restore");
    w.on_key(Key::Char('1'));
    assert!(w.on_key(Key::Enter).is_empty());
    assert!(w.note.as_deref().unwrap().contains("no down SQL"));
    assert_eq!(w.on_key(Key::Esc), [Effect::Close], "Esc closes: nothing was locked or written");
}

#[test]
fn a_running_rollback_asks_before_quitting_or_cancelling() {
    let mut w = loaded("development", 1);
    w.on_key(Key::Enter);
    w.on_key(Key::Enter);
    assert!(w.quit().is_empty());
    assert_eq!(w.on_key(Key::Char('y')), [Effect::Run(RunCmd::Cancel)]);
    assert!(w.quit_after);
    let mut r = crate::ui::wizard::tests::report();
    r.action = "rollback".into();
    r.outcome = "cancelled".into();
    assert_eq!(w.on_msg(RunMsg::Finished { report: r, path: String::new() }), [Effect::Quit]);
}

fn render(w: &RollbackWizard, width: u16, height: u16) -> String {
    let mut m = crate::ui::model::tests::sample();
    m.env = 2;
    m.rollback = Some(w.clone());
    let mut t = Terminal::new(TestBackend::new(width, height)).unwrap();
    t.draw(|f| crate::ui::view::view(&m, f)).unwrap();
    t.backend().to_string()
}

#[test]
fn every_phase_renders() {
    let mut w = RollbackWizard::new("prod", "production", 2, true);
    insta::assert_snapshot!("rollback_loading_80x24", render(&w, 80, 24));
    w.on_msg(RunMsg::RollbackPlan(Ok(Box::new(plan()))));
    insta::assert_snapshot!("rollback_choose_160x48", render(&w, 160, 48));
    insta::assert_snapshot!("rollback_choose_80x24", render(&w, 80, 24));
    w.on_key(Key::Enter);
    typed(&mut w, "prod");
    insta::assert_snapshot!("rollback_confirm_160x48", render(&w, 160, 48));
    let mut r = crate::ui::wizard::tests::report();
    r.action = "rollback".into();
    r.outcome = "done".into();
    r.rehearsal.clear();
    w.on_msg(RunMsg::Finished { report: r, path: "/reports/prod/7f3a2b1c.md".into() });
    insta::assert_snapshot!("rollback_done_80x24", render(&w, 80, 24));
}
