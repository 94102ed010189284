//! `update`: the one place the console's state changes, key by key and message by message.

use super::{Command, DetailTab, Key, Load, Model, Msg, Screen};
use crate::ui::keymap::Action;
use crate::ui::wizard::emergency::Kind;

/// The one place state changes. Returns what the runtime must do (load data, quit).
pub fn update(m: &mut Model, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Resize(h) => {
            m.page = (h / 2).max(1);
            Vec::new()
        }
        Msg::Loaded { env, load } => {
            let current = env == m.env_name();
            let mut cmds = Vec::new();
            // A server that went away is tried again, less and less often, up to every 30 s.
            if matches!(load, Load::Failed(_)) {
                let n = m.attempts.entry(env.clone()).or_insert(0);
                *n += 1;
                cmds.push(Command::RetryLater { env: env.clone(), after_ms: retry_after_ms(*n) });
            } else {
                m.attempts.remove(&env);
            }
            m.loads.insert(env, load);
            m.clamp();
            // The monitor starts, or learns which tables the pending migrations touch.
            if current && !m.paused {
                cmds.push(m.monitor());
            }
            cmds
        }
        Msg::Retry(env) => {
            // Only a still-failed environment is tried again (r may have done it already).
            if matches!(m.loads.get(&env), Some(Load::Failed(_))) {
                m.loads.insert(env.clone(), Load::Loading);
                vec![Command::LoadStatus(env)]
            } else {
                Vec::new()
            }
        }
        Msg::Notice(n) => {
            if !m.notices.contains(&n) {
                m.notices.push(n);
            }
            Vec::new()
        }
        Msg::Metrics { env, snapshot } => {
            // A late sample from the environment we just left is dropped.
            if env == m.env_name() {
                if let Ok(s) = &snapshot {
                    m.push_sample(s);
                }
                m.metrics = Some(snapshot);
            }
            Vec::new()
        }
        Msg::Run(r) => {
            let effects = match (m.emergency.as_mut(), m.wizard.as_mut()) {
                (Some(rb), _) => rb.on_msg(r),
                (None, Some(w)) => w.on_msg(r),
                (None, None) => Vec::new(),
            };
            m.wizard_effects(effects)
        }
        Msg::Key(k) if m.emergency.is_some() => {
            let Some(w) = m.emergency.as_mut() else { return Vec::new() };
            let effects = match k {
                Key::CtrlC => w.quit(),
                Key::Char('q') if !w.typing() => w.quit(),
                k => w.on_key(k),
            };
            m.wizard_effects(effects)
        }
        // A wizard owns the keys; leaving asks while its run holds the ledger.
        Msg::Key(k) if m.wizard.is_some() => {
            let Some(w) = m.wizard.as_mut() else { return Vec::new() };
            let effects = match k {
                Key::CtrlC => w.quit(),
                Key::Char('q') if !w.typing() => w.quit(),
                k => w.on_key(k),
            };
            m.wizard_effects(effects)
        }
        Msg::Key(Key::CtrlC) => vec![Command::Quit],
        // The key that hides a notice does nothing else: it was pressed to read on.
        Msg::Key(_) if !m.notices.is_empty() => {
            m.notices.clear();
            Vec::new()
        }
        Msg::Key(k) if m.palette.is_some() => {
            let text = m.palette.take().unwrap_or_default();
            match k {
                Key::Esc => {}
                Key::Enter => return crate::ui::palette::run(m, &text),
                Key::Tab => m.palette = Some(crate::ui::palette::complete(m, &text)),
                Key::Backspace if text.is_empty() => {}
                Key::Backspace => {
                    let mut t = text;
                    t.pop();
                    m.palette = Some(t);
                }
                Key::Char(c) => m.palette = Some(text + &c.to_string()),
                _ => m.palette = Some(text),
            }
            Vec::new()
        }
        Msg::Key(k) if m.help => {
            if matches!(k, Key::Esc | Key::Enter)
                || matches!(m.keymap.action(k), Some(Action::Help | Action::Quit))
            {
                m.help = false;
            }
            Vec::new()
        }
        Msg::Key(k) if m.filtering => {
            match k {
                Key::Esc => {
                    m.filtering = false;
                    m.filter.clear();
                }
                Key::Enter => m.filtering = false,
                Key::Backspace => {
                    m.filter.pop();
                }
                Key::Char(c) => m.filter.push(c),
                Key::Up => m.move_by(-1),
                Key::Down => m.move_by(1),
                _ => {}
            }
            m.selected = m.selected.min(m.visible_len().saturating_sub(1));
            Vec::new()
        }
        Msg::Key(Key::Esc) if !m.filter.is_empty() => {
            m.filter.clear();
            Vec::new()
        }
        // Esc backs out of a browser to the migrations.
        Msg::Key(Key::Esc) if m.screen != Screen::Migrations => {
            m.show(Screen::Migrations);
            Vec::new()
        }
        Msg::Key(Key::Char(c @ '1'..='9')) => {
            let i = c as usize - '1' as usize;
            if i < m.envs.len() {
                m.switch_env(i)
            } else {
                Vec::new()
            }
        }
        Msg::Key(k) => match m.keymap.action(k) {
            Some(a) => act(m, a),
            None => Vec::new(),
        },
    }
}

