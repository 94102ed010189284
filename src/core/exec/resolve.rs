//! `sluice resolve`: settle a migration the ledger marks failed: retry it from the failed
//! statement, or record it applied or rolled back (optionally running the compensating SQL
//! that undoes what ran first).

use super::apply::up_step;
use super::session::control::Control;
use super::session::run::{fail_early, Run};
use super::{parse_version, Resolution};
use crate::core::data::config::{Environment, Project};
use crate::core::data::plan::Direction;
use crate::core::data::plan::{Item, MigrationState, Status};
use crate::core::data::source;
use crate::core::error::{describe_pg, Error, Refusal, Result};
use crate::core::guard::policy::check_confirmation;
use crate::core::guard::policy::Sign;
use crate::core::query::recovery::{inspect, Recovery};
use crate::core::record::details::Request;
use crate::core::record::report::{MigrationReport, Override, RunReport};

#[derive(Debug, Clone)]
pub struct ResolveOptions {
    pub how: Resolution,
    pub sign: Sign,
    /// With MarkRolledBack: run the compensating SQL (what undoes the statements that ran,
    /// see `recover`) before recording it.
    pub compensate: bool,
    /// Why, recorded in the run; required where statements must have been undone (or
    /// completed) by hand.
    pub reason: Option<String>,
}

/// Settles a migration the ledger marks failed.
pub async fn resolve(
    project: &Project,
    env: &Environment,
    version: &str,
    opts: &ResolveOptions,
    ctl: Control,
) -> Result<RunReport> {
    project.sql_only("resolve")?;
    check_confirmation(env, opts.sign.confirm.as_deref(), "resolve")?;
    let v = parse_version(version, "resolve")?;
    let migrations = source::load(&project.migrations_dir, project.layout)?;
    let how = opts.how;
    let request = Request {
        version: Some(version.to_string()),
        resolution: Some(how.as_str().to_string()),
        compensate: Some(opts.compensate),
        reason: opts.reason.clone(),
        ..Request::default()
    };
    let mut run = Run::begin(project, env, "resolve", request, ctl).await?;
    let prepared = async {
        let latest = run.session.ledger.latest(&run.session.client).await?;
        let status = Status::build(migrations, latest)?;
        let item = status
            .find(v.as_str())
            .cloned()
            .ok_or_else(|| Error::input(format!("no migration {v} in the files or the ledger")))?;
        if item.state != MigrationState::Failed {
            return Err(Error::input(format!(
                "{} is {}, not failed; resolve settles failed migrations only",
                item.label(),
                item.state.as_str()
            )));
        }
        let recovery = inspect(&run.session.client, &run.session.ledger, &item).await?;
        check_plan(&recovery, opts)?;
        run.check_approvals(opts.sign.ticket.as_deref(), opts.sign.approval.as_ref()).await?;
        Ok((item, recovery))
    }
    .await;
    let (item, recovery) = match prepared {
        Ok(x) => x,
        Err(e) => return Ok(fail_early(run, e).await),
    };
    if let Some(reason) = opts.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        run.report.overrides.push(Override {
            guard: format!("resolve {}", how.as_str()),
            reason: reason.to_string(),
            what: vec![recovery.label()],
        });
    }
    match how {
        Resolution::Retry => retry(run, &item, &recovery, project.tool_history).await,
        Resolution::MarkApplied | Resolution::MarkRolledBack => {
            if how == Resolution::MarkRolledBack && opts.compensate {
                if let Err(e) = run_sql(&mut run, &recovery, &recovery.compensating).await {
                    return Ok(fail_early(run, e).await);
                }
            }
            mark(run, &item, how).await
        }
    }
}

/// Refuses what the recovery plan says cannot work, before anything changes.
fn check_plan(r: &Recovery, opts: &ResolveOptions) -> Result<()> {
    let has_reason = opts.reason.as_deref().is_some_and(|s| !s.trim().is_empty());
    match opts.how {
        Resolution::Retry => match &r.retry_blocked {
            Some(why) => Err(Error::input(format!("{}: cannot retry: {why}", r.label()))),
            None => Ok(()),
        },
        Resolution::MarkRolledBack if opts.compensate && !r.by_hand.is_empty() && !has_reason => {
            let list: Vec<String> = r.by_hand.iter().map(|n| n.to_string()).collect();
            Err(Error::refused(
                Refusal::ReasonMissing,
                format!(
                    "{}: statement(s) {} ran and cannot be undone automatically: undo them by hand, then say so in the reason",
                    r.label(),
                    list.join(", ")
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// Runs settling SQL one statement at a time outside a transaction (DROP INDEX
/// CONCURRENTLY needs that), each recorded in the report; every statement is IF EXISTS, so
/// a second attempt after a failure here is harmless.
async fn run_sql(run: &mut Run, r: &Recovery, sql: &[String]) -> Result<()> {
    let s = &run.session;
    let setup = format!(
        "SET lock_timeout = {}; SET statement_timeout = {}",
        s.lock_timeout_ms, s.statement_timeout_ms
    );
    s.client.batch_execute(&setup).await?;
    for (i, stmt) in sql.iter().enumerate() {
        let (res, blockers) = run.session.exec_watched(&r.version, i, stmt).await;
        if let Err(e) = res {
            let mut msg = format!("settling {}: `{stmt}` failed: {}", r.label(), describe_pg(&e));
            if let Some(b) = blockers.first() {
                msg.push_str(&format!("; blocked by {b}"));
            }
            msg.push_str("; the ledger still marks it failed");
            return Err(Error::input(msg));
        }
        run.report.compensated.push(stmt.clone());
    }
    let _ = run.session.client.batch_execute("RESET lock_timeout; RESET statement_timeout").await;
    Ok(())
}

async fn retry(mut run: Run, item: &Item, r: &Recovery, tool_history: bool) -> Result<RunReport> {
    let mut step = match up_step(item, tool_history) {
        Ok(Some(s)) => s,
        Ok(None) => {
            let e = Error::input(format!("{}: its file is gone; cannot retry", item.label()));
            return Ok(fail_early(run, e).await);
        }
        Err(e) => return Ok(fail_early(run, e).await),
    };
    step.start_at = if step.transactional { 0 } else { r.resume_at() - 1 };
    step.resume = true;
    // The index a failed CONCURRENTLY build left INVALID would make the retry fail on
    // "already exists": drop it first.
    if let Some(ix) = &r.invalid_index {
        let drop = vec![format!("DROP INDEX CONCURRENTLY IF EXISTS {ix}")];
        if let Err(e) = run_sql(&mut run, r, &drop).await {
            return Ok(fail_early(run, e).await);
        }
    }
    Ok(run.run_changes(vec![step]).await)
}

async fn mark(mut run: Run, item: &Item, how: Resolution) -> Result<RunReport> {
    let Some(entry) = item.entry.clone() else {
        let e = Error::input(format!("{} has no ledger row", item.label()));
        return Ok(fail_early(run, e).await);
    };
    let direction = if how == Resolution::MarkApplied { Direction::Up } else { Direction::Down };
    let result = async {
        let s = &run.session;
        let stmt = s.ledger.prepare_insert(&s.client).await?;
        s.mark(&stmt, &entry, direction).await
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
                queue_victims: 0,
                statements: vec![],
                lock_summary: vec![],
                tool: None,
            });
            Ok(run.finish("done", None).await)
        }
        Err(e) => Ok(fail_early(run, e).await),
    }
}
