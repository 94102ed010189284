//! The guarded apply wizard: a stepper over the engine's `GuardedRun`. Pure state and
//! update here; the run itself lives in a task (`driver.rs`) that takes `RunCmd`s and sends
//! `RunMsg`s back. Nothing that writes happens without a keypress, and every refusal says why.

mod apply_view;
pub mod emergency;
mod keys;
mod recover;
pub mod view;

use crate::core::exec::Planned;
use crate::core::record::report::{Event, RunReport, Stage, StageOutcome, StageResult};

use super::model::{FindingRow, Key};

/// The wizard's steps, in order; the first four are the engine's stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    PreChecks,
    Lint,
    Backup,
    DryRun,
    Confirm,
    Apply,
    Report,
}

impl Step {
    pub const ALL: [Step; 7] = [
        Step::PreChecks,
        Step::Lint,
        Step::Backup,
        Step::DryRun,
        Step::Confirm,
        Step::Apply,
        Step::Report,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Step::PreChecks => "Pre-checks",
            Step::Lint => "Lint",
            Step::Backup => "Backup",
            Step::DryRun => "Dry run",
            Step::Confirm => "Confirm",
            Step::Apply => "Apply",
            Step::Report => "Report",
        }
    }

    fn stage(self) -> Option<Stage> {
        match self {
            Step::PreChecks => Some(Stage::PreChecks),
            Step::Lint => Some(Stage::Lint),
            Step::Backup => Some(Stage::Backup),
            Step::DryRun => Some(Stage::DryRun),
            _ => None,
        }
    }

    fn from_stage(s: Stage) -> Step {
        match s {
            Stage::PreChecks => Step::PreChecks,
            Stage::Lint => Step::Lint,
            Stage::Backup => Step::Backup,
            Stage::DryRun => Step::DryRun,
            Stage::Apply => Step::Apply,
        }
    }

    fn next(self) -> Step {
        let i = Step::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Step::ALL.get(i + 1).copied().unwrap_or(Step::Report)
    }

    fn prev(self) -> Step {
        let i = Step::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Step::ALL[i.saturating_sub(1)]
    }
}

/// What the wizard asks the run task to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunCmd {
    /// Run the next stage (or the failed one again).
    Advance,
    OverrideLint(String),
    OverrideWindow(String),
    Approve {
        name: String,
        code: String,
    },
    /// Confirmed: run the apply with the typed name and ticket.
    Complete {
        confirm: String,
        ticket: String,
    },
    Abandon,
    /// The emergency rollback's or recovery's choice, signed (with a reason where the
    /// choice needs one).
    Emergency {
        choice: emergency::Choice,
        sign: crate::core::guard::policy::Sign,
        reason: Option<String>,
    },
    /// Cancel the statement in flight (pg_cancel_backend's protocol twin) and stop.
    Cancel,
    Terminate(i32),
    /// After a lock timeout: try again now instead of after the backoff.
    RetryNow,
    /// After a lock timeout: try again now, waiting up to this many ms for the lock.
    WaitLonger(u64),
}

/// What the run task reports.
#[derive(Debug, Clone)]
pub enum RunMsg {
    Opened {
        run_id: String,
        operator: String,
        planned: Vec<Planned>,
    },
    Stage {
        result: StageResult,
        report: Box<RunReport>,
        findings: Vec<FindingRow>,
    },
    Event(Event),
    Approval(Result<String, String>),
    Terminated(Result<String, String>),
    Finished {
        report: Box<RunReport>,
        /// The Markdown report's path.
        path: String,
    },
    /// The run could not start (ledger locked, server gone...).
    Failed(String),
    /// What an emergency rollback can do.
    RollbackPlan(Result<Box<crate::core::query::emergency::RollbackPlan>, String>),
    /// The failed migration a recovery settles (None: nothing is marked failed).
    Recovery(Result<Option<Box<crate::core::query::recovery::Recovery>>, String>),
}

/// A question that needs y before anything happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    Abort,
    Cancel,
    Terminate(i32),
    /// Wait longer for the lock on the next try (others queue behind us meanwhile).
    Wait,
    /// Testing tier: the one confirming keypress.
    Apply,
    Quit,
}

/// A typed reason for an override.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Lint,
    Window,
}

impl Live {
    fn statement_done(&mut self) {
        self.elapsed_ms = None;
        self.command = None;
        self.blocking.clear();
    }
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
}

/// How long "wait longer" waits for the lock on the next try.
pub const WAIT_LONGER_MS: u64 = 30_000;

/// The confirmation form of a run (apply or rollback); `field` is the one typed into.
#[derive(Debug, Clone, Default)]
pub struct Form {
    pub name: String,
    pub approver: String,
    pub code: String,
    pub ticket: String,
    /// Why (a recovery that claims what sluice cannot check).
    pub reason: String,
    pub field: usize,
}

