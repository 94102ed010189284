//! `update`: the one place the console's state changes, key by key and message by message.
//! A key goes to the layer on top of the overlay stack (`Model::top`), and only there.

use super::wizard::Effect;
use super::{DetailTab, Key, Load, Model, Msg, Overlay, Request, Screen, TabKind, Top};
use crate::ui::keymap::{Action, WizardAction};
use crate::ui::model::wizard::emergency::Kind;

/// Returns what the runtime must do (load data, start a run, quit).
pub fn update(m: &mut Model, msg: Msg) -> Vec<Request> {
    match msg {
        Msg::Resize(h) => {
            m.page = (h / 2).max(1);
            Vec::new()
        }
        Msg::Loaded { env, load } => loaded(m, env, load),
        Msg::Retry(env) => {
            // Only a still-failed environment is tried again (r may have done it already).
            if matches!(m.loads.get(&env), Some(Load::Failed(_))) {
                m.loads.insert(env.clone(), Load::Loading);
                vec![Request::LoadStatus(env)]
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
        Msg::Apply(r) => {
            let effects = m.apply_wizard_mut().map(|w| w.on_msg(r)).unwrap_or_default();
            effects_of(m, effects, Request::Apply)
        }
        Msg::Emergency(r) => {
            let effects = m.emergency_mut().map(|w| w.on_msg(r)).unwrap_or_default();
            effects_of(m, effects, Request::Emergency)
        }
        Msg::Fleet(r) => {
            let effects = m.fleet_wizard_mut().map(|w| w.on_msg(r)).unwrap_or_default();
            effects_of(m, effects, Request::Fleet)
        }
        Msg::Key(Key::CtrlC) => ctrl_c(m),
        Msg::Key(k) => key(m, k),
    }
}

fn loaded(m: &mut Model, env: String, load: Load) -> Vec<Request> {
    let current = env == m.env_name();
    let mut out = Vec::new();
    // A server that went away is tried again, less and less often, up to every 30 s.
    if matches!(load, Load::Failed(_)) {
        let n = m.attempts.entry(env.clone()).or_insert(0);
        *n += 1;
        out.push(Request::RetryLater { env: env.clone(), after_ms: retry_after_ms(*n) });
    } else {
        m.attempts.remove(&env);
    }
    m.loads.insert(env, load);
    m.clamp();
    // The monitor starts, or learns which tables the pending migrations touch.
    if current && !m.paused {
        out.push(m.monitor());
    }
    out
}

/// What a wizard's effects ask of the console: tell its task, close it, or quit.
fn effects_of<C>(m: &mut Model, effects: Vec<Effect<C>>, send: fn(C) -> Request) -> Vec<Request> {
    let mut out = Vec::new();
    for e in effects {
        match e {
            Effect::Send(c) => out.push(send(c)),
            Effect::Quit => out.push(Request::Quit),
            Effect::Close => {
                m.close_wizards();
                out.extend(m.reload());
            }
        }
    }
    out
}

/// Ctrl-C leaves the console; while a wizard holds a run, it asks first.
fn ctrl_c(m: &mut Model) -> Vec<Request> {
    if let Some(w) = m.apply_wizard_mut() {
        let effects = w.quit();
        return effects_of(m, effects, Request::Apply);
    }
    if let Some(w) = m.emergency_mut() {
        let effects = w.quit();
        return effects_of(m, effects, Request::Emergency);
    }
    if let Some(w) = m.fleet_wizard_mut() {
        let effects = w.quit();
        return effects_of(m, effects, Request::Fleet);
    }
    vec![Request::Quit]
}

fn key(m: &mut Model, k: Key) -> Vec<Request> {
    match m.top() {
        // The key that hides a notice does nothing else: it was pressed to read on.
        Top::Notice => {
            m.notices.clear();
            return Vec::new();
        }
        Top::Screen => return screen_key(m, k),
        Top::Overlay(_) => {}
    }
    let Some(top) = m.overlays.last_mut() else { return Vec::new() };
    match top {
        Overlay::Palette(text) => {
            let text = std::mem::take(text);
            m.pop();
            palette_key(m, text, k)
        }
        Overlay::Help => {
            let closes = matches!(k, Key::Esc | Key::Enter)
                || matches!(m.keymap.action(k), Some(Action::Help | Action::Quit));
            if closes {
                m.pop();
            }
            Vec::new()
        }
        Overlay::Filter => {
            filter_key(m, k);
            Vec::new()
        }
        Overlay::Apply(w) => {
            let keys = &m.keymap.wizard;
            let effects = if keys.action(k) == Some(WizardAction::Quit) && !w.typing() {
                w.quit()
            } else {
                w.on_key(k, keys)
            };
            effects_of(m, effects, Request::Apply)
        }
        Overlay::Emergency(w) => {
            let keys = &m.keymap.wizard;
            let effects = if keys.action(k) == Some(WizardAction::Quit) && !w.typing() {
                w.quit()
            } else {
                w.on_key(k, keys)
            };
            effects_of(m, effects, Request::Emergency)
        }
        Overlay::Fleet(w) => {
            let keys = &m.keymap.wizard;
            let effects = if keys.action(k) == Some(WizardAction::Quit) && !w.typing() {
                w.quit()
            } else {
                w.on_key(k, keys)
            };
            effects_of(m, effects, Request::Fleet)
        }
    }
}

fn palette_key(m: &mut Model, text: String, k: Key) -> Vec<Request> {
    let reopen = |m: &mut Model, t: String| m.overlays.push(Overlay::Palette(t));
    match k {
        Key::Esc => {}
        Key::Enter => return super::palette::run(m, &text),
        Key::Tab => {
            let done = super::palette::complete(m, &text);
            reopen(m, done);
        }
        Key::Backspace if text.is_empty() => {}
        Key::Backspace => {
            let mut t = text;
            t.pop();
            reopen(m, t);
        }
        Key::Char(c) => reopen(m, text + &c.to_string()),
        _ => reopen(m, text),
    }
    Vec::new()
}

fn filter_key(m: &mut Model, k: Key) {
    match k {
        Key::Esc => {
            m.pop();
            m.filter.clear();
        }
        Key::Enter => {
            m.pop();
        }
        Key::Backspace => {
            m.filter.pop();
        }
        Key::Char(c) => m.filter.push(c),
        Key::Up => m.move_by(-1),
        Key::Down => m.move_by(1),
        _ => {}
    }
    m.selected = m.selected.min(m.visible_len().saturating_sub(1));
}

/// A key with nothing open over the screen.
fn screen_key(m: &mut Model, k: Key) -> Vec<Request> {
    match k {
        Key::Esc if !m.filter.is_empty() => {
            m.filter.clear();
            Vec::new()
        }
        // Esc backs out of a browser to the migrations.
        Key::Esc if m.screen != Screen::Migrations => {
            m.show(Screen::Migrations);
            Vec::new()
        }
        // Esc on a fleet's database goes back to the fleet; Enter on the fleet opens one.
        Key::Esc if matches!(m.env_tab().map(|e| &e.kind), Some(TabKind::Member { .. })) => {
            m.close_database().unwrap_or_default()
        }
        Key::Enter if m.env_tab().is_some_and(|e| e.is_fleet()) => m.open_database(),
        Key::Char(c @ '1'..='9') => {
            let i = c as usize - '1' as usize;
            if i < m.envs.len() {
                m.switch_env(i)
            } else {
                Vec::new()
            }
        }
        k => match m.keymap.action(k) {
            Some(a) => act(m, a),
            None => Vec::new(),
        },
    }
}

/// 1 s, 2 s, 4 s ... at most 30 s between attempts.
pub fn retry_after_ms(attempt: u32) -> u64 {
    (1000u64 << attempt.saturating_sub(1).min(5)).min(30_000)
}

fn act(m: &mut Model, a: Action) -> Vec<Request> {
    let browser = matches!(a, Action::ShowRuns | Action::ShowLedger | Action::ShowMonitor);
    if browser && m.env_tab().is_some_and(|e| e.is_fleet()) {
        m.notices
            .push("a fleet's runs, ledger and locks are each database's: Enter opens one".into());
        return Vec::new();
    }
    match a {
        Action::Quit => return vec![Request::Quit],
        Action::Up => m.move_by(-1),
        Action::Down => m.move_by(1),
        Action::PageUp => m.move_by(-10),
        Action::PageDown => m.move_by(10),
        Action::First => m.selected = 0,
        Action::Last => m.selected = m.visible_len().saturating_sub(1),
        Action::NextEnv | Action::PrevEnv => {
            let n = m.envs.len().max(1);
            let step = if a == Action::NextEnv { 1 } else { n - 1 };
            return m.switch_env((m.env + step) % n);
        }
        Action::Filter => m.overlays.push(Overlay::Filter),
        Action::Help => m.overlays.push(Overlay::Help),
        Action::NextTab => m.set_tab(m.tab.next()),
        Action::ShowRuns => m.show(Screen::Runs),
        Action::ShowLedger => m.show(Screen::Ledger),
        Action::ShowMonitor => m.show(Screen::Monitor),
        Action::ShowSql => m.set_tab(DetailTab::Up),
        Action::ShowDown => m.set_tab(DetailTab::Down),
        Action::ShowDiff => m.set_tab(DetailTab::Diff),
        Action::ShowFindings => m.set_tab(DetailTab::Findings),
        Action::ShowHistory => m.set_tab(DetailTab::History),
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
        Action::Palette => m.overlays.push(Overlay::Palette(String::new())),
        Action::Apply if m.readonly => {
            m.notices.push("read-only console (--readonly): apply is disabled".into())
        }
        Action::Apply => return m.start_apply(),
        Action::Rollback => return m.start_emergency(Kind::Rollback),
    }
    Vec::new()
}
