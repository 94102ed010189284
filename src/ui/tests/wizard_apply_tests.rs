//! The wizard driven by keys and run messages: every path, and a snapshot of every step.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::core::data::config::{TicketPolicy, Tier};
use crate::core::data::lint::{Finding, Severity};
use crate::core::exec::Planned;
use crate::core::guard::policy::Requirements;
use crate::core::guard::precheck::{Check, Outcome};
use crate::core::record::report::{
    Event, MigrationReport, Override, RunReport, Stage, StageOutcome, StageResult, StatementReport,
};
use crate::ui::keymap::Keymap;
use crate::ui::model::wizard::apply::{ApplyStep, ApplyWizard};
use crate::ui::model::wizard::{ApplyCmd, ApplyMsg, Ask, Control, Effect, RunNews, WAIT_LONGER_MS};
use crate::ui::model::{EnvTab, Key, Overlay};

fn result(stage: Stage, outcome: StageOutcome, summary: &str) -> StageResult {
    StageResult { stage, outcome, summary: summary.into(), duration_ms: 12, refusal: None }
}

pub fn report() -> Box<RunReport> {
    Box::new(RunReport {
        run_id: "7f3a2b1c".into(),
        environment: "prod".into(),
        action: "apply".into(),
        outcome: "running".into(),
        migrations: Vec::new(),
        duration_ms: 0,
        backup: None,
        verify: Vec::new(),
        schema_diff: Some(
            "--- before\n+++ after\n@@ -1 +1,2 @@\n TABLE orders\n+  COLUMN plan text\n".into(),
        ),
        error: None,
        stages: Vec::new(),
        prechecks: vec![
            Check {
                name: "connections".into(),
                outcome: Outcome::Pass,
                figure: "12 of 100".into(),
            },
            Check {
                name: "idle in transaction".into(),
                outcome: Outcome::Warn,
                figure: "pid 8812 (etl) 41 min".into(),
            },
        ],
        overrides: Vec::new(),
        rehearsal: vec![MigrationReport {
            version: "0006".into(),
            name: "add_plan_column".into(),
            direction: "up".into(),
            source: "file".into(),
            transactional: true,
            rehearsed: true,
            duration_ms: 41,
            lock_retries: 0,
            queue_victims: 0,
            statements: vec![StatementReport {
                index: 1,
                line: 1,
                rows: 0,
                duration_ms: 40,
                locks: vec![crate::core::record::report::LockTaken {
                    relation: "public.orders".into(),
                    mode: crate::core::data::sql::LockMode::AccessExclusive,
                    source: crate::core::record::report::LockSource::Observed,
                    rewrite: true,
                }],
            }],
            lock_summary: vec![
                "ACCESS EXCLUSIVE on public.orders for 0.0 s (rewrite of public.orders)".into(),
            ],
            tool: None,
        }],
        approvals: Vec::new(),
        ticket: None,
        terminated: Vec::new(),
        compensated: Vec::new(),
        timings: Default::default(),
    })
}

fn planned() -> Vec<Planned> {
    vec![
        Planned {
            version: "0006".into(),
            name: "add_plan_column".into(),
            statements: 1,
            transactional: true,
        },
        Planned {
            version: "0007".into(),
            name: "orders_status_index".into(),
            statements: 1,
            transactional: false,
        },
    ]
}

/// An environment's tab: prod for production, dev otherwise.
pub fn tab(tier: &str, approvals: u8) -> EnvTab {
    let tier = match tier {
        "production" => Tier::Production,
        "testing" => Tier::Testing,
        _ => Tier::Development,
    };
    let name = if tier == Tier::Production { "prod" } else { "dev" };
    EnvTab {
        name: name.into(),
        tier,
        needs: Requirements::for_tier(tier, approvals, TicketPolicy::Optional),
        kind: crate::ui::model::TabKind::Database,
    }
}

fn opened(tier: &str, approvals: u8) -> ApplyWizard {
    let mut w = ApplyWizard::new(&tab(tier, approvals));
    w.on_msg(ApplyMsg::Opened {
        run_id: "7f3a2b1c".into(),
        operator: "dba.kim".into(),
        planned: planned(),
        stages: vec![Stage::PreChecks, Stage::Lint, Stage::Backup, Stage::DryRun, Stage::Apply],
    });
    w
}

