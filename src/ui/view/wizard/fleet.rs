//! Drawing the fleet wizard: the plan, the one signature for the fleet run, each
//! database's progress wave by wave, and the fleet report.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use super::apply::yes_no;
use crate::core::guard::policy::Confirmation;
use crate::ui::keymap::WizardAction as A;
use crate::ui::model::wizard::fleet::{FleetStep, FleetWizard, Progress};
use crate::ui::model::wizard::form::Field;
use crate::ui::model::wizard::Ask;
use crate::ui::model::Model;
use crate::ui::theme::Theme;

pub fn draw(m: &Model, w: &FleetWizard, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let env = &w.core.env.name;
    let prod = w.core.env.is_production();
    let title = format!(" Roll out {} ", if prod { env.to_uppercase() } else { env.clone() });
    let mut out = Vec::new();
    plan_line(w, &mut out);
    match w.step {
        FleetStep::Plan => plan(w, &mut out, t, true),
        FleetStep::Confirm => {
            plan(w, &mut out, t, false);
            out.push(Line::raw(""));
            form(w, &mut out, t);
        }
        FleetStep::Running | FleetStep::Done => progress(w, &mut out, t),
    }
    let height = area.height.saturating_sub(2) as usize;
    let scroll = w.core.scroll.min(out.len().saturating_sub(height.max(1)));
    let style = if prod { Style::new().fg(t.production) } else { Style::new() };
    let block = Block::default().borders(Borders::ALL).border_style(style).title(title);
    let p = Paragraph::new(out).block(block).wrap(Wrap { trim: false });
    f.render_widget(p.scroll((scroll as u16, 0)), area);
    if let Some(ask) = &w.core.ask {
        super::question(f, area, t, &ask_text(w, ask, &m.keymap.wizard));
    }
}

fn plan_line(w: &FleetWizard, out: &mut Vec<Line<'static>>) {
    let Some(p) = &w.plan else { return };
    let sizes: Vec<String> = p
        .waves
        .iter()
        .enumerate()
        .map(|(i, n)| if i == 0 { format!("{n} (canary)") } else { n.to_string() })
        .collect();
    out.push(Line::styled(
        format!(
            " {} databases in {} wave(s): {} · at most {} at once · stops after {} failure(s)",
            p.databases.len(),
            p.waves.len(),
            sizes.join(" + "),
            p.parallel,
            p.max_failures
        ),
        Style::new().add_modifier(Modifier::BOLD),
    ));
}

/// What the run would do; `each`: a line per database too.
fn plan(w: &FleetWizard, out: &mut Vec<Line<'static>>, t: &Theme, each: bool) {
    if let Some(e) = &w.failed {
        out.push(Line::styled(format!(" ✗ {e}"), Style::new().fg(t.error)));
        return;
    }
    let Some(p) = &w.plan else {
        out.push(Line::styled(" reading each database's ledger…", Style::new().fg(t.dim)));
        return;
    };
    let pending: usize = p.databases.iter().map(|d| d.pending).sum();
    let with = p.databases.iter().filter(|d| d.pending > 0).count();
    out.push(Line::raw(format!(
        " {pending} migration(s) pending on {with} database(s); each database runs its own guarded apply (pre-checks, backup policy, report)"
    )));
    if !each {
        return;
    }
    out.push(Line::raw(""));
    for d in &p.databases {
        let what = match (d.reachable, d.pending) {
            (false, _) => "unreachable now: it will be tried".to_string(),
            (true, 0) => "up to date".into(),
            (true, n) => format!("{n} pending"),
        };
        out.push(Line::raw(format!("   wave {}  {}  {what}", d.wave, d.database)));
    }
}

fn form(w: &FleetWizard, out: &mut Vec<Line<'static>>, t: &Theme) {
    let form = &w.core.form;
    let fields = w.fields();
    let field = |which: Field, value: &str| {
        let active = form.active(&fields, which);
        let cursor = if active { "█" } else { "" };
        let style = if active { Style::new().add_modifier(Modifier::BOLD) } else { Style::new() };
        Span::styled(format!("{value}{cursor}"), style)
    };
    out.push(Line::styled(
        " One signature for the whole fleet run:",
        Style::new().add_modifier(Modifier::BOLD),
    ));
    match w.core.env.needs.confirmation {
        Confirmation::TypedName => out.push(Line::from(vec![
            Span::raw(" Type the environment name to roll it out:  "),
            field(Field::Name, &form.name),
        ])),
        Confirmation::Keypress => out.push(Line::raw(" Enter, then y, rolls it out.")),
        Confirmation::Ask => out.push(Line::raw(" Enter rolls it out.")),
    }
    if w.core.env.needs.second_approver {
        out.push(Line::from(vec![
            Span::raw(" Second approver (required here): name "),
            field(Field::Approver, &form.approver),
            Span::raw("  code "),
            field(Field::Code, &form.code),
        ]));
        out.push(Line::styled(
            format!(
                "   they run: sluice approve --env {} (on their own terminal; one code for the fleet run)",
                w.core.env.environment()
            ),
            Style::new().fg(t.dim),
        ));
    }
    let need = if w.core.env.needs.ticket_required() { "required" } else { "optional" };
    out.push(Line::from(vec![
        Span::raw(format!(" Ticket ({need}): ")),
        field(Field::Ticket, &form.ticket),
    ]));
}

