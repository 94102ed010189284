//! What every run leaves on disk: a Markdown and a JSON report in the environment's report
//! folder, and a line in the append-only, hash-chained JSONL audit log (see `chain`); all
//! private to their owner.

pub mod chain;

use std::path::PathBuf;

use serde_json::json;

use crate::core::data::config::paths::{audit_log, report_dir};
use crate::core::data::config::Environment;
use crate::core::error::Result;
use crate::core::record::report::RunReport;

/// Writes `<run_id>.md` and `<run_id>.json`, and appends the run to audit.jsonl.
/// A fleet run's record beside its databases' reports: every database's run id and outcome.
pub fn record_fleet(
    env: &Environment,
    report: &crate::core::record::fleet::FleetReport,
) -> Result<PathBuf> {
    let dir = report_dir(env)?;
    crate::core::host::private::create_dir(&dir)?;
    let path = dir.join(format!("fleet-{}.json", report.fleet_run));
    let pretty = serde_json::to_string_pretty(report).unwrap_or_default();
    crate::core::host::private::write(&path, pretty.as_bytes())?;
    Ok(path)
}

pub fn record(env: &Environment, report: &RunReport, operator: &str) -> Result<(PathBuf, PathBuf)> {
    let dir = report_dir(env)?;
    crate::core::host::private::create_dir(&dir)?;
    let json_path = dir.join(format!("{}.json", report.run_id));
    let md_path = dir.join(format!("{}.md", report.run_id));
    let body = json!({ "operator": operator, "tier": env.tier.to_string(), "report": report });
    let pretty = serde_json::to_string_pretty(&body).unwrap_or_default();
    crate::core::host::private::write(&json_path, pretty.as_bytes())?;
    crate::core::host::private::write(&md_path, markdown(env, report, operator).as_bytes())?;
    let log = audit_log()?;
    if let Some(parent) = log.parent() {
        crate::core::host::private::create_dir(parent)?;
    }
    let line = json!({
        "run_id": report.run_id, "environment": report.environment, "action": report.action,
        "outcome": report.outcome, "operator": operator, "duration_ms": report.duration_ms,
        "at": crate::core::host::identity::utc_timestamp(),
        "migrations": report.migrations.iter().map(|m| format!("{} {}", m.direction, m.version)).collect::<Vec<_>>(),
        "report": json_path,
    });
    chain::append(&log, line)?;
    Ok((md_path, json_path))
}

fn markdown(env: &Environment, r: &RunReport, operator: &str) -> String {
    let mut md = format!(
        "# sluice run {} · {} · {}\n\n| | |\n| --- | --- |\n| environment | {} ({}) |\n| operator | {operator} |\n| outcome | **{}** |\n| duration | {} ms |\n",
        r.run_id, r.action, r.environment, r.environment, env.tier, r.outcome, r.duration_ms
    );
    if let Some(b) = &r.backup {
        md.push_str(&format!(
            "| backup | `{}` ({} bytes, verified) |\n",
            b.path.display(),
            b.bytes
        ));
    }
    if let Some(t) = &r.ticket {
        md.push_str(&format!("| ticket | {t} |\n"));
    }
    for a in &r.approvals {
        md.push_str(&format!(
            "| second approver | {} (account {}) on {} (role {}, code issued {}) |\n",
            a.approver, a.account, a.host, a.db_user, a.issued_at
        ));
    }
    for t in &r.terminated {
        md.push_str(&format!("| blocker terminated | {t} |\n"));
    }
    for c in &r.compensated {
        md.push_str(&format!("| settling SQL run | `{}` |\n", c.replace('|', "\\|")));
    }
    if !r.stages.is_empty() {
        md.push_str("\n## Stages\n\n| stage | outcome | ms | |\n| --- | --- | --- | --- |\n");
        for s in &r.stages {
            md.push_str(&format!(
                "| {} | {:?} | {} | {} |\n",
                s.stage.as_str(),
                s.outcome,
                s.duration_ms,
                s.summary.replace('|', "\\|")
            ));
        }
    }
    if !r.overrides.is_empty() {
        md.push_str("\n## Overrides\n\n");
        for o in &r.overrides {
            md.push_str(&format!("- **{}**: {}", o.guard, o.reason));
            if !o.what.is_empty() {
                md.push_str(&format!(" ({})", o.what.join(", ")));
            }
            md.push('\n');
        }
    }
    if let Some(e) = &r.error {
        md.push_str(&format!("\n## Error\n\n{}\n", e.message));
        for b in &e.blockers {
            md.push_str(&format!("- blocked by {b}\n"));
        }
    }
    if !r.migrations.is_empty() {
        md.push_str("\n## Migrations\n\n| version | name | direction | source | ms | statements | locks |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        for m in &r.migrations {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                m.version,
                m.name,
                m.direction,
                m.source,
                m.duration_ms,
                m.statements.len(),
                m.lock_summary.join("; ")
            ));
        }
    }
    if !r.rehearsal.is_empty() {
        md.push_str("\n## Dry run before the apply\n\n| version | name | ms | locks |\n| --- | --- | --- | --- |\n");
        for m in &r.rehearsal {
            md.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                m.version,
                m.name,
                if m.rehearsed { m.duration_ms.to_string() } else { "not rehearsable".into() },
                m.lock_summary.join("; ")
            ));
        }
    }
    if !r.prechecks.is_empty() {
        md.push_str("\n## Pre-checks\n\n");
        for c in &r.prechecks {
            md.push_str(&format!("- {:?} **{}**: {}\n", c.outcome, c.name, c.figure));
        }
    }
    if !r.verify.is_empty() {
        md.push_str("\n## Verify\n\n");
        for c in &r.verify {
            md.push_str(&format!("- {:?} **{}**: {}\n", c.outcome, c.name, c.figure));
        }
    }
    if let Some(d) = r.schema_diff.as_ref().filter(|d| !d.is_empty()) {
        md.push_str(&format!("\n## Schema diff\n\n```diff\n{d}```\n"));
    }
    md
}
