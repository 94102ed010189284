//! Apply, rollback, resolve and rehearse: the engine's runs. Each takes the ledger lock,
//! records itself in the runs table, and reports progress as events.

pub mod adopt;
mod control;
pub mod diff;
pub mod emergency;
mod gate;
mod guards;
pub mod hooks;
mod pipeline;
pub mod recover;
mod rehearse;
pub mod report;
mod resolve;
mod restore;
mod run;
mod runner;
mod watch;

use serde_json::json;

pub use control::{Control, Interrupt};
use guards::{backup_before, check_guards};
pub use guards::{precheck, verify};
pub use pipeline::{GuardedRun, Opened, Planned, Stage, StageOutcome, StageResult};
pub use rehearse::mode_name as lock_mode_name;
pub use report::{
    Blocker, CommandProgress, Event, EventSender, MigrationReport, Override, ReportError, RunReport,
};
pub use resolve::{resolve, ResolveOptions};
pub use restore::restore;
pub(crate) use run::{fail_early, Run};
use runner::Step;

use crate::core::config::{Environment, Project, Tier};
use crate::core::connect::Target;
use crate::core::error::{Error, Result};
use crate::core::ledger::{Direction, Entry, HistoryRow, Ledger, RunRow};
use crate::core::plan::{State, Status};
use crate::core::source::{self, checked_statements, SqlFile, Version};

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
    /// A change ticket reference, recorded (required where approvals.ticket = "required").
    pub ticket: Option<String>,
    /// A second approver's name and the code `sluice approve` printed for them (needed where
    /// approvals.required = 2).
    pub approval: Option<(String, String)>,
}

/// How an operator signs a rollback or restore: the typed name, and where the policy asks
/// for them, a ticket and a second approver's name and code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sign {
    pub confirm: Option<String>,
    pub ticket: Option<String>,
    pub approval: Option<(String, String)>,
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
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::MarkApplied => "mark-applied",
            Resolution::MarkRolledBack => "mark-rolled-back",
            Resolution::Retry => "retry",
        }
    }
}

/// Reads files and ledger (no lock, no writes) and sets them side by side.
pub async fn status(project: &Project, env: &Environment) -> Result<Status> {
    let (status, unreadable) = status_tolerant(project, env).await?;
    match unreadable.into_iter().next() {
        Some(u) => Err(Error::input(u.message)),
        None => Ok(status),
    }
}

/// `status`, with the migrations whose files cannot be read set aside (the console flags
/// them and shows the rest; nothing may run until they are fixed).
pub async fn status_tolerant(
    project: &Project,
    env: &Environment,
) -> Result<(Status, Vec<source::Unreadable>)> {
    let target = Target::resolve(env)?;
    // Files are read on a blocking thread while the connection is made and the ledger read.
    let (dir, layout) = (project.migrations_dir.clone(), project.layout);
    let files = tokio::task::spawn_blocking(move || source::load_tolerant(&dir, layout));
    let latest = async {
        let client = target.connect("sluice/status").await?;
        Ledger::new(&project.ledger_schema).latest(&client).await
    }
    .await;
    let (migrations, unreadable) = files.await.map_err(|e| {
        Error::input(format!("reading {}: {e}", project.migrations_dir.display()))
    })??;
    Ok((Status::build(migrations, latest?)?, unreadable))
}

/// Issues a second approver's code (see `core::approval`). The ledger must exist for a run
/// id; for the next run it is created (or upgraded) under the ledger lock.
pub async fn approve(project: &Project, env: &Environment, run_id: Option<&str>) -> Result<String> {
    let account = crate::core::identity::account().map_err(|u| {
        Error::guard(format!(
            "sluice approve vouches for an OS account, and {}: run it from your own login",
            u.reason
        ))
    })?;
    let target = Target::resolve(env)?;
    let client = target.connect("sluice/approve").await?;
    let ledger = Ledger::new(&project.ledger_schema);
    let present: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&ledger.table("approvals")])
        .await?
        .get(0);
    if !present {
        if let Some(id) = run_id {
            return Err(Error::input(format!(
                "no run {id} in the ledger of {}: check the run id the console shows",
                env.name
            )));
        }
        ledger.try_lock(&client).await?;
        let made = ledger.ensure(&client).await;
        ledger.unlock(&client).await?;
        made?;
    }
    let who = crate::core::identity::os_user();
    let host = crate::core::identity::host_name();
    let code =
        crate::core::approval::issue(&client, &ledger, &env.name, run_id, &who, &account, &host)
            .await?;
    tracing::info!(env = env.name, run_id, who, account, "approval code issued");
    Ok(code)
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

