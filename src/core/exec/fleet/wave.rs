//! One wave of a fleet run, and one database's run inside it.

use std::sync::Arc;
use std::time::Instant;

use super::{FleetEvent, FleetStop, FleetVerb};
use crate::core::data::config::{Environment, Project};
use crate::core::db::fleet::Member;
use crate::core::error::Result;
use crate::core::exec::session::control::FleetRun;
use crate::core::exec::{Control, Interrupt};
use crate::core::record::fleet::DatabaseRun;
use crate::core::record::report::RunReport;

/// What every database's run of one fleet run shares.
pub(super) struct Shared {
    pub project: Project,
    pub env: Environment,
    pub verb: FleetVerb,
    pub fleet: FleetRun,
    pub stop: Arc<FleetStop>,
}

/// One wave: at most `parallel` at once; no new start once the failures (this wave's and
/// the earlier ones') pass `budget`, nor once the operator stopped the fleet.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run_wave(
    shared: &Arc<Shared>,
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
        while running.len() < parallel && failed <= budget && !shared.stop.requested() {
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
    let Shared { project, env, verb, fleet, stop } = shared;
    let member = env.member(&m.url);
    let interrupt = Interrupt::new();
    stop.attach(&interrupt).await;
    let ctl = Control {
        interrupt: Some(interrupt.clone()),
        fleet: Some(fleet.clone()),
        ..Control::default()
    };
    let t = Instant::now();
    let started_ms = Some(t.duration_since(fleet_started).as_millis() as u64);
    let result: Result<RunReport> = match verb {
        FleetVerb::Apply(opts) => crate::core::exec::apply(project, &member, opts, ctl).await,
        FleetVerb::Rollback { target, sign } => {
            crate::core::exec::rollback(project, &member, target, sign, ctl).await
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
    stop.detach(&interrupt);
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
