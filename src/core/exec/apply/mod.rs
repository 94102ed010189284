//! The guarded apply: pre-checks, lint gate, backup, an optional dry run, then the
//! migrations, each in its own transaction (`pipeline`); `rehearse` is the dry run.

mod code_plan;
mod copy_rehearsal;
mod observed_locks;
mod pipeline;
mod rehearse;
mod stages;

pub use pipeline::{GuardedRun, Opened, Planned};

use crate::core::data::config::{Environment, Project};
use crate::core::data::plan::Direction;
use crate::core::error::Result;
use crate::core::exec::session::control::Control;
use crate::core::exec::session::migration::Change;
use crate::core::guard::policy::check_confirmation;
use crate::core::record::report::RunReport;

#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    pub to: Option<String>,
    pub dry_run: bool,
    /// Must repeat the environment's name on a production tier.
    pub confirm: Option<String>,
    pub allow_drift: bool,
    pub allow_out_of_order: bool,
    /// Apply despite findings at or above the lint gate; the reason is recorded in the run.
    pub override_lint: Option<String>,
    /// Some(true): back up first even where the policy makes it optional; Some(false): skip
    /// an optional backup (refused where the policy requires one).
    pub backup: Option<bool>,
    /// Run outside the environment's maintenance window; the reason is recorded.
    pub override_window: Option<String>,
    /// Apply what `promote_from`'s environment has not run; the reason is recorded.
    pub override_promotion: Option<String>,
    /// A change ticket reference, recorded (required where approvals.ticket = "required").
    pub ticket: Option<String>,
    /// A second approver's name and the code `sluice approve` printed for them (needed where
    /// approvals.required = 2).
    pub approval: Option<(String, String)>,
}

/// The up side of a pending migration; `tool_history`: with the row its layout's own
/// history table gets.
pub(crate) fn up_step(
    item: &crate::core::data::plan::Item,
    tool_history: bool,
) -> Result<Option<Change>> {
    let Some(m) = &item.migration else { return Ok(None) };
    let statements = m.up_statements()?;
    let tool = if tool_history { crate::core::db::tool_table::ToolRow::up(m)? } else { None };
    Ok(Some(Change {
        version: m.version.to_string(),
        name: m.name.clone(),
        direction: Direction::Up,
        transactional: !m.no_transaction(),
        origin: m.up.path.display().to_string(),
        source: "file",
        checksum: m.up.checksum(),
        up_sql: m.up.text.clone(),
        down_sql: m.down.as_ref().map(|d| d.text.clone()),
        statements,
        start_at: 0,
        resume: false,
        tool,
        code: None,
    }))
}

/// Applies pending migrations (up to `--to`), or rehearses them with `dry_run`: the guarded
/// pipeline run through in one go.
pub async fn apply(
    project: &Project,
    env: &Environment,
    opts: &ApplyOptions,
    ctl: Control,
) -> Result<RunReport> {
    if !opts.dry_run {
        check_confirmation(env, opts.confirm.as_deref(), "apply")?;
    }
    Ok(match GuardedRun::open(project, env, opts, false, ctl).await? {
        Opened::Ready(run) => run.complete().await,
        Opened::Finished(report) => *report,
    })
}
