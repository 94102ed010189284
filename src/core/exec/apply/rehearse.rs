//! The dry run: pending migrations executed for real in one transaction, then rolled back.

use std::time::Instant;

use crate::core::db::schema;
use tokio_postgres::error::SqlState;

use crate::core::data::lint::locks::locks_needed;
use crate::core::data::sql::LockMode;
use crate::core::error::Error;
use crate::core::exec::session::migration::Change;
use crate::core::exec::session::run::Run;
use crate::core::record::report::{Blocker, Event, LockSource, LockTaken, MigrationReport};

use super::observed_locks::LockObserver;
use crate::core::exec::session::watch::who_holds;

/// What a dry run found: per migration and statement, and the schema diff it would make.
pub(crate) struct Rehearsal {
    pub migrations: Vec<MigrationReport>,
    pub schema_diff: String,
}

/// A dry run that stopped: the error, who blocked it, and what ran before.
pub(crate) struct RehearsalFailure {
    pub error: Error,
    pub blockers: Vec<Blocker>,
    pub migrations: Vec<MigrationReport>,
}

impl From<Error> for RehearsalFailure {
    fn from(error: Error) -> Self {
        RehearsalFailure { error, blockers: Vec::new(), migrations: Vec::new() }
    }
}

/// Runs every transactional pending migration inside one transaction, then rolls it all
/// back. Migrations outside a transaction cannot be rehearsed and are listed as such.
pub(crate) async fn rehearse(
    run: &mut Run,
    steps: &[Change],
) -> std::result::Result<Rehearsal, RehearsalFailure> {
    let s = &run.session;
    let begin = format!(
        "BEGIN; SET LOCAL lock_timeout = {}; SET LOCAL statement_timeout = {}",
        s.lock_timeout_ms, s.statement_timeout_ms
    );
    s.client.batch_execute(&begin).await.map_err(Error::from)?;
    let mut done = Vec::new();
    let res = rehearse_in_transaction(run, steps, &mut done).await;
    // Whatever happened, nothing of the rehearsal may stay.
    let rolled_back = run.session.client.batch_execute("ROLLBACK").await;
    match (res, rolled_back) {
        (Ok(schema_diff), Ok(())) => Ok(Rehearsal { migrations: done, schema_diff }),
        (Ok(_), Err(e)) => {
            Err(RehearsalFailure { error: e.into(), blockers: Vec::new(), migrations: done })
        }
        (Err(f), rolled_back) => {
            let (mut error, mut blockers) = (f.error, f.blockers);
            if let (Some(needs), Ok(())) = (f.lock_timeout, rolled_back) {
                // The watcher saw nobody (the timeout beat its delay): ask who holds a lock
                // the statement needs, now that the transaction is gone.
                blockers = who_holds(&run.session.client, &needs).await;
                error = Error::database(format!(
                    "{}: blocked by {}",
                    error.message,
                    Blocker::list(&blockers)
                ));
            }
            Err(RehearsalFailure { error, blockers, migrations: done })
        }
    }
}

/// Why the rehearsal stopped; on a lock timeout, the locks the statement needed.
struct Failure {
    error: Error,
    blockers: Vec<Blocker>,
    lock_timeout: Option<Vec<(String, LockMode)>>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure { error, blockers: Vec::new(), lock_timeout: None }
    }
}

