//! A fleet rolled out: each database gets its own guarded run (its ledger, lock, backup
//! policy, pre-checks and report), the canary first, then the waves, then the rest, at
//! most `parallel` at once; once more than `max_failures` have failed no new database
//! starts and the running ones finish. One fleet run id ties the runs together. A rerun
//! carries on: databases already at the target have nothing to do.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use super::{ApplyOptions, Control, RollbackTarget};
use crate::core::data::config::{Environment, Project, Rollout};
use crate::core::db::fleet::{members, Member, Shard};
use crate::core::error::{Error, Result};
use crate::core::guard::policy::{check_confirmation, Sign};
use crate::core::record::fleet::{DatabaseRun, FleetReport};
use crate::core::record::report::RunReport;

/// What each database of the fleet runs.
#[derive(Clone)]
pub enum FleetVerb {
    Apply(ApplyOptions),
    Rollback { target: RollbackTarget, sign: Sign },
}

/// What a fleet run tells its face as it goes.
#[derive(Debug, Clone)]
pub enum FleetEvent {
    Planned { databases: usize, waves: Vec<usize> },
    Started { database: String, wave: usize },
    Finished(DatabaseRun),
}

/// The waves' sizes over `n` databases: the canary, each wave, then the rest.
pub fn waves(rollout: &Rollout, n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut left = n;
    for size in std::iter::once(rollout.canary).chain(rollout.waves.iter().copied()) {
        let take = size.min(left);
        if take > 0 {
            out.push(take);
        }
        left -= take;
    }
    if left > 0 {
        out.push(left);
    }
    out
}

/// Rolls `verb` out over the fleet of `env` (or the shard of it).
pub async fn roll_out(
    project: &Project,
    env: &Environment,
    verb: FleetVerb,
    shard: Option<Shard>,
    events: Option<UnboundedSender<FleetEvent>>,
) -> Result<FleetReport> {
    let fleet = env.fleet.as_ref().ok_or_else(|| {
        Error::input(format!("{} is not a fleet: it has no fleet = {{ ... }} table", env.name))
    })?;
    let (confirm, action) = match &verb {
        FleetVerb::Apply(o) if o.dry_run => (None, "dry-run"),
        FleetVerb::Apply(o) => (Some(o.confirm.as_deref()), "apply"),
        FleetVerb::Rollback { sign, .. } => (Some(sign.confirm.as_deref()), "rollback"),
    };
    if let Some(confirm) = confirm {
        check_confirmation(env, confirm, action)?;
    }
    if env.approvals.required > 1 {
        return Err(Error::input(format!(
            "{}: a second approver's code is good for one run; fleets with approvals.required = 2 are not supported yet",
            env.name
        )));
    }
    let all = members(env).await?;
    let chosen: Vec<Member> =
        all.into_iter().filter(|m| shard.is_none_or(|s| s.takes(m.position))).collect();
    let sizes = waves(&fleet.rollout, chosen.len());
    let send = |e: FleetEvent| {
        if let Some(tx) = &events {
            let _ = tx.send(e);
        }
    };
    send(FleetEvent::Planned { databases: chosen.len(), waves: sizes.clone() });
    let fleet_run = crate::core::host::identity::new_run_id();
    let shared = Arc::new((project.clone(), env.clone(), verb, fleet_run.clone()));
    let started = Instant::now();
    let mut done: Vec<DatabaseRun> = Vec::new();
    let mut stopped = None;
    let mut rest = chosen.as_slice();
    for (wave, size) in sizes.iter().enumerate() {
        let (this, next) = rest.split_at(*size);
        rest = next;
        let budget = fleet.rollout.max_failures;
        let ran =
            run_wave(&shared, this, wave, fleet.rollout.parallel, budget, &done, started, &send)
                .await;
        done.extend(ran);
        let failed = done.iter().filter(|d| d.failed()).count();
        if failed > budget && stopped.is_none() {
            stopped = Some(format!(
                "{failed} database(s) failed, more than max_failures = {budget}: no new database started"
            ));
        }
    }
    done.sort_by_key(|d| d.position);
    let report = FleetReport {
        fleet_run,
        environment: env.name.clone(),
        action: action.into(),
        shard: shard.map(|s| format!("{}/{}", s.index, s.count)),
        failed: done.iter().filter(|d| d.failed()).count(),
        not_started: done.iter().filter(|d| d.outcome == "not-started").count(),
        databases: done,
        stopped,
        duration_ms: started.elapsed().as_millis() as u64,
    };
    crate::core::record::audit::record_fleet(env, &report)?;
    Ok(report)
}

