//! Loading an environment for the console, off the UI thread: files, ledger, lint findings,
//! history and runs, sent back as owned messages.

use tokio::sync::mpsc;

use super::browse;
use super::model::{self, FindingRow, Load, Msg, Row};
use crate::core::data::config::Project;
use crate::core::data::plan::{Item, Status};
use crate::core::error::Result;
use crate::core::record::details::RunRecord;

/// Loads one environment in the background, in two messages: the list as soon as files and
/// ledger are read (the first full frame), then lint findings, history, runs and drift SQL.
pub(super) fn spawn_load(project: &Project, env_name: &str, tx: mpsc::UnboundedSender<Msg>) {
    let project = project.clone();
    let name = env_name.to_string();
    tokio::spawn(async move {
        let env = match project.environment(Some(&name)) {
            Ok(env) => env,
            Err(e) => {
                let _ = tx.send(Msg::Loaded { env: name, load: Load::from_error(&e) });
                return;
            }
        };
        let (status, unreadable) = match crate::core::query::status_tolerant(&project, env).await {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(Msg::Loaded { env: name, load: Load::from_error(&e) });
                return;
            }
        };
        if let Some(n) = unreadable_notice(&unreadable) {
            let _ = tx.send(Msg::Notice(n));
        }
        let server = crate::core::db::connect::Target::resolve(env).map(|t| t.describe());
        let mut rows: Vec<Row> =
            status.items.iter().map(|i| row(i, Vec::new(), None, Vec::new())).collect();
        flag_unreadable(&mut rows, &unreadable);
        let first = Load::Loaded {
            rows,
            server: server.clone().unwrap_or_default(),
            runs: Vec::new(),
            ledger: Vec::new(),
            touched: touched(&status),
        };
        let _ = tx.send(Msg::Loaded { env: name.clone(), load: first });
        let load = match details(&project, env, &status).await {
            Ok(Load::Loaded { mut rows, server, runs, ledger, touched }) => {
                flag_unreadable(&mut rows, &unreadable);
                Load::Loaded { rows, server, runs, ledger, touched }
            }
            Ok(other) => other,
            Err(e) => Load::from_error(&e),
        };
        let _ = tx.send(Msg::Loaded { env: name, load });
    });
}

/// Tables the pending migrations touch.
fn touched(status: &Status) -> Vec<String> {
    crate::core::data::sql::tables_named(
        status
            .pending()
            .filter_map(|i| i.migration.as_ref())
            .filter_map(|m| m.up_statements().ok())
            .flatten()
            .collect::<Vec<_>>()
            .iter(),
    )
}

fn row(
    i: &Item,
    findings: Vec<FindingRow>,
    ledger_sql: Option<String>,
    history: Vec<String>,
) -> Row {
    Row {
        version: i.version.to_string(),
        name: i.name.clone(),
        state: i.state.as_str().to_string(),
        out_of_order: i.out_of_order,
        applied_at: i.applied_at().map(str::to_string),
        failed_at: i.entry.as_ref().and_then(|e| e.failed_at_statement),
        up_sql: i.migration.as_ref().map(|m| m.up.text.clone()),
        down_sql: i.migration.as_ref().and_then(|m| m.down.as_ref().map(|d| d.text.clone())),
        drift_diff: match (&ledger_sql, &i.migration) {
            (Some(ran), Some(m)) => Some(crate::core::db::schema::unified_diff(
                ran,
                &m.up.text,
                "ledger (as applied)",
                "file (now)",
            )),
            _ => None,
        },
        ledger_sql,
        findings,
        history,
        problem: None,
    }
}

