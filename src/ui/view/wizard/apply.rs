//! Drawing the apply wizard: title, stepper, the viewed step's panel, questions and the
//! footer (its keys from the keymap's `[wizard]` table).

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::{question, running, stages, summary};
use crate::core::record::report::StageOutcome;
use crate::ui::keymap::{Bindings, WizardAction as A};
use crate::ui::model::wizard::apply::{ApplyStep, ApplyWizard, Reason};
use crate::ui::model::wizard::{Ask, WAIT_LONGER_MS};
use crate::ui::model::Model;
use crate::ui::theme::Theme;

pub fn draw(m: &Model, w: &ApplyWizard, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Length(1), Constraint::Length(1), Constraint::Min(3)])
        .split(area);
    f.render_widget(Paragraph::new(title(w, t, area.width)), rows[0]);
    f.render_widget(Paragraph::new(stepper(w, t)), rows[1]);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(crate::ui::view::border(m))
        .title(format!(" {} ", w.view.label()));
    let lines = crate::ui::view::wrap::hanging(
        panel(w, t, &m.keymap.wizard),
        rows[2].width.saturating_sub(2) as usize,
    );
    f.render_widget(
        Paragraph::new(lines).block(block).scroll((w.core.scroll.min(u16::MAX as usize) as u16, 0)),
        rows[2],
    );
    if let Some(ask) = &w.core.ask {
        question(f, area, t, &ask_text(w, ask, &m.keymap.wizard));
    }
    if let Some((why, text)) = &w.reason {
        let what = match why {
            Reason::Lint => "Reason to override the lint gate (recorded with the run):",
            Reason::Window => "Reason to run outside the maintenance window (recorded):",
            Reason::Promotion => {
                "Reason to apply what the promotion source has not run (recorded):"
            }
        };
        let lines = [
            what.to_string(),
            format!("> {text}█"),
            "Enter records it and runs the step again · Esc cancels".into(),
        ];
        question(f, area, t, &lines);
    }
}

/// "Apply to PROD · 2 migration(s) (0006 → 0007)", and the run and operator on the right.
fn title(w: &ApplyWizard, t: &Theme, width: u16) -> Line<'static> {
    let range = match (w.planned.first(), w.planned.last()) {
        (Some(a), Some(b)) if w.planned.len() > 1 => format!(" ({} → {})", a.version, b.version),
        (Some(a), _) => format!(" ({})", a.version),
        _ => String::new(),
    };
    let prod = w.core.env.is_production();
    let env = &w.core.env.name;
    let env = if prod { env.to_uppercase() } else { env.clone() };
    let title = format!(" Apply to {env} · {} migration(s){range}", w.planned.len());
    let who = match &w.run_id {
        Some(id) => format!("run {id} · operator {}", w.operator),
        None => "opening the run…".into(),
    };
    let pad = (width as usize).saturating_sub(title.chars().count() + who.chars().count() + 1);
    let env_style = if prod {
        Style::new().fg(t.production).add_modifier(Modifier::BOLD)
    } else {
        Style::new().add_modifier(Modifier::BOLD)
    };
    Line::from(vec![
        Span::styled(title, env_style),
        Span::raw(" ".repeat(pad)),
        Span::styled(who, Style::new().fg(t.dim)),
    ])
}

/// The keys that answer a question.
pub(super) fn yes_no(keys: &Bindings<A>) -> String {
    format!("{} yes · any other key no", keys.first(A::Yes))
}

fn ask_text(w: &ApplyWizard, ask: &Ask, keys: &Bindings<A>) -> Vec<String> {
    let n = w.planned.len();
    let q = match ask {
        Ask::Abort => "Abandon this run? Nothing has been applied; it is recorded as cancelled.".to_string(),
        Ask::Cancel => "Cancel the statement running now and stop the run? (pg_cancel_backend)".into(),
        Ask::Terminate(pid) => format!(
            "Terminate blocking session pid {pid} (pg_terminate_backend)? Its transaction rolls back. Recorded with the run."
        ),
        Ask::Wait => format!(
            "Wait up to {} s for the lock on the next try? Sessions that need the table queue behind us meanwhile (shown under the run); {} aborts.",
            WAIT_LONGER_MS / 1000,
            keys.first(A::Cancel)
        ),
        Ask::Confirm => format!("Apply {n} migration(s) to {}?", w.core.env.name),
        Ask::Quit if w.before_apply() => {
            "A run is open (it holds the ledger lock): abandon it and quit?".into()
        }
        Ask::Quit => "A run is applying: cancel it and quit once it has stopped?".into(),
    };
    vec![q, String::new(), yes_no(keys)]
}

