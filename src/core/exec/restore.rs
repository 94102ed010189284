//! Restore from a backup as a run: the ledger lock held, a fresh safety backup first, and
//! the whole thing recorded like any change.

use std::path::Path;

use super::session::control::Control;
use super::session::guards::backup_before;
use super::session::run::{fail_early, Run};
use crate::core::data::config::{Environment, Project};
use crate::core::error::{Error, Result};
use crate::core::guard::policy::{check_typed_name, Requirements, Sign};
use crate::core::record::details::Request;
use crate::core::record::report::{ReportError, RunReport};

/// pg_restore --clean of `file` into the environment, after a safety backup. Every tier
/// needs the typed name: a restore replaces data.
pub async fn restore(
    project: &Project,
    env: &Environment,
    file: &Path,
    sign: &Sign,
    ctl: Control,
) -> Result<RunReport> {
    let needs = Requirements::restore(env);
    let action = "restore a backup into it: a restore replaces its data";
    check_typed_name(env, &needs, sign.confirm.as_deref(), action)?;
    if !file.is_file() {
        return Err(Error::input(format!("{}: no such backup file", file.display())));
    }
    let request = Request { file: Some(file.to_path_buf()), ..Request::default() };
    let mut run = Run::begin(project, env, "restore", request, ctl).await?;
    run.announce(0);
    if let Err(e) = run.check_approvals(sign.ticket.as_deref(), sign.approval.as_ref()).await {
        return Ok(fail_early(run, e).await);
    }
    if let Err(e) = backup_before(&mut run, env, Some(true), "pre-restore", &[]).await {
        return Ok(fail_early(run, e).await);
    }
    if let Err(e) = crate::core::guard::backup::restore(env, file).await {
        // pg_restore ran in one transaction: nothing changed, the run's row is still there.
        let err = ReportError::from_error(&e, vec![]);
        return Ok(run.finish("failed", Some(err)).await);
    }
    run.details.restored = Some(file.to_path_buf());
    run.details.safety_backup = run.report.backup.as_ref().map(|b| b.path.clone());
    let details = run.details.to_json();
    let s = &run.session;
    let row = crate::core::db::ledger::NewRun {
        run_id: &run.report.run_id,
        environment: &env.name,
        action: "restore",
        operator: &s.operator,
        client_host: &s.host,
        details: &details,
    };
    if let Err(e) = s.ledger.restart_run(&s.client, &row).await {
        tracing::warn!("cannot record the restore in the restored ledger: {e}");
    }
    Ok(run.finish("done", None).await)
}
