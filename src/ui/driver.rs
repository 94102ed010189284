//! The task that owns a guarded run for the wizard: it takes `RunCmd`s, drives the engine's
//! `GuardedRun`, and sends every result and engine event back as an owned message. The UI
//! never waits on it.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::model::{FindingRow, Msg};
use super::wizard::emergency::{Choice, Kind};
use super::wizard::{RunCmd, RunMsg};
use crate::core::data::config::Project;
use crate::core::exec::{self, ApplyOptions, Control, GuardedRun, Interrupt, Opened, Resolution};
use crate::core::record::report::RunReport;

fn send(tx: &mpsc::UnboundedSender<Msg>, m: RunMsg) {
    let _ = tx.send(Msg::Run(m));
}

fn finished(project: &Project, env: &str, report: RunReport) -> RunMsg {
    let path = project
        .environment(Some(env))
        .and_then(crate::core::data::config::paths::report_dir)
        .map(|d| d.join(format!("{}.md", report.run_id)).display().to_string())
        .unwrap_or_default();
    RunMsg::Finished { report: Box::new(report), path }
}

/// Engine events go to the console as they happen; the interrupt cancels the run's statement.
fn controls(tx: &mpsc::UnboundedSender<Msg>) -> (Control, Arc<Interrupt>) {
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let forward = tx.clone();
    tokio::spawn(async move {
        while let Some(e) = ev_rx.recv().await {
            if forward.send(Msg::Run(RunMsg::Event(e))).is_err() {
                return;
            }
        }
    });
    let interrupt = Interrupt::new();
    (Control { events: Some(ev_tx), interrupt: Some(interrupt.clone()) }, interrupt)
}

fn findings(run: &GuardedRun) -> Vec<FindingRow> {
    run.findings()
        .iter()
        .map(|f| FindingRow {
            line: f.line,
            rule: format!("{} · {}", f.rule, f.file.rsplit('/').next().unwrap_or(&f.file)),
            severity: f.severity.as_str().to_string(),
            message: f.message.clone(),
            help: f.help.clone(),
        })
        .collect()
}

/// Opens a guarded apply (with a dry run before the apply) on `env` and serves the wizard.
pub(super) fn spawn_apply(
    project: &Project,
    env: &str,
    tx: mpsc::UnboundedSender<Msg>,
) -> mpsc::UnboundedSender<RunCmd> {
    let (cmd_tx, mut cmds) = mpsc::unbounded_channel::<RunCmd>();
    let project = project.clone();
    let env_name = env.to_string();
    tokio::spawn(async move {
        let environment = match project.environment(Some(&env_name)) {
            Ok(e) => e.clone(),
            Err(e) => return send(&tx, RunMsg::Failed(e.message)),
        };
        let (ctl, interrupt) = controls(&tx);
        let opened =
            GuardedRun::open(&project, &environment, &ApplyOptions::default(), true, ctl).await;
        let mut run = match opened {
            Err(e) => return send(&tx, RunMsg::Failed(e.message)),
            Ok(Opened::Finished(report)) => {
                return send(&tx, finished(&project, &env_name, *report));
            }
            Ok(Opened::Ready(run)) => run,
        };
        send(
            &tx,
            RunMsg::Opened {
                run_id: run.run_id().to_string(),
                operator: crate::core::host::identity::os_user(),
                planned: run.planned(),
            },
        );
        // The pre-checks run at once: they only read.
        advance(&mut run, &tx).await;
        while let Some(cmd) = cmds.recv().await {
            match cmd {
                RunCmd::Advance => advance(&mut run, &tx).await,
                RunCmd::OverrideLint(reason) => {
                    run.override_lint(&reason);
                    advance(&mut run, &tx).await;
                }
                RunCmd::OverrideWindow(reason) => {
                    run.override_window(&reason);
                    advance(&mut run, &tx).await;
                }
                RunCmd::Approve { name, code } => {
                    let r = run.approve(&name, &code).await;
                    send(&tx, RunMsg::Approval(r.map(|a| a.approver).map_err(|e| e.message)));
                }
                RunCmd::Abandon => {
                    let report = run.abandon().await;
                    return send(&tx, finished(&project, &env_name, report));
                }
                RunCmd::Cancel
                | RunCmd::Terminate(_)
                | RunCmd::RetryNow
                | RunCmd::WaitLonger(_)
                | RunCmd::Emergency { .. } => {}
                RunCmd::Complete { confirm, ticket } => {
                    run.confirm(&confirm);
                    run.ticket(&ticket);
                    let report = serve(run.complete(), &interrupt, &mut cmds, &tx).await;
                    return send(&tx, finished(&project, &env_name, report));
                }
            }
        }
        // The console went away before the run ended: nothing was applied; say so.
        let _ = run.abandon().await;
    });
    cmd_tx
}