async fn rehearse_in_transaction(
    run: &mut Run,
    steps: &[Change],
    done: &mut Vec<MigrationReport>,
) -> std::result::Result<String, Failure> {
    let s = &run.session;
    let before = schema::snapshot(&s.client, s.ledger.schema()).await.map_err(Failure::from)?;
    let mut locks =
        LockObserver::start(&s.client, s.ledger.schema()).await.map_err(Failure::from)?;
    for step in steps {
        let mut report = rehearsal_report(step);
        if !step.transactional {
            report.lock_summary = step
                .statements
                .iter()
                .flat_map(|st| {
                    crate::core::data::lint::locks::expected_locks(st).into_iter().map(
                        |(mode, rel)| {
                            let on =
                                if rel.is_empty() { String::new() } else { format!(" on {rel}") };
                            format!("would take {mode}{on} (statement at line {})", st.line)
                        },
                    )
                })
                .collect();
            run.session.emit(Event::NotRehearsed {
                version: step.version.clone(),
                reason: "runs outside a transaction (sluice:no-transaction)".into(),
            });
            done.push(report);
            continue;
        }
        let started = Instant::now();
        for (i, st) in step.statements.iter().enumerate() {
            let expected = locks.expect(&run.session.client, st).await.map_err(Failure::from)?;
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
                    // Locks are read before the next statement: this one requested them.
                    let taken =
                        locks.after(&run.session.client, expected).await.map_err(Failure::from)?;
                    if let Some(last) = report.statements.last_mut() {
                        last.locks = taken;
                    }
                }
                Err(e) => {
                    let timed_out = e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE);
                    let who = if timed_out && !blockers.is_empty() {
                        format!(": blocked by {}", Blocker::list(&blockers))
                    } else {
                        String::new()
                    };
                    let err = Error::database(format!(
                        "{}:{} (statement {}): {}{who}",
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
                    done.push(report);
                    let lock_timeout =
                        (timed_out && blockers.is_empty()).then(|| locks_needed([st]));
                    return Err(Failure { error: err, blockers, lock_timeout });
                }
            }
        }
        report.duration_ms = started.elapsed().as_millis() as u64;
        // The tool's own history row, as the apply writes it (later migrations may read it);
        // its locks are not the migration's.
        run.session.rehearse_tool_row(step, report.duration_ms).await.map_err(Failure::from)?;
        report.lock_summary = lock_summary(&report);
        run.session.emit(Event::MigrationFinished {
            version: step.version.clone(),
            direction: "up".into(),
            duration_ms: report.duration_ms,
            rehearsed: true,
        });
        done.push(report);
    }
    let s = &run.session;
    let after = schema::snapshot(&s.client, s.ledger.schema()).await.map_err(Failure::from)?;
    Ok(schema::unified_diff(&before, &after, "schema before", "schema after the dry run"))
}

fn rehearsal_report(step: &Change) -> MigrationReport {
    MigrationReport {
        version: step.version.clone(),
        name: step.name.clone(),
        direction: "up".into(),
        source: step.source.into(),
        transactional: step.transactional,
        rehearsed: step.transactional,
        duration_ms: 0,
        lock_retries: 0,
        queue_victims: 0,
        statements: Vec::new(),
        lock_summary: Vec::new(),
        tool: None,
    }
}

/// The strongest lock per relation and how long the migration would hold it: from the
/// statement that took it to the migration's commit.
fn lock_summary(report: &MigrationReport) -> Vec<String> {
    // Per table: the strongest lock, the statement that first took it, and any rewrite.
    let mut strongest: Vec<(LockTaken, usize)> = Vec::new();
    for (i, st) in report.statements.iter().enumerate() {
        for l in &st.locks {
            match strongest.iter_mut().find(|(s, _)| s.relation == l.relation) {
                Some((s, from)) => {
                    let rewrite = s.rewrite || l.rewrite;
                    if l.mode > s.mode
                        || (l.mode == s.mode
                            && s.source != l.source
                            && l.source == LockSource::Observed)
                    {
                        (*s, *from) = (l.clone(), i);
                    }
                    s.rewrite = rewrite;
                }
                None => strongest.push((l.clone(), i)),
            }
        }
    }
    strongest.sort_by(|a, b| b.0.mode.cmp(&a.0.mode).then(a.0.relation.cmp(&b.0.relation)));
    strongest
        .into_iter()
        .map(|(l, from)| {
            let ms: u64 = report.statements[from..].iter().map(|s| s.duration_ms).sum();
            let what = l.describe();
            let (head, tail) = what.split_at(what.find(" (").unwrap_or(what.len()));
            format!("{head} for {:.1} s{tail}", ms as f64 / 1000.0)
        })
        .collect()
}
