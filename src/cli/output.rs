//! Text and JSON renderings of the engine's results. JSON shapes are contracts (DESIGN.md).

use serde_json::json;

use crate::args::Format;
use crate::core::data::config::{Environment, Project};
use crate::core::data::plan::{MigrationState, Status};
use crate::core::db::ledger::HistoryRow;
use crate::core::error::Error;
use crate::core::record::details::RunRecord;

pub fn print_json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into()));
}

pub fn print_error(format: Format, e: &Error) {
    let message = super::refusal::phrase(&e.message, e.refusal.as_ref(), None);
    if format != Format::Text {
        let mut error =
            json!({ "kind": e.kind.as_str(), "exit_code": e.exit_code(), "message": message });
        if let Some(r) = &e.refusal {
            error["refusal"] = json!(r);
        }
        print_json(&json!({ "error": error }));
    }
    eprintln!("sluice: {message}");
}

fn symbol(state: MigrationState, out_of_order: bool) -> &'static str {
    match state {
        MigrationState::Applied => "✓",
        MigrationState::Pending if out_of_order => "↯",
        MigrationState::Pending => "•",
        MigrationState::Drifted => "!",
        MigrationState::Missing => "?",
        MigrationState::Failed => "✗",
    }
}

pub fn print_status(format: Format, project: &Project, env: &Environment, status: &Status) {
    if format == Format::Json {
        let migrations: Vec<_> = status
            .items
            .iter()
            .map(|i| {
                let mut m = json!({
                    "version": i.version.as_str(),
                    "name": i.name,
                    "state": i.state.as_str(),
                    "checksum": i.checksum(),
                    "applied_at": i.applied_at(),
                    "out_of_order": i.out_of_order,
                });
                if i.state == MigrationState::Failed {
                    m["failed_at_statement"] =
                        json!(i.entry.as_ref().and_then(|e| e.failed_at_statement));
                }
                if i.state == MigrationState::Drifted {
                    m["ledger_checksum"] = json!(i.entry.as_ref().map(|e| &e.checksum));
                }
                m
            })
            .collect();
        let mut out = json!({ "environment": env.name, "migrations": migrations });
        if !status.ignored.is_empty() {
            out["ignored"] = json!(status.ignored);
        }
        print_json(&out);
        return;
    }
    println!("{} · {} ({})", project.name, env.name, env.tier);
    if status.items.is_empty() {
        println!("  no migrations in {}", project.migrations_dir.display());
    }
    let width = status.items.iter().map(|i| i.label().len()).max().unwrap_or(0);
    for i in &status.items {
        let detail = match i.state {
            MigrationState::Applied => format!("applied  {}", i.applied_at().unwrap_or("")),
            MigrationState::Pending if i.out_of_order => {
                "pending  (out of order: older than the newest applied)".into()
            }
            MigrationState::Pending => "pending".into(),
            MigrationState::Drifted => "drifted  (file changed after it was applied)".into(),
            MigrationState::Missing => "missing  (applied; file gone)".into(),
            MigrationState::Failed => format!(
                "failed   at statement {}",
                i.entry.as_ref().and_then(|e| e.failed_at_statement).unwrap_or(0)
            ),
        };
        println!("  {} {:<width$}  {detail}", symbol(i.state, i.out_of_order), i.label());
    }
    let counts: Vec<String> = [
        MigrationState::Applied,
        MigrationState::Pending,
        MigrationState::Drifted,
        MigrationState::Missing,
        MigrationState::Failed,
    ]
    .iter()
    .filter_map(|s| {
        let n = status.count(*s);
        (n > 0).then(|| format!("{n} {}", s.as_str()))
    })
    .collect();
    if !counts.is_empty() {
        println!("{}", counts.join(", "));
    }
    for i in &status.ignored {
        eprintln!("warning: {}: {}", i.path.display(), i.reason);
    }
}

pub fn print_history(format: Format, env: &Environment, rows: &[HistoryRow], runs: &[RunRecord]) {
    if format == Format::Json {
        print_json(&json!({ "environment": env.name, "history": rows, "runs": runs }));
        return;
    }
    if rows.is_empty() && runs.is_empty() {
        println!("no history yet in {}", env.name);
        return;
    }
    println!(
        "{:<21} {:<5} {:<34} {:<8} {:>8}  {:<12} run",
        "when (UTC)", "dir", "migration", "outcome", "ms", "by"
    );
    for r in rows {
        let outcome = if r.success {
            "ok".to_string()
        } else {
            format!("failed@{}", r.failed_at_statement.unwrap_or(0))
        };
        println!(
            "{:<21} {:<5} {:<34} {:<8} {:>8}  {:<12} {}",
            r.applied_at,
            r.direction,
            crate::core::data::plan::label(&r.version, &r.name),
            outcome,
            r.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
            r.os_user.as_deref().unwrap_or(&r.applied_by),
            r.run_id.as_deref().unwrap_or("")
        );
    }
    println!();
    println!("runs:");
    for r in runs {
        println!("  {}", run_line(r));
    }
}

