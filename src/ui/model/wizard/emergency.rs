//! The emergency screens, built for 3 a.m.: the rollback (`u`, `:rollback`, `sluice rollback`
//! in a terminal) and the recovery of a failed migration (`:recover`, `sluice resolve` in a
//! terminal). Both show what each offer runs with the safe choice first; Continue takes it,
//! the typed confirmation and Continue run it.

use super::form::Field;
use super::offers::{self, Choice, Offer};
use super::{Ask, Control, Effect, EmergencyCmd, EmergencyMsg, RunNews, WizardCore};
use crate::core::guard::policy::Confirmation;
use crate::core::query::emergency::RollbackPlan;
use crate::core::query::recovery::Recovery;
use crate::ui::keymap::{Bindings, WizardAction as A};
use crate::ui::model::{EnvTab, Key};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Rollback,
    Recover,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Loading,
    Choose,
    Confirm,
    Running,
    Done,
}

type Effects = Vec<Effect<EmergencyCmd>>;

#[derive(Debug, Clone)]
pub struct EmergencyWizard {
    pub core: WizardCore,
    pub kind: Kind,
    pub phase: Phase,
    pub plan: Option<Box<RollbackPlan>>,
    pub recovery: Option<Box<Recovery>>,
    pub offers: Vec<Offer>,
    pub selected: usize,
    /// Why the screen could not do anything (nothing to roll back, the server is gone).
    pub error: Option<String>,
}

impl EmergencyWizard {
    pub fn new(kind: Kind, env: &EnvTab) -> EmergencyWizard {
        EmergencyWizard {
            core: WizardCore::new(env),
            kind,
            phase: Phase::Loading,
            plan: None,
            recovery: None,
            offers: Vec::new(),
            selected: 0,
            error: None,
        }
    }

    pub fn needs_reason(&self) -> bool {
        self.offers.get(self.selected).is_some_and(|o| o.needs_reason)
    }

    pub fn fields(&self) -> Vec<Field> {
        self.core.fields(self.needs_reason())
    }

    pub fn typing(&self) -> bool {
        self.core.ask.is_some() || self.phase == Phase::Confirm
    }

    fn choose_from(&mut self, offers: Vec<Offer>) {
        self.selected = offers.iter().position(|o| o.unavailable.is_none()).unwrap_or(0);
        self.offers = offers;
        self.phase = Phase::Choose;
    }

    fn done(&mut self, error: impl Into<String>) {
        self.error = Some(error.into());
        self.phase = Phase::Done;
    }

    pub fn on_msg(&mut self, msg: EmergencyMsg) -> Effects {
        match msg {
            EmergencyMsg::RollbackPlan(Ok(plan)) => {
                if plan.applied.is_empty() && plan.backups.is_empty() {
                    self.done("nothing is applied here and no backup exists: nothing to roll back");
                } else {
                    self.choose_from(offers::rollback(&plan));
                    self.plan = Some(plan);
                }
            }
            EmergencyMsg::Recovery(Ok(Some(r))) => {
                self.choose_from(offers::recovery(&r));
                self.recovery = Some(r);
            }
            EmergencyMsg::Recovery(Ok(None)) => {
                self.done("no migration is marked failed here: nothing to recover")
            }
            EmergencyMsg::RollbackPlan(Err(e))
            | EmergencyMsg::Recovery(Err(e))
            | EmergencyMsg::News(RunNews::Failed(e)) => self.done(e),
            EmergencyMsg::News(RunNews::Finished { report, path }) => {
                self.phase = Phase::Done;
                return self.core.finished(report, path);
            }
            EmergencyMsg::News(RunNews::Event(_) | RunNews::Terminated(_)) => {}
        }
        Vec::new()
    }

    pub fn quit(&mut self) -> Effects {
        match self.phase {
            Phase::Running => {
                self.core.ask = Some(Ask::Quit);
                Vec::new()
            }
            // Nothing is locked or written before the rollback runs.
            _ => vec![Effect::Quit],
        }
    }

