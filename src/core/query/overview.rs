//! An environment as the console shows it, in two steps: the listing (files against the
//! ledger, fast, for the first frame), then the overview (every migration with its lint
//! findings judged as the gate judges them, the SQL that ran where a file drifted or is
//! gone, each version's ledger rows, and the runs).

use std::collections::HashMap;

use crate::core::data::config::{Environment, Project};
use crate::core::data::lint::{self, Finding, Input};
use crate::core::data::plan::{Item, MigrationState, Status};
use crate::core::data::source::{Unreadable, Version};
use crate::core::db::connect::Target;
use crate::core::db::ledger::{HistoryRow, Ledger};
use crate::core::db::schema::unified_diff;
use crate::core::error::Result;
use crate::core::guard::gate;
use crate::core::record::details::RunRecord;

/// Where a migration stands, as a row shows it: the plan's states, or a file that cannot
/// be read (nothing runs until it is fixed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    Applied,
    Pending,
    Drifted,
    Missing,
    Failed,
    Unreadable,
}

impl RowState {
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Unreadable => "unreadable",
            RowState::Applied => MigrationState::Applied.as_str(),
            RowState::Pending => MigrationState::Pending.as_str(),
            RowState::Drifted => MigrationState::Drifted.as_str(),
            RowState::Missing => MigrationState::Missing.as_str(),
            RowState::Failed => MigrationState::Failed.as_str(),
        }
    }
}

impl From<MigrationState> for RowState {
    fn from(s: MigrationState) -> RowState {
        match s {
            MigrationState::Applied => RowState::Applied,
            MigrationState::Pending => RowState::Pending,
            MigrationState::Drifted => RowState::Drifted,
            MigrationState::Missing => RowState::Missing,
            MigrationState::Failed => RowState::Failed,
        }
    }
}

/// One migration with everything the console's detail tabs show.
#[derive(Debug, Clone, PartialEq)]
pub struct MigrationRow {
    /// As the file name writes it (leading zeros kept).
    pub version: String,
    pub name: String,
    pub state: RowState,
    pub out_of_order: bool,
    pub applied_at: Option<String>,
    pub failed_at: Option<i32>,
    pub up_sql: Option<String>,
    pub down_sql: Option<String>,
    /// The up SQL the ledger says ran (drifted or missing migrations).
    pub ledger_sql: Option<String>,
    /// Drift: the SQL that ran against the file, as a unified diff.
    pub drift_diff: Option<String>,
    /// Judged with the options the lint gate uses on this environment.
    pub findings: Vec<Finding>,
    /// This version's ledger rows, oldest first.
    pub history: Vec<HistoryRow>,
    /// Why the file cannot be read.
    pub problem: Option<String>,
}

impl MigrationRow {
    /// Version and name joined by `sep`; a Flyway repeatable's version (`R__<name>`) alone.
    pub fn title(&self, sep: &str) -> String {
        // A repeatable's version, and a Knex id, already say the name.
        let named = self.name.is_empty() || self.version.ends_with(&format!("_{}", self.name));
        if self.version.starts_with("R__") || named {
            self.version.clone()
        } else {
            format!("{}{sep}{}", self.version, self.name)
        }
    }

    fn from_item(i: &Item) -> MigrationRow {
        MigrationRow {
            version: i.version.to_string(),
            name: i.name.clone(),
            state: i.state.into(),
            out_of_order: i.out_of_order,
            applied_at: i.applied_at().map(str::to_string),
            failed_at: i.entry.as_ref().and_then(|e| e.failed_at_statement),
            up_sql: i.migration.as_ref().map(|m| m.up.text.clone()),
            down_sql: i.migration.as_ref().and_then(|m| m.down.as_ref().map(|d| d.text.clone())),
            ledger_sql: None,
            drift_diff: None,
            findings: Vec::new(),
            history: Vec::new(),
            problem: None,
        }
    }

    fn unreadable(u: &Unreadable) -> MigrationRow {
        MigrationRow {
            version: u.version.to_string(),
            name: u.name.clone(),
            state: RowState::Unreadable,
            out_of_order: false,
            applied_at: None,
            failed_at: None,
            up_sql: None,
            down_sql: None,
            ledger_sql: None,
            drift_diff: None,
            findings: Vec::new(),
            history: Vec::new(),
            problem: Some(u.message.clone()),
        }
    }
}

/// Files and ledger side by side: what the first frame needs.
#[derive(Debug, Clone)]
pub struct Listing {
    pub status: Status,
    /// A code tool's migrations: each one's source by id (its SQL tab shows it).
    pub code_sources: HashMap<String, String>,
    /// Files that cannot be read (flagged rows; nothing runs until they are fixed).
    pub unreadable: Vec<Unreadable>,
    /// The server as the header names it.
    pub server: String,
}

