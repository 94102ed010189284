//! Every ledger row and every run of an environment.

use crate::core::data::config::{Environment, Project};
use crate::core::db::connect::Target;
use crate::core::db::ledger::{HistoryRow, Ledger};
use crate::core::error::Result;
use crate::core::record::details::RunRecord;

pub async fn history(
    project: &Project,
    env: &Environment,
) -> Result<(Vec<HistoryRow>, Vec<RunRecord>)> {
    let target = Target::resolve(env)?;
    let client = target.connect("sluice/history").await?;
    let ledger = Ledger::new(&project.ledger_schema);
    let runs = ledger.runs(&client).await?.into_iter().map(RunRecord::from_row).collect();
    Ok((ledger.history(&client).await?, runs))
}
