//! The guarded apply as a pipeline of stages. Headless `sluice apply` runs it through in
//! one go; the console's wizard advances it a stage at a time, shows each result, and may
//! retry a stage (after an override, or once a blocker is gone) or abandon the run.

use std::time::Instant;

use serde::Serialize;

use super::{code_plan, up_step, ApplyOptions};
use crate::core::data::config::{Environment, Project};
use crate::core::data::lint::Finding;
use crate::core::data::plan::{Item, MigrationState, Status};
use crate::core::data::source::{self, Version};
use crate::core::error::{Error, Refusal, Result};
use crate::core::exec::parse_version;
use crate::core::exec::session::control::Control;
use crate::core::exec::session::guards;
use crate::core::exec::session::migration::Change;
use crate::core::exec::session::run::{fail_early, Run};
use crate::core::guard::hooks;
use crate::core::guard::policy::check_confirmation;
use crate::core::record::details::Request;
use crate::core::record::report::{
    ms_since, Blocker, Event, Override, ReportError, RunReport, Stage, StageOutcome, StageResult,
};

/// A migration the run will apply, as the wizard lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub version: String,
    pub name: String,
    pub statements: usize,
    pub transactional: bool,
}

/// What opening a guarded run gave: a run to advance, or one already over (refused by a
/// guard, or nothing to do).
pub enum Opened {
    Ready(Box<GuardedRun>),
    Finished(Box<RunReport>),
}

