//! A migration outside a transaction, statement by statement. Each statement PostgreSQL lets
//! run in a transaction commits together with the ledger's note that it ran, so a kill can
//! never leave the two apart. Only statements that refuse a transaction block (CONCURRENTLY,
//! VACUUM, ...) have a moment where they ran and the ledger does not know it yet; recovery
//! checks those against the catalog (see `recover`).

use std::time::Instant;

use tokio_postgres::error::SqlState;

use super::{Attempt, Change, Session};
use crate::core::error::{describe_pg, Error, Refusal, Result};
use crate::core::record::report::{Blocker, Event, MigrationReport};

/// Where a statement failed: the ledger row, the statement, how long the migration ran.
struct Failed {
    id: i64,
    index: usize,
    elapsed: i64,
}

impl Session {
    pub(crate) async fn try_statementwise(
        &mut self,
        step: &Change,
        attempt: u32,
    ) -> std::result::Result<MigrationReport, Attempt> {
        let started = Instant::now();
        let mut report = Self::new_report(step, attempt);
        if let Err(e) = self.prepare_tool_table(step).await {
            return Err(Attempt::plain(e, report));
        }
        let Some(id) = self.open_statementwise(step, &mut report).await? else {
            return Ok(report);
        };
        // A file that opens and commits its own transactions keeps them: wrapping its
        // statements would commit its transaction early.
        let own_transactions = step.statements.iter().any(|s| s.is_transaction_control());
        let total = step.statements.len();
        for i in step.start_at..total {
            let s = &step.statements[i];
            let atomic = !own_transactions && s.needs_no_transaction().is_none();
            let t = Instant::now();
            let (res, blockers) = self.with_lock_retries(step, i, atomic, &mut report).await;
            let elapsed = started.elapsed().as_millis() as i64;
            match res {
                Ok(rows) => {
                    if let Err(e) = self.record_statement(step, id, i, atomic, elapsed).await {
                        return Err(Attempt::plain(e, report));
                    }
                    let duration_ms = t.elapsed().as_millis() as u64;
                    self.statement_done(&mut report, &step.version, i, s.line, rows, duration_ms);
                }
                Err(e) => {
                    let failed = Failed { id, index: i, elapsed };
                    return Err(self.statement_failed(step, failed, &e, blockers, report).await);
                }
            }
        }
        let _ = self.client.batch_execute("RESET lock_timeout; RESET statement_timeout").await;
        report.duration_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    /// Writes the migration's ledger row (with the session setup in the same round trip:
    /// it only sets timeouts, so it does no harm when the insert fails). None: a retry
    /// whose statements all ran already (the last one completed unrecorded), which only
    /// has its success to record.
    async fn open_statementwise(
        &mut self,
        step: &Change,
        report: &mut MigrationReport,
    ) -> std::result::Result<Option<i64>, Attempt> {
        let insert = match self.insert_stmt().await {
            Ok(s) => s,
            Err(e) => return Err(Attempt::plain(e, report.clone())),
        };
        let nothing_left = step.start_at >= step.statements.len();
        let row = if nothing_left {
            self.ledger_row(step, Some(0), true, None)
        } else {
            self.ledger_row(step, None, false, Some(step.start_at as i32 + 1))
        };
        let setup = if nothing_left {
            String::new()
        } else {
            format!("{} {}", self.reset, self.timeouts_sql(false))
        };
        let (inserted, set) = tokio::join!(
            self.ledger.insert(&self.client, &insert, &row),
            self.client.batch_execute(&setup)
        );
        let id = inserted.map_err(|e| {
            Attempt::plain(e.context("cannot record the migration in the ledger"), report.clone())
        })?;
        if nothing_left {
            let tool = self.tool_sql(step, 0);
            if !tool.is_empty() {
                self.client
                    .batch_execute(&tool)
                    .await
                    .map_err(|e| Attempt::plain(Error::from(e), report.clone()))?;
            }
            return Ok(None);
        }
        set.map_err(|e| Attempt::plain(e.into(), report.clone()))?;
        Ok(Some(id))
    }

    /// Runs statement `i`, retrying it (not the migration: the ones before it are done)
    /// after a lock timeout, up to the environment's retries. A CONCURRENTLY build is not
    /// retried: a failed one leaves an INVALID index the operator must look at.
    async fn with_lock_retries(
        &mut self,
        step: &Change,
        i: usize,
        atomic: bool,
        report: &mut MigrationReport,
    ) -> (std::result::Result<u64, tokio_postgres::Error>, Vec<Blocker>) {
        let s = &step.statements[i];
        let concurrent = s.keywords.iter().any(|k| k == "CONCURRENTLY");
        let timed_out = |r: &std::result::Result<u64, tokio_postgres::Error>| matches!(r, Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE));
        loop {
            let (res, blockers) = self.exec_once(&step.version, i, &s.text, atomic).await;
            if !timed_out(&res) || concurrent || report.lock_retries >= self.lock_retries {
                return (res, blockers);
            }
            report.lock_retries += 1;
            let wait = self.backoff(report.lock_retries - 1);
            self.emit(Event::LockTimeout {
                version: step.version.clone(),
                attempt: report.lock_retries,
                retries: self.lock_retries,
                retry_in_ms: wait.as_millis() as u64,
                blockers: blockers.clone(),
            });
            self.pause(wait).await;
            // The operator may have chosen to wait longer for this one lock.
            let Some(ms) = self.take_wait() else { continue };
            if let Err(e) = self.client.batch_execute(&format!("SET lock_timeout = {ms}")).await {
                return (Err(e), blockers);
            }
            let r = self.exec_once(&step.version, i, &s.text, atomic).await;
            let reset = format!("SET lock_timeout = {}", self.lock_timeout_ms);
            let _ = self.client.batch_execute(&reset).await;
            if !timed_out(&r.0) {
                return r;
            }
        }
    }

