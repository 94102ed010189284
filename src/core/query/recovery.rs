//! A migration the ledger marks failed (a no-transaction one that stopped half way): which
//! statements ran, which failed and why, what the failure left behind, and what would settle
//! it. The console's recovery screen shows this; `resolve` acts on it.

use serde::Serialize;
use tokio_postgres::Client;

use crate::core::data::config::{Environment, Project};
use crate::core::data::plan::Direction;
use crate::core::data::plan::{Item, MigrationState, Status};
use crate::core::data::source;
use crate::core::data::sql::{self, Inverse, Statement};
use crate::core::db::connect::Target;
use crate::core::db::ledger::Ledger;
use crate::core::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reached {
    Done,
    Failed,
    NotRun,
}

/// What the catalog says about the statement sluice was stopped in (no error recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Interrupted {
    /// It finished before the process died; only the ledger's note of it is missing.
    Completed,
    /// It did not take effect (it ran in a transaction with its ledger note, or the
    /// catalog shows it did not finish).
    NotCompleted,
    /// Cannot be told from the catalog; a retry runs it again (these statements, VACUUM,
    /// REINDEX and the like, can run twice).
    Unknown,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecoveryStatement {
    /// 1-based, as the ledger counts.
    pub number: usize,
    pub line: usize,
    pub text: String,
    pub reached: Reached,
    /// For a statement that ran: the SQL that undoes it, if it can be told.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undo: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    pub version: String,
    pub name: String,
    /// Which way it was going when it failed: "up" or "down".
    pub direction: String,
    /// The statement that failed (1-based).
    pub failed_at: usize,
    /// PostgreSQL's error; None when the process stopped while the statement ran.
    pub error: Option<String>,
    pub run_id: Option<String>,
    pub when: String,
    /// The statements as they ran (from the ledger's copy of the SQL).
    pub statements: Vec<RecoveryStatement>,
    /// When the process stopped while the statement ran: whether it took effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<Interrupted>,
    /// An INVALID index the failed CONCURRENTLY build left behind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid_index: Option<String>,
    /// What undoes what ran, newest first (the invalid index first of all).
    pub compensating: Vec<String>,
    /// Statements that ran and cannot be undone automatically: undo them by hand.
    pub by_hand: Vec<usize>,
    /// Why a retry cannot work, if it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_blocked: Option<String>,
    /// What a retry runs: the file's statements from the failed one on.
    pub retry_statements: Vec<String>,
}

impl Recovery {
    pub fn label(&self) -> String {
        format!("{}_{}", self.version, self.name)
    }

    /// The 1-based statement a retry starts at: the first one that did not run (one past
    /// the last when the interrupted statement was the last and completed).
    pub fn resume_at(&self) -> usize {
        self.statements
            .iter()
            .position(|s| s.reached != Reached::Done)
            .map_or(self.statements.len() + 1, |i| i + 1)
    }
}

/// The failed migrations of an environment (normally one: nothing runs past a failure),
/// read without the lock and without writing.
pub async fn recovery(project: &Project, env: &Environment) -> Result<Vec<Recovery>> {
    let target = Target::resolve(env)?;
    let (dir, layout) = (project.migrations_dir.clone(), project.layout);
    let files = tokio::task::spawn_blocking(move || source::load(&dir, layout));
    let client = target.connect("sluice/recovery").await?;
    let ledger = Ledger::new(&project.ledger_schema);
    let latest = ledger.latest(&client).await?;
    let migrations = files.await.map_err(|e| {
        Error::input(format!("reading {}: {e}", project.migrations_dir.display()))
    })??;
    let status = Status::build(migrations, latest)?;
    let mut out = Vec::new();
    for item in status.items.iter().filter(|i| i.state == MigrationState::Failed) {
        out.push(inspect(&client, &ledger, item).await?);
    }
    Ok(out)
}

fn split_stored(text: &str, what: &str) -> Result<Vec<Statement>> {
    sql::split(text).map_err(|e| {
        Error::input(format!(
            "the ledger's copy of {what} does not parse at line {}: {}",
            e.line, e.message
        ))
    })
}

