//! Transactional migrations sent back to back: while the server runs one migration's string,
//! the strings of the next ones are already on the connection, so neither the round trip
//! nor sluice's own work between migrations (reading the answer, the report, the events)
//! leaves the server waiting.
//!
//! A string sent behind another must run only if that one committed. The server keeps that
//! rule by itself: a string that fails inside its transaction leaves the session in an
//! aborted transaction, which refuses every command of the strings behind it until sluice's
//! ROLLBACK; and for the failures that leave no transaction open (a COMMIT that fails, a
//! string the server's parser refuses) each string's ledger row sets a session setting
//! (`sluice.sent`, transactional like every setting: a rollback takes it back) that the
//! next string's first marker checks, failing at once when it is not there.

use std::collections::VecDeque;

use super::batch::{Batch, Sent};
use super::{Change, Session};

/// How many strings may wait behind the one running, and how many bytes of them: enough to
/// cover a round trip over a network, little enough that a failure wastes nothing.
const DEPTH: usize = 8;
const BYTES: usize = 1 << 20;

/// The session setting each string's ledger row leaves for the next string's guard.
pub(super) const SENT_SETTING: &str = "sluice.sent";

/// A migration's string on its way, its answers not read yet.
pub(super) struct SentString {
    version: String,
    direction: crate::core::data::plan::Direction,
    pub batch: Batch,
    pub sent: Sent,
}

/// The strings sent ahead, and the token of the last string sent.
#[derive(Default)]
pub(crate) struct Ahead {
    queue: VecDeque<SentString>,
    tokens: u64,
    /// Off when something must happen between migrations (the sentinel, replica waits).
    off: bool,
}

impl Ahead {
    pub(crate) fn new(off: bool) -> Ahead {
        Ahead { off, ..Default::default() }
    }
}

/// A column (to append to a marker) that fails unless string `token` committed. The cast
/// of a text that is not a number fails; the text depends on the setting, so the planner
/// cannot fold it into a constant and fail early.
pub(super) fn guard_sql(token: u64) -> String {
    format!(
        ", (CASE WHEN current_setting('{SENT_SETTING}', true) = '{token}' THEN '0' \
         ELSE 'sluice: the migration sent before this one did not commit (' || \
         coalesce(current_setting('{SENT_SETTING}', true), 'unset') || ')' END)::int"
    )
}

impl Session {
    pub(super) fn next_token(&mut self) -> u64 {
        self.ahead.tokens += 1;
        self.ahead.tokens
    }

    /// The string already sent for `step`, if it is the first of those ahead.
    pub(super) fn take_ahead(&mut self, step: &Change) -> Option<SentString> {
        let first = self.ahead.queue.front()?;
        if first.version == step.version && first.direction == step.direction {
            return self.ahead.queue.pop_front();
        }
        None
    }

    /// Whether `step`'s string is on its way already (so it runs, or fails, whatever the
    /// run decides now).
    pub(crate) fn has_sent(&self, step: &Change) -> bool {
        self.ahead.queue.iter().any(|a| a.version == step.version && a.direction == step.direction)
    }

    /// Sends the strings of the migrations in `next` that can go ahead, in order, up to
    /// the pipeline's depth.
    pub(super) async fn send_ahead(&mut self, next: &[Change]) {
        if self.ahead.off {
            return;
        }
        let skip = self.ahead.queue.len();
        let mut bytes: usize = self.ahead.queue.iter().map(|a| a.batch.sql.len()).sum();
        for step in next.iter().skip(skip) {
            if self.ahead.queue.len() >= DEPTH || !self.can_go_ahead(step) {
                return;
            }
            let guard = self.ahead.tokens;
            let token = self.next_token();
            let prepared = self.prepared.clone();
            let batch = self.transactional_batch(step, Some(guard), token);
            bytes += batch.sql.len();
            if bytes > BYTES && !self.ahead.queue.is_empty() {
                // Not sent: as if it had not been built.
                self.ahead.tokens -= 1;
                self.prepared = prepared;
                return;
            }
            let sent = batch.send(&self.client).await;
            self.ahead.queue.push_back(SentString {
                version: step.version.clone(),
                direction: step.direction,
                batch,
                sent,
            });
        }
    }

    /// A transactional migration of SQL statements whose tool table is known: nothing has
    /// to happen on the connection before its string.
    fn can_go_ahead(&self, step: &Change) -> bool {
        step.transactional
            && step.code.is_none()
            && !step.statements.is_empty()
            && step.tool.as_ref().is_none_or(|t| self.tool_tables.contains_key(&t.table))
    }

    /// After a failure: reads the answers of the strings sent behind it (each refused, so
    /// nothing of them ran) and forgets them.
    pub(super) async fn discard_ahead(&mut self) {
        while let Some(a) = self.ahead.queue.pop_front() {
            let ran = a.batch.read(a.sent).await;
            if ran.error.is_none() {
                // Cannot happen (see the module's comment); the ledger would still say it.
                tracing::error!("migration {} ran after the one before it failed", a.version);
            }
        }
    }
}
