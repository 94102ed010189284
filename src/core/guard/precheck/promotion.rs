//! The promotion gate: an environment with `promote_from` runs only what that environment
//! already ran, with the same checksums, read from its own ledger over its own connection.
//! An upstream fleet must have run it on every one of its databases: one that lags, or that
//! cannot be read, holds the promotion back, and is named.

use super::{check, Check, Outcome, PrecheckInputs, PROMOTION_CHECK};
use crate::core::data::config::Environment;
use crate::core::data::plan::{Direction, LatestRow};
use crate::core::db::connect::Target;
use crate::core::db::ledger::Ledger;
use crate::core::error::Result;

/// Where a run's migrations must have run first.
pub struct Upstream<'a> {
    pub env: &'a Environment,
    /// The project's ledger schema, the same in every environment.
    pub ledger: &'a Ledger,
}

/// A migration the run would apply, as the upstream's ledger must show it.
pub struct Promoted {
    pub version: String,
    pub label: String,
    pub checksum: String,
}

/// Why one migration may not be promoted yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gap {
    Missing,
    Failed,
    RolledBack,
    OtherChecksum { upstream: String },
}

impl Gap {
    fn describe(&self, upstream: &str) -> String {
        match self {
            Gap::Missing => format!("not applied on {upstream}"),
            Gap::Failed => format!("failed on {upstream}"),
            Gap::RolledBack => format!("rolled back on {upstream}"),
            Gap::OtherChecksum { upstream: sum } => {
                format!("applied on {upstream} with another checksum ({})", short(sum))
            }
        }
    }
}

fn short(sum: &str) -> &str {
    sum.get(..12).unwrap_or(sum)
}

/// Each planned migration the upstream's newest ledger rows do not show applied as it is.
pub fn gaps<'a>(planned: &'a [Promoted], upstream: &[LatestRow]) -> Vec<(&'a Promoted, Gap)> {
    planned
        .iter()
        .filter_map(|p| {
            let gap = match upstream.iter().find(|r| r.version == p.version) {
                None => Gap::Missing,
                Some(r) if r.direction == Direction::Down => Gap::RolledBack,
                Some(r) if !r.success => Gap::Failed,
                Some(r) if r.checksum != p.checksum => {
                    Gap::OtherChecksum { upstream: r.checksum.clone() }
                }
                Some(_) => return None,
            };
            Some((p, gap))
        })
        .collect()
}

/// One database's ledger, read with its own settings.
async fn read_ledger(env: &Environment, ledger: &Ledger) -> Result<Vec<LatestRow>> {
    let target = Target::resolve(env)?;
    let client = target.connect("sluice promotion check").await?;
    ledger.latest(&client).await
}

/// What keeps the run from being promoted from one database (`from` names it), if anything.
fn problem_on(cx: &PrecheckInputs<'_>, from: &str, read: Result<Vec<LatestRow>>) -> Option<String> {
    match read {
        Err(e) => Some(format!(
            "cannot read {from}'s ledger, so nothing is known to have run there: {}",
            e.message
        )),
        Ok(rows) => {
            let gaps = gaps(&cx.promoted, &rows);
            let listed: Vec<String> =
                gaps.iter().map(|(p, g)| format!("{} {}", p.label, g.describe(from))).collect();
            (!listed.is_empty()).then(|| listed.join(", "))
        }
    }
}

/// Every database of an upstream fleet, read at most eight at once: the problems of the
/// first few that hold the promotion back, and how many do.
async fn fleet_problem(cx: &PrecheckInputs<'_>, up: &Upstream<'_>) -> Option<String> {
    const NAMED: usize = 3;
    let members = match crate::core::db::fleet::members(up.env).await {
        Ok(m) => m,
        Err(e) => return Some(format!("cannot list {}'s databases: {}", up.env.name, e.message)),
    };
    let mut reads = tokio::task::JoinSet::new();
    let mut queue = members.iter();
    let mut found: Vec<(usize, String)> = Vec::new();
    loop {
        while reads.len() < 8 {
            let Some(m) = queue.next() else { break };
            let (env, ledger, m) = (up.env.member(&m.url), up.ledger.clone(), m.clone());
            reads.spawn(async move { (m, read_ledger(&env, &ledger).await) });
        }
        let (m, read) = match reads.join_next().await {
            Some(Ok(done)) => done,
            Some(Err(e)) => {
                tracing::error!("a promotion read ended: {e}");
                continue;
            }
            None => break,
        };
        let at = format!("{} ({})", up.env.name, m.label);
        if let Some(p) = problem_on(cx, &at, read) {
            found.push((m.position, p));
        }
    }
    if found.is_empty() {
        return None;
    }
    found.sort_by_key(|(p, _)| *p);
    let more = match found.len().saturating_sub(NAMED) {
        0 => String::new(),
        n => format!("; and {n} more of its {} databases", members.len()),
    };
    let first: Vec<String> = found.into_iter().take(NAMED).map(|(_, p)| p).collect();
    Some(format!("{}{more}", first.join("; ")))
}

/// The promotion row of the pre-checks: pass, overridden with a reason (warn), or fail.
pub(super) async fn promotion(cx: &PrecheckInputs<'_>) -> Option<Check> {
    let up = cx.upstream.as_ref()?;
    let from = up.env.name.as_str();
    let problem = match &up.env.fleet {
        Some(_) => fleet_problem(cx, up).await,
        None => problem_on(cx, from, read_ledger(up.env, up.ledger).await),
    };
    let Some(problem) = problem else {
        let n = cx.promoted.len();
        let every = if up.env.fleet.is_some() { " (every database)" } else { "" };
        return Some(check(
            PROMOTION_CHECK,
            Outcome::Pass,
            format!("{n} migration(s) ran on {from}{every} with the same checksums"),
        ));
    };
    Some(match cx.promotion_override {
        Some(reason) if cx.env.promotion_override => {
            check(PROMOTION_CHECK, Outcome::Warn, format!("overridden ({reason}): {problem}"))
        }
        _ => check(PROMOTION_CHECK, Outcome::Fail, problem),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(version: &str, checksum: &str, direction: Direction, success: bool) -> LatestRow {
        LatestRow {
            id: 1,
            version: version.into(),
            name: "m".into(),
            checksum: checksum.into(),
            direction,
            success,
            failed_at_statement: None,
            applied_at: String::new(),
            run_id: None,
        }
    }

    #[test]
    fn each_kind_of_gap_is_named() {
        let planned: Vec<Promoted> = ["1", "2", "3", "4", "5"]
            .iter()
            .map(|v| Promoted {
                version: v.to_string(),
                label: format!("{v}_m"),
                checksum: "aa".into(),
            })
            .collect();
        let upstream = vec![
            row("1", "aa", Direction::Up, true),
            row("2", "bb", Direction::Up, true),
            row("3", "aa", Direction::Up, false),
            row("4", "aa", Direction::Down, true),
        ];
        let found: Vec<(String, Gap)> =
            gaps(&planned, &upstream).into_iter().map(|(p, g)| (p.version.clone(), g)).collect();
        assert_eq!(
            found,
            vec![
                ("2".into(), Gap::OtherChecksum { upstream: "bb".into() }),
                ("3".into(), Gap::Failed),
                ("4".into(), Gap::RolledBack),
                ("5".into(), Gap::Missing),
            ]
        );
        assert_eq!(Gap::Missing.describe("staging"), "not applied on staging");
    }
}
