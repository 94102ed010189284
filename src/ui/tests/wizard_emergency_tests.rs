//! The emergency rollback and the recovery driven by keys: the safe default, few keypresses,
//! refusals.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::wizard_apply::tab;
use crate::core::data::lint::{Finding, Severity};
use crate::core::guard::backup::BackupFile;
use crate::core::guard::policy::Sign;
use crate::core::query::emergency::RollbackPlan;
use crate::core::query::emergency::{DownPlan, LastRun};
use crate::core::query::recovery::Recovery;
use crate::core::query::recovery::{Reached, RecoveryStatement};
use crate::ui::keymap::Keymap;
use crate::ui::model::wizard::emergency::{EmergencyWizard, Kind, Phase};
use crate::ui::model::wizard::offers::Choice;
use crate::ui::model::wizard::{Control, Effect, EmergencyCmd, EmergencyMsg, RunNews};
use crate::ui::model::{Key, Overlay};

fn down(v: &str, name: &str, source: Option<&'static str>, sql: &str) -> DownPlan {
    DownPlan {
        version: v.into(),
        name: name.into(),
        source,
        sql: source.map(|_| sql.to_string()),
        empty: source.is_some() && sql.is_empty(),
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
        created_by_run: None,
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

/// The prod tab at this tier (the emergency screens are tried on prod's name).
fn prod(tier: &str, approvals: u8) -> crate::ui::model::EnvTab {
    crate::ui::model::EnvTab { name: "prod".into(), ..tab(tier, approvals) }
}

fn loaded(tier: &str, approvals: u8) -> EmergencyWizard {
    let mut w = EmergencyWizard::new(Kind::Rollback, &prod(tier, approvals));
    w.on_msg(EmergencyMsg::RollbackPlan(Ok(Box::new(plan()))));
    w
}

fn key(w: &mut EmergencyWizard, k: Key) -> Vec<Effect<EmergencyCmd>> {
    w.on_key(k, &Keymap::default().wizard)
}

fn typed(w: &mut EmergencyWizard, text: &str) {
    for c in text.chars() {
        key(w, Key::Char(c));
    }
}

#[test]
fn the_safe_default_runs_in_two_keys_and_the_typed_name() {
    let mut w = loaded("production", 1);
    assert_eq!(w.offers.len(), 3, "{:?}", w.offers);
    assert!(w.offers[1].label.contains("whole run 7f3a2b1c (0013, 0012, 0011)"));
    assert!(w.offers[1].label.contains("down from the ledger for 0012"));
    assert!(w.offers[2].label.contains("taken 12 min ago"));
    assert_eq!(w.selected, 0, "the newest migration only is the default");
    assert!(key(&mut w, Key::Enter).is_empty());
    assert_eq!(w.phase, Phase::Confirm);
    typed(&mut w, "prdo");
    assert!(key(&mut w, Key::Enter).is_empty(), "a wrong name is refused");
    assert!(w.core.note.as_deref().unwrap().contains("does not match"));
    for _ in 0..3 {
        key(&mut w, Key::Backspace);
    }
    typed(&mut w, "rod");
    let out = key(&mut w, Key::Enter);
    let sign = Sign { confirm: Some("prod".into()), ticket: None, approval: None };
    assert_eq!(
        out,
        [Effect::Send(EmergencyCmd::Take { choice: Choice::Steps(1), sign, reason: None })]
    );
    assert_eq!(w.phase, Phase::Running);
}

#[test]
fn whole_run_restore_and_two_approvers() {
    let mut w = loaded("production", 2);
    key(&mut w, Key::Char('3'));
    key(&mut w, Key::Enter);
    typed(&mut w, "prod");
    assert!(key(&mut w, Key::Enter).is_empty(), "the second approver is missing");
    assert!(w.core.note.as_deref().unwrap().contains("sluice approve --env prod"));
    key(&mut w, Key::Tab);
    typed(&mut w, "bob");
    key(&mut w, Key::Tab);
    typed(&mut w, "ABCD-EFGH");
    let out = key(&mut w, Key::Enter);
    let Effect::Send(EmergencyCmd::Take { choice, sign, .. }) = &out[0] else { panic!("{out:?}") };
    assert_eq!(*choice, Choice::Restore("/backups/prod_20261123T021200Z_pre-0013.dump".into()));
    assert_eq!(sign.approval, Some(("bob".into(), "ABCD-EFGH".into())));

    let mut w = loaded("development", 1);
    key(&mut w, Key::Down);
    let out = [key(&mut w, Key::Enter), key(&mut w, Key::Enter)].concat();
    assert!(
        matches!(&out[..], [Effect::Send(EmergencyCmd::Take { choice: Choice::Steps(3), .. })]),
        "{out:?}"
    );
}

#[test]
fn unavailable_options_explain_and_nothing_runs() {
    let mut p = plan();
    p.applied[0] = down("0013", "order_uuid", None, "");
    let mut w = EmergencyWizard::new(Kind::Rollback, &tab("development", 1));
    w.on_msg(EmergencyMsg::RollbackPlan(Ok(Box::new(p))));
    assert_eq!(w.selected, 2, "the default skips what cannot run: the restore");
    key(&mut w, Key::Char('1'));
    assert!(key(&mut w, Key::Enter).is_empty());
    assert!(w.core.note.as_deref().unwrap().contains("no down SQL"));
    assert_eq!(key(&mut w, Key::Esc), [Effect::Close], "Esc closes: nothing was locked or written");
}

#[test]
fn a_running_rollback_asks_before_quitting_or_cancelling() {
    let mut w = loaded("development", 1);
    key(&mut w, Key::Enter);
    key(&mut w, Key::Enter);
    assert!(w.quit().is_empty());
    assert_eq!(key(&mut w, Key::Char('y')), [Effect::Send(EmergencyCmd::Control(Control::Cancel))]);
    assert!(w.core.quit_after);
    let mut r = super::wizard_apply::report();
    r.action = "rollback".into();
    r.outcome = "cancelled".into();
    assert_eq!(
        w.on_msg(EmergencyMsg::News(RunNews::Finished { report: r, path: String::new() })),
        [Effect::Quit]
    );
}

fn render(w: &EmergencyWizard, width: u16, height: u16) -> String {
    let mut m = crate::ui::model::tests::sample();
    m.env = 2;
    m.overlays.push(Overlay::Emergency(Box::new(w.clone())));
    let mut t = Terminal::new(TestBackend::new(width, height)).unwrap();
    t.draw(|f| crate::ui::view::view(&m, f)).unwrap();
    t.backend().to_string()
}

#[test]
fn every_phase_renders() {
    let mut env = prod("production", 2);
    env.needs.ticket = crate::core::data::config::TicketPolicy::Required;
    let mut w = EmergencyWizard::new(Kind::Rollback, &env);
    insta::assert_snapshot!("rollback_loading_80x24", render(&w, 80, 24));
    w.on_msg(EmergencyMsg::RollbackPlan(Ok(Box::new(plan()))));
    insta::assert_snapshot!("rollback_choose_160x48", render(&w, 160, 48));
    insta::assert_snapshot!("rollback_choose_80x24", render(&w, 80, 24));
    key(&mut w, Key::Enter);
    typed(&mut w, "prod");
    insta::assert_snapshot!("rollback_confirm_160x48", render(&w, 160, 48));
    let mut r = super::wizard_apply::report();
    r.action = "rollback".into();
    r.outcome = "done".into();
    r.rehearsal.clear();
    w.on_msg(EmergencyMsg::News(RunNews::Finished {
        report: r,
        path: "/reports/prod/7f3a2b1c.md".into(),
    }));
    insta::assert_snapshot!("rollback_done_80x24", render(&w, 80, 24));
}

fn failed() -> Recovery {
    let st = |n: usize, line: usize, text: &str, reached: Reached, undo: Option<&str>| {
        RecoveryStatement {
            number: n,
            line,
            text: text.into(),
            reached,
            undo: undo.map(Into::into),
        }
    };
    Recovery {
        version: "0014".into(),
        name: "orders_indexes".into(),
        direction: "up".into(),
        failed_at: 3,
        error: Some(
            "could not create unique index \"orders_ref_key\": Key (ref)=(A-17) is duplicated. (SQLSTATE 23505)".into(),
        ),
        run_id: Some("9c1d2e3f".into()),
        when: "2026-11-23T02:31:07Z".into(),
        statements: vec![
            st(1, 2, "CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status)", Reached::Done, Some("DROP INDEX CONCURRENTLY IF EXISTS orders_status_idx")),
            st(2, 3, "UPDATE orders SET ref = upper(ref) WHERE ref <> upper(ref)", Reached::Done, None),
            st(3, 4, "CREATE UNIQUE INDEX CONCURRENTLY orders_ref_key ON orders (ref)", Reached::Failed, None),
            st(4, 5, "ALTER TABLE orders ADD CONSTRAINT orders_ref_uq UNIQUE USING INDEX orders_ref_key", Reached::NotRun, None),
        ],
        interrupted: None,
        invalid_index: Some("orders_ref_key".into()),
        compensating: vec![
            "DROP INDEX CONCURRENTLY IF EXISTS orders_ref_key".into(),
            "DROP INDEX CONCURRENTLY IF EXISTS orders_status_idx".into(),
        ],
        by_hand: vec![2],
        retry_blocked: None,
        retry_statements: vec![
            "CREATE UNIQUE INDEX CONCURRENTLY orders_ref_key ON orders (ref)".into(),
            "ALTER TABLE orders ADD CONSTRAINT orders_ref_uq UNIQUE USING INDEX orders_ref_key".into(),
        ],
    }
}

fn recovering(tier: &str, r: Recovery) -> EmergencyWizard {
    let mut w = EmergencyWizard::new(Kind::Recover, &prod(tier, 1));
    w.on_msg(EmergencyMsg::Recovery(Ok(Some(Box::new(r)))));
    w
}

#[test]
fn recovery_retries_by_default_with_the_typed_name() {
    let mut w = recovering("production", failed());
    assert_eq!(w.phase, Phase::Choose);
    assert_eq!(w.selected, 0, "retry is the default");
    assert!(w.offers[0].label.contains("dropping the INVALID index orders_ref_key first"));
    assert!(w.offers[1].label.contains("2 compensating statement(s), 1 by hand"));
    key(&mut w, Key::Enter);
    typed(&mut w, "prod");
    let out = key(&mut w, Key::Enter);
    let sign = Sign { confirm: Some("prod".into()), ticket: None, approval: None };
    assert_eq!(
        out,
        [Effect::Send(EmergencyCmd::Take {
            choice: Choice::Retry("0014".into()),
            sign,
            reason: None
        })]
    );
}

#[test]
fn undoing_with_a_statement_left_by_hand_needs_a_reason() {
    let mut w = recovering("development", failed());
    key(&mut w, Key::Char('2'));
    key(&mut w, Key::Enter);
    assert_eq!(w.phase, Phase::Confirm);
    assert!(key(&mut w, Key::Enter).is_empty(), "a blank reason is refused");
    assert!(w.core.note.as_deref().unwrap().contains("no automatic undo"), "{:?}", w.core.note);
    typed(&mut w, "refs were upper-cased already");
    let out = key(&mut w, Key::Enter);
    let Effect::Send(EmergencyCmd::Take { choice, reason, .. }) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(*choice, Choice::Compensate("0014".into()));
    assert_eq!(reason.as_deref(), Some("refs were upper-cased already"));

    // Marking it applied always needs one; Esc goes back and nothing ran.
    let mut w = recovering("testing", failed());
    key(&mut w, Key::Char('3'));
    key(&mut w, Key::Enter);
    assert!(key(&mut w, Key::Enter).is_empty());
    assert!(w.core.note.as_deref().unwrap().contains("finished it by hand"));
    assert_eq!(key(&mut w, Key::Esc), []);
    assert_eq!(w.phase, Phase::Choose);
    assert_eq!(key(&mut w, Key::Esc), [Effect::Close]);
}

#[test]
fn a_blocked_retry_is_explained_and_the_default_moves_on() {
    let mut r = failed();
    r.retry_blocked = Some("statement 1 of the file changed since it ran".into());
    let mut w = recovering("development", r);
    assert_eq!(w.selected, 1);
    key(&mut w, Key::Char('1'));
    assert!(key(&mut w, Key::Enter).is_empty());
    assert!(w.core.note.as_deref().unwrap().contains("changed since it ran"));
    let mut w = EmergencyWizard::new(Kind::Recover, &tab("development", 1));
    w.on_msg(EmergencyMsg::Recovery(Ok(None)));
    assert_eq!(w.phase, Phase::Done);
    assert!(w.error.as_deref().unwrap().contains("nothing to recover"));
}

#[test]
fn every_recovery_phase_renders() {
    let mut w = EmergencyWizard::new(Kind::Recover, &prod("production", 1));
    insta::assert_snapshot!("recover_loading_80x24", render(&w, 80, 24));
    w.on_msg(EmergencyMsg::Recovery(Ok(Some(Box::new(failed())))));
    insta::assert_snapshot!("recover_retry_160x48", render(&w, 160, 48));
    insta::assert_snapshot!("recover_retry_80x24", render(&w, 80, 24));
    key(&mut w, Key::Char('2'));
    insta::assert_snapshot!("recover_undo_160x48", render(&w, 160, 48));
    key(&mut w, Key::Enter);
    typed(&mut w, "refs were upper-cased already");
    insta::assert_snapshot!("recover_undo_confirm_160x48", render(&w, 160, 48));
    key(&mut w, Key::Char('3'));
    key(&mut w, Key::Esc);
    key(&mut w, Key::Char('3'));
    insta::assert_snapshot!("recover_mark_applied_160x48", render(&w, 160, 48));
}

/// A Knex project: the wizard offers the tool's own down, shows the migration's source, and
/// says there is no SQL to lint.
#[test]
fn a_code_tools_rollback_shows_the_migration_the_tool_undoes() {
    let mut w = EmergencyWizard::new(Kind::Rollback, &prod("production", 1));
    let source = "exports.up = (knex) => knex.schema.alterTable('accounts', (t) => t.string('plan'));\nexports.down = (knex) => knex.schema.alterTable('accounts', (t) => t.dropColumn('plan'));";
    let plan = RollbackPlan {
        applied: vec![
            down("20240102090000_add_plan", "add_plan", Some("knex"), source),
            down("20240101090000_create_accounts", "create_accounts", Some("knex"), "..."),
        ],
        last_run: None,
        backups: Vec::new(),
    };
    w.on_msg(EmergencyMsg::RollbackPlan(Ok(Box::new(plan))));
    let screen = render(&w, 160, 48);
    assert!(
        screen.contains("Migration 20240102090000_add_plan (knex runs the migration's own down)"),
        "{screen}"
    );
    assert!(screen.contains("No SQL to lint: the down is code"), "{screen}");
    insta::assert_snapshot!("rollback_knex_160x48", screen);
}
