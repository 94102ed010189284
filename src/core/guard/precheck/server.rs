//! The checks that ask the server: reachable, the ledger free, schema drift since the last
//! run, connections, sessions that would block the migrations, replication, TLS.

use tokio_postgres::Client;

use super::{check, Check, Outcome, PrecheckInputs, OLD_TRANSACTION_S};
use crate::core::data::config::Tier;
use crate::core::db::conflicts::{conflicting_sessions, Conflict};
use crate::core::error::Result;

pub(super) async fn connectivity(client: &Client) -> Result<Check> {
    let version: String = client.query_one("SHOW server_version", &[]).await?.get(0);
    Ok(check("connectivity", Outcome::Pass, format!("PostgreSQL {version}")))
}

pub(super) async fn ledger_lock(client: &Client, cx: &PrecheckInputs<'_>) -> Result<Check> {
    let holder = cx.ledger.holder(client).await?;
    Ok(match holder {
        Some(h) => check("ledger lock", Outcome::Fail, format!("held by {h}")),
        None => check("ledger lock", Outcome::Pass, "free"),
    })
}

/// The live schema against the snapshot the last run took.
pub(super) async fn schema_drift(client: &Client, cx: &PrecheckInputs<'_>) -> Result<Check> {
    Ok(match cx.ledger.last_snapshot(client).await? {
        None => check("schema drift", Outcome::Pass, "no snapshot yet"),
        Some((run_id, at, before)) => {
            let live = crate::core::db::schema::snapshot(client, cx.ledger.schema()).await?;
            let diff = crate::core::db::schema::unified_diff(&before, &live, "snapshot", "live");
            if diff.is_empty() {
                check(
                    "schema drift",
                    Outcome::Pass,
                    format!("matches the snapshot of run {} ({at})", run_id.unwrap_or_default()),
                )
            } else {
                let changed = diff
                    .lines()
                    .filter(|l| {
                        (l.starts_with('+') || l.starts_with('-'))
                            && !l.starts_with("+++")
                            && !l.starts_with("---")
                    })
                    .count();
                check(
                    "schema drift",
                    Outcome::Warn,
                    format!("{changed} line(s) changed outside sluice since {at}: see sluice diff"),
                )
            }
        }
    })
}

pub(super) async fn connections(client: &Client) -> Result<Check> {
    let row = client
        .query_one(
            "SELECT count(*)::int8, current_setting('max_connections')::int8,
                    count(*) FILTER (WHERE state = 'idle in transaction')::int8
             FROM pg_stat_activity WHERE backend_type = 'client backend'",
            &[],
        )
        .await?;
    let (used, max, idle_tx): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    let ratio = used as f64 / max.max(1) as f64;
    Ok(check(
        "connections",
        if ratio > 0.9 {
            Outcome::Fail
        } else if ratio > 0.75 {
            Outcome::Warn
        } else {
            Outcome::Pass
        },
        format!("{used} of {max} ({idle_tx} idle in transaction)"),
    ))
}

/// Sessions whose locks on the tables the migrations touch conflict with the locks the
/// migrations need: the change would queue behind them, and everything after it behind the
/// change. Idle in a transaction, or in one older than a minute: fail (they will not let go
/// on their own). Younger active ones: warn (they may finish within lock_timeout).
pub(super) async fn blocking_sessions(client: &Client, cx: &PrecheckInputs<'_>) -> Result<Check> {
    let conflicts = conflicting_sessions(client, &cx.touched).await?;
    if conflicts.is_empty() {
        return Ok(check(
            "blocking sessions",
            Outcome::Pass,
            format!("none on the {} table(s) the migrations touch", cx.touched.len()),
        ));
    }
    let stuck = |c: &Conflict| {
        c.state.starts_with("idle in transaction") || c.transaction_age_s > OLD_TRANSACTION_S
    };
    let outcome = if conflicts.iter().any(stuck) { Outcome::Fail } else { Outcome::Warn };
    let named: Vec<String> = conflicts
        .iter()
        .map(|c| {
            let via = if c.application_name.is_empty() {
                String::new()
            } else {
                format!(" via {}", c.application_name)
            };
            let holds = if c.granted { "holds" } else { "waits for" };
            format!(
                "pid {} ({}{via}, {}, transaction open {:.0} s) {holds} {} on {}, which conflicts with the {} the migrations need: {}",
                c.pid, c.user, c.state, c.transaction_age_s, c.mode, c.table, c.needed, c.query
            )
        })
        .collect();
    Ok(check("blocking sessions", outcome, named.join("; ")))
}