    fn run(&mut self) -> Effects {
        let Some(o) = self.offers.get(self.selected) else { return Vec::new() };
        let choice = o.choice.clone();
        self.phase = Phase::Running;
        let reason = Some(self.core.form.reason.trim().to_string()).filter(|r| !r.is_empty());
        vec![Effect::Send(EmergencyCmd::Take { choice, sign: self.core.sign(), reason })]
    }

    fn submit(&mut self) -> Effects {
        let fields = self.fields();
        if self.needs_reason() && self.core.form.reason.trim().is_empty() {
            self.core.note = Some(match self.offers.get(self.selected).map(|o| &o.choice) {
                Some(Choice::MarkApplied(_)) => {
                    "say what finished it by hand (recorded with the run)".into()
                }
                _ => "say how the statements with no automatic undo were undone (recorded)".into(),
            });
            self.core.form.focus(&fields, Field::Reason);
            return Vec::new();
        }
        let verb = if self.kind == Kind::Recover { "settle it" } else { "roll it back" };
        let hint = format!("sluice approve --env {}", self.core.env.name);
        if !self.core.check_form(&fields, verb, &hint) {
            return Vec::new();
        }
        if self.core.env.needs.confirmation == Confirmation::Keypress {
            self.core.ask = Some(Ask::Confirm);
            return Vec::new();
        }
        self.run()
    }

    pub fn on_key(&mut self, k: Key, keys: &Bindings<A>) -> Effects {
        self.core.note = None;
        if let Some(ask) = self.core.ask.take() {
            if keys.action(k) != Some(A::Yes) {
                return Vec::new();
            }
            return match ask {
                Ask::Confirm => self.run(),
                Ask::Quit => {
                    self.core.quit_after = true;
                    vec![Effect::Send(EmergencyCmd::Control(Control::Cancel))]
                }
                _ => vec![Effect::Send(EmergencyCmd::Control(Control::Cancel))],
            };
        }
        if self.phase == Phase::Confirm {
            match k {
                Key::Esc => self.phase = Phase::Choose,
                Key::Enter => return self.submit(),
                k => {
                    let fields = self.fields();
                    self.core.form.edit(k, &fields);
                }
            }
            return Vec::new();
        }
        if let (Phase::Choose, Key::Char(c @ '1'..='3')) = (self.phase, k) {
            let i = c as usize - '1' as usize;
            if i < self.offers.len() {
                self.selected = i;
                self.core.scroll = 0;
            }
            return Vec::new();
        }
        match keys.action(k) {
            Some(a) => self.act(a),
            None => Vec::new(),
        }
    }

    fn act(&mut self, a: A) -> Effects {
        let scroll = &mut self.core.scroll;
        match (self.phase, a) {
            (Phase::Loading | Phase::Choose, A::Back) => return vec![Effect::Close],
            (Phase::Choose, A::Up) => {
                self.selected = self.selected.saturating_sub(1);
                *scroll = 0;
            }
            (Phase::Choose, A::Down) => {
                self.selected = (self.selected + 1).min(self.offers.len().saturating_sub(1));
                *scroll = 0;
            }
            (Phase::Choose | Phase::Done, A::ScrollDown) => *scroll += 5,
            (Phase::Choose | Phase::Done, A::ScrollUp) => *scroll = scroll.saturating_sub(5),
            (Phase::Choose, A::Continue) => match self.offers.get(self.selected) {
                Some(o) if o.unavailable.is_some() => self.core.note = o.unavailable.clone(),
                Some(_) => {
                    self.phase = Phase::Confirm;
                    self.core.form.field = 0;
                }
                None => {}
            },
            (Phase::Running, A::Cancel | A::Abandon) => self.core.ask = Some(Ask::Cancel),
            (Phase::Done, A::Continue | A::Back) => return vec![Effect::Close],
            (Phase::Done, A::Down) => *scroll += 1,
            (Phase::Done, A::Up) => *scroll = scroll.saturating_sub(1),
            _ => {}
        }
        Vec::new()
    }
}
