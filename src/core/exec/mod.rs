//! Apply, rollback, resolve and rehearse: the engine's runs. Each takes the ledger lock,
//! records itself in the runs table, and reports progress as events.

mod control;
pub mod diff;
mod gate;
pub mod hooks;
mod rehearse;
pub mod report;
mod resolve;
mod runner;

use std::time::Instant;

use serde_json::json;

pub use control::{Control, Interrupt};
use rehearse::rehearse;
pub use report::{Blocker, Event, EventSender, MigrationReport, ReportError, RunReport};
pub use resolve::resolve;
use runner::{Session, Step};

use crate::core::config::{Environment, Project, Tier};
use crate::core::connect::Target;
use crate::core::error::{Error, Result};
use crate::core::ledger::{Direction, HistoryRow, Ledger, RunRow};
use crate::core::plan::{State, Status};
use crate::core::source::{self, checked_statements, load_native, SqlFile, Version};

#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    pub to: Option<String>,
    pub dry_run: bool,
    /// Must repeat the environment's name on a production tier.
    pub confirm: Option<String>,
    pub allow_drift: bool,
    pub allow_out_of_order: bool,
    /// Apply despite findings at or above the lint gate; the reason is recorded in the run.
    pub override_lint: Option<String>,
    /// Some(true): back up first even where the policy makes it optional; Some(false): skip
    /// an optional backup (refused where the policy requires one).
    pub backup: Option<bool>,
    /// Run outside the environment's maintenance window; the reason is recorded.
    pub override_window: Option<String>,
}

#[derive(Debug, Clone)]
pub enum RollbackTarget {
    Steps(usize),
    To(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    MarkApplied,
    MarkRolledBack,
    Retry,
}

impl Resolution {
    fn as_str(self) -> &'static str {
        match self {
            Resolution::MarkApplied => "mark-applied",
            Resolution::MarkRolledBack => "mark-rolled-back",
            Resolution::Retry => "retry",
        }
    }
}

/// Reads files and ledger (no lock, no writes) and sets them side by side.
pub async fn status(project: &Project, env: &Environment) -> Result<Status> {
    let migrations = load_native(&project.migrations_dir)?;
    let target = Target::resolve(env)?;
    let client = target.connect("sluice/status").await?;
    let latest = Ledger::new(&project.ledger_schema).latest(&client).await?;
    Status::build(migrations, latest)
}

pub async fn history(
    project: &Project,
    env: &Environment,
) -> Result<(Vec<HistoryRow>, Vec<RunRow>)> {
    let target = Target::resolve(env)?;
    let client = target.connect("sluice/history").await?;
    let ledger = Ledger::new(&project.ledger_schema);
    Ok((ledger.history(&client).await?, ledger.runs(&client).await?))
}

/// Refuses a write to a production-tier environment unless its name was repeated.
pub fn check_confirmation(env: &Environment, confirm: Option<&str>, action: &str) -> Result<()> {
    if env.tier == Tier::Production && confirm != Some(env.name.as_str()) {
        return Err(Error::guard(match confirm {
            None => format!(
                "{} is a production environment: repeat its name to {action}: --confirm {}",
                env.name, env.name
            ),
            Some(other) => format!(
                "--confirm {other:?} does not match the environment {:?}; nothing was done",
                env.name
            ),
        }));
    }
    Ok(())
}

/// A connected, locked run, with its runs row written.
pub(super) struct Run {
    pub(super) session: Session,
    started: Instant,
    pub(super) report: RunReport,
    interrupt: Option<std::sync::Arc<Interrupt>>,
    migrations_dir: std::path::PathBuf,
    env: Environment,
}

