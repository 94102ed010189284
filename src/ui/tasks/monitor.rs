//! The live metrics: one connection of its own with a short statement_timeout (see
//! `core::db::monitor`), sampled as often as the console asks, following environment
//! switches and pauses, reconnecting after an error.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::core::data::config::Project;
use crate::ui::model::Msg;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MonitorCfg {
    pub env: String,
    pub interval_ms: u64,
    pub paused: bool,
    pub relations: Vec<String>,
}

/// Samples the selected environment on its own connection, as often as the console asks;
/// follows environment switches, pauses, and reconnects after an error.
pub(crate) async fn run_monitor(
    project: Project,
    mut cfg: tokio::sync::watch::Receiver<Option<MonitorCfg>>,
    tx: mpsc::UnboundedSender<Msg>,
) {
    let mut current: Option<(String, crate::core::db::monitor::Monitor)> = None;
    loop {
        let Some(c) = cfg.borrow_and_update().clone() else {
            if cfg.changed().await.is_err() {
                return;
            }
            continue;
        };
        if c.paused {
            if cfg.changed().await.is_err() {
                return;
            }
            continue;
        }
        if current.as_ref().is_none_or(|(env, _)| *env != c.env) {
            current = None;
            let target = project
                .environment(Some(&c.env))
                .and_then(crate::core::db::connect::Target::resolve);
            match target {
                Ok(t) => match crate::core::db::monitor::Monitor::connect(&t).await {
                    Ok(m) => current = Some((c.env.clone(), m)),
                    Err(e) => {
                        let _ =
                            tx.send(Msg::Metrics { env: c.env.clone(), snapshot: Err(e.message) });
                    }
                },
                Err(e) => {
                    let _ = tx.send(Msg::Metrics { env: c.env.clone(), snapshot: Err(e.message) });
                }
            }
        }
        if let Some((env, m)) = current.as_mut() {
            let snapshot = m.sample(&c.relations).await.map_err(|e| e.message);
            if snapshot.is_err() {
                // Reconnect on the next round: the server may have gone away.
                let _ = tx.send(Msg::Metrics { env: env.clone(), snapshot });
                current = None;
            } else if tx.send(Msg::Metrics { env: env.clone(), snapshot }).is_err() {
                return;
            }
        }
        tokio::select! {
            changed = cfg.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(Duration::from_millis(c.interval_ms)) => {}
        }
    }
}
