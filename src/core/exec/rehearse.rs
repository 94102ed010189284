//! The dry run: pending migrations executed for real in one transaction, then rolled back.

use std::time::Instant;

use super::report::{Event, MigrationReport, ReportError, RunReport};
use super::runner::Step;
use super::{fail_early, Run};
use crate::core::error::Error;

/// Runs every transactional pending migration inside one transaction, then rolls it all
/// back. Migrations outside a transaction cannot be rehearsed and are listed as such.
pub(super) async fn rehearse(mut run: Run, steps: Vec<Step>) -> RunReport {
    let s = &run.session;
    s.emit(Event::RunStarted {
        run_id: run.report.run_id.clone(),
        action: "dry-run".into(),
        migrations: steps.len(),
    });
    if steps.is_empty() {
        return run.finish("nothing-to-do", None).await;
    }
    let begin = format!(
        "BEGIN; SET LOCAL lock_timeout = {}; SET LOCAL statement_timeout = {}",
        s.lock_timeout_ms, s.statement_timeout_ms
    );
    if let Err(e) = s.client.batch_execute(&begin).await {
        return fail_early(run, e.into()).await;
    }
    for step in &steps {
        let mut report = MigrationReport {
            version: step.version.clone(),
            name: step.name.clone(),
            direction: "up".into(),
            source: step.source.into(),
            transactional: step.transactional,
            rehearsed: step.transactional,
            duration_ms: 0,
            lock_retries: 0,
            statements: Vec::new(),
        };
        if !step.transactional {
            run.session.emit(Event::NotRehearsed {
                version: step.version.clone(),
                reason: "runs outside a transaction (sluice:no-transaction)".into(),
            });
            run.report.migrations.push(report);
            continue;
        }
        let started = Instant::now();
        for (i, st) in step.statements.iter().enumerate() {
            let t = Instant::now();
            let (res, blockers) = run.session.exec_watched(&step.version, i, &st.text).await;
            match res {
                Ok(rows) => {
                    let duration_ms = t.elapsed().as_millis() as u64;
                    run.session.statement_done(
                        &mut report,
                        &step.version,
                        i,
                        st.line,
                        rows,
                        duration_ms,
                    );
                }
                Err(e) => {
                    let _ = run.session.client.batch_execute("ROLLBACK").await;
                    let err = Error::database(format!(
                        "{}:{} (statement {}): {}",
                        step.origin,
                        st.line,
                        i + 1,
                        crate::core::error::describe_pg(&e)
                    ));
                    run.session.emit(Event::MigrationFailed {
                        version: step.version.clone(),
                        statement: Some(i + 1),
                        line: Some(st.line),
                        error: err.message.clone(),
                    });
                    run.report.migrations.push(report);
                    let re = ReportError::from_error(&err, blockers);
                    return run.finish("failed", Some(re)).await;
                }
            }
        }
        report.duration_ms = started.elapsed().as_millis() as u64;
        run.session.emit(Event::MigrationFinished {
            version: step.version.clone(),
            direction: "up".into(),
            duration_ms: report.duration_ms,
        });
        run.report.migrations.push(report);
    }
    if let Err(e) = run.session.client.batch_execute("ROLLBACK").await {
        return fail_early(run, e.into()).await;
    }
    run.finish("rehearsed", None).await
}
