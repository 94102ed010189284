//! The subcommands that read an environment: status, diff, check, verify, history, runs,
//! backups; and approve, which only issues a second approver's code.

use super::{exit, output, Ctx, Outcome};
use crate::args::{Format, RunsVerb};
use crate::core::data::config::paths;
use crate::core::error::{Error, Result};
use crate::core::guard::precheck::{Check, Outcome as CheckOutcome};
use crate::core::{exec, query};

pub async fn status(ctx: &Ctx<'_>) -> Result<Outcome> {
    let status = query::status(ctx.project, ctx.env).await?;
    output::print_status(ctx.format, ctx.project, ctx.env, &status);
    exit(0)
}

/// With a version, that migration's file against the SQL the ledger says ran; without, the
/// live schema against the snapshot of the last run (exit 1 on drift).
pub async fn diff(ctx: &Ctx<'_>, version: Option<String>) -> Result<Outcome> {
    if let Some(v) = version {
        let diff = query::diff::file_drift(ctx.project, ctx.env, &v).await?;
        output::print_diff(ctx.format, &diff, None);
        return exit(0);
    }
    match query::diff::schema_drift(ctx.project, ctx.env).await? {
        None => Err(Error::input(format!(
            "no schema snapshot in {} yet: sluice takes one after each apply or rollback",
            ctx.env.name
        ))),
        Some(d) => {
            output::print_diff(ctx.format, &d.diff, Some(&d));
            exit(if d.diff.is_empty() { 0 } else { 1 })
        }
    }
}

fn checks_exit(format: Format, checks: &[Check]) -> Result<Outcome> {
    output::print_check_result(format, checks);
    exit(if checks.iter().any(|c| c.outcome == CheckOutcome::Fail) { 1 } else { 0 })
}

pub async fn check(ctx: &Ctx<'_>) -> Result<Outcome> {
    let checks = query::checks::precheck(ctx.project, ctx.env).await?;
    checks_exit(ctx.format, &checks)
}

pub async fn verify(ctx: &Ctx<'_>, level: &str) -> Result<Outcome> {
    let level = crate::core::guard::verify::Level::parse(level)?;
    let checks = query::checks::verify(ctx.project, ctx.env, level).await?;
    checks_exit(ctx.format, &checks)
}

pub async fn history(ctx: &Ctx<'_>) -> Result<Outcome> {
    let (rows, runs) = query::history(ctx.project, ctx.env).await?;
    output::print_history(ctx.format, ctx.env, &rows, &runs);
    exit(0)
}

pub async fn runs(ctx: &Ctx<'_>, show: Option<RunsVerb>) -> Result<Outcome> {
    let (_, runs) = query::history(ctx.project, ctx.env).await?;
    let Some(RunsVerb::Show { id }) = show else {
        output::print_runs(ctx.format, ctx.env, &runs);
        return exit(0);
    };
    let run = runs.iter().find(|r| r.run_id == id).ok_or_else(|| {
        Error::input(format!("no run {id:?} in {}: `sluice runs` lists them", ctx.env.name))
    })?;
    let md = paths::report_dir(ctx.env)
        .ok()
        .and_then(|d| std::fs::read_to_string(d.join(format!("{id}.md"))).ok());
    output::print_run(ctx.format, run, md.as_deref());
    exit(0)
}

pub fn backups(ctx: &Ctx<'_>) -> Result<Outcome> {
    let files = crate::core::guard::backup::list(ctx.env)?;
    output::print_backups(ctx.format, ctx.env, &files);
    exit(0)
}

pub async fn approve(
    ctx: &Ctx<'_>,
    run_id: Option<String>,
    shard: Option<String>,
) -> Result<Outcome> {
    let code = match (&ctx.env.fleet, run_id.as_deref()) {
        (Some(_), Some(id)) => {
            return Err(crate::core::error::Error::input(format!(
                "{} is a fleet: its code approves the next fleet run, so give no run id (not {id})",
                ctx.env.name
            )))
        }
        (Some(_), None) => {
            let shard = super::fleet::shard(shard.as_deref())?;
            exec::fleet::approve_fleet(ctx.project, ctx.env, shard).await?
        }
        (None, _) => {
            super::fleet::no_shard(ctx, shard.as_deref())?;
            exec::approve(ctx.project, ctx.env, run_id.as_deref()).await?
        }
    };
    output::print_approval(ctx.format, ctx.env, run_id.as_deref(), &code);
    exit(0)
}