fn stage(w: &mut ApplyWizard, s: Stage, o: StageOutcome, summary: &str) -> Vec<Effect<ApplyCmd>> {
    w.on_msg(ApplyMsg::Stage {
        result: result(s, o, summary),
        report: report(),
        findings: Vec::new(),
    })
}

pub(super) fn key(w: &mut ApplyWizard, k: Key) -> Vec<Effect<ApplyCmd>> {
    w.on_key(k, &Keymap::default().wizard)
}

fn keys(w: &mut ApplyWizard, ks: &[Key]) -> Vec<Effect<ApplyCmd>> {
    ks.iter().flat_map(|k| key(w, *k)).collect()
}

fn typed(w: &mut ApplyWizard, text: &str) {
    for c in text.chars() {
        key(w, Key::Char(c));
    }
}

const ADVANCE: Effect<ApplyCmd> = Effect::Send(ApplyCmd::Advance);

/// Opens a run and passes every stage up to the confirmation.
pub(super) fn at_confirm(tier: &str, approvals: u8) -> ApplyWizard {
    let mut w = opened(tier, approvals);
    assert_eq!(stage(&mut w, Stage::PreChecks, StageOutcome::Passed, "5 passed"), [ADVANCE]);
    assert_eq!(
        (w.at, w.busy),
        (ApplyStep::Lint, true),
        "the lint follows the read-only pre-checks"
    );
    stage(&mut w, Stage::Lint, StageOutcome::Warned, "1 finding");
    assert_eq!(keys(&mut w, &[Key::Enter]), [ADVANCE], "Enter acknowledges and starts the backup");
    stage(&mut w, Stage::Backup, StageOutcome::Passed, "backup");
    assert_eq!(keys(&mut w, &[Key::Enter]), [ADVANCE]);
    stage(&mut w, Stage::DryRun, StageOutcome::Passed, "rehearsed");
    assert!(keys(&mut w, &[Key::Enter]).is_empty(), "the confirmation runs nothing by itself");
    assert_eq!(w.at, ApplyStep::Confirm);
    w
}

#[test]
fn abort_at_every_step_before_the_apply() {
    let abort = Effect::Send(ApplyCmd::Abandon);
    // Pre-checks failed: x, then y.
    let mut w = opened("development", 1);
    stage(&mut w, Stage::PreChecks, StageOutcome::Failed, "pre-checks failed: connections");
    assert!(keys(&mut w, &[Key::Char('x')]).is_empty(), "x asks first");
    assert_eq!(w.core.ask, Some(Ask::Abort));
    assert!(keys(&mut w, &[Key::Char('n')]).is_empty(), "n keeps the run");
    assert_eq!(keys(&mut w, &[Key::Char('x'), Key::Char('y')]), std::slice::from_ref(&abort));
    // Each later step: Esc walks back to look, x aborts from wherever it stands.
    for stop in [ApplyStep::Lint, ApplyStep::Backup, ApplyStep::DryRun, ApplyStep::Confirm] {
        let mut w = opened("development", 1);
        stage(&mut w, Stage::PreChecks, StageOutcome::Passed, "ok");
        let order = [Stage::Lint, Stage::Backup, Stage::DryRun];
        for s in order {
            if ApplyStep::from_stage(s) == stop {
                break;
            }
            stage(&mut w, s, StageOutcome::Passed, "ok");
            key(&mut w, Key::Enter);
        }
        if stop != ApplyStep::Confirm {
            stage(&mut w, stop.stage().unwrap(), StageOutcome::Passed, "ok");
        }
        assert_eq!(w.at, stop);
        keys(&mut w, &[Key::Esc]);
        assert_eq!(w.view, stop.prev(), "Esc goes back one step to look");
        assert_eq!(w.at, stop, "looking back changes nothing");
        assert_eq!(
            keys(&mut w, &[Key::Char('x'), Key::Char('y')]),
            std::slice::from_ref(&abort),
            "at {stop:?}"
        );
    }
}

#[test]
fn a_lint_override_needs_a_reason() {
    let mut w = opened("production", 1);
    stage(&mut w, Stage::PreChecks, StageOutcome::Passed, "ok");
    stage(&mut w, Stage::Lint, StageOutcome::Failed, "2 error(s) at the gate");
    assert!(keys(&mut w, &[Key::Enter]).is_empty());
    assert!(
        w.core.note.as_deref().unwrap().contains("o to override"),
        "Enter explains why it is blocked"
    );
    keys(&mut w, &[Key::Char('o')]);
    assert!(keys(&mut w, &[Key::Char(' '), Key::Enter]).is_empty(), "a blank reason is refused");
    assert!(w.core.note.as_deref().unwrap().contains("reason is required"));
    assert!(w.reason.is_some(), "the input stays open");
    keys(&mut w, &[Key::Backspace]);
    typed(&mut w, "CHG-4411 approved");
    assert_eq!(
        keys(&mut w, &[Key::Enter]),
        [Effect::Send(ApplyCmd::OverrideLint("CHG-4411 approved".into()))]
    );
    assert!(w.busy && w.failed.is_none());
}

