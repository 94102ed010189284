//! The apply wizard's keys, read through the keymap's `[wizard]` table: questions, the
//! reason input, the confirmation form, then the steps.

use super::apply::{ApplyStep, ApplyWizard, Reason};
use super::{Ask, Control, Effect, WAIT_LONGER_MS};
use crate::core::error::Refusal;
use crate::core::guard::policy::Confirmation;
use crate::ui::keymap::{Bindings, WizardAction as A};
use crate::ui::model::Key;

use super::ApplyCmd;

type Effects = Vec<Effect<ApplyCmd>>;

impl ApplyWizard {
    pub fn on_key(&mut self, k: Key, keys: &Bindings<A>) -> Effects {
        self.core.note = None;
        if let Some(ask) = self.core.ask.take() {
            return self.answer(ask, keys.action(k) == Some(A::Yes));
        }
        if let Some((why, text)) = self.reason.take() {
            return self.reason_key(why, text, k);
        }
        let a = keys.action(k);
        if self.over() {
            return self.report_key(a);
        }
        if self.confirming() {
            match k {
                Key::Enter => return self.submit(),
                Key::Esc => self.view = ApplyStep::DryRun,
                k => {
                    let fields = self.fields();
                    self.core.form.edit(k, &fields);
                }
            }
            return Vec::new();
        }
        match a {
            Some(a) => self.step_key(a, keys),
            None => Vec::new(),
        }
    }

    fn answer(&mut self, ask: Ask, yes: bool) -> Effects {
        if !yes {
            return Vec::new();
        }
        match ask {
            Ask::Abort => {
                self.busy = true;
                vec![Effect::Send(ApplyCmd::Abandon)]
            }
            Ask::Cancel => vec![Effect::Send(ApplyCmd::Control(Control::Cancel))],
            Ask::Terminate(pid) => vec![Effect::Send(ApplyCmd::Control(Control::Terminate(pid)))],
            Ask::Wait => {
                self.live.lock_timeout = Some(format!(
                    "waiting up to {} s for the lock (cancel aborts)",
                    WAIT_LONGER_MS / 1000
                ));
                vec![Effect::Send(ApplyCmd::Control(Control::WaitLonger(WAIT_LONGER_MS)))]
            }
            Ask::Confirm => self.approve_or_complete(),
            Ask::Quit => {
                self.core.quit_after = true;
                if self.before_apply() {
                    self.busy = true;
                    vec![Effect::Send(ApplyCmd::Abandon)]
                } else {
                    vec![Effect::Send(ApplyCmd::Control(Control::Cancel))]
                }
            }
        }
    }

    fn reason_key(&mut self, why: Reason, mut text: String, k: Key) -> Effects {
        match k {
            Key::Esc => {}
            Key::Enter if text.trim().is_empty() => {
                self.core.note = Some("a reason is required: it is recorded with the run".into());
                self.reason = Some((why, text));
            }
            Key::Enter => {
                self.busy = true;
                self.failed = None;
                let reason = text.trim().to_string();
                return vec![Effect::Send(match why {
                    Reason::Lint => ApplyCmd::OverrideLint(reason),
                    Reason::Window => ApplyCmd::OverrideWindow(reason),
                    Reason::Promotion => ApplyCmd::OverridePromotion(reason),
                })];
            }
            Key::Backspace => {
                text.pop();
                self.reason = Some((why, text));
            }
            Key::Char(c) => {
                text.push(c);
                self.reason = Some((why, text));
            }
            _ => self.reason = Some((why, text)),
        }
        Vec::new()
    }

    fn report_key(&mut self, a: Option<A>) -> Effects {
        match a {
            Some(A::Continue | A::Back) => return vec![Effect::Close],
            Some(A::Up) => self.core.scroll = self.core.scroll.saturating_sub(1),
            Some(A::Down) => self.core.scroll += 1,
            _ => {}
        }
        Vec::new()
    }

