//! The guided runs' state, without drawing: the apply wizard (a stepper over the engine's
//! `GuardedRun`), and the emergency rollback and recovery. Both sit on one core (the
//! environment's requirements, the confirmation form, the question, the answer to the last
//! key, the report) and talk to their own task: the wizard sends commands, the task sends
//! messages back. Nothing that writes happens without a keypress, and every refusal says why.

pub mod apply;
mod apply_keys;
pub mod emergency;
pub mod fleet;
pub mod form;
pub mod offers;

use crate::core::data::lint::Finding;
use crate::core::exec::Planned;
use crate::core::guard::policy::{Confirmation, Sign};
use crate::core::query::emergency::RollbackPlan;
use crate::core::query::recovery::Recovery;
use crate::core::record::report::{Event, RunReport, StageResult};

use super::EnvTab;
use form::{Field, Form};

/// What an operator does to a run in flight, from either wizard; each acts from another
/// connection while the run's own waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Cancel the statement in flight (pg_cancel_backend's protocol twin) and stop.
    Cancel,
    Terminate(i32),
    /// After a lock timeout: try again now instead of after the backoff.
    RetryNow,
    /// After a lock timeout: try again now, waiting up to this many ms for the lock.
    WaitLonger(u64),
}

/// What the apply wizard asks its run task to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyCmd {
    /// Run the next stage (or the failed one again).
    Advance,
    OverrideLint(String),
    OverrideWindow(String),
    OverridePromotion(String),
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
    Control(Control),
}

/// What the emergency wizard asks its task to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmergencyCmd {
    /// The operator's choice, signed (with a reason where the choice needs one).
    Take {
        choice: offers::Choice,
        sign: Sign,
        reason: Option<String>,
    },
    Control(Control),
}

/// What every run task reports, whichever wizard it serves.
#[derive(Debug, Clone)]
pub enum RunNews {
    Event(Event),
    Terminated(Result<String, String>),
    Finished {
        report: Box<RunReport>,
        /// The Markdown report's path.
        path: String,
    },
    /// The run could not start (ledger locked, server gone...).
    Failed(String),
}

/// What the apply's run task reports.
#[derive(Debug, Clone)]
pub enum ApplyMsg {
    Opened {
        run_id: String,
        operator: String,
        planned: Vec<Planned>,
        /// The run's stages before the apply (a code tool's has no dry run yet).
        stages: Vec<crate::core::record::report::Stage>,
    },
    Stage {
        result: StageResult,
        report: Box<RunReport>,
        /// The lint stage's findings, all severities.
        findings: Vec<Finding>,
    },
    Approval(Result<String, String>),
    News(RunNews),
}

/// What the emergency task reports.
#[derive(Debug, Clone)]
pub enum EmergencyMsg {
    /// What an emergency rollback can do.
    RollbackPlan(Result<Box<RollbackPlan>, String>),
    /// The failed migration a recovery settles (None: nothing is marked failed).
    Recovery(Result<Option<Box<Recovery>>, String>),
    News(RunNews),
}

/// What the console must do after a wizard key or message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect<C> {
    /// Tell the wizard's task.
    Send(C),
    /// The wizard is over: close it and reload the environment.
    Close,
    Quit,
}

/// A question that needs a yes before anything happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    Abort,
    Cancel,
    Terminate(i32),
    /// Wait longer for the lock on the next try (others queue behind us meanwhile).
    Wait,
    /// Testing tier: the one confirming keypress.
    Confirm,
    Quit,
}

/// How long "wait longer" waits for the lock on the next try.
pub const WAIT_LONGER_MS: u64 = 30_000;

/// What both wizards share: the environment and what it requires, the confirmation form,
/// the open question, the answer to the last key, and the run's report once it ends.
#[derive(Debug, Clone)]
pub struct WizardCore {
    pub env: EnvTab,
    pub form: Form,
    pub ask: Option<Ask>,
    /// A one-line answer to the last key (refused, or what to do instead).
    pub note: Option<String>,
    pub report: Option<Box<RunReport>>,
    /// The Markdown report's path, once the run is recorded.
    pub report_path: Option<String>,
    /// Quit the console once the run has ended.
    pub quit_after: bool,
    /// How far the panel is scrolled.
    pub scroll: usize,
}

impl WizardCore {
    pub fn new(env: &EnvTab) -> WizardCore {
        WizardCore {
            env: env.clone(),
            form: Form::default(),
            ask: None,
            note: None,
            report: None,
            report_path: None,
            quit_after: false,
            scroll: 0,
        }
    }

    /// The fields of the confirmation form (a reason first when the choice needs one).
    pub fn fields(&self, reason: bool) -> Vec<Field> {
        let mut f = Form::fields(&self.env.needs);
        if reason {
            f.insert(0, Field::Reason);
        }
        f
    }

    /// Checks what the environment requires of the form (`fields`), the way the engine
    /// will; on a refusal the note says what is missing and the cursor goes there. `verb`:
    /// "apply", "roll it back". `approve_hint` is how the second approver gets a code.
    pub fn check_form(&mut self, fields: &[Field], verb: &str, approve_hint: &str) -> bool {
        let needs = self.env.needs.clone();
        if needs.confirmation == Confirmation::TypedName && self.form.name.trim() != self.env.name {
            self.note =
                Some(format!("the typed name does not match: type {} to {verb}", self.env.name));
            self.form.focus(fields, Field::Name);
            return false;
        }
        if needs.ticket_required() && self.form.ticket.trim().is_empty() {
            self.note = Some("a change ticket reference is required here".into());
            self.form.focus(fields, Field::Ticket);
            return false;
        }
        if needs.second_approver
            && (self.form.approver.trim().is_empty() || self.form.code.trim().is_empty())
        {
            self.note = Some(format!(
                "a second approver must run `{approve_hint}` and give you their name and code"
            ));
            return false;
        }
        true
    }

    /// The form as the engine's signature.
    pub fn sign(&self) -> Sign {
        let typed = self.env.needs.confirmation == Confirmation::TypedName;
        Sign {
            confirm: Some(if typed {
                self.form.name.trim().to_string()
            } else {
                self.env.name.clone()
            }),
            ticket: Some(self.form.ticket.trim().to_string()).filter(|t| !t.is_empty()),
            approval: self.env.needs.second_approver.then(|| {
                (self.form.approver.trim().to_string(), self.form.code.trim().to_string())
            }),
        }
    }

    /// The run is recorded: keep its report, and leave if the operator asked to.
    pub fn finished<C>(&mut self, report: Box<RunReport>, path: String) -> Vec<Effect<C>> {
        self.report = Some(report);
        self.report_path = Some(path);
        self.ask = None;
        if self.quit_after {
            return vec![Effect::Quit];
        }
        Vec::new()
    }
}
