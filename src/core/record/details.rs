//! What the runs table keeps of each run in its `details` column: one type that the run
//! writes as it goes and both faces read back, so no key is spelled in two places. The
//! shape is the one earlier versions wrote (old rows read back unchanged).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::report::{Override, ReportError, RunReport, StageResult};
use crate::core::data::config::Tier;
use crate::core::db::ledger::RunRow;
use crate::core::guard::approval::Approval;
use crate::core::guard::backup::BackupInfo;
use crate::core::guard::gate::LintOverride;
use crate::core::guard::hooks::{HookPoint, HookResult};
use crate::core::guard::precheck::Check;

/// One migration a run applied or rolled back, as the runs table lists it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MigrationSummary {
    pub version: String,
    pub name: String,
    pub direction: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub duration_ms: u64,
    #[serde(default)]
    pub lock_retries: u32,
}

/// What the command asked for: a target, a file, a failed migration to settle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// apply --to, rollback --to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// rollback --steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    /// restore: the backup file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// resolve: the failed migration, how it is settled, and whether compensating SQL runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compensate: Option<bool>,
    /// resolve, adopt: why, as the operator wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// adopt: the tool and its history table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
}

/// What `adopt` took over from another tool's history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Adopted {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_table: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adopted: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_checksum_differs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmatched: Vec<String>,
}

/// The hooks that ran, by the point of the run they ran at (keys `hooks_<point>`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Hooks {
    #[serde(rename = "hooks_pre_check", default, skip_serializing_if = "Vec::is_empty")]
    pub pre_check: Vec<HookResult>,
    #[serde(rename = "hooks_post_backup", default, skip_serializing_if = "Vec::is_empty")]
    pub post_backup: Vec<HookResult>,
    #[serde(rename = "hooks_pre_apply", default, skip_serializing_if = "Vec::is_empty")]
    pub pre_apply: Vec<HookResult>,
    #[serde(rename = "hooks_post_apply", default, skip_serializing_if = "Vec::is_empty")]
    pub post_apply: Vec<HookResult>,
    #[serde(rename = "hooks_post_verify", default, skip_serializing_if = "Vec::is_empty")]
    pub post_verify: Vec<HookResult>,
    #[serde(rename = "hooks_on_failure", default, skip_serializing_if = "Vec::is_empty")]
    pub on_failure: Vec<HookResult>,
}

impl Hooks {
    pub fn at_mut(&mut self, point: HookPoint) -> &mut Vec<HookResult> {
        match point {
            HookPoint::PreCheck => &mut self.pre_check,
            HookPoint::PostBackup => &mut self.post_backup,
            HookPoint::PreApply => &mut self.pre_apply,
            HookPoint::PostApply => &mut self.post_apply,
            HookPoint::PostVerify => &mut self.post_verify,
            HookPoint::OnFailure => &mut self.on_failure,
        }
    }

    /// Every hook that ran, with its point, in the order of a run.
    pub fn all(&self) -> Vec<(HookPoint, &HookResult)> {
        let points = [
            (HookPoint::PreCheck, &self.pre_check),
            (HookPoint::PostBackup, &self.post_backup),
            (HookPoint::PreApply, &self.pre_apply),
            (HookPoint::PostApply, &self.post_apply),
            (HookPoint::PostVerify, &self.post_verify),
            (HookPoint::OnFailure, &self.on_failure),
        ];
        points.into_iter().flat_map(|(p, hs)| hs.iter().map(move |h| (p, h))).collect()
    }
}

/// A run's record in the runs table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunDetails {
    /// The tier of the environment the run went through (a lower tier may not change a
    /// database a production-tier environment changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    /// The OS account that ran it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The fleet run this run was one database of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet_run: Option<String>,
    #[serde(flatten)]
    pub request: Request,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageResult>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prechecks: Vec<Check>,
    /// The reason given to run outside the maintenance window (also among `overrides`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_override: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lint_overridden: Option<LintOverride>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<Approval>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    #[serde(flatten)]
    pub hooks: Hooks,
    /// restore: the file restored, and the safety backup taken just before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_backup: Option<PathBuf>,
    #[serde(flatten)]
    pub adopted: Adopted,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub migrations: Vec<MigrationSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ReportError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Sessions the operator terminated because they blocked the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terminated: Vec<String>,
}

