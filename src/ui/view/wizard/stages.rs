//! The panels of the steps before the apply: pre-checks, lint, backup, dry run, confirm.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::{mb, overrides};
use crate::core::guard::policy::Confirmation;
use crate::core::record::report::RunReport;
use crate::ui::model::wizard::apply::{ApplyStep, ApplyWizard};
use crate::ui::model::wizard::form::Field;
use crate::ui::theme::Theme;

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Each pre-check with its figure, and what the run applies.
pub(super) fn prechecks(
    w: &ApplyWizard,
    report: Option<&RunReport>,
    out: &mut Vec<Line<'static>>,
    t: &Theme,
) {
    use crate::core::guard::precheck::Outcome;
    let dim = Style::new().fg(t.dim);
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

/// The findings of the pending migrations, and the gate's override if there is one.
pub(super) fn lint(
    w: &ApplyWizard,
    report: Option<&RunReport>,
    out: &mut Vec<Line<'static>>,
    t: &Theme,
) {
    let dim = Style::new().fg(t.dim);
    if w.findings.is_empty() && w.result(ApplyStep::Lint).is_some() {
        out.push(Line::raw(" no findings"));
    }
    for f in &w.findings {
        let (mark, word, color) = crate::ui::view::severity(f.severity, t);
        let sym = format!("{mark} {word}");
        out.push(Line::from(vec![
            Span::styled(format!(" {sym} "), Style::new().fg(color).add_modifier(Modifier::BOLD)),
            Span::raw(format!("{} · {}  line {}", f.rule, file_name(&f.file), f.line)),
        ]));
        out.push(Line::raw(format!("   {}", f.message)));
        out.push(Line::styled(format!("   fix: {}", f.help), dim));
    }
    overrides(report, out, t);
}

/// The backup as it runs (bytes and rate), then the file pg_restore listed back.
pub(super) fn backup(w: &ApplyWizard, report: Option<&RunReport>, out: &mut Vec<Line<'static>>) {
    match report.and_then(|r| r.backup.as_ref()) {
        Some(b) => {
            out.push(Line::raw(format!(" {}", b.path.display())));
            out.push(Line::raw(format!(
                " {} · {} entries listed back by pg_restore (verified)",
                mb(b.bytes),
                b.entries
            )));
        }
        None if w.busy && w.at == ApplyStep::Backup => {
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
    }
}

pub(super) fn dry_run(report: Option<&RunReport>, out: &mut Vec<Line<'static>>, t: &Theme) {
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
            let locks: Vec<String> = s.locks.iter().map(|l| l.describe()).collect();
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

pub(super) fn confirm(
    w: &ApplyWizard,
    report: Option<&RunReport>,
    out: &mut Vec<Line<'static>>,
    t: &Theme,
) {
    if let Some(r) = report {
        let ms: u64 = r.rehearsal.iter().map(|m| m.duration_ms).sum();
        if w.skipped.contains(&ApplyStep::DryRun) {
            out.push(Line::styled(" Dry run: none in this run", Style::new().fg(t.warning)));
        } else {
            out.push(Line::raw(format!(" Dry run: {} migration(s), {ms} ms.", r.rehearsal.len())));
        }
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
    let form = &w.core.form;
    let field = |which: Field, value: &str| {
        let active = form.active(&w.fields(), which);
        let cursor = if active { "█" } else { "" };
        let style = if active { Style::new().add_modifier(Modifier::BOLD) } else { Style::new() };
        Span::styled(format!("{value}{cursor}"), style)
    };
    match w.core.env.needs.confirmation {
        Confirmation::TypedName => {
            out.push(Line::from(vec![
                Span::raw(" Type the environment name to apply:  "),
                field(Field::Name, &form.name),
            ]));
        }
        Confirmation::Keypress => out.push(Line::raw(" Enter, then y, applies.")),
        Confirmation::Ask => out.push(Line::raw(" Enter applies.")),
    }
    if w.core.env.needs.second_approver {
        let id = w.run_id.as_deref().unwrap_or("RUN");
        match &w.approved {
            Some(a) => out
                .push(Line::styled(format!(" Second approver: {a} ✓"), Style::new().fg(t.applied))),
            None => {
                out.push(Line::from(vec![
                    Span::raw(" Second approver (required here): name "),
                    field(Field::Approver, &form.approver),
                    Span::raw("  code "),
                    field(Field::Code, &form.code),
                ]));
                out.push(Line::styled(
                    format!(
                        "   they run: sluice approve {id} --env {} (on their own terminal)",
                        w.core.env.name
                    ),
                    Style::new().fg(t.dim),
                ));
            }
        }
    }
    let need = if w.core.env.needs.ticket_required() { "required" } else { "optional" };
    out.push(Line::from(vec![
        Span::raw(format!(" Ticket ({need}): ")),
        field(Field::Ticket, &form.ticket),
    ]));
}
