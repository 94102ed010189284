//! The tasks that own a run for a wizard. The apply task drives the engine's `GuardedRun`
//! stage by stage on `ApplyCmd`s; the emergency task reads what a rollback or recovery can
//! do, then runs the operator's choice. Each sends every result and engine event back as an
//! owned message; the UI never waits on them.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::core::data::config::paths::report_dir;
use crate::core::data::config::Project;
use crate::core::exec::{self, ApplyOptions, Control, GuardedRun, Interrupt, Opened, Resolution};
use crate::core::record::report::RunReport;
use crate::ui::model::wizard::emergency::Kind;
use crate::ui::model::wizard::offers::Choice;
use crate::ui::model::wizard::{self, ApplyCmd, ApplyMsg, EmergencyCmd, EmergencyMsg, RunNews};
use crate::ui::model::Msg;

type Tx = mpsc::UnboundedSender<Msg>;

fn send(tx: &Tx, m: ApplyMsg) {
    let _ = tx.send(Msg::Apply(m));
}

fn send_emergency(tx: &Tx, m: EmergencyMsg) {
    let _ = tx.send(Msg::Emergency(m));
}

fn finished(project: &Project, env: &str, report: RunReport) -> RunNews {
    let path = project
        .environment(Some(env))
        .and_then(report_dir)
        .map(|d| d.join(format!("{}.md", report.run_id)).display().to_string())
        .unwrap_or_default();
    RunNews::Finished { report: Box::new(report), path }
}

/// Engine events go to the console as they happen (wrapped for the wizard they serve); the
/// interrupt cancels the run's statement.
fn controls(tx: &Tx, wrap: fn(RunNews) -> Msg) -> (Control, Arc<Interrupt>) {
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let forward = tx.clone();
    tokio::spawn(async move {
        while let Some(e) = ev_rx.recv().await {
            if forward.send(wrap(RunNews::Event(e))).is_err() {
                return;
            }
        }
    });
    let interrupt = Interrupt::new();
    (Control { events: Some(ev_tx), interrupt: Some(interrupt.clone()), fleet: None }, interrupt)
}

/// Acts on a run in flight from another connection; what terminating did comes back.
async fn control(c: wizard::Control, interrupt: &Interrupt, tx: &Tx, wrap: fn(RunNews) -> Msg) {
    match c {
        wizard::Control::Cancel => {
            if let Err(e) = interrupt.cancel().await {
                tracing::warn!("cancel: {e}");
            }
        }
        wizard::Control::RetryNow => interrupt.retry_now(),
        wizard::Control::WaitLonger(ms) => interrupt.wait_longer(ms),
        wizard::Control::Terminate(pid) => {
            let r = interrupt.terminate_blocker(pid).await.map_err(|e| e.message);
            let _ = tx.send(wrap(RunNews::Terminated(r)));
        }
    }
}

/// A run that changes the database, while still listening for its controls. A console that
/// goes away stops the run where it stands, and waits for its record.
async fn serve<F, C>(
    work: F,
    interrupt: &Arc<Interrupt>,
    cmds: &mut mpsc::UnboundedReceiver<C>,
    as_control: fn(C) -> Option<wizard::Control>,
    tx: &Tx,
    wrap: fn(RunNews) -> Msg,
) -> F::Output
where
    F: std::future::Future,
{
    tokio::pin!(work);
    loop {
        tokio::select! {
            report = &mut work => return report,
            cmd = cmds.recv() => match cmd {
                Some(c) => {
                    if let Some(c) = as_control(c) {
                        control(c, interrupt, tx, wrap).await;
                    }
                }
                None => {
                    if let Err(e) = interrupt.cancel().await {
                        tracing::warn!("cancel: {e}");
                    }
                    return work.await;
                }
            }
        }
    }
}

fn apply_news(n: RunNews) -> Msg {
    Msg::Apply(ApplyMsg::News(n))
}

fn emergency_news(n: RunNews) -> Msg {
    Msg::Emergency(EmergencyMsg::News(n))
}