/// Unreadable migrations become flagged rows: in place of the "missing" row their ledger
/// entry would make, or in version order among the others.
fn flag_unreadable(rows: &mut Vec<Row>, unreadable: &[crate::core::data::source::Unreadable]) {
    for u in unreadable {
        let flagged = Row {
            version: u.version.to_string(),
            name: u.name.clone(),
            state: "unreadable".into(),
            out_of_order: false,
            applied_at: None,
            failed_at: None,
            up_sql: None,
            down_sql: None,
            ledger_sql: None,
            drift_diff: None,
            findings: Vec::new(),
            history: Vec::new(),
            problem: Some(u.message.clone()),
        };
        let key = |v: &str| crate::core::data::source::Version::parse(v);
        match rows.iter().position(|r| key(&r.version) == Some(u.version.clone())) {
            Some(i) => {
                let history = std::mem::take(&mut rows[i].history);
                let applied_at = rows[i].applied_at.take();
                rows[i] = Row { history, applied_at, ..flagged };
            }
            None => {
                let at = rows
                    .iter()
                    .position(|r| key(&r.version).is_some_and(|v| v > u.version))
                    .unwrap_or(rows.len());
                rows.insert(at, flagged);
            }
        }
    }
}

/// One notice naming the files that cannot be read.
fn unreadable_notice(unreadable: &[crate::core::data::source::Unreadable]) -> Option<String> {
    let first = unreadable.first()?;
    let more = match unreadable.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    Some(format!("{}{more}; nothing can run until it is fixed, then r", first.message))
}

async fn details(
    project: &Project,
    env: &crate::core::data::config::Environment,
    status: &Status,
) -> Result<Load> {
    let target = crate::core::db::connect::Target::resolve(env)?;
    // The SQL that ran, for drifted and missing migrations (diff, and SQL when the file is gone).
    let client = target.connect("sluice/console").await?;
    let ledger = crate::core::db::ledger::Ledger::new(&project.ledger_schema);
    let levels = project.lint_levels(Some(env.tier));
    let opts = crate::core::data::lint::Options {
        levels,
        lock_timeout_ms: Some(env.lock_timeout.as_millis() as u64),
        ..Default::default()
    };
    let mut history: std::collections::HashMap<String, Vec<String>> =
        std::collections::HashMap::new();
    let all_history = ledger.history(&client).await?;
    let mut ledger_entries: Vec<model::Entry> =
        all_history.iter().map(browse::ledger_entry).collect();
    ledger_entries.reverse();
    let runs = ledger.runs(&client).await?.into_iter().rev();
    let runs = runs.map(|r| browse::run_entry(&RunRecord::from_row(r))).collect();
    for h in all_history {
        let outcome = if h.success {
            "ok".to_string()
        } else {
            format!("failed@{}", h.failed_at_statement.unwrap_or(0))
        };
        let key = crate::core::data::source::Version::parse(&h.version)
            .map(|v| v.key().to_string())
            .unwrap_or(h.version.clone());
        history.entry(key).or_default().push(format!(
            "{}  {:<4}  {:<9} {:>6} ms  {}  run {}",
            h.applied_at,
            h.direction,
            outcome,
            h.duration_ms.unwrap_or(0),
            h.os_user.as_deref().unwrap_or(&h.applied_by),
            h.run_id.as_deref().unwrap_or("-")
        ));
    }
    let mut rows = Vec::with_capacity(status.items.len());
    for i in &status.items {
        let ledger_sql = match (&i.entry, i.state.as_str()) {
            (Some(e), "drifted" | "missing") => Some(ledger.stored_sql(&client, e.id).await?.0),
            _ => None,
        };
        let findings = match &i.migration {
            Some(m) => {
                let input = crate::core::data::lint::Input::from_migration(m);
                crate::core::data::lint::lint_one(&input, &opts)
                    .into_iter()
                    .map(|f| FindingRow {
                        line: f.line,
                        rule: f.rule.to_string(),
                        severity: f.severity.as_str().to_string(),
                        message: f.message,
                        help: f.help,
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        rows.push(row(
            i,
            findings,
            ledger_sql,
            history.remove(i.version.key()).unwrap_or_default(),
        ));
    }
    let touched = touched(status);
    Ok(Load::Loaded { rows, server: target.describe(), runs, ledger: ledger_entries, touched })
}
