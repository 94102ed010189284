//! Drawing the wizard: title, stepper, the viewed step's panel, questions and the footer.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{Ask, Reason, Step, Wizard};
use crate::core::record::report::StageOutcome;
use crate::ui::model::Model;
use crate::ui::theme::Theme;

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_048_576.0)
}

pub fn draw(m: &Model, w: &Wizard, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Length(1), Constraint::Length(1), Constraint::Min(3)])
        .split(area);
    let range = match (w.planned.first(), w.planned.last()) {
        (Some(a), Some(b)) if w.planned.len() > 1 => format!(" ({} → {})", a.version, b.version),
        (Some(a), _) => format!(" ({})", a.version),
        _ => String::new(),
    };
    let env = if w.tier == "production" { w.env.to_uppercase() } else { w.env.clone() };
    let title = format!(" Apply to {env} · {} migration(s){range}", w.planned.len());
    let who = match &w.run_id {
        Some(id) => format!("run {id} · operator {}", w.operator),
        None => "opening the run…".into(),
    };
    let pad = (area.width as usize).saturating_sub(title.chars().count() + who.chars().count() + 1);
    let env_style = if w.tier == "production" {
        Style::new().fg(t.production).add_modifier(Modifier::BOLD)
    } else {
        Style::new().add_modifier(Modifier::BOLD)
    };
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(title, env_style),
            Span::raw(" ".repeat(pad)),
            Span::styled(who, Style::new().fg(t.dim)),
        ])),
        rows[0],
    );
    f.render_widget(Paragraph::new(stepper(w, t)), rows[1]);
    let lines = panel(w, t);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(crate::ui::view::border(m))
        .title(format!(" {} ", w.view.label()));
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((w.selected.min(u16::MAX as usize) as u16, 0)),
        rows[2],
    );
    if let Some(ask) = &w.ask {
        question(f, area, t, &ask_text(w, ask));
    }
    if let Some((why, text)) = &w.reason {
        let what = match why {
            Reason::Lint => "Reason to override the lint gate (recorded with the run):",
            Reason::Window => "Reason to run outside the maintenance window (recorded):",
        };
        question(
            f,
            area,
            t,
            &[
                what.to_string(),
                format!("> {text}█"),
                "Enter records it and runs the step again · Esc cancels".into(),
            ],
        );
    }
}

fn ask_text(w: &Wizard, ask: &Ask) -> Vec<String> {
    let n = w.planned.len();
    let q = match ask {
        Ask::Abort => "Abandon this run? Nothing has been applied; it is recorded as cancelled.".to_string(),
        Ask::Cancel => "Cancel the statement running now and stop the run? (pg_cancel_backend)".into(),
        Ask::Terminate(pid) => format!(
            "Terminate blocking session pid {pid} (pg_terminate_backend)? Its transaction rolls back. Recorded with the run."
        ),
        Ask::Wait => format!(
            "Wait up to {} s for the lock on the next try? Sessions that need the table queue behind us meanwhile (shown under the run); c aborts.",
            super::WAIT_LONGER_MS / 1000
        ),
        Ask::Apply => format!("Apply {n} migration(s) to {}?", w.env),
        Ask::Quit if w.before_apply() => {
            "A run is open (it holds the ledger lock): abandon it and quit?".into()
        }
        Ask::Quit => "A run is applying: cancel it and quit once it has stopped?".into(),
    };
    vec![q, String::new(), "y yes · any other key no".into()]
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

fn stepper(w: &Wizard, t: &Theme) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for step in Step::ALL {
        let (sym, color) = if let Some(r) = w.result(step) {
            match r.outcome {
                StageOutcome::Failed => ("✗", t.error),
                StageOutcome::Warned => ("▲", t.warning),
                StageOutcome::Skipped => ("–", t.dim),
                StageOutcome::Passed => ("✓", t.applied),
            }
        } else if step == w.at && w.failed.is_some() {
            ("✗", t.error)
        } else if step < w.at || (step == Step::Report && w.over()) {
            ("✓", t.applied)
        } else if step == w.at {
            ("●", t.pending)
        } else {
            ("○", t.dim)
        };
        let mut style = Style::new();
        if step == w.view {
            style = style.add_modifier(Modifier::REVERSED | Modifier::BOLD);
        }
        spans.push(Span::styled(format!("{sym} "), Style::new().fg(color)));
        spans.push(Span::styled(step.label().to_string(), style));
        spans.push(Span::raw("  "));
    }
    Line::from(spans)
}

