//! The help overlay: every action with its keys, in two columns, from the keymap the keys
//! are read with.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::ui::keymap::Action;
use crate::ui::model::Model;

/// Every action with its keys, in two columns, from the keymap the keys are read with.
pub(super) fn help(m: &Model, f: &mut Frame, area: Rect) {
    let w = area.width.min(96);
    let rows = Action::ALL.len().div_ceil(2);
    let h = area.height.min(rows as u16 + 4);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let col = (w.saturating_sub(2) / 2) as usize;
    let entry = |a: Option<&Action>| -> String {
        let Some(a) = a else { return String::new() };
        let keys = m.keymap.label(*a);
        let keys = if keys.is_empty() { "(unbound)".to_string() } else { keys };
        let text = format!(" {keys:<10} {}", a.help());
        text.chars().take(col).collect()
    };
    let mut lines: Vec<Line> = (0..rows)
        .map(|i| {
            let left = entry(Action::ALL.get(i));
            let right = entry(Action::ALL.get(i + rows));
            Line::raw(format!("{left:<col$}{right}"))
        })
        .collect();
    lines.push(Line::raw(" 1-9        pick an environment · Esc clears a filter"));
    lines.push(Line::styled(
        " ✓ applied • pending ↯ out of order ! drifted ? missing ✗ failed ⊘ unreadable",
        Style::new().fg(m.theme.dim),
    ));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Help · keys from keymap.toml in the config dir "),
        ),
        r,
    );
}