/// Standbys and their replay lag (a role that cannot read pg_stat_replication warns); with
/// `max_replica_lag`, a standby lagging more fails it.
pub(super) async fn replication(client: &Client, cx: &PrecheckInputs<'_>) -> Check {
    use crate::core::db::replication::{over, standbys};
    let limit = cx.env.max_replica_lag;
    let Ok(all) = standbys(client).await else {
        return check(
            "replication",
            Outcome::Warn,
            "pg_stat_replication not readable by this role",
        );
    };
    if all.is_empty() {
        return check("replication", Outcome::Pass, "no standbys");
    }
    let worst = all.iter().filter_map(|s| s.lag_s).fold(0.0, f64::max);
    let figure = format!("{} standby(s), replay lag {worst:.1} s", all.len());
    match limit {
        Some(l) => match over(&all, l.as_secs_f64()) {
            Some(s) => check(
                "replication",
                Outcome::Fail,
                format!(
                    "{} lags {:.1} s, more than max_replica_lag = {}",
                    s.name,
                    s.lag_s.unwrap_or(0.0),
                    crate::core::data::config::describe_duration(l)
                ),
            ),
            None => check(
                "replication",
                Outcome::Pass,
                format!("{figure} (limit {})", crate::core::data::config::describe_duration(l)),
            ),
        },
        None => {
            check("replication", if worst > 30.0 { Outcome::Warn } else { Outcome::Pass }, figure)
        }
    }
}

pub(super) async fn tls(client: &Client, cx: &PrecheckInputs<'_>) -> Result<Check> {
    let ssl: bool = client
        .query_one(
            "SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
            &[],
        )
        .await?
        .get(0);
    Ok(tls_outcome(ssl, cx.local_link, cx.env.tier, cx.env.require_tls))
}

/// The TLS check from what the server says of this connection and how it is reached.
fn tls_outcome(ssl: bool, link: Option<&str>, tier: Tier, require_tls: bool) -> Check {
    match (ssl, link, tier) {
        (true, _, _) => check("tls", Outcome::Pass, "in use"),
        (false, Some(link), _) => check("tls", Outcome::Pass, format!("{link}: no network to protect")),
        (false, None, Tier::Production) if !require_tls => check(
            "tls",
            Outcome::Warn,
            "not in use on a production connection over the network (require_tls = false)",
        ),
        (false, None, Tier::Production) => check(
            "tls",
            Outcome::Fail,
            "not in use on a production connection over the network: set sslmode = \"verify-full\" (or require_tls = false where something else encrypts the link)",
        ),
        (false, None, _) => check("tls", Outcome::Warn, "not in use"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_required_over_the_network_to_production_unless_waived() {
        let o = |ssl, link, tier, req| tls_outcome(ssl, link, tier, req).outcome;
        assert_eq!(o(false, None, Tier::Production, true), Outcome::Fail);
        assert_eq!(o(false, None, Tier::Production, false), Outcome::Warn);
        assert_eq!(o(false, Some("loopback"), Tier::Production, true), Outcome::Pass);
        assert_eq!(o(false, Some("local socket"), Tier::Production, true), Outcome::Pass);
        assert_eq!(o(true, None, Tier::Production, true), Outcome::Pass);
        assert_eq!(o(false, None, Tier::Testing, true), Outcome::Warn);
    }
}