/// 1 s, 2 s, 4 s ... at most 30 s between attempts.
pub fn retry_after_ms(attempt: u32) -> u64 {
    (1000u64 << attempt.saturating_sub(1).min(5)).min(30_000)
}

fn act(m: &mut Model, a: Action) -> Vec<Command> {
    let tab = |m: &mut Model, t: DetailTab| {
        m.tab = t;
        m.scroll = 0;
        m.finding = None;
        Vec::new()
    };
    match a {
        Action::Quit => return vec![Command::Quit],
        Action::Up => m.move_by(-1),
        Action::Down => m.move_by(1),
        Action::PageUp => m.move_by(-10),
        Action::PageDown => m.move_by(10),
        Action::First => m.selected = 0,
        Action::Last => m.selected = m.visible_len().saturating_sub(1),
        Action::NextEnv => {
            let n = m.envs.len().max(1);
            return m.switch_env((m.env + 1) % n);
        }
        Action::PrevEnv => {
            let n = m.envs.len().max(1);
            return m.switch_env((m.env + n - 1) % n);
        }
        Action::Filter => m.filtering = true,
        Action::Help => m.help = true,
        Action::NextTab => {
            let next = m.tab.next();
            return tab(m, next);
        }
        Action::ShowRuns => m.show(Screen::Runs),
        Action::ShowLedger => m.show(Screen::Ledger),
        Action::ShowMonitor => m.show(Screen::Monitor),
        Action::ShowSql => return tab(m, DetailTab::Up),
        Action::ShowDown => return tab(m, DetailTab::Down),
        Action::ShowDiff => return tab(m, DetailTab::Diff),
        Action::ShowFindings => return tab(m, DetailTab::Findings),
        Action::ShowHistory => return tab(m, DetailTab::History),
        Action::ScrollDown => m.scroll = m.scroll.saturating_add(1),
        Action::ScrollUp => m.scroll = m.scroll.saturating_sub(1),
        Action::ScrollPageDown => m.scroll = m.scroll.saturating_add(m.page.max(1)),
        Action::ScrollPageUp => m.scroll = m.scroll.saturating_sub(m.page.max(1)),
        Action::NextFinding => m.next_finding(),
        Action::Slower | Action::Faster => {
            m.interval_ms = if a == Action::Faster {
                (m.interval_ms / 2).max(250)
            } else {
                (m.interval_ms * 2).min(10_000)
            };
            return vec![m.monitor()];
        }
        Action::Pause => {
            m.paused = !m.paused;
            return vec![m.monitor()];
        }
        Action::Reload => return m.reload(),
        Action::Palette => m.palette = Some(String::new()),
        Action::Apply if m.readonly => {
            m.notices.push("read-only console (--readonly): apply is disabled".into())
        }
        Action::Apply => return m.start_apply(),
        Action::Rollback => return m.start_emergency(Kind::Rollback),
    }
    Vec::new()
}