/// A guarded apply in progress: connected, holding the ledger lock, recorded as a run.
pub struct GuardedRun {
    pub(super) run: Run,
    pub(super) project: Project,
    pub(super) opts: ApplyOptions,
    pub(super) status: Status,
    pub(super) pending: Vec<Item>,
    pub(super) steps: Vec<Change>,
    pub(super) stages: Vec<Stage>,
    pub(super) next: usize,
    pub(super) findings: Vec<Finding>,
    /// The last stage's failure, kept for the run's record when the operator gives up.
    pub(super) failure: Option<(Error, Vec<Blocker>, &'static str)>,
}

/// The pending migrations up to `to`, as changes, once the guards that need no server
/// figures pass (failed migration, drift, out of order).
async fn plan(
    run: &Run,
    migrations: Vec<source::Migration>,
    opts: &ApplyOptions,
    to: Option<&Version>,
    tool_history: bool,
) -> Result<(Status, Vec<Item>, Vec<Change>)> {
    let latest = run.session.ledger.latest(&run.session.client).await?;
    let status = Status::build(migrations, latest)?;
    guards::check_guards(&status, opts)?;
    let pending: Vec<Item> =
        status.pending().filter(|i| to.is_none_or(|t| &i.version <= t)).cloned().collect();
    if !opts.allow_out_of_order {
        refuse_out_of_order(&pending)?;
    }
    // Every pending file is split, on the parser threads together (the server has
    // nothing to do meanwhile).
    let split = crate::core::data::sql::parser::map(&pending, |item| up_step(item, tool_history));
    let mut steps = Vec::new();
    // A backfill cut off (killed, cancelled, failed) carries on first, from its checkpoint.
    if let Some((item, at)) = status.resumable_backfill() {
        if let Some(mut step) = up_step(item, tool_history)? {
            tracing::info!(version = %item.version, statement = at + 1, "resuming a batched backfill");
            (step.start_at, step.resume) = (at, true);
            steps.push(step);
        }
    }
    for s in split {
        steps.extend(s?);
    }
    Ok((status, pending, steps))
}

/// The migrations folder and the `--to` target, which must name one of its files.
fn read_folder(
    dir: &std::path::Path,
    layout: Option<source::Layout>,
    to: Option<&str>,
) -> Result<(Vec<source::Migration>, Option<Version>)> {
    let migrations = source::load(dir, layout)?;
    let to = to.map(|v| parse_version(v, "target version")).transpose()?;
    if let Some(to) = &to {
        if !migrations.iter().any(|m| &m.version == to) {
            return Err(Error::input(format!(
                "target version {to}: no migration file has that version in {}",
                dir.display()
            )));
        }
    }
    Ok((migrations, to))
}

/// Pending migrations older than the newest applied one run only when allowed.
pub(super) fn refuse_out_of_order(pending: &[Item]) -> Result<()> {
    let late: Vec<String> = pending.iter().filter(|i| i.out_of_order).map(|i| i.label()).collect();
    if late.is_empty() {
        return Ok(());
    }
    Err(Error::refused(
        Refusal::OutOfOrder,
        format!(
            "pending migrations older than the newest applied one (out of order): {}; check they are safe to run now, then allow them",
            late.join(", ")
        ),
    ))
}

/// The guards the operator allowed past when starting the run, for its record.
fn allowed(status: &Status, pending: &[Item], opts: &ApplyOptions) -> Vec<Override> {
    let mut overrides = Vec::new();
    let labels = |items: Vec<&Item>| -> Vec<String> { items.iter().map(|i| i.label()).collect() };
    let drifted =
        labels(status.items.iter().filter(|i| i.state == MigrationState::Drifted).collect());
    if opts.allow_drift && !drifted.is_empty() {
        let reason = "drift allowed by the operator".into();
        overrides.push(Override { guard: "drift".into(), reason, what: drifted });
    }
    let late = labels(pending.iter().filter(|i| i.out_of_order).collect());
    if opts.allow_out_of_order && !late.is_empty() {
        let reason = "out of order allowed by the operator".into();
        overrides.push(Override { guard: "out-of-order".into(), reason, what: late });
    }
    overrides
}

impl GuardedRun {
    /// Takes the ledger lock, plans the pending migrations (up to `--to`) and applies the
    /// guards that need no server figures (failed migration, drift, out of order).
    /// `rehearse` adds a dry run before the apply, as the console's wizard does.
    pub async fn open(
        project: &Project,
        env: &Environment,
        opts: &ApplyOptions,
        rehearse_first: bool,
        ctl: Control,
    ) -> Result<Opened> {
        let opened = Instant::now();
        // A code tool's migrations commit as they go: their dry run is on a copy.
        let code = match &project.code {
            Some(c) => Some((c.clone(), code_plan::read(c, opts.to.as_deref())?)),
            None => None,
        };
        // The folder is read and checked on another thread while the session connects.
        let (dir, layout, to) = (project.migrations_dir.clone(), project.layout, opts.to.clone());
        let reading = code
            .is_none()
            .then(|| tokio::task::spawn_blocking(move || read_folder(&dir, layout, to.as_deref())));
        let read = async {
            match reading {
                None => Ok((Vec::new(), None)),
                Some(r) => r.await.map_err(|e| Error::input(format!("reading the folder: {e}")))?,
            }
        };
        let action = if opts.dry_run { "dry-run" } else { "apply" };
        let request = Request { to: opts.to.clone(), ..Request::default() };
        let (mut run, (migrations, to)) =
            Run::begin_after(project, env, action, request, ctl, read).await?;
        if code.is_none() {
            run.loaded = Some(migrations.clone());
        }
        let planned = match code {
            Some((c, folder)) => {
                let to = opts.to.as_deref();
                code_plan::plan(&run, &c, folder, to, opts.allow_out_of_order).await
            }
            None => plan(&run, migrations, opts, to.as_ref(), project.tool_history).await,
        };
        run.report.timings.open_ms = ms_since(opened);
        let (status, pending, steps) = match planned {
            Ok(p) => p,
            Err(e) => return Ok(Opened::Finished(Box::new(fail_early(run, e).await))),
        };
        run.announce(steps.len());
        if steps.is_empty() {
            return Ok(Opened::Finished(Box::new(run.finish("nothing-to-do", None).await)));
        }
        let overrides = allowed(&status, &pending, opts);
        run.report.overrides = overrides;
        let stages = if opts.dry_run {
            vec![Stage::PreChecks, Stage::Lint, Stage::DryRun]
        } else if rehearse_first {
            vec![Stage::PreChecks, Stage::Lint, Stage::Backup, Stage::DryRun, Stage::Apply]
        } else {
            vec![Stage::PreChecks, Stage::Lint, Stage::Backup, Stage::Apply]
        };
        Ok(Opened::Ready(Box::new(GuardedRun {
            run,
            project: project.clone(),
            opts: opts.clone(),
            status,
            pending,
            steps,
            stages,
            next: 0,
            findings: Vec::new(),
            failure: None,
        })))
    }

    pub fn run_id(&self) -> &str {
        &self.run.report.run_id
    }

    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The stage `advance` runs next; None once only `complete` is left.
    pub fn next_stage(&self) -> Option<Stage> {
        self.stages.get(self.next).copied()
    }

    pub fn results(&self) -> &[StageResult] {
        &self.run.report.stages
    }

    pub fn planned(&self) -> Vec<Planned> {
        self.steps
            .iter()
            .map(|s| Planned {
                version: s.version.clone(),
                name: s.name.clone(),
                statements: s.statements.len(),
                transactional: s.transactional,
            })
            .collect()
    }

    /// What the run has gathered so far: pre-checks, rehearsal, backup, overrides.
    pub fn report(&self) -> &RunReport {
        &self.run.report
    }

    /// The lint stage's findings, all severities.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The operator's reason to pass the lint gate; recorded with the findings it passed.
    pub fn override_lint(&mut self, reason: &str) {
        self.opts.override_lint = Some(reason.to_string());
    }

    /// The operator's reason to run outside the maintenance window; recorded.
    pub fn override_window(&mut self, reason: &str) {
        self.opts.override_window = Some(reason.to_string());
    }

