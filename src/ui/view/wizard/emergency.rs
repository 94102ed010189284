//! Drawing the emergency screens: the offers with the safe one first, the confirmation,
//! what the selected offer runs (down SQL and its lint, or the recovery's statements), and
//! the report at the end.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::core::guard::policy::Confirmation;
use crate::ui::keymap::WizardAction as A;
use crate::ui::model::wizard::emergency::{EmergencyWizard, Kind, Phase};
use crate::ui::model::wizard::form::Field;
use crate::ui::model::wizard::offers::Choice;
use crate::ui::model::wizard::Ask;
use crate::ui::model::Model;
use crate::ui::theme::Theme;

/// The down SQL and lint of what the selected option undoes, newest first.
fn down_lines(w: &EmergencyWizard, out: &mut Vec<Line<'static>>, t: &Theme) {
    let (Some(plan), Some(o)) = (&w.plan, w.offers.get(w.selected)) else { return };
    let n = match o.choice {
        Choice::Steps(n) => n,
        Choice::Restore(_) => {
            out.push(Line::raw(
                " The restore runs pg_restore in one transaction after a fresh safety backup;",
            ));
            out.push(Line::raw(" the ledger comes back as it was when the backup was taken."));
            return;
        }
        Choice::Retry(_) | Choice::Compensate(_) | Choice::MarkApplied(_) => return,
    };
    for d in plan.applied.iter().take(n) {
        let src = match d.source {
            Some("file") if d.empty => "the down file is empty: nothing undone".to_string(),
            Some("file") => "from the down file".to_string(),
            Some("ledger") => "from the ledger (the file is gone or has no down)".to_string(),
            Some(tool) => format!("{tool} runs the migration's own down"),
            None => "none".to_string(),
        };
        let code = !matches!(d.source, Some("file" | "ledger") | None);
        let head = if code { "Migration" } else { "Down SQL for" };
        out.push(Line::styled(
            format!(" {head} {} ({src}) ", crate::core::data::plan::label(&d.version, &d.name)),
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        ));
        for l in d.sql.as_deref().unwrap_or("").lines() {
            out.push(Line::raw(format!("   {l}")));
        }
        if code {
            out.push(Line::styled(" No SQL to lint: the down is code", Style::new().fg(t.dim)));
        } else if d.findings.is_empty() {
            out.push(Line::styled(" Lint of the down SQL: no findings", Style::new().fg(t.dim)));
        }
        for f in &d.findings {
            let (sym, _, color) = crate::ui::view::severity(f.severity, t);
            out.push(Line::from(vec![
                Span::styled(
                    format!(" Lint of the down SQL: {sym} {} ", f.rule),
                    Style::new().fg(color),
                ),
                Span::styled(format!("line {}: {}", f.line, f.message), Style::new().fg(t.dim)),
            ]));
        }
    }
    if plan.applied.iter().take(n).any(|d| !d.findings.is_empty()) {
        out.push(Line::styled(
            " Findings in a rollback are expected (it drops what the migration made): Enter acknowledges them.",
            Style::new().fg(t.dim),
        ));
    }
}

pub fn draw(m: &Model, w: &EmergencyWizard, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let mut out: Vec<Line> = Vec::new();
    let title = title(w);
    out.push(Line::styled(title, Style::new().fg(t.production).add_modifier(Modifier::BOLD)));
    match w.phase {
        Phase::Loading if w.kind == Kind::Recover => {
            out.push(Line::raw(" reading the failed migration from the ledger and the catalog…"))
        }
        Phase::Loading => out.push(Line::raw(" reading the ledger, down SQL and backups…")),
        Phase::Choose | Phase::Confirm => {
            offer_lines(w, &mut out, t);
            out.push(Line::raw(""));
            if w.phase == Phase::Confirm {
                confirm_lines(w, &mut out);
                out.push(Line::raw(""));
            }
            match (w.kind, &w.recovery, w.offers.get(w.selected)) {
                (Kind::Recover, Some(r), Some(o)) => {
                    super::recover::lines(r, &o.choice, &mut out, t)
                }
                _ => down_lines(w, &mut out, t),
            }
        }
        Phase::Running => {
            if let Some(o) = w.offers.get(w.selected) {
                out.push(Line::styled(
                    format!(" ● running: {}", o.label),
                    Style::new().fg(t.pending),
                ));
            }
        }
        Phase::Done => {
            if let Some(e) = &w.error {
                out.push(Line::styled(format!(" ✗ {e}"), Style::new().fg(t.error)));
            }
            super::summary(&w.core, None, &mut out, t);
        }
    }
    let block = Block::default().borders(Borders::ALL).border_style(Style::new().fg(t.production));
    let out = crate::ui::view::wrap::hanging(out, area.width.saturating_sub(2) as usize);
    f.render_widget(
        Paragraph::new(out).block(block).scroll((w.core.scroll.min(u16::MAX as usize) as u16, 0)),
        area,
    );
    if let Some(ask) = &w.core.ask {
        let q = question_text(w, ask);
        super::question(f, area, t, &[q, String::new(), super::apply::yes_no(&m.keymap.wizard)]);
    }
}

