//! How a caller steers a run: the channel its events go to, and an interrupt that cancels
//! the statement in flight (pg_cancel_backend's protocol-level twin) and stops the run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio_postgres::CancelToken;

use super::report::EventSender;
use crate::core::connect::Target;
use crate::core::error::Result;

#[derive(Default)]
pub struct Interrupt {
    requested: AtomicBool,
    session: Mutex<Option<(CancelToken, Target)>>,
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

/// Events and interrupt for one engine call; `Control::default()` wants neither.
#[derive(Default, Clone)]
pub struct Control {
    pub events: Option<EventSender>,
    pub interrupt: Option<Arc<Interrupt>>,
}

impl Control {
    pub fn events(tx: EventSender) -> Control {
        Control { events: Some(tx), interrupt: None }
    }
}
