//! One runner session: the connection that holds the ledger lock and executes steps, and the
//! watcher that names who blocks a statement that waits.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, Mutex};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::core::data::config::Environment;
use crate::core::data::plan::Direction;
use crate::core::data::sql::Statement;
use crate::core::db::connect::Target;
use crate::core::db::ledger::{Ledger, NewRow};
use crate::core::db::tool_table::{TableState, ToolRow, ToolTable};
use crate::core::error::{describe_pg, Error, Result};
use crate::core::record::report::{Blocker, Event, EventSender, MigrationReport, StatementReport};

mod ahead;
mod backfill;
mod batch;
mod code;
mod prepared;
mod replicas;
mod settings;
mod statementwise;
mod statementwise_batch;
mod tool;
mod transactional;

/// What to run for one migration in one direction.
pub struct Change {
    pub version: String,
    pub name: String,
    pub direction: Direction,
    pub statements: Vec<Statement>,
    pub transactional: bool,
    /// Path or "ledger:" label, for messages.
    pub origin: String,
    pub source: &'static str,
    /// Recorded in the ledger row.
    pub checksum: String,
    pub up_sql: String,
    pub down_sql: Option<String>,
    /// 0-based statement to start from (a retried no-transaction migration).
    pub start_at: usize,
    /// A retry of a migration that failed or was cut off: a batched backfill carries on
    /// from its checkpoint (a fresh run starts it over).
    pub resume: bool,
    /// The row the layout's own history table gets beside the ledger's (see `tool_table`).
    pub tool: Option<ToolRow>,
    /// A code tool's migration: the tool runs it (see `migration/code`), not sluice.
    pub code: Option<CodeCall>,
}

/// One migration run through its own tool.
#[derive(Debug, Clone)]
pub struct CodeCall {
    pub command: crate::core::data::code::command::ToolCommand,
    pub tool: crate::core::data::code::CodeTool,
    /// The tool's folder, to read its history table afterwards.
    pub folder: Arc<crate::core::data::code::CodeFolder>,
    /// What the tool's history must say afterwards: the id recorded (up) or gone (down).
    pub recorded_after: bool,
}

/// Why a step failed, with what the runner saw.
pub struct ChangeFailure {
    pub error: Error,
    pub statement: Option<usize>,
    pub line: Option<usize>,
    pub blockers: Vec<Blocker>,
    pub report: MigrationReport,
}

impl ChangeFailure {
    /// A failure outside any statement.
    pub(crate) fn plain(error: Error, report: MigrationReport) -> ChangeFailure {
        ChangeFailure { error, statement: None, line: None, blockers: vec![], report }
    }
}

pub struct Session {
    pub client: Client,
    pub target: Target,
    pub ledger: Ledger,
    pub run_id: String,
    pub operator: String,
    /// The OS account this process runs as; approvals compare it, not the label.
    pub account: std::result::Result<String, crate::core::host::identity::Unvouched>,
    pub host: String,
    pub pid: i32,
    reset: &'static str,
    /// PostgreSQL 14 on: the server checks the client is still there while it works.
    checks_connection: bool,
    pub lock_timeout_ms: u64,
    pub statement_timeout_ms: u64,
    pub lock_retries: u32,
    pub lock_retry_backoff: Duration,
    pub events: Option<EventSender>,
    insert: Option<tokio_postgres::Statement>,
    watch_conn: Arc<Mutex<Option<Client>>>,
    /// The operator's controls over a lock timeout (retry now, wait longer).
    pub interrupt: Option<Arc<super::control::Interrupt>>,
    /// The layout's own history tables, as found at their first use in this session.
    tool_tables: std::collections::HashMap<ToolTable, TableState>,
    /// `queue_limit`'s sentinel, armed while a migration runs (not in the dry run).
    sentinel: Option<super::sentinel::Sentinel>,
    armed: bool,
    /// `max_replica_lag` and how long to wait for the standbys before stopping.
    replica_lag: Option<(Duration, Duration)>,
    /// The strings of the migrations after the running one, already sent.
    ahead: ahead::Ahead,
    /// The prepared ledger row and markers those strings execute.
    prepared: prepared::Prepared,
    /// Migrations to run with their markers spelled out: a function of theirs dropped the
    /// session's prepared statements (see `migration/prepared`).
    unprepared: std::collections::HashSet<String>,
}

