//! A fleet rolled out: each database gets its own guarded run (its ledger, lock, backup
//! policy, pre-checks and report), the canary first, then the waves, then the rest, at
//! most `parallel` at once; once more than `max_failures` have failed no new database
//! starts and the running ones finish. One fleet run id ties the runs together. A rerun
//! carries on: databases already at the target have nothing to do. Where the tier asks
//! for a second approver, one code approves the fleet run: redeemed once, on the first
//! database of the run, and recorded in every database's run.

mod approval;
mod stop;
mod wave;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use super::{ApplyOptions, RollbackTarget};
use crate::core::data::config::{Environment, Project, Rollout};
use crate::core::db::fleet::{members, Member, Shard};
use crate::core::error::{Error, Result};
use crate::core::guard::policy::{check_confirmation, Sign};
use crate::core::record::fleet::{DatabaseRun, FleetReport};
pub use approval::approve_fleet;
pub use stop::FleetStop;
use wave::{run_wave, Shared};

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

/// How a face steers a fleet run: where its events go, and the stop it may pull.
#[derive(Default, Clone)]
pub struct FleetControl {
    pub events: Option<UnboundedSender<FleetEvent>>,
    pub stop: Option<Arc<FleetStop>>,
}

/// The databases a run on `env` (or the shard of it) takes, in rollout order.
pub async fn chosen(env: &Environment, shard: Option<Shard>) -> Result<Vec<Member>> {
    let all = members(env).await?;
    Ok(all.into_iter().filter(|m| shard.is_none_or(|s| s.takes(m.position))).collect())
}

/// Rolls `verb` out over the fleet of `env` (or the shard of it).
pub async fn roll_out(
    project: &Project,
    env: &Environment,
    verb: FleetVerb,
    shard: Option<Shard>,
    ctl: FleetControl,
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
    let chosen = chosen(env, shard).await?;
    let sizes = waves(&fleet.rollout, chosen.len());
    let send = |e: FleetEvent| {
        if let Some(tx) = &ctl.events {
            let _ = tx.send(e);
        }
    };
    let fleet_run = crate::core::host::identity::new_run_id();
    let approval = match &verb {
        _ if env.approvals.required < 2 => None,
        FleetVerb::Apply(o) if o.dry_run => None,
        FleetVerb::Apply(ApplyOptions { approval, .. })
        | FleetVerb::Rollback { sign: Sign { approval, .. }, .. } => {
            Some(approval::redeem_for_fleet(project, env, &chosen, &fleet_run, approval).await?)
        }
    };
    send(FleetEvent::Planned { databases: chosen.len(), waves: sizes.clone() });
    let stop = ctl.stop.clone().unwrap_or_default();
    let shared = Arc::new(Shared {
        project: project.clone(),
        env: env.clone(),
        verb,
        fleet: super::session::control::FleetRun { id: fleet_run.clone(), approval },
        stop: stop.clone(),
    });
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
        if stop.requested() && stopped.is_none() {
            stopped = Some(
                "stopped by the operator: no new database started, the running ones were cancelled"
                    .into(),
            );
        } else if failed > budget && stopped.is_none() {
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
