//! The subcommands that change an environment: apply, rollback, restore, resolve, backup.
//! Each prints the engine's events as they come and the report at the end.

use std::path::PathBuf;

use super::events::with_events;
use super::{exit, interactive, output, Ctx, Opening, Outcome};
use crate::args::{Format, SignArgs, Verb};
use crate::core::error::{Error, Result};
use crate::core::exec::{self, ApplyOptions, Resolution, RollbackTarget};
use crate::core::query;

pub async fn backup(ctx: &Ctx<'_>) -> Result<Outcome> {
    let info = crate::core::guard::backup::take(ctx.env, "manual", None).await?;
    output::print_backup(ctx.format, &info);
    exit(0)
}

/// `--backup` / `--no-backup` as the engine's choice: None leaves it to the policy.
fn backup_choice(backup: bool, no_backup: bool) -> Option<bool> {
    match (backup, no_backup) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

pub async fn apply(ctx: &Ctx<'_>, verb: Verb) -> Result<Outcome> {
    let Verb::Apply {
        to,
        dry_run,
        allow_drift,
        allow_out_of_order,
        override_lint,
        backup,
        no_backup,
        override_window,
        override_promotion,
        shard,
        sign,
    } = verb
    else {
        return exit(0);
    };
    let sign = sign.sign();
    let opts = ApplyOptions {
        to,
        dry_run,
        confirm: sign.confirm,
        allow_drift,
        allow_out_of_order,
        override_lint,
        backup: backup_choice(backup, no_backup),
        override_window,
        override_promotion,
        ticket: sign.ticket,
        approval: sign.approval,
    };
    if ctx.env.fleet.is_some() {
        return super::fleet::roll_out(ctx, exec::fleet::FleetVerb::Apply(opts), shard).await;
    }
    super::fleet::no_shard(ctx, shard.as_deref())?;
    let (project, env) = (ctx.project, ctx.env);
    let code =
        with_events(ctx.format, |tx| async move { exec::apply(project, env, &opts, tx).await })
            .await?;
    exit(code)
}

pub async fn rollback(
    ctx: &Ctx<'_>,
    steps: Option<usize>,
    to: Option<String>,
    shard: Option<String>,
    sign: SignArgs,
) -> Result<Outcome> {
    let target = match (steps, to) {
        (Some(n), None) => RollbackTarget::Steps(n),
        (None, Some(v)) => RollbackTarget::To(v),
        (None, None) if interactive() && ctx.format == Format::Text => {
            return Ok(ctx.console(Opening::Rollback))
        }
        _ => {
            return Err(Error::input(
                "give --steps N or --to VERSION (in a terminal, without them, the emergency rollback opens)",
            ))
        }
    };
    let sign = sign.sign();
    if ctx.env.fleet.is_some() {
        let verb = exec::fleet::FleetVerb::Rollback { target, sign };
        return super::fleet::roll_out(ctx, verb, shard).await;
    }
    super::fleet::no_shard(ctx, shard.as_deref())?;
    let (project, env) = (ctx.project, ctx.env);
    let code = with_events(ctx.format, |tx| async move {
        exec::rollback(project, env, &target, &sign, tx).await
    })
    .await?;
    exit(code)
}

pub async fn restore(ctx: &Ctx<'_>, file: PathBuf, sign: SignArgs) -> Result<Outcome> {
    let sign = sign.sign();
    let (project, env) = (ctx.project, ctx.env);
    let code =
        with_events(
            ctx.format,
            |tx| async move { exec::restore(project, env, &file, &sign, tx).await },
        )
        .await?;
    exit(code)
}

/// With a choice, settles the failed migration; without one, shows what ran and what
/// failed (in a terminal, the console's recovery screen).
pub async fn resolve(ctx: &Ctx<'_>, verb: Verb) -> Result<Outcome> {
    let Verb::Resolve { version, mark_applied, mark_rolled_back, retry, compensate, reason, sign } =
        verb
    else {
        return exit(0);
    };
    let how = match (mark_applied, mark_rolled_back, retry) {
        (true, _, _) => Resolution::MarkApplied,
        (_, true, _) => Resolution::MarkRolledBack,
        (_, _, true) => Resolution::Retry,
        _ if interactive() && ctx.format == Format::Text => {
            return Ok(ctx.console(Opening::Recover))
        }
        _ => return show_recovery(ctx, version.as_deref()).await,
    };
    let version = match version {
        Some(v) => v,
        None => match query::recovery::recovery(ctx.project, ctx.env).await?.first() {
            Some(r) => r.version.clone(),
            None => {
                return Err(Error::input(format!(
                    "no migration is marked failed in {}: nothing to resolve",
                    ctx.env.name
                )))
            }
        },
    };
    let opts = exec::ResolveOptions { how, sign: sign.sign(), compensate, reason };
    let (project, env) = (ctx.project, ctx.env);
    let code = with_events(ctx.format, |tx| async move {
        exec::resolve(project, env, &version, &opts, tx).await
    })
    .await?;
    exit(code)
}

/// What ran, what failed and the compensating SQL (exit 1 while something is failed).
async fn show_recovery(ctx: &Ctx<'_>, version: Option<&str>) -> Result<Outcome> {
    let found = query::recovery::recovery(ctx.project, ctx.env).await?;
    let found: Vec<_> = match version {
        Some(v) => found.into_iter().filter(|r| r.version == v).collect(),
        None => found,
    };
    output::print_recovery(ctx.format, ctx.env, &found);
    exit(if found.is_empty() { 0 } else { 1 })
}
