//! A run: connected, holding the ledger lock, recorded in the runs table; it runs steps,
//! hooks and the verify that follows a change.

use std::time::Instant;

use super::control::{Control, Interrupt};
use super::migration::{Change, Session};
use crate::core::data::config::{Environment, Project};
use crate::core::data::plan::Status;
use crate::core::db::connect::Target;
use crate::core::db::ledger::Ledger;
use crate::core::error::{Error, Refusal, Result};
use crate::core::guard::hooks;
use crate::core::record::details::{Request, RunDetails};
use crate::core::record::report::{
    ms_since, Event, ReportError, RunReport, Stage, StageOutcome, StageResult,
};

/// A connected, locked run, with its runs row written.
pub(crate) struct Run {
    pub(crate) session: Session,
    started: Instant,
    pub(crate) report: RunReport,
    interrupt: Option<std::sync::Arc<Interrupt>>,
    /// Redeemed once by the fleet run this run is part of.
    fleet_approval: Option<crate::core::guard::approval::Approval>,
    migrations_dir: std::path::PathBuf,
    layout: Option<crate::core::data::source::Layout>,
    /// The folder as the run read it, for the verify after it (read again when unset).
    pub(crate) loaded: Option<Vec<crate::core::data::source::Migration>>,
    env: Environment,
    announced: bool,
    /// Set by a guarded run when its apply stage starts; the stage is recorded at finish.
    pub(crate) apply_started: Option<Instant>,
    /// What the runs table keeps of this run; `save_details` writes it.
    pub(crate) details: RunDetails,
}

impl Run {
    pub(crate) async fn begin(
        project: &Project,
        env: &Environment,
        action: &str,
        request: Request,
        ctl: Control,
    ) -> Result<Run> {
        let ready = async { Ok(()) };
        Ok(Run::begin_after(project, env, action, request, ctl, ready).await?.0)
    }

    /// `begin`, with `ready` (the folder, read on another thread meanwhile) awaited once
    /// the session is open and locked, before the run writes anything: bad input still
    /// leaves the database untouched.
    pub(crate) async fn begin_after<T>(
        project: &Project,
        env: &Environment,
        action: &str,
        request: Request,
        ctl: Control,
        ready: impl std::future::Future<Output = Result<T>>,
    ) -> Result<(Run, T)> {
        let target = Target::resolve(env)?;
        let run_id = crate::core::host::identity::new_run_id();
        let ledger = Ledger::new(&project.ledger_schema);
        let interrupt = ctl.interrupt.clone();
        let mut session = Session::open(&target, env, ledger, &run_id, ctl.events).await?;
        session.interrupt = ctl.interrupt.clone();
        if let Some(i) = &ctl.interrupt {
            i.attach(session.client.cancel_token(), target.clone());
        }
        session.ledger.try_lock(&session.client).await?;
        let ready = ready.await?;
        session.ledger.ensure(&session.client).await?;
        // The tier goes with every run, so a second environment in sluice.toml pointing a
        // lower tier at a production database cannot skip production's guards.
        let details = RunDetails {
            tier: Some(env.tier),
            account: session.account.as_ref().ok().cloned(),
            fleet_run: ctl.fleet.as_ref().map(|f| f.id.clone()),
            request,
            ..RunDetails::default()
        };
        if env.tier != crate::core::data::config::Tier::Production {
            if let Some((name, id)) = session.ledger.production_run(&session.client).await? {
                return Err(Error::guard(format!(
                    "this database has been changed through the production-tier environment '{name}' (run {id}); '{}' is {} and would skip production's guards: run it through '{name}'",
                    env.name, env.tier
                )));
            }
        }
        let run = crate::core::db::ledger::NewRun {
            run_id: &run_id,
            environment: &env.name,
            action,
            operator: &session.operator,
            client_host: &session.host,
            details: &details.to_json(),
        };
        session.ledger.start_run(&session.client, &run).await?;
        tracing::info!(run_id, action, env = env.name, "run started");
        let run = Run {
            interrupt,
            fleet_approval: ctl.fleet.and_then(|f| f.approval),
            migrations_dir: project.migrations_dir.clone(),
            layout: project.layout,
            loaded: None,
            env: env.clone(),
            started: Instant::now(),
            report: RunReport {
                run_id,
                environment: env.name.clone(),
                action: action.into(),
                outcome: "running".into(),
                migrations: Vec::new(),
                duration_ms: 0,
                schema_diff: None,
                backup: None,
                verify: Vec::new(),
                error: None,
                stages: Vec::new(),
                prechecks: Vec::new(),
                overrides: Vec::new(),
                rehearsal: Vec::new(),
                approvals: Vec::new(),
                ticket: None,
                terminated: Vec::new(),
                compensated: Vec::new(),
                timings: Default::default(),
            },
            announced: false,
            apply_started: None,
            details,
            session,
        };
        Ok((run, ready))
    }

