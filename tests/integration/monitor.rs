//! The monitor against a real server: who waits on whom, from its own connection.

use std::time::Duration;

use sluice::core::db::monitor::Monitor;

use crate::support::{fresh_db, TestProject};

#[tokio::test]
async fn monitor_sees_a_blocked_session_and_its_blocker_but_not_itself() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    let project = p.project();
    let target =
        sluice::core::db::connect::Target::resolve(project.environment(None).unwrap()).unwrap();
    let holder = db.client().await;
    holder.batch_execute("CREATE TABLE t (id int)").await.unwrap();
    holder.batch_execute("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let holder_pid: i32 = holder.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    let waiter = std::sync::Arc::new(db.client().await);
    let w = waiter.clone();
    let waiting = tokio::spawn(async move {
        w.batch_execute("SET application_name = 'api'; SELECT count(*) FROM t").await
    });

    tokio::time::sleep(Duration::from_millis(200)).await;
    if waiting.is_finished() {
        panic!("waiter did not wait: {:?}", waiting.await);
    }
    let mut m = Monitor::connect(&target).await.unwrap();
    let mut seen = None;
    let watched = vec!["t".to_string()];
    for _ in 0..50 {
        let s = m.sample(&watched).await.unwrap();
        if let Some(b) = s.blocked.iter().find(|b| b.blockers.contains(&holder_pid)) {
            seen = Some((b.application.clone(), s.waiting, s.idle_in_transaction));
            // The holder is the root of the blocker tree: it waits for nobody.
            let root = s.blockers.iter().find(|r| r.pid == holder_pid).expect("root blocker");
            assert!(root.state.starts_with("idle in transaction"), "{root:?}");
            assert!(s.idle_in_tx.iter().any(|r| r.pid == holder_pid));
            // Locks on the watched table: the holder's, granted; the waiter's, not.
            let held = s.locks.iter().find(|l| l.pid == holder_pid).expect("holder's lock");
            assert_eq!(
                (held.relation.as_str(), held.mode.as_str(), held.granted),
                ("public.t", "ACCESS EXCLUSIVE", true)
            );
            let waits = s.locks.iter().find(|l| l.pid == b.pid).expect("waiter's lock");
            assert_eq!((waits.mode.as_str(), waits.granted), ("ACCESS SHARE", false));
            assert_eq!(s.locks[0].pid, b.pid, "what waits is listed first");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (app, waiting_n, idle_tx) = seen.expect("the monitor saw the blocked session");
    assert_eq!(app, "api");
    assert!(waiting_n >= 1);
    assert!(idle_tx >= 1, "the lock holder sits idle in its transaction");
    let s = m.sample(&[]).await.unwrap();
    assert!(s.locks.is_empty(), "no watched tables, no lock list");
    assert!(s.tps.is_some(), "the second sample has a rate");
    assert!(s.connections >= 2 && s.connections <= s.max_connections);
    holder.batch_execute("COMMIT").await.unwrap();
    waiting.await.unwrap().unwrap();
}
