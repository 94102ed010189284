//! What an emergency rollback can do, read without a lock and without writing: the last
//! run and what it applied, each applied migration's down SQL (file or ledger) and its lint,
//! and the backups on disk.

use crate::core::data::config::{Environment, Project};
use crate::core::data::lint::{Finding, Input};
use crate::core::data::plan::Status;
use crate::core::data::source;
use crate::core::db::connect::Target;
use crate::core::db::ledger::Ledger;
use crate::core::error::Result;
use crate::core::guard::backup::BackupFile;

/// How far back the rollback wizard offers down SQL.
const NEWEST: usize = 20;

#[derive(Debug, Clone)]
pub struct DownPlan {
    pub version: String,
    pub name: String,
    /// "file" or "ledger"; the tool ("knex") for a code migration; None when there is no
    /// down SQL.
    pub source: Option<&'static str>,
    pub sql: Option<String>,
    /// The down file holds no statement, and the layout's tool runs it as nothing: rolling
    /// back undoes nothing and records the migration rolled back.
    pub empty: bool,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone)]
pub struct LastRun {
    pub run_id: String,
    pub operator: String,
    pub started_at: String,
    pub outcome: String,
    /// Versions it applied, oldest first.
    pub versions: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct RollbackPlan {
    /// Applied migrations, newest first.
    pub applied: Vec<DownPlan>,
    pub last_run: Option<LastRun>,
    /// Newest first.
    pub backups: Vec<BackupFile>,
}

pub async fn rollback_plan(project: &Project, env: &Environment) -> Result<RollbackPlan> {
    let target = Target::resolve(env)?;
    let client = target.connect("sluice/rollback-plan").await?;
    let ledger = Ledger::new(&project.ledger_schema);
    if let Some(code) = &project.code {
        let applied = tool_downs(&client, &target, code).await?;
        let last_run = last_run(&client, &ledger, env).await?;
        let backups = crate::core::guard::backup::list(env).unwrap_or_default();
        return Ok(RollbackPlan { applied, last_run, backups });
    }
    let status = Status::build(
        source::load(&project.migrations_dir, project.layout)?,
        ledger.latest(&client).await?,
    )?;
    let opts = crate::core::guard::gate::connected_options(project, env, &client).await?;
    let mut applied = Vec::new();
    for item in status.items.iter().rev().filter(|i| i.state.is_in_database()).take(NEWEST) {
        let Some(entry) = &item.entry else { continue };
        let down = item.migration.as_ref().and_then(|m| m.down.as_ref());
        let no_transaction = down.is_some_and(|d| d.no_transaction);
        let empty = down.is_some_and(|d| d.is_blank() && d.blank_refusal().is_none());
        let file = down.filter(|d| !d.is_blank() || empty).map(|d| d.text.clone());
        let (sql, source) = match file {
            Some(t) => (Some(t), Some("file")),
            None => match ledger.stored_sql(&client, entry.id).await?.1 {
                Some(t) if !crate::core::data::sql::is_blank(&t) => (Some(t), Some("ledger")),
                _ => (None, None),
            },
        };
        let findings = match &sql {
            Some(text) => crate::core::data::lint::lint_one(
                &Input {
                    path: format!("{}_{}.down.sql", item.version, item.name).into(),
                    text: text.clone(),
                    down: crate::core::data::lint::Down::NotJudged,
                    no_transaction,
                },
                &opts,
            ),
            None => Vec::new(),
        };
        applied.push(DownPlan {
            version: item.version.to_string(),
            name: item.name.clone(),
            source,
            sql,
            empty,
            findings,
        });
    }
    let last_run = last_run(&client, &ledger, env).await?;
    let backups = crate::core::guard::backup::list(env).unwrap_or_default();
    Ok(RollbackPlan { applied, last_run, backups })
}

/// A code tool's applied migrations, newest first: the tool undoes each with its own down
/// (the migration's source is what the wizard shows; there is no SQL to lint).
async fn tool_downs(
    client: &tokio_postgres::Client,
    target: &Target,
    code: &crate::core::data::code::CodeProject,
) -> Result<Vec<DownPlan>> {
    let folder = crate::core::data::code::read(code)?;
    let applied =
        crate::core::db::code_history::applied(client, target, code.tool, &folder).await?;
    Ok(folder
        .migrations
        .iter()
        .rev()
        .filter(|m| applied.iter().any(|a| a.id == m.id))
        .take(NEWEST)
        .map(|m| DownPlan {
            version: m.id.clone(),
            name: m.name.clone(),
            source: Some(code.tool.as_str()),
            sql: Some(m.text.clone()),
            empty: false,
            findings: Vec::new(),
        })
        .collect())
}

/// The environment's last apply and what it applied.
async fn last_run(
    client: &tokio_postgres::Client,
    ledger: &Ledger,
    env: &Environment,
) -> Result<Option<LastRun>> {
    let runs = ledger.runs(client).await?;
    let last = runs
        .iter()
        .filter(|r| r.action == "apply" && r.environment == env.name)
        .max_by(|a, b| a.started_at.cmp(&b.started_at));
    Ok(match last {
        Some(r) => {
            let versions = ledger
                .history(client)
                .await?
                .into_iter()
                .filter(|h| {
                    h.run_id.as_deref() == Some(&r.run_id) && h.direction == "up" && h.success
                })
                .map(|h| h.version)
                .collect();
            Some(LastRun {
                run_id: r.run_id.clone(),
                operator: r.operator.clone(),
                started_at: r.started_at.clone(),
                outcome: r.outcome.clone(),
                versions,
            })
        }
        None => None,
    })
}

impl RollbackPlan {
    /// How many of the newest applied migrations the last run put there (0 when other
    /// migrations were applied on top of them since).
    pub fn last_run_steps(&self) -> usize {
        let Some(run) = &self.last_run else { return 0 };
        let n = self.applied.iter().take_while(|d| run.versions.contains(&d.version)).count();
        if n == run.versions.len() {
            n
        } else {
            0
        }
    }
}
