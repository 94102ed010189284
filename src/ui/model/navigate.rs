//! Moving around the console: the rows and entries in view, the selection, the detail
//! scroll, switching environments and screens, and what the monitor should watch.

use super::{BrowserEntry, DetailTab, Load, Model, Request, Row, Screen, HISTORY};

impl Model {
    /// Entries of the browser on screen that match the filter.
    pub fn entries(&self) -> Vec<&BrowserEntry> {
        let f = self.filter.to_lowercase();
        let all = match (self.load(), self.screen) {
            (Some(Load::Loaded { runs, .. }), Screen::Runs) => runs,
            (Some(Load::Loaded { ledger, .. }), Screen::Ledger) => ledger,
            _ => return Vec::new(),
        };
        all.iter().filter(|e| f.is_empty() || e.search.contains(&f)).collect()
    }

    pub(super) fn visible_len(&self) -> usize {
        match self.screen {
            Screen::Migrations if self.env_tab().is_some_and(|e| e.is_fleet()) => {
                self.fleet_rows().len()
            }
            Screen::Migrations => self.visible().len(),
            Screen::Monitor => 0,
            _ => self.entries().len(),
        }
    }

    /// The key of a browser opens it, and closes it again.
    pub(super) fn show(&mut self, screen: Screen) {
        self.open(if self.screen == screen { Screen::Migrations } else { screen });
    }

    pub(super) fn open(&mut self, screen: Screen) {
        self.screen = screen;
        self.selected = 0;
        self.scroll = 0;
        self.filter.clear();
    }

    pub(super) fn reload(&mut self) -> Vec<Request> {
        let name = self.env_name().to_string();
        self.loads.insert(name.clone(), Load::Loading);
        vec![Request::LoadStatus(name)]
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
                        || r.state.as_str().contains(&f)
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn current(&self) -> Option<&Row> {
        self.visible().get(self.selected).copied()
    }

    /// Requests to run at start: load the first environment and watch it.
    pub fn init(&mut self) -> Vec<Request> {
        self.switch_env(self.env)
    }

    pub(super) fn push_sample(&mut self, snap: &crate::core::db::monitor::Snapshot) {
        self.conn_history.push(snap.connections.max(0) as u64);
        self.tps_history.push(snap.tps.unwrap_or(0.0).max(0.0) as u64);
        for h in [&mut self.conn_history, &mut self.tps_history] {
            if h.len() > HISTORY {
                h.remove(0);
            }
        }
    }

    pub(super) fn monitor(&self) -> Request {
        let relations = match self.load() {
            Some(Load::Loaded { touched, .. }) => touched.clone(),
            _ => Vec::new(),
        };
        // A fleet is many servers: the live view watches one database at a time (Enter).
        let fleet = self.env_tab().is_some_and(|e| e.is_fleet());
        Request::Monitor {
            env: self.env_name().to_string(),
            interval_ms: self.interval_ms,
            paused: self.paused || fleet,
            relations,
        }
    }

    pub(super) fn switch_env(&mut self, i: usize) -> Vec<Request> {
        let changed = i != self.env;
        self.env = i;
        self.selected = 0;
        self.scroll = 0;
        let name = self.env_name().to_string();
        if name.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let loaded = matches!(self.loads.get(&name), Some(Load::Loaded { .. } | Load::Fleet(_)));
        if changed || self.metrics.is_none() {
            self.metrics = None;
            self.conn_history.clear();
            self.tps_history.clear();
            // Not loaded yet: the monitor starts when the load lands (it then knows the
            // tables to watch, and does not compete with the first frame).
            if loaded {
                out.push(self.monitor());
            }
        }
        if !loaded {
            self.loads.insert(name.clone(), Load::Loading);
            out.push(Request::LoadStatus(name));
        }
        out
    }

    /// Opens the SQL tab at the next finding's line (a few lines of context above it).
    pub(super) fn next_finding(&mut self) {
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

    pub(super) fn clamp(&mut self) {
        let n = self.visible_len();
        if n == 0 {
            self.selected = 0;
        } else if self.selected >= n {
            self.selected = n - 1;
        }
    }

    pub(super) fn move_by(&mut self, delta: isize) {
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

    pub(super) fn set_tab(&mut self, t: DetailTab) {
        self.tab = t;
        self.scroll = 0;
        self.finding = None;
    }
}