#[test]
fn a_window_override_is_offered_only_for_the_window() {
    let mut w = opened("production", 1);
    stage(
        &mut w,
        Stage::PreChecks,
        StageOutcome::Failed,
        "pre-checks failed: replication lag: 40 s",
    );
    keys(&mut w, &[Key::Char('o')]);
    assert!(w.reason.is_none() && w.core.note.as_deref().unwrap().contains("cannot be overridden"));
    assert_eq!(keys(&mut w, &[Key::Char('r')]), [ADVANCE], "r runs the step again");
    // The engine marks a window failure as one an override passes.
    let mut outside = result(
        Stage::PreChecks,
        StageOutcome::Failed,
        "pre-checks failed: maintenance window: outside",
    );
    outside.refusal = Some(crate::core::error::Refusal::MaintenanceWindow);
    w.on_msg(ApplyMsg::Stage { result: outside, report: report(), findings: Vec::new() });
    keys(&mut w, &[Key::Char('o')]);
    typed(&mut w, "incident 512");
    assert_eq!(
        keys(&mut w, &[Key::Enter]),
        [Effect::Send(ApplyCmd::OverrideWindow("incident 512".into()))]
    );
}

#[test]
fn a_promotion_gate_is_passed_with_a_recorded_reason() {
    let mut w = opened("production", 1);
    let mut behind = result(
        Stage::PreChecks,
        StageOutcome::Failed,
        "pre-checks failed: promotion: 0007_orders_total_check not applied on staging",
    );
    behind.refusal = Some(crate::core::error::Refusal::Promotion { from: "staging".into() });
    w.on_msg(ApplyMsg::Stage { result: behind, report: report(), findings: Vec::new() });
    assert!(w.can_override());
    keys(&mut w, &[Key::Char('o')]);
    typed(&mut w, "CHG-9 hotfix");
    insta::assert_snapshot!("wizard_promotion_reason_80x24", render(&w, 80, 24));
    keys(&mut w, &[Key::Backspace]);
    assert_eq!(
        keys(&mut w, &[Key::Enter]),
        [Effect::Send(ApplyCmd::OverridePromotion("CHG-9 hotfi".into()))]
    );
}

#[test]
fn production_needs_the_typed_name() {
    let mut w = at_confirm("production", 1);
    typed(&mut w, "prdo");
    assert!(keys(&mut w, &[Key::Enter]).is_empty());
    assert!(w.core.note.as_deref().unwrap().contains("does not match"), "{:?}", w.core.note);
    assert!(w.typing(), "q is a letter in the form");
    keys(&mut w, &[Key::Backspace, Key::Backspace, Key::Backspace]);
    typed(&mut w, "rod");
    keys(&mut w, &[Key::Tab]);
    typed(&mut w, "CHG-9");
    assert_eq!(
        keys(&mut w, &[Key::Enter]),
        [Effect::Send(ApplyCmd::Complete { confirm: "prod".into(), ticket: "CHG-9".into() })]
    );
    assert_eq!((w.at, w.busy), (ApplyStep::Apply, true));
}

#[test]
fn two_approvers() {
    let mut w = at_confirm("production", 2);
    typed(&mut w, "prod");
    assert!(keys(&mut w, &[Key::Enter]).is_empty());
    assert!(
        w.core.note.as_deref().unwrap().contains("sluice approve 7f3a2b1c --env prod"),
        "{:?}",
        w.core.note
    );
    keys(&mut w, &[Key::Tab]);
    typed(&mut w, "bob");
    keys(&mut w, &[Key::Tab]);
    typed(&mut w, "ABCD-EFGH");
    let approve = Effect::Send(ApplyCmd::Approve { name: "bob".into(), code: "ABCD-EFGH".into() });
    assert_eq!(keys(&mut w, &[Key::Enter]), std::slice::from_ref(&approve));
    // A refused code leaves the form to try again; nothing is applied.
    w.on_msg(ApplyMsg::Approval(Err("that code was issued to carol, not bob".into())));
    assert_eq!((w.at, w.busy), (ApplyStep::Confirm, false));
    assert!(w.core.note.as_deref().unwrap().contains("carol"));
    assert_eq!(keys(&mut w, &[Key::Enter]), [approve]);
    let out = w.on_msg(ApplyMsg::Approval(Ok("bob".into())));
    assert_eq!(
        out,
        [Effect::Send(ApplyCmd::Complete { confirm: "prod".into(), ticket: String::new() })]
    );
    assert_eq!(w.approved.as_deref(), Some("bob"));
}

