//! The live strip's part of the model: samples, interval, pause.

use super::tests::sample;
use super::*;
use crate::core::db::monitor::Snapshot;

pub fn snap(conns: i64, tps: f64) -> Snapshot {
    Snapshot {
        connections: conns,
        max_connections: 100,
        active: 3,
        idle_in_transaction: 1,
        waiting: 0,
        tps: Some(tps),
        longest: Some((8812, "etl".into(), 41.0)),
        blocked: vec![],
        blockers: vec![],
        locks: vec![],
        idle_in_tx: vec![],
    }
}

#[test]
fn metrics_interval_pause_and_stale_samples() {
    let mut m = sample();
    update(&mut m, Msg::Metrics { env: "dev".into(), snapshot: Ok(snap(12, 30.0)) });
    update(&mut m, Msg::Metrics { env: "staging".into(), snapshot: Ok(snap(99, 1.0)) });
    assert_eq!(m.conn_history, vec![12], "a sample from another environment is dropped");
    assert_eq!(
        update(&mut m, Msg::Key(Key::Char('+'))),
        vec![Request::Monitor {
            env: "dev".into(),
            interval_ms: 2000,
            paused: false,
            relations: vec!["orders".into()]
        }]
    );
    update(&mut m, Msg::Key(Key::Char('-')));
    update(&mut m, Msg::Key(Key::Char('-')));
    update(&mut m, Msg::Key(Key::Char('-')));
    assert_eq!(m.interval_ms, 250, "never faster than 250 ms");
    let cmds = update(&mut m, Msg::Key(Key::Char(' ')));
    assert_eq!(
        cmds,
        vec![Request::Monitor {
            env: "dev".into(),
            interval_ms: 250,
            paused: true,
            relations: vec!["orders".into()]
        }]
    );
    for i in 0..40 {
        update(&mut m, Msg::Metrics { env: "dev".into(), snapshot: Ok(snap(i, 1.0)) });
    }
    assert_eq!(m.conn_history.len(), HISTORY);
}
