//! `sluice lint`: findings as text (with a caret), JSON (DESIGN.md), GitHub annotations or SARIF.

use std::path::PathBuf;

use serde_json::json;

use crate::args::Format;
use crate::core::data::config::{LintGate, Project};
use crate::core::data::lint::{self, Finding, Options, Report, Severity, TableSize, RULES};
use crate::core::db::connect::Target;
use crate::core::error::{Error, Result};

pub async fn run(
    format: Format,
    project_dir: Option<&std::path::Path>,
    env_name: Option<&str>,
    paths: &[PathBuf],
) -> Result<i32> {
    let project = match Project::load(project_dir) {
        Ok(p) => Some(p),
        // Linting named files needs no project; linting "the project" does.
        Err(e) if paths.is_empty() || env_name.is_some() => return Err(e),
        Err(_) => None,
    };
    let env = match (&project, env_name) {
        (Some(p), Some(name)) => Some(p.environment(Some(name))?),
        _ => None,
    };
    let inputs = if paths.is_empty() {
        let p = project.as_ref().ok_or_else(|| Error::input("no project to lint"))?;
        lint::collect_folder(&p.migrations_dir)?
    } else {
        lint::collect(paths)?
    };
    let mut opts = Options {
        levels: project.as_ref().map(|p| p.lint_levels(env.map(|e| e.tier))).unwrap_or_default(),
        ..Options::default()
    };
    let mut gate = Severity::Error;
    if let Some(env) = env {
        opts.lock_timeout_ms = Some(env.lock_timeout.as_millis() as u64);
        gate = match env.lint_gate {
            LintGate::Error => Severity::Error,
            LintGate::Warning => Severity::Warning,
            LintGate::Off => Severity::Error,
        };
        connected_context(&Target::resolve(env)?, &mut opts).await?;
    }
    let report = lint::lint(&inputs, &opts);
    print(format, &report);
    let gate_off = env.is_some_and(|e| e.lint_gate == LintGate::Off);
    Ok(if !gate_off && report.worst().is_some_and(|w| w >= gate) { 1 } else { 0 })
}

/// Server version and table sizes (pg_class estimates: no locks, no table scans).
async fn connected_context(target: &Target, opts: &mut Options) -> Result<()> {
    let client = target.connect("sluice/lint").await?;
    client.batch_execute("SET statement_timeout = 5000").await?;
    let v: i32 =
        client.query_one("SELECT current_setting('server_version_num')::int", &[]).await?.get(0);
    opts.server_version = Some(v);
    let rows = client
        .query(
            "SELECT lower(n.nspname), lower(c.relname), greatest(c.reltuples, 0)::float8,
                    c.relpages::int8 * current_setting('block_size')::int8
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p', 'm')
               AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
            &[],
        )
        .await?;
    for r in rows {
        let (schema, name): (String, String) = (r.get(0), r.get(1));
        let size = TableSize { rows: r.get(2), bytes: r.get(3) };
        opts.table_sizes.insert(format!("{schema}.{name}"), size);
        if schema == "public" || !opts.table_sizes.contains_key(&name) {
            opts.table_sizes.insert(name, size);
        }
    }
    Ok(())
}

pub fn print(format: Format, report: &Report) {
    match format {
        Format::Json => {
            let findings: Vec<_> = report
                .findings
                .iter()
                .map(|f| {
                    json!({
                        "file": f.file, "line": f.line, "column": f.column, "rule": f.rule,
                        "severity": f.severity.as_str(), "message": f.message, "help": f.help,
                        "lock": f.lock, "rewrites": f.rewrites,
                    })
                })
                .collect();
            let out = json!({ "files": report.files, "findings": findings });
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        Format::Github => {
            for f in &report.findings {
                let level = match f.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "notice",
                };
                println!(
                    "::{level} file={},line={},col={},title={}::{}",
                    gh_escape_prop(&f.file),
                    f.line,
                    f.column,
                    gh_escape_prop(f.rule),
                    gh_escape(&format!("{} Fix: {}", f.message, f.help))
                );
            }
        }
        Format::Sarif => {
            println!("{}", serde_json::to_string_pretty(&sarif(report)).unwrap_or_default())
        }
        Format::Text => text(report),
    }
}

fn text(report: &Report) {
    for f in &report.findings {
        let sym = match f.severity {
            Severity::Error => "✖ error",
            Severity::Warning => "▲ warning",
            Severity::Info => "• info",
        };
        println!("{}:{}:{}: {sym} [{}] {}", f.file, f.line, f.column, f.rule, f.message);
        if !f.excerpt.trim().is_empty() {
            println!("    {}", f.excerpt);
            let pad: String = f
                .excerpt
                .chars()
                .take(f.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            println!("    {pad}^");
        }
        let mut extra = Vec::new();
        if let Some(l) = f.lock {
            extra.push(format!("takes {l}"));
        }
        if f.rewrites {
            extra.push("rewrites the table".into());
        }
        if !extra.is_empty() {
            println!("    ({})", extra.join(", "));
        }
        for (i, line) in f.help.lines().enumerate() {
            println!("    {}{line}", if i == 0 { "help: " } else { "      " });
        }
        println!();
    }
    println!(
        "{} file(s): {} error(s), {} warning(s), {} info",
        report.files,
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Info)
    );
}

fn gh_escape(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn gh_escape_prop(s: &str) -> String {
    gh_escape(s).replace(':', "%3A").replace(',', "%2C")
}

fn sarif(report: &Report) -> serde_json::Value {
    let rules: Vec<_> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "shortDescription": { "text": r.why },
                "help": { "text": format!("{}\n\nBad:\n{}\n\nGood:\n{}", r.help, r.bad, r.good) },
                "defaultConfiguration": { "level": sarif_level(r.severity) },
            })
        })
        .collect();
    let results: Vec<_> = report
        .findings
        .iter()
        .map(|f: &Finding| {
            json!({
                "ruleId": f.rule,
                "level": sarif_level(f.severity),
                "message": { "text": f.message },
                "locations": [{ "physicalLocation": {
                    "artifactLocation": { "uri": f.file },
                    "region": { "startLine": f.line, "startColumn": f.column }
                }}],
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "sluice", "version": env!("CARGO_PKG_VERSION"), "rules": rules } },
            "results": results,
        }],
    })
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// `sluice lint --explain RULE` (or every rule with `--explain all`).
pub fn explain(id: &str) -> Result<i32> {
    let chosen: Vec<_> = if id == "all" {
        RULES.iter().collect()
    } else {
        vec![lint::rules::find(id).ok_or_else(|| {
            let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
            Error::input(format!("unknown rule {id:?}; rules: {}", ids.join(", ")))
        })?]
    };
    for r in chosen {
        println!("{} ({})", r.id, r.severity.as_str());
        if let Some(l) = r.lock {
            println!("  lock: {l}{}", if r.rewrites { ", rewrites the table" } else { "" });
        }
        println!("  {}", r.why);
        println!("  fix: {}", r.help);
        println!("  bad:");
        for l in r.bad.lines() {
            println!("    {l}");
        }
        println!("  good:");
        for l in r.good.lines() {
            println!("    {l}");
        }
        println!();
    }
    Ok(0)
}
