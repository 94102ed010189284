//! `sluice resolve`: settle a migration the ledger marks failed.

use serde_json::json;

use super::control::Control;
use super::report::{MigrationReport, RunReport};
use super::{check_confirmation, fail_early, parse_version, up_step, Resolution, Run};
use crate::core::config::{Environment, Project};
use crate::core::error::{Error, Result};
use crate::core::ledger::Direction;
use crate::core::plan::{State, Status};
use crate::core::source::load_native;

/// Settles a migration the ledger marks failed.
pub async fn resolve(
    project: &Project,
    env: &Environment,
    version: &str,
    how: Resolution,
    confirm: Option<&str>,
    ctl: Control,
) -> Result<RunReport> {
    check_confirmation(env, confirm, "resolve")?;
    let v = parse_version(version, "resolve")?;
    let migrations = load_native(&project.migrations_dir)?;
    let run = Run::begin(
        project,
        env,
        "resolve",
        json!({ "version": version, "resolution": how.as_str() }),
        ctl,
    )
    .await?;
    let prepared = async {
        let latest = run.session.ledger.latest(&run.session.client).await?;
        let status = Status::build(migrations, latest)?;
        let item = status
            .find(v.as_str())
            .cloned()
            .ok_or_else(|| Error::input(format!("no migration {v} in the files or the ledger")))?;
        if item.state != State::Failed {
            return Err(Error::input(format!(
                "{} is {}, not failed; resolve settles failed migrations only",
                item.label(),
                item.state.as_str()
            )));
        }
        Ok(item)
    }
    .await;
    let item = match prepared {
        Ok(i) => i,
        Err(e) => return Ok(fail_early(run, e).await),
    };
    let entry = item.entry.clone().expect("failed items have a ledger row");
    let (stored_up, stored_down) =
        match run.session.ledger.stored_sql(&run.session.client, entry.id).await {
            Ok(x) => x,
            Err(e) => return Ok(fail_early(run, e).await),
        };
    match how {
        Resolution::Retry => {
            if entry.direction == Direction::Down {
                let e = Error::input(format!(
                    "{} failed while rolling back; finish it by hand, then --mark-applied or --mark-rolled-back",
                    item.label()
                ));
                return Ok(fail_early(run, e).await);
            }
            let step = match up_step(&item) {
                Ok(Some(mut s)) => {
                    let at = entry.failed_at_statement.unwrap_or(1).max(1) as usize - 1;
                    if at >= s.statements.len() {
                        let e = Error::input(format!(
                            "{} failed at statement {} but its file now has {} statement(s); fix the file or mark the migration by hand",
                            item.label(), at + 1, s.statements.len()
                        ));
                        return Ok(fail_early(run, e).await);
                    }
                    s.start_at = if s.transactional { 0 } else { at };
                    s
                }
                Ok(None) => {
                    let e =
                        Error::input(format!("{}: its file is gone; cannot retry", item.label()));
                    return Ok(fail_early(run, e).await);
                }
                Err(e) => return Ok(fail_early(run, e).await),
            };
            Ok(run.run_steps(vec![step]).await)
        }
        Resolution::MarkApplied | Resolution::MarkRolledBack => {
            let direction =
                if how == Resolution::MarkApplied { Direction::Up } else { Direction::Down };
            let mut run = run;
            let result = async {
                let stmt = run.session.ledger.prepare_insert(&run.session.client).await?;
                let row = crate::core::ledger::NewRow {
                    version: &entry.version,
                    name: &entry.name,
                    checksum: &entry.checksum,
                    up_sql: &stored_up,
                    down_sql: stored_down.as_deref(),
                    direction,
                    os_user: &run.session.operator,
                    client_host: &run.session.host,
                    duration_ms: Some(0),
                    run_id: &run.session.run_id,
                    success: true,
                    failed_at_statement: None,
                    error: None,
                };
                run.session.ledger.insert(&run.session.client, &stmt, &row).await
            }
            .await;
            match result {
                Ok(_) => {
                    run.report.migrations.push(MigrationReport {
                        version: entry.version.clone(),
                        name: entry.name.clone(),
                        direction: direction.as_str().into(),
                        source: "resolve".into(),
                        transactional: true,
                        rehearsed: false,
                        duration_ms: 0,
                        lock_retries: 0,
                        statements: vec![],
                        lock_summary: vec![],
                    });
                    Ok(run.finish("done", None).await)
                }
                Err(e) => Ok(fail_early(run, e).await),
            }
        }
    }
}
