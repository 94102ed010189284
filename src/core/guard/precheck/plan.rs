//! The checks the plan answers: failed migrations, what is pending, file drift.

use super::{check, Check, Outcome, PrecheckInputs};
use crate::core::data::plan::MigrationState;

fn labels(cx: &PrecheckInputs<'_>, state: MigrationState) -> Vec<String> {
    cx.status.items.iter().filter(|i| i.state == state).map(|i| i.label()).collect()
}

pub(super) fn failed(cx: &PrecheckInputs<'_>) -> Check {
    let resumed = cx.status.resumable_backfill();
    let mut failed = labels(cx, MigrationState::Failed);
    if let Some((item, at)) = resumed {
        failed.retain(|l| *l != item.label());
        if failed.is_empty() {
            let what = format!(
                "{}: its batched backfill (statement {}) carries on from its checkpoint",
                item.label(),
                at + 1
            );
            return check("failed migrations", Outcome::Pass, what);
        }
    }
    if failed.is_empty() {
        check("failed migrations", Outcome::Pass, "none")
    } else {
        check("failed migrations", Outcome::Fail, format!("{} (resolve first)", failed.join(", ")))
    }
}

pub(super) fn pending(cx: &PrecheckInputs<'_>) -> Check {
    let pending = &cx.planned;
    check(
        "pending migrations",
        Outcome::Pass,
        if pending.is_empty() {
            "none".to_string()
        } else {
            format!("{}: {}", pending.len(), pending.join(", "))
        },
    )
}

pub(super) fn file_drift(cx: &PrecheckInputs<'_>) -> Check {
    let drifted = labels(cx, MigrationState::Drifted);
    match (drifted.is_empty(), cx.allow_drift) {
        (true, _) => check("file drift", Outcome::Pass, "applied files unchanged"),
        (false, true) => {
            check("file drift", Outcome::Warn, format!("allowed: {}", drifted.join(", ")))
        }
        (false, false) => check(
            "file drift",
            Outcome::Fail,
            format!("changed after apply: {}", drifted.join(", ")),
        ),
    }
}
