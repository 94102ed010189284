//! The fleet wizard: a fleet environment rolled forward wave by wave. The plan (each
//! database and what it has pending, the waves, the failure budget), one signature for the
//! whole fleet run (the typed name, the ticket, one second approver's code), then each
//! database's progress as its run starts and ends, and the fleet report. `c` stops the
//! fleet: no new database starts and the running ones are cancelled.

use super::{Ask, Effect, WizardCore};
use crate::core::exec::fleet::FleetEvent;
use crate::core::guard::policy::{Confirmation, Sign};
use crate::core::record::fleet::{DatabaseRun, FleetReport};
use crate::ui::keymap::{Bindings, WizardAction as A};
use crate::ui::model::wizard::form::{Field, Form};
use crate::ui::model::{EnvTab, Key};

/// One database as the plan shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRow {
    pub database: String,
    pub wave: usize,
    pub pending: usize,
    pub reachable: bool,
}

/// What the fleet run would do, read by its task before anything runs.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetPlan {
    pub databases: Vec<PlanRow>,
    pub waves: Vec<usize>,
    pub parallel: usize,
    pub max_failures: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Waiting,
    Running,
    Finished(DatabaseRun),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FleetStep {
    Plan,
    Confirm,
    Running,
    Done,
}

/// What the fleet wizard asks of its task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetCmd {
    /// Signed: roll the fleet out.
    Run(Sign),
    /// No new database starts; the running ones are cancelled.
    Stop,
    /// Closed before anything ran.
    Abandon,
}

/// What the fleet task reports.
#[derive(Debug, Clone)]
pub enum FleetMsg {
    Planned(Result<FleetPlan, String>),
    Event(FleetEvent),
    /// The fleet run is over (Err: it could not start, nothing ran).
    Finished(Result<Box<FleetReport>, String>),
}

#[derive(Debug, Clone)]
pub struct FleetWizard {
    pub core: WizardCore,
    pub step: FleetStep,
    pub plan: Option<FleetPlan>,
    /// Each database's progress, in rollout order.
    pub progress: Vec<(String, usize, Progress)>,
    pub report: Option<Box<FleetReport>>,
    /// The plan could not be read, or the run could not start.
    pub failed: Option<String>,
    pub stopping: bool,
}

type Effects = Vec<Effect<FleetCmd>>;

impl FleetWizard {
    pub fn new(env: &EnvTab) -> FleetWizard {
        FleetWizard {
            core: WizardCore::new(env),
            step: FleetStep::Plan,
            plan: None,
            progress: Vec::new(),
            report: None,
            failed: None,
            stopping: false,
        }
    }

    pub fn fields(&self) -> Vec<Field> {
        Form::fields(&self.core.env.needs)
    }

    /// Keys go to the form (or a question) now: the quit key is typed, not obeyed.
    pub fn typing(&self) -> bool {
        self.core.ask.is_some() || self.step == FleetStep::Confirm
    }

