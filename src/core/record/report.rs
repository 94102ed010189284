//! What a run tells the world: live events on a channel, and the report at the end.

use serde::{Deserialize, Serialize};

use crate::core::error::{Error, Refusal};

/// The stages of a guarded apply, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    PreChecks,
    Lint,
    Backup,
    DryRun,
    Apply,
}

impl Stage {
    /// The stage as the run's record spells it ("dry-run").
    pub fn id(self) -> &'static str {
        match self {
            Stage::PreChecks => "pre-checks",
            Stage::Lint => "lint",
            Stage::Backup => "backup",
            Stage::DryRun => "dry-run",
            Stage::Apply => "apply",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::PreChecks => "pre-checks",
            Stage::Lint => "lint",
            Stage::Backup => "backup",
            Stage::DryRun => "dry run",
            Stage::Apply => "apply",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageOutcome {
    Passed,
    /// Passed with something the operator should read (warnings, an override).
    Warned,
    /// Not needed here (no backup by policy, lint gate off).
    Skipped,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageResult {
    pub stage: Stage,
    pub outcome: StageOutcome,
    /// One line: "14 passed, 2 warnings", "3 findings, 1 error overridden: CHG-1".
    pub summary: String,
    pub duration_ms: u64,
    /// Why a failed stage refused, where an operator can act on it (override, confirm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
}

/// A session that blocks one of ours, as pg_blocking_pids and pg_stat_activity tell it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Blocker {
    pub pid: i32,
    pub user: String,
    pub application_name: String,
    pub state: String,
    pub query: String,
    pub transaction_age_s: f64,
}

/// A session that waited behind one of our statements in a lock's queue.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Queued {
    pub pid: i32,
    pub user: String,
    pub application_name: String,
    pub query: String,
    /// How long it had waited for its lock when sluice stepped out of the queue.
    pub waited_ms: f64,
}

impl Queued {
    /// "pid 7 (app) 61 ms, pid 9 (api) 55 ms" for a message.
    pub fn list(queued: &[Queued]) -> String {
        let each: Vec<String> = queued
            .iter()
            .map(|q| format!("pid {} ({}) {:.0} ms", q.pid, q.application_name, q.waited_ms))
            .collect();
        each.join(", ")
    }
}

impl Blocker {
    /// "pid 1 (...): ...; pid 2 (...): ..." for a lock-timeout message, or why none is named.
    pub fn list(blockers: &[Blocker]) -> String {
        if blockers.is_empty() {
            return "no blocker was seen (the lock timeout is shorter than the watch delay)".into();
        }
        blockers.iter().map(|b| b.to_string()).collect::<Vec<_>>().join("; ")
    }
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} ({}{}, {}, transaction open {:.0}s): {}",
            self.pid,
            self.user,
            if self.application_name.is_empty() {
                String::new()
            } else {
                format!(" via {}", self.application_name)
            },
            self.state,
            self.transaction_age_s,
            self.query.replace(char::is_whitespace, " ")
        )
    }
}

