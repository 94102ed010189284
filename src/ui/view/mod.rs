//! `view(model, frame)`: pure drawing. Status is never told by colour alone: every state has
//! its symbol. The overlay stack decides what draws: the topmost full-screen overlay (a
//! wizard) takes the body, Help draws over it, and the layer on top draws the footer.

mod browse;
mod fleet;
mod footer;
mod help;
mod live;
mod migrations;
pub mod wizard;
pub(crate) mod wrap;

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph};
use ratatui::Frame;

use super::model::{Load, Model, Overlay, Screen};
use super::theme::Theme;
use crate::core::data::config::Tier;
use crate::core::data::lint::Severity;

pub use live::blocker_tree;

pub fn view(m: &Model, f: &mut Frame) {
    let area = f.area();
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(4),
            Constraint::Length(1),
        ])
        .split(area);
    header(m, f, rows[0]);
    body(m, f, rows[1]);
    live::live(m, f, rows[2]);
    footer::footer(m, f, rows[3]);
    if m.help_open() {
        help::help(m, f, area);
    }
}

fn header(m: &Model, f: &mut Frame, area: Rect) {
    let mut spans = vec![Span::styled(
        format!(" sluice · {}  ", m.project),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    for (i, e) in m.envs.iter().enumerate() {
        let selected = i == m.env;
        let prod = e.is_production();
        let tier_color = match e.tier {
            Tier::Production => m.theme.production,
            Tier::Testing => m.theme.testing,
            Tier::Development => m.theme.development,
        };
        let label = if prod {
            format!(" ▌{}▐ {} ", e.name.to_uppercase(), e.tier)
        } else {
            format!(" {} ", e.name)
        };
        let mut style = Style::new().fg(tier_color);
        if prod {
            style = style.add_modifier(Modifier::BOLD);
        }
        if selected {
            style = style.add_modifier(Modifier::REVERSED);
        }
        spans.push(Span::styled(format!("[{label}]"), style));
        spans.push(Span::raw(" "));
    }
    let state = match m.load() {
        Some(Load::Loaded { server, .. }) => format!("  {server}"),
        Some(Load::Loading) => "  connecting…".to_string(),
        Some(Load::Failed(_)) => "  ✗ not connected · reconnecting".to_string(),
        Some(Load::Invalid(_)) => "  ✗ project cannot be read".to_string(),
        Some(Load::Fleet(s)) => format!("  fleet of {} databases", s.databases.len()),
        None => String::new(),
    };
    spans.push(Span::styled(state, Style::new().fg(m.theme.dim)));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub(crate) fn border(m: &Model) -> Style {
    if m.is_production() {
        Style::new().fg(m.theme.production)
    } else {
        Style::new()
    }
}

fn body(m: &Model, f: &mut Frame, area: Rect) {
    match m.body_overlay() {
        Some(Overlay::Emergency(w)) => return wizard::emergency::draw(m, w, f, area),
        Some(Overlay::Apply(w)) => return wizard::apply::draw(m, w, f, area),
        Some(Overlay::Fleet(w)) => return wizard::fleet::draw(m, w, f, area),
        _ => {}
    }
    match m.screen {
        Screen::Migrations if m.env_tab().is_some_and(|e| e.is_fleet()) => fleet::fleet(m, f, area),
        Screen::Migrations => migrations::migrations(m, f, area),
        Screen::Monitor => live::monitor_screen(m, f, area),
        Screen::Runs | Screen::Ledger => browse::browser(m, f, area),
    }
}

/// A list with the selected item marked and inverted, scrolled to keep it in view.
pub(super) fn selectable(
    f: &mut Frame,
    area: Rect,
    items: Vec<ListItem>,
    block: Block,
    selected: usize,
) {
    let mut state = ListState::default().with_selected(Some(selected));
    let list = List::new(items)
        .block(block)
        .highlight_symbol("▶")
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    f.render_stateful_widget(list, area, &mut state);
}

/// A finding's severity as the findings lists show it: its symbol, its word, its colour.
pub(crate) fn severity(s: Severity, t: &Theme) -> (&'static str, &'static str, Color) {
    match s {
        Severity::Error => ("✖", "error  ", t.error),
        Severity::Warning => ("▲", "warning", t.warning),
        Severity::Info => ("•", "info   ", t.info),
    }
}

/// A unified diff line's look: headers bold, + and - in their colours, hunks marked.
pub(crate) fn diff_style(l: &str, t: &Theme) -> Style {
    if l.starts_with("+++") || l.starts_with("---") {
        Style::new().add_modifier(Modifier::BOLD)
    } else if l.starts_with('+') {
        Style::new().fg(t.added)
    } else if l.starts_with('-') {
        Style::new().fg(t.removed)
    } else if l.starts_with("@@") {
        Style::new().fg(t.hunk)
    } else {
        Style::new()
    }
}

#[cfg(test)]
mod tests;
