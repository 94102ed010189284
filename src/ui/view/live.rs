//! The live strip under the list: is now a good time? Who blocks whom?

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::border;
use crate::core::db::monitor::Snapshot;
use crate::ui::model::Model;
use crate::ui::theme::Theme;

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
        None if m.env_tab().is_some_and(|e| e.is_fleet()) => {
            vec![Line::raw(" a fleet is many servers: Enter opens one database and its live view")]
        }
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
            // Sessions queued behind our own run come first, marked: they are ours to answer.
            let ours = m.apply_wizard().map(|w| w.live.blocking.as_slice()).unwrap_or_default();
            let second = match (ours.first(), s.blocked.first()) {
                (Some((_, b)), _) => {
                    let more = if ours.len() > 1 {
                        format!(" (+{} more)", ours.len() - 1)
                    } else {
                        String::new()
                    };
                    Line::styled(
                        format!(" ⚠ OUR RUN blocks {} session(s): {b}{more}", ours.len()),
                        Style::new()
                            .fg(m.theme.error)
                            .add_modifier(Modifier::BOLD | Modifier::REVERSED),
                    )
                }
                (None, None) => {
                    Line::styled(" no session is waiting on a lock", Style::new().fg(m.theme.dim))
                }
                (None, Some(b)) => {
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

/// Who blocks whom, as a tree: roots are sessions that block without waiting themselves.
pub fn blocker_tree(s: &crate::core::db::monitor::Snapshot) -> Vec<String> {
    fn children(
        s: &crate::core::db::monitor::Snapshot,
        pid: i32,
        depth: usize,
        seen: &mut Vec<i32>,
        out: &mut Vec<String>,
    ) {
        let kids: Vec<_> = s.blocked.iter().filter(|b| b.blockers.contains(&pid)).collect();
        for (i, b) in kids.iter().enumerate() {
            let last = i + 1 == kids.len();
            let who = if b.application.is_empty() { &b.user } else { &b.application };
            out.push(format!(
                "{}{} pid {} ({who}) waits {:.0} s: {}",
                "   ".repeat(depth),
                if last { "└─" } else { "├─" },
                b.pid,
                b.seconds,
                b.query
            ));
            // A lock cycle (a deadlock about to be broken) would recurse for ever.
            if !seen.contains(&b.pid) && depth < 8 {
                seen.push(b.pid);
                children(s, b.pid, depth + 1, seen, out);
            }
        }
    }
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for r in &s.blockers {
        out.push(format!(
            "pid {} ({}) {}, transaction {}: {}",
            r.pid,
            r.who,
            r.state,
            clock(r.xact_seconds),
            r.query
        ));
        seen.push(r.pid);
        children(s, r.pid, 0, &mut seen, &mut out);
    }
    // Waiters whose blockers are all waiting too (a cycle) have no root above them.
    for b in &s.blocked {
        if !seen.contains(&b.pid) {
            out.push(format!("pid {} waits on {:?} (in a cycle): {}", b.pid, b.blockers, b.query));
        }
    }
    out
}

/// The full-screen live view: the blocker tree, the locks on the tables the pending
/// migrations touch, and the sessions idle in a transaction.
pub(super) fn monitor_screen(m: &Model, f: &mut Frame, area: Rect) {
    use ratatui::layout::{Constraint, Direction, Layout};
    let t = &m.theme;
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Percentage(40), Constraint::Fill(1)])
        .split(area);
    let bottom = Layout::default()
        .direction(if area.width >= 120 { Direction::Horizontal } else { Direction::Vertical })
        .constraints([Constraint::Percentage(60), Constraint::Fill(1)])
        .split(rows[1]);
    let block =
        |title: String| Block::default().borders(Borders::ALL).border_style(border(m)).title(title);
    let touched = match m.load() {
        Some(crate::ui::model::Load::Loaded { touched, .. }) => touched.clone(),
        _ => Vec::new(),
    };
    let (tree, locks, idle): (Vec<Line>, Vec<Line>, Vec<Line>) = match &m.metrics {
        None => (vec![Line::raw(" connecting the monitor…")], vec![], vec![]),
        Some(Err(e)) => (
            vec![
                Line::styled(" ✗ monitor not connected; retrying", Style::new().fg(t.error)),
                Line::raw(format!(" {e}")),
            ],
            vec![],
            vec![],
        ),
        Some(Ok(s)) => (tree_lines(s, t), lock_lines(s, &touched, t), idle_lines(s, t)),
    };
    f.render_widget(
        Paragraph::new(tree).block(block(format!(" Blocking · {} · Esc back ", m.env_name()))),
        rows[0],
    );
    let title = if touched.is_empty() {
        " Locks on the tables pending migrations touch ".to_string()
    } else {
        format!(" Locks on {} ", touched.join(", "))
    };
    f.render_widget(Paragraph::new(locks).block(block(title)), bottom[0]);
    f.render_widget(Paragraph::new(idle).block(block(" Idle in transaction ".into())), bottom[1]);
}

fn tree_lines(s: &Snapshot, t: &Theme) -> Vec<Line<'static>> {
    if s.blocked.is_empty() {
        vec![Line::styled(" no session is waiting on a lock", Style::new().fg(t.dim))]
    } else {
        blocker_tree(s)
            .into_iter()
            .map(|l| {
                if l.starts_with("pid") {
                    Line::styled(format!(" {l}"), Style::new().fg(t.warning))
                } else {
                    Line::raw(format!(" {l}"))
                }
            })
            .collect()
    }
}

/// Who holds or waits for a lock on the touched tables; waiters stand out.
fn lock_lines(s: &Snapshot, touched: &[String], t: &Theme) -> Vec<Line<'static>> {
    use ratatui::style::Modifier;
    if touched.is_empty() {
        vec![Line::styled(" no pending migration touches a table", Style::new().fg(t.dim))]
    } else if s.locks.is_empty() {
        vec![Line::styled(" no lock on them now", Style::new().fg(t.dim))]
    } else {
        s.locks
            .iter()
            .map(|l| {
                let text = format!(
                    " {} {:<22} {:<24} pid {} ({}) tx {}",
                    if l.granted { "holds " } else { "WAITS " },
                    l.mode,
                    l.relation,
                    l.pid,
                    l.who,
                    clock(l.xact_seconds)
                );
                if l.granted {
                    Line::raw(text)
                } else {
                    Line::styled(text, Style::new().fg(t.warning).add_modifier(Modifier::BOLD))
                }
            })
            .collect()
    }
}

fn idle_lines(s: &Snapshot, t: &Theme) -> Vec<Line<'static>> {
    if s.idle_in_tx.is_empty() {
        vec![Line::styled(" none", Style::new().fg(t.dim))]
    } else {
        s.idle_in_tx
            .iter()
            .map(|x| {
                Line::raw(format!(
                    " pid {} ({}) {}: {}",
                    x.pid,
                    x.who,
                    clock(x.xact_seconds),
                    x.query
                ))
            })
            .collect()
    }
}
