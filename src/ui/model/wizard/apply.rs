//! The guarded apply wizard: a stepper over the engine's `GuardedRun`. The run itself lives
//! in a task (`ui::tasks::run`) that takes `ApplyCmd`s and sends `ApplyMsg`s back.

use super::{Ask, Effect, RunNews, WizardCore};
use crate::core::data::lint::Finding;
use crate::core::error::Refusal;
use crate::core::exec::Planned;
use crate::core::record::report::{Event, Stage, StageOutcome, StageResult};
use crate::ui::model::EnvTab;

use super::form::Field;
use super::{ApplyCmd, ApplyMsg};

/// The wizard's steps, in order; the first four are the engine's stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ApplyStep {
    PreChecks,
    Lint,
    Backup,
    DryRun,
    Confirm,
    Apply,
    Report,
}

impl ApplyStep {
    pub const ALL: [ApplyStep; 7] = [
        ApplyStep::PreChecks,
        ApplyStep::Lint,
        ApplyStep::Backup,
        ApplyStep::DryRun,
        ApplyStep::Confirm,
        ApplyStep::Apply,
        ApplyStep::Report,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ApplyStep::PreChecks => "Pre-checks",
            ApplyStep::Lint => "Lint",
            ApplyStep::Backup => "Backup",
            ApplyStep::DryRun => "Dry run",
            ApplyStep::Confirm => "Confirm",
            ApplyStep::Apply => "Apply",
            ApplyStep::Report => "Report",
        }
    }

    pub fn stage(self) -> Option<Stage> {
        match self {
            ApplyStep::PreChecks => Some(Stage::PreChecks),
            ApplyStep::Lint => Some(Stage::Lint),
            ApplyStep::Backup => Some(Stage::Backup),
            ApplyStep::DryRun => Some(Stage::DryRun),
            _ => None,
        }
    }

    pub fn from_stage(s: Stage) -> ApplyStep {
        match s {
            Stage::PreChecks => ApplyStep::PreChecks,
            Stage::Lint => ApplyStep::Lint,
            Stage::Backup => ApplyStep::Backup,
            Stage::DryRun => ApplyStep::DryRun,
            Stage::Apply => ApplyStep::Apply,
        }
    }

    pub fn next(self) -> ApplyStep {
        let i = ApplyStep::ALL.iter().position(|s| *s == self).unwrap_or(0);
        ApplyStep::ALL.get(i + 1).copied().unwrap_or(ApplyStep::Report)
    }

    pub fn prev(self) -> ApplyStep {
        let i = ApplyStep::ALL.iter().position(|s| *s == self).unwrap_or(0);
        ApplyStep::ALL[i.saturating_sub(1)]
    }
}

/// Which guard a typed reason overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Lint,
    Window,
    Promotion,
}

/// What the apply is doing now, from the engine's events.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// version, name, statements, statements done.
    pub current: Option<(String, String, usize, usize)>,
    /// version, duration ms.
    pub done: Vec<(String, u64)>,
    pub backup_bytes: u64,
    pub backup_rate: u64,
    /// The sessions our statement waits for, as one line each.
    pub blockers: Vec<(i32, String)>,
    pub lock_timeout: Option<String>,
    /// The running statement: how long so far, and PostgreSQL's progress of it.
    pub elapsed_ms: Option<u64>,
    pub command: Option<crate::core::record::report::CommandProgress>,
    /// Sessions waiting on a lock our statement holds or wants, one line each.
    pub blocking: Vec<(i32, String)>,
    /// `queue_limit`: the last time sluice stepped out of the lock queue, and whom it let
    /// through, one line each; and how many it let through in this run.
    pub stepped_out: Option<String>,
    /// A batched backfill's progress: rows changed, keys passed, rate, time left.
    pub backfill: Option<String>,
    pub victims: Vec<String>,
    pub victims_total: usize,
}

impl Live {
    fn statement_done(&mut self) {
        self.elapsed_ms = None;
        self.command = None;
        self.blocking.clear();
    }

    fn waits_cleared(&mut self) {
        self.blockers.clear();
        self.lock_timeout = None;
        self.statement_done();
    }
}

#[derive(Debug, Clone)]
pub struct ApplyWizard {
    pub core: WizardCore,
    pub run_id: Option<String>,
    pub operator: String,
    pub planned: Vec<Planned>,
    /// Where the run stands.
    pub at: ApplyStep,
    /// What the panel shows (Back goes to look at an earlier step).
    pub view: ApplyStep,
    /// A stage, the approval or the apply is in flight.
    pub busy: bool,
    pub results: Vec<StageResult>,
    /// Why the step the run stands at failed.
    pub failed: Option<String>,
    /// What the operator can do about that failure (an override, for the gate or window).
    pub refusal: Option<Refusal>,
    pub findings: Vec<Finding>,
    pub approved: Option<String>,
    pub reason: Option<(Reason, String)>,
    pub live: Live,
    pub readonly: bool,
    /// Steps this run does not have (a code tool's run has no dry run yet).
    pub skipped: Vec<ApplyStep>,
}

