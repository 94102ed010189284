//! The second approver of a fleet run. `sluice approve --env FLEET` issues one code on the
//! first database the run will take (the canary; with `--shard`, the shard's first), and the
//! fleet run redeems it there once, for the fleet run's id, before any database starts;
//! every database's run then records that approval. Workers of different shards each need
//! their own code, so one approval never signs more than one worker's run.

use crate::core::data::config::{Environment, Project};
use crate::core::db::connect::Target;
use crate::core::db::fleet::{Member, Shard};
use crate::core::db::ledger::Ledger;
use crate::core::error::{Error, Refusal, Result};
use crate::core::guard::approval::{self, Approval};

/// The database a fleet run's approval lives on.
fn keeper<'a>(env: &Environment, chosen: &'a [Member]) -> Result<&'a Member> {
    chosen.first().ok_or_else(|| Error::input(format!("{}: the fleet lists no database", env.name)))
}

/// Issues the code that approves the next fleet run on `env` (or on its shard).
pub async fn approve_fleet(
    project: &Project,
    env: &Environment,
    shard: Option<Shard>,
) -> Result<String> {
    let chosen = super::chosen(env, shard).await?;
    let first = keeper(env, &chosen)?;
    crate::core::exec::approve(project, &env.member(&first.url), None).await
}

/// Redeems the operator's approver and code for `fleet_run`, on the fleet's first database.
pub(super) async fn redeem_for_fleet(
    project: &Project,
    env: &Environment,
    chosen: &[Member],
    fleet_run: &str,
    given: &Option<(String, String)>,
) -> Result<Approval> {
    let Some((name, code)) = given else {
        return Err(Error::refused(
            Refusal::SecondApprover,
            format!(
                "{env} requires a second approver: one code approves the whole fleet run; they run `sluice approve --env {env}` (with the same --shard, if any) on their own terminal and give you their name and code",
                env = env.name
            ),
        ));
    };
    let first = keeper(env, chosen)?;
    let target = Target::resolve(&env.member(&first.url))?;
    let client = target.connect("sluice/approval").await.map_err(|e| {
        Error::database(format!(
            "{}: the fleet's approval is kept on its first database, {}, which cannot be reached: {}",
            env.name, first.label, e.message
        ))
    })?;
    let ledger = Ledger::new(&project.ledger_schema);
    approval::redeem(
        &client,
        &ledger,
        &env.name,
        fleet_run,
        &crate::core::host::identity::os_user(),
        &crate::core::host::identity::account(),
        name,
        code,
    )
    .await
}
