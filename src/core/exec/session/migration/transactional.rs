//! A migration in one transaction, sent as one query string (`batch`): BEGIN, each
//! statement behind its marker, the tool's history row, RESET ALL, the ledger's row and
//! COMMIT. The migration and its row commit together or not at all. The strings of the
//! migrations after it may already be on their way (`ahead`).

use std::time::Instant;

use super::ahead::{guard_sql, SENT_SETTING};
use super::batch::{Batch, Part, Ran};
use super::prepared::{
    first_execute_sql, mark_execute_sql, may_deallocate, prepare_first_sql, prepare_mark_sql,
};
use super::{Attempt, Change, Session};
use crate::core::db::ledger::batched::ELAPSED_S;
use crate::core::error::Error;
use crate::core::record::report::MigrationReport;
use tokio_postgres::error::SqlState;

impl Session {
    pub(super) async fn try_transactional(
        &mut self,
        step: &Change,
        attempt: u32,
        next: &[Change],
    ) -> std::result::Result<MigrationReport, Attempt> {
        loop {
            let started = Instant::now();
            let report = Self::new_report(step, attempt);
            let (batch, sent) = match self.take_ahead(step) {
                Some(ahead) => (ahead.batch, ahead.sent),
                None => {
                    let token = self.next_token();
                    let batch = self.transactional_batch(step, None, token);
                    let sent = batch.send(&self.client).await;
                    (batch, sent)
                }
            };
            // The migrations after this one go out behind it while the server works on it.
            self.send_ahead(next).await;
            let at = super::super::watch::At::Marked(1);
            let (ran, blockers) = self.watched(&step.version, at, batch.read(sent)).await;
            let Some(failed) = ran.failed_part() else {
                let mut report = report;
                self.report_statements(step, &batch, &ran, 0..step.statements.len(), &mut report);
                report.duration_ms = started.elapsed().as_millis() as u64;
                return Ok(report);
            };
            // The string stopped at its first error, and the strings sent behind it ran
            // nothing (see `ahead`): whatever ran is rolled back (a ROLLBACK with no
            // transaction open, after a parse error, only draws a warning).
            self.discard_ahead().await;
            let _ = self.client.batch_execute("ROLLBACK").await;
            // Whether this string (or one behind it) got to its PREPARE is not known.
            self.prepared.forget();
            let part = batch.parts().get(failed).copied().unwrap_or(Part::Control);
            // A function of the migration dropped the prepared statements: nothing of it
            // committed, so it runs again at once with its markers spelled out.
            if lost_prepared(part, &ran) && self.unprepared.insert(step.version.clone()) {
                tracing::info!(version = %step.version, "the migration dropped sluice's prepared statements; running it again without them");
                continue;
            }
            return Err(self.transactional_failure(step, &batch, &ran, failed, blockers, report));
        }
    }

    /// What a failed string's error was, and where.
    fn transactional_failure(
        &self,
        step: &Change,
        batch: &Batch,
        ran: &Ran,
        failed: usize,
        blockers: Vec<crate::core::record::report::Blocker>,
        mut report: MigrationReport,
    ) -> Attempt {
        let e = ran.error.as_ref().expect("failed_part implies an error");
        match batch.parts().get(failed).copied().unwrap_or(Part::Control) {
            Part::Run(i) | Part::Mark(i) => {
                let ran_before = if ran.unparsed_at.is_some() { 0 } else { i };
                self.report_statements(step, batch, ran, 0..ran_before, &mut report);
                self.statement_error(step, i, e, blockers, report)
            }
            Part::Record => {
                let why = if e.code() == Some(&SqlState::INVALID_SQL_STATEMENT_NAME) {
                    "cannot record the migration in the ledger: it dropped the statement sluice prepared for that (DEALLOCATE, perhaps in a function); nothing of it was committed"
                } else {
                    "cannot record the migration in the ledger; nothing of it was committed"
                };
                Attempt::plain(clone_error(e).context(why), report)
            }
            Part::Control if failed + 1 == batch.parts().len() => Attempt::plain(
                clone_error(e).context(format_args!("{}: COMMIT failed", step.origin)),
                report,
            ),
            Part::Control => Attempt::plain(clone_error(e), report),
        }
    }

