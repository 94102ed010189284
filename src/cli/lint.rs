//! `sluice lint`: findings as text (with a caret), JSON (DESIGN.md), GitHub annotations or SARIF.

use std::path::PathBuf;

use serde_json::json;

use crate::args::Format;
use crate::core::data::config::Project;
use crate::core::data::lint::{self, Finding, Report, Severity, RULES};
use crate::core::db::connect::Target;
use crate::core::error::{Error, Result};
use crate::core::guard::gate;

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
    if let (Some(p), true) = (&project, paths.is_empty()) {
        if p.code.is_some() {
            return lint_code_project(format, p, env_name).await;
        }
    }
    let (inputs, ignored) = if paths.is_empty() {
        let p = project.as_ref().ok_or_else(|| Error::input("no project to lint"))?;
        lint::collect_folder(&p.migrations_dir, p.layout)?
    } else {
        lint::collect(paths)?
    };
    let mut opts = gate::lint_options(project.as_ref(), env);
    // Without an environment the default gate (error) decides the exit code.
    let mut threshold = Some(Severity::Error);
    if let Some(env) = env {
        threshold = gate::threshold(env);
        let client = Target::resolve(env)?.connect("sluice/lint").await?;
        client.batch_execute("SET statement_timeout = 5000").await?;
        gate::add_server_context(&client, &mut opts).await?;
    }
    let mut report = lint::lint(&inputs, &opts);
    report.findings.extend(lint::ignored_findings(&ignored, &opts));
    print(format, &report);
    let refused = threshold.is_some_and(|t| report.worst().is_some_and(|w| w >= t));
    Ok(if refused { 1 } else { 0 })
}

/// A code tool's project: the SQL its tool prints offline (Alembic), with the server's
/// context; or why there is none to lint (Knex), on stderr, exit 0.
async fn lint_code_project(format: Format, p: &Project, env_name: Option<&str>) -> Result<i32> {
    use crate::core::guard::code_lint::{findings, CodeLint};
    let env = p.environment(env_name)?;
    let code = p.code.as_ref().ok_or_else(|| Error::input("no code tool"))?;
    let folder = crate::core::data::code::read(code)?;
    let target = Target::resolve(env)?;
    let client = target.connect("sluice/lint").await?;
    let all: Vec<&crate::core::data::code::CodeMigration> = folder.migrations.iter().collect();
    match findings(p, env, &client, &target, &all).await? {
        CodeLint::Cannot(why) => {
            eprintln!("sluice: {why}");
            print(format, &Report { files: 0, findings: Vec::new() });
            Ok(0)
        }
        CodeLint::Linted(found) => {
            let report = Report { files: folder.migrations.len(), findings: found };
            print(format, &report);
            let refused =
                gate::threshold(env).is_some_and(|t| report.worst().is_some_and(|w| w >= t));
            Ok(if refused { 1 } else { 0 })
        }
    }
}

pub fn print(format: Format, report: &Report) {
    match format {
        Format::Json => {
            let findings: Vec<_> = report
                .findings
                .iter()
                .map(|f| {
                    let mut j = json!({
                        "file": f.file, "line": f.line, "column": f.column, "rule": f.rule,
                        "severity": f.severity.as_str(), "message": f.message, "help": f.help,
                        "lock": f.lock, "rewrites": f.rewrites,
                    });
                    if let Some(t) = &f.created_by_run {
                        j["created_by_run"] = json!(t);
                    }
                    j
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
