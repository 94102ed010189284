//! The console: a ratatui app over the engine. The model (`model`) changes only in
//! `update`; the view (`view`) only draws it; the tasks (`tasks`) do the work and send owned
//! results back as messages, so nothing in update or view waits on the database. A frame is
//! drawn once the queued messages are drained. The terminal is restored on every exit path
//! (ratatui's init installs a panic hook that restores it too).

pub mod keymap;
pub mod model;
mod tasks;
pub mod theme;
pub mod view;

#[cfg(test)]
mod tests;

use tokio::sync::mpsc;

use crate::core::data::config::{paths, Project};
use crate::core::error::{Error, Result};
use model::wizard::emergency::Kind;
use model::{update, EnvTab, Model, Msg};

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

/// The model for `project`, its theme and keymap read (a bad file becomes a notice).
fn model(project: &Project, env: Option<&str>, opts: &ConsoleOptions) -> Result<Model> {
    if project.environments.is_empty() {
        return Err(Error::input(
            "sluice.toml defines no environment: add an [environments.NAME] table",
        ));
    }
    let envs: Vec<EnvTab> = project.environments_in_order().into_iter().map(EnvTab::of).collect();
    let start = match env {
        Some(n) => envs
            .iter()
            .position(|e| e.name == n)
            .ok_or_else(|| Error::input(format!("unknown environment {n:?}")))?,
        None => 0,
    };
    let mut model = Model::new(&project.name, envs, start, &opts.log_dir);
    model.readonly = opts.readonly;
    let config_dir = paths::config_dir();
    let loaded =
        theme::load(opts.theme.as_deref(), config_dir.as_deref(), theme::no_color_requested());
    model.theme = loaded.theme;
    model.notices = loaded.notices;
    let (keymap, notice) = keymap::load(config_dir.as_deref());
    model.notices.extend(notice);
    for n in &model.notices {
        tracing::warn!("{n}");
    }
    model.keymap = keymap;
    Ok(model)
}

/// Opens the console on `project` (the environment named, else the first one).
pub async fn run(project: Project, env: Option<&str>, opts: &ConsoleOptions) -> Result<i32> {
    let mut model = model(&project, env, opts)?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut terminal =
        ratatui::try_init().map_err(|e| Error::input(format!("cannot open the terminal: {e}")))?;
    if let Ok(size) = terminal.size() {
        let _ = tx.send(Msg::Resize(size.height));
    }
    tasks::spawn_input(tx.clone());
    let mut tasks = tasks::Tasks::start(&project, tx);
    let result = async {
        let mut pending = model.init();
        match opts.start {
            Some(Start::Rollback) => pending.extend(model.start_emergency(Kind::Rollback)),
            Some(Start::Recover) => pending.extend(model.start_emergency(Kind::Recover)),
            None => {}
        }
        loop {
            for request in pending.drain(..) {
                if tasks.perform(request).is_err() {
                    return Ok(0);
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
    drop(tasks);
    ratatui::restore();
    result
}