/// Reads what the failed row says and what the database holds now.
pub(crate) async fn inspect(client: &Client, ledger: &Ledger, item: &Item) -> Result<Recovery> {
    let entry = item
        .entry
        .as_ref()
        .ok_or_else(|| Error::input(format!("{} has no ledger row", item.label())))?;
    let (up, down) = ledger.stored_sql(client, entry.id).await?;
    let error = ledger.error_of(client, entry.id).await?;
    let ran = match entry.direction {
        Direction::Up => up,
        Direction::Down => down.unwrap_or_default(),
    };
    let stored = split_stored(&ran, &item.label())?;
    let failed_at = entry.failed_at_statement.unwrap_or(1).max(1) as usize;
    let interrupted = match (&error, stored.get(failed_at - 1)) {
        (None, Some(s)) => Some(interrupted(client, &stored, s).await?),
        _ => None,
    };
    let mut statements: Vec<RecoveryStatement> = stored
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let reached = match (i + 1).cmp(&failed_at) {
                std::cmp::Ordering::Less => Reached::Done,
                std::cmp::Ordering::Equal => Reached::Failed,
                std::cmp::Ordering::Greater => Reached::NotRun,
            };
            RecoveryStatement {
                number: i + 1,
                line: s.line,
                text: s.text.trim().to_string(),
                reached,
                undo: None,
            }
        })
        .collect();
    let invalid_index = match stored.get(failed_at - 1) {
        Some(s) => left_invalid_index(client, &s.text).await?,
        None => None,
    };
    if interrupted == Some(Interrupted::Completed) {
        statements[failed_at - 1].reached = Reached::Done;
    }
    let mut r = Recovery {
        version: entry.version.clone(),
        name: entry.name.clone(),
        direction: entry.direction.as_str().into(),
        failed_at,
        error,
        run_id: entry.run_id.clone(),
        when: entry.applied_at.clone(),
        statements,
        interrupted,
        invalid_index,
        compensating: Vec::new(),
        by_hand: Vec::new(),
        retry_blocked: None,
        retry_statements: Vec::new(),
    };
    compensate(&mut r);
    retry_plan(&mut r, item, &stored);
    Ok(r)
}

/// The compensating SQL: the invalid index first, then each statement that ran, undone
/// newest first.
fn compensate(r: &mut Recovery) {
    if let Some(ix) = &r.invalid_index {
        r.compensating.push(format!("DROP INDEX CONCURRENTLY IF EXISTS {ix}"));
    }
    for s in r.statements.iter_mut().rev().filter(|s| s.reached == Reached::Done) {
        match sql::inverse(&s.text) {
            Inverse::Sql(undo) => {
                r.compensating.push(undo.clone());
                s.undo = Some(undo);
            }
            Inverse::Nothing => {}
            Inverse::Unknown => r.by_hand.push(s.number),
        }
    }
    r.by_hand.sort_unstable();
}

/// A retry runs the file from the failed statement on; the statements before it must be
/// the ones that ran (editing the failed statement itself is the usual fix, and allowed).
fn retry_plan(r: &mut Recovery, item: &Item, stored: &[Statement]) {
    if r.direction == "down" {
        r.retry_blocked = Some(
            "it failed while rolling back; a retry runs migrations up only: mark it applied or rolled back".into(),
        );
        return;
    }
    let Some(m) = &item.migration else {
        r.retry_blocked = Some("its file is gone: nothing to retry from".into());
        return;
    };
    let file = match m.up_statements() {
        Ok(f) => f,
        Err(e) => {
            r.retry_blocked = Some(format!("its file does not read: {e}"));
            return;
        }
    };
    let at = r.resume_at() - 1;
    if at > file.len() {
        r.retry_blocked = Some(format!(
            "it failed at statement {} but the file now has {} statement(s)",
            r.failed_at,
            file.len()
        ));
        return;
    }
    let same = |a: &Statement, b: &Statement| a.text.trim() == b.text.trim();
    if let Some(i) = (0..at).find(|&i| stored.get(i).is_none_or(|s| !same(s, &file[i]))) {
        r.retry_blocked = Some(format!(
            "statement {} of the file changed since it ran; only the failed statement and those after it may change before a retry",
            i + 1
        ));
        return;
    }
    r.retry_statements = file[at..].iter().map(|s| s.text.trim().to_string()).collect();
}

