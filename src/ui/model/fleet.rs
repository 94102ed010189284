//! A fleet environment's tab: its databases, failures first, and what opens from it: one
//! database's ordinary (read-only) view, and the fleet wizard.

use super::wizard::fleet::FleetWizard;
use super::{EnvTab, Load, Model, Overlay, Request, TabKind};
use crate::core::query::fleet::DatabaseState;

/// Where a database sorts in the fleet's list: what needs a look first.
fn rank(d: &DatabaseState) -> u8 {
    if !d.reachable || d.failed > 0 {
        0
    } else if d.drifted > 0 {
        1
    } else if d.pending > 0 {
        2
    } else {
        3
    }
}

/// How many databases are at each head version, the most common first (None: nothing
/// applied yet).
pub fn heads(databases: &[DatabaseState]) -> Vec<(Option<String>, usize)> {
    let mut out: Vec<(Option<String>, usize)> = Vec::new();
    for d in databases.iter().filter(|d| d.reachable) {
        match out.iter_mut().find(|(h, _)| *h == d.head) {
            Some((_, n)) => *n += 1,
            None => out.push((d.head.clone(), 1)),
        }
    }
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    out
}

impl Model {
    /// The fleet's databases that match the filter: unreachable and failed first, then
    /// drifted, then those with pending migrations, then those up to date; in rollout
    /// order within each.
    pub fn fleet_rows(&self) -> Vec<&DatabaseState> {
        let Some(Load::Fleet(status)) = self.load() else { return Vec::new() };
        let f = self.filter.to_lowercase();
        let mut rows: Vec<&DatabaseState> = status
            .databases
            .iter()
            .filter(|d| f.is_empty() || d.database.to_lowercase().contains(&f))
            .collect();
        rows.sort_by_key(|d| rank(d));
        rows
    }

    pub fn fleet_wizard(&self) -> Option<&FleetWizard> {
        self.overlays.iter().find_map(|o| match o {
            Overlay::Fleet(w) => Some(w.as_ref()),
            _ => None,
        })
    }

    pub fn fleet_wizard_mut(&mut self) -> Option<&mut FleetWizard> {
        self.overlays.iter_mut().find_map(|o| match o {
            Overlay::Fleet(w) => Some(w.as_mut()),
            _ => None,
        })
    }

    /// Enter on a fleet's database: its own tab, the ordinary view of one database.
    pub(super) fn open_database(&mut self) -> Vec<Request> {
        let Some(tab) = self.env_tab().filter(|e| e.is_fleet()).cloned() else {
            return Vec::new();
        };
        let Some(d) = self.fleet_rows().get(self.selected).map(|d| (*d).clone()) else {
            return Vec::new();
        };
        let key = format!("{}/{}", tab.name, d.database);
        if let Some(i) = self.envs.iter().position(|e| e.name == key) {
            return self.switch_env(i);
        }
        self.envs.push(EnvTab {
            name: key.clone(),
            kind: TabKind::Member { fleet: tab.name.clone() },
            ..tab.clone()
        });
        let mut out = vec![Request::OpenDatabase { key, fleet: tab.name, url: d.url }];
        out.extend(self.switch_env(self.envs.len() - 1));
        out
    }

    /// Esc on a fleet's database closes its tab and goes back to the fleet.
    pub(super) fn close_database(&mut self) -> Option<Vec<Request>> {
        let TabKind::Member { fleet } = self.env_tab()?.kind.clone() else { return None };
        let name = self.env_name().to_string();
        self.loads.remove(&name);
        self.envs.remove(self.env);
        let back = self.envs.iter().position(|e| e.name == fleet).unwrap_or(0);
        self.env = usize::MAX;
        Some(self.switch_env(back))
    }

    /// Why a change is refused on a fleet's database tab (None: not such a tab).
    pub(super) fn member_refuses(&self, what: &str) -> Option<String> {
        let TabKind::Member { fleet } = &self.env_tab()?.kind else { return None };
        Some(format!(
            "one database of the fleet {fleet}: its changes go through the fleet run (Esc, then a on {fleet}; or sluice with --env {fleet} --shard), so you cannot {what} it here"
        ))
    }

    /// Opens the fleet wizard on the current (fleet) environment.
    pub(super) fn start_fleet(&mut self) -> Vec<Request> {
        if self.readonly {
            self.notices.push("read-only console (--readonly): apply is disabled".into());
            return Vec::new();
        }
        let Some(e) = self.env_tab().cloned() else { return Vec::new() };
        // An unreachable database may have anything pending: the run tries it.
        let pending: usize = match self.load() {
            Some(Load::Fleet(s)) => {
                s.databases.iter().map(|d| if d.reachable { d.pending } else { 1 }).sum()
            }
            _ => {
                self.notices.push("the fleet is not loaded yet".into());
                return Vec::new();
            }
        };
        if pending == 0 {
            self.notices.push(format!("{}: nothing pending on any database", e.name));
            return Vec::new();
        }
        self.overlays.push(Overlay::Fleet(Box::new(FleetWizard::new(&e))));
        vec![Request::StartFleet(e.name)]
    }
}