/// Progress of a run, sent as it happens.
/// One row of pg_stat_progress_*: the command, its phase, and work done of total
/// (blocks, or tuples where the phase counts those).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandProgress {
    pub command: String,
    pub phase: String,
    pub done: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// `max_replica_lag`: the run waits for a standby to catch up (about every second).
    ReplicaLag {
        version: String,
        standby: String,
        lag_s: f64,
        limit_ms: u64,
        waited_ms: u64,
    },
    /// A batched backfill's progress (about every second): rows touched, keys passed, the
    /// table's estimated size, the rate and what it leaves to go.
    Backfill {
        version: String,
        index: usize,
        rows_done: u64,
        keys_done: u64,
        estimate: Option<u64>,
        keys_per_s: f64,
        eta_s: Option<u64>,
    },
    /// `queue_limit`: sessions waited behind our statement's lock request longer than the
    /// limit; sluice cancelled its statement to let them through and will try again.
    QueueLimit {
        version: String,
        limit_ms: u64,
        victims: Vec<Queued>,
        blockers: Vec<Blocker>,
    },
    RunStarted {
        run_id: String,
        action: String,
        migrations: usize,
    },
    MigrationStarted {
        version: String,
        name: String,
        direction: String,
        transactional: bool,
        statements: usize,
        source: String,
    },
    StatementFinished {
        version: String,
        index: usize,
        line: usize,
        rows: u64,
        duration_ms: u64,
    },
    Waiting {
        version: String,
        index: usize,
        blockers: Vec<Blocker>,
    },
    /// Every half second while a statement runs past the watch delay: how long it has
    /// run, what PostgreSQL reports of its progress (CREATE INDEX, CLUSTER / VACUUM FULL,
    /// VACUUM, ANALYZE), and the sessions waiting on a lock our statement holds or wants.
    Progress {
        version: String,
        index: usize,
        elapsed_ms: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        command: Option<CommandProgress>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        blocking: Vec<Blocker>,
    },
    LockTimeout {
        version: String,
        attempt: u32,
        retries: u32,
        retry_in_ms: u64,
        blockers: Vec<Blocker>,
    },
    MigrationFinished {
        version: String,
        direction: String,
        duration_ms: u64,
        /// Run in a dry run and rolled back, not applied.
        rehearsed: bool,
    },
    MigrationFailed {
        version: String,
        statement: Option<usize>,
        line: Option<usize>,
        error: String,
    },
    NotRehearsed {
        version: String,
        reason: String,
    },
    /// Something the operator should know that changes nothing in the run.
    Notice {
        message: String,
    },
    PreChecks {
        checks: Vec<crate::core::guard::precheck::Check>,
    },
    BackupStarted {
        directory: String,
    },
    BackupProgress {
        bytes: u64,
        bytes_per_s: u64,
    },
    BackupFinished {
        path: String,
        bytes: u64,
        duration_ms: u64,
        pruned: usize,
    },
    StageStarted {
        stage: Stage,
    },
    StageFinished {
        result: StageResult,
    },
    RunFinished {
        run_id: String,
        outcome: String,
    },
}

pub type EventSender = tokio::sync::mpsc::UnboundedSender<Event>;

/// A lock a statement requests on an existing table (its indexes, TOAST table and a
/// rewrite's new heap count as the table), as the dry run found it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LockTaken {
    /// Schema-qualified: public.orders.
    pub relation: String,
    /// Serialized as PostgreSQL's docs write it: ACCESS EXCLUSIVE, SHARE, ROW EXCLUSIVE...
    pub mode: crate::core::data::sql::LockMode,
    pub source: LockSource,
    /// The statement rewrote the table (a new file with its rows) under this lock.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rewrite: bool,
}

/// Where a dry run's lock comes from.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LockSource {
    /// pg_locks showed the statement take it.
    Observed,
    /// The dry run's transaction already held it (an earlier statement or migration took
    /// it), so pg_locks cannot show it again: the statement's known lock level, from the
    /// table measured on the server in the lint's tests.
    Statement,
}

