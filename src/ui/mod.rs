//! The console: a ratatui app over the engine. Keys are read on their own thread, database
//! work runs in tokio tasks that send owned results back as messages, and a frame is drawn
//! only when a message changed something. The terminal is restored on every exit path
//! (ratatui's init installs a panic hook that restores it too).

mod browse;
mod driver;
pub mod keymap;
mod live;
mod load;
pub mod model;
mod palette;
pub mod theme;
pub mod view;
pub mod wizard;

use crate::ui::wizard::emergency::Kind;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use tokio::sync::mpsc;

use crate::core::data::config::Project;
use crate::core::error::{Error, Result};

use model::{update, Command, EnvTab, Key, Model, Msg};

/// How the console looks and where it says its logs are.
#[derive(Debug, Clone, Default)]
pub struct ConsoleOptions {
    pub log_dir: String,
    /// A built-in theme or one in `<config dir>/themes/`; default dark.
    pub theme: Option<String>,
    /// Refuse every action that writes.
    pub readonly: bool,
    /// A wizard to open at once.
    pub start: Option<Start>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Rollback,
    /// The failed-migration recovery screen (`sluice resolve` in a terminal).
    Recover,
}

/// Opens the console on `project` (the environment named first, else the first one).
pub async fn run(project: Project, env: Option<&str>, opts: &ConsoleOptions) -> Result<i32> {
    if project.environments.is_empty() {
        return Err(Error::input(
            "sluice.toml defines no environment: add an [environments.NAME] table",
        ));
    }
    let envs: Vec<EnvTab> = project
        .environments
        .values()
        .map(|e| EnvTab {
            name: e.name.clone(),
            tier: e.tier.to_string(),
            approvals: e.approvals.required,
            ticket_required: matches!(
                e.approvals.ticket,
                crate::core::data::config::TicketPolicy::Required
            ),
        })
        .collect();
    let start = match env {
        Some(n) => envs
            .iter()
            .position(|e| e.name == n)
            .ok_or_else(|| Error::input(format!("unknown environment {n:?}")))?,
        None => 0,
    };
    let mut model = Model::new(&project.name, envs, start, &opts.log_dir);
    model.readonly = opts.readonly;
    let config_dir = crate::core::data::config::paths::config_dir();
    let loaded =
        theme::load(opts.theme.as_deref(), config_dir.as_deref(), theme::no_color_requested());
    for n in &loaded.notices {
        tracing::warn!("{n}");
    }
    model.theme = loaded.theme;
    model.notices = loaded.notices;
    let (keymap, notice) = keymap::load(config_dir.as_deref());
    if let Some(n) = notice {
        tracing::warn!("{n}");
        model.notices.push(n);
    }
    model.keymap = keymap;
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut terminal =
        ratatui::try_init().map_err(|e| Error::input(format!("cannot open the terminal: {e}")))?;
    if let Ok(size) = terminal.size() {
        let _ = tx.send(Msg::Resize(size.height));
    }
    spawn_input(tx.clone());
    let (monitor_tx, monitor_rx) = tokio::sync::watch::channel(None::<MonitorCfg>);
    let monitor = tokio::spawn(run_monitor(project.clone(), monitor_rx, tx.clone()));
    let result = async {
        let mut pending = model.init();
        match opts.start {
            Some(Start::Rollback) => pending.extend(model.start_emergency(Kind::Rollback)),
            Some(Start::Recover) => pending.extend(model.start_emergency(Kind::Recover)),
            None => {}
        }
        let mut run_tx: Option<mpsc::UnboundedSender<wizard::RunCmd>> = None;
        loop {
            for cmd in pending.drain(..) {
                match cmd {
                    Command::Quit => return Ok(0),
                    Command::StartApply(env) => {
                        run_tx = Some(driver::spawn_apply(&project, &env, tx.clone()));
                    }
                    Command::Task { env, task } => spawn_task(&project, env, task, tx.clone()),
                    Command::StartEmergency { env, kind } => {
                        run_tx = Some(driver::spawn_emergency(&project, &env, kind, tx.clone()));
                    }
                    Command::Run(c) => {
                        if let Some(t) = &run_tx {
                            let _ = t.send(c);
                        }
                    }
                    Command::LoadStatus(name) => load::spawn_load(&project, &name, tx.clone()),
                    Command::RetryLater { env, after_ms } => {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(Duration::from_millis(after_ms)).await;
                            let _ = tx.send(Msg::Retry(env));
                        });
                    }
                    Command::Monitor { env, interval_ms, paused, relations } => {
                        let cfg = MonitorCfg { env, interval_ms, paused, relations };
                        let _ = monitor_tx.send(Some(cfg));
                    }
                }
            }
            terminal
                .draw(|f| view::view(&model, f))
                .map_err(|e| Error::input(format!("cannot draw: {e}")))?;
            let Some(first) = rx.recv().await else { return Ok(0) };
            // Drain whatever else is queued, then draw once.
            pending.extend(update(&mut model, first));
            while let Ok(more) = rx.try_recv() {
                pending.extend(update(&mut model, more));
            }
        }
    }
    .await;
    monitor.abort();
    ratatui::restore();
    result
}