impl Session {
    /// Records in the ledger that `entry`'s migration went `direction` without running any
    /// SQL (settled by hand, or a repeatable marked to run again), keeping its stored SQL.
    pub(crate) async fn mark(
        &self,
        stmt: &tokio_postgres::Statement,
        entry: &crate::core::data::plan::LatestRow,
        direction: Direction,
    ) -> Result<i64> {
        let (up_sql, down_sql) = self.ledger.stored_sql(&self.client, entry.id).await?;
        let row = NewRow {
            version: &entry.version,
            name: &entry.name,
            checksum: &entry.checksum,
            up_sql: &up_sql,
            down_sql: down_sql.as_deref(),
            direction,
            os_user: &self.operator,
            client_host: &self.host,
            duration_ms: Some(0),
            run_id: &self.run_id,
            success: true,
            failed_at_statement: None,
            error: None,
        };
        self.ledger.insert(&self.client, stmt, &row).await
    }

    /// Connects as `sluice/<run_id>`.
    pub async fn open(
        target: &Target,
        env: &Environment,
        ledger: Ledger,
        run_id: &str,
        events: Option<EventSender>,
    ) -> Result<Session> {
        let client = target.connect(&format!("sluice/{run_id}")).await?;
        let row = client
            .query_one("SELECT pg_backend_pid(), current_setting('server_version_num')::int", &[])
            .await?;
        let (pid, version): (i32, i32) = (row.get(0), row.get(1));
        // RESET ALL starts each migration from the session defaults; from PostgreSQL 14 the
        // server also checks that we are still there, so a killed sluice does not leave a
        // statement running and holding locks.
        let reset = if version >= 140_000 {
            "RESET ALL; SET client_connection_check_interval = 2000;"
        } else {
            "RESET ALL;"
        };
        Ok(Session {
            client,
            target: target.clone(),
            ledger,
            run_id: run_id.to_string(),
            operator: crate::core::host::identity::os_user(),
            account: crate::core::host::identity::account(),
            host: crate::core::host::identity::host_name(),
            pid,
            reset,
            checks_connection: version >= 140_000,
            lock_timeout_ms: env.lock_timeout.as_millis() as u64,
            statement_timeout_ms: env.statement_timeout.as_millis() as u64,
            lock_retries: env.lock_retries,
            lock_retry_backoff: env.lock_retry_backoff,
            events,
            insert: None,
            watch_conn: Arc::new(Mutex::new(None)),
            interrupt: None,
            tool_tables: std::collections::HashMap::new(),
            sentinel: env.queue_limit.map(|d| super::sentinel::Sentinel::new(d.as_millis() as u64)),
            armed: false,
            replica_lag: env.max_replica_lag.map(|l| (l, env.replica_lag_timeout)),
            // The sentinel and the replica waits act between migrations, so nothing may be
            // on its way then.
            ahead: ahead::Ahead::new(env.queue_limit.is_some() || env.max_replica_lag.is_some()),
            prepared: prepared::Prepared::default(),
            unprepared: std::collections::HashSet::new(),
        })
    }

    pub fn emit(&self, e: Event) {
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }

    async fn insert_stmt(&mut self) -> Result<tokio_postgres::Statement> {
        if self.insert.is_none() {
            self.insert = Some(self.ledger.prepare_insert(&self.client).await?);
        }
        Ok(self.insert.clone().expect("prepared above"))
    }