impl LockTaken {
    /// "ACCESS EXCLUSIVE on public.orders (rewrite of public.orders)".
    pub fn describe(&self) -> String {
        let mut out = format!("{} on {}", self.mode, self.relation);
        if self.rewrite {
            out.push_str(&format!(" (rewrite of {})", self.relation));
        }
        if self.source == LockSource::Statement {
            out.push_str(" (held already in the dry run; the statement's known lock)");
        }
        out
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StatementReport {
    pub index: usize,
    pub line: usize,
    pub rows: u64,
    pub duration_ms: u64,
    /// Locks this statement took that the run did not hold before (dry run only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locks: Vec<LockTaken>,
}

/// One run of a code tool (Knex, Alembic) for one migration.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ToolRun {
    /// As an operator would type it: "knex migrate:up 20240101_create.js".
    pub command: String,
    /// The exit code; None when a signal ended it (a cancel).
    pub exit_code: Option<i32>,
    /// What it printed (its standard output, then its standard error), the last 16 KB.
    pub output: String,
    /// The schema it left against the one before it ran (sluice's snapshot diff).
    pub schema_diff: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MigrationReport {
    pub version: String,
    pub name: String,
    pub direction: String,
    /// Where the SQL came from: "file" or "ledger"; or the code tool that ran it ("knex").
    pub source: String,
    pub transactional: bool,
    pub rehearsed: bool,
    pub duration_ms: u64,
    pub lock_retries: u32,
    /// Sessions that waited behind this migration's lock requests past `queue_limit`, over
    /// all its attempts (each trip cancelled the statement and let them through).
    #[serde(skip_serializing_if = "is_zero")]
    pub queue_victims: u32,
    pub statements: Vec<StatementReport>,
    /// Dry run: "ACCESS EXCLUSIVE on public.orders for 1.8 s" (held until the migration's
    /// transaction would commit); for a migration not rehearsed, the locks it would take.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lock_summary: Vec<String>,
    /// A code tool's migration: the command sluice ran, how it ended, what it printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<ToolRun>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportError {
    pub kind: String,
    pub exit_code: i32,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blockers: Vec<Blocker>,
    /// What the operator can do about it (each face phrases it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
}

impl ReportError {
    pub fn from_error(e: &Error, blockers: Vec<Blocker>) -> ReportError {
        ReportError {
            kind: e.kind.as_str().into(),
            exit_code: e.exit_code(),
            message: e.message.clone(),
            blockers,
            refusal: e.refusal.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: String,
    pub environment: String,
    pub action: String,
    /// "done", "failed", "nothing-to-do", "rehearsed".
    pub outcome: String,
    pub migrations: Vec<MigrationReport>,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<crate::core::guard::backup::BackupInfo>,
    /// Basic verify after a change.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verify: Vec<crate::core::guard::precheck::Check>,
    /// Dry run: the schema before and after, as a unified diff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_diff: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ReportError>,
    /// The guarded run's stages as they went.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageResult>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prechecks: Vec<crate::core::guard::precheck::Check>,
    /// Guards the operator overrode, each with its reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
    /// A dry run inside an apply (the console's wizard rehearses before it applies).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rehearsal: Vec<MigrationReport>,
    /// Second approvers who redeemed a code for this run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<crate::core::guard::approval::Approval>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// Sessions the operator terminated because they blocked the run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub terminated: Vec<String>,
    /// SQL run to settle a failed migration (`resolve`): what undid the statements that
    /// ran, or the INVALID index dropped before a retry.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compensated: Vec<String>,
    /// Where the time went outside the stages.
    pub timings: Timings,
}

/// The parts of a run no stage covers, in milliseconds (0.1 ms resolution): with the
/// stages' durations they make up the run's time.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Reading the folder, connecting, the ledger lock, the run's row, planning.
    pub open_ms: f64,
    /// The migrations themselves.
    pub migrations_ms: f64,
    /// Seeds, hooks and the verify after a change.
    pub verify_ms: f64,
    /// The schema snapshot kept after a change, the run's end in the ledger, the unlock.
    pub snapshot_ms: f64,
    /// The run's report files (not in the files themselves: they are written by then).
    pub record_ms: f64,
}

/// Milliseconds since `t`, to 0.1 ms.
pub fn ms_since(t: std::time::Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 10_000.0).round() / 10.0
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Override {
    /// "lint", "maintenance-window", "drift", "out-of-order", "resolve <how>".
    pub guard: String,
    pub reason: String,
    /// What was overridden: the findings, the window...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub what: Vec<String>,
}

impl RunReport {
    pub fn exit_code(&self) -> i32 {
        self.error.as_ref().map_or(0, |e| e.exit_code)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