fn progress(w: &FleetWizard, out: &mut Vec<Line<'static>>, t: &Theme) {
    let (running, done, failed, waiting) = w.counts();
    let waiting = match w.step {
        FleetStep::Done => format!("{waiting} not started"),
        _ => format!("{waiting} waiting"),
    };
    let wave = w.progress.iter().filter(|(_, _, p)| *p != Progress::Waiting).map(|r| r.1).max();
    let waves = w.plan.as_ref().map_or(0, |p| p.waves.len());
    out.push(Line::raw(format!(
        " wave {} of {waves} · {done} done · {running} running · {failed} failed · {waiting}{}",
        wave.map_or(0, |w| w + 1),
        if w.stopping && w.step == FleetStep::Running { " · stopping…" } else { "" }
    )));
    if w.step == FleetStep::Done {
        outcome(w, out, t);
    }
    out.push(Line::raw(""));
    for (database, wave, p) in &w.progress {
        let (sym, text, color) = match p {
            Progress::Waiting => ("·", "waiting".to_string(), t.dim),
            Progress::Running => ("●", "running…".to_string(), t.pending),
            Progress::Finished(d) if d.outcome == "not-started" => {
                ("–", "not started".to_string(), t.dim)
            }
            Progress::Finished(d) => {
                let mut s =
                    format!("{} · {} migration(s) · {} ms", d.outcome, d.migrations, d.duration_ms);
                if let Some(e) = &d.error {
                    s.push_str(&format!(": {e}"));
                }
                let color = if d.failed() { t.error } else { t.applied };
                (if d.failed() { "✗" } else { "✓" }, s, color)
            }
        };
        out.push(Line::from(vec![
            Span::styled(format!(" [w{wave}] {sym} "), Style::new().fg(color)),
            Span::raw(format!("{database}  ")),
            Span::styled(text, Style::new().fg(color)),
        ]));
    }
}

fn outcome(w: &FleetWizard, out: &mut Vec<Line<'static>>, t: &Theme) {
    if let (None, Some(e)) = (&w.report, &w.failed) {
        let line = format!(" ✗ the fleet run could not start (nothing ran): {e}");
        out.push(Line::styled(line, Style::new().fg(t.error)));
        return;
    }
    let Some(r) = &w.report else { return };
    let color = if r.exit_code() == 0 { t.applied } else { t.error };
    out.push(Line::styled(
        format!(
            " Fleet run {} · {} failed · {} not started · {} ms",
            r.fleet_run, r.failed, r.not_started, r.duration_ms
        ),
        Style::new().fg(color).add_modifier(Modifier::BOLD),
    ));
    if let Some(why) = &r.stopped {
        out.push(Line::styled(format!(" Stopped: {why}"), Style::new().fg(t.warning)));
    }
    out.push(Line::styled(
        format!(" Report: fleet-{}.json beside the databases' own reports", r.fleet_run),
        Style::new().fg(t.dim),
    ));
}

fn ask_text(w: &FleetWizard, ask: &Ask, keys: &crate::ui::keymap::Bindings<A>) -> Vec<String> {
    let n = w.plan.as_ref().map_or(0, |p| p.databases.len());
    let q = match ask {
        Ask::Confirm => format!("Roll {} out to its {n} databases?", w.core.env.name),
        Ask::Cancel => "Stop the fleet run? No new database starts; the running ones are cancelled (their transactions roll back).".into(),
        Ask::Quit => "The fleet run is going: stop it and quit once the running databases have stopped?".into(),
        _ => String::new(),
    };
    vec![q, String::new(), yes_no(keys)]
}

pub fn footer(m: &Model, w: &FleetWizard, f: &mut Frame, area: Rect) {
    if let Some(n) = &w.core.note {
        let p = Paragraph::new(format!(" ⚠ {n}")).style(Style::new().fg(m.theme.warning));
        return f.render_widget(p, area);
    }
    let k = |a| m.keymap.wizard.first(a);
    let (back, updown) = (k(A::Back), format!("{}{}", k(A::Up), k(A::Down)));
    let keys = match w.step {
        FleetStep::Plan => {
            format!(" {} sign the fleet run · {updown} scroll · {back} close", k(A::Continue))
        }
        FleetStep::Confirm => " type · Tab next field · Enter roll out · Esc back".to_string(),
        FleetStep::Running => format!(" {} stop the fleet run · {updown} scroll", k(A::Cancel)),
        FleetStep::Done => format!(
            " {}/{back} close and reload · {updown} scroll · {} quit",
            k(A::Continue),
            k(A::Quit)
        ),
    };
    f.render_widget(Paragraph::new(keys).style(Style::new().fg(m.theme.dim)), area);
}