#[test]
fn testing_asks_once_and_development_applies_on_enter() {
    let mut w = at_confirm("testing", 1);
    assert!(keys(&mut w, &[Key::Enter]).is_empty());
    assert_eq!(w.core.ask, Some(Ask::Confirm));
    assert!(matches!(
        keys(&mut w, &[Key::Char('y')]).as_slice(),
        [Effect::Send(ApplyCmd::Complete { .. })]
    ));
    let mut w = at_confirm("development", 1);
    assert!(matches!(
        keys(&mut w, &[Key::Enter]).as_slice(),
        [Effect::Send(ApplyCmd::Complete { .. })]
    ));
}

#[test]
fn the_apply_can_be_cancelled_and_a_blocker_terminated_after_a_yes() {
    let mut w = at_confirm("development", 1);
    key(&mut w, Key::Enter);
    w.on_msg(ApplyMsg::News(RunNews::Event(Event::MigrationStarted {
        version: "0006".into(),
        name: "add_plan_column".into(),
        direction: "up".into(),
        transactional: true,
        statements: 1,
        source: "file".into(),
    })));
    assert!(keys(&mut w, &[Key::Char('t')]).is_empty());
    assert!(w.core.note.as_deref().unwrap().contains("nothing blocks"));
    w.on_msg(ApplyMsg::News(RunNews::Event(Event::LockTimeout {
        version: "0006".into(),
        attempt: 1,
        retries: 3,
        retry_in_ms: 2000,
        blockers: vec![blocker(8812, "nightly", "idle in transaction", "UPDATE orders SET x = 1")],
    })));
    assert!(w.live.lock_timeout.as_deref().unwrap().contains("attempt 1 of 4"));
    // On a lock timeout: r retries now; w waits longer after a yes.
    assert_eq!(
        keys(&mut w, &[Key::Char('r')]),
        [Effect::Send(ApplyCmd::Control(Control::RetryNow))]
    );
    assert!(keys(&mut w, &[Key::Char('w')]).is_empty(), "asks first");
    assert_eq!(w.core.ask, Some(Ask::Wait));
    assert_eq!(
        keys(&mut w, &[Key::Char('y')]),
        [Effect::Send(ApplyCmd::Control(Control::WaitLonger(WAIT_LONGER_MS)))]
    );
    assert!(w.live.lock_timeout.as_deref().unwrap().contains("waiting up to 30 s"));
    assert!(keys(&mut w, &[Key::Char('t')]).is_empty(), "asks first");
    assert_eq!(
        keys(&mut w, &[Key::Char('y')]),
        [Effect::Send(ApplyCmd::Control(Control::Terminate(8812)))]
    );
    assert_eq!(
        keys(&mut w, &[Key::Char('c'), Key::Char('y')]),
        [Effect::Send(ApplyCmd::Control(Control::Cancel))]
    );
    let mut r = report();
    r.outcome = "failed".into();
    w.on_msg(ApplyMsg::News(RunNews::Finished { report: r, path: "/r/7f3a2b1c.md".into() }));
    assert!(w.over());
    assert_eq!(keys(&mut w, &[Key::Enter]), [Effect::Close]);
}

#[test]
fn quitting_abandons_the_open_run_first() {
    let mut w = opened("development", 1);
    stage(&mut w, Stage::PreChecks, StageOutcome::Passed, "ok");
    assert!(w.quit().is_empty(), "q asks while a run is open");
    assert_eq!(w.core.ask, Some(Ask::Quit));
    assert_eq!(keys(&mut w, &[Key::Char('y')]), [Effect::Send(ApplyCmd::Abandon)]);
    let out = w.on_msg(ApplyMsg::News(RunNews::Finished { report: report(), path: String::new() }));
    assert_eq!(out, [Effect::Quit], "the console leaves once the run is recorded");
}