    fn ledger_row<'a>(
        &'a self,
        step: &'a Change,
        duration_ms: Option<i64>,
        success: bool,
        failed_at_statement: Option<i32>,
    ) -> NewRow<'a> {
        NewRow {
            version: &step.version,
            name: &step.name,
            checksum: &step.checksum,
            up_sql: &step.up_sql,
            down_sql: step.down_sql.as_deref(),
            direction: step.direction,
            os_user: &self.operator,
            client_host: &self.host,
            duration_ms,
            run_id: &self.run_id,
            success,
            failed_at_statement,
            error: None,
        }
    }

    /// Reports a statement that finished: an event now, a line in the report.
    pub fn statement_done(
        &self,
        report: &mut MigrationReport,
        version: &str,
        index: usize,
        line: usize,
        rows: u64,
        duration_ms: u64,
    ) {
        self.emit(Event::StatementFinished {
            version: version.to_string(),
            index: index + 1,
            line,
            rows,
            duration_ms,
        });
        report.statements.push(StatementReport {
            index: index + 1,
            line,
            rows,
            duration_ms,
            locks: Vec::new(),
        });
    }

    async fn pause(&self, d: Duration) {
        match &self.interrupt {
            Some(i) => i.pause(d).await,
            None => tokio::time::sleep(d).await,
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.min(6);
        (self.lock_retry_backoff * factor).min(Duration::from_secs(60))
    }

    /// Runs one step, retrying on lock timeout as the environment allows.
    pub async fn run_change(
        &mut self,
        step: &Change,
    ) -> std::result::Result<MigrationReport, ChangeFailure> {
        self.run_change_then(step, &[]).await
    }

    /// `run_change`, with the steps that come after it: those that can are sent behind it
    /// (see `migration/ahead`).
    pub async fn run_change_then(
        &mut self,
        step: &Change,
        next: &[Change],
    ) -> std::result::Result<MigrationReport, ChangeFailure> {
        self.emit(Event::MigrationStarted {
            version: step.version.clone(),
            name: step.name.clone(),
            direction: step.direction.as_str().into(),
            transactional: step.transactional,
            statements: step.statements.len(),
            source: step.source.into(),
        });
        let finished = |s: &Self, report: MigrationReport| {
            s.emit(Event::MigrationFinished {
                version: step.version.clone(),
                direction: step.direction.as_str().into(),
                duration_ms: report.duration_ms,
                rehearsed: false,
            });
            report
        };
        if let Some(call) = &step.code {
            let report = self.run_tool(step, call).await?;
            return Ok(finished(self, report));
        }
        // The layout's history table is made (or checked) before the change's transaction.
        if let Err(e) = self.prepare_tool_table(step).await {
            return Err(self.failed(step, ChangeFailure::plain(e, Self::new_report(step, 0))));
        }
        let mut attempt = 0;
        let mut victims = 0;
        loop {
            self.armed = true;
            let result = if step.transactional {
                self.try_transactional(step, attempt, next).await
            } else {
                self.try_statementwise(step, attempt).await
            };
            self.armed = false;
            victims += self.sentinel.as_ref().and_then(|s| s.take()).map_or(0, |t| t.victims.len());
            let result = result.map_err(|a| a.with_victims(victims as u32));
            match result {
                Ok(mut report) => {
                    report.queue_victims = victims as u32;
                    return Ok(finished(self, report));
                }
                Err(Attempt::LockTimeout(mut f)) if attempt < self.lock_retries => {
                    self.name_blockers(step, &mut f).await;
                    attempt += 1;
                    let wait = self.backoff(attempt - 1);
                    self.emit(Event::LockTimeout {
                        version: step.version.clone(),
                        attempt,
                        retries: self.lock_retries,
                        retry_in_ms: wait.as_millis() as u64,
                        blockers: f.blockers.clone(),
                    });
                    self.pause(wait).await;
                }
                Err(Attempt::LockTimeout(mut f)) => {
                    self.name_blockers(step, &mut f).await;
                    let who = Blocker::list(&f.blockers);
                    f.error = Error::database(format!(
                        "{} after {} {}: blocked by {who}",
                        f.error.message,
                        attempt + 1,
                        if attempt == 0 { "attempt" } else { "attempts" }
                    ));
                    return Err(self.failed(step, f));
                }
                Err(Attempt::Failed(f)) => return Err(self.failed(step, f)),
            }
        }
    }

    /// When the watcher saw nobody (the lock timeout beat its delay), who holds a lock the
    /// statement needed, asked now that its transaction is rolled back.
    async fn name_blockers(&self, step: &Change, f: &mut ChangeFailure) {
        let Some(st) = f.statement.and_then(|i| step.statements.get(i)) else { return };
        if f.blockers.is_empty() {
            let needs = crate::core::data::lint::locks::locks_needed([st]);
            f.blockers = super::watch::who_holds(&self.client, &needs).await;
        }
    }

    fn failed(&self, step: &Change, f: ChangeFailure) -> ChangeFailure {
        self.emit(Event::MigrationFailed {
            version: step.version.clone(),
            statement: f.statement.map(|i| i + 1),
            line: f.line,
            error: f.error.message.clone(),
        });
        f
    }

    fn new_report(step: &Change, attempt: u32) -> MigrationReport {
        MigrationReport {
            version: step.version.clone(),
            name: step.name.clone(),
            direction: step.direction.as_str().into(),
            source: step.source.into(),
            transactional: step.transactional,
            rehearsed: false,
            duration_ms: 0,
            lock_retries: attempt,
            queue_victims: 0,
            statements: Vec::new(),
            lock_summary: Vec::new(),
            tool: None,
        }
    }

    fn statement_error(
        &self,
        step: &Change,
        index: usize,
        e: &tokio_postgres::Error,
        blockers: Vec<Blocker>,
        report: MigrationReport,
    ) -> Attempt {
        let trip = self.sentinel.as_ref().and_then(|s| s.tripped());
        if let (Some(trip), Some(&SqlState::QUERY_CANCELED)) = (trip, e.code()) {
            return Self::stepped_out(step, index, trip, self.sentinel_limit(), report);
        }
        let s = &step.statements[index];
        let mut message = format!(
            "{}:{} (statement {} of {}): {}",
            step.origin,
            s.line,
            index + 1,
            step.statements.len(),
            describe_pg(e)
        );
        if e.is_closed() {
            message.push_str("; the connection to the server was lost");
        }
        let f = ChangeFailure {
            error: Error::database(message),
            statement: Some(index),
            line: Some(s.line),
            blockers,
            report,
        };
        if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
            Attempt::LockTimeout(f)
        } else {
            Attempt::Failed(f)
        }
    }

    fn sentinel_limit(&self) -> u64 {
        self.sentinel.as_ref().map_or(0, |s| s.limit_ms)
    }

    /// The sentinel cancelled statement `index` while it waited for its lock with sessions
    /// queued behind it: a lock retry like a timeout, naming the victims and the blocker.
    fn stepped_out(
        step: &Change,
        index: usize,
        trip: super::sentinel::Trip,
        limit_ms: u64,
        report: MigrationReport,
    ) -> Attempt {
        let s = &step.statements[index];
        let message = format!(
            "{}:{} (statement {} of {}): stepped out of the lock queue: {} session(s) waited behind it longer than queue_limit = {limit_ms} ms ({})",
            step.origin,
            s.line,
            index + 1,
            step.statements.len(),
            trip.victims.len(),
            crate::core::record::report::Queued::list(&trip.victims)
        );
        Attempt::LockTimeout(ChangeFailure {
            error: Error::database(message),
            statement: Some(index),
            line: Some(s.line),
            blockers: trip.blockers,
            report,
        })
    }

    /// Executes one statement; if it runs past a short delay, a second connection watches
    /// pg_blocking_pids and reports who blocks it.
    pub async fn exec_watched(
        &self,
        version: &str,
        index: usize,
        sql: &str,
    ) -> (std::result::Result<u64, tokio_postgres::Error>, Vec<Blocker>) {
        let at = super::watch::At::Statement(index + 1);
        let (res, blockers) = self.watched(version, at, self.client.simple_query(sql)).await;
        let rows = res.map(|msgs| {
            msgs.iter()
                .map(|m| match m {
                    SimpleQueryMessage::CommandComplete(n) => *n,
                    _ => 0,
                })
                .sum()
        });
        (rows, blockers)
    }

    /// Opens the run's second connection in the background, so the watch and the snapshot
    /// after the change find it ready.
    pub(crate) fn prewarm_spare(&self) {
        let (conn, target, run_id) =
            (self.watch_conn.clone(), self.target.clone(), self.run_id.clone());
        tokio::spawn(async move {
            super::watch::connect_spare(&mut *conn.lock().await, &target, &run_id).await;
        });
    }

    /// The schema as it is now, read over both of the run's connections when the second
    /// one is open (each half is server time), else over the session's.
    pub(crate) async fn snapshot(&self) -> Result<String> {
        let schema = self.ledger.schema();
        let spare = self.watch_conn.lock().await;
        match spare.as_ref() {
            Some(b) => crate::core::db::schema::snapshot_on_two(&self.client, b, schema).await,
            None => crate::core::db::schema::snapshot(&self.client, schema).await,
        }
    }

    /// Awaits `work` (our backend busy with statement `at`) with the watch started: it
    /// looks once `work` runs past a delay, and reports who blocks it.
    async fn watched<T>(
        &self,
        version: &str,
        at: super::watch::At,
        work: impl std::future::Future<Output = T>,
    ) -> (T, Vec<Blocker>) {
        let observed: Arc<std::sync::Mutex<Vec<Blocker>>> = Arc::default();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let delay = Duration::from_millis((self.lock_timeout_ms / 3).clamp(20, 100));
        let sentinel = self.sentinel.clone().filter(|_| self.armed);
        if let Some(s) = &sentinel {
            s.take();
        }
        let watcher = tokio::spawn(super::watch::watch(
            self.target.clone(),
            self.run_id.clone(),
            super::watch::Watched::Backend(self.pid),
            self.watch_conn.clone(),
            delay,
            observed.clone(),
            stop_rx,
            self.events.clone().map(|tx| (tx, version.to_string(), at)),
            sentinel,
        ));
        let out = work.await;
        let _ = stop_tx.send(());
        let _ = watcher.await;
        let blockers = observed.lock().map(|v| v.clone()).unwrap_or_default();
        (out, blockers)
    }
}

pub enum Attempt {
    LockTimeout(ChangeFailure),
    Failed(ChangeFailure),
}

impl Attempt {
    /// The failure's report counts the sessions the sentinel let through so far.
    fn with_victims(mut self, n: u32) -> Attempt {
        match &mut self {
            Attempt::LockTimeout(f) | Attempt::Failed(f) => f.report.queue_victims = n,
        }
        self
    }

    /// A failure outside any statement (BEGIN, the ledger, COMMIT).
    fn plain(error: Error, report: MigrationReport) -> Attempt {
        Attempt::Failed(ChangeFailure {
            error,
            statement: None,
            line: None,
            blockers: vec![],
            report,
        })
    }
}
