//! How a caller steers a run: the channel its events go to, and an interrupt that cancels
//! the statement in flight (pg_cancel_backend's protocol-level twin) and stops the run.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_postgres::CancelToken;

use crate::core::db::connect::Target;
use crate::core::error::Result;
use crate::core::record::report::EventSender;

#[derive(Default)]
pub struct Interrupt {
    requested: AtomicBool,
    session: Mutex<Option<(CancelToken, Target)>>,
    /// Blocking sessions the operator terminated, as the run's record says them.
    terminated: Mutex<Vec<String>>,
    /// The operator's answer to a lock timeout: the next try waits this long for its lock.
    wait_ms: AtomicU64,
    /// Ends the pause before the next try at once.
    retry: tokio::sync::Notify,
}

impl Interrupt {
    pub fn new() -> Arc<Interrupt> {
        Arc::new(Interrupt::default())
    }

    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    pub(crate) fn attach(&self, token: CancelToken, target: Target) {
        if let Ok(mut s) = self.session.lock() {
            *s = Some((token, target));
        }
    }

    /// Stops the run: no further statement starts, and the one running is cancelled.
    pub async fn cancel(&self) -> Result<()> {
        self.requested.store(true, Ordering::SeqCst);
        let session = self.session.lock().ok().and_then(|s| s.clone());
        if let Some((token, target)) = session {
            target.cancel(&token).await?;
        }
        Ok(())
    }
}

impl Interrupt {
    /// Terminates a session that blocks the run (the operator asked, twice), from its own
    /// connection; the run records it. Refuses our own backend and anything not blocking.
    pub async fn terminate_blocker(&self, pid: i32) -> Result<String> {
        let target = self.session.lock().ok().and_then(|s| s.as_ref().map(|(_, t)| t.clone()));
        let Some(target) = target else {
            return Err(crate::core::error::Error::input("no run is connected"));
        };
        let client = target.connect("sluice/terminate").await?;
        let row = client
            .query_opt(
                "SELECT usename::text, coalesce(application_name, ''), coalesce(state, ''),                  left(coalesce(query, ''), 120), pg_terminate_backend(pid)                  FROM pg_stat_activity WHERE pid = $1 AND pid <> pg_backend_pid()                  AND backend_type = 'client backend'",
                &[&pid],
            )
            .await?;
        let Some(row) = row else {
            return Err(crate::core::error::Error::input(format!(
                "pid {pid} is not a client session on this server (gone already?)"
            )));
        };
        let (user, app, state, query): (Option<String>, String, String, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        let done: bool = row.get(4);
        if !done {
            return Err(crate::core::error::Error::database(format!(
                "pg_terminate_backend({pid}) refused: the role may lack the privilege"
            )));
        }
        let what = format!(
            "pid {pid} ({}, {app}, {state}) at {}: {query}",
            user.unwrap_or_default(),
            crate::core::host::identity::utc_timestamp()
        );
        if let Ok(mut t) = self.terminated.lock() {
            t.push(what.clone());
        }
        tracing::warn!("terminated blocker {what}");
        Ok(what)
    }

    /// After a lock timeout: try again now instead of after the backoff.
    pub fn retry_now(&self) {
        self.retry.notify_one();
    }

    /// After a lock timeout: try again now, waiting up to `ms` for the lock this once
    /// (sessions that want the table queue behind us meanwhile; the console shows them).
    pub fn wait_longer(&self, ms: u64) {
        self.wait_ms.store(ms, Ordering::SeqCst);
        self.retry.notify_one();
    }

    pub(crate) fn take_wait(&self) -> Option<u64> {
        Some(self.wait_ms.swap(0, Ordering::SeqCst)).filter(|ms| *ms > 0)
    }

    /// The backoff before a retry, cut short by `retry_now` or `wait_longer`.
    pub(crate) async fn pause(&self, d: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = self.retry.notified() => {}
        }
    }

    pub fn terminated(&self) -> Vec<String> {
        self.terminated.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

/// Events and interrupt for one engine call; `Control::default()` wants neither.
#[derive(Default, Clone)]
pub struct Control {
    pub events: Option<EventSender>,
    pub interrupt: Option<Arc<Interrupt>>,
    /// The fleet run this database's run is part of, recorded with it.
    pub fleet: Option<FleetRun>,
}

/// A database's run inside a fleet run: the fleet run's id, and the second approver's
/// approval the fleet redeemed once for all its databases (a code is good for one run, and
/// the fleet run is that run).
#[derive(Debug, Clone)]
pub struct FleetRun {
    pub id: String,
    pub(crate) approval: Option<crate::core::guard::approval::Approval>,
}

impl Control {
    pub fn events(tx: EventSender) -> Control {
        Control { events: Some(tx), ..Control::default() }
    }
}
