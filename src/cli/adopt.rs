//! `sluice adopt`: the plan as a table (or JSON), then the run's report when it executed.

use serde_json::json;

use super::output::print_json;
use super::report::print_report;
use crate::args::{FailedArg, Format};
use crate::core::data::config::{Environment, Project};
use crate::core::data::source::Layout;
use crate::core::error::{Error, Result};
use crate::core::exec::adopt::{adopt, AdoptOptions, AdoptPlan, FailedChoice};
use crate::core::exec::Control;
use crate::core::guard::policy::Sign;

/// The command line's choices as the engine's options.
pub fn options(
    from: Option<String>,
    table: Option<String>,
    execute: bool,
    failed: Option<FailedArg>,
    reason: Option<String>,
    sign: Sign,
) -> Result<AdoptOptions> {
    let from = match from.as_deref().map(Layout::parse) {
        None => None,
        Some(Ok(Some(l))) if l != Layout::Native => Some(l),
        Some(Ok(_)) => {
            return Err(Error::input("--from: name the tool that migrated the database"))
        }
        Some(Err(e)) => return Err(Error::input(e.replace("layout =", "--from"))),
    };
    let failed = failed.map(|f| match f {
        FailedArg::Applied => FailedChoice::Applied,
        FailedArg::Failed => FailedChoice::Failed,
    });
    Ok(AdoptOptions { from, table, execute, failed, reason, sign })
}

pub async fn run(
    project: &Project,
    env: &Environment,
    opts: &AdoptOptions,
    format: Format,
) -> Result<i32> {
    let (plan, report) = adopt(project, env, opts, Control::default()).await?;
    if format == Format::Json {
        print_json(&json!({ "plan": plan, "run": report }));
    } else {
        if let Some(p) = &plan {
            print_plan(p, opts.execute);
        }
        if let Some(r) = &report {
            print_report(format, r);
        }
    }
    Ok(match (&plan, &report) {
        (_, Some(r)) => r.exit_code(),
        (Some(p), None) if p.count("refused") > 0 => 1,
        _ => 0,
    })
}

fn print_plan(p: &AdoptPlan, execute: bool) {
    println!(
        "{} history {} → sluice's ledger on {}{}",
        p.tool,
        p.table,
        p.environment,
        if execute { "" } else { " (dry run: nothing written)" }
    );
    let width = p.migrations.iter().map(|m| AdoptPlan::label(m).len()).max().unwrap_or(0);
    for m in &p.migrations {
        let action = match m.action.as_str() {
            "adopt" => "→ record as applied",
            "adopt-failed" => "→ record as failed (settle it with sluice resolve)",
            "rerun" => "→ record; runs again at the next apply (the file changed since)",
            "pending" => "  stays pending",
            "in-ledger" => "  already in sluice's ledger",
            _ => "✗ refused: choose with --failed",
        };
        let sum = match m.checksum.as_str() {
            "differs" => "  ⚠ checksum differs",
            _ => "",
        };
        println!("  {:width$}  {:9}  {action}{sum}", AdoptPlan::label(m), m.recorded);
        if let Some(d) = &m.detail {
            println!("  {:width$}  {d}", "");
        }
    }
    for m in p.migrations.iter().filter(|m| m.checksum == "differs") {
        println!(
            "⚠ {}: {}'s checksum {} is not the file's: the file changed after {} ran it",
            AdoptPlan::label(m),
            p.tool,
            m.tool_checksum.as_deref().unwrap_or("?"),
            p.tool
        );
    }
    for u in &p.unmatched {
        println!("⚠ {} history holds {u}, which no file here has", p.tool);
    }
    let n = p.count("adopt") + p.count("adopt-failed") + p.count("rerun");
    if !execute {
        if p.count("refused") > 0 {
            println!("Nothing can be adopted until each failed migration has a --failed choice.");
        } else if n > 0 {
            println!("Run again with --execute to record {n} migration(s) in sluice's ledger.");
        } else {
            println!("Nothing to adopt.");
        }
    }
}