fn run_line(r: &RunRecord) -> String {
    format!(
        "{} {:<21} {:<9} {:<14} by {} ({})",
        r.run_id,
        r.started_at,
        r.action,
        r.outcome,
        r.operator,
        r.client_host.as_deref().unwrap_or("")
    )
}

pub fn print_info(format: Format, project: Option<&Project>) {
    let config = crate::core::data::config::paths::config_dir().map(|d| d.display().to_string());
    let logs = crate::core::data::config::paths::log_dir().map(|d| d.display().to_string());
    let data = crate::core::data::config::paths::data_dir().ok().map(|d| d.display().to_string());
    let envs: Vec<_> = project
        .map(|p| {
            p.environments_in_order()
                .into_iter()
                .map(|e| json!({ "name": e.name, "tier": e.tier.to_string() }))
                .collect()
        })
        .unwrap_or_default();
    let info = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "project": project.map(|p| p.root.join(crate::core::data::config::PROJECT_FILE).display().to_string()),
        "migrations": project.map(|p| p.migrations_dir.display().to_string()),
        "ledger_schema": project.map(|p| p.ledger_schema.clone()),
        "themes": config.as_ref().map(|d| format!("{d}/themes/NAME.toml (built in: dark, light, high-contrast, colorblind)")),
        "config_dir": config,
        "log_dir": logs,
        "backup_dir": data.as_ref().map(|d| format!("{d}/backups")),
        "report_dir": data.as_ref().map(|d| format!("{d}/reports")),
        "audit_log": data.as_ref().map(|d| format!("{d}/audit.jsonl")),
        "environments": envs,
    });
    if format == Format::Json {
        print_json(&info);
        return;
    }
    println!("sluice {}", env!("CARGO_PKG_VERSION"));
    for key in [
        "project",
        "migrations",
        "ledger_schema",
        "config_dir",
        "themes",
        "log_dir",
        "backup_dir",
        "report_dir",
        "audit_log",
    ] {
        let v = info[key].as_str().unwrap_or("(none)");
        println!("  {key:<14} {v}");
    }
    for e in envs {
        println!(
            "  environment    {} ({})",
            e["name"].as_str().unwrap_or(""),
            e["tier"].as_str().unwrap_or("")
        );
    }
}

pub fn print_new(format: Format, paths: &[std::path::PathBuf]) {
    if format == Format::Json {
        print_json(
            &json!({ "created": paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>() }),
        );
        return;
    }
    for p in paths {
        println!("created {}", p.display());
    }
}

pub fn print_diff(
    format: Format,
    diff: &str,
    drift: Option<&crate::core::query::diff::SchemaDrift>,
) {
    if format == Format::Json {
        print_json(&json!({ "diff": diff, "changed": !diff.is_empty(), "snapshot": drift }));
        return;
    }
    if diff.is_empty() {
        println!("no difference");
    } else {
        print!("{diff}");
    }
}

pub fn print_backup(format: Format, info: &crate::core::guard::backup::BackupInfo) {
    if format == Format::Json {
        print_json(&serde_json::to_value(info).unwrap_or_default());
        return;
    }
    println!(
        "backup {} ({:.1} MB, {} entries, {:.1} s, verified with pg_restore --list)",
        info.path.display(),
        info.bytes as f64 / 1048576.0,
        info.entries,
        info.duration_ms as f64 / 1000.0
    );
    for p in &info.pruned {
        println!("  pruned {}", p.display());
    }
}

pub fn print_backups(
    format: Format,
    env: &Environment,
    files: &[crate::core::guard::backup::BackupFile],
) {
    if format == Format::Json {
        print_json(&json!({ "environment": env.name, "backups": files }));
        return;
    }
    if files.is_empty() {
        println!("no backups for {}", env.name);
    }
    for f in files {
        println!("{}  {:>9.1} MB  {}", f.path.display(), f.bytes as f64 / 1048576.0, age(f.age_s));
    }
}

fn age(s: u64) -> String {
    match s {
        0..=119 => format!("{s} s ago"),
        120..=7199 => format!("{} min ago", s / 60),
        7200..=172_799 => format!("{} h ago", s / 3600),
        _ => format!("{} days ago", s / 86_400),
    }
}

pub fn print_checks(checks: &[crate::core::guard::precheck::Check]) {
    use crate::core::guard::precheck::Outcome;
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in checks {
        let sym = match c.outcome {
            Outcome::Pass => "✓",
            Outcome::Warn => "▲",
            Outcome::Fail => "✗",
        };
        println!("    {sym} {:<width$}  {}", c.name, c.figure);
    }
}

