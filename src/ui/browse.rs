//! The runs and ledger browsers: every run with its stages, checks, overrides and backup;
//! every ledger row with who, when and how long. Entries are built by the loading task, so
//! drawing them is only layout.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, ListItem, Paragraph, Wrap};
use ratatui::Frame;
use serde_json::Value;

use super::model::{Entry, Load, Model, Screen};
use super::view::border;
use crate::core::db::ledger::{HistoryRow, RunRow};

fn ms(v: &Value) -> String {
    match v.as_u64() {
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
pub fn run_entry(r: &RunRow) -> Entry {
    let d = &r.details;
    let line = format!(
        "{}  {:<8} {:<13} {:>7}  {}",
        when(&r.started_at),
        r.action,
        r.outcome,
        ms(&d["duration_ms"]),
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
    if let Some(to) = d["to"].as_str() {
        out.push(format!("target version {to}"));
    }
    if let Some(stages) = d["stages"].as_array().filter(|s| !s.is_empty()) {
        out.push(String::new());
        out.push("stages".into());
        for s in stages {
            let mark = match s["outcome"].as_str() {
                Some("passed") => "✓",
                Some("warned") => "!",
                Some("skipped") => "–",
                _ => "✗",
            };
            out.push(format!(
                "  {mark} {:<11} {} ({})",
                s["stage"].as_str().unwrap_or("?"),
                s["summary"].as_str().unwrap_or(""),
                ms(&s["duration_ms"])
            ));
        }
    }
    if let Some(checks) = d["prechecks"].as_array().filter(|c| !c.is_empty()) {
        out.push(String::new());
        out.push("pre-checks".into());
        for c in checks {
            let mark = match c["outcome"].as_str() {
                Some("pass") => "✓",
                Some("warn") => "!",
                _ => "✗",
            };
            out.push(format!(
                "  {mark} {:<19} {}",
                c["name"].as_str().unwrap_or("?"),
                c["figure"].as_str().unwrap_or("")
            ));
        }
    }
    let overrides = d["overrides"].as_array().cloned().unwrap_or_default();
    if !overrides.is_empty() || d["window_override"].is_string() {
        out.push(String::new());
        out.push("overrides".into());
        for o in &overrides {
            let what: Vec<&str> = o["what"]
                .as_array()
                .map(|w| w.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            out.push(format!(
                "  {}: {}{}",
                o["guard"].as_str().unwrap_or("?"),
                o["reason"].as_str().unwrap_or(""),
                if what.is_empty() { String::new() } else { format!(" ({})", what.join(", ")) }
            ));
        }
        if overrides.is_empty() {
            if let Some(w) = d["window_override"].as_str() {
                out.push(format!("  maintenance window: {w}"));
            }
        }
    }
    if let Some(b) = d["backup"].as_object() {
        out.push(String::new());
        out.push(format!(
            "backup {} ({:.1} MB, {} entries verified, {})",
            b.get("path").and_then(Value::as_str).unwrap_or("?"),
            b.get("bytes").and_then(Value::as_u64).unwrap_or(0) as f64 / 1_048_576.0,
            b.get("entries").and_then(Value::as_u64).unwrap_or(0),
            ms(b.get("duration_ms").unwrap_or(&Value::Null))
        ));
    }
    if let Some(f) = d["restored"].as_str() {
        out.push(format!("restored {f}"));
    }
    if let Some(ms_) = d["migrations"].as_array().filter(|m| !m.is_empty()) {
        out.push(String::new());
        out.push("migrations".into());
        for m in ms_ {
            let arrow = if m["direction"] == "down" { "↓" } else { "↑" };
            out.push(format!(
                "  {arrow} {}_{}  {}{}",
                m["version"].as_str().unwrap_or("?"),
                m["name"].as_str().unwrap_or("?"),
                ms(&m["duration_ms"]),
                match m["lock_retries"].as_u64() {
                    Some(n) if n > 0 => format!(", {n} lock retries"),
                    _ => String::new(),
                }
            ));
        }
    }
    for (key, value) in d.as_object().into_iter().flatten() {
        if let (Some(stage), Some(hooks)) = (key.strip_prefix("hooks_"), value.as_array()) {
            for h in hooks {
                out.push(format!("hook {stage}: {}", compact(h)));
            }
        }
    }
    if let Some(e) = d["error"].as_object() {
        out.push(String::new());
        out.push(format!("error: {}", e.get("message").and_then(Value::as_str).unwrap_or("?")));
        for b in e.get("blockers").and_then(Value::as_array).into_iter().flatten() {
            out.push(format!(
                "  blocked by pid {} ({})",
                b["pid"],
                b["application_name"].as_str().unwrap_or("")
            ));
        }
    }
    let search = format!(
        "{} {} {} {} {} {}",
        r.run_id, r.action, r.outcome, r.operator, r.started_at, r.environment
    )
    .to_lowercase();
    Entry { line, detail: out, search, outcome: r.outcome.clone() }
}

fn compact(v: &Value) -> String {
    match v {
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| {
                format!("{k}={}", v.as_str().map(str::to_string).unwrap_or(v.to_string()))
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

/// One ledger row.
pub fn ledger_entry(h: &HistoryRow) -> Entry {
    let outcome = if h.success {
        "ok".to_string()
    } else {
        format!("failed at statement {}", h.failed_at_statement.unwrap_or(0))
    };
    let who = h.os_user.as_deref().unwrap_or(&h.applied_by);
    let line = format!(
        "{}  {:<4} {}_{}  {}  {}  {}",
        when(&h.applied_at),
        h.direction,
        h.version,
        h.name,
        if h.success { "ok" } else { "FAILED" },
        ms(&h.duration_ms.map(|d| Value::from(d.max(0) as u64)).unwrap_or(Value::Null)),
        who
    );
    let mut detail = vec![
        format!("{} {}_{}: {outcome}", h.direction, h.version, h.name),
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
    Entry { line, detail, search, outcome: if h.success { "ok".into() } else { "failed".into() } }
}

/// The browser on screen: entries on the left (or above), the selected one's detail beside.
pub(super) fn browser(m: &Model, f: &mut Frame, area: Rect) {
    let wide = area.width >= 120;
    let parts = Layout::default()
        .direction(if wide { Direction::Horizontal } else { Direction::Vertical })
        .constraints([Constraint::Percentage(if wide { 45 } else { 50 }), Constraint::Fill(1)])
        .split(area);
    let entries = m.entries();
    let total = match (m.load(), m.screen) {
        (Some(Load::Loaded { runs, .. }), Screen::Runs) => runs.len(),
        (Some(Load::Loaded { ledger, .. }), _) => ledger.len(),
        _ => 0,
    };
    let what = if m.screen == Screen::Runs { "Runs" } else { "Ledger" };
    let title = if entries.len() == total {
        format!(" {what} ({total}) · Esc back ")
    } else {
        format!(" {what} ({} of {total}) · Esc back ", entries.len())
    };
    let filter = if m.filtering || !m.filter.is_empty() {
        format!(" /{}{} ", m.filter, if m.filtering { "█" } else { "" })
    } else {
        " / filter ".to_string()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border(m))
        .title(title)
        .title_bottom(filter);
    let t = &m.theme;
    match m.load() {
        Some(Load::Loaded { .. }) if entries.is_empty() => {
            let none = if total == 0 { "  nothing recorded here yet" } else { "  no match" };
            f.render_widget(Paragraph::new(none).block(block), parts[0]);
        }
        Some(Load::Loaded { .. }) => {
            let items: Vec<ListItem> = entries
                .iter()
                .map(|e| {
                    let (sym, color) = match e.outcome.as_str() {
                        "done" | "ok" | "rehearsed" | "nothing-to-do" => ("✓", t.ok),
                        "degraded" | "cancelled" | "refused" => ("!", t.warning),
                        "running" => ("…", t.info),
                        _ => ("✗", t.error),
                    };
                    ListItem::new(Line::from(vec![
                        Span::styled(
                            format!(" {sym} "),
                            Style::new().fg(color).add_modifier(Modifier::BOLD),
                        ),
                        Span::raw(e.line.clone()),
                    ]))
                })
                .collect();
            super::view::selectable(f, parts[0], items, block, m.selected);
        }
        _ => f.render_widget(Paragraph::new(" loading…").block(block), parts[0]),
    }
    let detail: Vec<Line> = entries
        .get(m.selected)
        .map(|e| {
            e.detail
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    if i == 0 {
                        Line::styled(l.clone(), Style::new().add_modifier(Modifier::BOLD))
                    } else if l.starts_with("  ✗") || l.starts_with("error") {
                        Line::styled(l.clone(), Style::new().fg(t.error))
                    } else if l.starts_with("  !") {
                        Line::styled(l.clone(), Style::new().fg(t.warning))
                    } else {
                        Line::raw(l.clone())
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    f.render_widget(
        Paragraph::new(detail)
            .wrap(Wrap { trim: false })
            .scroll((m.scroll, 0))
            .block(Block::default().borders(Borders::ALL).border_style(border(m))),
        parts[1],
    );
}
