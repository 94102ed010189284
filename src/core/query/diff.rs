//! Diffs an operator asks for: the live schema against the snapshot sluice took after its
//! last run (drift made outside sluice), and a migration file against the SQL that ran.

use serde::Serialize;

use crate::core::data::config::{Environment, Project};
use crate::core::data::plan::Status;
use crate::core::data::source;
use crate::core::db::connect::Target;
use crate::core::db::ledger::Ledger;
use crate::core::db::schema;
use crate::core::error::{Error, Result};

#[derive(Debug, Clone, Serialize)]
pub struct SchemaDrift {
    /// The run whose snapshot is compared, and when it was taken.
    pub run_id: Option<String>,
    pub taken_at: String,
    /// Unified diff from the snapshot to the live schema; empty when nothing changed.
    pub diff: String,
}

/// The live schema against the last snapshot; None when sluice has taken none yet.
pub async fn schema_drift(project: &Project, env: &Environment) -> Result<Option<SchemaDrift>> {
    let client = Target::resolve(env)?.connect("sluice/diff").await?;
    let ledger = Ledger::new(&project.ledger_schema);
    let Some((run_id, taken_at, before)) = ledger.last_snapshot(&client).await? else {
        return Ok(None);
    };
    let live = schema::snapshot(&client, &project.ledger_schema).await?;
    let label = format!("snapshot after run {} ({taken_at})", run_id.as_deref().unwrap_or("?"));
    let diff = schema::unified_diff(&before, &live, &label, "live schema");
    Ok(Some(SchemaDrift { run_id, taken_at, diff }))
}

/// The migration file as it is now against the up SQL the ledger stored when it ran.
pub async fn file_drift(project: &Project, env: &Environment, version: &str) -> Result<String> {
    let migrations = source::load(&project.migrations_dir, project.layout)?;
    let client = Target::resolve(env)?.connect("sluice/diff").await?;
    let ledger = Ledger::new(&project.ledger_schema);
    let status = Status::build(migrations, ledger.latest(&client).await?)?;
    let item = status.find(version).ok_or_else(|| {
        Error::input(format!("no migration {version} in the files or the ledger"))
    })?;
    let entry = item.entry.as_ref().ok_or_else(|| {
        Error::input(format!("{} has never run here: nothing to compare", item.label()))
    })?;
    let (ran, _) = ledger.stored_sql(&client, entry.id).await?;
    let now = item.migration.as_ref().map(|m| m.up.text.clone()).unwrap_or_default();
    let file = item
        .migration
        .as_ref()
        .map(|m| m.up.path.display().to_string())
        .unwrap_or_else(|| format!("{} (file gone)", item.label()));
    Ok(schema::unified_diff(
        &ran,
        &now,
        &format!("ledger: {} as applied {}", item.label(), entry.applied_at),
        &file,
    ))
}
