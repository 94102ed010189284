//! The runs and ledger browsers' entries: every run with its stages, checks, overrides and
//! backup; every ledger row with who, when and how long. Built by the loading task from the
//! engine's typed records, so drawing them is only layout.

use super::BrowserEntry;
use crate::core::data::plan::label;
use crate::core::db::ledger::HistoryRow;
use crate::core::guard::hooks::HookResult;
use crate::core::guard::precheck::Outcome as CheckOutcome;
use crate::core::record::details::{RunDetails, RunRecord};
use crate::core::record::report::StageOutcome;

fn ms(v: Option<u64>) -> String {
    match v {
        Some(n) if n >= 10_000 => format!("{:.0} s", n as f64 / 1000.0),
        Some(n) if n >= 1000 => format!("{:.1} s", n as f64 / 1000.0),
        Some(n) => format!("{n} ms"),
        None => "-".into(),
    }
}

fn when(ts: &str) -> String {
    ts.replace('T', " ").trim_end_matches('Z').chars().take(19).collect()
}

/// One run: a line for the list, and its record laid out for the detail pane.
pub fn run_entry(r: &RunRecord) -> BrowserEntry {
    let d = &r.details;
    let line = format!(
        "{}  {:<8} {:<13} {:>7}  {}",
        when(&r.started_at),
        r.action,
        r.outcome,
        ms(d.duration_ms),
        r.operator
    );
    let mut out = vec![
        format!("run {} · {} · {}", r.run_id, r.action, r.outcome),
        format!(
            "environment {} · operator {}{}",
            r.environment,
            r.operator,
            r.client_host.as_deref().map(|h| format!(" on {h}")).unwrap_or_default()
        ),
        format!(
            "started {} · finished {}",
            when(&r.started_at),
            r.finished_at.as_deref().map(when).unwrap_or_else(|| "(not recorded)".into())
        ),
    ];
    if let Some(to) = &d.request.to {
        out.push(format!("target version {to}"));
    }
    stage_lines(d, &mut out);
    override_lines(d, &mut out);
    if let Some(b) = &d.backup {
        out.push(String::new());
        out.push(format!(
            "backup {} ({:.1} MB, {} entries verified, {})",
            b.path.display(),
            b.bytes as f64 / 1_048_576.0,
            b.entries,
            ms(Some(b.duration_ms))
        ));
    }
    if let Some(f) = &d.restored {
        out.push(format!("restored {}", f.display()));
    }
    outcome_lines(d, &mut out);
    let search = format!(
        "{} {} {} {} {} {}",
        r.run_id, r.action, r.outcome, r.operator, r.started_at, r.environment
    )
    .to_lowercase();
    BrowserEntry { line, detail: out, search, outcome: r.outcome.clone() }
}

/// The stages as they went, and the pre-checks.
fn stage_lines(d: &RunDetails, out: &mut Vec<String>) {
    if !d.stages.is_empty() {
        out.push(String::new());
        out.push("stages".into());
        for s in &d.stages {
            let mark = match s.outcome {
                StageOutcome::Passed => "✓",
                StageOutcome::Warned => "!",
                StageOutcome::Skipped => "–",
                StageOutcome::Failed => "✗",
            };
            let (stage, took) = (s.stage.id(), ms(Some(s.duration_ms)));
            out.push(format!("  {mark} {stage:<11} {} ({took})", s.summary));
        }
    }
    if !d.prechecks.is_empty() {
        out.push(String::new());
        out.push("pre-checks".into());
        for c in &d.prechecks {
            let mark = match c.outcome {
                CheckOutcome::Pass => "✓",
                CheckOutcome::Warn => "!",
                CheckOutcome::Fail => "✗",
            };
            out.push(format!("  {mark} {:<19} {}", c.name, c.figure));
        }
    }
}

