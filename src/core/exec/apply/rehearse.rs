//! The dry run: pending migrations executed for real in one transaction, then rolled back.

use std::time::Instant;

use tokio_postgres::Client;

use crate::core::data::sql::LockMode;
use crate::core::db::schema;
use crate::core::error::{Error, Result};
use crate::core::exec::session::migration::Change;
use crate::core::exec::session::run::Run;
use crate::core::record::report::{Blocker, Event, LockTaken, MigrationReport};

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
        (Err((error, blockers)), _) => Err(RehearsalFailure { error, blockers, migrations: done }),
    }
}

type Failure = (Error, Vec<Blocker>);

async fn rehearse_in_transaction(
    run: &mut Run,
    steps: &[Change],
    done: &mut Vec<MigrationReport>,
) -> std::result::Result<String, Failure> {
    let s = &run.session;
    let before = schema::snapshot(&s.client, s.ledger.schema()).await.map_err(|e| (e, vec![]))?;
    let mut held: Vec<LockTaken> =
        held_locks(&run.session.client).await.map_err(|e| (e, vec![]))?;
    for step in steps {
        let mut report = rehearsal_report(step);
        if !step.transactional {
            report.lock_summary = step
                .statements
                .iter()
                .filter_map(|st| {
                    crate::core::data::lint::locks::expected_lock(st).map(|(mode, rel)| {
                        format!(
                            "would take {mode}{} (statement at line {})",
                            if rel.is_empty() { String::new() } else { format!(" on {rel}") },
                            st.line
                        )
                    })
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
                    // Locks are read before the next statement: what is new was taken here.
                    let now = held_locks(&run.session.client).await.map_err(|e| (e, vec![]))?;
                    if let Some(last) = report.statements.last_mut() {
                        last.locks = now.iter().filter(|l| !held.contains(l)).cloned().collect();
                    }
                    held = now;
                }
                Err(e) => {
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
                    done.push(report);
                    return Err((err, blockers));
                }
            }
        }
        report.duration_ms = started.elapsed().as_millis() as u64;
        // The tool's own history row, as the apply writes it (later migrations may read it);
        // its locks are not the migration's.
        run.session.rehearse_tool_row(step, report.duration_ms).await.map_err(|e| (e, vec![]))?;
        held = held_locks(&run.session.client).await.map_err(|e| (e, vec![]))?;
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
    let after = schema::snapshot(&s.client, s.ledger.schema()).await.map_err(|e| (e, vec![]))?;
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
        statements: Vec::new(),
        lock_summary: Vec::new(),
    }
}

/// Relation locks this session holds now (tables, views, sequences; not catalogs).
async fn held_locks(client: &Client) -> Result<Vec<LockTaken>> {
    let rows = client
        .query(
            "SELECT coalesce(n.nspname || '.' || c.relname, 'oid ' || l.relation::text), l.mode
             FROM pg_locks l
             LEFT JOIN pg_class c ON c.oid = l.relation
             LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
               AND (c.oid IS NULL OR (c.relkind IN ('r', 'p', 'm', 'v', 'f', 'S')
                    AND n.nspname NOT IN ('pg_catalog', 'information_schema')))
             ORDER BY 1, 2",
            &[],
        )
        .await?;
    // Predicate locks (SIReadLock) share locktype 'relation' but are no table mode.
    Ok(rows
        .iter()
        .filter_map(|r| {
            let mode = LockMode::from_pg(r.get::<_, &str>(1))?;
            Some(LockTaken { relation: r.get(0), mode })
        })
        .collect())
}

/// The strongest lock per relation and how long the migration would hold it: from the
/// statement that took it to the migration's commit.
fn lock_summary(report: &MigrationReport) -> Vec<String> {
    let mut strongest: Vec<(String, LockMode, usize)> = Vec::new();
    for (i, st) in report.statements.iter().enumerate() {
        for l in &st.locks {
            match strongest.iter_mut().find(|(rel, _, _)| *rel == l.relation) {
                Some(entry) if l.mode > entry.1 => *entry = (l.relation.clone(), l.mode, i),
                Some(_) => {}
                None => strongest.push((l.relation.clone(), l.mode, i)),
            }
        }
    }
    strongest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    strongest
        .into_iter()
        .map(|(rel, mode, from)| {
            let ms: u64 = report.statements[from..].iter().map(|s| s.duration_ms).sum();
            format!("{mode} on {rel} for {:.1} s", ms as f64 / 1000.0)
        })
        .collect()
}