    /// Notes in the ledger that statement `i` ran. An atomic statement commits with the
    /// note in one round trip: if the update fails the COMMIT is never reached, and the
    /// statement rolls back with it.
    async fn record_statement(
        &self,
        step: &Change,
        id: i64,
        i: usize,
        atomic: bool,
        elapsed: i64,
    ) -> Result<()> {
        let next = if i + 1 == step.statements.len() { None } else { Some(i as i32 + 2) };
        let mut progress = self.ledger.progress_sql(id, next, next.is_none(), elapsed);
        if next.is_none() {
            // The last statement: the tool's own history row goes with the ledger's success.
            let tool = self.tool_sql(step, elapsed.max(0) as u64);
            progress = format!("{tool}{progress}");
        }
        if !atomic {
            return self.client.batch_execute(&progress).await.map_err(|e| {
                Error::from(e).context(format_args!(
                    "{}: statement {} ran but the ledger could not record it; the ledger marks the migration failed at that statement",
                    step.origin,
                    i + 1
                ))
            });
        }
        let r = self.client.batch_execute(&format!("{progress}; COMMIT")).await;
        if r.is_err() {
            let _ = self.client.batch_execute("ROLLBACK").await;
        }
        r.map_err(|e| {
            Error::from(e).context(format_args!(
                "{}: statement {} could not be recorded in the ledger, so it was rolled back; the ledger marks the migration failed there",
                step.origin,
                i + 1
            ))
        })
    }

    /// A statement failed: the ledger marks the migration failed there, and the error says
    /// how to settle it.
    async fn statement_failed(
        &self,
        step: &Change,
        at: Failed,
        e: &tokio_postgres::Error,
        blockers: Vec<Blocker>,
        report: MigrationReport,
    ) -> Attempt {
        let (id, i) = (at.id, at.index);
        let msg = describe_pg(e);
        let _ = self
            .ledger
            .set_progress(&self.client, id, Some(i as i32 + 1), false, at.elapsed, Some(&msg))
            .await;
        let a = Self::statement_error(step, i, e, blockers, report);
        let (Attempt::LockTimeout(mut f) | Attempt::Failed(mut f)) = a;
        // A failed CONCURRENTLY build leaves an INVALID index: retrying blindly would hide
        // it, so stop and let the operator look.
        if step.statements[i].keywords.iter().any(|k| k == "CONCURRENTLY") {
            f.error.message.push_str(
                "; a CONCURRENTLY statement that fails may leave an INVALID index behind: check pg_index.indisvalid before retrying",
            );
        }
        f.error.message.push_str(&format!(
            "; the ledger marks {} failed at statement {}: fix the cause, then retry it, or mark it applied or rolled back",
            step.version,
            i + 1,
        ));
        let version = step.version.clone();
        f.error.refusal = Some(Refusal::FailedMigration { version });
        Attempt::Failed(f)
    }

    /// One try of one statement; an atomic one opens the transaction its ledger update
    /// commits in, and a failed try rolls it back.
    async fn exec_once(
        &self,
        version: &str,
        index: usize,
        sql: &str,
        atomic: bool,
    ) -> (std::result::Result<u64, tokio_postgres::Error>, Vec<Blocker>) {
        // BEGIN travels in the statement's own query string: one round trip instead of two,
        // and the server runs nothing after a BEGIN that failed. A BEGIN in a query string
        // turns its implicit transaction into a block that stays open for the COMMIT.
        let begun;
        let sql = if atomic {
            begun = format!("BEGIN;\n{sql}");
            begun.as_str()
        } else {
            sql
        };
        let (res, blockers) = self.exec_watched(version, index, sql).await;
        if atomic && res.is_err() {
            let _ = self.client.batch_execute("ROLLBACK").await;
        }
        (res, blockers)
    }
}
