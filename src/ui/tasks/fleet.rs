//! The task behind the fleet wizard: reads the plan (each database's pending count, the
//! waves), waits for the operator's signature, then rolls the fleet out through the
//! engine, forwarding each database's start and end; `Stop` pulls the fleet's stop.

use tokio::sync::mpsc;

use crate::core::data::config::Project;
use crate::core::exec::fleet::{self, FleetControl, FleetStop, FleetVerb};
use crate::core::exec::ApplyOptions;
use crate::core::guard::policy::Sign;
use crate::core::query::fleet::FleetStatus;
use crate::ui::model::wizard::fleet::{FleetCmd, FleetMsg, FleetPlan, PlanRow};
use crate::ui::model::Msg;

type Tx = mpsc::UnboundedSender<Msg>;

fn send(tx: &Tx, m: FleetMsg) {
    let _ = tx.send(Msg::Fleet(m));
}

/// Each database in rollout order with its wave, as `roll_out` will take them.
fn plan(status: &FleetStatus, rollout: &crate::core::data::config::Rollout) -> FleetPlan {
    let sizes = fleet::waves(rollout, status.databases.len());
    let mut wave_of = sizes.iter().enumerate().flat_map(|(w, n)| std::iter::repeat_n(w, *n));
    let databases = status
        .databases
        .iter()
        .map(|d| PlanRow {
            database: d.database.clone(),
            wave: wave_of.next().unwrap_or(0),
            pending: d.pending,
            reachable: d.reachable,
        })
        .collect();
    FleetPlan {
        databases,
        waves: sizes,
        parallel: rollout.parallel,
        max_failures: rollout.max_failures,
    }
}

pub(super) fn spawn_fleet(project: &Project, env: &str, tx: Tx) -> mpsc::UnboundedSender<FleetCmd> {
    let (cmd_tx, mut cmd_rx) = mpsc::unbounded_channel();
    let (project, name) = (project.clone(), env.to_string());
    tokio::spawn(async move {
        let env = match project.environment(Some(&name)) {
            Ok(e) => e.clone(),
            Err(e) => return send(&tx, FleetMsg::Planned(Err(e.message))),
        };
        let rollout = env.fleet.as_ref().map(|f| f.rollout.clone()).unwrap_or_default();
        match crate::core::query::fleet::status(&project, &env, None).await {
            Ok(s) => send(&tx, FleetMsg::Planned(Ok(plan(&s, &rollout)))),
            Err(e) => return send(&tx, FleetMsg::Planned(Err(e.message))),
        }
        let sign = loop {
            match cmd_rx.recv().await {
                Some(FleetCmd::Run(sign)) => break sign,
                Some(FleetCmd::Stop) => continue,
                Some(FleetCmd::Abandon) | None => return,
            }
        };
        let stop = FleetStop::new();
        let listener = {
            let stop = stop.clone();
            tokio::spawn(async move {
                while let Some(c) = cmd_rx.recv().await {
                    if c == FleetCmd::Stop {
                        stop.stop().await;
                    }
                }
            })
        };
        let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
        let forward = tx.clone();
        tokio::spawn(async move {
            while let Some(e) = ev_rx.recv().await {
                send(&forward, FleetMsg::Event(e));
            }
        });
        let ctl = FleetControl { events: Some(ev_tx), stop: Some(stop) };
        let report = fleet::roll_out(&project, &env, FleetVerb::Apply(options(sign)), None, ctl);
        let report = report.await;
        listener.abort();
        send(&tx, FleetMsg::Finished(report.map(Box::new).map_err(|e| e.message)));
    });
    cmd_tx
}

fn options(sign: Sign) -> ApplyOptions {
    ApplyOptions {
        confirm: sign.confirm,
        ticket: sign.ticket,
        approval: sign.approval,
        ..ApplyOptions::default()
    }
}
