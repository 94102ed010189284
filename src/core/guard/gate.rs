//! The lint gate before an apply: findings at or above the environment's gate refuse the
//! run, unless the operator overrides with a reason, which the run records.

use serde_json::json;
use tokio_postgres::Client;

use crate::core::data::config::{Environment, LintGate, Project};
use crate::core::data::lint::{self, Finding, Input, Options, Severity, TableSize};
use crate::core::data::plan::Item;
use crate::core::error::{Error, Result};

/// The severity at which the environment's gate refuses, if it has one.
pub fn threshold(env: &Environment) -> Option<Severity> {
    match env.lint_gate {
        LintGate::Off => None,
        LintGate::Warning => Some(Severity::Warning),
        LintGate::Error => Some(Severity::Error),
    }
}

/// Lints the pending migrations as they will run, with the live server's context.
pub async fn findings(
    project: &Project,
    env: &Environment,
    client: &Client,
    pending: &[Item],
) -> Result<Vec<Finding>> {
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let mut opts = Options {
        levels: project.lint_levels(Some(env.tier)),
        lock_timeout_ms: Some(env.lock_timeout.as_millis() as u64),
        ..Options::default()
    };
    let v: i32 =
        client.query_one("SELECT current_setting('server_version_num')::int", &[]).await?.get(0);
    opts.server_version = Some(v);
    for r in client
        .query(
            "SELECT lower(c.relname), greatest(c.reltuples, 0)::float8,
                    c.relpages::int8 * current_setting('block_size')::int8
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
            &[],
        )
        .await?
    {
        opts.table_sizes.insert(r.get(0), TableSize { rows: r.get(1), bytes: r.get(2) });
    }
    let inputs: Vec<Input> =
        pending.iter().filter_map(|i| i.migration.as_ref()).map(Input::from_migration).collect();
    Ok(lint::lint(&inputs, &opts).findings)
}

/// The gate's verdict on the findings: pass, pass by the operator's recorded override, or
/// refuse with the findings named.
pub fn decide(
    env: &Environment,
    findings: &[Finding],
    override_reason: Option<&str>,
) -> Result<Option<serde_json::Value>> {
    let Some(gate) = threshold(env) else { return Ok(None) };
    let blocking: Vec<&Finding> = findings.iter().filter(|f| f.severity >= gate).collect();
    if blocking.is_empty() {
        return Ok(None);
    }
    let listed: Vec<String> = blocking
        .iter()
        .take(5)
        .map(|f| {
            let file = f.file.rsplit('/').next().unwrap_or(&f.file);
            format!("{file}:{} {} ({})", f.line, f.rule, f.severity.as_str())
        })
        .collect();
    let more = if blocking.len() > 5 {
        format!(" and {} more", blocking.len() - 5)
    } else {
        String::new()
    };
    match override_reason {
        Some(reason) if !reason.trim().is_empty() => Ok(Some(json!({
            "reason": reason,
            "findings": blocking.iter().map(|f| json!({
                "file": f.file, "line": f.line, "rule": f.rule, "severity": f.severity.as_str(),
            })).collect::<Vec<_>>(),
        }))),
        Some(_) => Err(Error::input("--override-lint needs a reason, e.g. --override-lint \"CHG-4411: table is empty\"")),
        None => Err(Error::guard(format!(
            "the lint gate ({}) refuses: {}{more}; fix them, allow them in the SQL with `-- sluice:allow <rule> <reason>`, or pass --override-lint \"reason\" (recorded)",
            gate.as_str(),
            listed.join(", ")
        ))),
    }
}
