//! The console's state and `update`: messages in, requests out. No I/O and no drawing here;
//! the tasks (`ui::tasks`) do the work, the view (`ui::view`) draws this.

pub mod browse;
pub mod fleet;
mod navigate;
pub mod overlay;
pub mod palette;
mod update;
pub mod wizard;

use std::collections::HashMap;

pub use crate::core::query::overview::{MigrationRow as Row, RowState};
pub use overlay::{Overlay, Top};
pub use update::{retry_after_ms, update};

use super::keymap::Keymap;
use crate::core::data::config::{Environment, Tier};
use crate::core::guard::policy::Requirements;
use wizard::apply::ApplyWizard;
use wizard::emergency::{EmergencyWizard, Kind};
use wizard::fleet::{FleetCmd, FleetMsg};
use wizard::{ApplyCmd, ApplyMsg, EmergencyCmd, EmergencyMsg};

#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    Loading,
    Loaded {
        rows: Vec<Row>,
        server: String,
        /// Every run here, newest first.
        runs: Vec<BrowserEntry>,
        /// Every ledger row here, newest first.
        ledger: Vec<BrowserEntry>,
        /// Tables the pending migrations touch: the monitor lists their locks.
        touched: Vec<String>,
    },
    /// The server could not be reached or failed: tried again with backoff.
    Failed(String),
    /// The project itself cannot be read (a migration file, the config): no retry helps
    /// until someone fixes it, then `r`.
    Invalid(String),
    /// A fleet environment: each of its databases' counts and head.
    Fleet(Box<crate::core::query::fleet::FleetStatus>),
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
pub struct BrowserEntry {
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

/// An environment's tab: its name, tier, and what its policy asks of whoever signs a run.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvTab {
    /// What the tab and its loads are known by (`fleet/database` for a fleet's database).
    pub name: String,
    pub tier: Tier,
    pub needs: Requirements,
    pub kind: TabKind,
}

/// One database, a fleet of them, or one database of a fleet opened from the fleet's tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TabKind {
    Database,
    Fleet,
    /// Read-only here: a fleet's databases change through the fleet run.
    Member {
        fleet: String,
    },
}

impl EnvTab {
    pub fn of(env: &Environment) -> EnvTab {
        let kind = if env.fleet.is_some() { TabKind::Fleet } else { TabKind::Database };
        EnvTab { name: env.name.clone(), tier: env.tier, needs: Requirements::of(env), kind }
    }

    /// A tab with the tier's defaults (one approver, optional ticket).
    pub fn new(name: &str, tier: Tier) -> EnvTab {
        EnvTab {
            name: name.into(),
            tier,
            needs: Requirements::for_tier(tier, 1, Default::default()),
            kind: TabKind::Database,
        }
    }

    /// The environment's name as sluice.toml has it: what a confirmation types and what
    /// `sluice approve --env` takes.
    pub fn environment(&self) -> &str {
        match &self.kind {
            TabKind::Member { fleet } => fleet,
            _ => &self.name,
        }
    }

    pub fn is_fleet(&self) -> bool {
        self.kind == TabKind::Fleet
    }

