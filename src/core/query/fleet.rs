//! A fleet's state, database by database: the folder read once, each database's ledger
//! read over its own connection (at most `parallel` at once). An unreachable database is
//! listed, never dropped.

use serde::Serialize;

use crate::core::data::config::{Environment, Project};
use crate::core::data::plan::{MigrationState, Status};
use crate::core::data::source::{self, Migration};
use crate::core::db::connect::Target;
use crate::core::db::fleet::{members, Member, Shard};
use crate::core::db::ledger::Ledger;
use crate::core::error::{Error, Result};

/// One database of the fleet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatabaseState {
    pub database: String,
    /// The URL as listed (fleets list no passwords), for the database's own commands.
    pub url: String,
    pub applied: usize,
    pub pending: usize,
    pub failed: usize,
    pub drifted: usize,
    /// The newest applied version.
    pub head: Option<String>,
    pub reachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetStatus {
    pub environment: String,
    pub databases: Vec<DatabaseState>,
}

pub async fn status(
    project: &Project,
    env: &Environment,
    shard: Option<Shard>,
) -> Result<FleetStatus> {
    let fleet = env.fleet.as_ref().ok_or_else(|| {
        Error::input(format!("{} is not a fleet: it has no fleet table", env.name))
    })?;
    project.sql_only("a fleet's status")?;
    let folder = source::load(&project.migrations_dir, project.layout)?;
    let chosen: Vec<Member> = members(env)
        .await?
        .into_iter()
        .filter(|m| shard.is_none_or(|s| s.takes(m.position)))
        .collect();
    let shared = std::sync::Arc::new((folder, env.clone(), project.ledger_schema.clone()));
    let mut running = tokio::task::JoinSet::new();
    let mut queue = chosen.into_iter();
    let mut out = Vec::new();
    loop {
        while running.len() < fleet.rollout.parallel.max(8) {
            let Some(m) = queue.next() else { break };
            let shared = shared.clone();
            running
                .spawn(async move { (m.position, one(&shared.0, &shared.1, &shared.2, m).await) });
        }
        match running.join_next().await {
            Some(Ok(done)) => out.push(done),
            Some(Err(e)) => tracing::error!("a fleet status task ended: {e}"),
            None => break,
        }
    }
    out.sort_by_key(|(p, _)| *p);
    Ok(FleetStatus {
        environment: env.name.clone(),
        databases: out.into_iter().map(|(_, d)| d).collect(),
    })
}

async fn one(folder: &[Migration], env: &Environment, schema: &str, m: Member) -> DatabaseState {
    let mut state = DatabaseState {
        database: m.label.clone(),
        url: m.url.clone(),
        applied: 0,
        pending: 0,
        failed: 0,
        drifted: 0,
        head: None,
        reachable: false,
        error: None,
    };
    let read = async {
        let target = Target::resolve(&env.member(&m.url))?;
        let client = target.connect("sluice/fleet-status").await?;
        let latest = Ledger::new(schema).latest(&client).await?;
        Status::build(folder.to_vec(), latest)
    };
    match read.await {
        Ok(status) => {
            state.reachable = true;
            state.applied = status.count(MigrationState::Applied);
            state.pending = status.count(MigrationState::Pending);
            state.failed = status.count(MigrationState::Failed);
            state.drifted = status.count(MigrationState::Drifted);
            state.head = status
                .items
                .iter()
                .filter(|i| {
                    matches!(
                        i.state,
                        MigrationState::Applied | MigrationState::Drifted | MigrationState::Missing
                    )
                })
                .map(|i| i.version.to_string())
                .next_back();
        }
        Err(e) => state.error = Some(e.message),
    }
    state
}
