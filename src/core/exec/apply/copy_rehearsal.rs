//! The dry run on a copy: the database is restored into a scratch database on the same
//! server (from the run's backup when it took a full one, else a fresh pg_dump), the
//! pending migrations run there for real, each committing as in production (so what cannot
//! run in a transaction, and a code tool's migrations, are rehearsed too), with their
//! durations, the locks seen in pg_locks while each ran, and the schema diff; then the
//! scratch database is dropped, whatever happened.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::oneshot;

use super::rehearse::{Rehearsal, RehearsalFailure};
use crate::core::data::config::BackupKind;
use crate::core::data::sql::LockMode;
use crate::core::db::connect::Target;
use crate::core::db::ledger::Ledger;
use crate::core::db::schema;
use crate::core::db::tools::{client_tool, server_major, tool_env};
use crate::core::error::{Error, Result};
use crate::core::exec::session::migration::{Change, Session};
use crate::core::exec::session::run::Run;
use crate::core::record::report::{Event, LockSource, LockTaken, MigrationReport};

/// Rehearses `steps` on a scratch copy of the run's database, and drops the copy.
pub(crate) async fn rehearse_on_copy(
    run: &mut Run,
    steps: &[Change],
) -> std::result::Result<Rehearsal, RehearsalFailure> {
    let scratch = format!("sluice_rehearsal_{}", run.report.run_id);
    create(run, &scratch).await?;
    let mut done = Vec::new();
    let res = on_copy(run, steps, &scratch, &mut done).await;
    let dropped = run
        .session
        .client
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{scratch}\" WITH (FORCE)"))
        .await;
    if let Err(e) = &dropped {
        tracing::warn!("cannot drop the rehearsal's scratch database {scratch}: {e}");
    }
    match res {
        Ok(schema_diff) => Ok(Rehearsal { migrations: done, schema_diff }),
        Err(error) => Err(RehearsalFailure { error, blockers: Vec::new(), migrations: done }),
    }
}

/// The scratch database, with the source's encoding and collation.
async fn create(run: &Run, scratch: &str) -> Result<()> {
    let c = &run.session.client;
    let row = c
        .query_one(
            "SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database \
             WHERE datname = current_database()",
            &[],
        )
        .await?;
    let (enc, collate, ctype): (String, String, String) = (row.get(0), row.get(1), row.get(2));
    let quote = |s: &str| s.replace('\'', "''");
    let sql = format!(
        "CREATE DATABASE \"{scratch}\" TEMPLATE template0 ENCODING '{}' LC_COLLATE '{}' LC_CTYPE '{}'",
        quote(&enc),
        quote(&collate),
        quote(&ctype)
    );
    c.batch_execute(&sql).await.map_err(|e| {
        Error::database(format!(
            "the rehearsal on a copy cannot create its scratch database {scratch}: {} (the environment's role needs CREATEDB)",
            crate::core::error::describe_pg(&e)
        ))
    })
}

async fn on_copy(
    run: &mut Run,
    steps: &[Change],
    scratch: &str,
    done: &mut Vec<MigrationReport>,
) -> Result<String> {
    let env = run.env().clone();
    let source = run.session.target.clone();
    let copy = source.with_dbname(scratch);
    let backup = run.report.backup.as_ref().map(|b| b.path.clone());
    let full = env.backup.kind == BackupKind::Full;
    populate(&source, &copy, backup.filter(|_| full).as_deref()).await?;
    let ledger = Ledger::new(run.session.ledger.schema());
    let run_id = run.report.run_id.clone();
    let mut session = Session::open(&copy, &env, ledger, &run_id, None).await?;
    session.interrupt = run.session.interrupt.clone();
    session.ledger.ensure(&session.client).await?;
    let before = schema::snapshot(&session.client, session.ledger.schema()).await?;
    let existing = tables(&session.client, session.ledger.schema()).await?;
    for step in steps {
        // The tool's own bookkeeping (knex_migrations and its lock, alembic_version) is
        // nobody else's wait.
        let bookkeeping: Vec<String> = step
            .code
            .as_ref()
            .map(|c| {
                let t = &c.folder.history_table;
                vec![format!("public.{t}"), format!("public.{t}_lock"), t.clone()]
            })
            .unwrap_or_default();
        let watched: Vec<String> =
            existing.iter().filter(|t| !bookkeeping.contains(t)).cloned().collect();
        let (stop, sampled) = sample_locks(&copy, &run_id, watched);
        let res = session.run_change(step).await;
        let _ = stop.send(());
        let seen = sampled.await.unwrap_or_default();
        let mut report = match res {
            Ok(r) => r,
            Err(f) => {
                let mut r = f.report;
                r.rehearsed = true;
                done.push(r);
                run.session.emit(Event::MigrationFailed {
                    version: step.version.clone(),
                    statement: f.statement.map(|i| i + 1),
                    line: f.line,
                    error: f.error.message.clone(),
                });
                return Err(f.error.context("on the rehearsal's copy"));
            }
        };
        report.rehearsed = true;
        report.lock_summary = seen
            .iter()
            .map(|l| format!("{} on {} (seen in pg_locks while it ran)", l.mode, l.relation))
            .collect();
        if let Some(s) = report.statements.last_mut() {
            s.locks = seen;
        }
        run.session.emit(Event::MigrationFinished {
            version: step.version.clone(),
            direction: "up".into(),
            duration_ms: report.duration_ms,
            rehearsed: true,
        });
        done.push(report);
    }
    let after = schema::snapshot(&session.client, session.ledger.schema()).await?;
    Ok(schema::unified_diff(&before, &after, "schema before", "schema after the rehearsal"))
}

