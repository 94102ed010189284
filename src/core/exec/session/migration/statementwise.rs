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

/// Where a statement failed: the ledger row (none yet when the first statement of the
/// migration's first batch failed: its row rolled back with it), the statement, how long
/// the migration ran.
pub(super) struct Failed {
    pub id: Option<i64>,
    pub index: usize,
    pub elapsed: i64,
}

/// How a batch of statements ended.
pub(super) enum Batched {
    /// Every statement of it committed with its note; the ledger row's id.
    Through(i64),
    /// The server's parser refused the string and nothing ran: the statements go one by
    /// one instead, so the ones before the bad one run as they would have. The row's id if
    /// an earlier batch committed it.
    Unparsed(Option<i64>),
}

impl Session {
    pub(crate) async fn try_statementwise(
        &mut self,
        step: &Change,
        attempt: u32,
    ) -> std::result::Result<MigrationReport, Attempt> {
        let started = Instant::now();
        if super::prepared::may_deallocate(&step.statements) {
            self.prepared.forget();
        }
        let mut report = Self::new_report(step, attempt);
        let total = step.statements.len();
        if step.start_at >= total {
            // A retry whose statements all ran: only its success to record.
            self.open_statementwise(step, step.start_at, &mut report).await?;
            return Ok(report);
        }
        // A file that opens and commits its own transactions keeps them: wrapping its
        // statements would commit its transaction early.
        let own_transactions = step.statements.iter().any(|s| s.is_transaction_control());
        // A batched backfill commits batch by batch: never inside a statement's transaction.
        let atomic = |k: usize| {
            !own_transactions
                && step.statements[k].needs_no_transaction().is_none()
                && super::backfill::spec(step, k).is_none()
        };
        let (mut id, mut i, mut timeouts_reset) = (None, step.start_at, false);
        while i < total {
            if atomic(i) {
                // The statements up to the next that refuses a transaction: one round trip.
                let end = (i..total).find(|&k| !atomic(k)).unwrap_or(total);
                match self.statementwise_batch(step, i, end, id, started, &mut report).await? {
                    Batched::Through(row) => {
                        (id, i, timeouts_reset) = (Some(row), end, end == total);
                        continue;
                    }
                    Batched::Unparsed(row) => id = row,
                }
                let row = self.row_at(step, id, i, &mut report).await?;
                for k in i..end {
                    self.one_statement(step, row, k, true, started, &mut report).await?;
                }
                (id, i) = (Some(row), end);
            } else {
                let row = self.row_at(step, id, i, &mut report).await?;
                self.one_statement(step, row, i, false, started, &mut report).await?;
                (id, i) = (Some(row), i + 1);
            }
        }
        if !timeouts_reset {
            let _ = self.client.batch_execute("RESET lock_timeout; RESET statement_timeout").await;
        }
        report.duration_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    /// The migration's ledger row: `id`, or one written now (committed before statement
    /// `at` runs, which may not be undone with it).
    async fn row_at(
        &mut self,
        step: &Change,
        id: Option<i64>,
        at: usize,
        report: &mut MigrationReport,
    ) -> std::result::Result<i64, Attempt> {
        if let Some(id) = id {
            return Ok(id);
        }
        let row = self.open_statementwise(step, at, report).await?;
        Ok(row.expect("statements are left to run"))
    }

    /// Statement `i` alone: its own round trip, then its note in the ledger.
    async fn one_statement(
        &mut self,
        step: &Change,
        id: i64,
        i: usize,
        atomic: bool,
        started: Instant,
        report: &mut MigrationReport,
    ) -> std::result::Result<(), Attempt> {
        let s = &step.statements[i];
        let t = Instant::now();
        let (res, blockers) = match super::backfill::spec(step, i) {
            Some(spec) => match self.backfill(step, i, spec, report).await {
                Ok(rows) => (Ok(rows), Vec::new()),
                Err(super::backfill::Stop::Pg(e)) => (Err(e), Vec::new()),
                Err(super::backfill::Stop::Other(e)) => {
                    let elapsed = started.elapsed().as_millis() as i64;
                    let f = super::ChangeFailure {
                        error: e.clone(),
                        statement: Some(i),
                        line: Some(s.line),
                        blockers: Vec::new(),
                        report: report.clone(),
                    };
                    let at = Failed { id: Some(id), index: i, elapsed };
                    return Err(self.settle_failure(step, at, f, &e.message).await);
                }
            },
            None => self.with_lock_retries(step, i, atomic, report).await,
        };
        let elapsed = started.elapsed().as_millis() as i64;
        match res {
            Ok(rows) => {
                if let Err(e) = self.record_statement(step, id, i, atomic, elapsed).await {
                    return Err(Attempt::plain(e, report.clone()));
                }
                let duration_ms = t.elapsed().as_millis() as u64;
                self.statement_done(report, &step.version, i, s.line, rows, duration_ms);
                Ok(())
            }
            Err(e) => {
                let failed = Failed { id: Some(id), index: i, elapsed };
                Err(self.statement_failed(step, failed, &e, blockers, report.clone()).await)
            }
        }
    }

    /// Writes the migration's ledger row (with the session setup in the same round trip:
    /// it only sets timeouts, so it does no harm when the insert fails). None: a retry
    /// whose statements all ran already (the last one completed unrecorded), which only
    /// has its success to record.
    async fn open_statementwise(
        &mut self,
        step: &Change,
        at: usize,
        report: &mut MigrationReport,
    ) -> std::result::Result<Option<i64>, Attempt> {
        let insert = match self.insert_stmt().await {
            Ok(s) => s,
            Err(e) => return Err(Attempt::plain(e, report.clone())),
        };
        let nothing_left = at >= step.statements.len();
        let row = if nothing_left {
            self.ledger_row(step, Some(0), true, None)
        } else {
            self.ledger_row(step, None, false, Some(at as i32 + 1))
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
            for st in self.tool_statements(step, "0") {
                self.client
                    .batch_execute(&st)
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
            self.retry_pause(step, report, blockers.clone()).await;
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

    /// A statement's lock timeout, to be retried: counted, told, and waited out (the backoff,
    /// or until the operator says retry now).
    pub(super) async fn retry_pause(
        &self,
        step: &Change,
        report: &mut MigrationReport,
        blockers: Vec<Blocker>,
    ) {
        report.lock_retries += 1;
        let wait = self.backoff(report.lock_retries - 1);
        self.emit(Event::LockTimeout {
            version: step.version.clone(),
            attempt: report.lock_retries,
            retries: self.lock_retries,
            retry_in_ms: wait.as_millis() as u64,
            blockers,
        });
        self.pause(wait).await;
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
            let ns = (elapsed.max(0) * 1_000_000).to_string();
            let tool: String =
                self.tool_statements(step, &ns).iter().map(|t| format!("{t}; ")).collect();
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
    pub(super) async fn statement_failed(
        &mut self,
        step: &Change,
        at: Failed,
        e: &tokio_postgres::Error,
        blockers: Vec<Blocker>,
        report: MigrationReport,
    ) -> Attempt {
        let msg = describe_pg(e);
        let a = self.statement_error(step, at.index, e, blockers, report);
        let (Attempt::LockTimeout(f) | Attempt::Failed(f)) = a;
        self.settle_failure(step, at, f, &msg).await
    }

    /// Records in the ledger that statement `at` failed (`msg`), and says how to settle it.
    pub(super) async fn settle_failure(
        &mut self,
        step: &Change,
        at: Failed,
        mut f: super::ChangeFailure,
        msg: &str,
    ) -> Attempt {
        let i = at.index;
        self.record_failure(step, at.id, i, at.elapsed, msg).await;
        // A failed CONCURRENTLY build leaves an INVALID index: retrying blindly would hide
        // it, so stop and let the operator look.
        if step.statements[i].keywords.iter().any(|k| k == "CONCURRENTLY") {
            f.error.message.push_str(
                "; a CONCURRENTLY statement that fails may leave an INVALID index behind: check pg_index.indisvalid before retrying",
            );
        }
        let how = if super::backfill::spec(step, i).is_some() {
            "fix the cause, then retry it (the backfill resumes after its last batch)"
        } else {
            "fix the cause, then retry it, or mark it applied or rolled back"
        };
        f.error.message.push_str(&format!(
            "; the ledger marks {} failed at statement {}: {how}",
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
