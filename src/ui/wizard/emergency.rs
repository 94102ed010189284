//! The emergency screens, built for 3 a.m.: the rollback (`u`, `:rollback`, `sluice rollback`
//! in a terminal: the newest migration only, the whole last run, or restoring the newest
//! backup) and the recovery of a failed migration (`:recover`, `sluice resolve` in a
//! terminal: retry from the failed statement, undo what ran and mark it rolled back, or mark
//! it applied; see `recover.rs`). Both show what each option runs with the safe choice
//! first; Enter takes it, the typed confirmation and Enter run it.

use std::path::PathBuf;

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use super::{Ask, Effect, Form, RunCmd, RunMsg};
use crate::core::guard::policy::Sign;
use crate::core::query::emergency::RollbackPlan;
use crate::core::query::recovery::Recovery;
use crate::core::record::report::RunReport;
use crate::ui::model::{Key, Model};

/// What the rollback does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Down migrations, newest first.
    Steps(usize),
    Restore(PathBuf),
    /// A failed migration (by version): run it again from the failed statement.
    Retry(String),
    /// Run the compensating SQL, then record it rolled back.
    Compensate(String),
    /// Record it applied (the rest was finished by hand).
    MarkApplied(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Rollback,
    Recover,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Option_ {
    pub choice: Choice,
    pub label: String,
    /// Why it cannot be taken (no down SQL).
    pub unavailable: Option<String>,
    /// Taking it needs a typed reason (it claims something sluice cannot check).
    pub needs_reason: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Loading,
    Choose,
    Confirm,
    Running,
    Done,
}

#[derive(Debug, Clone)]
pub struct EmergencyWizard {
    pub kind: Kind,
    pub env: String,
    pub tier: String,
    pub approvals: u8,
    pub ticket_required: bool,
    pub phase: Phase,
    pub plan: Option<Box<RollbackPlan>>,
    pub recovery: Option<Box<Recovery>>,
    pub options: Vec<Option_>,
    pub selected: usize,
    pub form: Form,
    pub ask: Option<Ask>,
    pub note: Option<String>,
    pub error: Option<String>,
    pub report: Option<Box<RunReport>>,
    pub report_path: Option<String>,
    pub quit_after: bool,
    pub scroll: usize,
}

fn age(s: u64) -> String {
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{:.1} h", s as f64 / 3600.0),
    }
}

impl EmergencyWizard {
    pub fn new(env: &str, tier: &str, approvals: u8, ticket_required: bool) -> EmergencyWizard {
        EmergencyWizard {
            kind: Kind::Rollback,
            env: env.into(),
            tier: tier.into(),
            approvals,
            ticket_required,
            phase: Phase::Loading,
            plan: None,
            recovery: None,
            options: Vec::new(),
            selected: 0,
            form: Form::default(),
            ask: None,
            note: None,
            error: None,
            report: None,
            report_path: None,
            quit_after: false,
            scroll: 0,
        }
    }

    /// The recovery screen for a failed migration.
    pub fn recover(env: &str, tier: &str, approvals: u8, ticket_required: bool) -> EmergencyWizard {
        EmergencyWizard {
            kind: Kind::Recover,
            ..EmergencyWizard::new(env, tier, approvals, ticket_required)
        }
    }

    fn needs_reason(&self) -> bool {
        self.options.get(self.selected).is_some_and(|o| o.needs_reason)
    }