    /// Running, done (or nothing to do), failed, and waiting or never started.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for (_, _, p) in &self.progress {
            match p {
                Progress::Running => c.0 += 1,
                Progress::Finished(d) if d.failed() => c.2 += 1,
                Progress::Finished(d) if d.outcome == "not-started" => c.3 += 1,
                Progress::Finished(_) => c.1 += 1,
                Progress::Waiting => c.3 += 1,
            }
        }
        c
    }

    pub fn on_msg(&mut self, msg: FleetMsg) -> Effects {
        match msg {
            FleetMsg::Planned(Ok(plan)) => self.plan = Some(plan),
            FleetMsg::Planned(Err(e)) => self.failed = Some(e),
            FleetMsg::Event(FleetEvent::Planned { .. }) => {}
            FleetMsg::Event(FleetEvent::Started { database, .. }) => {
                self.set(&database, Progress::Running)
            }
            FleetMsg::Event(FleetEvent::Finished(d)) => {
                self.set(&d.database.clone(), Progress::Finished(d))
            }
            FleetMsg::Finished(Ok(report)) => {
                self.report = Some(report);
                self.step = FleetStep::Done;
                self.core.ask = None;
                if self.core.quit_after {
                    return vec![Effect::Quit];
                }
            }
            FleetMsg::Finished(Err(e)) => {
                self.failed = Some(e);
                self.step = FleetStep::Done;
                self.core.ask = None;
            }
        }
        Vec::new()
    }

    fn set(&mut self, database: &str, p: Progress) {
        if let Some(row) = self.progress.iter_mut().find(|(d, _, _)| d == database) {
            row.2 = p;
        }
    }

    pub fn on_key(&mut self, k: Key, keys: &Bindings<A>) -> Effects {
        self.core.note = None;
        if let Some(ask) = self.core.ask.take() {
            return self.answer(ask, keys.action(k) == Some(A::Yes));
        }
        if self.step == FleetStep::Confirm {
            match k {
                Key::Enter => return self.submit(),
                Key::Esc => self.step = FleetStep::Plan,
                k => {
                    let fields = self.fields();
                    self.core.form.edit(k, &fields);
                }
            }
            return Vec::new();
        }
        match (self.step, keys.action(k)) {
            (_, Some(A::Up)) => self.core.scroll = self.core.scroll.saturating_sub(1),
            (_, Some(A::Down)) => self.core.scroll += 1,
            (FleetStep::Plan, Some(A::Continue)) => match (&self.plan, &self.failed) {
                (_, Some(_)) => {
                    self.core.note = Some("the fleet cannot be read: Esc closes".into())
                }
                (None, None) => self.core.note = Some("wait: the plan is being read".into()),
                (Some(_), None) => self.step = FleetStep::Confirm,
            },
            (FleetStep::Plan, Some(A::Back | A::Abandon)) => {
                return vec![Effect::Send(FleetCmd::Abandon), Effect::Close]
            }
            (FleetStep::Running, Some(A::Cancel | A::Abandon)) if !self.stopping => {
                self.core.ask = Some(Ask::Cancel)
            }
            (FleetStep::Running, Some(A::Back)) => {
                let c = keys.first(A::Cancel);
                self.core.note =
                    Some(format!("the fleet run goes on: {c} stops it (no new database starts)"));
            }
            (FleetStep::Done, Some(A::Continue | A::Back)) => return vec![Effect::Close],
            _ => {}
        }
        Vec::new()
    }

    fn answer(&mut self, ask: Ask, yes: bool) -> Effects {
        if !yes {
            return Vec::new();
        }
        match ask {
            Ask::Confirm => self.run(),
            Ask::Cancel => {
                self.stopping = true;
                vec![Effect::Send(FleetCmd::Stop)]
            }
            Ask::Quit => {
                self.core.quit_after = true;
                self.stopping = true;
                vec![Effect::Send(FleetCmd::Stop)]
            }
            _ => Vec::new(),
        }
    }

    fn submit(&mut self) -> Effects {
        let hint = format!("sluice approve --env {}", self.core.env.environment());
        if !self.core.check_form(&self.fields(), "apply to it", &hint) {
            return Vec::new();
        }
        if self.core.env.needs.confirmation == Confirmation::Keypress {
            self.core.ask = Some(Ask::Confirm);
            return Vec::new();
        }
        self.run()
    }

    fn run(&mut self) -> Effects {
        let Some(plan) = &self.plan else { return Vec::new() };
        self.progress = plan
            .databases
            .iter()
            .map(|d| (d.database.clone(), d.wave, Progress::Waiting))
            .collect();
        self.step = FleetStep::Running;
        self.core.scroll = 0;
        vec![Effect::Send(FleetCmd::Run(self.core.sign()))]
    }

    /// The operator asked to leave the console.
    pub fn quit(&mut self) -> Effects {
        match self.step {
            FleetStep::Running => {
                self.core.ask = Some(Ask::Quit);
                Vec::new()
            }
            FleetStep::Done => vec![Effect::Quit],
            _ => vec![Effect::Send(FleetCmd::Abandon), Effect::Quit],
        }
    }
}
