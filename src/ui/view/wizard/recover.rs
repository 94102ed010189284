//! The recovery screen's content: what failed, what ran, and what the selected offer runs.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::core::query::recovery::{Reached, Recovery};
use crate::ui::model::wizard::offers::Choice;
use crate::ui::theme::Theme;

fn heading(text: String) -> Line<'static> {
    Line::styled(text, Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED))
}

fn sql_lines(out: &mut Vec<Line<'static>>, sql: &str, style: Style) {
    for l in sql.lines() {
        out.push(Line::styled(format!("     {l}"), style));
    }
}

/// What failed, what ran, and what the selected choice would run.
pub(super) fn lines(r: &Recovery, choice: &Choice, out: &mut Vec<Line<'static>>, t: &Theme) {
    let error = r
        .error
        .clone()
        .unwrap_or_else(|| "no error recorded: sluice stopped while the statement ran".into());
    out.push(Line::from(vec![
        Span::styled(" Error: ", Style::new().fg(t.error).add_modifier(Modifier::BOLD)),
        Span::styled(error, Style::new().fg(t.error)),
    ]));
    if let Some(id) = &r.run_id {
        out.push(Line::styled(
            format!(
                " Run {id} at {} ({}, outside a transaction). Nothing else runs until this is settled.",
                r.when, r.direction
            ),
            Style::new().fg(t.dim),
        ));
    }
    out.push(Line::raw(""));
    out.push(heading(" What ran ".into()));
    for s in &r.statements {
        let (mark, color) = match s.reached {
            Reached::Done => ("✓ ran    ", t.applied),
            Reached::Failed => ("✗ failed ", t.error),
            Reached::NotRun => ("· not run", t.dim),
        };
        let first = s.text.lines().next().unwrap_or("").to_string();
        let more = if s.text.lines().count() > 1 { " …" } else { "" };
        out.push(Line::from(vec![
            Span::styled(format!("  {mark} {:>2} ", s.number), Style::new().fg(color)),
            Span::styled(format!("line {:<4} ", s.line), Style::new().fg(t.dim)),
            Span::raw(format!("{first}{more}")),
        ]));
    }
    if let Some(ix) = &r.invalid_index {
        out.push(Line::styled(
            format!(" ▲ the failed build left the INVALID index {ix} behind"),
            Style::new().fg(t.warning),
        ));
    }
    out.push(Line::raw(""));
    match choice {
        Choice::Retry(_) => {
            out.push(heading(" A retry runs ".into()));
            if let Some(ix) = &r.invalid_index {
                sql_lines(out, &format!("DROP INDEX CONCURRENTLY IF EXISTS {ix};"), Style::new());
            }
            for s in &r.retry_statements {
                sql_lines(out, &format!("{s};"), Style::new());
            }
            out.push(Line::styled(
                " from the file as it is now: fix the failed statement there first if it was wrong",
                Style::new().fg(t.dim),
            ));
        }
        Choice::Compensate(_) => {
            out.push(heading(
                " Runs, one statement at a time, then records it rolled back ".into(),
            ));
            for c in &r.compensating {
                sql_lines(out, &format!("{c};"), Style::new().fg(t.pending));
            }
            if r.compensating.is_empty() {
                out.push(Line::styled("     (nothing to run)", Style::new().fg(t.dim)));
            }
            for n in &r.by_hand {
                let text = r.statements.get(n - 1).map(|s| s.text.as_str()).unwrap_or("");
                out.push(Line::styled(
                    format!(" ▲ statement {n} has no automatic undo: undo it by hand first, then say how"),
                    Style::new().fg(t.warning),
                ));
                sql_lines(out, text, Style::new().fg(t.dim));
            }
        }
        Choice::MarkApplied(_) => {
            out.push(heading(" Records it applied without running anything ".into()));
            out.push(Line::raw(" These must already have been run by hand:"));
            for s in r.statements.iter().filter(|s| s.reached != Reached::Done) {
                sql_lines(out, &format!("{};", s.text), Style::new().fg(t.dim));
            }
        }
        Choice::Steps(_) | Choice::Restore(_) => {}
    }
}