    pub(crate) fn env(&self) -> &Environment {
        &self.env
    }

    /// Writes what the run has gathered so far to its runs row.
    pub(crate) async fn save_details(&self) -> Result<()> {
        let s = &self.session;
        s.ledger.save_run_details(&s.client, &self.report.run_id, &self.details.to_json()).await
    }

    /// Redeems a second approver's code for this run and records it.
    pub(crate) async fn approve(
        &mut self,
        name: &str,
        code: &str,
    ) -> Result<crate::core::guard::approval::Approval> {
        let s = &self.session;
        let approval = crate::core::guard::approval::redeem(
            &s.client,
            &s.ledger,
            &self.env.name,
            &self.report.run_id,
            &s.operator,
            &s.account,
            name,
            code,
        )
        .await?;
        self.report.approvals.push(approval.clone());
        self.details.approvals = self.report.approvals.clone();
        self.save_details().await?;
        Ok(approval)
    }

    /// The ticket and second approver the environment's policy asks for, before anything
    /// changes. A headless run redeems its `--approval-code` here.
    pub(crate) async fn check_approvals(
        &mut self,
        ticket: Option<&str>,
        approval: Option<&(String, String)>,
    ) -> Result<()> {
        use crate::core::data::config::TicketPolicy;
        let needs = crate::core::guard::policy::Requirements::of(&self.env);
        let ticket = ticket.map(str::trim).filter(|t| !t.is_empty());
        match (needs.ticket, ticket) {
            (TicketPolicy::Required, None) => {
                return Err(Error::refused(
                    Refusal::Ticket,
                    format!("{} requires a change ticket reference", self.env.name),
                ))
            }
            (TicketPolicy::Off, _) | (_, None) => {}
            (_, Some(t)) => {
                self.report.ticket = Some(t.to_string());
                self.details.ticket = Some(t.to_string());
                self.save_details().await?;
            }
        }
        if needs.second_approver && self.report.approvals.is_empty() {
            if let Some(a) = self.fleet_approval.clone() {
                self.report.approvals.push(a);
                self.details.approvals = self.report.approvals.clone();
                return self.save_details().await;
            }
            let Some((name, code)) = approval else {
                return Err(Error::refused(
                    Refusal::SecondApprover,
                    format!(
                        "{env} requires a second approver: they run `sluice approve {id} --env {env}` (or, before the run, `sluice approve --env {env}`) on their own terminal and give you their name and code",
                        env = self.env.name,
                        id = self.report.run_id,
                    ),
                ));
            };
            self.approve(name, code).await?;
        }
        Ok(())
    }

    pub(crate) async fn finish(mut self, outcome: &str, error: Option<ReportError>) -> RunReport {
        self.report.outcome = outcome.into();
        self.report.duration_ms = self.started.elapsed().as_millis() as u64;
        if let Some(i) = &self.interrupt {
            self.report.terminated = i.terminated();
        }
        self.report.error = error;
        if let Some(t) = self.apply_started {
            self.report.stages.push(StageResult {
                stage: Stage::Apply,
                outcome: match outcome {
                    "done" => StageOutcome::Passed,
                    "degraded" => StageOutcome::Warned,
                    _ => StageOutcome::Failed,
                },
                summary: format!("{} migration(s): {outcome}", self.report.migrations.len()),
                duration_ms: t.elapsed().as_millis() as u64,
                refusal: None,
            });
        }
        self.details.finish(&self.report);
        // After a run that changed the schema, remember it: drift made outside sluice shows
        // up later as a diff against this snapshot.
        let restored = self.report.action == "restore" && outcome == "done";
        let changed =
            restored
                || self.report.action != "dry-run"
                    && self.report.migrations.iter().any(|m| {
                        !m.statements.is_empty() || m.source == "resolve" || m.tool.is_some()
                    });
        let t = std::time::Instant::now();
        if changed {
            let s = &self.session;
            match s.snapshot().await {
                Ok(text) => {
                    if let Err(e) =
                        s.ledger.save_snapshot(&s.client, &self.report.run_id, &text).await
                    {
                        tracing::warn!("cannot save the schema snapshot: {e}");
                    }
                }
                Err(e) => tracing::warn!("cannot take the schema snapshot: {e}"),
            }
        }
        // The connection may be gone (that can be why the run failed): then the runs row
        // stays 'running' and the lock went with the session.
        if let Err(e) = self
            .session
            .ledger
            .finish_run(&self.session.client, &self.report.run_id, outcome, &self.details.to_json())
            .await
        {
            tracing::warn!("cannot record the end of run {}: {e}", self.report.run_id);
        }
        let _ = self.session.ledger.unlock(&self.session.client).await;
        self.report.timings.snapshot_ms = ms_since(t);
        self.session.emit(Event::RunFinished {
            run_id: self.report.run_id.clone(),
            outcome: outcome.into(),
        });
        tracing::info!(run_id = self.report.run_id, outcome, "run finished");
        let t = std::time::Instant::now();
        if let Err(e) =
            crate::core::record::audit::record(&self.env, &self.report, &self.session.operator)
        {
            tracing::warn!("cannot write the run report: {e}");
        }
        self.report.timings.record_ms = ms_since(t);
        self.report
    }