impl Run {
    pub(super) async fn begin(
        project: &Project,
        env: &Environment,
        action: &str,
        details: serde_json::Value,
        ctl: Control,
    ) -> Result<Run> {
        let target = Target::resolve(env)?;
        let run_id = crate::core::identity::new_run_id();
        let ledger = Ledger::new(&project.ledger_schema);
        let interrupt = ctl.interrupt.clone();
        let session = Session::open(&target, env, ledger, &run_id, ctl.events).await?;
        if let Some(i) = &ctl.interrupt {
            i.attach(session.client.cancel_token(), target.clone());
        }
        session.ledger.try_lock(&session.client).await?;
        session.ledger.ensure(&session.client).await?;
        let run = crate::core::ledger::NewRun {
            run_id: &run_id,
            environment: &env.name,
            action,
            operator: &session.operator,
            client_host: &session.host,
            details: &details,
        };
        session.ledger.start_run(&session.client, &run).await?;
        tracing::info!(run_id, action, env = env.name, "run started");
        Ok(Run {
            interrupt,
            migrations_dir: project.migrations_dir.clone(),
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
            },
            session,
        })
    }

    pub(super) async fn finish(mut self, outcome: &str, error: Option<ReportError>) -> RunReport {
        self.report.outcome = outcome.into();
        self.report.duration_ms = self.started.elapsed().as_millis() as u64;
        self.report.error = error;
        let details = json!({
            "migrations": self.report.migrations.iter().map(|m| json!({
                "version": m.version, "name": m.name, "direction": m.direction,
                "source": m.source, "duration_ms": m.duration_ms, "lock_retries": m.lock_retries,
            })).collect::<Vec<_>>(),
            "error": self.report.error,
            "duration_ms": self.report.duration_ms,
        });
        // After a run that changed the schema, remember it: drift made outside sluice shows
        // up later as a diff against this snapshot.
        let changed = self.report.action != "dry-run"
            && self
                .report
                .migrations
                .iter()
                .any(|m| !m.statements.is_empty() || m.source == "resolve");
        if changed {
            let s = &self.session;
            match crate::core::schema::snapshot(&s.client, s.ledger.schema()).await {
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
            .finish_run(&self.session.client, &self.report.run_id, outcome, &details)
            .await
        {
            tracing::warn!("cannot record the end of run {}: {e}", self.report.run_id);
        }
        let _ = self.session.ledger.unlock(&self.session.client).await;
        self.session.emit(Event::RunFinished {
            run_id: self.report.run_id.clone(),
            outcome: outcome.into(),
        });
        tracing::info!(run_id = self.report.run_id, outcome, "run finished");
        self.report
    }

    async fn verify_basic(&self) -> Result<Vec<crate::core::precheck::Check>> {
        let migrations = load_native(&self.migrations_dir)?;
        let s = &self.session;
        let status = Status::build(migrations, s.ledger.latest(&s.client).await?)?;
        let cx = crate::core::verify::Context {
            env: &self.env,
            ledger: &s.ledger,
            status: &status,
            local_socket: matches!(
                s.target.config.get_hosts().first(),
                Some(tokio_postgres::config::Host::Unix(_))
            ),
        };
        crate::core::verify::run(&s.client, &cx, crate::core::verify::Level::Basic).await
    }

    /// Runs a stage's hooks and records what they did in the run.
    async fn hooks(
        &mut self,
        stage: hooks::Stage,
        versions: &[String],
        outcome: Option<&str>,
    ) -> Result<()> {
        let database = self.session.target.dbname().to_string();
        let facts = hooks::Facts {
            run_id: &self.report.run_id,
            action: &self.report.action,
            database: &database,
            migrations: versions,
            outcome,
        };
        let (results, res) = hooks::run(stage, &self.env, &facts).await;
        if !results.is_empty() {
            let details = json!({ format!("hooks_{}", stage.as_str()): results });
            let s = &self.session;
            if let Err(e) = s.ledger.add_run_details(&s.client, &self.report.run_id, &details).await
            {
                tracing::warn!("cannot record hooks: {e}");
            }
        }
        res
    }

    fn cancelled(&self) -> bool {
        self.interrupt.as_ref().is_some_and(|i| i.requested())
    }

    /// Runs steps in order, stopping at the first failure.
    pub(super) async fn run_steps(mut self, steps: Vec<Step>) -> RunReport {
        self.session.emit(Event::RunStarted {
            run_id: self.report.run_id.clone(),
            action: self.report.action.clone(),
            migrations: steps.len(),
        });
        if steps.is_empty() {
            return self.finish("nothing-to-do", None).await;
        }
        for step in &steps {
            if self.cancelled() {
                let e = Error::guard(format!(
                    "cancelled by the operator before {}_{}; {} migration(s) done",
                    step.version,
                    step.name,
                    self.report.migrations.len()
                ));
                return self.finish("cancelled", Some(ReportError::from_error(&e, vec![]))).await;
            }
            match self.session.run_step(step).await {
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
                        self.hooks(hooks::Stage::OnFailure, &versions, Some(outcome)).await
                    {
                        tracing::warn!("{e}");
                    }
                    return self.finish(outcome, Some(err)).await;
                }
            }
        }
        let versions: Vec<String> = steps.iter().map(|s| s.version.clone()).collect();
        let mut degraded: Vec<String> = Vec::new();
        if let Err(e) = self.hooks(hooks::Stage::PostApply, &versions, Some("applied")).await {
            degraded.push(e.message);
        }
        // A change that went through is verified at once: what it left behind decides
        // whether the run is done or degraded.
        let verified = self.verify_basic().await;
        let verdict = match &verified {
            Ok(checks)
                if checks.iter().any(|c| c.outcome == crate::core::precheck::Outcome::Fail) =>
            {
                "failed"
            }
            _ => "passed",
        };
        if let Err(e) = self.hooks(hooks::Stage::PostVerify, &versions, Some(verdict)).await {
            degraded.push(e.message);
        }
        match verified {
            Ok(checks) => {
                let failed: Vec<String> = checks
                    .iter()
                    .filter(|c| c.outcome == crate::core::precheck::Outcome::Fail)
                    .map(|c| format!("{}: {}", c.name, c.figure))
                    .collect();
                self.report.verify = checks;
                if !failed.is_empty() {
                    degraded.insert(0, format!("verify failed: {}", failed.join("; ")));
                }
            }
            Err(e) => tracing::warn!("verify after the run failed: {e}"),
        }
        if degraded.is_empty() {
            self.finish("done", None).await
        } else {
            let e = Error::guard(format!("applied, but {}", degraded.join("; ")));
            self.finish("degraded", Some(ReportError::from_error(&e, vec![]))).await
        }
    }
}