fn panel(w: &Wizard, t: &Theme) -> Vec<Line<'static>> {
    let mut out: Vec<Line> = Vec::new();
    let dim = Style::new().fg(t.dim);
    if w.view == w.at {
        if let Some(e) = &w.failed {
            out.push(Line::styled(format!(" ✗ {e}"), Style::new().fg(t.error)));
            out.push(Line::styled(format!(" {}", w.blocked_hint()), Style::new().fg(t.warning)));
            out.push(Line::raw(""));
        } else if w.busy && w.view != Step::Apply {
            out.push(Line::styled(
                format!(" ● {} running…", w.view.label()),
                Style::new().fg(t.pending),
            ));
        }
    }
    if let Some(r) = w.result(w.view) {
        if r.outcome != StageOutcome::Failed {
            out.push(Line::raw(format!(" {} · {} ms", r.summary, r.duration_ms)));
            out.push(Line::raw(""));
        }
    }
    let report = w.report.as_deref();
    match w.view {
        Step::PreChecks => {
            use crate::core::guard::precheck::Outcome;
            for c in report.map(|r| r.prechecks.as_slice()).unwrap_or_default() {
                let (sym, color) = match c.outcome {
                    Outcome::Pass => ("✓", t.applied),
                    Outcome::Warn => ("▲", t.warning),
                    Outcome::Fail => ("✗", t.error),
                };
                out.push(Line::from(vec![
                    Span::styled(format!(" {sym} "), Style::new().fg(color)),
                    Span::raw(format!("{:<24}", c.name)),
                    Span::styled(c.figure.clone(), dim),
                ]));
            }
            if !w.planned.is_empty() {
                out.push(Line::raw(""));
                out.push(Line::styled(" The run applies:", dim));
                for p in &w.planned {
                    let tx = if p.transactional { "in a transaction" } else { "no transaction" };
                    out.push(Line::raw(format!(
                        "   {} {}  {} statement(s), {tx}",
                        p.version, p.name, p.statements
                    )));
                }
            }
        }
        Step::Lint => {
            if w.findings.is_empty() && w.result(Step::Lint).is_some() {
                out.push(Line::raw(" no findings"));
            }
            for f in &w.findings {
                let (sym, color) = match f.severity.as_str() {
                    "error" => ("✖ error  ", t.error),
                    "warning" => ("▲ warning", t.warning),
                    _ => ("• info   ", t.info),
                };
                out.push(Line::from(vec![
                    Span::styled(
                        format!(" {sym} "),
                        Style::new().fg(color).add_modifier(Modifier::BOLD),
                    ),
                    Span::raw(format!("{}  line {}", f.rule, f.line)),
                ]));
                out.push(Line::raw(format!("   {}", f.message)));
                out.push(Line::styled(format!("   fix: {}", f.help), dim));
            }
            overrides(report, &mut out, t);
        }
        Step::Backup => match report.and_then(|r| r.backup.as_ref()) {
            Some(b) => {
                out.push(Line::raw(format!(" {}", b.path.display())));
                out.push(Line::raw(format!(
                    " {} · {} entries listed back by pg_restore (verified)",
                    mb(b.bytes),
                    b.entries
                )));
            }
            None if w.busy && w.at == Step::Backup => {
                let (done, rate) = (w.live.backup_bytes, w.live.backup_rate);
                let cells = 30usize;
                let filled = ((done / 1_048_576) as usize).min(cells);
                out.push(Line::raw(format!(
                    " pg_dump -Fc  {}{}  {}  {}/s",
                    "█".repeat(filled),
                    "░".repeat(cells - filled),
                    mb(done),
                    mb(rate)
                )));
            }
            None => {}
        },
        Step::DryRun => dry_run(report, &mut out, t),
        Step::Confirm => confirm(w, report, &mut out, t),
        Step::Apply => super::apply_view::apply(w, report, &mut out, t),
        Step::Report => summary(w, report, &mut out, t),
    }
    out
}

