//! Statements of a no-transaction migration that may run in a transaction, sent as one
//! query string (`batch`): each in its own BEGIN ... COMMIT with the ledger's note that it
//! ran, so each still commits with its note and a kill between two leaves them agreeing.
//! The first also writes the migration's ledger row, in the same transaction: until a
//! statement commits, the migration has not started.

use std::time::Instant;

use tokio_postgres::error::SqlState;

use super::batch::{Batch, Part};
use super::statementwise::{Batched, Failed};
use super::transactional::clone_error;
use super::{Attempt, Change, Session};
use crate::core::db::ledger::batched::ELAPSED_S;
use crate::core::record::report::MigrationReport;

impl Session {
    /// Runs statements `from..end` (all allowed in a transaction) in as few round trips
    /// as their lock timeouts allow.
    pub(super) async fn statementwise_batch(
        &mut self,
        step: &Change,
        mut from: usize,
        end: usize,
        mut id: Option<i64>,
        started: Instant,
        report: &mut MigrationReport,
    ) -> std::result::Result<Batched, Attempt> {
        let mut wait = None;
        loop {
            let offset = started.elapsed().as_millis() as i64;
            let b = self.noted_batch(step, from, end, id, offset, wait.take());
            let at = super::super::watch::At::Marked(from + 1);
            let (ran, blockers) = self.watched(&step.version, at, b.run(&self.client)).await;
            let Some(p) = ran.failed_part() else {
                self.report_statements(step, &b, &ran, from..end, report);
                let new = b.position(Part::Record).and_then(|r| ran.value(r, 1)?.parse().ok());
                return Ok(Batched::Through(
                    id.or(new).expect("the first statement's block wrote the row"),
                ));
            };
            let _ = self.client.batch_execute("ROLLBACK").await;
            if ran.unparsed_at.is_some() {
                return Ok(Batched::Unparsed(id));
            }
            let e = ran.error.as_ref().expect("failed_part implies an error");
            let Some(k) = b.owner_of(p) else {
                return Err(Attempt::plain(clone_error(e), report.clone()));
            };
            // Blocks before k committed, the first with the row when there was none.
            self.report_statements(step, &b, &ran, from..k, report);
            if k > from && id.is_none() {
                let first = b.position(Part::Record);
                id = first.and_then(|r| ran.value(r, 1)?.parse().ok());
            }
            let elapsed = started.elapsed().as_millis() as i64;
            if !matches!(b.parts()[p], Part::Run(_) | Part::Mark(_)) {
                return Err(self.unrecorded(step, id, k, elapsed, e, report.clone()).await);
            }
            let timed_out = e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE);
            if timed_out && report.lock_retries < self.lock_retries {
                self.retry_pause(step, report, blockers).await;
                // The operator may have chosen to wait longer for this one lock.
                (from, wait) = (k, self.take_wait());
                continue;
            }
            let failed = Failed { id, index: k, elapsed };
            let mut a = self.statement_failed(step, failed, e, blockers, report.clone()).await;
            if e.is_closed() && k + 1 < end {
                let (Attempt::LockTimeout(f) | Attempt::Failed(f)) = &mut a;
                f.error.message.push_str(
                    "; the connection was lost before the server's answers arrived, so statements after it may have run and committed with their notes: `sluice status` shows where the ledger stands",
                );
            }
            return Err(a);
        }
    }

    /// Session setup, then per statement: BEGIN, its marker, the statement, its note (the
    /// new row for the first when there is none), the tool's row after the last, COMMIT.
    fn noted_batch(
        &self,
        step: &Change,
        from: usize,
        end: usize,
        id: Option<i64>,
        offset_ms: i64,
        wait: Option<u64>,
    ) -> Batch {
        let mut b = Batch::default();
        let lock = wait.unwrap_or(self.lock_timeout_ms);
        b.push_control(&format!(
            "{} SET lock_timeout = {lock}; SET statement_timeout = {}",
            self.reset, self.statement_timeout_ms
        ));
        let (app, total) = (self.app_name(), step.statements.len());
        for k in from..end {
            b.owner(Some(k));
            b.push(Part::Control, "BEGIN");
            b.mark(&app, k);
            b.push(Part::Run(k), &step.statements[k].text);
            let next = if k + 1 == total { None } else { Some(k as i32 + 2) };
            if k == from && id.is_none() {
                let row = self.ledger_row(step, None, next.is_none(), next);
                b.push(Part::Record, &self.ledger.insert_sql(&row, offset_ms));
            } else {
                b.push(Part::Record, &self.ledger.note_sql(id, next, next.is_none(), offset_ms));
            }
            if next.is_none() {
                let ns = format!("({offset_ms} + round({ELAPSED_S} * 1000)::bigint) * 1000000");
                for st in self.tool_statements(step, &ns) {
                    b.push(Part::Control, &st);
                }
            }
            if k == from && wait.is_some() {
                b.push_control(&format!("SET lock_timeout = {}", self.lock_timeout_ms));
            }
            b.push(Part::Control, "COMMIT");
        }
        b.owner(None);
        if end == total {
            b.push_control("RESET lock_timeout; RESET statement_timeout");
        }
        b
    }

    /// Statement `k` ran but its note (or COMMIT) failed, so it rolled back with it.
    async fn unrecorded(
        &mut self,
        step: &Change,
        id: Option<i64>,
        k: usize,
        elapsed: i64,
        e: &tokio_postgres::Error,
        report: MigrationReport,
    ) -> Attempt {
        let error = clone_error(e).context(format_args!(
            "{}: statement {} could not be recorded in the ledger, so it was rolled back; the ledger marks the migration failed there",
            step.origin,
            k + 1
        ));
        self.record_failure(step, id, k, elapsed, &error.message).await;
        Attempt::plain(error, report)
    }

    /// The ledger marks the migration failed at statement `i`: row `id`'s note, or a new
    /// row when the failure came before any statement of it committed.
    pub(super) async fn record_failure(
        &mut self,
        step: &Change,
        id: Option<i64>,
        i: usize,
        elapsed: i64,
        msg: &str,
    ) {
        let at = Some(i as i32 + 1);
        let res = match id {
            Some(id) => {
                self.ledger.set_progress(&self.client, id, at, false, elapsed, Some(msg)).await
            }
            None => match self.insert_stmt().await {
                Ok(stmt) => {
                    let mut row = self.ledger_row(step, Some(elapsed), false, at);
                    row.error = Some(msg);
                    self.ledger.insert(&self.client, &stmt, &row).await.map(|_| ())
                }
                Err(e) => Err(e),
            },
        };
        if let Err(e) = res {
            tracing::warn!("cannot record the failure of {} in the ledger: {e}", step.version);
        }
    }
}