    async fn verify_basic(&self) -> Result<Vec<crate::core::guard::precheck::Check>> {
        let migrations = match &self.loaded {
            Some(m) => m.clone(),
            None => crate::core::data::source::load(&self.migrations_dir, self.layout)?,
        };
        let s = &self.session;
        let status = Status::build(migrations, s.ledger.latest(&s.client).await?)?;
        let cx = crate::core::guard::verify::VerifyInputs {
            env: &self.env,
            ledger: &s.ledger,
            status: &status,
            local_link: s.target.local_link(),
        };
        crate::core::guard::verify::run(&s.client, &cx, crate::core::guard::verify::Level::Basic)
            .await
    }

    /// Runs a stage's hooks and records what they did in the run.
    pub(crate) async fn hooks(
        &mut self,
        stage: hooks::HookPoint,
        versions: &[String],
        outcome: Option<&str>,
    ) -> Result<()> {
        let database = self.session.target.dbname().to_string();
        let report = crate::core::data::config::paths::report_dir(&self.env)
            .ok()
            .map(|d| d.join(format!("{}.md", self.report.run_id)));
        let facts = hooks::Facts {
            run_id: &self.report.run_id,
            action: &self.report.action,
            database: &database,
            migrations: versions,
            outcome,
            duration_ms: self.started.elapsed().as_millis() as u64,
            report,
            backup: self.report.backup.as_ref(),
        };
        let (results, res) = hooks::run(stage, &self.env, &facts).await;
        if !results.is_empty() {
            self.details.hooks.at_mut(stage).extend(results);
            if let Err(e) = self.save_details().await {
                tracing::warn!("cannot record hooks: {e}");
            }
        }
        res
    }

