//! What a change must pass before it starts (guards, pre-checks, the backup) and the
//! on-demand check and verify commands.

use serde_json::json;

use super::report::Event;
use super::runner::Step;
use super::{up_step, ApplyOptions, Run};
use crate::core::config::{Environment, Project};
use crate::core::connect::Target;
use crate::core::error::{Error, Result};
use crate::core::ledger::Ledger;
use crate::core::plan::{State, Status};
use crate::core::source;

/// Guards every write run checks: no failed migration waiting for resolution, no drift
/// unless allowed.
pub(super) fn check_guards(status: &Status, opts: &ApplyOptions) -> Result<()> {
    if let Some(f) = status.items.iter().find(|i| i.state == State::Failed) {
        let at = f.entry.as_ref().and_then(|e| e.failed_at_statement).unwrap_or(0);
        return Err(Error::guard(format!(
            "migration {} failed at statement {at} and is partly applied; resolve it first: sluice resolve {} --retry | --mark-applied | --mark-rolled-back",
            f.label(),
            f.version
        )));
    }
    if !opts.allow_drift {
        let drifted: Vec<String> =
            status.items.iter().filter(|i| i.state == State::Drifted).map(|i| i.label()).collect();
        if !drifted.is_empty() {
            return Err(Error::guard(format!(
                "applied migrations changed on disk (drift): {}; restore the files as applied (see the ledger's SQL with sluice history), or pass --allow-drift",
                drifted.join(", ")
            )));
        }
    }
    Ok(())
}

fn touched_tables(steps: &[Step]) -> Vec<String> {
    crate::core::sql::tables_named(steps.iter().flat_map(|s| s.statements.iter()))
}

fn backup_planned(env: &Environment, opts: &ApplyOptions) -> Option<bool> {
    use crate::core::config::BackupMode;
    if opts.dry_run {
        return None;
    }
    Some(match (env.backup.mode, opts.backup) {
        (BackupMode::Required, _) => true,
        (_, Some(w)) => w,
        _ => false,
    })
}

/// Runs the pre-checks, records them in the run, and refuses on any failure.
pub(super) async fn prechecks(
    run: &mut Run,
    env: &Environment,
    status: &Status,
    steps: &[Step],
    opts: &ApplyOptions,
) -> Result<()> {
    let cx = crate::core::precheck::Context {
        env,
        ledger: &run.session.ledger,
        status,
        planned: steps.iter().map(|s| format!("{}_{}", s.version, s.name)).collect(),
        touched: touched_tables(steps),
        backup_planned: backup_planned(env, opts),
        backup_dir: crate::core::backup::backup_dir(env).ok(),
        window_override: opts.override_window.as_deref().filter(|r| !r.trim().is_empty()),
        allow_drift: opts.allow_drift,
        local_socket: matches!(
            run.session.target.config.get_hosts().first(),
            Some(tokio_postgres::config::Host::Unix(_))
        ),
    };
    let checks = crate::core::precheck::run(&run.session.client, &cx).await?;
    run.session.emit(Event::PreChecks { checks: checks.clone() });
    run.report.prechecks = checks.clone();
    let details = json!({ "prechecks": checks, "window_override": cx.window_override });
    run.session.ledger.add_run_details(&run.session.client, &run.report.run_id, &details).await?;
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| c.outcome == crate::core::precheck::Outcome::Fail)
        .map(|c| format!("{}: {}", c.name, c.figure))
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    let hint = if failed.iter().any(|f| f.starts_with("maintenance window")) {
        "; to run outside the window pass --override-window \"reason\" (recorded)"
    } else {
        ""
    };
    Err(Error::guard(format!("pre-checks failed: {}{hint}", failed.join("; "))))
}

/// The backup the environment's policy asks for before a change, recorded in the run.
pub(super) async fn backup_before(
    run: &mut Run,
    env: &Environment,
    wanted: Option<bool>,
    label: &str,
) -> Result<()> {
    use crate::core::config::BackupMode;
    let take = match (env.backup.mode, wanted) {
        (BackupMode::Required, Some(false)) => {
            return Err(Error::guard(format!(
                "{}'s policy requires a backup before a change; --no-backup is refused",
                env.name
            )))
        }
        (BackupMode::Required, _) => true,
        (_, Some(w)) => w,
        (BackupMode::Optional, None) | (BackupMode::Off, None) => false,
    };
    if !take {
        return Ok(());
    }
    let dir = crate::core::backup::backup_dir(env)?;
    run.session.emit(Event::BackupStarted { directory: dir.display().to_string() });
    let progress: Option<crate::core::backup::Progress> = run.session.events.clone().map(|tx| {
        Box::new(move |bytes: u64, elapsed: std::time::Duration| {
            let _ = tx.send(Event::BackupProgress {
                bytes,
                bytes_per_s: (bytes as f64 / elapsed.as_secs_f64().max(0.001)) as u64,
            });
        }) as crate::core::backup::Progress
    });
    let info = crate::core::backup::take(env, label, progress).await?;
    run.session.emit(Event::BackupFinished {
        path: info.path.display().to_string(),
        bytes: info.bytes,
        duration_ms: info.duration_ms,
        pruned: info.pruned.len(),
    });
    let details = json!({ "backup": info });
    run.session.ledger.add_run_details(&run.session.client, &run.report.run_id, &details).await?;
    run.report.backup = Some(info);
    Ok(())
}

/// `sluice verify`: the checks at a level, without taking the ledger lock.
pub async fn verify(
    project: &Project,
    env: &Environment,
    level: crate::core::verify::Level,
) -> Result<Vec<crate::core::precheck::Check>> {
    let target = Target::resolve(env)?;
    let client = target.connect("sluice/verify").await?;
    let ledger = Ledger::new(&project.ledger_schema);
    let status = Status::build(
        source::load(&project.migrations_dir, project.layout)?,
        ledger.latest(&client).await?,
    )?;
    let cx = crate::core::verify::Context {
        env,
        ledger: &ledger,
        status: &status,
        local_socket: matches!(
            target.config.get_hosts().first(),
            Some(tokio_postgres::config::Host::Unix(_))
        ),
    };
    crate::core::verify::run(&client, &cx, level).await
}

/// `sluice check`: the pre-checks of an apply, without taking the ledger lock.
pub async fn precheck(
    project: &Project,
    env: &Environment,
    opts: &ApplyOptions,
) -> Result<Vec<crate::core::precheck::Check>> {
    let target = Target::resolve(env)?;
    let client = target.connect("sluice/check").await?;
    let ledger = Ledger::new(&project.ledger_schema);
    let status = Status::build(
        source::load(&project.migrations_dir, project.layout)?,
        ledger.latest(&client).await?,
    )?;
    let mut steps = Vec::new();
    for item in status.pending() {
        if let Some(s) = up_step(item)? {
            steps.push(s);
        }
    }
    let cx = crate::core::precheck::Context {
        env,
        ledger: &ledger,
        status: &status,
        planned: steps.iter().map(|s| format!("{}_{}", s.version, s.name)).collect(),
        touched: touched_tables(&steps),
        backup_planned: backup_planned(env, opts),
        backup_dir: crate::core::backup::backup_dir(env).ok(),
        window_override: opts.override_window.as_deref(),
        allow_drift: opts.allow_drift,
        local_socket: matches!(
            target.config.get_hosts().first(),
            Some(tokio_postgres::config::Host::Unix(_))
        ),
    };
    crate::core::precheck::run(&client, &cx).await
}
