//! The live strip under the list: is now a good time? Who blocks whom?

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::model::Model;
use super::view::border;

fn spark(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    values.iter().rev().take(8).rev().map(|v| BARS[((*v * 7) / max) as usize]).collect()
}

fn clock(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The live strip: is now a good time? The blocker line names who blocks whom.
pub(super) fn live(m: &Model, f: &mut Frame, area: Rect) {
    let every = if m.paused {
        "paused".to_string()
    } else if m.interval_ms.is_multiple_of(1000) {
        format!("every {}s", m.interval_ms / 1000)
    } else {
        format!("every {} ms", m.interval_ms)
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border(m))
        .title(format!(" Live · {} · {every} ", m.env_name()));
    let lines = match &m.metrics {
        None => vec![Line::raw(" connecting the monitor…")],
        Some(Err(e)) => vec![
            Line::styled(" ✗ monitor not connected; retrying", Style::new().fg(m.theme.error)),
            Line::raw(format!(" {e}")),
        ],
        Some(Ok(s)) => {
            let warn = |n: i64| if n > 0 { " ⚠" } else { "" };
            let mut first = vec![
                Span::raw(format!(" conns {}/{} ", s.connections, s.max_connections)),
                Span::styled(spark(&m.conn_history), Style::new().fg(m.theme.accent)),
                Span::raw(format!(
                    "  active {}  idle-in-tx {}{}  waiting {}{}",
                    s.active,
                    s.idle_in_transaction,
                    warn(s.idle_in_transaction),
                    s.waiting,
                    warn(s.waiting)
                )),
            ];
            if let Some(tps) = s.tps {
                first.push(Span::raw(format!("  tps {tps:.0} ")));
                first.push(Span::styled(spark(&m.tps_history), Style::new().fg(m.theme.accent)));
            }
            if let Some((pid, who, secs)) = &s.longest {
                first.push(Span::raw(format!("  longest tx {} pid {pid} ({who})", clock(*secs))));
            }
            let second = match s.blocked.first() {
                None => {
                    Line::styled(" no session is waiting on a lock", Style::new().fg(m.theme.dim))
                }
                Some(b) => {
                    let blockers: Vec<String> =
                        b.blockers.iter().map(|p| format!("pid {p}")).collect();
                    let more = if s.blocked.len() > 1 {
                        format!(" (+{} more)", s.blocked.len() - 1)
                    } else {
                        String::new()
                    };
                    Line::styled(
                        format!(
                            " blocking: {} ─▶ pid {} ({}, waiting {:.0} s): {}{more}",
                            blockers.join(", "),
                            b.pid,
                            if b.application.is_empty() { &b.user } else { &b.application },
                            b.seconds,
                            b.query
                        ),
                        Style::new().fg(m.theme.warning),
                    )
                }
            };
            vec![Line::from(first), second]
        }
    };
    f.render_widget(Paragraph::new(lines).block(block), area);
}