async fn advance(run: &mut GuardedRun, tx: &mpsc::UnboundedSender<Msg>) {
    let result = match run.advance().await {
        Ok(r) => r,
        Err(_) => match run.results().last() {
            Some(r) => r.clone(),
            None => return send(tx, RunMsg::Failed("the stage failed before it started".into())),
        },
    };
    let report = Box::new(run.report().clone());
    send(tx, RunMsg::Stage { result, report, findings: findings(run) });
}

/// A run that changes the database (apply, rollback, restore, resolve), while still
/// listening: cancel, terminate, retry now and wait longer act from other connections.
async fn serve<F: std::future::Future>(
    work: F,
    interrupt: &Arc<Interrupt>,
    cmds: &mut mpsc::UnboundedReceiver<RunCmd>,
    tx: &mpsc::UnboundedSender<Msg>,
) -> F::Output {
    tokio::pin!(work);
    loop {
        tokio::select! {
            report = &mut work => return report,
            cmd = cmds.recv() => match cmd {
                Some(RunCmd::Cancel) => {
                    if let Err(e) = interrupt.cancel().await {
                        tracing::warn!("cancel: {e}");
                    }
                }
                // The console is gone: stop the run where it stands, and wait for its record.
                None => {
                    if let Err(e) = interrupt.cancel().await {
                        tracing::warn!("cancel: {e}");
                    }
                    return work.await;
                }
                Some(RunCmd::RetryNow) => interrupt.retry_now(),
                Some(RunCmd::WaitLonger(ms)) => interrupt.wait_longer(ms),
                Some(RunCmd::Terminate(pid)) => {
                    let r = interrupt.terminate_blocker(pid).await.map_err(|e| e.message);
                    send(tx, RunMsg::Terminated(r));
                }
                Some(_) => {}
            }
        }
    }
}

/// Reads what an emergency rollback (or a recovery) can do, then runs the operator's choice.
pub(super) fn spawn_emergency(
    project: &Project,
    env: &str,
    kind: Kind,
    tx: mpsc::UnboundedSender<Msg>,
) -> mpsc::UnboundedSender<RunCmd> {
    let (cmd_tx, mut cmds) = mpsc::unbounded_channel::<RunCmd>();
    let project = project.clone();
    let env_name = env.to_string();
    tokio::spawn(async move {
        let environment = match project.environment(Some(&env_name)) {
            Ok(e) => e.clone(),
            Err(e) => return send(&tx, RunMsg::Failed(e.message)),
        };
        match kind {
            Kind::Rollback => {
                let plan =
                    crate::core::query::emergency::rollback_plan(&project, &environment).await;
                send(&tx, RunMsg::RollbackPlan(plan.map(Box::new).map_err(|e| e.message)));
            }
            Kind::Recover => {
                let found = crate::core::query::recovery::recovery(&project, &environment).await;
                let first = found.map(|v| v.into_iter().next().map(Box::new));
                send(&tx, RunMsg::Recovery(first.map_err(|e| e.message)));
            }
        }
        let (choice, sign, reason) = loop {
            match cmds.recv().await {
                Some(RunCmd::Emergency { choice, sign, reason }) => break (choice, sign, reason),
                Some(_) => continue,
                None => return,
            }
        };
        let (ctl, interrupt) = controls(&tx);
        let resolve = |version: &str, how, compensate, ctl| {
            let reason = reason.clone();
            let opts = exec::ResolveOptions { how, sign: sign.clone(), compensate, reason };
            let (project, environment, version) = (&project, &environment, version.to_string());
            async move { exec::resolve(project, environment, &version, &opts, ctl).await }
        };
        let work = async {
            match &choice {
                Choice::Steps(n) => {
                    let target = exec::RollbackTarget::Steps(*n);
                    exec::rollback(&project, &environment, &target, &sign, ctl.clone()).await
                }
                Choice::Restore(file) => {
                    exec::restore(&project, &environment, file, &sign, ctl.clone()).await
                }
                Choice::Retry(v) => resolve(v, Resolution::Retry, false, ctl.clone()).await,
                Choice::Compensate(v) => {
                    resolve(v, Resolution::MarkRolledBack, true, ctl.clone()).await
                }
                Choice::MarkApplied(v) => {
                    resolve(v, Resolution::MarkApplied, false, ctl.clone()).await
                }
            }
        };
        let result = serve(work, &interrupt, &mut cmds, &tx).await;
        match result {
            Ok(report) => send(&tx, finished(&project, &env_name, report)),
            Err(e) => send(&tx, RunMsg::Failed(e.message)),
        }
    });
    cmd_tx
}
