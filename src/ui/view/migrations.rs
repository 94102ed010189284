//! The migrations screen: the list (state symbol, title, when or why, worst finding) and
//! the selected migration's detail tabs (SQL, down, drift diff, findings, history).

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, ListItem, Paragraph, Wrap};
use ratatui::Frame;

use super::{border, diff_style, selectable};
use crate::core::data::lint::Severity;
use crate::ui::model::browse::history_line;
use crate::ui::model::{DetailTab, Load, Model, Row, RowState};
use crate::ui::theme::Theme;

/// The list beside (or above) the selected migration's detail.
pub(super) fn migrations(m: &Model, f: &mut Frame, area: Rect) {
    let wide = area.width >= 120;
    let parts = Layout::default()
        .direction(if wide { Direction::Horizontal } else { Direction::Vertical })
        .constraints(if wide {
            [Constraint::Percentage(40), Constraint::Percentage(60)]
        } else {
            [Constraint::Percentage(50), Constraint::Percentage(50)]
        })
        .split(area);
    list(m, f, parts[0]);
    detail(m, f, parts[1]);
}

fn symbol(r: &Row, t: &Theme) -> (&'static str, Color) {
    match r.state {
        RowState::Applied => ("✓", t.applied),
        RowState::Pending if r.out_of_order => ("↯", t.out_of_order),
        RowState::Pending => ("•", t.pending),
        RowState::Drifted => ("!", t.drifted),
        RowState::Missing => ("?", t.missing),
        RowState::Failed => ("✗", t.failed),
        RowState::Unreadable => ("⊘", t.error),
    }
}

const KEYWORDS: &[&str] = &[
    "CREATE",
    "TABLE",
    "INDEX",
    "CONCURRENTLY",
    "IF",
    "NOT",
    "EXISTS",
    "ALTER",
    "ADD",
    "DROP",
    "COLUMN",
    "CONSTRAINT",
    "PRIMARY",
    "KEY",
    "REFERENCES",
    "FOREIGN",
    "UNIQUE",
    "CHECK",
    "VALID",
    "VALIDATE",
    "DEFAULT",
    "NULL",
    "INSERT",
    "INTO",
    "VALUES",
    "UPDATE",
    "SET",
    "DELETE",
    "FROM",
    "WHERE",
    "SELECT",
    "AND",
    "OR",
    "ON",
    "AS",
    "VIEW",
    "FUNCTION",
    "RETURNS",
    "LANGUAGE",
    "BEGIN",
    "END",
    "COMMIT",
    "TRIGGER",
    "GRANT",
    "REVOKE",
    "TYPE",
    "USING",
    "JOIN",
    "BIGINT",
    "TEXT",
];

/// SQL with keywords and comments picked out.
/// Only the lines in view are styled: a 100,000-line file costs what a screenful costs.
/// `mark` (1-based) is the line of the finding last jumped to.
fn highlight(
    sql: &str,
    t: &Theme,
    from: usize,
    count: usize,
    mark: Option<usize>,
) -> Vec<Line<'static>> {
    sql.lines()
        .enumerate()
        .skip(from)
        .take(count)
        .map(|(i, line)| {
            let gutter = if mark == Some(i + 1) {
                Span::styled(
                    format!("{:>4} ▶", i + 1),
                    Style::new().fg(t.error).add_modifier(Modifier::BOLD),
                )
            } else {
                Span::styled(format!("{:>4}  ", i + 1), Style::new().fg(t.dim))
            };
            let mut spans = vec![gutter];
            if line.trim_start().starts_with("--") {
                spans.push(Span::styled(line.to_string(), Style::new().fg(t.dim)));
                return Line::from(spans);
            }
            let mut word = String::new();
            let flush = |word: &mut String, spans: &mut Vec<Span<'static>>| {
                if word.is_empty() {
                    return;
                }
                let w = std::mem::take(word);
                if KEYWORDS.contains(&w.to_ascii_uppercase().as_str()) {
                    spans.push(Span::styled(
                        w,
                        Style::new().fg(t.keyword).add_modifier(Modifier::BOLD),
                    ));
                } else {
                    spans.push(Span::raw(w));
                }
            };
            for c in line.chars() {
                if c.is_alphanumeric() || c == '_' {
                    word.push(c);
                } else {
                    flush(&mut word, &mut spans);
                    spans.push(Span::raw(c.to_string()));
                }
            }
            flush(&mut word, &mut spans);
            Line::from(spans)
        })
        .collect()
}

