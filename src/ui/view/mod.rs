//! `view(model, frame)`: pure drawing. Status is never told by colour alone: every state has
//! its symbol.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;

use super::keymap::{key_label, Action};
use super::live::live;
use super::model::{DetailTab, Load, Model, Row, Screen};
use super::theme::Theme;

fn symbol(r: &Row, t: &Theme) -> (&'static str, Color) {
    match r.state.as_str() {
        "applied" => ("✓", t.applied),
        "pending" if r.out_of_order => ("↯", t.out_of_order),
        "pending" => ("•", t.pending),
        "drifted" => ("!", t.drifted),
        "missing" => ("?", t.missing),
        "failed" => ("✗", t.failed),
        "unreadable" => ("⊘", t.error),
        _ => (" ", Color::Reset),
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
    live(m, f, rows[2]);
    footer(m, f, rows[3]);
    if m.help {
        help(m, f, area);
    }
}

fn header(m: &Model, f: &mut Frame, area: Rect) {
    let mut spans = vec![Span::styled(
        format!(" sluice · {}  ", m.project),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    for (i, e) in m.envs.iter().enumerate() {
        let selected = i == m.env;
        let prod = e.tier == "production";
        let tier_color = match e.tier.as_str() {
            "production" => m.theme.production,
            "testing" => m.theme.testing,
            _ => m.theme.development,
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
        None => String::new(),
    };
    spans.push(Span::styled(state, Style::new().fg(m.theme.dim)));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub(super) fn border(m: &Model) -> Style {
    if m.is_production() {
        Style::new().fg(m.theme.production)
    } else {
        Style::new()
    }
}

fn body(m: &Model, f: &mut Frame, area: Rect) {
    if let Some(w) = &m.emergency {
        return super::wizard::emergency::draw(m, w, f, area);
    }
    if let Some(w) = &m.wizard {
        return super::wizard::view::draw(m, w, f, area);
    }
    match m.screen {
        Screen::Migrations => {}
        Screen::Monitor => return super::live::monitor_screen(m, f, area),
        Screen::Runs | Screen::Ledger => return super::browse::browser(m, f, area),
    }
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

fn list(m: &Model, f: &mut Frame, area: Rect) {
    let visible = m.visible();
    let total = match m.load() {
        Some(Load::Loaded { rows, .. }) => rows.len(),
        _ => 0,
    };
    let filter = if m.filtering || !m.filter.is_empty() {
        format!(" /{}{} ", m.filter, if m.filtering { "█" } else { "" })
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
                    let worst = r
                        .findings
                        .iter()
                        .map(|f| match f.severity.as_str() {
                            "error" => 2,
                            "warning" => 1,
                            _ => 0,
                        })
                        .max();
                    let mark = match worst {
                        Some(2) => "  ✖",
                        Some(1) => "  ▲",
                        _ => "",
                    };
                    let detail = match r.state.as_str() {
                        "applied" => r
                            .applied_at
                            .clone()
                            .unwrap_or_default()
                            .replace('T', " ")
                            .trim_end_matches('Z')
                            .to_string(),
                        "failed" => format!("failed @ stmt {}", r.failed_at.unwrap_or(0)),
                        "pending" if r.out_of_order => "pending, out of order".into(),
                        other => other.to_string(),
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
                            Style::new().fg(if worst == Some(2) {
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
        Some(Load::Loading) | None => {
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
                        super::model::retry_after_ms(n) / 1000
                    ),
                    Style::new().fg(m.theme.warning),
                ),
            ];
            f.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }).block(block), area);
        }
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
        DetailTab::History => r.history.iter().map(|h| Line::raw(format!("  {h}"))).collect(),
    };
    let block = Block::default().borders(Borders::ALL).border_style(border(m)).title(title);
    let scroll = if windowed { 0 } else { m.scroll };
    let mut para = Paragraph::new(lines).block(block).scroll((scroll, 0));
    if m.tab == DetailTab::Findings || r.problem.is_some() {
        para = para.wrap(Wrap { trim: false });
    }
    f.render_widget(para, area);
}

fn diff_lines(r: &Row, t: &Theme) -> Vec<Line<'static>> {
    let Some(diff) = &r.drift_diff else {
        let why = match r.state.as_str() {
            "pending" => "  not applied here yet: nothing to compare",
            "missing" => "  the file is gone: see the SQL tab for what ran",
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

fn finding_lines(r: &Row, t: &Theme) -> Vec<Line<'static>> {
    if r.findings.is_empty() {
        return vec![Line::raw("  no findings")];
    }
    let mut out = Vec::new();
    for f in &r.findings {
        let (sym, color) = match f.severity.as_str() {
            "error" => ("✖ error  ", t.error),
            "warning" => ("▲ warning", t.warning),
            _ => ("• info   ", t.info),
        };
        out.push(Line::from(vec![
            Span::styled(format!(" {sym} "), Style::new().fg(color).add_modifier(Modifier::BOLD)),
            Span::styled(f.rule.clone(), Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(format!("  line {}", f.line)),
        ]));
        out.push(Line::raw(format!("   {}", f.message)));
        out.push(Line::styled(format!("   fix: {}", f.help), Style::new().fg(t.dim)));
        out.push(Line::raw(""));
    }
    out
}

fn footer(m: &Model, f: &mut Frame, area: Rect) {
    if let (Some(w), true) = (&m.emergency, m.notices.is_empty()) {
        return super::wizard::emergency::footer(m, w, f, area);
    }
    if let (Some(w), true) = (&m.wizard, m.notices.is_empty()) {
        return super::wizard::view::footer(m, w, f, area);
    }
    if let Some(n) = m.notices.first() {
        let more = if m.notices.len() > 1 {
            format!(" (+{} more in the log)", m.notices.len() - 1)
        } else {
            String::new()
        };
        let line = format!(" ⚠ {n}{more} · any key hides this");
        f.render_widget(Paragraph::new(line).style(Style::new().fg(m.theme.warning)), area);
        return;
    }
    if let Some(text) = &m.palette {
        let fits = super::palette::suggestions(text);
        let hint = match fits.as_slice() {
            [one] => super::palette::COMMANDS
                .iter()
                .find(|(c, _)| c == one)
                .map(|(c, what)| format!("{c} {what}"))
                .unwrap_or_default(),
            [] => "no such command".into(),
            many => many.join(" · "),
        };
        let line = Line::from(vec![
            Span::styled(format!(" :{text}█"), Style::new().add_modifier(Modifier::BOLD)),
            Span::styled(
                format!("   {hint} · Tab completes · Enter runs · Esc closes"),
                Style::new().fg(m.theme.dim),
            ),
        ]);
        f.render_widget(Paragraph::new(line), area);
        return;
    }
    let keys = if m.filtering {
        " type to filter · Enter keep · Esc clear".to_string()
    } else {
        let first = |a: Action| m.keymap.keys(a).first().map(|k| key_label(*k)).unwrap_or_default();
        let browsing = m.screen != Screen::Migrations;
        let hints: Vec<String> = [
            (format!("{}{}", first(Action::Up), first(Action::Down)), "move"),
            (first(Action::NextEnv), "env"),
            if browsing {
                (format!("{}{}", first(Action::ScrollDown), first(Action::ScrollUp)), "scroll")
            } else {
                (first(Action::NextTab), "next tab")
            },
            (first(Action::Filter), "filter"),
            if browsing { ("Esc".into(), "back") } else { (first(Action::ShowRuns), "runs") },
            (first(Action::Help), "help"),
            (first(Action::Quit), "quit"),
        ]
        .into_iter()
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, what)| format!("{k} {what}"))
        .collect();
        format!(" {}      logs: {}", hints.join(" · "), m.log_dir)
    };
    f.render_widget(Paragraph::new(keys).style(Style::new().fg(m.theme.dim)), area);
}

/// Every action with its keys, in two columns, from the keymap the keys are read with.
fn help(m: &Model, f: &mut Frame, area: Rect) {
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
        " ✓ applied  • pending  ↯ out of order  ! drifted  ? missing  ✗ failed  ⊘ unreadable",
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

#[cfg(test)]
mod tests;
