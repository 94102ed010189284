//! What the emergency screens offer, safest first: for a rollback, the newest migration
//! only, the whole last run, then restoring the newest backup; for a failed migration, a
//! retry from the failed statement, undoing what ran, or marking it applied.

use std::path::PathBuf;

use crate::core::query::emergency::RollbackPlan;
use crate::core::query::recovery::Recovery;

/// What the operator can take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Down migrations, newest first.
    Steps(usize),
    Restore(PathBuf),
    /// A failed migration (by version): run it again from the failed statement.
    Retry(String),
    /// Run the compensating SQL, then record it rolled back.
    Compensate(String),
    /// Record it applied (the rest was finished by hand).
    MarkApplied(String),
}

/// One choice as the screen lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub choice: Choice,
    pub label: String,
    /// Why it cannot be taken (no down SQL).
    pub unavailable: Option<String>,
    /// Taking it needs a typed reason (it claims something sluice cannot check).
    pub needs_reason: bool,
}

fn age(s: u64) -> String {
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{:.1} h", s as f64 / 3600.0),
    }
}

/// The rollback's offers: one migration, the last run, then a restore.
pub fn rollback(plan: &RollbackPlan) -> Vec<Offer> {
    let mut offers = Vec::new();
    if let Some(newest) = plan.applied.first() {
        let src = match newest.source {
            Some(s @ ("file" | "ledger")) => format!("down SQL from {s}"),
            Some(tool) => format!("through {tool}"),
            None => "no down SQL".into(),
        };
        let what = crate::core::data::plan::label(&newest.version, &newest.name);
        offers.push(Offer {
            choice: Choice::Steps(1),
            label: format!("Roll back {what} only ({src})"),
            unavailable: newest
                .source
                .is_none()
                .then(|| format!("{} has no down SQL in its file or the ledger", newest.version)),
            needs_reason: false,
        });
    }
    if let Some(run) = whole_run(plan) {
        offers.push(run);
    }
    if let Some(b) = plan.backups.first() {
        let name = b.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        offers.push(Offer {
            choice: Choice::Restore(b.path.clone()),
            label: format!(
                "Restore backup {name} (taken {} ago, {:.1} MB)",
                age(b.age_s),
                b.bytes as f64 / 1_048_576.0
            ),
            unavailable: None,
            needs_reason: false,
        });
    }
    offers
}

/// The whole last run, when it put more than the newest migration there.
fn whole_run(plan: &RollbackPlan) -> Option<Offer> {
    let n = plan.last_run_steps();
    if n <= 1 {
        return None;
    }
    let downs = &plan.applied[..n];
    let versions = |f: &dyn Fn(&&crate::core::query::emergency::DownPlan) -> bool| -> Vec<&str> {
        downs.iter().filter(f).map(|d| d.version.as_str()).collect()
    };
    let from_ledger = versions(&|d| d.source == Some("ledger"));
    let missing = versions(&|d| d.source.is_none());
    let empty = versions(&|d| d.empty);
    let all = versions(&|_| true);
    let id = plan.last_run.as_ref().map(|r| r.run_id.as_str()).unwrap_or("");
    let mut label = format!("Roll back the whole run {id} ({})", all.join(", "));
    if !from_ledger.is_empty() {
        label.push_str(&format!("; down from the ledger for {}", from_ledger.join(", ")));
    }
    if !empty.is_empty() {
        label.push_str(&format!("; down is empty for {}: nothing undone", empty.join(", ")));
    }
    Some(Offer {
        choice: Choice::Steps(n),
        label,
        unavailable: (!missing.is_empty())
            .then(|| format!("no down SQL for {}", missing.join(", "))),
        needs_reason: false,
    })
}

/// A failed migration's offers. Safest first: a retry runs only what never ran; undoing
/// drops what ran; marking applied claims work sluice did not see, so it needs a reason.
pub fn recovery(r: &Recovery) -> Vec<Offer> {
    let v = r.version.clone();
    let mut retry = format!(
        "Retry from statement {} ({} statement(s) to run",
        r.resume_at(),
        r.retry_statements.len()
    );
    if let Some(ix) = &r.invalid_index {
        retry.push_str(&format!(", dropping the INVALID index {ix} first"));
    }
    retry.push(')');
    let undo = match (r.compensating.len(), r.by_hand.is_empty()) {
        (0, true) => "Mark it rolled back (nothing that ran needs undoing)".to_string(),
        (n, true) => format!("Undo what ran ({n} compensating statement(s)), mark it rolled back"),
        (n, false) => format!(
            "Undo what ran ({n} compensating statement(s), {} by hand), mark it rolled back",
            r.by_hand.len()
        ),
    };
    vec![
        Offer {
            choice: Choice::Retry(v.clone()),
            label: retry,
            unavailable: r.retry_blocked.clone(),
            needs_reason: false,
        },
        Offer {
            choice: Choice::Compensate(v.clone()),
            label: undo,
            unavailable: None,
            needs_reason: !r.by_hand.is_empty(),
        },
        Offer {
            choice: Choice::MarkApplied(v),
            label: "Mark it applied (the rest was finished by hand)".into(),
            unavailable: None,
            needs_reason: true,
        },
    ]
}