pub(super) fn parse_version(v: &str, flag: &str) -> Result<Version> {
    Version::parse(v)
        .ok_or_else(|| Error::input(format!("{flag} {v:?}: a version is digits, e.g. {flag} 0007")))
}

/// Guards every write run checks: no failed migration waiting for resolution, no drift
/// unless allowed.
fn check_guards(status: &Status, opts: &ApplyOptions) -> Result<()> {
    if let Some(f) = status.items.iter().find(|i| i.state == State::Failed) {
        let at = f.entry.as_ref().and_then(|e| e.failed_at_statement).unwrap_or(0);
        return Err(Error::guard(format!(
            "migration {} failed at statement {at} and is partly applied; resolve it first: sluice resolve {} --retry | --mark-applied | --mark-rolled-back",
            f.label(),
            f.version
        )));
    }
    if !opts.allow_drift {
        let drifted: Vec<String> =
            status.items.iter().filter(|i| i.state == State::Drifted).map(|i| i.label()).collect();
        if !drifted.is_empty() {
            return Err(Error::guard(format!(
                "applied migrations changed on disk (drift): {}; restore the files as applied (see the ledger's SQL with sluice history), or pass --allow-drift",
                drifted.join(", ")
            )));
        }
    }
    Ok(())
}

pub(super) fn up_step(item: &crate::core::plan::Item) -> Result<Option<Step>> {
    let Some(m) = &item.migration else { return Ok(None) };
    let statements = m.up_statements()?;
    Ok(Some(Step {
        version: m.version.to_string(),
        name: m.name.clone(),
        direction: Direction::Up,
        transactional: !m.no_transaction(),
        origin: m.up.path.display().to_string(),
        source: "file",
        checksum: m.up.checksum(),
        up_sql: m.up.text.clone(),
        down_sql: m.down.as_ref().map(|d| d.text.clone()),
        statements,
        start_at: 0,
    }))
}

