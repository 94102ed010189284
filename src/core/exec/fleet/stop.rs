//! Stopping a fleet run: no new database starts, and each running one is interrupted the
//! way a single run is (its statement cancelled, its transaction rolled back).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::core::exec::Interrupt;

#[derive(Default)]
pub struct FleetStop {
    requested: AtomicBool,
    running: Mutex<Vec<Arc<Interrupt>>>,
}

impl FleetStop {
    pub fn new() -> Arc<FleetStop> {
        Arc::new(FleetStop::default())
    }

    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Stops the fleet run. Returns how many running databases were told to stop.
    pub async fn stop(&self) -> usize {
        self.requested.store(true, Ordering::SeqCst);
        let running: Vec<Arc<Interrupt>> =
            self.running.lock().map(|r| r.clone()).unwrap_or_default();
        for i in &running {
            if let Err(e) = i.cancel().await {
                tracing::warn!("cancelling a fleet database's statement: {}", e.message);
            }
        }
        running.len()
    }

    /// A database's run starts: it is stopped with the fleet (at once, if the fleet was
    /// stopped while it was being started).
    pub(super) async fn attach(&self, i: &Arc<Interrupt>) {
        if let Ok(mut r) = self.running.lock() {
            r.push(i.clone());
        }
        if self.requested() {
            let _ = i.cancel().await;
        }
    }

    pub(super) fn detach(&self, i: &Arc<Interrupt>) {
        if let Ok(mut r) = self.running.lock() {
            r.retain(|x| !Arc::ptr_eq(x, i));
        }
    }
}