    fn fields(&self) -> Vec<&'static str> {
        let mut f = Form::fields(&self.tier, self.approvals);
        if self.needs_reason() {
            f.insert(0, "reason");
        }
        f
    }

    pub fn typing(&self) -> bool {
        self.ask.is_some() || self.phase == Phase::Confirm
    }

    /// The options, safest first: one migration, the last run, then a restore.
    fn set_plan(&mut self, plan: RollbackPlan) {
        let mut options = Vec::new();
        if let Some(newest) = plan.applied.first() {
            let src = match newest.source {
                Some(s) => format!("down SQL from {s}"),
                None => "no down SQL".into(),
            };
            options.push(Option_ {
                choice: Choice::Steps(1),
                label: format!("Roll back {} {} only ({src})", newest.version, newest.name),
                unavailable: newest.source.is_none().then(|| {
                    format!("{} has no down SQL in its file or the ledger", newest.version)
                }),
                needs_reason: false,
            });
        }
        let n = plan.last_run_steps();
        if n > 1 {
            let downs = &plan.applied[..n];
            let from_ledger: Vec<&str> = downs
                .iter()
                .filter(|d| d.source == Some("ledger"))
                .map(|d| d.version.as_str())
                .collect();
            let missing: Vec<&str> =
                downs.iter().filter(|d| d.source.is_none()).map(|d| d.version.as_str()).collect();
            let versions: Vec<&str> = downs.iter().map(|d| d.version.as_str()).collect();
            let id = plan.last_run.as_ref().map(|r| r.run_id.as_str()).unwrap_or("");
            let mut label = format!("Roll back the whole run {id} ({})", versions.join(", "));
            if !from_ledger.is_empty() {
                label.push_str(&format!("; down from the ledger for {}", from_ledger.join(", ")));
            }
            options.push(Option_ {
                choice: Choice::Steps(n),
                label,
                unavailable: (!missing.is_empty())
                    .then(|| format!("no down SQL for {}", missing.join(", "))),
                needs_reason: false,
            });
        }
        if let Some(b) = plan.backups.first() {
            let name =
                b.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            options.push(Option_ {
                choice: Choice::Restore(b.path.clone()),
                label: format!(
                    "Restore backup {name} (taken {} ago, {:.1} MB)",
                    age(b.age_s),
                    b.bytes as f64 / 1_048_576.0
                ),
                unavailable: None,
                needs_reason: false,
            });
        }
        self.selected = options.iter().position(|o| o.unavailable.is_none()).unwrap_or(0);
        self.options = options;
        self.plan = Some(Box::new(plan));
        self.phase = Phase::Choose;
    }

    pub fn on_msg(&mut self, msg: RunMsg) -> Vec<Effect> {
        match msg {
            RunMsg::RollbackPlan(Ok(plan)) => {
                if plan.applied.is_empty() && plan.backups.is_empty() {
                    self.error = Some(
                        "nothing is applied here and no backup exists: nothing to roll back".into(),
                    );
                    self.phase = Phase::Done;
                } else {
                    self.set_plan(*plan);
                }
            }
            RunMsg::Recovery(Ok(Some(r))) => {
                self.options = super::recover::options(&r);
                self.selected =
                    self.options.iter().position(|o| o.unavailable.is_none()).unwrap_or(0);
                self.recovery = Some(r);
                self.phase = Phase::Choose;
            }
            RunMsg::Recovery(Ok(None)) => {
                self.error = Some("no migration is marked failed here: nothing to recover".into());
                self.phase = Phase::Done;
            }
            RunMsg::RollbackPlan(Err(e)) | RunMsg::Recovery(Err(e)) | RunMsg::Failed(e) => {
                self.error = Some(e);
                self.phase = Phase::Done;
            }
            RunMsg::Finished { report, path } => {
                self.report = Some(report);
                self.report_path = Some(path);
                self.phase = Phase::Done;
                self.ask = None;
                if self.quit_after {
                    return vec![Effect::Quit];
                }
            }
            _ => {}
        }
        Vec::new()
    }

    pub fn quit(&mut self) -> Vec<Effect> {
        match self.phase {
            Phase::Running => {
                self.ask = Some(Ask::Quit);
                Vec::new()
            }
            // Nothing is locked or written before the rollback runs.
            _ => vec![Effect::Quit],
        }
    }

    fn run(&mut self) -> Vec<Effect> {
        let Some(o) = self.options.get(self.selected) else { return Vec::new() };
        self.phase = Phase::Running;
        let sign = Sign {
            confirm: Some(if self.tier == "production" {
                self.form.name.trim().to_string()
            } else {
                self.env.clone()
            }),
            ticket: Some(self.form.ticket.trim().to_string()).filter(|t| !t.is_empty()),
            approval: (self.approvals >= 2).then(|| {
                (self.form.approver.trim().to_string(), self.form.code.trim().to_string())
            }),
        };
        let reason = Some(self.form.reason.trim().to_string()).filter(|r| !r.is_empty());
        vec![Effect::Run(RunCmd::Emergency { choice: o.choice.clone(), sign, reason })]
    }

    fn submit(&mut self) -> Vec<Effect> {
        if self.needs_reason() && self.form.reason.trim().is_empty() {
            self.note = Some(match self.options.get(self.selected).map(|o| &o.choice) {
                Some(Choice::MarkApplied(_)) => {
                    "say what finished it by hand (recorded with the run)".into()
                }
                _ => "say how the statements with no automatic undo were undone (recorded)".into(),
            });
            self.form.field = 0;
            return Vec::new();
        }
        if self.tier == "production" && self.form.name.trim() != self.env {
            self.note =
                Some(format!("the typed name does not match: type {} to roll it back", self.env));
            self.form.field = 0;
            return Vec::new();
        }
        if self.approvals >= 2
            && (self.form.approver.trim().is_empty() || self.form.code.trim().is_empty())
        {
            self.note = Some(format!(
                "a second approver must run `sluice approve --env {}` and give you their name and code",
                self.env
            ));
            return Vec::new();
        }
        if self.ticket_required && self.form.ticket.trim().is_empty() {
            self.note = Some("a change ticket reference is required here".into());
            return Vec::new();
        }
        if self.tier == "testing" {
            self.ask = Some(Ask::Apply);
            return Vec::new();
        }
        self.run()
    }

    pub fn on_key(&mut self, k: Key) -> Vec<Effect> {
        self.note = None;
        if let Some(ask) = self.ask.take() {
            if !matches!(k, Key::Char('y') | Key::Char('Y')) {
                return Vec::new();
            }
            return match ask {
                Ask::Apply => self.run(),
                Ask::Quit => {
                    self.quit_after = true;
                    vec![Effect::Run(RunCmd::Cancel)]
                }
                _ => vec![Effect::Run(RunCmd::Cancel)],
            };
        }
        match self.phase {
            Phase::Loading => {
                if k == Key::Esc {
                    return vec![Effect::Close];
                }
            }
            Phase::Choose => match k {
                Key::Esc => return vec![Effect::Close],
                Key::Up | Key::Char('k') => {
                    self.selected = self.selected.saturating_sub(1);
                    self.scroll = 0;
                }
                Key::Down | Key::Char('j') => {
                    self.selected = (self.selected + 1).min(self.options.len().saturating_sub(1));
                    self.scroll = 0;
                }
                Key::Char(c @ '1'..='3') => {
                    let i = c as usize - '1' as usize;
                    if i < self.options.len() {
                        self.selected = i;
                        self.scroll = 0;
                    }
                }
                Key::Char('J') | Key::PageDown => self.scroll += 5,
                Key::Char('K') | Key::PageUp => self.scroll = self.scroll.saturating_sub(5),
                Key::Enter => match self.options.get(self.selected) {
                    Some(o) if o.unavailable.is_some() => {
                        self.note = o.unavailable.clone();
                    }
                    Some(_) => {
                        self.phase = Phase::Confirm;
                        self.form.field = 0;
                    }
                    None => {}
                },
                _ => {}
            },
            Phase::Confirm => match k {
                Key::Esc => self.phase = Phase::Choose,
                Key::Enter => return self.submit(),
                k => {
                    let fields = self.fields();
                    self.form.edit(k, &fields);
                }
            },
            Phase::Running => {
                if matches!(k, Key::Char('c') | Key::Char('x')) {
                    self.ask = Some(Ask::Cancel);
                }
            }
            Phase::Done => match k {
                Key::Enter | Key::Esc | Key::Char('q') => return vec![Effect::Close],
                Key::Down | Key::Char('j') => self.scroll += 1,
                Key::Up | Key::Char('k') => self.scroll = self.scroll.saturating_sub(1),
                _ => {}
            },
        }
        Vec::new()
    }
}