    pub fn is_production(&self) -> bool {
        self.tier == Tier::Production
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
    /// From the task that runs the apply wizard's guarded run.
    Apply(ApplyMsg),
    /// From the task behind the emergency rollback or the recovery.
    Emergency(EmergencyMsg),
    /// From the task that rolls a fleet out.
    Fleet(FleetMsg),
}

/// What the console asks of its tasks.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
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
    Job {
        env: String,
        job: Job,
    },
    /// Tell the apply's run task what the operator decided.
    Apply(ApplyCmd),
    /// Tell the emergency task what the operator decided.
    Emergency(EmergencyCmd),
    /// Make one database of a fleet an environment of its own, known as `key`.
    OpenDatabase {
        key: String,
        fleet: String,
        url: String,
    },
    /// Open the fleet wizard on a fleet environment, served by a fleet task.
    StartFleet(String),
    /// Tell the fleet task what the operator decided.
    Fleet(FleetCmd),
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
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
    pub tab: DetailTab,
    pub scroll: u16,
    /// The finding `n` last jumped to: its line is marked in the SQL tab.
    pub finding: Option<usize>,
    /// Rows of the detail pane, as last drawn: what a page scroll moves by.
    pub page: u16,
    pub log_dir: String,
    pub metrics: Option<Result<crate::core::db::monitor::Snapshot, String>>,
    pub conn_history: Vec<u64>,
    pub tps_history: Vec<u64>,
    pub interval_ms: u64,
    pub paused: bool,
    pub theme: super::theme::Theme,
    pub keymap: Keymap,
    /// Problems worth one look; while any is shown it is on top: the next key hides it.
    pub notices: Vec<String>,
    pub screen: Screen,
    /// Failed loads in a row, per environment: the reconnecting state and its backoff.
    pub attempts: HashMap<String, u32>,
    /// What is open over the screen, bottom first (see `overlay`).
    pub overlays: Vec<Overlay>,
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
            tab: DetailTab::Up,
            scroll: 0,
            finding: None,
            page: 10,
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
            overlays: Vec::new(),
            readonly: false,
        }
    }

    pub fn env_tab(&self) -> Option<&EnvTab> {
        self.envs.get(self.env)
    }

    pub fn env_name(&self) -> &str {
        self.env_tab().map(|e| e.name.as_str()).unwrap_or("")
    }

    pub fn is_production(&self) -> bool {
        self.env_tab().is_some_and(EnvTab::is_production)
    }

    pub fn load(&self) -> Option<&Load> {
        self.loads.get(self.env_name())
    }

    /// Opens the guarded apply wizard on the current environment.
    pub(super) fn start_apply(&mut self) -> Vec<Request> {
        if self.apply_wizard().is_some() || self.fleet_wizard().is_some() {
            return Vec::new();
        }
        if let Some(refused) = self.member_refuses("apply") {
            self.notices.push(refused);
            return Vec::new();
        }
        if self.env_tab().is_some_and(EnvTab::is_fleet) {
            return self.start_fleet();
        }
        let pending = self.visible().iter().filter(|r| r.state == RowState::Pending).count();
        match self.load() {
            Some(Load::Loaded { rows, .. })
                if rows.iter().any(|r| r.state == RowState::Unreadable) =>
            {
                self.notices.push("a migration file cannot be read: fix it before applying".into());
                return Vec::new();
            }
            // Nothing runs past a failed migration: the recovery screen opens instead (it
            // says so; a notice would hide its keys).
            Some(Load::Loaded { rows, .. }) if rows.iter().any(|r| r.state == RowState::Failed) => {
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
        let Some(e) = self.env_tab().cloned() else { return Vec::new() };
        let mut w = ApplyWizard::new(&e);
        w.readonly = self.readonly;
        self.overlays.push(Overlay::Apply(Box::new(w)));
        vec![Request::StartApply(e.name)]
    }

    /// Opens the emergency rollback, or the recovery of a failed migration, on the current
    /// environment.
    pub(super) fn start_emergency(&mut self, kind: Kind) -> Vec<Request> {
        if self.readonly {
            let what = if kind == Kind::Recover { "recovery" } else { "rollback" };
            self.notices.push(format!("read-only console (--readonly): {what} is disabled"));
            return Vec::new();
        }
        if self.apply_wizard().is_some() || self.emergency().is_some() {
            return Vec::new();
        }
        let what = if kind == Kind::Recover { "recover" } else { "roll back" };
        if let Some(refused) = self.member_refuses(what) {
            self.notices.push(refused);
            return Vec::new();
        }
        if let Some(e) = self.env_tab().filter(|e| e.is_fleet()) {
            self.notices.push(format!(
                "{0} is a fleet: roll it back with `sluice rollback --env {0}` (the console rolls fleets forward only, so far)",
                e.name
            ));
            return Vec::new();
        }
        let Some(e) = self.env_tab().cloned() else { return Vec::new() };
        self.overlays.push(Overlay::Emergency(Box::new(EmergencyWizard::new(kind, &e))));
        vec![Request::StartEmergency { env: e.name, kind }]
    }

    /// `:lint`: the findings of the list in one line, and the first migration with any.
    pub(super) fn lint_summary(&mut self) {
        use crate::core::data::lint::Severity;
        let Some(Load::Loaded { rows, .. }) = self.load() else {
            self.notices.push("the environment is not loaded yet".into());
            return;
        };
        let count =
            |sev| rows.iter().flat_map(|r| &r.findings).filter(|f| f.severity == sev).count();
        let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
        let with = rows.iter().filter(|r| !r.findings.is_empty()).count();
        let first =
            rows.iter().position(|r| r.findings.iter().any(|f| f.severity >= Severity::Warning));
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
}

#[cfg(test)]
pub mod tests;

#[cfg(test)]
pub fn monitor_tests_snap(conns: i64, tps: f64) -> crate::core::db::monitor::Snapshot {
    monitor_tests::snap(conns, tps)
}

#[cfg(test)]
mod monitor_tests;