pub fn print_check_result(format: Format, checks: &[crate::core::guard::precheck::Check]) {
    if format == Format::Json {
        print_json(&json!({ "checks": checks }));
        return;
    }
    print_checks(checks);
}

pub fn print_runs(format: Format, env: &Environment, runs: &[RunRecord]) {
    if format == Format::Json {
        print_json(&json!({ "environment": env.name, "runs": runs }));
        return;
    }
    if runs.is_empty() {
        println!("no runs yet in {}", env.name);
    }
    for r in runs {
        println!("{}", run_line(r));
    }
}

pub fn print_run(format: Format, run: &RunRecord, markdown: Option<&str>) {
    if format == Format::Json {
        print_json(&json!({ "run": run, "report_markdown": markdown }));
        return;
    }
    match markdown {
        Some(md) => print!("{md}"),
        None => {
            println!("run {} · {} · {} · {}", run.run_id, run.action, run.environment, run.outcome);
            println!("{}", serde_json::to_string_pretty(&run.details).unwrap_or_default());
        }
    }
}

pub fn interrupted_text(i: crate::core::query::recovery::Interrupted) -> &'static str {
    use crate::core::query::recovery::Interrupted;
    match i {
        Interrupted::Completed => {
            "it completed (the catalog shows its result) but the process stopped before the ledger recorded it"
        }
        Interrupted::NotCompleted => "it did not take effect: nothing of it needs undoing",
        Interrupted::Unknown => {
            "whether it completed cannot be told from the catalog; a retry runs it again"
        }
    }
}

/// `sluice resolve` without a resolution: what each failed migration ran, where it stopped,
/// and what would settle it.
pub fn print_recovery(
    format: Format,
    env: &Environment,
    found: &[crate::core::query::recovery::Recovery],
) {
    use crate::core::query::recovery::Reached;
    if format == Format::Json {
        print_json(&json!({ "environment": env.name, "failed": found }));
        return;
    }
    if found.is_empty() {
        println!("no migration is marked failed in {}", env.name);
    }
    for r in found {
        let how =
            r.error.as_deref().unwrap_or("no error recorded: the process stopped while it ran");
        println!(
            "{} failed ({}) at statement {} of {}: {how}",
            r.label(),
            r.direction,
            r.failed_at,
            r.statements.len()
        );
        if let Some(id) = &r.run_id {
            println!("  run {id} at {}", r.when);
        }
        for s in &r.statements {
            let mark = match s.reached {
                Reached::Done => "✓ ran    ",
                Reached::Failed => "✗ failed ",
                Reached::NotRun => "· not run",
            };
            let first = s.text.lines().next().unwrap_or("");
            println!("  {mark} {:>3} (line {}) {first}", s.number, s.line);
        }
        if let Some(ix) = &r.invalid_index {
            println!("  the failed build left the INVALID index {ix} behind");
        }
        if let Some(i) = r.interrupted {
            println!("  statement {}: {}", r.failed_at, interrupted_text(i));
        }
        match &r.retry_blocked {
            Some(why) => println!("  retry: not possible: {why}"),
            None if r.retry_statements.is_empty() => println!(
                "  retry: sluice resolve {} --retry  (every statement ran: it records the migration applied)",
                r.version
            ),
            None => println!(
                "  retry: sluice resolve {} --retry  (runs {} statement(s) from {})",
                r.version,
                r.retry_statements.len(),
                r.resume_at()
            ),
        }
        if !r.compensating.is_empty() {
            println!(
                "  compensating SQL (sluice resolve {} --mark-rolled-back --compensate):",
                r.version
            );
            for c in &r.compensating {
                println!("    {c};");
            }
        }
        if !r.by_hand.is_empty() {
            let list: Vec<String> = r.by_hand.iter().map(|n| n.to_string()).collect();
            println!("  undo by hand (no automatic inverse): statement(s) {}", list.join(", "));
        }
    }
}

/// A second approver's code, with what to do with it.
pub fn print_approval(format: Format, env: &Environment, run_id: Option<&str>, code: &str) {
    use crate::core::guard::approval::VALID_MINUTES;
    let who = crate::core::host::identity::os_user();
    // exec::approve refused to issue a code without a known account.
    let account = crate::core::host::identity::account().unwrap_or_default();
    if format == Format::Json {
        let v = json!({
            "environment": env.name, "run_id": run_id, "approver": who, "account": account,
            "code": code, "valid_minutes": VALID_MINUTES,
        });
        println!("{v}");
        return;
    }
    let what = match run_id {
        Some(id) => format!("run {id}"),
        None => format!("the next run on {}", env.name),
    };
    println!("approval for {what} by {who} (OS account {account}): {code}");
    println!(
        "give the operator your name ({who}) and this code; it works once, within {VALID_MINUTES} minutes, and not for a run by the same OS account"
    );
}