    /// The operator's reason to apply what `promote_from` has not run; recorded.
    pub fn override_promotion(&mut self, reason: &str) {
        self.opts.override_promotion = Some(reason.to_string());
    }

    /// The typed confirmation the apply stage checks on a production tier.
    pub fn confirm(&mut self, typed: &str) {
        self.opts.confirm = Some(typed.to_string());
    }

    /// The change ticket the run is done under (recorded).
    pub fn ticket(&mut self, reference: &str) {
        let t = reference.trim();
        self.opts.ticket = (!t.is_empty()).then(|| t.to_string());
    }

    /// Redeems a second approver's code for this run; recorded at once. A refused code
    /// leaves the run as it was, to try again.
    pub async fn approve(
        &mut self,
        name: &str,
        code: &str,
    ) -> Result<crate::core::guard::approval::Approval> {
        self.run.approve(name, code).await
    }

    /// Runs the next stage before the apply. On failure the pipeline stays at that stage:
    /// the caller may retry it or abandon the run.
    pub async fn advance(&mut self) -> Result<StageResult> {
        let Some(stage) = self.next_stage() else {
            return Err(Error::input("every stage before the apply has run: complete the run"));
        };
        if stage == Stage::Apply {
            return Err(Error::input("the apply stage runs with complete()"));
        }
        self.run.session.emit(Event::StageStarted { stage });
        let started = Instant::now();
        let res = match stage {
            Stage::PreChecks => self.prechecks().await,
            Stage::Lint => self.lint().await,
            Stage::Backup => self.backup().await,
            Stage::DryRun => self.dry_run().await,
            Stage::Apply => unreachable!("refused above"),
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        let result = match &res {
            Ok((outcome, summary)) => {
                self.next += 1;
                self.failure = None;
                let summary = summary.clone();
                StageResult { stage, outcome: *outcome, summary, duration_ms, refusal: None }
            }
            Err(e) => StageResult {
                stage,
                outcome: StageOutcome::Failed,
                summary: e.message.clone(),
                duration_ms,
                refusal: e.refusal.clone(),
            },
        };
        self.record(result.clone()).await;
        res.map(|_| result)
    }

    async fn record(&mut self, result: StageResult) {
        self.run.session.emit(Event::StageFinished { result: result.clone() });
        // A retried stage replaces its failed attempt in the record.
        self.run.report.stages.retain(|r| r.stage != result.stage);
        self.run.report.stages.push(result);
        self.run.details.stages = self.run.report.stages.clone();
        if let Err(e) = self.run.save_details().await {
            tracing::warn!("cannot record the stage: {e}");
        }
    }

    /// Runs what is left: every remaining stage, then the apply (or, for a dry run, ends
    /// the run as rehearsed). A stage that fails ends the run, recorded.
    pub async fn complete(mut self) -> RunReport {
        while let Some(stage) = self.next_stage() {
            if stage == Stage::Apply {
                break;
            }
            if self.advance().await.is_err() {
                return self.abandon().await;
            }
        }
        if self.next_stage().is_none() {
            return self.run.finish("rehearsed", None).await;
        }
        let env = self.run.env().clone();
        if let Err(e) = check_confirmation(&env, self.opts.confirm.as_deref(), "apply") {
            self.failure = Some((e, vec![], "refused"));
            return self.abandon().await;
        }
        let (ticket, approval) = (self.opts.ticket.clone(), self.opts.approval.clone());
        if let Err(e) = self.run.check_approvals(ticket.as_deref(), approval.as_ref()).await {
            self.failure = Some((e, vec![], "refused"));
            return self.abandon().await;
        }
        self.run.session.emit(Event::StageStarted { stage: Stage::Apply });
        let versions: Vec<String> = self.steps.iter().map(|s| s.version.clone()).collect();
        if let Err(e) = self.run.hooks(hooks::HookPoint::PreApply, &versions, None).await {
            self.failure = Some((e, vec![], "refused"));
            return self.abandon().await;
        }
        self.run.details.overrides = self.run.report.overrides.clone();
        if let Err(e) = self.run.save_details().await {
            tracing::warn!("cannot record the overrides: {e}");
        }
        self.run.apply_started = Some(Instant::now());
        self.run.run_changes(self.steps).await
    }

    /// Ends the run before the apply: with the last stage's failure if there was one,
    /// otherwise as cancelled by the operator at the stage it stood at.
    pub async fn abandon(mut self) -> RunReport {
        let (error, blockers, outcome) = self.failure.take().unwrap_or_else(|| {
            let at = self.next_stage().map_or("the end", Stage::as_str);
            (
                Error::guard(format!("abandoned by the operator before {at}; nothing was applied")),
                vec![],
                "cancelled",
            )
        });
        let err = ReportError::from_error(&error, blockers);
        self.run.finish(outcome, Some(err)).await
    }
}