type Shared = Arc<(Project, Environment, FleetVerb, String)>;

/// One wave: at most `parallel` at once; no new start once the failures (this wave's and
/// the earlier ones') pass `budget`.
#[allow(clippy::too_many_arguments)]
async fn run_wave(
    shared: &Shared,
    members: &[Member],
    wave: usize,
    parallel: usize,
    budget: usize,
    before: &[DatabaseRun],
    started: Instant,
    send: &(impl Fn(FleetEvent) + Sync),
) -> Vec<DatabaseRun> {
    let mut failed = before.iter().filter(|d| d.failed()).count();
    let mut out = Vec::new();
    let mut running = tokio::task::JoinSet::new();
    let mut queue = members.iter();
    loop {
        while running.len() < parallel && failed <= budget {
            let Some(m) = queue.next() else { break };
            send(FleetEvent::Started { database: m.label.clone(), wave });
            let (shared, m) = (shared.clone(), m.clone());
            running.spawn(async move { one(&shared, m, wave, started).await });
        }
        let Some(joined) = running.join_next().await else { break };
        let run = match joined {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("a fleet database's task ended: {e}");
                continue;
            }
        };
        failed += usize::from(run.failed());
        send(FleetEvent::Finished(run.clone()));
        out.push(run);
    }
    // What the budget kept from starting.
    for m in queue {
        let run = DatabaseRun {
            database: m.label.clone(),
            position: m.position,
            wave,
            outcome: "not-started".into(),
            run_id: None,
            migrations: 0,
            error: None,
            started_ms: None,
            duration_ms: 0,
        };
        send(FleetEvent::Finished(run.clone()));
        out.push(run);
    }
    out
}

/// One database's guarded run, through the same verb a single environment runs.
async fn one(shared: &Shared, m: Member, wave: usize, fleet_started: Instant) -> DatabaseRun {
    let (project, env, verb, fleet_run) = &**shared;
    let member = env.member(&m.url);
    let ctl = Control { fleet_run: Some(fleet_run.clone()), ..Control::default() };
    let t = Instant::now();
    let started_ms = Some(t.duration_since(fleet_started).as_millis() as u64);
    let result: Result<RunReport> = match verb {
        FleetVerb::Apply(opts) => super::apply(project, &member, opts, ctl).await,
        FleetVerb::Rollback { target, sign } => {
            super::rollback(project, &member, target, sign, ctl).await
        }
    };
    let (outcome, run_id, migrations, error) = match result {
        Ok(r) => (
            r.outcome.clone(),
            Some(r.run_id.clone()),
            r.migrations.len(),
            r.error.map(|e| e.message),
        ),
        Err(e) => {
            let outcome =
                if e.kind == crate::core::error::ErrorKind::Guard { "refused" } else { "failed" };
            (outcome.to_string(), None, 0, Some(e.message))
        }
    };
    DatabaseRun {
        database: m.label,
        position: m.position,
        wave,
        outcome,
        run_id,
        migrations,
        error,
        started_ms,
        duration_ms: t.elapsed().as_millis() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_are_the_canary_the_waves_then_the_rest() {
        let r = Rollout { canary: 1, waves: vec![5, 50], parallel: 8, max_failures: 0 };
        assert_eq!(waves(&r, 12), vec![1, 5, 6]);
        assert_eq!(waves(&r, 100), vec![1, 5, 50, 44]);
        assert_eq!(waves(&r, 3), vec![1, 2]);
        assert_eq!(waves(&Rollout { canary: 0, ..r }, 4), vec![4]);
    }
}
