//! A fleet environment's tab: its databases, failures first (symbol, name, head, counts),
//! and beside them the fleet at a glance (how many at each head) and the selected
//! database's address and error.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, ListItem, Paragraph, Wrap};
use ratatui::Frame;

use super::{border, selectable};
use crate::core::query::fleet::DatabaseState;
use crate::ui::model::fleet::heads;
use crate::ui::model::{Load, Model};
use crate::ui::theme::Theme;

pub(super) fn fleet(m: &Model, f: &mut Frame, area: Rect) {
    let wide = area.width >= 120;
    let parts = Layout::default()
        .direction(if wide { Direction::Horizontal } else { Direction::Vertical })
        .constraints(if wide {
            [Constraint::Percentage(55), Constraint::Percentage(45)]
        } else {
            [Constraint::Fill(1), Constraint::Length(7)]
        })
        .split(area);
    list(m, f, parts[0]);
    summary(m, f, parts[1]);
}

/// A database's symbol and colour: never the colour alone.
pub(crate) fn symbol(d: &DatabaseState, t: &Theme) -> (&'static str, Color) {
    if !d.reachable {
        ("⊘", t.error)
    } else if d.failed > 0 {
        ("✗", t.failed)
    } else if d.drifted > 0 {
        ("!", t.drifted)
    } else if d.pending > 0 {
        ("•", t.pending)
    } else {
        ("✓", t.applied)
    }
}

fn counts(d: &DatabaseState) -> String {
    if !d.reachable {
        return "unreachable".into();
    }
    let mut parts = vec![format!("{} applied", d.applied)];
    for (n, what) in [(d.pending, "pending"), (d.failed, "failed"), (d.drifted, "drifted")] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    parts.join(" · ")
}

/// The last `width` characters of `s`, with an ellipsis where it was cut.
fn tail(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    let kept: String = s.chars().skip(n - width + 1).collect();
    format!("…{kept}")
}

fn list(m: &Model, f: &mut Frame, area: Rect) {
    let rows = m.fleet_rows();
    let filter =
        if m.filter.is_empty() { String::new() } else { format!(" filter: {} ", m.filter) };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border(m))
        .title(format!(" Databases ({}) · failures first ", rows.len()))
        .title_bottom(filter);
    let Some(Load::Fleet(_)) = m.load() else {
        let text = match m.load() {
            Some(Load::Failed(e) | Load::Invalid(e)) => format!(" ✗ {e}"),
            _ => " reading each database's ledger…".into(),
        };
        let p = Paragraph::new(text).wrap(Wrap { trim: false }).block(block);
        return f.render_widget(p, area);
    };
    // A label too wide keeps its end (the database's name), not its start (the host).
    let room = (area.width as usize / 2).max(16);
    let width = rows.iter().map(|d| d.database.chars().count()).max().unwrap_or(0).min(room);
    let items: Vec<ListItem> = rows
        .iter()
        .map(|d| {
            let (sym, color) = symbol(d, &m.theme);
            let head = d.head.as_deref().unwrap_or("—");
            ListItem::new(Line::from(vec![
                Span::styled(
                    format!(" {sym} "),
                    Style::new().fg(color).add_modifier(Modifier::BOLD),
                ),
                Span::raw(format!("{:width$}  head {head:<8}", tail(&d.database, width))),
                Span::styled(format!(" {}", counts(d)), Style::new().fg(m.theme.dim)),
            ]))
        })
        .collect();
    selectable(f, area, items, block, m.selected);
}

fn summary(m: &Model, f: &mut Frame, area: Rect) {
    let block = Block::default().borders(Borders::ALL).border_style(border(m)).title(" Fleet ");
    let Some(Load::Fleet(status)) = m.load() else {
        return f.render_widget(block, area);
    };
    let t = &m.theme;
    let all = &status.databases;
    let count = |p: fn(&DatabaseState) -> bool| all.iter().filter(|d| p(d)).count();
    let mut out = vec![Line::from(vec![
        Span::styled(
            format!(" {} databases", all.len()),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(
            " · {} up to date · {} with pending · {} failed · {} unreachable",
            count(|d| d.reachable && d.pending == 0 && d.failed == 0 && d.drifted == 0),
            count(|d| d.reachable && d.pending > 0),
            count(|d| d.failed > 0),
            count(|d| !d.reachable),
        )),
    ])];
    let heads: Vec<String> = heads(all)
        .into_iter()
        .map(|(h, n)| format!("{} ×{n}", h.unwrap_or_else(|| "nothing applied".into())))
        .collect();
    out.push(Line::raw(format!(" Heads: {}", heads.join(" · "))));
    if let Some(d) = m.fleet_rows().get(m.selected) {
        out.push(Line::from(vec![
            Span::styled(format!(" {}", d.database), Style::new().add_modifier(Modifier::BOLD)),
            Span::styled(format!("  {}", d.url), Style::new().fg(t.dim)),
        ]));
        if let Some(e) = &d.error {
            out.push(Line::styled(format!(" ✗ {e}"), Style::new().fg(t.error)));
        }
        if d.error.is_none() {
            let p = Style::new().fg(t.dim);
            out.push(Line::styled(" Enter opens this database · a rolls the fleet out", p));
        }
    }
    f.render_widget(Paragraph::new(out).wrap(Wrap { trim: false }).block(block), area);
}
