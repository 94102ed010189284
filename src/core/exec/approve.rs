//! `sluice approve`: a second approver's one-time code for a run.

use crate::core::data::config::{Environment, Project};
use crate::core::db::connect::Target;
use crate::core::db::ledger::Ledger;
use crate::core::error::{Error, Result};

/// Issues a second approver's code (see `core::approval`). The ledger must exist for a run
/// id; for the next run it is created (or upgraded) under the ledger lock.
pub async fn approve(project: &Project, env: &Environment, run_id: Option<&str>) -> Result<String> {
    let account = crate::core::host::identity::account().map_err(|u| {
        Error::guard(format!(
            "sluice approve vouches for an OS account, and {}: run it from your own login",
            u.reason
        ))
    })?;
    let target = Target::resolve(env)?;
    let client = target.connect("sluice/approve").await?;
    let ledger = Ledger::new(&project.ledger_schema);
    let present: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&ledger.table("approvals")])
        .await?
        .get(0);
    if !present {
        if let Some(id) = run_id {
            return Err(Error::input(format!(
                "no run {id} in the ledger of {}: check the run id the console shows",
                env.name
            )));
        }
        ledger.try_lock(&client).await?;
        let made = ledger.ensure(&client).await;
        ledger.unlock(&client).await?;
        made?;
    }
    let who = crate::core::host::identity::os_user();
    let host = crate::core::host::identity::host_name();
    let code = crate::core::guard::approval::issue(
        &client, &ledger, &env.name, run_id, &who, &account, &host,
    )
    .await?;
    tracing::info!(env = env.name, run_id, who, account, "approval code issued");
    Ok(code)
}
