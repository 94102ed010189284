//! The promotion gate: an environment with `promote_from` runs only what that environment
//! already ran, with the same checksums, read from its own ledger over its own connection.

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

/// The upstream's ledger, read with its own settings; an error names the environment.
async fn read_upstream(up: &Upstream<'_>) -> Result<Vec<LatestRow>> {
    let target = Target::resolve(up.env)?;
    let client = target.connect("sluice promotion check").await?;
    up.ledger.latest(&client).await
}

/// The promotion row of the pre-checks: pass, overridden with a reason (warn), or fail.
pub(super) async fn promotion(cx: &PrecheckInputs<'_>) -> Option<Check> {
    let up = cx.upstream.as_ref()?;
    let from = up.env.name.as_str();
    let problem = match read_upstream(up).await {
        Err(e) => format!(
            "cannot read {from}'s ledger, so nothing is known to have run there: {}",
            e.message
        ),
        Ok(rows) => {
            let gaps = gaps(&cx.promoted, &rows);
            if gaps.is_empty() {
                let n = cx.promoted.len();
                return Some(check(
                    PROMOTION_CHECK,
                    Outcome::Pass,
                    format!("{n} migration(s) ran on {from} with the same checksums"),
                ));
            }
            let listed: Vec<String> =
                gaps.iter().map(|(p, g)| format!("{} {}", p.label, g.describe(from))).collect();
            listed.join(", ")
        }
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