/// The down SQL and lint of what the selected option undoes, newest first.
fn down_lines(w: &EmergencyWizard, out: &mut Vec<Line<'static>>, t: &crate::ui::theme::Theme) {
    let (Some(plan), Some(o)) = (&w.plan, w.options.get(w.selected)) else { return };
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
            Some("file") => "from the down file",
            Some(_) => "from the ledger (the file is gone or has no down)",
            None => "none",
        };
        out.push(Line::styled(
            format!(" Down SQL for {} {} ({src}) ", d.version, d.name),
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        ));
        for l in d.sql.as_deref().unwrap_or("").lines() {
            out.push(Line::raw(format!("   {l}")));
        }
        if d.findings.is_empty() {
            out.push(Line::styled(" Lint of the down SQL: no findings", Style::new().fg(t.dim)));
        }
        for f in &d.findings {
            let (sym, color) = match f.severity.as_str() {
                "error" => ("✖", t.error),
                "warning" => ("▲", t.warning),
                _ => ("•", t.info),
            };
            out.push(Line::from(vec![
                Span::styled(
                    format!(" Lint of the down SQL: {sym} {} ", f.rule),
                    Style::new().fg(color),
                ),
                Span::styled(format!("line {}: {}", f.line, f.message), Style::new().fg(t.dim)),
            ]));
        }
    }
    if n > 0 {
        out.push(Line::styled(
            " Findings in a rollback are expected (it drops what the migration made): Enter acknowledges them.",
            Style::new().fg(t.dim),
        ));
    }
}