/// Applies pending migrations (up to `--to`), or rehearses them with `dry_run`.
pub async fn apply(
    project: &Project,
    env: &Environment,
    opts: &ApplyOptions,
    ctl: Control,
) -> Result<RunReport> {
    if !opts.dry_run {
        check_confirmation(env, opts.confirm.as_deref(), "apply")?;
    }
    let migrations = load_native(&project.migrations_dir)?;
    let to = opts.to.as_deref().map(|v| parse_version(v, "--to")).transpose()?;
    if let Some(to) = &to {
        if !migrations.iter().any(|m| &m.version == to) {
            return Err(Error::input(format!(
                "--to {to}: no migration file has that version in {}",
                project.migrations_dir.display()
            )));
        }
    }
    let action = if opts.dry_run { "dry-run" } else { "apply" };
    let mut run = Run::begin(project, env, action, json!({ "to": opts.to }), ctl).await?;
    let latest = match run.session.ledger.latest(&run.session.client).await {
        Ok(l) => l,
        Err(e) => return Ok(fail_early(run, e).await),
    };
    let status = match Status::build(migrations, latest) {
        Ok(s) => s,
        Err(e) => return Ok(fail_early(run, e).await),
    };
    if let Err(e) = check_guards(&status, opts) {
        return Ok(fail_early(run, e).await);
    }
    let pending: Vec<_> =
        status.pending().filter(|i| to.as_ref().is_none_or(|t| &i.version <= t)).collect();
    if !opts.allow_out_of_order {
        let late: Vec<String> =
            pending.iter().filter(|i| i.out_of_order).map(|i| i.label()).collect();
        if !late.is_empty() {
            let e = Error::guard(format!(
                "pending migrations older than the newest applied one (out of order): {}; check they are safe to run now, then pass --allow-out-of-order",
                late.join(", ")
            ));
            return Ok(fail_early(run, e).await);
        }
    }
    let pending_items = pending.clone();
    let mut steps = Vec::new();
    for item in pending {
        match up_step(item) {
            Ok(Some(s)) => steps.push(s),
            Ok(None) => {}
            Err(e) => return Ok(fail_early(run, e).await),
        }
    }
    if opts.dry_run {
        return Ok(rehearse(run, steps).await);
    }
    let versions: Vec<String> = steps.iter().map(|s| s.version.clone()).collect();
    if !steps.is_empty() {
        if let Err(e) = run.hooks(hooks::Stage::PreCheck, &versions, None).await {
            return Ok(fail_early(run, e).await);
        }
    }
    if let Err(e) = prechecks(&mut run, env, &status, &steps, opts).await {
        return Ok(fail_early(run, e).await);
    }
    match gate::check(
        project,
        env,
        &run.session.client,
        &pending_items,
        opts.override_lint.as_deref(),
    )
    .await
    {
        Ok(None) => {}
        Ok(Some(overridden)) => {
            let details = json!({ "lint_overridden": overridden });
            if let Err(e) = run
                .session
                .ledger
                .add_run_details(&run.session.client, &run.report.run_id, &details)
                .await
            {
                return Ok(fail_early(run, e).await);
            }
        }
        Err(e) => return Ok(fail_early(run, e).await),
    }
    if let Some(last) = steps.last() {
        let label = format!("pre-{}", last.version);
        if let Err(e) = backup_before(&mut run, env, opts.backup, &label).await {
            return Ok(fail_early(run, e).await);
        }
        if let Err(e) = run.hooks(hooks::Stage::PreApply, &versions, None).await {
            return Ok(fail_early(run, e).await);
        }
    }
    Ok(run.run_steps(steps).await)
}

