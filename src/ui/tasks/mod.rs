//! The console's background work: keys on a thread of their own, the live monitor, loads,
//! palette jobs and the wizards' runs in tokio tasks. Each sends owned results back as
//! messages; `Tasks::perform` turns the model's requests into that work.

mod fleet;
mod input;
mod jobs;
mod load;
mod monitor;
mod run;

use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::core::data::config::Project;
use crate::ui::model::wizard::fleet::FleetCmd;
use crate::ui::model::wizard::{ApplyCmd, EmergencyCmd};
use crate::ui::model::{Msg, Request};

pub(crate) use input::spawn_input;

/// What the running wizard's task listens on.
enum RunHandle {
    Apply(mpsc::UnboundedSender<ApplyCmd>),
    Emergency(mpsc::UnboundedSender<EmergencyCmd>),
    Fleet(mpsc::UnboundedSender<FleetCmd>),
}

/// The tasks of one console: where their messages go, the monitor's settings, the run.
pub(crate) struct Tasks {
    project: Project,
    tx: mpsc::UnboundedSender<Msg>,
    monitor: watch::Sender<Option<monitor::MonitorCfg>>,
    monitor_task: tokio::task::JoinHandle<()>,
    run: Option<RunHandle>,
}

/// Leave the console.
pub(crate) struct Quit;

impl Tasks {
    pub(crate) fn start(project: &Project, tx: mpsc::UnboundedSender<Msg>) -> Tasks {
        let (monitor, cfg) = watch::channel(None);
        let monitor_task = tokio::spawn(monitor::run_monitor(project.clone(), cfg, tx.clone()));
        Tasks { project: project.clone(), tx, monitor, monitor_task, run: None }
    }

    /// Starts what a request asks for; `Err(Quit)` when it asks to leave.
    pub(crate) fn perform(&mut self, request: Request) -> Result<(), Quit> {
        let tx = self.tx.clone();
        match request {
            Request::Quit => return Err(Quit),
            Request::LoadStatus(env) => load::spawn_load(&self.project, &env, tx),
            Request::Job { env, job } => jobs::spawn_job(&self.project, env, job, tx),
            Request::StartApply(env) => {
                self.run = Some(RunHandle::Apply(run::spawn_apply(&self.project, &env, tx)));
            }
            Request::StartEmergency { env, kind } => {
                let handle = run::spawn_emergency(&self.project, &env, kind, tx);
                self.run = Some(RunHandle::Emergency(handle));
            }
            Request::Apply(c) => {
                if let Some(RunHandle::Apply(t)) = &self.run {
                    let _ = t.send(c);
                }
            }
            Request::Emergency(c) => {
                if let Some(RunHandle::Emergency(t)) = &self.run {
                    let _ = t.send(c);
                }
            }
            Request::StartFleet(env) => {
                self.run = Some(RunHandle::Fleet(fleet::spawn_fleet(&self.project, &env, tx)));
            }
            Request::Fleet(c) => {
                if let Some(RunHandle::Fleet(t)) = &self.run {
                    let _ = t.send(c);
                }
            }
            // The database becomes an environment of these tasks' project, under its key:
            // every later load, monitor and job on it reads it like any other.
            Request::OpenDatabase { key, fleet, url } => {
                if let Some(env) = self.project.environments.get(&fleet) {
                    let member = env.member(&url);
                    self.project.environments.insert(key, member);
                }
            }
            Request::RetryLater { env, after_ms } => {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(after_ms)).await;
                    let _ = tx.send(Msg::Retry(env));
                });
            }
            Request::Monitor { env, interval_ms, paused, relations } => {
                let cfg = monitor::MonitorCfg { env, interval_ms, paused, relations };
                let _ = self.monitor.send(Some(cfg));
            }
        }
        Ok(())
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        self.monitor_task.abort();
    }
}