impl ApplyWizard {
    pub fn new(env: &EnvTab) -> ApplyWizard {
        ApplyWizard {
            core: WizardCore::new(env),
            run_id: None,
            operator: String::new(),
            planned: Vec::new(),
            at: ApplyStep::PreChecks,
            view: ApplyStep::PreChecks,
            busy: true,
            results: Vec::new(),
            failed: None,
            refusal: None,
            findings: Vec::new(),
            approved: None,
            reason: None,
            live: Live::default(),
            readonly: false,
            skipped: Vec::new(),
        }
    }

    /// The step after `step` in this run.
    pub fn next_step(&self, step: ApplyStep) -> ApplyStep {
        let mut s = step.next();
        while self.skipped.contains(&s) {
            s = s.next();
        }
        s
    }

    /// The step before `step` in this run.
    pub fn prev_step(&self, step: ApplyStep) -> ApplyStep {
        let mut s = step.prev();
        while self.skipped.contains(&s) && s > ApplyStep::PreChecks {
            s = s.prev();
        }
        s
    }

    pub fn result(&self, step: ApplyStep) -> Option<&StageResult> {
        let stage = if step == ApplyStep::Apply { Stage::Apply } else { step.stage()? };
        self.results.iter().find(|r| r.stage == stage)
    }

    pub(super) fn passed(&self, step: ApplyStep) -> bool {
        self.result(step).is_some_and(|r| r.outcome != StageOutcome::Failed)
    }

    /// Before the apply, the run can still be abandoned with nothing changed.
    pub fn before_apply(&self) -> bool {
        self.at < ApplyStep::Apply
    }

    pub fn over(&self) -> bool {
        self.at == ApplyStep::Report
    }

    /// Fields of the confirmation form on this environment.
    pub fn fields(&self) -> Vec<Field> {
        self.core.fields(false)
    }

    /// The failed step can be passed with a typed reason (the lint gate, the window, the
    /// promotion gate).
    pub fn can_override(&self) -> bool {
        self.failed.is_some()
            && matches!(
                self.refusal,
                Some(Refusal::LintGate | Refusal::MaintenanceWindow | Refusal::Promotion { .. })
            )
    }

    pub(super) fn go(&mut self, step: ApplyStep) -> Vec<Effect<ApplyCmd>> {
        self.at = step;
        self.view = step;
        self.core.scroll = 0;
        self.failed = None;
        self.refusal = None;
        if step.stage().is_some() {
            self.busy = true;
            return vec![Effect::Send(ApplyCmd::Advance)];
        }
        Vec::new()
    }

    /// A message from the run task.
    pub fn on_msg(&mut self, msg: ApplyMsg) -> Vec<Effect<ApplyCmd>> {
        match msg {
            ApplyMsg::Opened { run_id, operator, planned, stages } => {
                self.run_id = Some(run_id);
                self.operator = operator;
                self.planned = planned;
                self.skipped = ApplyStep::ALL
                    .into_iter()
                    .filter(|s| s.stage().is_some_and(|st| !stages.contains(&st)))
                    .collect();
            }
            ApplyMsg::Stage { result, report, findings } => {
                return self.on_stage(result, report, findings)
            }
            ApplyMsg::Approval(Ok(who)) => {
                self.approved = Some(who);
                return self.complete();
            }
            ApplyMsg::Approval(Err(e)) => {
                self.busy = false;
                self.core.note = Some(e);
            }
            ApplyMsg::News(news) => return self.on_news(news),
        }
        Vec::new()
    }

    fn on_stage(
        &mut self,
        result: StageResult,
        report: Box<crate::core::record::report::RunReport>,
        findings: Vec<Finding>,
    ) -> Vec<Effect<ApplyCmd>> {
        self.busy = false;
        let step = ApplyStep::from_stage(result.stage);
        let failed = result.outcome == StageOutcome::Failed;
        self.failed = failed.then(|| result.summary.clone());
        self.refusal = if failed { result.refusal.clone() } else { None };
        self.results.retain(|r| r.stage != result.stage);
        self.results.push(result);
        self.core.report = Some(report);
        if step == ApplyStep::Lint {
            self.findings = findings;
        }
        self.at = step;
        self.view = step;
        // The pre-checks only read: once they pass, the operator sees them with the lint,
        // which also only reads. Everything after that waits for a key.
        if step == ApplyStep::PreChecks && self.failed.is_none() {
            return self.go(ApplyStep::Lint);
        }
        Vec::new()
    }