fn stepper(w: &ApplyWizard, t: &Theme) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for step in ApplyStep::ALL.into_iter().filter(|s| !w.skipped.contains(s)) {
        let (sym, color) = if let Some(r) = w.result(step) {
            match r.outcome {
                StageOutcome::Failed => ("✗", t.error),
                StageOutcome::Warned => ("▲", t.warning),
                StageOutcome::Skipped => ("–", t.dim),
                StageOutcome::Passed => ("✓", t.applied),
            }
        } else if step == w.at && w.failed.is_some() {
            ("✗", t.error)
        } else if step < w.at || (step == ApplyStep::Report && w.over()) {
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

/// The viewed step: why it failed or that it runs, its result, then its own lines.
fn panel(w: &ApplyWizard, t: &Theme, keys: &Bindings<A>) -> Vec<Line<'static>> {
    let mut out: Vec<Line> = Vec::new();
    if w.view == w.at {
        if let Some(e) = &w.failed {
            out.push(Line::styled(format!(" ✗ {e}"), Style::new().fg(t.error)));
            let hint = w.blocked_hint(keys);
            out.push(Line::styled(format!(" {hint}"), Style::new().fg(t.warning)));
            out.push(Line::raw(""));
        } else if w.busy && w.view != ApplyStep::Apply {
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
    let report = w.core.report.as_deref();
    match w.view {
        ApplyStep::PreChecks => stages::prechecks(w, report, &mut out, t),
        ApplyStep::Lint => stages::lint(w, report, &mut out, t),
        ApplyStep::Backup => stages::backup(w, report, &mut out),
        ApplyStep::DryRun => stages::dry_run(report, &mut out, t),
        ApplyStep::Confirm => stages::confirm(w, report, &mut out, t),
        ApplyStep::Apply => running::apply(w, report, &mut out, t),
        ApplyStep::Report => summary(&w.core, w.failed.as_deref(), &mut out, t),
    }
    out
}

/// The keys that work now, and the answer to the last one.
pub fn footer(m: &Model, w: &ApplyWizard, f: &mut Frame, area: Rect) {
    if let Some(n) = &w.core.note {
        f.render_widget(
            Paragraph::new(format!(" ⚠ {n}")).style(Style::new().fg(m.theme.warning)),
            area,
        );
        return;
    }
    let keys = footer_keys(w, &m.keymap.wizard);
    f.render_widget(Paragraph::new(keys).style(Style::new().fg(m.theme.dim)), area);
}

fn footer_keys(w: &ApplyWizard, keys: &Bindings<A>) -> String {
    let k = |a| keys.first(a);
    let (scroll, back, x) =
        (format!("{}{} scroll", k(A::Up), k(A::Down)), k(A::Back), k(A::Abandon));
    if w.over() {
        return format!(
            " {}/{back} close and reload · {scroll} · {} quit",
            k(A::Continue),
            k(A::Quit)
        );
    }
    if w.typing() && w.view == ApplyStep::Confirm {
        return " type · Tab next field · Enter confirm · Esc back".to_string();
    }
    let (c, t) = (k(A::Cancel), k(A::Terminate));
    if w.at == ApplyStep::Apply && w.live.lock_timeout.is_some() {
        let (r, wait) = (k(A::Retry), k(A::WaitLonger));
        return format!(
            " {r} retry now · {wait} wait longer · {t} terminate the blocker · {c} abort"
        );
    }
    if w.at == ApplyStep::Apply {
        return format!(" {c} cancel the statement · {t} terminate the blocker · {scroll}");
    }
    if w.failed.is_some() && w.view == w.at {
        let o = if w.at == ApplyStep::Lint || w.can_override() {
            format!(" {} override with a reason ·", k(A::Override))
        } else {
            String::new()
        };
        return format!(" {} run again ·{o} {x} abandon · {back} back · {scroll}", k(A::Retry));
    }
    if w.busy {
        return format!(" running… · {x} abandon (after this step) · {scroll}");
    }
    let warned = w.result(w.at).is_some_and(|r| r.outcome == StageOutcome::Warned);
    let next = if w.view < w.at {
        "next step".to_string()
    } else if warned {
        format!("acknowledge the warnings, continue to {}", w.next_step(w.at).label())
    } else {
        format!("continue to {}", w.next_step(w.at).label())
    };
    format!(" {} {next} · {back} back · {x} abandon · {scroll}", k(A::Continue))
}