    fn step_key(&mut self, a: A, keys: &Bindings<A>) -> Effects {
        let applying = self.at == ApplyStep::Apply;
        let lock_wait = applying && self.live.lock_timeout.is_some();
        match a {
            A::Up => self.core.scroll = self.core.scroll.saturating_sub(1),
            A::Down => self.core.scroll += 1,
            A::ScrollUp => self.core.scroll = self.core.scroll.saturating_sub(5),
            A::ScrollDown => self.core.scroll += 5,
            A::Back if self.view > ApplyStep::PreChecks && self.before_apply() => {
                self.view = self.prev_step(self.view);
                self.core.scroll = 0;
            }
            A::Back | A::Abandon if self.before_apply() => self.core.ask = Some(Ask::Abort),
            A::Abandon | A::Cancel if applying => self.core.ask = Some(Ask::Cancel),
            A::Retry if lock_wait => {
                self.live.lock_timeout = Some("retrying now".into());
                return vec![Effect::Send(ApplyCmd::Control(Control::RetryNow))];
            }
            A::WaitLonger if lock_wait => self.core.ask = Some(Ask::Wait),
            A::Terminate if applying => match self.live.blockers.first() {
                Some((pid, _)) => self.core.ask = Some(Ask::Terminate(*pid)),
                None => self.core.note = Some("nothing blocks the run now".into()),
            },
            A::Continue => return self.continue_key(keys),
            A::Retry if self.failed.is_some() && !self.busy => {
                self.busy = true;
                self.failed = None;
                return vec![Effect::Send(ApplyCmd::Advance)];
            }
            A::Override if self.failed.is_some() && !self.busy => self.override_key(keys),
            _ => {}
        }
        Vec::new()
    }

    fn continue_key(&mut self, keys: &Bindings<A>) -> Effects {
        if self.busy {
            self.core.note = Some("wait: this step is running".into());
        } else if self.view < self.at {
            self.view = self.next_step(self.view);
            self.core.scroll = 0;
        } else if self.failed.is_some() {
            self.core.note = Some(self.blocked_hint(keys));
        } else if self.passed(self.at) {
            if self.readonly && self.at >= ApplyStep::Lint {
                let x = keys.first(A::Abandon);
                self.core.note = Some(format!(
                    "read-only console: the run stops before the backup; {x} abandons it"
                ));
                return Vec::new();
            }
            return self.go(self.next_step(self.at));
        }
        Vec::new()
    }

    fn override_key(&mut self, keys: &Bindings<A>) {
        match (self.at, &self.refusal) {
            (ApplyStep::Lint, _) => self.reason = Some((Reason::Lint, String::new())),
            (ApplyStep::PreChecks, Some(Refusal::Promotion { .. })) => {
                self.reason = Some((Reason::Promotion, String::new()))
            }
            (ApplyStep::PreChecks, _) if self.can_override() => {
                self.reason = Some((Reason::Window, String::new()))
            }
            _ => {
                let r = keys.first(A::Retry);
                self.core.note = Some(format!("this step cannot be overridden: fix it, then {r}"));
            }
        }
    }

    /// Checks the confirmation on this environment, then approves (two approvers) or
    /// applies.
    fn submit(&mut self) -> Effects {
        if self.readonly {
            self.core.note = Some("read-only console: nothing is applied".into());
            return Vec::new();
        }
        let id = self.run_id.as_deref().unwrap_or("RUN").to_string();
        let hint = format!("sluice approve {id} --env {}", self.core.env.name);
        let fields = self.fields();
        if !self.core.check_form(&fields, "apply to it", &hint) {
            return Vec::new();
        }
        if self.core.env.needs.confirmation == Confirmation::Keypress {
            self.core.ask = Some(Ask::Confirm);
            return Vec::new();
        }
        self.approve_or_complete()
    }

    fn approve_or_complete(&mut self) -> Effects {
        if self.core.env.needs.second_approver && self.approved.is_none() {
            let form = &self.core.form;
            let (name, code) = (form.approver.trim().to_string(), form.code.trim().to_string());
            self.busy = true;
            return vec![Effect::Send(ApplyCmd::Approve { name, code })];
        }
        self.complete()
    }

    /// Why Continue does nothing at a failed step, and what would pass it.
    pub fn blocked_hint(&self, keys: &Bindings<A>) -> String {
        let (o, r, x) = (keys.first(A::Override), keys.first(A::Retry), keys.first(A::Abandon));
        match self.at {
            ApplyStep::Lint => format!("lint found errors at this environment's gate: fix the migration, or {o} to override with a reason (recorded); {x} abandons"),
            ApplyStep::PreChecks if self.can_override() => format!("outside the maintenance window: {o} to override with a reason (recorded), or come back in the window; {x} abandons"),
            _ => format!("this step failed: fix the cause, then {r} to run it again; {x} abandons the run"),
        }
    }
}
