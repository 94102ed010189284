//! The settings a migration's transaction runs under: its timeouts, and the session's check
//! that sluice is still connected, as the strings of `batch` carry them.

use super::Session;

impl Session {
    /// The transaction's timeouts as `set_config` calls to append to a marker; with the
    /// session's connection check (PostgreSQL 14 on), which a rollback takes back, and
    /// each migration sets again after its RESET ALL.
    pub(super) fn settings_sql(&self) -> String {
        let lock = self.take_wait().unwrap_or(self.lock_timeout_ms);
        format!(
            ", set_config('lock_timeout', '{lock}', true), set_config('statement_timeout', '{}', true){}",
            self.statement_timeout_ms,
            self.check_sql()
        )
    }

    /// The session's connection check as a `set_config` to append to a marker, or nothing
    /// before PostgreSQL 14.
    pub(super) fn check_sql(&self) -> &'static str {
        if self.checks_connection {
            ", set_config('client_connection_check_interval', '2000', false)"
        } else {
            ""
        }
    }

    pub(super) fn timeouts_sql(&self, local: bool) -> String {
        let scope = if local { "SET LOCAL" } else { "SET" };
        format!(
            "{scope} lock_timeout = {}; {scope} statement_timeout = {}",
            self.take_wait().unwrap_or(self.lock_timeout_ms),
            self.statement_timeout_ms
        )
    }

    /// The longer lock wait the operator chose after a lock timeout, once.
    pub(super) fn take_wait(&self) -> Option<u64> {
        self.interrupt.as_ref().and_then(|i| i.take_wait())
    }
}