    /// Runs the environment's seed files (each in its own transaction, with its checksum
    /// recorded). Seeds run after every apply, so they must be idempotent.
    async fn seed(&mut self) -> Result<()> {
        let mut files = Vec::new();
        for p in &self.env.seeds {
            if p.is_dir() {
                let mut inner: Vec<_> = std::fs::read_dir(p)
                    .map_err(|e| Error::input(format!("seeds {}: {e}", p.display())))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| f.extension().is_some_and(|x| x == "sql"))
                    .collect();
                inner.sort();
                files.extend(inner);
            } else if p.is_file() {
                files.push(p.clone());
            } else {
                return Err(Error::input(format!("seeds {}: no such file or folder", p.display())));
            }
        }
        for f in files {
            let file = crate::core::data::source::SqlFile::read(
                &f,
                crate::core::data::source::Layout::Native,
            )?;
            let statements = crate::core::data::source::checked_statements(&file)?;
            let s = &self.session;
            s.client.batch_execute("BEGIN").await?;
            for st in &statements {
                if let Err(e) = s.client.batch_execute(&st.text).await {
                    let _ = s.client.batch_execute("ROLLBACK").await;
                    return Err(Error::database(format!(
                        "seed {}:{}: {}",
                        f.display(),
                        st.line,
                        crate::core::error::describe_pg(&e)
                    )));
                }
            }
            s.ledger
                .record_seed(
                    &s.client,
                    &f.display().to_string(),
                    &file.checksum(),
                    &self.report.run_id,
                )
                .await?;
            s.client.batch_execute("COMMIT").await?;
        }
        Ok(())
    }

    fn cancelled(&self) -> bool {
        self.interrupt.as_ref().is_some_and(|i| i.requested())
    }

    /// Says once that the run started and how many migrations it holds.
    pub(crate) fn announce(&mut self, migrations: usize) {
        if !self.announced {
            self.announced = true;
            self.session.emit(Event::RunStarted {
                run_id: self.report.run_id.clone(),
                action: self.report.action.clone(),
                migrations,
            });
        }
    }

    /// Runs steps in order, stopping at the first failure.
    pub(crate) async fn run_changes(mut self, steps: Vec<Change>) -> RunReport {
        self.announce(steps.len());
        if steps.is_empty() {
            return self.finish("nothing-to-do", None).await;
        }
        let t = std::time::Instant::now();
        self.session.prewarm_spare();
        for (i, step) in steps.iter().enumerate() {
            // Standbys catch up between migrations (an apply's, not a rollback's).
            if i > 0 && self.report.action == "apply" {
                if let Err(e) = self.session.wait_for_replicas(&step.version).await {
                    let e = e.context(format_args!(
                        "{} migration(s) done; {}_{} not started",
                        self.report.migrations.len(),
                        step.version,
                        step.name
                    ));
                    return self.finish("failed", Some(ReportError::from_error(&e, vec![]))).await;
                }
            }
            // A migration already on its way runs (or fails) whatever happens now.
            if self.cancelled() && !self.session.has_sent(step) {
                let e = Error::guard(format!(
                    "cancelled by the operator before {}_{}; {} migration(s) done",
                    step.version,
                    step.name,
                    self.report.migrations.len()
                ));
                return self.finish("cancelled", Some(ReportError::from_error(&e, vec![]))).await;
            }
            let ran = self.session.run_change_then(step, &steps[i + 1..]).await;
            self.report.timings.migrations_ms = ms_since(t);
            match ran {
                Ok(r) => self.report.migrations.push(r),
                Err(mut f) => {
                    self.report.migrations.push(f.report);
                    let outcome = if self.cancelled() {
                        f.error =
                            Error::guard(format!("cancelled by the operator: {}", f.error.message));
                        "cancelled"
                    } else {
                        "failed"
                    };
                    let err = ReportError::from_error(&f.error, f.blockers);
                    let versions: Vec<String> = steps.iter().map(|s| s.version.clone()).collect();
                    if let Err(e) =
                        self.hooks(hooks::HookPoint::OnFailure, &versions, Some(outcome)).await
                    {
                        tracing::warn!("{e}");
                    }
                    return self.finish(outcome, Some(err)).await;
                }
            }
        }
        let versions: Vec<String> = steps.iter().map(|s| s.version.clone()).collect();
        self.after_changes(&versions).await
    }

    /// Once every migration went through: seeds, the post hooks and the verify decide
    /// whether the run is done or degraded.
    async fn after_changes(mut self, versions: &[String]) -> RunReport {
        let mut degraded: Vec<String> = Vec::new();
        let t = std::time::Instant::now();
        if self.report.action == "apply" {
            if let Err(e) = self.seed().await {
                let err = ReportError::from_error(&e, vec![]);
                return self.finish("failed", Some(err)).await;
            }
        }
        if let Err(e) = self.hooks(hooks::HookPoint::PostApply, versions, Some("applied")).await {
            degraded.push(e.message);
        }
        // A change that went through is verified at once: what it left behind decides
        // whether the run is done or degraded.
        let verified = self.verify_basic().await;
        let verdict = match &verified {
            Ok(checks)
                if checks
                    .iter()
                    .any(|c| c.outcome == crate::core::guard::precheck::Outcome::Fail) =>
            {
                "failed"
            }
            _ => "passed",
        };
        if let Err(e) = self.hooks(hooks::HookPoint::PostVerify, versions, Some(verdict)).await {
            degraded.push(e.message);
        }
        match verified {
            Ok(checks) => {
                let failed: Vec<String> = checks
                    .iter()
                    .filter(|c| c.outcome == crate::core::guard::precheck::Outcome::Fail)
                    .map(|c| format!("{}: {}", c.name, c.figure))
                    .collect();
                self.report.verify = checks;
                if !failed.is_empty() {
                    degraded.insert(0, format!("verify failed: {}", failed.join("; ")));
                }
            }
            Err(e) => tracing::warn!("verify after the run failed: {e}"),
        }
        self.report.timings.verify_ms = ms_since(t);
        if degraded.is_empty() {
            self.finish("done", None).await
        } else {
            let e = Error::guard(format!("applied, but {}", degraded.join("; ")));
            self.finish("degraded", Some(ReportError::from_error(&e, vec![]))).await
        }
    }
}

pub(crate) async fn fail_early(run: Run, e: Error) -> RunReport {
    let err = ReportError::from_error(&e, vec![]);
    run.finish("refused", Some(err)).await
}