/// "ROLLBACK · PROD · last run 7f3a by dba.kim ..." or "RECOVER · PROD · 0014 failed at ...".
fn title(w: &EmergencyWizard) -> String {
    let env = &w.core.env.name;
    let env = if w.core.env.is_production() { env.to_uppercase() } else { env.clone() };
    let last = w
        .plan
        .as_ref()
        .and_then(|p| p.last_run.as_ref())
        .map(|r| {
            format!(
                " · last run {} by {} {} ({}, applied {})",
                r.run_id,
                r.operator,
                r.started_at.replace('T', " ").trim_end_matches('Z'),
                r.outcome,
                r.versions.join(", ")
            )
        })
        .unwrap_or_default();
    match (w.kind, &w.recovery) {
        (Kind::Rollback, _) => format!(" ROLLBACK · {env}{last}"),
        (Kind::Recover, Some(r)) => format!(
            " RECOVER · {env} · {} failed at statement {} of {}",
            r.label(),
            r.failed_at,
            r.statements.len()
        ),
        (Kind::Recover, None) => format!(" RECOVER · {env}"),
    }
}

/// The offers, the selected one marked, the ones that cannot be taken dimmed with why.
fn offer_lines(w: &EmergencyWizard, out: &mut Vec<Line<'static>>, t: &Theme) {
    for (i, o) in w.offers.iter().enumerate() {
        let mark = if i == w.selected { "▶" } else { " " };
        let mut style = Style::new();
        if i == w.selected {
            style = style.add_modifier(Modifier::REVERSED);
        }
        if o.unavailable.is_some() {
            style = style.fg(t.dim);
        }
        let default = if i == w.selected && w.phase == Phase::Choose { "   ← Enter" } else { "" };
        out.push(Line::styled(format!(" {mark}{} {}{default}", i + 1, o.label), style));
        if let Some(u) = &o.unavailable {
            out.push(Line::styled(format!("     cannot: {u}"), Style::new().fg(t.error)));
        }
    }
}

fn question_text(w: &EmergencyWizard, ask: &Ask) -> String {
    match ask {
        Ask::Confirm => match w.offers.get(w.selected) {
            Some(o) if w.kind == Kind::Recover => format!("{} on {}?", o.label, w.core.env.name),
            _ => format!("Roll back on {}?", w.core.env.name),
        },
        Ask::Quit => "A run is in flight: cancel it and quit once it has stopped?".into(),
        _ => "Cancel the statement running now and stop the rollback?".into(),
    }
}

fn confirm_lines(w: &EmergencyWizard, out: &mut Vec<Line<'static>>) {
    let (fields, form) = (w.fields(), &w.core.form);
    let field = |which: Field, value: &str| {
        let cur = if form.active(&fields, which) { "█" } else { "" };
        format!("{value}{cur}")
    };
    if w.needs_reason() {
        out.push(Line::raw(format!(" Why (recorded): {}", field(Field::Reason, &form.reason))));
    }
    let verb = if w.kind == Kind::Recover { "settle it" } else { "roll back" };
    let needs = &w.core.env.needs;
    match needs.confirmation {
        Confirmation::TypedName => out.push(Line::raw(format!(
            " Type the environment name to {verb}:  {}",
            field(Field::Name, &form.name)
        ))),
        Confirmation::Keypress => out.push(Line::raw(" Enter, then y, runs it.")),
        Confirmation::Ask => out.push(Line::raw(" Enter runs it.")),
    }
    if needs.second_approver {
        out.push(Line::raw(format!(
            " Second approver: name {}  code {}   (they run: sluice approve --env {})",
            field(Field::Approver, &form.approver),
            field(Field::Code, &form.code),
            w.core.env.name
        )));
    }
    let need = if needs.ticket_required() { "required" } else { "optional" };
    out.push(Line::raw(format!(" Ticket ({need}): {}", field(Field::Ticket, &form.ticket))));
}

pub fn footer(m: &Model, w: &EmergencyWizard, f: &mut Frame, area: Rect) {
    if let Some(n) = &w.core.note {
        f.render_widget(
            Paragraph::new(format!(" ⚠ {n}")).style(Style::new().fg(m.theme.warning)),
            area,
        );
        return;
    }
    let k = |a| m.keymap.wizard.first(a);
    let (back, updown) = (k(A::Back), format!("{}{}", k(A::Up), k(A::Down)));
    let keys = match w.phase {
        Phase::Loading => format!(" {back} close"),
        Phase::Choose => format!(
            " {updown}/1-3 choose · {} take it · {}/{} scroll · {back} close",
            k(A::Continue),
            k(A::ScrollDown),
            k(A::ScrollUp)
        ),
        Phase::Confirm => " type · Tab next field · Enter run · Esc back".to_string(),
        Phase::Running => format!(" {} cancel the statement", k(A::Cancel)),
        Phase::Done => {
            format!(
                " {}/{back} close and reload · {updown} scroll · {} quit",
                k(A::Continue),
                k(A::Quit)
            )
        }
    };
    f.render_widget(Paragraph::new(keys).style(Style::new().fg(m.theme.dim)), area);
}
