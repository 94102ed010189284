//! Status: the migration files set against the ledger, and the guards a run checks.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::core::data::source::{Migration, Version};
use crate::core::error::{Error, Result};

/// Which way a migration ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// The newest ledger row of one version: what the database believes about it.
#[derive(Debug, Clone)]
pub struct LatestRow {
    pub id: i64,
    pub version: String,
    pub name: String,
    pub checksum: String,
    pub direction: Direction,
    pub success: bool,
    pub failed_at_statement: Option<i32>,
    pub applied_at: String,
    pub run_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MigrationState {
    Applied,
    Pending,
    Drifted,
    Missing,
    Failed,
}

impl MigrationState {
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationState::Applied => "applied",
            MigrationState::Pending => "pending",
            MigrationState::Drifted => "drifted",
            MigrationState::Missing => "missing",
            MigrationState::Failed => "failed",
        }
    }
    /// Counts as present in the database schema (for rollback and out-of-order checks).
    pub fn is_in_database(self) -> bool {
        matches!(
            self,
            MigrationState::Applied
                | MigrationState::Drifted
                | MigrationState::Missing
                | MigrationState::Failed
        )
    }
}

/// One migration's standing: its file (if any) and its newest ledger row (if any).
#[derive(Debug, Clone)]
pub struct Item {
    pub version: Version,
    pub name: String,
    pub state: MigrationState,
    /// A pending version below the newest one in the database.
    pub out_of_order: bool,
    pub migration: Option<Migration>,
    pub entry: Option<LatestRow>,
    /// The file's checksum, when there is a file.
    pub file_checksum: Option<String>,
}

/// "0007_add_plan": a migration as people name it. A version that already ends with its
/// name (a Knex id) or has none is said alone.
pub fn label(version: &str, name: &str) -> String {
    if name.is_empty() || version.ends_with(&format!("_{name}")) {
        return version.to_string();
    }
    format!("{version}_{name}")
}

impl Item {
    pub fn label(&self) -> String {
        // A repeatable already carries its name.
        if self.version.is_repeatable() {
            return self.version.to_string();
        }
        label(self.version.as_str(), &self.name)
    }
    pub fn checksum(&self) -> Option<&str> {
        self.file_checksum.as_deref().or(self.entry.as_ref().map(|e| e.checksum.as_str()))
    }
    pub fn applied_at(&self) -> Option<&str> {
        match &self.entry {
            // A tool's table may keep no time (Alembic's alembic_version).
            Some(e) if self.state.is_in_database() && !e.applied_at.is_empty() => {
                Some(e.applied_at.as_str())
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Status {
    pub items: Vec<Item>,
    /// Files in the migrations folder that the layout's tool passes over: they never run.
    pub ignored: Vec<crate::core::data::source::Ignored>,
}

impl Status {
    pub fn build(migrations: Vec<Migration>, latest: Vec<LatestRow>) -> Result<Status> {
        let mut entries: BTreeMap<Version, LatestRow> = BTreeMap::new();
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
                None => MigrationState::Pending,
                Some(e) if !e.success => MigrationState::Failed,
                Some(e) if e.direction == Direction::Down => MigrationState::Pending,
                Some(e) if e.checksum == file_checksum => MigrationState::Applied,
                // A repeatable runs again whenever its file changes.
                Some(_) if m.version.is_repeatable() => MigrationState::Pending,
                Some(_) => MigrationState::Drifted,
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
                (false, _) => MigrationState::Failed,
                (true, Direction::Up) => MigrationState::Missing,
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
                i.out_of_order = i.state == MigrationState::Pending
                    && i.version < top
                    && !i.version.is_repeatable();
            }
        }
        Ok(Status { items, ignored: Vec::new() })
    }

    pub fn pending(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.state == MigrationState::Pending)
    }

    pub fn count(&self, state: MigrationState) -> usize {
        self.items.iter().filter(|i| i.state == state).count()
    }

    pub fn find(&self, version: &str) -> Option<&Item> {
        let v = Version::parse(version)?;
        self.items.iter().find(|i| i.version == v)
    }
}

impl Status {
    /// A failed migration that stopped in a batched backfill, its file unchanged: the apply
    /// carries it on from the backfill's checkpoint instead of refusing. Its 0-based statement.
    pub fn resumable_backfill(&self) -> Option<(&Item, usize)> {
        let f = self.items.iter().find(|i| i.state == MigrationState::Failed)?;
        let (m, entry) = (f.migration.as_ref()?, f.entry.as_ref()?);
        let at = usize::try_from(entry.failed_at_statement?).ok()?.checked_sub(1)?;
        if m.no_transaction() && entry.checksum == m.up.checksum() {
            let statements = m.up_statements().ok()?;
            let st = statements.get(at)?;
            let batched = crate::core::data::sql::backfill::directive(&m.up.text, st).ok()??;
            return (batched.rows > 0).then_some((f, at));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::data::source::SqlFile;

    fn mig(v: &str, text: &str) -> Migration {
        Migration {
            version: Version::parse(v).unwrap(),
            name: format!("m{v}"),
            up: SqlFile {
                path: format!("{v}.up.sql").into(),
                text: text.into(),
                no_transaction: false,
                layout: crate::core::data::source::Layout::Native,
                sum: Default::default(),
            },
            down: None,
            verify: None,
        }
    }

    fn entry(id: i64, v: &str, sum: &str, dir: Direction, ok: bool) -> LatestRow {
        LatestRow {
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
        let got: Vec<(String, MigrationState, bool)> =
            s.items.iter().map(|i| (i.label(), i.state, i.out_of_order)).collect();
        assert_eq!(
            got,
            vec![
                ("1_m1".to_string(), MigrationState::Applied, false),
                ("2_m2".to_string(), MigrationState::Pending, false),
                ("R__v".to_string(), MigrationState::Pending, false),
            ]
        );
    }

    fn checksum_of(text: &str) -> String {
        crate::core::data::source::checksum(text)
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
        let got: Vec<(&str, MigrationState, bool)> =
            s.items.iter().map(|i| (i.version.as_str(), i.state, i.out_of_order)).collect();
        assert_eq!(
            got,
            vec![
                ("1", MigrationState::Applied, false),
                ("2", MigrationState::Drifted, false),
                ("3", MigrationState::Pending, true),
                ("4", MigrationState::Failed, false),
                ("5", MigrationState::Missing, false),
                ("6", MigrationState::Pending, false),
            ]
        );
    }
}