/// Whether the statement the process stopped in took effect. One that can run in a
/// transaction ran in one with its ledger note (see `runner::statementwise`), so it did not;
/// an index built or dropped CONCURRENTLY is looked up in the catalog.
async fn interrupted(client: &Client, all: &[Statement], s: &Statement) -> Result<Interrupted> {
    let own_transactions = all.iter().any(|s| s.is_transaction_control());
    if s.needs_no_transaction().is_none() {
        return Ok(if own_transactions { Interrupted::Unknown } else { Interrupted::NotCompleted });
    }
    let valid = |name: String| async move {
        let row = client
            .query_opt(
                "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass($1)",
                &[&name],
            )
            .await?;
        Ok::<_, Error>(row.map(|r| r.get::<_, bool>(0)))
    };
    if let Some(name) = concurrent_index_name(&s.text) {
        return Ok(match valid(name).await? {
            Some(true) => Interrupted::Completed,
            _ => Interrupted::NotCompleted,
        });
    }
    if let Some(name) = sql::concurrently_dropped_index(&s.text) {
        return Ok(match valid(name).await? {
            None => Interrupted::Completed,
            Some(_) => Interrupted::NotCompleted,
        });
    }
    Ok(Interrupted::Unknown)
}

/// A failed or interrupted CREATE INDEX CONCURRENTLY leaves its index behind, INVALID: the
/// retry would fail on "already exists" and queries would not use it.
pub(super) async fn left_invalid_index(client: &Client, stmt: &str) -> Result<Option<String>> {
    let Some(name) = concurrent_index_name(stmt) else { return Ok(None) };
    let row = client
        .query_opt(
            "SELECT i.indexrelid::regclass::text FROM pg_index i \
             WHERE i.indexrelid = to_regclass($1) AND NOT i.indisvalid",
            &[&name],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

fn concurrent_index_name(stmt: &str) -> Option<String> {
    match sql::inverse(stmt) {
        Inverse::Sql(s) => s.strip_prefix("DROP INDEX CONCURRENTLY IF EXISTS ").map(str::to_string),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recovery(statements: &[(&str, Reached)], invalid: Option<&str>) -> Recovery {
        let mut r = Recovery {
            version: "0007".into(),
            name: "x".into(),
            direction: "up".into(),
            failed_at: statements.iter().position(|s| s.1 == Reached::Failed).unwrap() + 1,
            error: None,
            run_id: None,
            when: String::new(),
            statements: statements
                .iter()
                .enumerate()
                .map(|(i, (t, reached))| RecoveryStatement {
                    number: i + 1,
                    line: i + 1,
                    text: t.to_string(),
                    reached: *reached,
                    undo: None,
                })
                .collect(),
            interrupted: None,
            invalid_index: invalid.map(str::to_string),
            compensating: Vec::new(),
            by_hand: Vec::new(),
            retry_blocked: None,
            retry_statements: Vec::new(),
        };
        compensate(&mut r);
        r
    }

    #[test]
    fn compensation_undoes_what_ran_newest_first_and_leaves_the_rest_by_hand() {
        use Reached::*;
        let r = recovery(
            &[
                ("CREATE TABLE a (id int)", Done),
                ("UPDATE a SET id = 1", Done),
                ("CREATE INDEX CONCURRENTLY a_id ON a (id)", Done),
                ("CREATE INDEX CONCURRENTLY a_b ON a (b)", Failed),
                ("CREATE TABLE c (id int)", NotRun),
            ],
            Some("a_b"),
        );
        assert_eq!(
            r.compensating,
            [
                "DROP INDEX CONCURRENTLY IF EXISTS a_b",
                "DROP INDEX CONCURRENTLY IF EXISTS a_id",
                "DROP TABLE IF EXISTS a",
            ]
        );
        assert_eq!(r.by_hand, [2]);
        assert_eq!(r.statements[0].undo.as_deref(), Some("DROP TABLE IF EXISTS a"));
        assert_eq!(r.statements[4].undo, None);
    }

    #[test]
    fn only_concurrent_index_builds_are_checked_for_leftovers() {
        assert_eq!(
            concurrent_index_name("CREATE INDEX CONCURRENTLY ix ON s.t (a)").as_deref(),
            Some("s.ix")
        );
        assert_eq!(concurrent_index_name("CREATE INDEX ix ON t (a)"), None);
        assert_eq!(concurrent_index_name("CREATE TABLE t (a int)"), None);
    }
}
