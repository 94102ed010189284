//! Traffic protection in the apply wizard: when sluice steps out of the lock queue the live
//! view says so and names the sessions it let through; a batched backfill shows its progress.

use super::wizard_apply::{at_confirm, key, render};
use crate::core::record::report::{Blocker, Event, Queued};
use crate::ui::model::wizard::{ApplyMsg, RunNews};
use crate::ui::model::Key;

#[test]
fn stepping_out_of_the_lock_queue_shows_whom_it_let_through() {
    let mut w = at_confirm("development", 1);
    key(&mut w, Key::Enter);
    let event = |e| ApplyMsg::News(RunNews::Event(e));
    w.on_msg(event(Event::MigrationStarted {
        version: "0006".into(),
        name: "add_plan_column".into(),
        direction: "up".into(),
        transactional: true,
        statements: 1,
        source: "file".into(),
    }));
    let victim = |pid, app: &str, ms| Queued {
        pid,
        user: "app".into(),
        application_name: app.into(),
        query: "UPDATE orders SET status = $1 WHERE id = $2".into(),
        waited_ms: ms,
    };
    let reader = Blocker {
        pid: 8812,
        user: "report".into(),
        application_name: "nightly".into(),
        state: "active".into(),
        query: "SELECT sum(total) FROM orders".into(),
        transaction_age_s: 4.0,
    };
    for _ in 0..2 {
        w.on_msg(event(Event::QueueLimit {
            version: "0006".into(),
            limit_ms: 50,
            victims: vec![victim(4242, "api", 61.0), victim(4250, "worker", 52.0)],
            blockers: vec![reader.clone()],
        }));
    }
    assert_eq!(w.live.victims_total, 4);
    w.on_msg(event(Event::Backfill {
        version: "0006".into(),
        index: 1,
        rows_done: 12_000,
        keys_done: 24_000,
        estimate: Some(100_000),
        keys_per_s: 8000.0,
        eta_s: Some(9),
    }));
    let screen = render(&w, 80, 24);
    assert!(screen.contains("stepped out of the lock queue"), "{screen}");
    assert!(screen.contains("let through: pid 4242 (api) waited 61 ms"), "{screen}");
    assert!(screen.contains("backfill: 12000 row(s) changed"), "{screen}");
    insta::assert_snapshot!("wizard_queue_limit_80x24", screen);
    // The migration done, the lines go.
    w.on_msg(event(Event::MigrationFinished {
        version: "0006".into(),
        direction: "up".into(),
        duration_ms: 3100,
        rehearsed: false,
    }));
    assert!(w.live.stepped_out.is_none() && w.live.victims.is_empty() && w.live.backfill.is_none());
}
