//! A run as the command line tells it: the engine's events as they happen (text mode),
//! and the report at the end (text, or the whole report as JSON).

use super::output::{print_checks, print_json};
use crate::args::Format;
use crate::core::data::plan::label;
use crate::core::record::report::{Event, RunReport};

pub fn print_event(ev: &Event) {
    match ev {
        Event::MigrationStarted { .. }
        | Event::MigrationFinished { .. }
        | Event::MigrationFailed { .. }
        | Event::NotRehearsed { .. } => print_migration_event(ev),
        Event::Progress { .. }
        | Event::Waiting { .. }
        | Event::Backfill { .. }
        | Event::ReplicaLag { .. }
        | Event::QueueLimit { .. }
        | Event::LockTimeout { .. } => print_watch_event(ev),
        Event::StatementFinished { .. }
        | Event::BackupProgress { .. }
        | Event::StageStarted { .. }
        | Event::RunFinished { .. } => {}
        Event::RunStarted { .. }
        | Event::Notice { .. }
        | Event::PreChecks { .. }
        | Event::BackupStarted { .. }
        | Event::BackupFinished { .. }
        | Event::StageFinished { .. } => print_run_event(ev),
    }
}

/// A migration starting, ending or failing.
fn print_migration_event(ev: &Event) {
    match ev {
        Event::MigrationStarted { version, name, direction, transactional, statements, source } => {
            let arrow = if direction == "down" { "↓" } else { "↑" };
            let tx = if *transactional { "" } else { ", outside a transaction" };
            let from =
                if source == "ledger" { ", down SQL from the ledger (file gone)" } else { "" };
            let tool = !matches!(source.as_str(), "file" | "ledger");
            let what = match (*statements, direction.as_str()) {
                (0, _) if tool => format!("through {source}"),
                (0, "down") => "down is empty: nothing undone".to_string(),
                (0, _) => "empty: nothing to run, recorded as applied".to_string(),
                (n, _) => format!("{n} statement(s){tx}{from}"),
            };
            println!("  {arrow} {} ({what})", label(version, name));
        }
        Event::MigrationFinished { version, direction, duration_ms, rehearsed } => {
            let verb = match (*rehearsed, direction.as_str()) {
                (true, _) => "rehearsed (rolled back)",
                (false, "down") => "rolled back",
                _ => "applied",
            };
            println!("    ✓ {version} {verb} in {duration_ms} ms");
        }
        Event::MigrationFailed { version, statement, line, .. } => {
            let at = match (statement, line) {
                (Some(s), Some(l)) => format!(" at statement {s} (line {l})"),
                _ => String::new(),
            };
            println!("    ✗ {version} failed{at}");
        }
        Event::NotRehearsed { version, reason } => {
            println!("    – {version} not rehearsed: {reason}");
        }
        _ => {}
    }
}

/// What the watch saw while a statement ran: heartbeats, lock waits, backfill progress,
/// replica lag, the queue limit and lock retries.
fn print_watch_event(ev: &Event) {
    match ev {
        // A heartbeat about every 10 s for a long statement (the progress comes twice a second).
        Event::Progress { version, index, elapsed_ms, command, blocking }
            if elapsed_ms % 10_000 < 500 && *elapsed_ms >= 10_000 =>
        {
            let mut line = format!("    … {version} statement {index}: {} s", elapsed_ms / 1000);
            if let Some(c) = command {
                line.push_str(&format!(", {} {}", c.command, c.phase));
                if c.total > 0 {
                    line.push_str(&format!(" {}%", c.done * 100 / c.total));
                }
            }
            if !blocking.is_empty() {
                line.push_str(&format!(", {} session(s) waiting on it", blocking.len()));
            }
            println!("{line}");
        }
        Event::Progress { .. } => {}
        Event::Waiting { version, index, blockers } => {
            for b in blockers {
                println!("    ⏳ {version} statement {index} waits for a lock held by {b}");
            }
        }
        Event::Backfill { version, index, rows_done, keys_done, estimate, keys_per_s, eta_s } => {
            let of = estimate.map(|n| format!(" of ~{n}")).unwrap_or_default();
            let eta = eta_s.map(|s| format!(", about {s} s to go")).unwrap_or_default();
            println!(
                "    ⋯ {version} statement {index}: backfill {rows_done} row(s) changed, {keys_done}{of} key(s) passed, {keys_per_s:.0} keys/s{eta}"
            );
        }
        Event::ReplicaLag { version, standby, lag_s, limit_ms, waited_ms } => {
            println!(
                "    ⏸ before {version}: standby {standby} lags {lag_s:.1} s (max_replica_lag {limit_ms} ms); waiting, {:.0} s so far",
                *waited_ms as f64 / 1000.0
            );
        }
        Event::QueueLimit { version, limit_ms, victims, blockers } => {
            println!(
                "    ⇥ {version}: {} session(s) waited behind its lock request over queue_limit = {limit_ms} ms ({}); stepping out of the queue (blocked by {})",
                victims.len(),
                crate::core::record::report::Queued::list(victims),
                crate::core::record::report::Blocker::list(blockers)
            );
        }
        Event::LockTimeout { version, attempt, retries, retry_in_ms, .. } => {
            println!(
                "    ↻ {version}: lock timeout, retry {attempt}/{retries} in {:.1} s",
                *retry_in_ms as f64 / 1000.0
            );
        }
        _ => {}
    }
}

