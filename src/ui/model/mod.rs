//! The console's state and `update`: messages in, commands out. No I/O here.

use std::collections::HashMap;

use super::keymap::Keymap;
use super::wizard::emergency::{EmergencyWizard, Kind};

/// One migration as the console shows it (owned, loaded by a background task).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub version: String,
    pub name: String,
    /// applied, pending, drifted, missing, failed, unreadable.
    pub state: String,
    pub out_of_order: bool,
    pub applied_at: Option<String>,
    pub failed_at: Option<i32>,
    pub up_sql: Option<String>,
    pub down_sql: Option<String>,
    /// The up SQL the ledger says ran (for drift diffs, and when the file is gone).
    pub ledger_sql: Option<String>,
    /// Drift: unified diff of the SQL that ran against the file, computed once at load.
    pub drift_diff: Option<String>,
    pub findings: Vec<FindingRow>,
    /// This version's ledger rows, oldest first: when, direction, outcome, who, run.
    pub history: Vec<String>,
    /// Why the file cannot be read (state unreadable).
    pub problem: Option<String>,
}

impl Row {
    /// Version and name joined by `sep`; a Flyway repeatable's version (`R__<name>`) alone.
    pub fn title(&self, sep: &str) -> String {
        if self.version.starts_with("R__") {
            self.version.clone()
        } else {
            format!("{}{sep}{}", self.version, self.name)
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FindingRow {
    pub line: usize,
    pub rule: String,
    /// error, warning, info.
    pub severity: String,
    pub message: String,
    pub help: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    Loading,
    Loaded {
        rows: Vec<Row>,
        server: String,
        /// Every run here, newest first.
        runs: Vec<Entry>,
        /// Every ledger row here, newest first.
        ledger: Vec<Entry>,
        /// Tables the pending migrations touch: the monitor lists their locks.
        touched: Vec<String>,
    },
    /// The server could not be reached or failed: tried again with backoff.
    Failed(String),
    /// The project itself cannot be read (a migration file, the config): no retry helps
    /// until someone fixes it, then `r`.
    Invalid(String),
}

impl Load {
    /// Input errors (files, config) are Invalid; anything else is worth retrying.
    pub fn from_error(e: &crate::core::error::Error) -> Load {
        match e.kind {
            crate::core::error::ErrorKind::Input => Load::Invalid(e.message.clone()),
            _ => Load::Failed(e.message.clone()),
        }
    }
}

/// What the body shows: the migrations, or one of the browsers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Migrations,
    Runs,
    Ledger,
    /// The live view: blocker tree, locks on touched tables, idle transactions.
    Monitor,
}

/// A line of the runs or ledger browser and what its detail pane shows (owned, built by
/// the loading task).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub line: String,
    pub detail: Vec<String>,
    /// Lower case; what the filter searches (version, name, operator, date, action...).
    pub search: String,
    /// ok, failed, running...: picks the entry's symbol.
    pub outcome: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailTab {
    Up,
    Down,
    Diff,
    Findings,
    History,
}

impl DetailTab {
    fn next(self) -> DetailTab {
        match self {
            DetailTab::Up => DetailTab::Down,
            DetailTab::Down => DetailTab::Diff,
            DetailTab::Diff => DetailTab::Findings,
            DetailTab::Findings => DetailTab::History,
            DetailTab::History => DetailTab::Up,
        }
    }
}

#[derive(Debug, Clone)]
pub struct EnvTab {
    pub name: String,
    pub tier: String,
    /// People who must approve a run here (1 or 2).
    pub approvals: u8,
    pub ticket_required: bool,
}

impl EnvTab {
    pub fn new(name: &str, tier: &str) -> EnvTab {
        EnvTab { name: name.into(), tier: tier.into(), approvals: 1, ticket_required: false }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Tab,
    BackTab,
    Enter,
    Esc,
    Backspace,
    Char(char),
    CtrlC,
}

#[derive(Debug, Clone)]
pub enum Msg {
    Key(Key),
    /// The terminal's new height: a detail page is half of it.
    Resize(u16),
    Loaded {
        env: String,
        load: Load,
    },
    Metrics {
        env: String,
        snapshot: Result<crate::core::db::monitor::Snapshot, String>,
    },
    /// Time to try a failed environment again.
    Retry(String),
    /// Something worth one look (shown in the footer until a key is pressed).
    Notice(String),
    /// From the task that runs the wizard's guarded run.
    Run(super::wizard::RunMsg),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    LoadStatus(String),
    /// Point the monitor at an environment, at an interval, or pause it.
    Monitor {
        env: String,
        interval_ms: u64,
        paused: bool,
        /// Tables whose locks to list.
        relations: Vec<String>,
    },
    /// Send `Msg::Retry(env)` after a pause.
    RetryLater {
        env: String,
        after_ms: u64,
    },
    /// Open a guarded apply on an environment, served by a run task.
    StartApply(String),
    /// Open the emergency rollback or the recovery (its task reads what it can do first).
    StartEmergency {
        env: String,
        kind: Kind,
    },
    /// A one-off job on an environment whose outcome comes back as a notice.
    Task {
        env: String,
        task: Task,
    },
    /// Tell the run task what the operator decided.
    Run(super::wizard::RunCmd),
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// pg_dump now, verified (writes a file, not the database).
    Backup,
    /// What migrations left behind, at the standard level.
    Verify,
}

/// How many samples the sparklines keep.
pub const HISTORY: usize = 30;

pub struct Model {
    pub project: String,
    pub envs: Vec<EnvTab>,
    pub env: usize,
    pub loads: HashMap<String, Load>,
    pub selected: usize,
    pub filter: String,
    pub filtering: bool,
    pub tab: DetailTab,
    pub scroll: u16,
    /// The finding `n` last jumped to: its line is marked in the SQL tab.
    pub finding: Option<usize>,
    /// Rows of the detail pane, as last drawn: what a page scroll moves by.
    pub page: u16,
    pub help: bool,
    pub log_dir: String,
    pub metrics: Option<Result<crate::core::db::monitor::Snapshot, String>>,
    pub conn_history: Vec<u64>,
    pub tps_history: Vec<u64>,
    pub interval_ms: u64,
    pub paused: bool,
    pub theme: super::theme::Theme,
    pub keymap: Keymap,
    /// Problems worth one look (a bad theme or keymap file); any key dismisses them.
    pub notices: Vec<String>,
    pub screen: Screen,
    /// Failed loads in a row, per environment: the reconnecting state and its backoff.
    pub attempts: HashMap<String, u32>,
    /// The `:` palette's typed text while it is open.
    pub palette: Option<String>,
    /// The guarded-run wizard, while one is open.
    pub wizard: Option<super::wizard::Wizard>,
    /// The emergency rollback, while it is open.
    pub emergency: Option<super::wizard::emergency::EmergencyWizard>,
    /// `--readonly`: every action that writes is refused.
    pub readonly: bool,
}

impl Model {
    pub fn new(project: &str, envs: Vec<EnvTab>, env: usize, log_dir: &str) -> Model {
        Model {
            project: project.to_string(),
            envs,
            env,
            loads: HashMap::new(),
            selected: 0,
            filter: String::new(),
            filtering: false,
            tab: DetailTab::Up,
            scroll: 0,
            finding: None,
            page: 10,
            help: false,
            log_dir: log_dir.to_string(),
            metrics: None,
            conn_history: Vec::new(),
            tps_history: Vec::new(),
            interval_ms: 1000,
            paused: false,
            theme: super::theme::Theme::default(),
            keymap: Keymap::default(),
            notices: Vec::new(),
            screen: Screen::Migrations,
            attempts: HashMap::new(),
            palette: None,
            wizard: None,
            emergency: None,
            readonly: false,
        }
    }

    /// Opens the guarded apply wizard on the current environment.
    pub(super) fn start_apply(&mut self) -> Vec<Command> {
        if self.wizard.is_some() {
            return Vec::new();
        }
        let pending = self.visible().iter().filter(|r| r.state == "pending").count();
        match self.load() {
            Some(Load::Loaded { rows, .. }) if rows.iter().any(|r| r.state == "unreadable") => {
                self.notices.push("a migration file cannot be read: fix it before applying".into());
                return Vec::new();
            }
            // Nothing runs past a failed migration: the recovery screen opens instead (it
            // says so; a notice would hide its keys).
            Some(Load::Loaded { rows, .. }) if rows.iter().any(|r| r.state == "failed") => {
                return self.start_emergency(Kind::Recover);
            }
            Some(Load::Loaded { .. }) if pending == 0 && self.filter.is_empty() => {
                self.notices.push(format!("{}: nothing pending to apply", self.env_name()));
                return Vec::new();
            }
            Some(Load::Loaded { .. }) => {}
            _ => {
                self.notices.push("the environment is not loaded yet".into());
                return Vec::new();
            }
        }
        let Some(e) = self.envs.get(self.env) else { return Vec::new() };
        let mut w = super::wizard::Wizard::new(&e.name, &e.tier, e.approvals, e.ticket_required);
        w.readonly = self.readonly;
        self.wizard = Some(w);
        vec![Command::StartApply(e.name.clone())]
    }

    /// `:lint`: the findings of the list in one line, and the first migration with any.
    pub(super) fn lint_summary(&mut self) {
        let Some(Load::Loaded { rows, .. }) = self.load() else {
            self.notices.push("the environment is not loaded yet".into());
            return;
        };
        let count =
            |sev: &str| rows.iter().flat_map(|r| &r.findings).filter(|f| f.severity == sev).count();
        let (errors, warnings) = (count("error"), count("warning"));
        let with = rows.iter().filter(|r| !r.findings.is_empty()).count();
        let first = rows.iter().position(|r| {
            r.findings.iter().any(|f| f.severity == "error" || f.severity == "warning")
        });
        self.notices.push(format!(
            "lint: {errors} error(s), {warnings} warning(s) in {with} migration(s){}",
            if first.is_some() { "; showing the first; n jumps to the line" } else { "" }
        ));
        if let Some(i) = first {
            self.screen = Screen::Migrations;
            self.filter.clear();
            self.selected = i;
            self.tab = DetailTab::Findings;
            self.scroll = 0;
        }
    }

    /// Opens the emergency rollback, or the recovery of a failed migration, on the current
    /// environment.
    pub(super) fn start_emergency(&mut self, kind: Kind) -> Vec<Command> {
        if self.readonly {
            let what = if kind == Kind::Recover { "recovery" } else { "rollback" };
            self.notices.push(format!("read-only console (--readonly): {what} is disabled"));
            return Vec::new();
        }
        if self.wizard.is_some() || self.emergency.is_some() {
            return Vec::new();
        }
        let Some(e) = self.envs.get(self.env) else { return Vec::new() };
        let (name, tier, n, ticket) = (&e.name, &e.tier, e.approvals, e.ticket_required);
        self.emergency = Some(match kind {
            Kind::Rollback => EmergencyWizard::new(name, tier, n, ticket),
            Kind::Recover => EmergencyWizard::recover(name, tier, n, ticket),
        });
        vec![Command::StartEmergency { env: e.name.clone(), kind }]
    }

    fn wizard_effects(&mut self, effects: Vec<super::wizard::Effect>) -> Vec<Command> {
        use super::wizard::Effect;
        let mut cmds = Vec::new();
        for e in effects {
            match e {
                Effect::Run(c) => cmds.push(Command::Run(c)),
                Effect::Quit => cmds.push(Command::Quit),
                Effect::Close => {
                    self.wizard = None;
                    self.emergency = None;
                    cmds.extend(self.reload());
                }
            }
        }
        cmds
    }

    /// Entries of the browser on screen that match the filter.
    pub fn entries(&self) -> Vec<&Entry> {
        let f = self.filter.to_lowercase();
        let all = match (self.load(), self.screen) {
            (Some(Load::Loaded { runs, .. }), Screen::Runs) => runs,
            (Some(Load::Loaded { ledger, .. }), Screen::Ledger) => ledger,
            _ => return Vec::new(),
        };
        all.iter().filter(|e| f.is_empty() || e.search.contains(&f)).collect()
    }

    fn visible_len(&self) -> usize {
        match self.screen {
            Screen::Migrations => self.visible().len(),
            Screen::Monitor => 0,
            _ => self.entries().len(),
        }
    }

    /// The key of a browser opens it, and closes it again.
    fn show(&mut self, screen: Screen) {
        self.open(if self.screen == screen { Screen::Migrations } else { screen });
    }

    pub(super) fn open(&mut self, screen: Screen) {
        self.screen = screen;
        self.selected = 0;
        self.scroll = 0;
        self.filter.clear();
    }

    pub(super) fn reload(&mut self) -> Vec<Command> {
        let name = self.env_name().to_string();
        self.loads.insert(name.clone(), Load::Loading);
        vec![Command::LoadStatus(name)]
    }

    pub fn env_name(&self) -> &str {
        self.envs.get(self.env).map(|e| e.name.as_str()).unwrap_or("")
    }

    pub fn is_production(&self) -> bool {
        self.envs.get(self.env).is_some_and(|e| e.tier == "production")
    }

    pub fn load(&self) -> Option<&Load> {
        self.loads.get(self.env_name())
    }

    /// Rows of the current environment that match the filter.
    pub fn visible(&self) -> Vec<&Row> {
        let f = self.filter.to_lowercase();
        match self.load() {
            Some(Load::Loaded { rows, .. }) => rows
                .iter()
                .filter(|r| {
                    f.is_empty()
                        || r.version.contains(&f)
                        || r.name.to_lowercase().contains(&f)
                        || r.state.contains(&f)
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn current(&self) -> Option<&Row> {
        self.visible().get(self.selected).copied()
    }

    /// Commands to run at start: load the first environment and watch it.
    pub fn init(&mut self) -> Vec<Command> {
        self.switch_env(self.env)
    }

    fn push_sample(&mut self, snap: &crate::core::db::monitor::Snapshot) {
        self.conn_history.push(snap.connections.max(0) as u64);
        self.tps_history.push(snap.tps.unwrap_or(0.0).max(0.0) as u64);
        for h in [&mut self.conn_history, &mut self.tps_history] {
            if h.len() > HISTORY {
                h.remove(0);
            }
        }
    }

    fn monitor(&self) -> Command {
        let relations = match self.load() {
            Some(Load::Loaded { touched, .. }) => touched.clone(),
            _ => Vec::new(),
        };
        Command::Monitor {
            env: self.env_name().to_string(),
            interval_ms: self.interval_ms,
            paused: self.paused,
            relations,
        }
    }

    pub(super) fn switch_env(&mut self, i: usize) -> Vec<Command> {
        let changed = i != self.env;
        self.env = i;
        self.selected = 0;
        self.scroll = 0;
        let name = self.env_name().to_string();
        if name.is_empty() {
            return Vec::new();
        }
        let mut cmds = Vec::new();
        let loaded = matches!(self.loads.get(&name), Some(Load::Loaded { .. }));
        if changed || self.metrics.is_none() {
            self.metrics = None;
            self.conn_history.clear();
            self.tps_history.clear();
            // Not loaded yet: the monitor starts when the load lands (it then knows the
            // tables to watch, and does not compete with the first frame).
            if loaded {
                cmds.push(self.monitor());
            }
        }
        if !loaded {
            self.loads.insert(name.clone(), Load::Loading);
            cmds.push(Command::LoadStatus(name));
        }
        cmds
    }

    /// Opens the SQL tab at the next finding's line (a few lines of context above it).
    fn next_finding(&mut self) {
        let Some(n) = self.current().map(|r| r.findings.len()) else { return };
        if n == 0 {
            self.notices.push("this migration has no findings".into());
            return;
        }
        let i = self.finding.map_or(0, |i| (i + 1) % n);
        let line = self.current().map_or(1, |r| r.findings[i].line);
        self.tab = DetailTab::Up;
        self.finding = Some(i);
        self.scroll = line.saturating_sub(3).min(u16::MAX as usize) as u16;
    }

    fn clamp(&mut self) {
        let n = self.visible_len();
        if n == 0 {
            self.selected = 0;
        } else if self.selected >= n {
            self.selected = n - 1;
        }
    }

    fn move_by(&mut self, delta: isize) {
        let n = self.visible_len() as isize;
        if n == 0 {
            return;
        }
        let next = (self.selected as isize + delta).clamp(0, n - 1);
        if next as usize != self.selected {
            self.selected = next as usize;
            self.scroll = 0;
            self.finding = None;
        }
    }
}

mod update;
pub use update::{retry_after_ms, update};

#[cfg(test)]
pub mod tests;

#[cfg(test)]
pub fn monitor_tests_snap(conns: i64, tps: f64) -> crate::core::db::monitor::Snapshot {
    monitor_tests::snap(conns, tps)
}

#[cfg(test)]
mod monitor_tests;
