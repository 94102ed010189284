//! `sluice check` and `sluice verify`: the pre-checks an apply would run and the checks of
//! what migrations left behind, on demand and without the ledger lock.

use crate::core::data::config::{Environment, Project};
use crate::core::data::plan::Status;
use crate::core::data::source;
use crate::core::db::connect::Target;
use crate::core::db::ledger::Ledger;
use crate::core::error::Result;
use crate::core::guard::precheck::{self, Check};
use crate::core::guard::{policy, verify};

/// The checks at a level.
pub async fn verify(
    project: &Project,
    env: &Environment,
    level: verify::Level,
) -> Result<Vec<Check>> {
    let target = Target::resolve(env)?;
    let client = target.connect("sluice/verify").await?;
    let ledger = Ledger::new(&project.ledger_schema);
    let status = Status::build(
        source::load(&project.migrations_dir, project.layout)?,
        ledger.latest(&client).await?,
    )?;
    let cx = verify::VerifyInputs {
        env,
        ledger: &ledger,
        status: &status,
        local_link: target.local_link(),
    };
    verify::run(&client, &cx, level).await
}

/// The pre-checks of an apply of everything pending, as the environment's policy has it.
pub async fn precheck(project: &Project, env: &Environment) -> Result<Vec<Check>> {
    let target = Target::resolve(env)?;
    let client = target.connect("sluice/check").await?;
    let ledger = Ledger::new(&project.ledger_schema);
    let status = Status::build(
        source::load(&project.migrations_dir, project.layout)?,
        ledger.latest(&client).await?,
    )?;
    let pending: Vec<_> = status.pending().filter_map(|i| i.migration.as_ref()).collect();
    let mut statements = Vec::new();
    for m in &pending {
        statements.extend(m.up_statements()?);
    }
    let cx = precheck::PrecheckInputs {
        env,
        ledger: &ledger,
        status: &status,
        planned: pending.iter().map(|m| format!("{}_{}", m.version, m.name)).collect(),
        touched: crate::core::data::lint::locks::locks_needed(statements.iter()),
        backup_planned: Some(policy::backup_taken(env, None)),
        backup_dir: crate::core::data::config::paths::backup_dir(env).ok(),
        window_override: None,
        allow_drift: false,
        local_link: target.local_link(),
        upstream: env
            .promote_from
            .as_deref()
            .and_then(|f| project.environments.get(f))
            .map(|env| precheck::promotion::Upstream { env, ledger: &ledger }),
        promoted: pending
            .iter()
            .map(|m| precheck::promotion::Promoted {
                version: m.version.to_string(),
                label: crate::core::data::plan::label(&m.version.to_string(), &m.name),
                checksum: m.up.checksum(),
            })
            .collect(),
        promotion_override: None,
    };
    precheck::run(&client, &cx).await
}
