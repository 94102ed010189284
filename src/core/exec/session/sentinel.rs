//! The lock-queue sentinel (`queue_limit`). While one of our statements waits for a lock,
//! sessions that want the same table queue behind it: an `ALTER TABLE` waiting for ACCESS
//! EXCLUSIVE behind a long reader stalls every later query on the table. The sentinel
//! looks, from the run's second connection, every few milliseconds: is our backend waiting
//! for a lock, and has anyone waited behind it (pg_blocking_pids names us) longer than the
//! limit? Then it cancels our statement, only if it still waits for a relation lock, so a
//! statement that got its lock meanwhile runs on; the migration's transaction rolls back,
//! the queue drains, and the run backs off and tries again as after a lock timeout. With
//! nobody behind us it keeps waiting, up to lock_timeout.

use std::sync::{Arc, Mutex};

use tokio_postgres::Client;

use crate::core::record::report::{Blocker, Event, EventSender, Queued};

/// Our backend waits for a heavyweight lock now (pg_stat_activity: no lock manager locks).
const WAITING: &str = "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'";

/// Sessions queued for the relation lock we wait for, that we block, with how long each has
/// waited (pg_locks.waitstart, PostgreSQL 14 on).
const QUEUED: &str = "\
    SELECT a.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''), \
           left(coalesce(a.query, ''), 300), \
           coalesce(extract(epoch FROM clock_timestamp() - l.waitstart) * 1000, 0)::float8 \
      FROM pg_locks mine \
      JOIN pg_locks l ON l.locktype = 'relation' AND l.database = mine.database \
                     AND l.relation = mine.relation AND NOT l.granted AND l.pid <> $1 \
      JOIN pg_stat_activity a ON a.pid = l.pid \
     WHERE mine.pid = $1 AND NOT mine.granted AND mine.locktype = 'relation' \
       AND $1 = ANY (pg_blocking_pids(l.pid)) \
     ORDER BY 5 DESC";

/// Cancels our statement only while it still waits for a relation lock.
const STEP_OUT: &str = "SELECT pg_cancel_backend($1) FROM pg_locks \
     WHERE pid = $1 AND NOT granted AND locktype = 'relation' LIMIT 1";

/// Why the sentinel cancelled a statement: who waited behind it, and who it waited for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trip {
    pub victims: Vec<Queued>,
    pub blockers: Vec<Blocker>,
}

/// The sentinel of one session: its limit, and the trip of the statement in flight.
#[derive(Debug, Clone)]
pub(crate) struct Sentinel {
    pub limit_ms: u64,
    pub trip: Arc<Mutex<Option<Trip>>>,
}

impl Sentinel {
    pub fn new(limit_ms: u64) -> Sentinel {
        Sentinel { limit_ms, trip: Arc::default() }
    }

    /// How often it looks while a statement runs.
    pub fn every_ms(&self) -> u64 {
        (self.limit_ms / 5).clamp(2, 20)
    }

    pub fn tripped(&self) -> Option<Trip> {
        self.trip.lock().ok().and_then(|t| t.clone())
    }

    pub fn take(&self) -> Option<Trip> {
        self.trip.lock().ok().and_then(|mut t| t.take())
    }

    /// One look at backend `pid`; true when it stepped out of the queue.
    pub async fn look(
        &self,
        client: &Client,
        pid: i32,
        blockers: &[Blocker],
        events: Option<(&EventSender, &str)>,
    ) -> bool {
        if self.tripped().is_some() {
            return false;
        }
        if !matches!(client.query_opt(WAITING, &[&pid]).await, Ok(Some(_))) {
            return false;
        }
        let Ok(rows) = client.query(QUEUED, &[&pid]).await else { return false };
        let limit = self.limit_ms as f64;
        if rows.first().is_none_or(|r| r.get::<_, f64>(4) < limit) {
            return false;
        }
        let victims: Vec<Queued> = rows
            .iter()
            .map(|r| Queued {
                pid: r.get(0),
                user: r.get(1),
                application_name: r.get(2),
                query: r.get(3),
                waited_ms: r.get(4),
            })
            .collect();
        let trip = Trip { victims, blockers: blockers.to_vec() };
        if let Ok(mut t) = self.trip.lock() {
            *t = Some(trip.clone());
        }
        let stepped = matches!(client.query_opt(STEP_OUT, &[&pid]).await, Ok(Some(_)));
        if !stepped {
            // Granted meanwhile: the statement runs on, nothing to report.
            if let Ok(mut t) = self.trip.lock() {
                *t = None;
            }
            return false;
        }
        tracing::warn!(
            pid,
            victims = trip.victims.len(),
            "queue_limit: stepped out of the lock queue"
        );
        if let Some((tx, version)) = events {
            let _ = tx.send(Event::QueueLimit {
                version: version.to_string(),
                limit_ms: self.limit_ms,
                victims: trip.victims,
                blockers: trip.blockers,
            });
        }
        true
    }
}
