//! A migration outside a transaction, statement by statement. Each statement PostgreSQL lets
//! run in a transaction commits together with the ledger's note that it ran, so a kill can
//! never leave the two apart. Only statements that refuse a transaction block (CONCURRENTLY,
//! VACUUM, ...) have a moment where they ran and the ledger does not know it yet; recovery
//! checks those against the catalog (see `recover`).

use std::time::Instant;

use tokio_postgres::error::SqlState;

use super::{Attempt, Change, Session};
use crate::core::error::{describe_pg, Error};
use crate::core::record::report::{Event, MigrationReport};

impl Session {
    pub(crate) async fn try_statementwise(
        &mut self,
        step: &Change,
        attempt: u32,
    ) -> std::result::Result<MigrationReport, Attempt> {
        let started = Instant::now();
        let mut report = Self::new_report(step, attempt);
        let insert = match self.insert_stmt().await {
            Ok(s) => s,
            Err(e) => return Err(Attempt::plain(e, report)),
        };
        let total = step.statements.len();
        // A retry whose statements all ran already (the last one completed unrecorded)
        // only has its success to record.
        let nothing_left = step.start_at >= total;
        let row = if nothing_left {
            self.ledger_row(step, Some(0), true, None)
        } else {
            self.ledger_row(step, None, false, Some(step.start_at as i32 + 1))
        };
        // The session setup travels with the ledger insert (one round trip): it only sets
        // timeouts, so it does no harm when the insert fails.
        let setup = if nothing_left {
            String::new()
        } else {
            format!("{} {}", self.reset, self.timeouts_sql(false))
        };
        let (inserted, set) = tokio::join!(
            self.ledger.insert(&self.client, &insert, &row),
            self.client.batch_execute(&setup)
        );
        let id = match inserted {
            Ok(id) => id,
            Err(e) => {
                return Err(Attempt::plain(
                    e.context("cannot record the migration in the ledger"),
                    report,
                ))
            }
        };
        if nothing_left {
            return Ok(report);
        }
        if let Err(e) = set {
            return Err(Attempt::plain(e.into(), report));
        }
        // A file that opens and commits its own transactions keeps them: wrapping its
        // statements would commit its transaction early.
        let own_transactions = step.statements.iter().any(|s| s.is_transaction_control());
        for i in step.start_at..total {
            let s = &step.statements[i];
            let atomic = !own_transactions && s.needs_no_transaction().is_none();
            let t = Instant::now();
            let concurrent = s.keywords.iter().any(|k| k == "CONCURRENTLY");
            let (res, blockers) = loop {
                let (res, blockers) = self.exec_once(&step.version, i, &s.text, atomic).await;
                let lock_timeout =
                    matches!(&res, Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE));
                // Retry the statement that timed out, not the migration: the ones before it
                // are done. A CONCURRENTLY build is not retried (see below).
                if lock_timeout && !concurrent && report.lock_retries < self.lock_retries {
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
                    if let Some(ms) = self.take_wait() {
                        let set = format!("SET lock_timeout = {ms}");
                        if let Err(e) = self.client.batch_execute(&set).await {
                            break (Err(e), blockers);
                        }
                        let r = self.exec_once(&step.version, i, &s.text, atomic).await;
                        let reset = format!("SET lock_timeout = {}", self.lock_timeout_ms);
                        let _ = self.client.batch_execute(&reset).await;
                        if matches!(&r.0, Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE))
                        {
                            continue;
                        }
                        break r;
                    }
                    continue;
                }
                break (res, blockers);
            };
            let elapsed = started.elapsed().as_millis() as i64;
            match res {
                Ok(rows) => {
                    let next = if i + 1 == total { None } else { Some(i as i32 + 2) };
                    let progress = self.ledger.progress_sql(id, next, next.is_none(), elapsed);
                    let recorded = if atomic {
                        // One round trip: if the update fails the COMMIT is never reached,
                        // and the statement rolls back with it.
                        let sql = format!("{progress}; COMMIT");
                        let r = self.client.batch_execute(&sql).await;
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
                    } else {
                        self.client.batch_execute(&progress).await.map_err(|e| {
                            Error::from(e).context(format_args!(
                                "{}: statement {} ran but the ledger could not record it; the ledger marks the migration failed at that statement",
                                step.origin,
                                i + 1
                            ))
                        })
                    };
                    if let Err(e) = recorded {
                        return Err(Attempt::plain(e, report));
                    }
                    let duration_ms = t.elapsed().as_millis() as u64;
                    self.statement_done(&mut report, &step.version, i, s.line, rows, duration_ms);
                }
                Err(e) => {
                    let msg = describe_pg(&e);
                    let _ = self
                        .ledger
                        .set_progress(
                            &self.client,
                            id,
                            Some(i as i32 + 1),
                            false,
                            elapsed,
                            Some(&msg),
                        )
                        .await;
                    let a = Self::statement_error(step, i, &e, blockers, report);
                    let (Attempt::LockTimeout(mut f) | Attempt::Failed(mut f)) = a;
                    // A failed CONCURRENTLY build leaves an INVALID index: retrying blindly
                    // would hide it, so stop and let the operator look.
                    if concurrent {
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
                    f.error.refusal =
                        Some(crate::core::error::Refusal::FailedMigration { version });
                    return Err(Attempt::Failed(f));
                }
            }
        }
        let _ = self.client.batch_execute("RESET lock_timeout; RESET statement_timeout").await;
        report.duration_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    /// One try of one statement; an atomic one opens the transaction its ledger update
    /// commits in, and a failed try rolls it back.
    async fn exec_once(
        &self,
        version: &str,
        index: usize,
        sql: &str,
        atomic: bool,
    ) -> (std::result::Result<u64, tokio_postgres::Error>, Vec<crate::core::record::report::Blocker>)
    {
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