#[test]
fn busy_steps_and_readonly_refuse_enter() {
    let mut w = opened("development", 1);
    assert!(keys(&mut w, &[Key::Enter]).is_empty());
    assert!(w.core.note.as_deref().unwrap().contains("running"));
    let mut w = opened("development", 1);
    w.readonly = true;
    stage(&mut w, Stage::PreChecks, StageOutcome::Passed, "ok");
    stage(&mut w, Stage::Lint, StageOutcome::Passed, "ok");
    assert!(keys(&mut w, &[Key::Enter]).is_empty(), "no backup, no apply when read-only");
    assert!(w.core.note.as_deref().unwrap().contains("read-only"));
}

// Snapshots of every step, through the whole console view.

fn blocker(pid: i32, app: &str, state: &str, query: &str) -> crate::core::record::report::Blocker {
    crate::core::record::report::Blocker {
        pid,
        user: "etl".into(),
        application_name: app.into(),
        state: state.into(),
        query: query.into(),
        transaction_age_s: 2460.0,
    }
}

pub(super) fn render(w: &ApplyWizard, width: u16, height: u16) -> String {
    let mut m = crate::ui::model::tests::sample();
    m.env = if w.core.env.is_production() { 2 } else { 0 };
    m.overlays.push(Overlay::Apply(Box::new(w.clone())));
    let mut t = Terminal::new(TestBackend::new(width, height)).unwrap();
    t.draw(|f| crate::ui::view::view(&m, f)).unwrap();
    t.backend().to_string()
}

