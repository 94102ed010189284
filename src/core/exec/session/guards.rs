//! What a change must pass before it starts: the guards every write run checks, the
//! pre-checks (recorded in the run) and the backup the environment's policy asks for.

use super::migration::Change;
use super::run::Run;
use crate::core::data::config::Environment;
use crate::core::data::plan::{MigrationState, Status};
use crate::core::error::{Error, Refusal, Result};
use crate::core::exec::ApplyOptions;
use crate::core::guard::policy;
use crate::core::guard::precheck::{Check, Outcome, PROMOTION_CHECK, WINDOW_CHECK};
use crate::core::record::report::Event;

/// Guards every write run checks: no failed migration waiting for resolution (but one a
/// batched backfill can carry on), no drift unless allowed.
pub(crate) fn check_guards(status: &Status, opts: &ApplyOptions) -> Result<()> {
    let resumable = status.resumable_backfill().map(|(i, _)| &i.version);
    let failed = status
        .items
        .iter()
        .find(|i| i.state == MigrationState::Failed && Some(&i.version) != resumable);
    if let Some(f) = failed {
        let at = f.entry.as_ref().and_then(|e| e.failed_at_statement).unwrap_or(0);
        return Err(Error::refused(
            Refusal::FailedMigration { version: f.version.to_string() },
            format!(
                "migration {} failed at statement {at} and is partly applied; settle it first: retry it, or mark it applied or rolled back",
                f.label()
            ),
        ));
    }
    if !opts.allow_drift {
        let drifted: Vec<String> = status
            .items
            .iter()
            .filter(|i| i.state == MigrationState::Drifted)
            .map(|i| i.label())
            .collect();
        if !drifted.is_empty() {
            return Err(Error::refused(
                Refusal::Drift,
                format!(
                    "applied migrations changed on disk (drift): {}; restore the files as applied (see the ledger's SQL with sluice history), or allow the drift",
                    drifted.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn touched_tables(steps: &[Change]) -> Vec<(String, crate::core::data::sql::LockMode)> {
    crate::core::data::lint::locks::locks_needed(steps.iter().flat_map(|s| s.statements.iter()))
}

/// Runs the pre-checks, records them in the run, and refuses on any failure.
pub(crate) async fn prechecks(
    run: &mut Run,
    env: &Environment,
    status: &Status,
    steps: &[Change],
    opts: &ApplyOptions,
    upstream: Option<&Environment>,
) -> Result<()> {
    use crate::core::guard::precheck::promotion::{Promoted, Upstream};
    let promoted = steps
        .iter()
        .map(|s| Promoted {
            version: s.version.clone(),
            label: crate::core::data::plan::label(&s.version, &s.name),
            checksum: s.checksum.clone(),
        })
        .collect();
    let cx = crate::core::guard::precheck::PrecheckInputs {
        env,
        ledger: &run.session.ledger,
        status,
        planned: steps
            .iter()
            .map(|s| crate::core::data::plan::label(&s.version, &s.name))
            .collect(),
        touched: touched_tables(steps),
        backup_planned: (!opts.dry_run).then(|| policy::backup_taken(env, opts.backup)),
        backup_dir: crate::core::data::config::paths::backup_dir(env).ok(),
        window_override: opts.override_window.as_deref().filter(|r| !r.trim().is_empty()),
        allow_drift: opts.allow_drift,
        local_link: run.session.target.local_link(),
        upstream: upstream.map(|env| Upstream { env, ledger: &run.session.ledger }),
        promoted,
        promotion_override: opts.override_promotion.as_deref().filter(|r| !r.trim().is_empty()),
    };
    let checks = crate::core::guard::precheck::run(&run.session.client, &cx).await?;
    run.session.emit(Event::PreChecks { checks: checks.clone() });
    run.report.prechecks = checks.clone();
    run.details.prechecks = checks.clone();
    run.details.window_override = cx.window_override.map(str::to_string);
    run.save_details().await?;
    let failed: Vec<&Check> = checks.iter().filter(|c| c.outcome == Outcome::Fail).collect();
    if failed.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = failed.iter().map(|c| format!("{}: {}", c.name, c.figure)).collect();
    let message = format!("pre-checks failed: {}", listed.join("; "));
    // Outside the window, or ahead of the promotion source, an override with a reason
    // passes that check (when the environment allows one).
    let only = |name: &str| failed.iter().all(|c| c.name == name);
    Err(if only(WINDOW_CHECK) {
        Error::refused(Refusal::MaintenanceWindow, message)
    } else if only(PROMOTION_CHECK) && env.promotion_override {
        let from = env.promote_from.clone().unwrap_or_default();
        Error::refused(Refusal::Promotion { from }, message)
    } else {
        Error::guard(message)
    })
}

/// The backup the environment's policy asks for before a change, recorded in the run.
pub(crate) async fn backup_before(
    run: &mut Run,
    env: &Environment,
    wanted: Option<bool>,
    label: &str,
    versions: &[String],
) -> Result<()> {
    if env.backup.mode == crate::core::data::config::BackupMode::Required && wanted == Some(false) {
        return Err(Error::refused(
            Refusal::BackupRequired,
            format!(
                "{}'s policy requires a backup before a change; it cannot be skipped",
                env.name
            ),
        ));
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
    run.details.backup = Some(info.clone());
    run.report.backup = Some(info);
    run.save_details().await?;
    // Where teams copy the backup off the machine; before any change, so a failed upload
    // stops the run with nothing changed.
    run.hooks(crate::core::guard::hooks::HookPoint::PostBackup, versions, None).await
}