    fn on_news(&mut self, news: RunNews) -> Vec<Effect<ApplyCmd>> {
        match news {
            RunNews::Event(e) => self.on_event(e),
            RunNews::Terminated(r) => {
                self.core.note = Some(match r {
                    Ok(what) => format!("terminated {what}"),
                    Err(e) => e,
                })
            }
            RunNews::Finished { report, path } => {
                self.busy = false;
                if !report.stages.is_empty() {
                    self.results = report.stages.clone();
                }
                self.at = ApplyStep::Report;
                self.view = ApplyStep::Report;
                return self.core.finished(report, path);
            }
            RunNews::Failed(e) => {
                self.busy = false;
                self.failed = Some(e);
                self.at = ApplyStep::Report;
                self.view = ApplyStep::Report;
                if self.core.quit_after {
                    return vec![Effect::Quit];
                }
            }
        }
        Vec::new()
    }

    fn on_event(&mut self, e: Event) {
        let live = &mut self.live;
        match e {
            Event::MigrationStarted { version, name, statements, .. } => {
                live.current = Some((version, name, statements, 0));
                live.waits_cleared();
            }
            Event::StatementFinished { index, .. } => {
                if let Some(c) = live.current.as_mut() {
                    c.3 = index;
                }
                live.waits_cleared();
            }
            Event::Progress { elapsed_ms, command, blocking, .. } => {
                live.elapsed_ms = Some(elapsed_ms);
                live.command = command;
                live.blocking = blocking.iter().map(|b| (b.pid, b.to_string())).collect();
            }
            Event::Waiting { blockers, .. } => {
                live.blockers = blockers.iter().map(|b| (b.pid, b.to_string())).collect();
            }
            Event::Backfill { rows_done, keys_done, estimate, keys_per_s, eta_s, .. } => {
                let of = estimate.map(|n| format!(" of ~{n}")).unwrap_or_default();
                let eta = eta_s.map(|s| format!(" · about {s} s left")).unwrap_or_default();
                live.backfill = Some(format!(
                    "backfill: {rows_done} row(s) changed · {keys_done}{of} keys passed · {keys_per_s:.0} keys/s{eta}"
                ));
            }
            Event::QueueLimit { limit_ms, victims, .. } => {
                live.victims_total += victims.len();
                live.stepped_out = Some(format!(
                    "stepped out of the lock queue: {} session(s) waited behind us over queue_limit = {limit_ms} ms ({} let through in this run)",
                    victims.len(),
                    live.victims_total
                ));
                live.victims = victims
                    .iter()
                    .map(|v| {
                        format!(
                            "pid {} ({}) waited {:.0} ms: {}",
                            v.pid, v.application_name, v.waited_ms, v.query
                        )
                    })
                    .collect();
            }
            Event::LockTimeout { attempt, retries, retry_in_ms, blockers, .. } => {
                live.lock_timeout = Some(format!(
                    "lock timeout, attempt {attempt} of {}: trying again in {:.1} s",
                    retries + 1,
                    retry_in_ms as f64 / 1000.0
                ));
                live.blockers = blockers.iter().map(|b| (b.pid, b.to_string())).collect();
            }
            Event::MigrationFinished { version, duration_ms, .. } => {
                live.done.push((version, duration_ms));
                live.current = None;
                live.waits_cleared();
                live.stepped_out = None;
                live.victims.clear();
                live.backfill = None;
            }
            Event::BackupProgress { bytes, bytes_per_s } => {
                live.backup_bytes = bytes;
                live.backup_rate = bytes_per_s;
            }
            _ => {}
        }
    }

    pub(super) fn complete(&mut self) -> Vec<Effect<ApplyCmd>> {
        self.busy = true;
        self.at = ApplyStep::Apply;
        self.view = ApplyStep::Apply;
        let form = &self.core.form;
        vec![Effect::Send(ApplyCmd::Complete {
            confirm: form.name.trim().to_string(),
            ticket: form.ticket.trim().to_string(),
        })]
    }

    /// Keys go to a text field or a question (so letters are letters, not actions).
    pub fn typing(&self) -> bool {
        self.core.ask.is_some() || self.reason.is_some() || self.confirming()
    }

    /// The confirmation form takes typed text now.
    pub fn confirming(&self) -> bool {
        self.view == ApplyStep::Confirm && self.at == ApplyStep::Confirm && !self.busy
    }

    /// The operator asked to leave the console.
    pub fn quit(&mut self) -> Vec<Effect<ApplyCmd>> {
        if self.over() {
            return vec![Effect::Quit];
        }
        self.core.ask = Some(Ask::Quit);
        Vec::new()
    }
}