pub async fn listing(project: &Project, env: &Environment) -> Result<Listing> {
    let (status, unreadable) = super::status_tolerant(project, env).await?;
    let server = Target::resolve(env)?.describe();
    let code_sources = match &project.code {
        Some(c) => crate::core::data::code::read(c)?
            .migrations
            .into_iter()
            .map(|m| (m.id, m.text))
            .collect(),
        None => HashMap::new(),
    };
    Ok(Listing { status, code_sources, unreadable, server })
}

impl Listing {
    /// The rows, without findings or history yet.
    pub fn rows(&self) -> Vec<MigrationRow> {
        let mut rows: Vec<MigrationRow> =
            self.status.items.iter().map(MigrationRow::from_item).collect();
        for r in rows.iter_mut().filter(|r| r.up_sql.is_none()) {
            r.up_sql = self.code_sources.get(&r.version).cloned();
        }
        flag_unreadable(&mut rows, &self.unreadable);
        rows
    }

    /// Tables the pending migrations touch: the live view lists their locks.
    pub fn touched(&self) -> Vec<String> {
        let pending = self.status.pending().filter_map(|i| i.migration.as_ref());
        let statements: Vec<_> = pending.filter_map(|m| m.up_statements().ok()).flatten().collect();
        crate::core::data::sql::tables_named(statements.iter())
    }
}

/// Unreadable migrations become flagged rows: in place of the "missing" row their ledger
/// entry would make (keeping its history), or in version order among the others.
fn flag_unreadable(rows: &mut Vec<MigrationRow>, unreadable: &[Unreadable]) {
    for u in unreadable {
        let flagged = MigrationRow::unreadable(u);
        let key = |v: &str| Version::parse(v);
        match rows.iter().position(|r| key(&r.version) == Some(u.version.clone())) {
            Some(i) => {
                let history = std::mem::take(&mut rows[i].history);
                let applied_at = rows[i].applied_at.take();
                rows[i] = MigrationRow { history, applied_at, ..flagged };
            }
            None => {
                let at = rows
                    .iter()
                    .position(|r| key(&r.version).is_some_and(|v| v > u.version))
                    .unwrap_or(rows.len());
                rows.insert(at, flagged);
            }
        }
    }
}

/// Everything the console shows of an environment.
#[derive(Debug, Clone)]
pub struct Overview {
    pub rows: Vec<MigrationRow>,
    pub server: String,
    /// Every ledger row, oldest first.
    pub history: Vec<HistoryRow>,
    /// Every run, oldest first.
    pub runs: Vec<RunRecord>,
    pub touched: Vec<String>,
}

/// The listing completed: findings, the SQL that ran, history and runs.
pub async fn overview(project: &Project, env: &Environment, listing: &Listing) -> Result<Overview> {
    let target = Target::resolve(env)?;
    let client = target.connect("sluice/console").await?;
    let ledger = Ledger::new(&project.ledger_schema);
    let history = ledger.history(&client).await?;
    let runs: Vec<RunRecord> =
        ledger.runs(&client).await?.into_iter().map(RunRecord::from_row).collect();
    let opts = gate::connected_options(project, env, &client).await?;
    let migrations: Vec<_> =
        listing.status.items.iter().filter_map(|i| i.migration.as_ref()).collect();
    let inputs: Vec<Input> = migrations.iter().map(|m| Input::from_migration(m)).collect();
    let mut findings: HashMap<String, Vec<Finding>> = HashMap::new();
    for f in lint::lint(&inputs, &opts).findings {
        findings.entry(f.file.clone()).or_default().push(f);
    }
    let mut by_version: HashMap<String, Vec<HistoryRow>> = HashMap::new();
    for h in &history {
        let key =
            Version::parse(&h.version).map(|v| v.key().to_string()).unwrap_or(h.version.clone());
        by_version.entry(key).or_default().push(h.clone());
    }
    let mut rows = Vec::with_capacity(listing.status.items.len());
    for i in &listing.status.items {
        let mut row = MigrationRow::from_item(i);
        if row.up_sql.is_none() {
            row.up_sql = listing.code_sources.get(&row.version).cloned();
        }
        // A code tool's rows come from its own table: sluice's ledger holds no SQL for them.
        let ledgered = project.code.is_none();
        if let (Some(e), MigrationState::Drifted | MigrationState::Missing, true) =
            (&i.entry, i.state, ledgered)
        {
            let ran = ledger.stored_sql(&client, e.id).await?.0;
            row.drift_diff = i
                .migration
                .as_ref()
                .map(|m| unified_diff(&ran, &m.up.text, "ledger (as applied)", "file (now)"));
            row.ledger_sql = Some(ran);
        }
        if let Some(m) = &i.migration {
            row.findings = findings.remove(&m.up.path.display().to_string()).unwrap_or_default();
        }
        row.history = by_version.remove(i.version.key()).unwrap_or_default();
        rows.push(row);
    }
    flag_unreadable(&mut rows, &listing.unreadable);
    Ok(Overview { rows, server: target.describe(), history, runs, touched: listing.touched() })
}