impl Form {
    /// The fields a tier asks for: the typed name on production, the second approver where
    /// two are required, and always a ticket (required or optional).
    pub fn fields(tier: &str, approvals: u8) -> Vec<&'static str> {
        let mut f = Vec::new();
        if tier == "production" {
            f.push("name");
        }
        if approvals >= 2 {
            f.extend(["approver", "code"]);
        }
        f.push("ticket");
        f
    }

    pub fn active(&self, fields: &[&str], name: &str) -> bool {
        fields.get(self.field).is_some_and(|f| *f == name)
    }

    /// Typing and moving between fields; false for a key the form does not take.
    pub fn edit(&mut self, k: Key, fields: &[&str]) -> bool {
        let n = fields.len().max(1);
        let slot = match fields.get(self.field).copied() {
            Some("name") => &mut self.name,
            Some("approver") => &mut self.approver,
            Some("code") => &mut self.code,
            Some("reason") => &mut self.reason,
            _ => &mut self.ticket,
        };
        match k {
            Key::Tab | Key::Down => self.field = (self.field + 1) % n,
            Key::BackTab | Key::Up => self.field = (self.field + n - 1) % n,
            Key::Backspace => {
                slot.pop();
            }
            Key::Char(c) => slot.push(c),
            _ => return false,
        }
        true
    }
}

#[derive(Debug, Clone)]
pub struct Wizard {
    pub env: String,
    pub tier: String,
    pub approvals: u8,
    pub ticket_required: bool,
    pub run_id: Option<String>,
    pub operator: String,
    pub planned: Vec<Planned>,
    /// Where the run stands.
    pub at: Step,
    /// What the panel shows (Esc goes back to look at an earlier step).
    pub view: Step,
    /// A stage, the approval or the apply is in flight.
    pub busy: bool,
    pub results: Vec<StageResult>,
    /// Why the step the run stands at failed.
    pub failed: Option<String>,
    pub report: Option<Box<RunReport>>,
    pub findings: Vec<FindingRow>,
    pub form: Form,
    pub approved: Option<String>,
    pub reason: Option<(Reason, String)>,
    pub ask: Option<Ask>,
    pub live: Live,
    /// A one-line answer to the last key (refused, or what to do instead).
    pub note: Option<String>,
    pub selected: usize,
    pub report_path: Option<String>,
    /// Quit the console once the run has ended.
    pub quit_after: bool,
    pub readonly: bool,
}

/// What the console must do after a wizard key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Run(RunCmd),
    /// The wizard is over: close it and reload the environment.
    Close,
    Quit,
}

impl Wizard {
    pub fn new(env: &str, tier: &str, approvals: u8, ticket_required: bool) -> Wizard {
        Wizard {
            env: env.into(),
            tier: tier.into(),
            approvals,
            ticket_required,
            run_id: None,
            operator: String::new(),
            planned: Vec::new(),
            at: Step::PreChecks,
            view: Step::PreChecks,
            busy: true,
            results: Vec::new(),
            failed: None,
            report: None,
            findings: Vec::new(),
            form: Form::default(),
            approved: None,
            reason: None,
            ask: None,
            live: Live::default(),
            note: None,
            selected: 0,
            report_path: None,
            quit_after: false,
            readonly: false,
        }
    }

    pub fn result(&self, step: Step) -> Option<&StageResult> {
        let stage = if step == Step::Apply { Stage::Apply } else { step.stage()? };
        self.results.iter().find(|r| r.stage == stage)
    }

    fn passed(&self, step: Step) -> bool {
        self.result(step).is_some_and(|r| r.outcome != StageOutcome::Failed)
    }

    /// Before the apply, the run can still be abandoned with nothing changed.
    pub fn before_apply(&self) -> bool {
        self.at < Step::Apply
    }

    pub fn over(&self) -> bool {
        self.at == Step::Report
    }