/// Tables the steps' statements name (lower case, unqualified), for the blocker check.
fn touched_tables(steps: &[Step]) -> Vec<String> {
    let mut out: Vec<String> = steps
        .iter()
        .flat_map(|s| s.statements.iter())
        .filter_map(|st| pg_query::parse(&st.text, 0).ok())
        .flat_map(|p| p.tables.into_iter().map(|(t, _)| t))
        .map(|t| t.rsplit('.').next().unwrap_or(&t).to_lowercase())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn backup_planned(env: &Environment, wanted: Option<bool>) -> bool {
    use crate::core::config::BackupMode;
    match (env.backup.mode, wanted) {
        (BackupMode::Required, _) => true,
        (_, Some(w)) => w,
        _ => false,
    }
}

/// Runs the pre-checks, records them in the run, and refuses on any failure.
async fn prechecks(
    run: &mut Run,
    env: &Environment,
    status: &Status,
    steps: &[Step],
    opts: &ApplyOptions,
) -> Result<()> {
    let cx = crate::core::precheck::Context {
        env,
        ledger: &run.session.ledger,
        status,
        touched: touched_tables(steps),
        backup_planned: backup_planned(env, opts.backup),
        backup_dir: crate::core::backup::backup_dir(env).ok(),
        window_override: opts.override_window.as_deref().filter(|r| !r.trim().is_empty()),
        allow_drift: opts.allow_drift,
        local_socket: matches!(
            run.session.target.config.get_hosts().first(),
            Some(tokio_postgres::config::Host::Unix(_))
        ),
    };
    let checks = crate::core::precheck::run(&run.session.client, &cx).await?;
    run.session.emit(Event::PreChecks { checks: checks.clone() });
    let details = json!({ "prechecks": checks, "window_override": cx.window_override });
    run.session.ledger.add_run_details(&run.session.client, &run.report.run_id, &details).await?;
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| c.outcome == crate::core::precheck::Outcome::Fail)
        .map(|c| format!("{}: {}", c.name, c.figure))
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    let hint = if failed.iter().any(|f| f.starts_with("maintenance window")) {
        "; to run outside the window pass --override-window \"reason\" (recorded)"
    } else {
        ""
    };
    Err(Error::guard(format!("pre-checks failed: {}{hint}", failed.join("; "))))
}

/// The backup the environment's policy asks for before a change, recorded in the run.
async fn backup_before(
    run: &mut Run,
    env: &Environment,
    wanted: Option<bool>,
    label: &str,
) -> Result<()> {
    use crate::core::config::BackupMode;
    let take = match (env.backup.mode, wanted) {
        (BackupMode::Required, Some(false)) => {
            return Err(Error::guard(format!(
                "{}'s policy requires a backup before a change; --no-backup is refused",
                env.name
            )))
        }
        (BackupMode::Required, _) => true,
        (_, Some(w)) => w,
        (BackupMode::Optional, None) | (BackupMode::Off, None) => false,
    };
    if !take {
        return Ok(());
    }
    let dir = crate::core::backup::backup_dir(env)?;
    run.session.emit(Event::BackupStarted { directory: dir.display().to_string() });
    let info = crate::core::backup::take(env, label).await?;
    run.session.emit(Event::BackupFinished {
        path: info.path.display().to_string(),
        bytes: info.bytes,
        duration_ms: info.duration_ms,
        pruned: info.pruned.len(),
    });
    let details = json!({ "backup": info });
    run.session.ledger.add_run_details(&run.session.client, &run.report.run_id, &details).await?;
    run.report.backup = Some(info);
    Ok(())
}

pub(super) async fn fail_early(run: Run, e: Error) -> RunReport {
    let err = ReportError::from_error(&e, vec![]);
    run.finish("refused", Some(err)).await
}