pub(super) fn parse_version(v: &str, flag: &str) -> Result<Version> {
    Version::parse(v)
        .ok_or_else(|| Error::input(format!("{flag} {v:?}: a version is digits, e.g. {flag} 0007")))
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

/// Applies pending migrations (up to `--to`), or rehearses them with `dry_run`: the guarded
/// pipeline run through in one go.
pub async fn apply(
    project: &Project,
    env: &Environment,
    opts: &ApplyOptions,
    ctl: Control,
) -> Result<RunReport> {
    if !opts.dry_run {
        check_confirmation(env, opts.confirm.as_deref(), "apply")?;
    }
    Ok(match GuardedRun::open(project, env, opts, false, ctl).await? {
        Opened::Ready(run) => run.complete().await,
        Opened::Finished(report) => *report,
    })
}

/// Rolls back the newest migrations, by count or down to a version.
pub async fn rollback(
    project: &Project,
    env: &Environment,
    target: &RollbackTarget,
    sign: &Sign,
    ctl: Control,
) -> Result<RunReport> {
    check_confirmation(env, sign.confirm.as_deref(), "roll back")?;
    let to = match target {
        RollbackTarget::To(v) => Some(parse_version(v, "--to")?),
        RollbackTarget::Steps(0) => {
            return Err(Error::input("--steps 0 rolls nothing back; use 1 or more"))
        }
        RollbackTarget::Steps(_) => None,
    };
    let migrations = source::load(&project.migrations_dir, project.layout)?;
    let details = match target {
        RollbackTarget::Steps(n) => json!({ "steps": n }),
        RollbackTarget::To(v) => json!({ "to": v }),
    };
    let mut run = Run::begin(project, env, "rollback", details, ctl).await?;
    let plan = async {
        let latest = run.session.ledger.latest(&run.session.client).await?;
        let status = Status::build(migrations, latest)?;
        check_guards(&status, &ApplyOptions { allow_drift: true, ..Default::default() })?;
        // Repeatables have no undo: they stay, and run again at the next apply (below).
        let mut applied: Vec<_> = status
            .items
            .iter()
            .filter(|i| i.state.is_in_database() && !i.version.is_repeatable())
            .collect();
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
                // --to 0 is everything, a migration numbered 0 too (diesel's, drizzle's first).
                applied.into_iter().filter(|i| &i.version > v || v.key() == "0").collect()
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
        let repeatables: Vec<Entry> = if steps.is_empty() {
            Vec::new()
        } else {
            let applied = status.items.iter().filter(|i| {
                i.version.is_repeatable() && i.state.is_in_database() && i.state != State::Failed
            });
            applied.filter_map(|i| i.entry.clone()).collect()
        };
        Ok((steps, repeatables))
    }
    .await;
    let plan = match plan {
        Ok(plan) => {
            run.check_approvals(sign.ticket.as_deref(), sign.approval.as_ref()).await.map(|_| plan)
        }
        Err(e) => Err(e),
    };
    match plan {
        Ok((steps, repeatables)) => {
            // An emergency rollback still goes through the environment's pre hooks and
            // backup policy: undoing a change can lose data too.
            let versions: Vec<String> = steps.iter().map(|s| s.version.clone()).collect();
            if let Some(first) = steps.first() {
                if let Err(e) = run.hooks(hooks::Stage::PreCheck, &versions, None).await {
                    return Ok(fail_early(run, e).await);
                }
                let label = format!("pre-rollback-{}", first.version);
                if let Err(e) = backup_before(&mut run, env, None, &label).await {
                    return Ok(fail_early(run, e).await);
                }
                if let Err(e) = run.hooks(hooks::Stage::PreApply, &versions, None).await {
                    return Ok(fail_early(run, e).await);
                }
            }
            if let Err(e) = mark_for_rerun(&run, &repeatables).await {
                return Ok(fail_early(run, e).await);
            }
            Ok(run.run_steps(steps).await)
        }
        Err(e) => Ok(fail_early(run, e).await),
    }
}

/// Flyway repeatables build on what versioned migrations made, and have no undo: when those
/// are rolled back, each applied repeatable gets a down row with no SQL run, so the next
/// apply runs it again (repeatables are written to be re-run).
async fn mark_for_rerun(run: &Run, entries: &[Entry]) -> Result<()> {
    let s = &run.session;
    let stmt = s.ledger.prepare_insert(&s.client).await?;
    for e in entries {
        let (up_sql, down_sql) = s.ledger.stored_sql(&s.client, e.id).await?;
        let row = crate::core::ledger::NewRow {
            version: &e.version,
            name: &e.name,
            checksum: &e.checksum,
            up_sql: &up_sql,
            down_sql: down_sql.as_deref(),
            direction: Direction::Down,
            os_user: &s.operator,
            client_host: &s.host,
            duration_ms: Some(0),
            run_id: &s.run_id,
            success: true,
            failed_at_statement: None,
            error: None,
        };
        s.ledger.insert(&s.client, &stmt, &row).await?;
    }
    Ok(())
}
