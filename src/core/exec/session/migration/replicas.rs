//! `max_replica_lag`: between migrations and between a backfill's batches the run waits
//! while a standby lags more than the limit (telling who and how much), up to
//! `replica_lag_timeout`, then stops cleanly: nothing is left half done (a backfill's
//! checkpoint is committed), and rerunning apply carries on.

use std::time::{Duration, Instant};

use super::Session;
use crate::core::data::config::describe_duration;
use crate::core::db::replication::{over, standbys};
use crate::core::error::{Error, Result};
use crate::core::record::report::Event;

impl Session {
    pub(crate) async fn wait_for_replicas(&self, version: &str) -> Result<()> {
        let Some((limit, timeout)) = self.replica_lag else { return Ok(()) };
        let started = Instant::now();
        let mut told = None::<Instant>;
        loop {
            // A role that cannot read pg_stat_replication sees no lag: the pre-check warned.
            let all = standbys(&self.client).await.unwrap_or_default();
            let Some(s) = over(&all, limit.as_secs_f64()).cloned() else { return Ok(()) };
            let lag_s = s.lag_s.unwrap_or(0.0);
            if started.elapsed() >= timeout {
                return Err(Error::database(format!(
                    "standby {} still lags {lag_s:.1} s, more than max_replica_lag = {}, after waiting {} (replica_lag_timeout): stopped; apply again to carry on",
                    s.name,
                    describe_duration(limit),
                    describe_duration(timeout)
                )));
            }
            if told.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                told = Some(Instant::now());
                self.emit(Event::ReplicaLag {
                    version: version.to_string(),
                    standby: s.name.clone(),
                    lag_s,
                    limit_ms: limit.as_millis() as u64,
                    waited_ms: started.elapsed().as_millis() as u64,
                });
            }
            if self.interrupt.as_ref().is_some_and(|i| i.requested()) {
                return Err(Error::guard(
                    "cancelled by the operator while waiting for the standbys",
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
