//! Pre-checks before a change: each a pass, warn or fail with the figure it saw.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

mod plan;
mod policy;
pub mod promotion;
mod server;

use crate::core::data::config::Environment;
use crate::core::data::plan::Status;
use crate::core::db::ledger::Ledger;
use crate::core::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub name: Cow<'static, str>,
    pub outcome: Outcome,
    /// What was seen: "142 of 200 connections", "pid 8812 (etl) idle in transaction 41 min".
    pub figure: String,
}

/// How many checks passed, warned and failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub warned: usize,
    pub failed: usize,
}

impl Tally {
    pub fn of(checks: &[Check]) -> Tally {
        let n = |o| checks.iter().filter(|c| c.outcome == o).count();
        Tally { passed: n(Outcome::Pass), warned: n(Outcome::Warn), failed: n(Outcome::Fail) }
    }
}

pub(crate) fn check(name: &'static str, outcome: Outcome, figure: impl Into<String>) -> Check {
    Check { name: Cow::Borrowed(name), outcome, figure: figure.into() }
}

pub struct PrecheckInputs<'a> {
    pub env: &'a Environment,
    pub ledger: &'a Ledger,
    pub status: &'a Status,
    /// The migrations this run will apply ("0007_orders_total_check"), `--to` applied.
    pub planned: Vec<String>,
    /// Tables the pending migrations touch (lower case, unqualified) and the strongest lock
    /// they need on each.
    pub touched: Vec<(String, crate::core::data::sql::LockMode)>,
    /// Whether a backup will be taken before the change; None for a dry run, which
    /// changes nothing and needs none.
    pub backup_planned: Option<bool>,
    pub backup_dir: Option<std::path::PathBuf>,
    /// Reason given to run outside the maintenance window.
    pub window_override: Option<&'a str>,
    pub allow_drift: bool,
    /// Connected over a Unix socket (TLS does not apply).
    /// "local socket" or "loopback": no network between sluice and the server.
    pub local_link: Option<&'static str>,
    /// `promote_from`'s environment, whose ledger must show `promoted` applied.
    pub upstream: Option<promotion::Upstream<'a>>,
    pub promoted: Vec<promotion::Promoted>,
    /// Reason given to apply what the promotion source has not run.
    pub promotion_override: Option<&'a str>,
}

/// The pre-check that an override of the maintenance window passes.
pub const WINDOW_CHECK: &str = "maintenance window";

/// The pre-check of `promote_from`.
pub const PROMOTION_CHECK: &str = "promotion";

/// Seconds an open transaction may be old before it counts as a blocker.
const OLD_TRANSACTION_S: f64 = 60.0;

pub async fn run(client: &Client, cx: &PrecheckInputs<'_>) -> Result<Vec<Check>> {
    // The server's checks only read, and none needs another's answer: asked at once, the
    // connection carries them back to back (each query's own round trips overlap the
    // others'), where one after another each waited for its prepare and its answer.
    let (connectivity, lock, promotion, drift, connections, blocking, replication, backup, tls) = tokio::join!(
        server::connectivity(client),
        server::ledger_lock(client, cx),
        promotion::promotion(cx),
        server::schema_drift(client, cx),
        server::connections(client),
        server::blocking_sessions(client, cx),
        server::replication(client, cx),
        policy::backup(client, cx),
        server::tls(client, cx),
    );
    let mut out = vec![connectivity?, lock?];
    out.extend([plan::failed(cx), plan::pending(cx), plan::file_drift(cx)]);
    out.extend(promotion);
    out.extend([drift?, connections?, blocking?, replication]);
    out.extend(backup?);
    out.extend(policy::window(cx));
    out.push(tls?);
    Ok(out)
}

/// (day of week, 0 = Monday; minute of the day) now, in UTC.
pub fn now_utc_day_minute() -> (u8, u16) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / 86_400;
    // 1970-01-01 was a Thursday (3 when Monday is 0).
    (((days + 3) % 7) as u8, ((secs % 86_400) / 60) as u16)
}