#[test]
fn every_step_renders() {
    let mut w = opened("production", 2);
    w.busy = true;
    insta::assert_snapshot!("wizard_prechecks_running_80x24", render(&w, 80, 24));
    stage(&mut w, Stage::PreChecks, StageOutcome::Warned, "1 passed, 1 warning(s)");
    w.on_msg(ApplyMsg::Stage {
        result: result(
            Stage::Lint,
            StageOutcome::Failed,
            "lint gate: 1 error(s) at or above error",
        ),
        report: report(),
        findings: vec![Finding {
            file: "migrations/0006_add_plan_column.up.sql".into(),
            line: 1,
            column: 1,
            rule: "add-column-volatile-default",
            severity: Severity::Error,
            message: "orders: a volatile default rewrites the table under ACCESS EXCLUSIVE".into(),
            help: "add the column without a default, backfill in batches".into(),
            lock: Some("ACCESS EXCLUSIVE"),
            rewrites: true,
            created_by_run: None,
            excerpt: String::new(),
        }],
    });
    insta::assert_snapshot!("wizard_lint_failed_80x24", render(&w, 80, 24));
    key(&mut w, Key::Char('o'));
    typed(&mut w, "CHG-4411");
    insta::assert_snapshot!("wizard_lint_reason_80x24", render(&w, 80, 24));
    key(&mut w, Key::Enter);
    let mut r = report();
    r.overrides.push(Override {
        guard: "lint".into(),
        reason: "CHG-4411".into(),
        what: vec!["0006_add_plan_column.up.sql:1 add-column-volatile-default".into()],
    });
    w.on_msg(ApplyMsg::Stage {
        result: result(
            Stage::Lint,
            StageOutcome::Warned,
            "1 finding(s); gate overridden: CHG-4411",
        ),
        report: r.clone(),
        findings: w.findings.clone(),
    });
    key(&mut w, Key::Enter);
    w.on_msg(ApplyMsg::News(RunNews::Event(Event::BackupProgress {
        bytes: 12 * 1_048_576,
        bytes_per_s: 48 * 1_048_576,
    })));
    insta::assert_snapshot!("wizard_backup_running_160x48", render(&w, 160, 48));
    w.on_msg(ApplyMsg::Stage {
        result: result(Stage::Backup, StageOutcome::Skipped, "no backup: optional by policy"),
        report: r.clone(),
        findings: w.findings.clone(),
    });
    key(&mut w, Key::Enter);
    w.on_msg(ApplyMsg::Stage {
        result: result(Stage::DryRun, StageOutcome::Passed, "1 migration(s) rehearsed in 41 ms"),
        report: r.clone(),
        findings: w.findings.clone(),
    });
    insta::assert_snapshot!("wizard_dry_run_160x48", render(&w, 160, 48));
    key(&mut w, Key::Enter);
    typed(&mut w, "prod");
    insta::assert_snapshot!("wizard_confirm_prod_two_approvers_160x48", render(&w, 160, 48));
    insta::assert_snapshot!("wizard_confirm_prod_two_approvers_80x24", render(&w, 80, 24));
    key(&mut w, Key::Tab);
    typed(&mut w, "bob");
    key(&mut w, Key::Tab);
    typed(&mut w, "ABCD-EFGH");
    key(&mut w, Key::Enter);
    w.on_msg(ApplyMsg::Approval(Ok("bob".into())));
    w.on_msg(ApplyMsg::News(RunNews::Event(Event::MigrationStarted {
        version: "0006".into(),
        name: "add_plan_column".into(),
        direction: "up".into(),
        transactional: true,
        statements: 2,
        source: "file".into(),
    })));
    w.on_msg(ApplyMsg::News(RunNews::Event(Event::StatementFinished {
        version: "0006".into(),
        index: 1,
        line: 1,
        rows: 0,
        duration_ms: 30,
    })));
    insta::assert_snapshot!("wizard_apply_running_80x24", render(&w, 80, 24));
    w.on_msg(ApplyMsg::News(RunNews::Event(Event::Progress {
        version: "0006".into(),
        index: 2,
        elapsed_ms: 4200,
        command: Some(crate::core::record::report::CommandProgress {
            command: "CREATE INDEX CONCURRENTLY".into(),
            phase: "building index: scanning table".into(),
            done: 11_250,
            total: 25_000,
        }),
        blocking: vec![blocker(9120, "api", "active", "SELECT * FROM plans WHERE id = $1")],
    })));
    let mut m = crate::ui::model::tests::sample();
    m.env = 2;
    m.metrics = Some(Ok(crate::ui::model::monitor_tests_snap(42, 310.0)));
    m.overlays.push(Overlay::Apply(Box::new(w.clone())));
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    term.draw(|f| crate::ui::view::view(&m, f)).unwrap();
    insta::assert_snapshot!("wizard_apply_progress_160x48", term.backend().to_string());
    key(&mut w, Key::Char('c'));
    insta::assert_snapshot!("wizard_cancel_question_80x24", render(&w, 80, 24));
    key(&mut w, Key::Char('n'));
    let mut done = r.clone();
    done.outcome = "done".into();
    done.duration_ms = 2210;
    done.migrations = done.rehearsal.clone();
    done.approvals.push(crate::core::guard::approval::Approval {
        approver: "bob".into(),
        account: "bkim".into(),
        host: "ops-2".into(),
        db_user: "postgres".into(),
        issued_at: "2026-11-23T02:11:09Z".into(),
    });
    done.ticket = Some("CHG-4411".into());
    w.on_msg(ApplyMsg::News(RunNews::Finished {
        report: done,
        path: "~/.local/share/sluice/reports/prod/7f3a2b1c.md".into(),
    }));
    insta::assert_snapshot!("wizard_report_160x48", render(&w, 160, 48));
    insta::assert_snapshot!("wizard_report_80x24", render(&w, 80, 24));
}

/// A code tool's run has no dry run yet: the wizard goes from the backup to the
/// confirmation, and its stepper does not show a dry run.
#[test]
fn a_run_without_a_dry_run_goes_from_backup_to_confirm() {
    let mut w = ApplyWizard::new(&tab("development", 1));
    w.on_msg(ApplyMsg::Opened {
        run_id: "7f3a2b1c".into(),
        operator: "dba.kim".into(),
        planned: planned(),
        stages: vec![Stage::PreChecks, Stage::Lint, Stage::Backup, Stage::Apply],
    });
    stage(&mut w, Stage::PreChecks, StageOutcome::Passed, "11 passed");
    stage(&mut w, Stage::Lint, StageOutcome::Skipped, "knex migrations are code");
    key(&mut w, Key::Enter);
    assert_eq!(w.at, ApplyStep::Backup);
    stage(&mut w, Stage::Backup, StageOutcome::Skipped, "no backup: optional by policy");
    let effects = key(&mut w, Key::Enter);
    assert_eq!(w.at, ApplyStep::Confirm, "the dry run is not this run's");
    assert!(effects.is_empty(), "Confirm asks before anything runs: {effects:?}");
    let screen = render(&w, 160, 48);
    let stepper = screen.lines().nth(2).unwrap_or("");
    assert!(stepper.contains("Backup  ● Confirm"), "{stepper}");
    assert!(!stepper.contains("Dry run"), "{stepper}");
}
