//! Status: the migration files set against the ledger, and the guards a run checks.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::core::error::{Error, Result};
use crate::core::ledger::{Direction, Entry};
use crate::core::source::{Migration, Version};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Applied,
    Pending,
    Drifted,
    Missing,
    Failed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::Drifted => "drifted",
            State::Missing => "missing",
            State::Failed => "failed",
        }
    }
    /// Counts as present in the database schema (for rollback and out-of-order checks).
    pub fn is_in_database(self) -> bool {
        matches!(self, State::Applied | State::Drifted | State::Missing | State::Failed)
    }
}

/// One migration's standing: its file (if any) and its newest ledger row (if any).
#[derive(Debug, Clone)]
pub struct Item {
    pub version: Version,
    pub name: String,
    pub state: State,
    /// A pending version below the newest one in the database.
    pub out_of_order: bool,
    pub migration: Option<Migration>,
    pub entry: Option<Entry>,
    /// The file's checksum, when there is a file.
    pub file_checksum: Option<String>,
}

impl Item {
    pub fn label(&self) -> String {
        if self.version.is_repeatable() {
            return self.version.to_string();
        }
        format!("{}_{}", self.version, self.name)
    }
    pub fn checksum(&self) -> Option<&str> {
        self.file_checksum.as_deref().or(self.entry.as_ref().map(|e| e.checksum.as_str()))
    }
    pub fn applied_at(&self) -> Option<&str> {
        match &self.entry {
            Some(e) if self.state.is_in_database() => Some(e.applied_at.as_str()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Status {
    pub items: Vec<Item>,
}

impl Status {
    pub fn build(migrations: Vec<Migration>, latest: Vec<Entry>) -> Result<Status> {
        let mut entries: BTreeMap<Version, Entry> = BTreeMap::new();
        for e in latest {
            let Some(v) = Version::parse(&e.version) else {
                return Err(Error::database(format!(
                    "the ledger holds version {:?}, which is not a version sluice reads; was it written by another tool?",
                    e.version
                )));
            };
            // "0001" and "1" are one version: keep the newer row.
            match entries.get(&v) {
                Some(old) if old.id > e.id => {}
                _ => {
                    entries.insert(v, e);
                }
            }
        }
        let mut items = Vec::new();
        for m in migrations {
            let entry = entries.remove(&m.version);
            let file_checksum = m.up.checksum();
            let state = match &entry {
                None => State::Pending,
                Some(e) if !e.success => State::Failed,
                Some(e) if e.direction == Direction::Down => State::Pending,
                Some(e) if e.checksum == file_checksum => State::Applied,
                // A repeatable runs again whenever its file changes.
                Some(_) if m.version.is_repeatable() => State::Pending,
                Some(_) => State::Drifted,
            };
            items.push(Item {
                version: m.version.clone(),
                name: m.name.clone(),
                state,
                out_of_order: false,
                migration: Some(m),
                entry,
                file_checksum: Some(file_checksum),
            });
        }
        for (version, e) in entries {
            let state = match (e.success, e.direction) {
                (false, _) => State::Failed,
                (true, Direction::Up) => State::Missing,
                // Rolled back and the file is gone: nothing left to show but history.
                (true, Direction::Down) => continue,
            };
            items.push(Item {
                version,
                name: e.name.clone(),
                state,
                out_of_order: false,
                migration: None,
                entry: Some(e),
                file_checksum: None,
            });
        }
        items.sort_by(|a, b| a.version.cmp(&b.version));
        let newest_in_db = items
            .iter()
            .filter(|i| i.state.is_in_database() && !i.version.is_repeatable())
            .map(|i| i.version.clone())
            .max();
        if let Some(top) = newest_in_db {
            for i in items.iter_mut() {
                i.out_of_order =
                    i.state == State::Pending && i.version < top && !i.version.is_repeatable();
            }
        }
        Ok(Status { items })
    }

    pub fn pending(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.state == State::Pending)
    }

    pub fn count(&self, state: State) -> usize {
        self.items.iter().filter(|i| i.state == state).count()
    }

    pub fn find(&self, version: &str) -> Option<&Item> {
        let v = Version::parse(version)?;
        self.items.iter().find(|i| i.version == v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::source::SqlFile;

    fn mig(v: &str, text: &str) -> Migration {
        Migration {
            version: Version::parse(v).unwrap(),
            name: format!("m{v}"),
            up: SqlFile {
                path: format!("{v}.up.sql").into(),
                text: text.into(),
                no_transaction: false,
            },
            down: None,
            verify: None,
        }
    }

    fn entry(id: i64, v: &str, sum: &str, dir: Direction, ok: bool) -> Entry {
        Entry {
            id,
            version: v.into(),
            name: format!("m{v}"),
            checksum: sum.into(),
            direction: dir,
            success: ok,
            failed_at_statement: if ok { None } else { Some(2) },
            applied_at: "2026-11-23T00:00:00Z".into(),
            run_id: None,
        }
    }

    #[test]
    fn a_changed_repeatable_is_pending_again_and_never_out_of_order() {
        let mut r = mig("1", "CREATE VIEW v AS SELECT 2;");
        r.version = Version::repeatable("v").unwrap();
        let s = Status::build(
            vec![mig("1", "SELECT 1;"), mig("2", "SELECT 2;"), r],
            vec![
                entry(1, "1", &checksum_of("SELECT 1;"), Direction::Up, true),
                entry(2, "R__v", "old", Direction::Up, true),
            ],
        )
        .unwrap();
        let got: Vec<(String, State, bool)> =
            s.items.iter().map(|i| (i.label(), i.state, i.out_of_order)).collect();
        assert_eq!(
            got,
            vec![
                ("1_m1".to_string(), State::Applied, false),
                ("2_m2".to_string(), State::Pending, false),
                ("R__v".to_string(), State::Pending, false),
            ]
        );
    }

    fn checksum_of(text: &str) -> String {
        crate::core::source::checksum(text)
    }

    #[test]
    fn every_state() {
        let a = mig("1", "SELECT 1;");
        let sum = a.up.checksum();
        let s = Status::build(
            vec![
                a,
                mig("2", "SELECT 2;"),
                mig("3", "SELECT 3;"),
                mig("4", "SELECT 4;"),
                mig("6", "SELECT 6;"),
            ],
            vec![
                entry(1, "0001", &sum, Direction::Up, true),
                entry(2, "2", "other", Direction::Up, true),
                entry(3, "4", "x", Direction::Up, false),
                entry(4, "5", "y", Direction::Up, true),
                entry(5, "7", "z", Direction::Down, true),
            ],
        )
        .unwrap();
        let got: Vec<(&str, State, bool)> =
            s.items.iter().map(|i| (i.version.as_str(), i.state, i.out_of_order)).collect();
        assert_eq!(
            got,
            vec![
                ("1", State::Applied, false),
                ("2", State::Drifted, false),
                ("3", State::Pending, true),
                ("4", State::Failed, false),
                ("5", State::Missing, false),
                ("6", State::Pending, false),
            ]
        );
    }
}
