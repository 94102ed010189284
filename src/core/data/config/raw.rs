//! The file's shape as serde reads it; mod.rs turns it into validated types.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{BackupKind, BackupMode, LintGate, TicketPolicy, Tier};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) project: Option<RawProject>,
    #[serde(default)]
    pub(super) environments: BTreeMap<String, RawEnvironment>,
    pub(super) lint: Option<RawLint>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLint {
    #[serde(default)]
    pub(super) rules: BTreeMap<String, String>,
    pub(super) development: Option<BTreeMap<String, String>>,
    pub(super) testing: Option<BTreeMap<String, String>>,
    pub(super) production: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProject {
    pub(super) name: Option<String>,
    pub(super) migrations: Option<String>,
    pub(super) layout: Option<String>,
    pub(super) ledger_schema: Option<String>,
    pub(super) tool_history: Option<bool>,
    pub(super) tool: Option<String>,
    pub(super) tool_dir: Option<String>,
    pub(super) tool_commands: Option<RawToolCommands>,
    pub(super) lock_timeout: Option<String>,
    pub(super) statement_timeout: Option<String>,
}

/// `[project.tool_commands]` for `tool = "command"`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawToolCommands {
    pub(super) list: String,
    pub(super) applied: String,
    pub(super) up: String,
    pub(super) down: String,
    pub(super) base: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEnvironment {
    pub(super) tier: Option<Tier>,
    pub(super) url: Option<String>,
    pub(super) url_env: Option<String>,
    pub(super) sslmode: Option<String>,
    pub(super) sslrootcert: Option<String>,
    pub(super) sslcert: Option<String>,
    pub(super) sslkey: Option<String>,
    pub(super) lock_timeout: Option<String>,
    pub(super) statement_timeout: Option<String>,
    pub(super) lock_retries: Option<u32>,
    pub(super) lock_retry_backoff: Option<String>,
    pub(super) queue_limit: Option<String>,
    pub(super) max_replica_lag: Option<String>,
    pub(super) replica_lag_timeout: Option<String>,
    pub(super) lint_gate: Option<LintGate>,
    pub(super) backup: Option<RawBackup>,
    pub(super) approvals: Option<RawApprovals>,
    pub(super) maintenance_window: Option<RawWindow>,
    #[serde(default)]
    pub(super) seeds: Vec<String>,
    pub(super) hooks: Option<RawHooks>,
    pub(super) report_dir: Option<String>,
    pub(super) require_tls: Option<bool>,
    pub(super) dry_run: Option<super::DryRunMode>,
    pub(super) promote_from: Option<String>,
    pub(super) promotion_override: Option<bool>,
    pub(super) fleet: Option<RawFleet>,
    pub(super) rollout: Option<RawRollout>,
}

/// `fleet = { file | urls | query + url_env }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFleet {
    pub(super) file: Option<String>,
    pub(super) urls: Option<Vec<String>>,
    pub(super) query: Option<String>,
    pub(super) url_env: Option<String>,
}

/// `rollout = { canary, waves, parallel, max_failures }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRollout {
    pub(super) canary: Option<usize>,
    pub(super) waves: Option<Vec<usize>>,
    pub(super) parallel: Option<usize>,
    pub(super) max_failures: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBackup {
    pub(super) mode: Option<BackupMode>,
    pub(super) kind: Option<BackupKind>,
    pub(super) dir: Option<String>,
    pub(super) keep_days: Option<u32>,
    pub(super) keep_count: Option<u32>,
    pub(super) max_age: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApprovals {
    pub(super) required: Option<u8>,
    pub(super) ticket: Option<TicketPolicy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWindow {
    pub(super) days: Option<Vec<String>>,
    pub(super) start: String,
    pub(super) end: String,
    pub(super) timezone: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHooks {
    #[serde(default)]
    pub(super) pre_check: Vec<String>,
    #[serde(default)]
    pub(super) post_backup: Vec<String>,
    #[serde(default)]
    pub(super) pre_apply: Vec<String>,
    #[serde(default)]
    pub(super) post_apply: Vec<String>,
    #[serde(default)]
    pub(super) post_verify: Vec<String>,
    #[serde(default)]
    pub(super) on_failure: Vec<String>,
    pub(super) timeout: Option<String>,
}