/// A run as the runs table holds it, with its details read back.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub run_id: String,
    pub environment: String,
    pub action: String,
    pub operator: String,
    pub client_host: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub outcome: String,
    pub details: RunDetails,
}

impl RunRecord {
    pub fn from_row(row: RunRow) -> RunRecord {
        RunRecord {
            details: RunDetails::parse(&row.details),
            run_id: row.run_id,
            environment: row.environment,
            action: row.action,
            operator: row.operator,
            client_host: row.client_host,
            started_at: row.started_at,
            finished_at: row.finished_at,
            outcome: row.outcome,
        }
    }
}

impl RunDetails {
    /// Reads a runs row's details; a row this version cannot read shows as empty rather
    /// than hiding the run.
    pub fn parse(json: &str) -> RunDetails {
        serde_json::from_str(json).unwrap_or_else(|e| {
            tracing::warn!("a run's details do not parse: {e}");
            RunDetails::default()
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// The end of a run: its outcome's facts from the report.
    pub fn finish(&mut self, report: &RunReport) {
        self.stages = report.stages.clone();
        self.migrations = report
            .migrations
            .iter()
            .map(|m| MigrationSummary {
                version: m.version.clone(),
                name: m.name.clone(),
                direction: m.direction.clone(),
                source: m.source.clone(),
                duration_ms: m.duration_ms,
                lock_retries: m.lock_retries,
            })
            .collect();
        self.error = report.error.clone();
        self.duration_ms = Some(report.duration_ms);
        self.terminated = report.terminated.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_written_by_an_earlier_version_reads_back() {
        let old = r#"{"to": "0007", "tier": "production", "account": "kim",
            "stages": [{"stage": "pre-checks", "outcome": "passed", "summary": "9 passed", "duration_ms": 4}],
            "prechecks": [{"name": "ledger lock", "outcome": "pass", "figure": "free"}],
            "window_override": null,
            "overrides": [{"guard": "lint", "reason": "CHG-1", "what": ["1_a.up.sql:2 ban-drop-table"]}],
            "lint_overridden": {"reason": "CHG-1", "findings": [{"file": "1_a.up.sql", "line": 2, "rule": "ban-drop-table", "severity": "error"}]},
            "hooks_post_verify": [{"stage": "post_verify", "command": "true", "ok": true, "exit_code": 0, "duration_ms": 3, "output": ""}],
            "migrations": [{"version": "0007", "name": "a", "direction": "up", "source": "file", "duration_ms": 12, "lock_retries": 1}],
            "error": null, "duration_ms": 40, "terminated": []}"#;
        let d = RunDetails::parse(old);
        assert_eq!(d.tier, Some(Tier::Production));
        assert_eq!(d.request.to.as_deref(), Some("0007"));
        assert_eq!(d.stages.len(), 1);
        assert_eq!(d.prechecks[0].name, "ledger lock");
        assert_eq!(d.overrides[0].guard, "lint");
        assert_eq!(d.lint_overridden.as_ref().map(|l| l.findings.len()), Some(1));
        assert_eq!(d.hooks.post_verify.len(), 1);
        assert_eq!(d.migrations[0].lock_retries, 1);
        assert_eq!(d.duration_ms, Some(40));
        let again = RunDetails::parse(&d.to_json());
        assert_eq!(again.migrations, d.migrations);
        assert_eq!(again.hooks.all().len(), 1);
        let v: serde_json::Value = serde_json::from_str(&d.to_json()).unwrap();
        assert_eq!(v["tier"], "production", "the ledger's tier query reads this key");
        assert!(v.get("hooks_post_verify").is_some(), "hooks keep their keys");
    }

    #[test]
    fn an_unreadable_row_is_empty_not_an_error() {
        assert!(RunDetails::parse("not json").stages.is_empty());
        assert!(RunDetails::parse(r#"{"stages": 3}"#).stages.is_empty());
    }
}
