//! Standbys and how far each lags in replaying the primary's WAL (pg_stat_replication's
//! replay_lag: the time between a commit here and its replay there).

use tokio_postgres::Client;

use crate::core::error::Result;

#[derive(Debug, Clone, PartialEq)]
pub struct Standby {
    /// Its application_name, or its address.
    pub name: String,
    /// None: caught up and idle (PostgreSQL stops showing a lag after a while).
    pub lag_s: Option<f64>,
}

pub async fn standbys(client: &Client) -> Result<Vec<Standby>> {
    let rows = client
        .query(
            "SELECT coalesce(nullif(application_name, ''), client_addr::text, 'local'), \
             extract(epoch FROM replay_lag)::float8 FROM pg_stat_replication ORDER BY 1",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| Standby { name: r.get(0), lag_s: r.get(1) }).collect())
}

/// The standby lagging most, if it lags more than `limit_s`.
pub fn over(standbys: &[Standby], limit_s: f64) -> Option<&Standby> {
    standbys
        .iter()
        .filter(|s| s.lag_s.is_some_and(|l| l > limit_s))
        .max_by(|a, b| a.lag_s.unwrap_or(0.0).total_cmp(&b.lag_s.unwrap_or(0.0)))
}
