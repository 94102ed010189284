//! The apply step's panel: each migration against its dry run, the running statement with
//! PostgreSQL's progress of it, who blocks us and who queues behind us.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::core::record::report::RunReport;
use crate::ui::model::wizard::apply::ApplyWizard;
use crate::ui::theme::Theme;

pub(super) fn apply(
    w: &ApplyWizard,
    report: Option<&RunReport>,
    out: &mut Vec<Line<'static>>,
    t: &Theme,
) {
    let rehearsed = |v: &str| {
        report.and_then(|r| r.rehearsal.iter().find(|m| m.version == v)).map(|m| m.duration_ms)
    };
    for p in &w.planned {
        let dry = rehearsed(&p.version).map(|ms| format!(" (dry run {ms} ms)")).unwrap_or_default();
        if let Some((_, ms)) = w.live.done.iter().find(|(v, _)| *v == p.version) {
            out.push(Line::from(vec![
                Span::styled(" ✓ ", Style::new().fg(t.applied)),
                Span::raw(format!("{} {}  {ms} ms{dry}", p.version, p.name)),
            ]));
        } else if let Some((v, _, n, done)) = &w.live.current {
            if *v == p.version {
                let cells = 20usize;
                let filled = if *n == 0 { 0 } else { cells * done / n };
                out.push(Line::from(vec![
                    Span::styled(" ● ", Style::new().fg(t.pending)),
                    Span::raw(format!(
                        "{} {}  statement {done}/{n} {}{}{dry}",
                        p.version,
                        p.name,
                        "█".repeat(filled),
                        "░".repeat(cells - filled)
                    )),
                ]));
                statement_lines(w, report, out, t);
            } else {
                out.push(Line::styled(
                    format!(" ○ {} {}", p.version, p.name),
                    Style::new().fg(t.dim),
                ));
            }
        } else {
            out.push(Line::styled(format!(" ○ {} {}", p.version, p.name), Style::new().fg(t.dim)));
        }
    }
    if let Some(b) = &w.live.backfill {
        out.push(Line::styled(format!("   {b}"), Style::new().fg(t.pending)));
    }
    if let Some(l) = &w.live.lock_timeout {
        out.push(Line::raw(""));
        out.push(Line::styled(format!(" {l}"), Style::new().fg(t.warning)));
    }
    for (_, b) in &w.live.blockers {
        out.push(Line::styled(format!(" waiting for: {b}"), Style::new().fg(t.error)));
    }
    if let Some(s) = &w.live.stepped_out {
        out.push(Line::styled(format!(" ⇥ {s}"), Style::new().fg(t.warning)));
        for v in &w.live.victims {
            out.push(Line::raw(format!("   let through: {v}")));
        }
    }
    for (_, b) in &w.live.blocking {
        out.push(Line::styled(
            format!(" ⚠ queued behind our statement: {b}"),
            Style::new().fg(t.error).add_modifier(Modifier::BOLD),
        ));
    }
}

/// The running statement: time so far against the dry run's, and a bar for what
/// pg_stat_progress_* reports of it.
fn statement_lines(
    w: &ApplyWizard,
    report: Option<&RunReport>,
    out: &mut Vec<Line<'static>>,
    t: &Theme,
) {
    let (Some((v, _, _, done)), Some(ms)) = (&w.live.current, w.live.elapsed_ms) else { return };
    let dry = report
        .and_then(|r| r.rehearsal.iter().find(|m| &m.version == v))
        .and_then(|m| m.statements.get(*done))
        .map(|s| format!(" (dry run {:.1} s)", s.duration_ms as f64 / 1000.0))
        .unwrap_or_default();
    out.push(Line::raw(format!(
        "   statement {}: running {:.1} s{dry}",
        done + 1,
        ms as f64 / 1000.0
    )));
    if let Some(c) = &w.live.command {
        let cells = 24usize;
        let (filled, pct) = match c.total {
            n if n > 0 => {
                let d = c.done.clamp(0, n);
                ((cells as i64 * d / n) as usize, format!(" {}%", d * 100 / n))
            }
            _ => (0, String::new()),
        };
        out.push(Line::from(vec![
            Span::raw(format!("   {} · {} ", c.command, c.phase)),
            Span::styled("█".repeat(filled), Style::new().fg(t.accent)),
            Span::styled("░".repeat(cells - filled), Style::new().fg(t.dim)),
            Span::raw(format!("{pct} ({} of {})", c.done, c.total)),
        ]));
    }
}