/// Rolls back the newest migrations, by count or down to a version.
pub async fn rollback(
    project: &Project,
    env: &Environment,
    target: &RollbackTarget,
    confirm: Option<&str>,
    ctl: Control,
) -> Result<RunReport> {
    check_confirmation(env, confirm, "roll back")?;
    let to = match target {
        RollbackTarget::To(v) => Some(parse_version(v, "--to")?),
        RollbackTarget::Steps(0) => {
            return Err(Error::input("--steps 0 rolls nothing back; use 1 or more"))
        }
        RollbackTarget::Steps(_) => None,
    };
    let migrations = load_native(&project.migrations_dir)?;
    let details = match target {
        RollbackTarget::Steps(n) => json!({ "steps": n }),
        RollbackTarget::To(v) => json!({ "to": v }),
    };
    let run = Run::begin(project, env, "rollback", details, ctl).await?;
    let plan = async {
        let latest = run.session.ledger.latest(&run.session.client).await?;
        let status = Status::build(migrations, latest)?;
        check_guards(&status, &ApplyOptions { allow_drift: true, ..Default::default() })?;
        let mut applied: Vec<_> = status.items.iter().filter(|i| i.state.is_in_database()).collect();
        applied.reverse();
        let chosen: Vec<_> = match (target, &to) {
            (RollbackTarget::Steps(n), _) => {
                if *n > applied.len() {
                    return Err(Error::input(format!(
                        "--steps {n}: only {} migration(s) are applied",
                        applied.len()
                    )));
                }
                applied.into_iter().take(*n).collect()
            }
            (RollbackTarget::To(_), Some(v)) => {
                if v.key() != "0" && !status.items.iter().any(|i| &i.version == v && i.state.is_in_database()) {
                    return Err(Error::input(format!(
                        "--to {v}: that version is not applied; use an applied version, or --to 0 to roll back everything"
                    )));
                }
                applied.into_iter().filter(|i| &i.version > v).collect()
            }
            _ => Vec::new(),
        };
        let mut steps = Vec::new();
        let mut no_down = Vec::new();
        for item in chosen {
            let entry = item.entry.as_ref().expect("applied items have a ledger row");
            let (stored_up, stored_down) =
                run.session.ledger.stored_sql(&run.session.client, entry.id).await?;
            let file_down = item.migration.as_ref().and_then(|m| m.down.clone());
            let (down, source) = match (file_down, stored_down) {
                (Some(f), _) if !crate::core::sql::is_blank(&f.text) => (f, "file"),
                (_, Some(text)) if !crate::core::sql::is_blank(&text) => {
                    let path = format!("ledger:{}_{}.down.sql", item.version, item.name);
                    let no_transaction = source::header_directives(&text)
                        .map(|d| d.no_transaction)
                        .unwrap_or(false);
                    (SqlFile { path: path.into(), text, no_transaction }, "ledger")
                }
                _ => {
                    no_down.push(item.label());
                    continue;
                }
            };
            let statements = checked_statements(&down)?;
            steps.push(Step {
                version: item.version.to_string(),
                name: item.name.clone(),
                direction: Direction::Down,
                transactional: !down.no_transaction,
                origin: down.path.display().to_string(),
                source,
                checksum: entry.checksum.clone(),
                up_sql: stored_up,
                down_sql: Some(down.text.clone()),
                statements,
                start_at: 0,
            });
        }
        if !no_down.is_empty() {
            return Err(Error::guard(format!(
                "cannot roll back {}: no down file and no down SQL in the ledger; write a down file, or restore a backup",
                no_down.join(", ")
            )));
        }
        Ok(steps)
    }
    .await;
    match plan {
        Ok(steps) => Ok(run.run_steps(steps).await),
        Err(e) => Ok(fail_early(run, e).await),
    }
}

/// `sluice verify`: the checks at a level, without taking the ledger lock.
pub async fn verify(
    project: &Project,
    env: &Environment,
    level: crate::core::verify::Level,
) -> Result<Vec<crate::core::precheck::Check>> {
    let target = Target::resolve(env)?;
    let client = target.connect("sluice/verify").await?;
    let ledger = Ledger::new(&project.ledger_schema);
    let status =
        Status::build(load_native(&project.migrations_dir)?, ledger.latest(&client).await?)?;
    let cx = crate::core::verify::Context {
        env,
        ledger: &ledger,
        status: &status,
        local_socket: matches!(
            target.config.get_hosts().first(),
            Some(tokio_postgres::config::Host::Unix(_))
        ),
    };
    crate::core::verify::run(&client, &cx, level).await
}

/// `sluice check`: the pre-checks of an apply, without taking the ledger lock.
pub async fn precheck(
    project: &Project,
    env: &Environment,
    opts: &ApplyOptions,
) -> Result<Vec<crate::core::precheck::Check>> {
    let target = Target::resolve(env)?;
    let client = target.connect("sluice/check").await?;
    let ledger = Ledger::new(&project.ledger_schema);
    let status =
        Status::build(load_native(&project.migrations_dir)?, ledger.latest(&client).await?)?;
    let mut steps = Vec::new();
    for item in status.pending() {
        if let Some(s) = up_step(item)? {
            steps.push(s);
        }
    }
    let cx = crate::core::precheck::Context {
        env,
        ledger: &ledger,
        status: &status,
        touched: touched_tables(&steps),
        backup_planned: backup_planned(env, opts.backup),
        backup_dir: crate::core::backup::backup_dir(env).ok(),
        window_override: opts.override_window.as_deref(),
        allow_drift: opts.allow_drift,
        local_socket: matches!(
            target.config.get_hosts().first(),
            Some(tokio_postgres::config::Host::Unix(_))
        ),
    };
    crate::core::precheck::run(&client, &cx).await
}