#[derive(Debug, Clone, PartialEq)]
struct MonitorCfg {
    env: String,
    interval_ms: u64,
    paused: bool,
    relations: Vec<String>,
}

/// Samples the selected environment on its own connection, as often as the console asks;
/// follows environment switches, pauses, and reconnects after an error.
async fn run_monitor(
    project: Project,
    mut cfg: tokio::sync::watch::Receiver<Option<MonitorCfg>>,
    tx: mpsc::UnboundedSender<Msg>,
) {
    let mut current: Option<(String, crate::core::db::monitor::Monitor)> = None;
    loop {
        let Some(c) = cfg.borrow_and_update().clone() else {
            if cfg.changed().await.is_err() {
                return;
            }
            continue;
        };
        if c.paused {
            if cfg.changed().await.is_err() {
                return;
            }
            continue;
        }
        if current.as_ref().is_none_or(|(env, _)| *env != c.env) {
            current = None;
            let target = project
                .environment(Some(&c.env))
                .and_then(crate::core::db::connect::Target::resolve);
            match target {
                Ok(t) => match crate::core::db::monitor::Monitor::connect(&t).await {
                    Ok(m) => current = Some((c.env.clone(), m)),
                    Err(e) => {
                        let _ =
                            tx.send(Msg::Metrics { env: c.env.clone(), snapshot: Err(e.message) });
                    }
                },
                Err(e) => {
                    let _ = tx.send(Msg::Metrics { env: c.env.clone(), snapshot: Err(e.message) });
                }
            }
        }
        if let Some((env, m)) = current.as_mut() {
            let snapshot = m.sample(&c.relations).await.map_err(|e| e.message);
            if snapshot.is_err() {
                // Reconnect on the next round: the server may have gone away.
                let _ = tx.send(Msg::Metrics { env: env.clone(), snapshot });
                current = None;
            } else if tx.send(Msg::Metrics { env: env.clone(), snapshot }).is_err() {
                return;
            }
        }
        tokio::select! {
            changed = cfg.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(Duration::from_millis(c.interval_ms)) => {}
        }
    }
}

/// Runs a palette job (backup, verify) in the background; its outcome comes back as a notice.
fn spawn_task(project: &Project, env: String, task: model::Task, tx: mpsc::UnboundedSender<Msg>) {
    let project = project.clone();
    tokio::spawn(async move {
        let line = async {
            let e = project.environment(Some(&env))?;
            Ok::<String, Error>(match task {
                model::Task::Backup => {
                    let b = crate::core::guard::backup::take(e, "manual", None).await?;
                    format!(
                        "backup of {env}: {} ({:.1} MB, {} entries verified)",
                        b.path.display(),
                        b.bytes as f64 / 1_048_576.0,
                        b.entries
                    )
                }
                model::Task::Verify => {
                    use crate::core::guard::precheck::Outcome;
                    let level = crate::core::guard::verify::Level::parse("standard")?;
                    let checks = crate::core::query::checks::verify(&project, e, level).await?;
                    let n = |o| checks.iter().filter(|c| c.outcome == o).count();
                    let first = checks
                        .iter()
                        .find(|c| c.outcome != Outcome::Pass)
                        .map(|c| format!("; {}: {}", c.name, c.figure))
                        .unwrap_or_default();
                    format!(
                        "verify {env}: {} passed, {} warning(s), {} failed{first}",
                        n(Outcome::Pass),
                        n(Outcome::Warn),
                        n(Outcome::Fail)
                    )
                }
            })
        }
        .await
        .unwrap_or_else(|e| {
            let what = if task == model::Task::Backup { "backup" } else { "verify" };
            format!("{what} of {env} failed: {}", e.message)
        });
        let _ = tx.send(Msg::Notice(line));
    });
}

fn spawn_input(tx: mpsc::UnboundedSender<Msg>) {
    std::thread::spawn(move || loop {
        // A short poll lets the thread notice the console has gone and end.
        match event::poll(Duration::from_millis(250)) {
            Ok(false) => {
                if tx.is_closed() {
                    return;
                }
                continue;
            }
            Ok(true) => {}
            Err(_) => return,
        }
        let msg = match event::read() {
            Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => {
                let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
                let key = match k.code {
                    KeyCode::Char('c') if ctrl => Key::CtrlC,
                    KeyCode::Char(c) => Key::Char(c),
                    KeyCode::Up => Key::Up,
                    KeyCode::Down => Key::Down,
                    KeyCode::PageUp => Key::PageUp,
                    KeyCode::PageDown => Key::PageDown,
                    KeyCode::Home => Key::Home,
                    KeyCode::End => Key::End,
                    KeyCode::Tab => Key::Tab,
                    KeyCode::BackTab => Key::BackTab,
                    KeyCode::Enter => Key::Enter,
                    KeyCode::Esc => Key::Esc,
                    KeyCode::Backspace => Key::Backspace,
                    _ => continue,
                };
                Msg::Key(key)
            }
            Ok(Event::Resize(_, h)) => Msg::Resize(h),
            Ok(_) => continue,
            Err(_) => return,
        };
        if tx.send(msg).is_err() {
            return;
        }
    });
}