fn overrides(
    report: Option<&crate::core::record::report::RunReport>,
    out: &mut Vec<Line<'static>>,
    t: &Theme,
) {
    for o in report.map(|r| r.overrides.as_slice()).unwrap_or_default() {
        out.push(Line::styled(
            format!(" Overridden {}: \"{}\" ({})", o.guard, o.reason, o.what.join(", ")),
            Style::new().fg(t.warning),
        ));
    }
}

fn dry_run(
    report: Option<&crate::core::record::report::RunReport>,
    out: &mut Vec<Line<'static>>,
    t: &Theme,
) {
    let Some(r) = report else { return };
    for mig in &r.rehearsal {
        let head = if mig.rehearsed {
            format!(" {} {}  {} ms", mig.version, mig.name, mig.duration_ms)
        } else {
            format!(" {} {}  ⚠ not rehearsable (runs outside a transaction)", mig.version, mig.name)
        };
        let style = if mig.rehearsed { Style::new() } else { Style::new().fg(t.warning) };
        out.push(Line::styled(head, style.add_modifier(Modifier::BOLD)));
        for s in &mig.statements {
            let locks: Vec<String> =
                s.locks.iter().map(|l| format!("{} on {}", l.mode, l.relation)).collect();
            out.push(Line::raw(format!(
                "   stmt {} (line {})  {} ms  {} row(s){}",
                s.index,
                s.line,
                s.duration_ms,
                s.rows,
                if locks.is_empty() {
                    String::new()
                } else {
                    format!("  locks: {}", locks.join(", "))
                }
            )));
        }
        for l in &mig.lock_summary {
            out.push(Line::styled(format!("   {l}"), Style::new().fg(t.warning)));
        }
    }
    if let Some(diff) = &r.schema_diff {
        out.push(Line::raw(""));
        out.push(Line::styled(
            " Schema before → after:",
            Style::new().add_modifier(Modifier::BOLD),
        ));
        for l in diff.lines() {
            out.push(Line::styled(format!(" {l}"), crate::ui::view::diff_style(l, t)));
        }
    }
}