/// The copy's contents: the run's own full backup, else a fresh pg_dump of the source.
async fn populate(source: &Target, copy: &Target, backup: Option<&Path>) -> Result<()> {
    let major = server_major(source).await?;
    // A fresh dump goes to a folder only this account may read, removed afterwards.
    let dir = std::env::temp_dir().join(format!("sluice-rehearsal-{}", copy.dbname()));
    let file: PathBuf = match backup {
        Some(b) => b.to_path_buf(),
        None => {
            crate::core::host::private::create_dir(&dir)?;
            let file = dir.join("copy.dump");
            let mut dump = Command::new(client_tool("pg_dump", major).await?);
            dump.args(["--format=custom", "--no-password", "--file"]).arg(&file);
            tool_env(source, &mut dump);
            run_tool(&mut dump, "pg_dump").await?;
            file
        }
    };
    let mut restore = Command::new(client_tool("pg_restore", major).await?);
    restore.args(["--no-password", "--exit-on-error", "--dbname", copy.dbname()]).arg(&file);
    tool_env(copy, &mut restore);
    let restored = run_tool(&mut restore, "pg_restore into the rehearsal's copy").await;
    if backup.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    restored
}

async fn run_tool(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| Error::database(format!("{what}: {e}")))?;
    if !out.status.success() {
        return Err(Error::database(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// The tables the copy holds before the rehearsal (what another session could wait on).
async fn tables(c: &tokio_postgres::Client, ledger: &str) -> Result<Vec<String>> {
    Ok(c.query(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema', $1) \
           AND n.nspname NOT LIKE 'pg_toast%'",
        &[&ledger],
    )
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect())
}

/// The strongest lock per existing table that the run's sessions (sluice's own and the
/// tool's, by application_name) hold on the copy, sampled every 10 ms until stopped.
fn sample_locks(
    copy: &Target,
    run_id: &str,
    existing: Vec<String>,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<Vec<LockTaken>>) {
    let (tx, mut rx) = oneshot::channel::<()>();
    let (copy, pattern) = (copy.clone(), format!("sluice/{run_id}%"));
    let handle = tokio::spawn(async move {
        let Ok(c) = copy.connect("sluice/rehearsal-locks").await else { return Vec::new() };
        let mut seen: Vec<(String, LockMode)> = Vec::new();
        loop {
            let rows = c
                .query(
                    "SELECT n.nspname || '.' || coalesce(t.relname, r.relname), l.mode
                     FROM pg_locks l
                     JOIN pg_stat_activity a ON a.pid = l.pid
                     JOIN pg_class r ON r.oid = l.relation
                     LEFT JOIN pg_index i ON i.indexrelid = r.oid
                     LEFT JOIN pg_class t ON t.oid = i.indrelid
                     JOIN pg_namespace n ON n.oid = coalesce(t.relnamespace, r.relnamespace)
                     WHERE l.locktype = 'relation' AND l.granted AND a.application_name LIKE $1
                       AND a.application_name <> 'sluice/rehearsal-locks'",
                    &[&pattern],
                )
                .await
                .unwrap_or_default();
            for r in rows {
                let (rel, mode): (String, &str) = (r.get(0), r.get(1));
                let Some(mode) = LockMode::from_pg(mode) else { continue };
                if !existing.contains(&rel) {
                    continue;
                }
                match seen.iter_mut().find(|(s, _)| *s == rel) {
                    Some(e) => e.1 = e.1.max(mode),
                    None => seen.push((rel, mode)),
                }
            }
            tokio::select! {
                _ = &mut rx => break,
                _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
        }
        seen.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        seen.into_iter()
            .map(|(relation, mode)| LockTaken {
                relation,
                mode,
                source: LockSource::Observed,
                rewrite: false,
            })
            .collect()
    });
    (tx, handle)
}
