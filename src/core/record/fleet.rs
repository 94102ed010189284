//! What a fleet run tells the world: each database's run (its id, outcome, error) and
//! why new starts stopped, written beside the databases' own reports.

use serde::Serialize;

/// One database's part in a fleet run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatabaseRun {
    pub database: String,
    pub position: usize,
    /// 0: the canary; then the waves in order; the last is the rest.
    pub wave: usize,
    /// The run's outcome (done, nothing-to-do, failed, refused...), or not-started when
    /// the failure budget was spent before its turn.
    pub outcome: String,
    pub run_id: Option<String>,
    pub migrations: usize,
    pub error: Option<String>,
    /// When it started and how long it took, from the fleet run's start.
    pub started_ms: Option<u64>,
    pub duration_ms: u64,
}

impl DatabaseRun {
    pub fn failed(&self) -> bool {
        !matches!(self.outcome.as_str(), "done" | "nothing-to-do" | "not-started")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    pub fleet_run: String,
    pub environment: String,
    pub action: String,
    pub shard: Option<String>,
    pub databases: Vec<DatabaseRun>,
    pub failed: usize,
    pub not_started: usize,
    /// Why new starts stopped, when they did.
    pub stopped: Option<String>,
    pub duration_ms: u64,
}

impl FleetReport {
    pub fn exit_code(&self) -> i32 {
        if self.failed > 0 || self.not_started > 0 {
            1
        } else {
            0
        }
    }
}