fn list(m: &Model, f: &mut Frame, area: Rect) {
    let visible = m.visible();
    let total = match m.load() {
        Some(Load::Loaded { rows, .. }) => rows.len(),
        _ => 0,
    };
    let filter = if m.filtering() || !m.filter.is_empty() {
        format!(" /{}{} ", m.filter, if m.filtering() { "█" } else { "" })
    } else {
        " / filter ".to_string()
    };
    let title = if visible.len() == total {
        format!(" Migrations ({total}) ")
    } else {
        format!(" Migrations ({} of {total}) ", visible.len())
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border(m))
        .title(title)
        .title_bottom(filter);
    match m.load() {
        Some(Load::Loaded { .. }) if total == 0 => {
            f.render_widget(Paragraph::new(" no migrations in this project").block(block), area);
        }
        Some(Load::Loaded { .. }) => {
            let items: Vec<ListItem> = visible
                .iter()
                .map(|r| {
                    let (sym, color) = symbol(r, &m.theme);
                    let worst = r.findings.iter().map(|f| f.severity).max();
                    let mark = match worst {
                        Some(Severity::Error) => "  ✖",
                        Some(Severity::Warning) => "  ▲",
                        _ => "",
                    };
                    let detail = match r.state {
                        RowState::Applied => r
                            .applied_at
                            .clone()
                            .unwrap_or_default()
                            .replace('T', " ")
                            .trim_end_matches('Z')
                            .to_string(),
                        RowState::Failed => format!("failed @ stmt {}", r.failed_at.unwrap_or(0)),
                        RowState::Pending if r.out_of_order => "pending, out of order".into(),
                        other => other.as_str().to_string(),
                    };
                    ListItem::new(Line::from(vec![
                        Span::styled(
                            format!(" {sym} "),
                            Style::new().fg(color).add_modifier(Modifier::BOLD),
                        ),
                        Span::raw(r.title(" ")),
                        Span::styled(format!("  {detail}"), Style::new().fg(m.theme.dim)),
                        Span::styled(
                            mark,
                            Style::new().fg(if worst == Some(Severity::Error) {
                                m.theme.error
                            } else {
                                m.theme.warning
                            }),
                        ),
                    ]))
                })
                .collect();
            selectable(f, area, items, block, m.selected);
        }
        Some(Load::Loading | Load::Fleet(_)) | None => {
            f.render_widget(Paragraph::new(" loading status…").block(block), area);
        }
        Some(Load::Invalid(e)) => {
            let text = vec![
                Line::styled(" ✗ the project cannot be read", Style::new().fg(m.theme.error)),
                Line::raw(format!(" {e}")),
                Line::styled(" fix it, then r to read it again", Style::new().fg(m.theme.warning)),
            ];
            f.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }).block(block), area);
        }
        Some(Load::Failed(e)) => {
            let n = m.attempts.get(m.env_name()).copied().unwrap_or(1);
            let text = vec![
                Line::styled(" ✗ cannot read this environment", Style::new().fg(m.theme.error)),
                Line::raw(format!(" {e}")),
                Line::styled(
                    format!(
                        " reconnecting: attempt {n} failed, next in {} s · r tries now",
                        crate::ui::model::retry_after_ms(n) / 1000
                    ),
                    Style::new().fg(m.theme.warning),
                ),
            ];
            f.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }).block(block), area);
        }
    }
}

