//! The lint gate before an apply: findings at or above the environment's gate refuse the
//! run, unless the operator overrides with a reason, which the run records.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

use crate::core::data::config::{Environment, LintGate, Project};
use crate::core::data::lint::{self, Finding, Input, LintOptions, Severity, TableSize};
use crate::core::data::plan::Item;
use crate::core::error::{Error, Refusal, Result};

/// A finding the operator passed the lint gate with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverriddenFinding {
    pub file: String,
    pub line: usize,
    pub rule: String,
    pub severity: String,
}

/// The lint gate's override: the reason and the findings it let through (recorded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LintOverride {
    pub reason: String,
    #[serde(default)]
    pub findings: Vec<OverriddenFinding>,
}

/// The severity at which the environment's gate refuses, if it has one.
pub fn threshold(env: &Environment) -> Option<Severity> {
    match env.lint_gate {
        LintGate::Off => None,
        LintGate::Warning => Some(Severity::Warning),
        LintGate::Error => Some(Severity::Error),
    }
}

/// The options every face lints an environment's migrations with: the project's rule
/// levels for the environment's tier and its lock_timeout. Without an environment (a lone
/// `sluice lint`), the project's levels alone.
pub fn lint_options(project: Option<&Project>, env: Option<&Environment>) -> LintOptions {
    LintOptions {
        levels: project.map(|p| p.lint_levels(env.map(|e| e.tier))).unwrap_or_default(),
        lock_timeout_ms: env.map(|e| e.lock_timeout.as_millis() as u64),
        ..LintOptions::default()
    }
}

/// Adds what the live server knows when the run starts: its version, every relation that
/// exists (a table missing from it is one the run creates: new and empty), and every
/// table's size (pg_class estimates: no locks, no scans), by schema-qualified name and by
/// bare name (the one in `public` when two schemas share it). Rows are the larger of
/// ANALYZE's estimate and the statistics system's live count: a table loaded but never
/// analyzed has reltuples -1 and no pages, and taking that for "empty" made a finding's
/// level depend on whether autovacuum had run yet.
pub async fn add_server_context(client: &Client, opts: &mut LintOptions) -> Result<()> {
    let v: i32 =
        client.query_one("SELECT current_setting('server_version_num')::int", &[]).await?.get(0);
    opts.server_version = Some(v);
    let rows = client
        .query(
            "SELECT lower(n.nspname), lower(c.relname), c.relkind IN ('r', 'p', 'm'),
                    greatest(c.reltuples, coalesce(s.n_live_tup, 0), 0)::float8,
                    c.relpages::int8 * current_setting('block_size')::int8
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg_toast%'",
            &[],
        )
        .await?;
    let mut existing = HashSet::new();
    for r in rows {
        let (schema, name, has_rows): (String, String, bool) = (r.get(0), r.get(1), r.get(2));
        existing.insert(format!("{schema}.{name}"));
        existing.insert(name.clone());
        if !has_rows {
            continue;
        }
        let size = TableSize { rows: r.get(3), bytes: r.get(4) };
        opts.table_sizes.insert(format!("{schema}.{name}"), size);
        if schema == "public" || !opts.table_sizes.contains_key(&name) {
            opts.table_sizes.insert(name, size);
        }
    }
    // Schemas, extensions, types and functions: what a DROP ... CASCADE, DROP SCHEMA or
    // DROP EXTENSION may name.
    let others = client
        .query(
            "SELECT lower(nspname), NULL FROM pg_namespace
             UNION ALL SELECT lower(extname), NULL FROM pg_extension
             UNION ALL SELECT lower(n.nspname), lower(t.typname) FROM pg_type t
               JOIN pg_namespace n ON n.oid = t.typnamespace
               WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
             UNION ALL SELECT lower(n.nspname), lower(p.proname) FROM pg_proc p
               JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')",
            &[],
        )
        .await?;
    for r in others {
        let (schema, name): (String, Option<String>) = (r.get(0), r.get(1));
        match name {
            Some(name) => {
                existing.insert(format!("{schema}.{name}"));
                existing.insert(name);
            }
            None => {
                existing.insert(schema);
            }
        }
    }
    opts.existing = Some(existing);
    Ok(())
}

/// The options for an environment with the server's context read on `client`.
pub async fn connected_options(
    project: &Project,
    env: &Environment,
    client: &Client,
) -> Result<LintOptions> {
    let mut opts = lint_options(Some(project), Some(env));
    add_server_context(client, &mut opts).await?;
    Ok(opts)
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
    let opts = connected_options(project, env, client).await?;
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
) -> Result<Option<LintOverride>> {
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
        Some(reason) if !reason.trim().is_empty() => Ok(Some(LintOverride {
            reason: reason.to_string(),
            findings: blocking
                .iter()
                .map(|f| OverriddenFinding {
                    file: f.file.clone(),
                    line: f.line,
                    rule: f.rule.to_string(),
                    severity: f.severity.as_str().to_string(),
                })
                .collect(),
        })),
        Some(_) => Err(Error::input("an override of the lint gate needs a reason, e.g. \"CHG-4411: table is empty\"")
            .with_refusal(Refusal::ReasonMissing)),
        None => Err(Error::refused(
            Refusal::LintGate,
            format!(
                "the lint gate ({}) refuses: {}{more}; fix them, allow them in the SQL with `-- sluice:allow <rule> <reason>`, or override the gate with a reason (recorded)",
                gate.as_str(),
                listed.join(", ")
            ),
        )),
    }
}
