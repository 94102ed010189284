//! What a change must pass before it starts: the guards every write run checks, the
//! pre-checks (recorded in the run) and the backup the environment's policy asks for.

use serde_json::json;

use super::migration::Change;
use super::run::Run;
use crate::core::data::config::Environment;
use crate::core::data::plan::{MigrationState, Status};
use crate::core::error::{Error, Result};
use crate::core::exec::ApplyOptions;
use crate::core::guard::policy;
use crate::core::record::report::Event;

/// Guards every write run checks: no failed migration waiting for resolution, no drift
/// unless allowed.
pub(crate) fn check_guards(status: &Status, opts: &ApplyOptions) -> Result<()> {
    if let Some(f) = status.items.iter().find(|i| i.state == MigrationState::Failed) {
        let at = f.entry.as_ref().and_then(|e| e.failed_at_statement).unwrap_or(0);
        return Err(Error::guard(format!(
            "migration {} failed at statement {at} and is partly applied; resolve it first: sluice resolve {} --retry | --mark-applied | --mark-rolled-back",
            f.label(),
            f.version
        )));
    }
    if !opts.allow_drift {
        let drifted: Vec<String> = status
            .items
            .iter()
            .filter(|i| i.state == MigrationState::Drifted)
            .map(|i| i.label())
            .collect();
        if !drifted.is_empty() {
            return Err(Error::guard(format!(
                "applied migrations changed on disk (drift): {}; restore the files as applied (see the ledger's SQL with sluice history), or pass --allow-drift",
                drifted.join(", ")
            )));
        }
    }
    Ok(())
}

fn touched_tables(steps: &[Change]) -> Vec<String> {
    crate::core::data::sql::tables_named(steps.iter().flat_map(|s| s.statements.iter()))
}

/// Runs the pre-checks, records them in the run, and refuses on any failure.
pub(crate) async fn prechecks(
    run: &mut Run,
    env: &Environment,
    status: &Status,
    steps: &[Change],
    opts: &ApplyOptions,
) -> Result<()> {
    let cx = crate::core::guard::precheck::Context {
        env,
        ledger: &run.session.ledger,
        status,
        planned: steps.iter().map(|s| format!("{}_{}", s.version, s.name)).collect(),
        touched: touched_tables(steps),
        backup_planned: (!opts.dry_run).then(|| policy::backup_taken(env, opts.backup)),
        backup_dir: crate::core::data::config::paths::backup_dir(env).ok(),
        window_override: opts.override_window.as_deref().filter(|r| !r.trim().is_empty()),
        allow_drift: opts.allow_drift,
        local_socket: run.session.target.is_unix_socket(),
    };
    let checks = crate::core::guard::precheck::run(&run.session.client, &cx).await?;
    run.session.emit(Event::PreChecks { checks: checks.clone() });
    run.report.prechecks = checks.clone();
    let details = json!({ "prechecks": checks, "window_override": cx.window_override });
    run.session.ledger.add_run_details(&run.session.client, &run.report.run_id, &details).await?;
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| c.outcome == crate::core::guard::precheck::Outcome::Fail)
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
pub(crate) async fn backup_before(
    run: &mut Run,
    env: &Environment,
    wanted: Option<bool>,
    label: &str,
) -> Result<()> {
    if env.backup.mode == crate::core::data::config::BackupMode::Required && wanted == Some(false) {
        return Err(Error::guard(format!(
            "{}'s policy requires a backup before a change; --no-backup is refused",
            env.name
        )));
    }
    let take = policy::backup_taken(env, wanted);
    if !take {
        return Ok(());
    }
    let dir = crate::core::data::config::paths::backup_dir(env)?;
    run.session.emit(Event::BackupStarted { directory: dir.display().to_string() });
    let progress: Option<crate::core::guard::backup::Progress> =
        run.session.events.clone().map(|tx| {
            Box::new(move |bytes: u64, elapsed: std::time::Duration| {
                let _ = tx.send(Event::BackupProgress {
                    bytes,
                    bytes_per_s: (bytes as f64 / elapsed.as_secs_f64().max(0.001)) as u64,
                });
            }) as crate::core::guard::backup::Progress
        });
    let info = crate::core::guard::backup::take(env, label, progress).await?;
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