    /// Fields of the confirmation form on this tier.
    pub fn fields(&self) -> Vec<&'static str> {
        Form::fields(&self.tier, self.approvals)
    }

    fn go(&mut self, step: Step) -> Vec<Effect> {
        self.at = step;
        self.view = step;
        self.selected = 0;
        self.failed = None;
        if step.stage().is_some() {
            self.busy = true;
            return vec![Effect::Run(RunCmd::Advance)];
        }
        Vec::new()
    }

    /// A message from the run task.
    pub fn on_msg(&mut self, msg: RunMsg) -> Vec<Effect> {
        match msg {
            RunMsg::Opened { run_id, operator, planned } => {
                self.run_id = Some(run_id);
                self.operator = operator;
                self.planned = planned;
            }
            RunMsg::Stage { result, report, findings } => {
                self.busy = false;
                let step = Step::from_stage(result.stage);
                self.failed =
                    (result.outcome == StageOutcome::Failed).then(|| result.summary.clone());
                self.results.retain(|r| r.stage != result.stage);
                self.results.push(result);
                self.report = Some(report);
                if step == Step::Lint {
                    self.findings = findings;
                }
                self.at = step;
                self.view = step;
                // The pre-checks only read: once they pass, the operator sees them with the
                // lint, which also only reads. Everything after that waits for a key.
                if step == Step::PreChecks && self.failed.is_none() {
                    return self.go(Step::Lint);
                }
            }
            RunMsg::Event(e) => self.on_event(e),
            RunMsg::Approval(Ok(who)) => {
                self.approved = Some(who);
                return self.complete();
            }
            RunMsg::Approval(Err(e)) => {
                self.busy = false;
                self.note = Some(e);
            }
            RunMsg::Terminated(r) => {
                self.note = Some(match r {
                    Ok(what) => format!("terminated {what}"),
                    Err(e) => e,
                })
            }
            RunMsg::Finished { report, path } => {
                self.busy = false;
                if !report.stages.is_empty() {
                    self.results = report.stages.clone();
                }
                self.report = Some(report);
                self.report_path = Some(path);
                self.at = Step::Report;
                self.view = Step::Report;
                self.ask = None;
                if self.quit_after {
                    return vec![Effect::Quit];
                }
            }
            RunMsg::RollbackPlan(_) | RunMsg::Recovery(_) => {}
            RunMsg::Failed(e) => {
                self.busy = false;
                self.failed = Some(e);
                self.at = Step::Report;
                self.view = Step::Report;
                if self.quit_after {
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
                live.blockers.clear();
                live.lock_timeout = None;
                live.statement_done();
            }
            Event::StatementFinished { index, .. } => {
                if let Some(c) = live.current.as_mut() {
                    c.3 = index;
                }
                live.blockers.clear();
                live.lock_timeout = None;
                live.statement_done();
            }
            Event::Progress { elapsed_ms, command, blocking, .. } => {
                live.elapsed_ms = Some(elapsed_ms);
                live.command = command;
                live.blocking = blocking.iter().map(|b| (b.pid, b.to_string())).collect();
            }
            Event::Waiting { blockers, .. } => {
                live.blockers = blockers.iter().map(|b| (b.pid, b.to_string())).collect();
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
                live.blockers.clear();
                live.lock_timeout = None;
                live.statement_done();
            }
            Event::BackupProgress { bytes, bytes_per_s } => {
                live.backup_bytes = bytes;
                live.backup_rate = bytes_per_s;
            }
            _ => {}
        }
    }

    fn complete(&mut self) -> Vec<Effect> {
        self.busy = true;
        self.at = Step::Apply;
        self.view = Step::Apply;
        vec![Effect::Run(RunCmd::Complete {
            confirm: self.form.name.trim().to_string(),
            ticket: self.form.ticket.trim().to_string(),
        })]
    }

    /// Checks the confirmation on this tier, then approves (two approvers) or applies.
    fn submit(&mut self) -> Vec<Effect> {
        if self.readonly {
            self.note = Some("read-only console: nothing is applied".into());
            return Vec::new();
        }
        if self.tier == "production" && self.form.name.trim() != self.env {
            self.note =
                Some(format!("the typed name does not match: type {} to apply to it", self.env));
            self.form.field = 0;
            return Vec::new();
        }
        if self.ticket_required && self.form.ticket.trim().is_empty() {
            self.note = Some("a change ticket reference is required here".into());
            self.form.field = self.fields().len() - 1;
            return Vec::new();
        }
        if self.tier == "testing" {
            self.ask = Some(Ask::Apply);
            return Vec::new();
        }
        self.approve_or_complete()
    }

    fn approve_or_complete(&mut self) -> Vec<Effect> {
        if self.approvals >= 2 && self.approved.is_none() {
            let (name, code) = (self.form.approver.trim(), self.form.code.trim());
            if name.is_empty() || code.is_empty() {
                self.note = Some(format!(
                    "a second approver must run `sluice approve {} --env {}` and give you their name and code",
                    self.run_id.as_deref().unwrap_or("RUN"),
                    self.env
                ));
                return Vec::new();
            }
            self.busy = true;
            return vec![Effect::Run(RunCmd::Approve { name: name.into(), code: code.into() })];
        }
        self.complete()
    }

    /// Keys go to a text field or a question (so `q` is a letter, not quit).
    pub fn typing(&self) -> bool {
        self.ask.is_some()
            || self.reason.is_some()
            || (self.view == Step::Confirm && self.at == Step::Confirm && !self.busy)
    }

    /// The operator asked to leave the console.
    pub fn quit(&mut self) -> Vec<Effect> {
        if self.over() {
            return vec![Effect::Quit];
        }
        self.ask = Some(Ask::Quit);
        Vec::new()
    }

    fn window_failed(&self) -> bool {
        self.failed.as_deref().is_some_and(|f| f.contains("maintenance window"))
    }

    /// Why Enter does nothing at a failed step, and what would.
    pub fn blocked_hint(&self) -> String {
        match self.at {
            Step::Lint => "lint found errors at this environment's gate: fix the migration, or o to override with a reason (recorded); x abandons".into(),
            Step::PreChecks if self.window_failed() => "outside the maintenance window: o to override with a reason (recorded), or come back in the window; x abandons".into(),
            _ => "this step failed: fix the cause, then r to run it again; x abandons the run".into(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
