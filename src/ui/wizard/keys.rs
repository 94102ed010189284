//! The wizard's keys: questions, the reason input, the confirmation form, the steps.

use super::{Ask, Effect, Reason, RunCmd, Step, Wizard};
use crate::ui::model::Key;

impl Wizard {
    pub fn on_key(&mut self, k: Key) -> Vec<Effect> {
        self.note = None;
        if let Some(ask) = self.ask.take() {
            if !matches!(k, Key::Char('y') | Key::Char('Y')) {
                return Vec::new();
            }
            return match ask {
                Ask::Abort => {
                    self.busy = true;
                    vec![Effect::Run(RunCmd::Abandon)]
                }
                Ask::Cancel => vec![Effect::Run(RunCmd::Cancel)],
                Ask::Terminate(pid) => vec![Effect::Run(RunCmd::Terminate(pid))],
                Ask::Wait => {
                    self.live.lock_timeout = Some(format!(
                        "waiting up to {} s for the lock (c aborts)",
                        super::WAIT_LONGER_MS / 1000
                    ));
                    vec![Effect::Run(RunCmd::WaitLonger(super::WAIT_LONGER_MS))]
                }
                Ask::Apply => self.approve_or_complete(),
                Ask::Quit => {
                    self.quit_after = true;
                    if self.before_apply() {
                        self.busy = true;
                        vec![Effect::Run(RunCmd::Abandon)]
                    } else {
                        vec![Effect::Run(RunCmd::Cancel)]
                    }
                }
            };
        }
        if let Some((why, mut text)) = self.reason.take() {
            match k {
                Key::Esc => {}
                Key::Enter if text.trim().is_empty() => {
                    self.note = Some("a reason is required: it is recorded with the run".into());
                    self.reason = Some((why, text));
                }
                Key::Enter => {
                    self.busy = true;
                    self.failed = None;
                    let reason = text.trim().to_string();
                    return vec![Effect::Run(match why {
                        Reason::Lint => RunCmd::OverrideLint(reason),
                        Reason::Window => RunCmd::OverrideWindow(reason),
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
            return Vec::new();
        }
        if self.over() {
            return match k {
                Key::Enter | Key::Esc | Key::Char('q') => vec![Effect::Close],
                Key::Up | Key::Char('k') => {
                    self.selected = self.selected.saturating_sub(1);
                    Vec::new()
                }
                Key::Down | Key::Char('j') => {
                    self.selected += 1;
                    Vec::new()
                }
                _ => Vec::new(),
            };
        }
        // The confirmation form takes typed text; Esc, Tab and Enter steer it.
        if self.view == Step::Confirm && self.at == Step::Confirm && !self.busy {
            match k {
                Key::Enter => return self.submit(),
                Key::Esc => self.view = Step::DryRun,
                k => {
                    let fields = self.fields();
                    self.form.edit(k, &fields);
                }
            }
            return Vec::new();
        }
        match k {
            Key::Up | Key::Char('k') => self.selected = self.selected.saturating_sub(1),
            Key::Down | Key::Char('j') => self.selected += 1,
            Key::Esc if self.view > Step::PreChecks && self.before_apply() => {
                self.view = self.view.prev();
                self.selected = 0;
            }
            Key::Esc | Key::Char('x') if self.before_apply() => self.ask = Some(Ask::Abort),
            Key::Char('x') | Key::Char('c') if self.at == Step::Apply => {
                self.ask = Some(Ask::Cancel)
            }
            Key::Char('r') if self.at == Step::Apply && self.live.lock_timeout.is_some() => {
                self.live.lock_timeout = Some("retrying now".into());
                return vec![Effect::Run(RunCmd::RetryNow)];
            }
            Key::Char('w') if self.at == Step::Apply && self.live.lock_timeout.is_some() => {
                self.ask = Some(Ask::Wait)
            }
            Key::Char('t') if self.at == Step::Apply => match self.live.blockers.first() {
                Some((pid, _)) => self.ask = Some(Ask::Terminate(*pid)),
                None => self.note = Some("nothing blocks the run now".into()),
            },
            Key::Enter if self.busy => self.note = Some("wait: this step is running".into()),
            Key::Enter if self.view < self.at => {
                self.view = self.view.next();
                self.selected = 0;
            }
            Key::Enter if self.failed.is_some() => {
                self.note = Some(self.blocked_hint());
            }
            Key::Enter if self.passed(self.at) => {
                if self.readonly && self.at >= Step::Lint {
                    self.note = Some(
                        "read-only console: the run stops before the backup; x abandons it".into(),
                    );
                    return Vec::new();
                }
                return self.go(self.at.next());
            }
            Key::Char('r') if self.failed.is_some() && !self.busy => {
                self.busy = true;
                self.failed = None;
                return vec![Effect::Run(RunCmd::Advance)];
            }
            Key::Char('o') if self.failed.is_some() && !self.busy => match self.at {
                Step::Lint => self.reason = Some((Reason::Lint, String::new())),
                Step::PreChecks if self.window_failed() => {
                    self.reason = Some((Reason::Window, String::new()))
                }
                _ => self.note = Some("this step cannot be overridden: fix it, then r".into()),
            },
            _ => {}
        }
        Vec::new()
    }
}
