//! Drawing the runs and ledger browsers: entries on the left (or above), the selected one's
//! detail beside.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, ListItem, Paragraph, Wrap};
use ratatui::Frame;

use super::border;
use crate::ui::model::{Load, Model, Screen};

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
    let filter = if m.filtering() || !m.filter.is_empty() {
        format!(" /{}{} ", m.filter, if m.filtering() { "█" } else { "" })
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
            super::selectable(f, parts[0], items, block, m.selected);
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