fn detail(m: &Model, f: &mut Frame, area: Rect) {
    let Some(r) = m.current() else {
        f.render_widget(Block::default().borders(Borders::ALL).border_style(border(m)), area);
        return;
    };
    let tab = |t: DetailTab, label: &str| {
        if m.tab == t {
            Span::styled(format!("[{label}]"), Style::new().add_modifier(Modifier::REVERSED))
        } else {
            Span::raw(format!("[{label}]"))
        }
    };
    let findings = format!("Findings {}", r.findings.len());
    let title = Line::from(vec![
        Span::raw(format!(" {} ─ ", r.title("_"))),
        tab(DetailTab::Up, "SQL"),
        Span::raw(" "),
        tab(DetailTab::Down, "Down"),
        Span::raw(" "),
        tab(DetailTab::Diff, "Diff"),
        Span::raw(" "),
        tab(DetailTab::Findings, &findings),
        Span::raw(" "),
        tab(DetailTab::History, "History"),
        Span::raw(" "),
    ]);
    // SQL is cut to the window here, so the paragraph itself is not scrolled.
    let (from, count) = (m.scroll as usize, area.height as usize);
    let windowed = match m.tab {
        DetailTab::Up => r.up_sql.is_some(),
        DetailTab::Down => r.down_sql.is_some(),
        _ => false,
    };
    let lines = match m.tab {
        _ if r.problem.is_some() => vec![
            Line::styled("  ⊘ this migration cannot be read", Style::new().fg(m.theme.error)),
            Line::raw(format!("  {}", r.problem.as_deref().unwrap_or_default())),
            Line::styled(
                "  nothing runs in this project until it is fixed; then r reads it again",
                Style::new().fg(m.theme.warning),
            ),
        ],
        DetailTab::Up => match (&r.up_sql, &r.ledger_sql) {
            (Some(s), _) => {
                let mark = m.finding.and_then(|i| r.findings.get(i)).map(|f| f.line);
                highlight(s, &m.theme, from, count, mark)
            }
            (None, Some(ran)) => {
                let mut l = vec![Line::styled(
                    "  file gone: the SQL the ledger says ran",
                    Style::new().fg(m.theme.warning),
                )];
                l.extend(highlight(ran, &m.theme, from, count, None));
                l
            }
            (None, None) => vec![Line::raw("  the file is gone")],
        },
        DetailTab::Down => match &r.down_sql {
            Some(s) => highlight(s, &m.theme, from, count, None),
            None => vec![Line::raw(
                "  no down file: rollback uses the ledger's copy if it has one, else is refused",
            )],
        },
        DetailTab::Diff => diff_lines(r, &m.theme),
        DetailTab::Findings => finding_lines(r, &m.theme),
        DetailTab::History if r.history.is_empty() => vec![Line::raw("  never run here")],
        DetailTab::History => {
            r.history.iter().map(|h| Line::raw(format!("  {}", history_line(h)))).collect()
        }
    };
    let block = Block::default().borders(Borders::ALL).border_style(border(m)).title(title);
    let scroll = if windowed { 0 } else { m.scroll };
    // Findings and problems wrap under their own text; SQL is shown as written.
    let lines = if m.tab == DetailTab::Findings || r.problem.is_some() {
        super::wrap::hanging(lines, area.width.saturating_sub(2) as usize)
    } else {
        lines
    };
    f.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), area);
}

fn diff_lines(r: &Row, t: &Theme) -> Vec<Line<'static>> {
    let Some(diff) = &r.drift_diff else {
        let why = match r.state {
            RowState::Pending => "  not applied here yet: nothing to compare",
            RowState::Missing => "  the file is gone: see the SQL tab for what ran",
            _ => "  the file matches the SQL that ran",
        };
        return vec![Line::raw(why)];
    };
    if diff.is_empty() {
        return vec![Line::raw(
            "  the file matches the SQL that ran (whitespace and line endings aside)",
        )];
    }
    diff.lines().map(|l| Line::styled(l.to_string(), diff_style(l, t))).collect()
}

fn finding_lines(r: &Row, t: &Theme) -> Vec<Line<'static>> {
    if r.findings.is_empty() {
        return vec![Line::raw("  no findings")];
    }
    let mut out = Vec::new();
    for f in &r.findings {
        let (mark, word, color) = super::severity(f.severity, t);
        let sym = format!("{mark} {word}");
        out.push(Line::from(vec![
            Span::styled(format!(" {sym} "), Style::new().fg(color).add_modifier(Modifier::BOLD)),
            Span::styled(f.rule.to_string(), Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(format!("  line {}", f.line)),
        ]));
        out.push(Line::raw(format!("   {}", f.message)));
        out.push(Line::styled(format!("   fix: {}", f.help), Style::new().fg(t.dim)));
        out.push(Line::raw(""));
    }
    out
}