fn confirm(
    w: &Wizard,
    report: Option<&crate::core::record::report::RunReport>,
    out: &mut Vec<Line<'static>>,
    t: &Theme,
) {
    if let Some(r) = report {
        let ms: u64 = r.rehearsal.iter().map(|m| m.duration_ms).sum();
        out.push(Line::raw(format!(" Dry run: {} migration(s), {ms} ms.", r.rehearsal.len())));
        for l in r.rehearsal.iter().flat_map(|m| m.lock_summary.iter().map(move |l| (m, l))) {
            out.push(Line::raw(format!("   {} {}: {}", l.0.version, l.0.name, l.1)));
        }
        overrides(report, out, t);
        match &r.backup {
            Some(b) => out.push(Line::raw(format!(
                " Backup: {} (verified, {})",
                b.path.display(),
                mb(b.bytes)
            ))),
            None => out
                .push(Line::styled(" Backup: none taken for this run", Style::new().fg(t.warning))),
        }
    }
    out.push(Line::raw(""));
    let field = |label: &str, value: &str| {
        let active = w.form.active(&w.fields(), label);
        let cursor = if active { "█" } else { "" };
        let style = if active { Style::new().add_modifier(Modifier::BOLD) } else { Style::new() };
        Span::styled(format!("{value}{cursor}"), style)
    };
    match w.tier.as_str() {
        "production" => {
            out.push(Line::from(vec![
                Span::raw(" Type the environment name to apply:  "),
                field("name", &w.form.name),
            ]));
        }
        "testing" => out.push(Line::raw(" Enter, then y, applies.")),
        _ => out.push(Line::raw(" Enter applies.")),
    }
    if w.approvals >= 2 {
        let id = w.run_id.as_deref().unwrap_or("RUN");
        match &w.approved {
            Some(a) => out
                .push(Line::styled(format!(" Second approver: {a} ✓"), Style::new().fg(t.applied))),
            None => {
                out.push(Line::from(vec![
                    Span::raw(" Second approver (required here): name "),
                    field("approver", &w.form.approver),
                    Span::raw("  code "),
                    field("code", &w.form.code),
                ]));
                out.push(Line::styled(
                    format!(
                        "   they run: sluice approve {id} --env {} (on their own terminal)",
                        w.env
                    ),
                    Style::new().fg(t.dim),
                ));
            }
        }
    }
    let need = if w.ticket_required { "required" } else { "optional" };
    out.push(Line::from(vec![
        Span::raw(format!(" Ticket ({need}): ")),
        field("ticket", &w.form.ticket),
    ]));
}

pub(super) fn summary(
    w: &Wizard,
    report: Option<&crate::core::record::report::RunReport>,
    out: &mut Vec<Line<'static>>,
    t: &Theme,
) {
    let Some(r) = report else {
        if let Some(e) = &w.failed {
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
    let locks: Vec<&String> = r.rehearsal.iter().flat_map(|m| m.lock_summary.iter()).collect();
    if !locks.is_empty() {
        out.push(Line::raw(" Locks (from the dry run):"));
        for l in locks {
            out.push(Line::raw(format!("   {l}")));
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
    if let Some(p) = &w.report_path {
        out.push(Line::raw(""));
        out.push(Line::styled(format!(" Report: {p} (and .json)"), Style::new().fg(t.dim)));
    }
}

/// The keys that work now, and the answer to the last one.
pub fn footer(m: &Model, w: &Wizard, f: &mut Frame, area: Rect) {
    if let Some(n) = &w.note {
        f.render_widget(
            Paragraph::new(format!(" ⚠ {n}")).style(Style::new().fg(m.theme.warning)),
            area,
        );
        return;
    }
    let keys = if w.over() {
        " Enter/Esc close and reload · ↑↓ scroll · q quit".to_string()
    } else if w.typing() && w.view == Step::Confirm {
        " type · Tab next field · Enter confirm · Esc back".to_string()
    } else if w.at == Step::Apply && w.live.lock_timeout.is_some() {
        " r retry now · w wait longer · t terminate the blocker · c abort".to_string()
    } else if w.at == Step::Apply {
        " c cancel the statement · t terminate the blocker · ↑↓ scroll".to_string()
    } else if w.failed.is_some() && w.view == w.at {
        let o = matches!(w.at, Step::Lint) || w.blocked_hint().contains("o to override");
        format!(
            " r run again ·{} x abandon · Esc back · ↑↓ scroll",
            if o { " o override with a reason ·" } else { "" }
        )
    } else if w.busy {
        " running… · x abandon (after this step) · ↑↓ scroll".to_string()
    } else {
        let warned = w.result(w.at).is_some_and(|r| r.outcome == StageOutcome::Warned);
        let next = if w.view < w.at {
            "next step".to_string()
        } else if warned {
            format!("acknowledge the warnings, continue to {}", w.at.next().label())
        } else {
            format!("continue to {}", w.at.next().label())
        };
        format!(" Enter {next} · Esc back · x abandon · ↑↓ scroll")
    };
    f.render_widget(Paragraph::new(keys).style(Style::new().fg(m.theme.dim)), area);
}
