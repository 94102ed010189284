//! Every ledger row and every run of an environment.

use crate::core::data::config::{Environment, Project};
use crate::core::db::connect::Target;
use crate::core::db::ledger::{HistoryRow, Ledger, RunRow};
use crate::core::error::Result;

pub async fn history(
    project: &Project,
    env: &Environment,
) -> Result<(Vec<HistoryRow>, Vec<RunRow>)> {
    let target = Target::resolve(env)?;
    let client = target.connect("sluice/history").await?;
    let ledger = Ledger::new(&project.ledger_schema);
    Ok((ledger.history(&client).await?, ledger.runs(&client).await?))
}
