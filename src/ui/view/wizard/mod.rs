//! Drawing the guided runs: the apply wizard's stepper and panels, the emergency screens,
//! and what both share (questions, the report at the end).

pub mod apply;
pub mod emergency;
pub mod fleet;
mod recover;
mod running;
mod stages;

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::core::record::report::RunReport;
use crate::ui::model::wizard::WizardCore;
use crate::ui::theme::Theme;

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_048_576.0)
}

pub(super) fn question(f: &mut Frame, area: Rect, t: &Theme, lines: &[String]) {
    let width = area.width.saturating_sub(4).min(90);
    let height = (lines.len() as u16 + 4).min(area.height);
    let r = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height,
    };
    f.render_widget(Clear, r);
    let text: Vec<Line> = lines.iter().map(|l| Line::raw(l.clone())).collect();
    f.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).border_style(Style::new().fg(t.warning))),
        r,
    );
}

pub(super) fn overrides(report: Option<&RunReport>, out: &mut Vec<Line<'static>>, t: &Theme) {
    for o in report.map(|r| r.overrides.as_slice()).unwrap_or_default() {
        out.push(Line::styled(
            format!(" Overridden {}: \"{}\" ({})", o.guard, o.reason, o.what.join(", ")),
            Style::new().fg(t.warning),
        ));
    }
}

/// The end of a run, for both wizards: outcome, error, migrations against the dry run,
/// locks, overrides, approvals, ticket, terminated sessions, backup, verify, report file.
pub(super) fn summary(
    core: &WizardCore,
    failed: Option<&str>,
    out: &mut Vec<Line<'static>>,
    t: &Theme,
) {
    let Some(r) = core.report.as_deref() else {
        if let Some(e) = failed {
            out.push(Line::styled(
                format!(" ✗ the run could not start: {e}"),
                Style::new().fg(t.error),
            ));
        }
        return;
    };
    let color = match r.outcome.as_str() {
        "done" | "nothing-to-do" => t.applied,
        "cancelled" => t.warning,
        _ => t.error,
    };
    out.push(Line::styled(
        format!(" Outcome: {} · run {} · {} ms", r.outcome, r.run_id, r.duration_ms),
        Style::new().fg(color).add_modifier(Modifier::BOLD),
    ));
    if let Some(e) = &r.error {
        out.push(Line::styled(format!(" {}", e.message), Style::new().fg(t.error)));
        for b in &e.blockers {
            out.push(Line::raw(format!("   blocked by {b}")));
        }
    }
    if !r.migrations.is_empty() {
        out.push(Line::raw(""));
        out.push(Line::styled(
            " Migrations (applied vs dry run):",
            Style::new().add_modifier(Modifier::BOLD),
        ));
        for mig in &r.migrations {
            let dry = r
                .rehearsal
                .iter()
                .find(|x| x.version == mig.version)
                .map(|x| format!(" vs {} ms", x.duration_ms))
                .unwrap_or_default();
            let retries = if mig.lock_retries > 0 {
                format!(", {} lock retries", mig.lock_retries)
            } else {
                String::new()
            };
            out.push(Line::raw(format!(
                "   {} {} {}  {} ms{dry}{retries}",
                mig.direction, mig.version, mig.name, mig.duration_ms
            )));
        }
    }
    // Each migration's strongest lock per relation, under the migration that takes it.
    let locking: Vec<_> = r.rehearsal.iter().filter(|m| !m.lock_summary.is_empty()).collect();
    if !locking.is_empty() {
        out.push(Line::raw(" Locks (from the dry run):"));
        for m in locking {
            out.push(Line::raw(format!("   {} {}", m.version, m.name)));
            for l in &m.lock_summary {
                out.push(Line::raw(format!("     {l}")));
            }
        }
    }
    overrides(Some(r), out, t);
    for a in &r.approvals {
        out.push(Line::raw(format!(
            " Second approver: {} ({}@{}, code issued {})",
            a.approver, a.account, a.host, a.issued_at
        )));
    }
    if let Some(tk) = &r.ticket {
        out.push(Line::raw(format!(" Ticket: {tk}")));
    }
    for x in &r.terminated {
        out.push(Line::styled(format!(" Terminated: {x}"), Style::new().fg(t.warning)));
    }
    match &r.backup {
        Some(b) => out.push(Line::raw(format!(" Backup: {} ({})", b.path.display(), mb(b.bytes)))),
        None => out.push(Line::raw(" Backup: none")),
    }
    use crate::core::guard::precheck::Outcome;
    for c in &r.verify {
        let sym = match c.outcome {
            Outcome::Pass => "✓",
            Outcome::Warn => "▲",
            Outcome::Fail => "✗",
        };
        out.push(Line::raw(format!(" Verify {sym} {}: {}", c.name, c.figure)));
    }
    if let Some(p) = &core.report_path {
        out.push(Line::raw(""));
        out.push(Line::styled(format!(" Report: {p} (and .json)"), Style::new().fg(t.dim)));
    }
}