/// The run around the migrations: notices, pre-checks, backup and stages.
fn print_run_event(ev: &Event) {
    match ev {
        Event::RunStarted { run_id, action, migrations } => {
            println!("run {run_id} · {action} · {migrations} migration(s)");
        }
        Event::Notice { message } => println!("  ! {message}"),
        Event::PreChecks { checks } => {
            println!("  pre-checks:");
            print_checks(checks);
        }
        Event::BackupStarted { directory } => println!("  backing up to {directory}…"),
        Event::BackupFinished { path, bytes, duration_ms, pruned } => {
            println!(
                "    ✓ backup {path} ({:.1} MB in {:.1} s, verified){}",
                *bytes as f64 / 1048576.0,
                *duration_ms as f64 / 1000.0,
                if *pruned > 0 {
                    format!("; {pruned} older backup(s) pruned")
                } else {
                    String::new()
                }
            );
        }
        Event::StageFinished { result } => {
            use crate::core::record::report::StageOutcome;
            let mark = match result.outcome {
                StageOutcome::Passed => "✓",
                StageOutcome::Warned => "!",
                StageOutcome::Skipped => "–",
                StageOutcome::Failed => "✗",
            };
            println!("  {mark} {}: {}", result.stage.as_str(), result.summary);
        }
        _ => {}
    }
}

pub fn print_report(format: Format, report: &RunReport) {
    if format == Format::Json {
        print_json(&serde_json::to_value(report).unwrap_or_default());
        return;
    }
    // Every migration the run recorded, an empty one (comments only) too.
    let n = report.migrations.len();
    match report.outcome.as_str() {
        "nothing-to-do" => println!("nothing to do: no pending migrations"),
        "done" if report.action == "restore" => println!(
            "done: restored into {} in {} ms (run {}); the state before is in the safety backup",
            report.environment, report.duration_ms, report.run_id
        ),
        "done" => println!(
            "done: {} migration(s) {} in {} ms (run {})",
            n,
            match report.action.as_str() {
                "rollback" => "rolled back",
                "resolve" => "resolved",
                _ => "applied",
            },
            report.duration_ms,
            report.run_id
        ),
        "rehearsed" => {
            println!("dry run: everything was rolled back (run {})", report.run_id);
            for m in &report.migrations {
                if !m.rehearsed {
                    println!(
                        "  – {}_{}: not rehearsed (runs outside a transaction)",
                        m.version, m.name
                    );
                    for l in &m.lock_summary {
                        println!("      {l}");
                    }
                    continue;
                }
                println!("  {}: {} ms", label(&m.version, &m.name), m.duration_ms);
                for s in &m.statements {
                    let locks: Vec<String> = s.locks.iter().map(|l| l.describe()).collect();
                    let locks = if locks.is_empty() {
                        String::new()
                    } else {
                        format!("; took {}", locks.join(", "))
                    };
                    println!(
                        "      statement {} (line {}): {} ms, {} row(s){locks}",
                        s.index, s.line, s.duration_ms, s.rows
                    );
                }
                for l in &m.lock_summary {
                    println!("      lock: {l}");
                }
            }
            if let Some(diff) = &report.schema_diff {
                if diff.is_empty() {
                    println!("schema: no change");
                } else {
                    println!("schema diff:");
                    print!("{diff}");
                }
            }
        }
        _ => {}
    }
    for c in &report.compensated {
        println!("  ran: {c}");
    }
    if !report.verify.is_empty() {
        println!("verify:");
        print_checks(&report.verify);
    }
    if let Some(e) = &report.error {
        let action = Some(report.action.as_str());
        eprintln!("sluice: {}", super::refusal::phrase(&e.message, e.refusal.as_ref(), action));
    }
}