/// Opens a guarded apply (with a dry run before the apply) on `env` and serves the wizard.
pub(crate) fn spawn_apply(project: &Project, env: &str, tx: Tx) -> mpsc::UnboundedSender<ApplyCmd> {
    let (cmd_tx, mut cmds) = mpsc::unbounded_channel::<ApplyCmd>();
    let project = project.clone();
    let env_name = env.to_string();
    tokio::spawn(async move {
        let environment = match project.environment(Some(&env_name)) {
            Ok(e) => e.clone(),
            Err(e) => return send(&tx, ApplyMsg::News(RunNews::Failed(e.message))),
        };
        let (ctl, interrupt) = controls(&tx, apply_news);
        let opened =
            GuardedRun::open(&project, &environment, &ApplyOptions::default(), true, ctl).await;
        let mut run = match opened {
            Err(e) => return send(&tx, ApplyMsg::News(RunNews::Failed(e.message))),
            Ok(Opened::Finished(report)) => {
                return send(&tx, ApplyMsg::News(finished(&project, &env_name, *report)));
            }
            Ok(Opened::Ready(run)) => run,
        };
        send(
            &tx,
            ApplyMsg::Opened {
                run_id: run.run_id().to_string(),
                operator: crate::core::host::identity::os_user(),
                planned: run.planned(),
                stages: run.stages().to_vec(),
            },
        );
        // The pre-checks run at once: they only read.
        advance(&mut run, &tx).await;
        while let Some(cmd) = cmds.recv().await {
            let report = match cmd {
                ApplyCmd::Advance => {
                    advance(&mut run, &tx).await;
                    continue;
                }
                ApplyCmd::OverrideLint(reason) => {
                    run.override_lint(&reason);
                    advance(&mut run, &tx).await;
                    continue;
                }
                ApplyCmd::OverrideWindow(reason) => {
                    run.override_window(&reason);
                    advance(&mut run, &tx).await;
                    continue;
                }
                ApplyCmd::OverridePromotion(reason) => {
                    run.override_promotion(&reason);
                    advance(&mut run, &tx).await;
                    continue;
                }
                ApplyCmd::Approve { name, code } => {
                    let r = run.approve(&name, &code).await;
                    send(&tx, ApplyMsg::Approval(r.map(|a| a.approver).map_err(|e| e.message)));
                    continue;
                }
                // Before the apply nothing is in flight to cancel or terminate.
                ApplyCmd::Control(_) => continue,
                ApplyCmd::Abandon => run.abandon().await,
                ApplyCmd::Complete { confirm, ticket } => {
                    run.confirm(&confirm);
                    run.ticket(&ticket);
                    let as_control = |c| match c {
                        ApplyCmd::Control(c) => Some(c),
                        _ => None,
                    };
                    serve(run.complete(), &interrupt, &mut cmds, as_control, &tx, apply_news).await
                }
            };
            return send(&tx, ApplyMsg::News(finished(&project, &env_name, report)));
        }
        // The console went away before the run ended: nothing was applied; say so.
        let _ = run.abandon().await;
    });
    cmd_tx
}

async fn advance(run: &mut GuardedRun, tx: &Tx) {
    let result = match run.advance().await {
        Ok(r) => r,
        Err(_) => match run.results().last() {
            Some(r) => r.clone(),
            None => {
                let e = "the stage failed before it started".to_string();
                return send(tx, ApplyMsg::News(RunNews::Failed(e)));
            }
        },
    };
    let report = Box::new(run.report().clone());
    send(tx, ApplyMsg::Stage { result, report, findings: run.findings().to_vec() });
}

/// Reads what an emergency rollback (or a recovery) can do, then runs the operator's choice.
pub(crate) fn spawn_emergency(
    project: &Project,
    env: &str,
    kind: Kind,
    tx: Tx,
) -> mpsc::UnboundedSender<EmergencyCmd> {
    let (cmd_tx, mut cmds) = mpsc::unbounded_channel::<EmergencyCmd>();
    let project = project.clone();
    let env_name = env.to_string();
    tokio::spawn(async move {
        let environment = match project.environment(Some(&env_name)) {
            Ok(e) => e.clone(),
            Err(e) => return send_emergency(&tx, EmergencyMsg::News(RunNews::Failed(e.message))),
        };
        match kind {
            Kind::Rollback => {
                let plan =
                    crate::core::query::emergency::rollback_plan(&project, &environment).await;
                send_emergency(
                    &tx,
                    EmergencyMsg::RollbackPlan(plan.map(Box::new).map_err(|e| e.message)),
                );
            }
            Kind::Recover => {
                let found = crate::core::query::recovery::recovery(&project, &environment).await;
                let first = found.map(|v| v.into_iter().next().map(Box::new));
                send_emergency(&tx, EmergencyMsg::Recovery(first.map_err(|e| e.message)));
            }
        }
        let (choice, sign, reason) = loop {
            match cmds.recv().await {
                Some(EmergencyCmd::Take { choice, sign, reason }) => break (choice, sign, reason),
                // Nothing runs yet: there is nothing to cancel.
                Some(EmergencyCmd::Control(_)) => continue,
                None => return,
            }
        };
        let (ctl, interrupt) = controls(&tx, emergency_news);
        let work = take(&project, &environment, &choice, sign, reason, ctl);
        let as_control = |c| match c {
            EmergencyCmd::Control(c) => Some(c),
            EmergencyCmd::Take { .. } => None,
        };
        let news = match serve(work, &interrupt, &mut cmds, as_control, &tx, emergency_news).await {
            Ok(report) => finished(&project, &env_name, report),
            Err(e) => RunNews::Failed(e.message),
        };
        send_emergency(&tx, EmergencyMsg::News(news));
    });
    cmd_tx
}

/// Runs the offer the operator took.
async fn take(
    project: &Project,
    env: &crate::core::data::config::Environment,
    choice: &Choice,
    sign: crate::core::guard::policy::Sign,
    reason: Option<String>,
    ctl: Control,
) -> crate::core::error::Result<RunReport> {
    let resolve = |version: &str, how, compensate| {
        let opts =
            exec::ResolveOptions { how, sign: sign.clone(), compensate, reason: reason.clone() };
        let version = version.to_string();
        let ctl = ctl.clone();
        async move { exec::resolve(project, env, &version, &opts, ctl).await }
    };
    match choice {
        Choice::Steps(n) => {
            let target = exec::RollbackTarget::Steps(*n);
            exec::rollback(project, env, &target, &sign, ctl.clone()).await
        }
        Choice::Restore(file) => exec::restore(project, env, file, &sign, ctl.clone()).await,
        Choice::Retry(v) => resolve(v, Resolution::Retry, false).await,
        Choice::Compensate(v) => resolve(v, Resolution::MarkRolledBack, true).await,
        Choice::MarkApplied(v) => resolve(v, Resolution::MarkApplied, false).await,
    }
}