    /// `sluice/<run>`: the runner's application_name, which markers extend with `:<n>`.
    pub(super) fn app_name(&self) -> String {
        format!("sluice/{}", self.run_id)
    }

    /// The string of `step`. `guard`: the token of the string sent just before it, still
    /// running, which must have committed for this one to run. `token`: what this one's
    /// ledger row leaves in the session for the next one's guard.
    pub(super) fn transactional_batch(
        &mut self,
        step: &Change,
        guard: Option<u64>,
        token: u64,
    ) -> Batch {
        let mut b = Batch::default();
        let app = self.app_name();
        if may_deallocate(&step.statements) || self.unprepared.contains(&step.version) {
            self.prepared.forget();
        }
        let prepared = self.prepared.existing();
        if step.statements.is_empty() {
            b.push_control(&format!("{} BEGIN; {}", self.reset, self.timeouts_sql(true)));
        } else if guard.is_some() {
            // The string before this one ended with RESET ALL and committed.
            b.push_control("BEGIN");
        } else {
            // The timeouts (and the check that we are still connected) ride on the first
            // marker: one statement where three were, on every migration.
            b.push_control("RESET ALL; BEGIN");
        }
        for (i, s) in step.statements.iter().enumerate() {
            match (prepared, i) {
                (Some(g), 0) => {
                    let lock = self.take_wait().unwrap_or(self.lock_timeout_ms);
                    b.push(Part::Mark(0), &first_execute_sql(&g.first(), lock, guard));
                }
                (Some(g), _) => b.push(Part::Mark(i), &mark_execute_sql(&g.mark(), &app, i)),
                (None, 0) => {
                    let guard = guard.map(guard_sql).unwrap_or_default();
                    b.mark_with(&app, i, &format!("{}{guard}", self.settings_sql()))
                }
                (None, _) => b.mark(&app, i),
            }
            b.push(Part::Run(i), &s.text);
        }
        // The tool's own history row and the ledger's go in the same transaction; the
        // server works out how long the migration took.
        for st in self.tool_statements(step, &format!("round({ELAPSED_S} * 1e9)::bigint")) {
            b.push(Part::Control, &st);
        }
        // What the migration set for the session goes with its commit, so the next
        // migration starts from the session's defaults without a command of its own.
        b.push_control("RESET ALL");
        // Prepared right before their first use: nothing of the migration runs between.
        let (g, prepare) = match prepared {
            Some(g) => (g, false),
            None => (self.prepared.fresh(), true),
        };
        // Every row through the statement is this one but for the migration's own fields:
        // the same session, a success, the duration the server counts.
        let row = self.ledger_row(step, None, true, None);
        if prepare {
            b.push(Part::Control, &self.ledger.prepare_row_sql(&g.row(), &row, SENT_SETTING));
            let timeout = self.statement_timeout_ms;
            let first =
                prepare_first_sql(&g.first(), &app, timeout, self.check_sql(), SENT_SETTING);
            b.push(Part::Control, &first);
            b.push(Part::Control, &prepare_mark_sql(&g.mark()));
        }
        b.push(Part::Record, &self.ledger.execute_row_sql(&g.row(), &row, &token.to_string()));
        b.push(Part::Control, "COMMIT");
        b
    }

    /// Reports statements `done` as done, with the server's rows and timings.
    pub(super) fn report_statements(
        &self,
        step: &Change,
        batch: &Batch,
        ran: &Ran,
        done: std::ops::Range<usize>,
        report: &mut MigrationReport,
    ) {
        for i in done {
            let s = &step.statements[i];
            let rows = batch.position(Part::Run(i)).map_or(0, |p| ran.rows[p]);
            let ms = ran.statement_ms(batch, i);
            self.statement_done(report, &step.version, i, s.line, rows, ms);
        }
    }
}

/// tokio_postgres errors are not Clone; what the report needs of one is its description.
pub(super) fn clone_error(e: &tokio_postgres::Error) -> Error {
    Error::database(crate::core::error::describe_pg(e))
}

/// Whether the string failed because a prepared statement it executes was not there.
fn lost_prepared(part: Part, ran: &Ran) -> bool {
    let code = ran.error.as_ref().and_then(|e| e.code());
    matches!(part, Part::Mark(_) | Part::Record)
        && code == Some(&SqlState::INVALID_SQL_STATEMENT_NAME)
}