pub fn draw(m: &Model, w: &EmergencyWizard, f: &mut Frame, area: Rect) {
    let t = &m.theme;
    let mut out: Vec<Line> = Vec::new();
    let env = if w.tier == "production" { w.env.to_uppercase() } else { w.env.clone() };
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
    let title = match (w.kind, &w.recovery) {
        (Kind::Rollback, _) => format!(" ROLLBACK · {env}{last}"),
        (Kind::Recover, Some(r)) => format!(
            " RECOVER · {env} · {} failed at statement {} of {}",
            r.label(),
            r.failed_at,
            r.statements.len()
        ),
        (Kind::Recover, None) => format!(" RECOVER · {env}"),
    };
    out.push(Line::styled(title, Style::new().fg(t.production).add_modifier(Modifier::BOLD)));
    match w.phase {
        Phase::Loading if w.kind == Kind::Recover => {
            out.push(Line::raw(" reading the failed migration from the ledger and the catalog…"))
        }
        Phase::Loading => out.push(Line::raw(" reading the ledger, down SQL and backups…")),
        Phase::Choose | Phase::Confirm => {
            for (i, o) in w.options.iter().enumerate() {
                let mark = if i == w.selected { "▶" } else { " " };
                let mut style = Style::new();
                if i == w.selected {
                    style = style.add_modifier(Modifier::REVERSED);
                }
                if o.unavailable.is_some() {
                    style = style.fg(t.dim);
                }
                let default =
                    if i == w.selected && w.phase == Phase::Choose { "   ← Enter" } else { "" };
                out.push(Line::styled(format!(" {mark}{} {}{default}", i + 1, o.label), style));
                if let Some(u) = &o.unavailable {
                    out.push(Line::styled(format!("     cannot: {u}"), Style::new().fg(t.error)));
                }
            }
            out.push(Line::raw(""));
            if w.phase == Phase::Confirm {
                confirm_lines(w, &mut out);
                out.push(Line::raw(""));
            }
            match (w.kind, &w.recovery, w.options.get(w.selected)) {
                (Kind::Recover, Some(r), Some(o)) => {
                    super::recover::lines(r, &o.choice, &mut out, t)
                }
                _ => down_lines(w, &mut out, t),
            }
        }
        Phase::Running => {
            if let Some(o) = w.options.get(w.selected) {
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
            let mut lines = Vec::new();
            let shim = super::Wizard {
                report_path: w.report_path.clone(),
                ..super::Wizard::new(&w.env, &w.tier, w.approvals, w.ticket_required)
            };
            super::view::summary(&shim, w.report.as_deref(), &mut lines, t);
            out.extend(lines);
        }
    }
    let block = Block::default().borders(Borders::ALL).border_style(Style::new().fg(t.production));
    f.render_widget(
        Paragraph::new(out)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((w.scroll.min(u16::MAX as usize) as u16, 0)),
        area,
    );
    if let Some(ask) = &w.ask {
        let q = match ask {
            Ask::Apply => match w.options.get(w.selected) {
                Some(o) if w.kind == Kind::Recover => format!("{} on {}?", o.label, w.env),
                _ => format!("Roll back on {}?", w.env),
            },
            Ask::Quit => "A run is in flight: cancel it and quit once it has stopped?".into(),
            _ => "Cancel the statement running now and stop the rollback?".into(),
        };
        super::view::question(f, area, t, &[q, String::new(), "y yes · any other key no".into()]);
    }
}

fn confirm_lines(w: &EmergencyWizard, out: &mut Vec<Line<'static>>) {
    let fields = w.fields();
    let active = |name: &str| w.form.active(&fields, name);
    let field = |name: &str, value: &str| {
        let cur = if active(name) { "█" } else { "" };
        format!("{value}{cur}")
    };
    if w.needs_reason() {
        out.push(Line::raw(format!(" Why (recorded): {}", field("reason", &w.form.reason))));
    }
    let verb = if w.kind == Kind::Recover { "settle it" } else { "roll back" };
    match w.tier.as_str() {
        "production" => out.push(Line::raw(format!(
            " Type the environment name to {verb}:  {}",
            field("name", &w.form.name)
        ))),
        "testing" => out.push(Line::raw(" Enter, then y, runs it.")),
        _ => out.push(Line::raw(" Enter runs it.")),
    }
    if w.approvals >= 2 {
        out.push(Line::raw(format!(
            " Second approver: name {}  code {}   (they run: sluice approve --env {})",
            field("approver", &w.form.approver),
            field("code", &w.form.code),
            w.env
        )));
    }
    let need = if w.ticket_required { "required" } else { "optional" };
    out.push(Line::raw(format!(" Ticket ({need}): {}", field("ticket", &w.form.ticket))));
}

pub fn footer(m: &Model, w: &EmergencyWizard, f: &mut Frame, area: Rect) {
    if let Some(n) = &w.note {
        f.render_widget(
            Paragraph::new(format!(" ⚠ {n}")).style(Style::new().fg(m.theme.warning)),
            area,
        );
        return;
    }
    let keys = match w.phase {
        Phase::Loading => " Esc close",
        Phase::Choose => " ↑↓/1-3 choose · Enter take it · J/K scroll · Esc close",
        Phase::Confirm => " type · Tab next field · Enter run · Esc back",
        Phase::Running => " c cancel the statement",
        Phase::Done => " Enter/Esc close and reload · ↑↓ scroll · q quit",
    };
    f.render_widget(Paragraph::new(keys).style(Style::new().fg(m.theme.dim)), area);
}

#[cfg(test)]
#[path = "emergency_tests.rs"]
mod tests;