fn override_lines(d: &RunDetails, out: &mut Vec<String>) {
    if d.overrides.is_empty() && d.window_override.is_none() {
        return;
    }
    out.push(String::new());
    out.push("overrides".into());
    for o in &d.overrides {
        let what =
            if o.what.is_empty() { String::new() } else { format!(" ({})", o.what.join(", ")) };
        out.push(format!("  {}: {}{what}", o.guard, o.reason));
    }
    if let (true, Some(w)) = (d.overrides.is_empty(), &d.window_override) {
        out.push(format!("  maintenance window: {w}"));
    }
}

/// The migrations it ran, its hooks and its error.
fn outcome_lines(d: &RunDetails, out: &mut Vec<String>) {
    if !d.migrations.is_empty() {
        out.push(String::new());
        out.push("migrations".into());
        for m in &d.migrations {
            let arrow = if m.direction == "down" { "↓" } else { "↑" };
            let retries = match m.lock_retries {
                0 => String::new(),
                n => format!(", {n} lock retries"),
            };
            out.push(format!(
                "  {arrow} {}  {}{retries}",
                label(&m.version, &m.name),
                ms(Some(m.duration_ms))
            ));
        }
    }
    for (point, h) in d.hooks.all() {
        out.push(format!("hook {}: {}", point.as_str(), hook_line(h)));
    }
    if let Some(e) = &d.error {
        out.push(String::new());
        out.push(format!("error: {}", e.message));
        for b in &e.blockers {
            out.push(format!("  blocked by pid {} ({})", b.pid, b.application_name));
        }
    }
}

/// A hook's record as `key=value` pairs, in the order the record keeps them.
fn hook_line(h: &HookResult) -> String {
    let exit = h.exit_code.map_or("null".to_string(), |c| c.to_string());
    format!(
        "command={} duration_ms={} exit_code={exit} ok={} output={} stage={}",
        h.command, h.duration_ms, h.ok, h.output, h.stage
    )
}

/// One ledger row.
pub fn ledger_entry(h: &HistoryRow) -> BrowserEntry {
    let outcome = if h.success {
        "ok".to_string()
    } else {
        format!("failed at statement {}", h.failed_at_statement.unwrap_or(0))
    };
    let who = h.os_user.as_deref().unwrap_or(&h.applied_by);
    let line = format!(
        "{}  {:<4} {}  {}  {}  {}",
        when(&h.applied_at),
        h.direction,
        label(&h.version, &h.name),
        if h.success { "ok" } else { "FAILED" },
        ms(h.duration_ms.map(|d| d.max(0) as u64)),
        who
    );
    let mut detail = vec![
        format!("{} {}: {outcome}", h.direction, label(&h.version, &h.name)),
        format!("at {}", when(&h.applied_at)),
        format!(
            "by database role {} · os user {} · host {}",
            h.applied_by,
            h.os_user.as_deref().unwrap_or("-"),
            h.client_host.as_deref().unwrap_or("-")
        ),
        format!("checksum {}", h.checksum),
        format!("run {}", h.run_id.as_deref().unwrap_or("-")),
    ];
    if let Some(e) = &h.error {
        detail.push(format!("error: {e}"));
    }
    let search = format!(
        "{} {} {} {} {} {}",
        h.version,
        h.name,
        who,
        h.applied_by,
        h.applied_at,
        h.run_id.as_deref().unwrap_or("")
    )
    .to_lowercase();
    BrowserEntry {
        line,
        detail,
        search,
        outcome: if h.success { "ok".into() } else { "failed".into() },
    }
}

/// One ledger row as a migration's History tab lists it.
pub fn history_line(h: &HistoryRow) -> String {
    let outcome = if h.success {
        "ok".to_string()
    } else {
        format!("failed@{}", h.failed_at_statement.unwrap_or(0))
    };
    format!(
        "{}  {:<4}  {:<9} {:>6} ms  {}  run {}",
        h.applied_at,
        h.direction,
        outcome,
        h.duration_ms.unwrap_or(0),
        h.os_user.as_deref().unwrap_or(&h.applied_by),
        h.run_id.as_deref().unwrap_or("-")
    )
}
