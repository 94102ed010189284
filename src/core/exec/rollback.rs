//! Rolling back the newest migrations, by count or down to a version, with the down SQL of
//! their files or, when a file is gone, the copy the ledger keeps.

use super::session::control::Control;
use super::session::guards::{backup_before, check_guards};
use super::session::migration::Change;
use super::session::run::{fail_early, Run};
use super::{parse_version, RollbackTarget};
use crate::core::data::config::{Environment, Project};
use crate::core::data::plan::{Direction, LatestRow};
use crate::core::data::plan::{Item, MigrationState, Status};
use crate::core::data::source::{self, checked_statements, SqlFile, Version};
use crate::core::data::sql::is_blank;
use crate::core::db::tool_table::ToolRow;
use crate::core::error::{Error, Result};
use crate::core::exec::ApplyOptions;
use crate::core::guard::hooks;
use crate::core::guard::policy::check_confirmation;
use crate::core::guard::policy::Sign;
use crate::core::record::details::Request;
use crate::core::record::report::RunReport;

/// Rolls back the newest migrations, by count or down to a version.
pub async fn rollback(
    project: &Project,
    env: &Environment,
    target: &RollbackTarget,
    sign: &Sign,
    ctl: Control,
) -> Result<RunReport> {
    check_confirmation(env, sign.confirm.as_deref(), "roll back")?;
    if let Some(code) = &project.code {
        return rollback_through_tool(project, env, code, target, sign, ctl).await;
    }
    let to = match target {
        RollbackTarget::To(v) => Some(parse_version(v, "target version")?),
        RollbackTarget::Steps(0) => {
            return Err(Error::input("0 steps roll nothing back; roll back 1 or more"))
        }
        RollbackTarget::Steps(_) => None,
    };
    let migrations = source::load(&project.migrations_dir, project.layout)?;
    let request = match target {
        RollbackTarget::Steps(n) => Request { steps: Some(*n), ..Request::default() },
        RollbackTarget::To(v) => Request { to: Some(v.clone()), ..Request::default() },
    };
    let mut run = Run::begin(project, env, "rollback", request, ctl).await?;
    let planned = plan(&run, migrations, target, to.as_ref(), project.tool_history).await;
    let planned = match planned {
        Ok(p) => {
            run.check_approvals(sign.ticket.as_deref(), sign.approval.as_ref()).await.map(|_| p)
        }
        Err(e) => Err(e),
    };
    let (steps, repeatables) = match planned {
        Ok(p) => p,
        Err(e) => return Ok(fail_early(run, e).await),
    };
    if let Err(e) = before_changes(&mut run, env, &steps).await {
        return Ok(fail_early(run, e).await);
    }
    if let Err(e) = mark_for_rerun(&run, &repeatables).await {
        return Ok(fail_early(run, e).await);
    }
    Ok(run.run_changes(steps).await)
}

/// A code tool's rollback: the newest migrations its history lists, each undone by the tool
/// itself (knex migrate:down <file>, alembic downgrade <parent>), under the same guards.
async fn rollback_through_tool(
    project: &Project,
    env: &Environment,
    code: &crate::core::data::code::CodeProject,
    target: &RollbackTarget,
    sign: &Sign,
    ctl: Control,
) -> Result<RunReport> {
    if matches!(target, RollbackTarget::Steps(0)) {
        return Err(Error::input("0 steps roll nothing back; roll back 1 or more"));
    }
    let folder = crate::core::data::code::read(code)?;
    let request = match target {
        RollbackTarget::Steps(n) => Request { steps: Some(*n), ..Request::default() },
        RollbackTarget::To(v) => Request { to: Some(v.clone()), ..Request::default() },
    };
    let mut run = Run::begin(project, env, "rollback", request, ctl).await?;
    let planned = match tool_steps(&run, code, folder, target).await {
        Ok(p) => {
            run.check_approvals(sign.ticket.as_deref(), sign.approval.as_ref()).await.map(|_| p)
        }
        Err(e) => Err(e),
    };
    let steps = match planned {
        Ok(p) => p,
        Err(e) => return Ok(fail_early(run, e).await),
    };
    if let Err(e) = before_changes(&mut run, env, &steps).await {
        return Ok(fail_early(run, e).await);
    }
    Ok(run.run_changes(steps).await)
}

/// The applied migrations the target names, newest first, as downs the tool runs.
async fn tool_steps(
    run: &Run,
    code: &crate::core::data::code::CodeProject,
    folder: crate::core::data::code::CodeFolder,
    target: &RollbackTarget,
) -> Result<Vec<Change>> {
    use crate::core::data::code::command;
    let applied = crate::core::db::code_history::applied(
        &run.session.client,
        &run.session.target,
        code.tool,
        &folder,
    )
    .await?;
    let ran: Vec<&str> = applied.iter().filter(|a| !a.missing).map(|a| a.id.as_str()).collect();
    let mut newest: Vec<&crate::core::data::code::CodeMigration> =
        folder.migrations.iter().filter(|m| ran.contains(&m.id.as_str())).collect();
    newest.reverse();
    let chosen: Vec<_> = match target {
        RollbackTarget::Steps(n) if *n > newest.len() => {
            return Err(Error::input(format!(
                "{n} steps: only {} migration(s) are applied",
                newest.len()
            )))
        }
        RollbackTarget::Steps(n) => newest.into_iter().take(*n).collect(),
        RollbackTarget::To(v) if v == "0" => newest,
        RollbackTarget::To(v) => {
            let Some(at) = newest.iter().position(|m| &m.id == v) else {
                return Err(Error::input(format!(
                    "target version {v}: {} does not list it as applied; use an applied id, or 0 to roll back everything",
                    code.tool
                )));
            };
            newest.into_iter().take(at).collect()
        }
    };
    let folder = std::sync::Arc::new(folder.clone());
    let mut steps = Vec::new();
    for m in chosen {
        let at = folder.migrations.iter().position(|x| x.id == m.id).unwrap_or(0);
        let previous = at.checked_sub(1).and_then(|i| folder.migrations.get(i));
        let Some(cmd) = command::down_after(code, m, previous) else {
            return Err(Error::input(format!(
                "tool = \"{}\": running it is not built yet",
                code.tool
            )));
        };
        steps.push(Change {
            version: m.id.clone(),
            name: m.name.clone(),
            direction: Direction::Down,
            statements: Vec::new(),
            transactional: false,
            origin: m.path.display().to_string(),
            source: code.tool.as_str(),
            checksum: m.checksum(),
            up_sql: m.text.clone(),
            down_sql: Some(m.text.clone()),
            start_at: 0,
            resume: false,
            tool: None,
            code: Some(super::session::migration::CodeCall {
                command: cmd,
                tool: code.tool,
                folder: folder.clone(),
                recorded_after: false,
            }),
        });
    }
    Ok(steps)
}

/// The row change a down of `item` makes in the layout's own history table: golang-migrate
/// then records the applied version below it.
fn tool_row_down(status: &Status, item: &Item, layout: source::Layout) -> Option<ToolRow> {
    let below = status
        .items
        .iter()
        .filter(|i| {
            i.state.is_in_database() && !i.version.is_repeatable() && i.version < item.version
        })
        .max_by(|a, b| a.version.cmp(&b.version));
    let file = item.migration.as_ref().map(|m| m.up.path.as_path());
    ToolRow::down(
        layout,
        (item.version.as_str(), item.version.key()),
        below.map(|b| (b.version.as_str(), b.version.key())),
    )
    .map(|row| row.of_file(file, &item.name))
}

/// What to undo, newest first, and the applied repeatables to mark for a re-run.
async fn plan(
    run: &Run,
    migrations: Vec<source::Migration>,
    target: &RollbackTarget,
    to: Option<&Version>,
    tool_history: bool,
) -> Result<(Vec<Change>, Vec<LatestRow>)> {
    let latest = run.session.ledger.latest(&run.session.client).await?;
    let status = Status::build(migrations, latest)?;
    check_guards(&status, &ApplyOptions { allow_drift: true, ..Default::default() })?;
    let layout = status.items.iter().find_map(|i| i.migration.as_ref().map(|m| m.up.layout));
    let mut steps = Vec::new();
    let mut no_down = Vec::new();
    for item in chosen(&status, target, to)? {
        match down_change(run, item).await? {
            Ok(mut c) => {
                if let Some(layout) = layout.filter(|_| tool_history) {
                    c.tool = tool_row_down(&status, item, layout);
                }
                steps.push(c)
            }
            Err(why) => no_down.push(why),
        }
    }
    if !no_down.is_empty() {
        return Err(Error::guard(format!(
            "cannot roll back: {}; write a down file, or restore a backup",
            no_down.join("; ")
        )));
    }
    let repeatables: Vec<LatestRow> = if steps.is_empty() {
        Vec::new()
    } else {
        let applied = status.items.iter().filter(|i| {
            i.version.is_repeatable()
                && i.state.is_in_database()
                && i.state != MigrationState::Failed
        });
        applied.filter_map(|i| i.entry.clone()).collect()
    };
    Ok((steps, repeatables))
}

/// The applied migrations a target names, newest first. Repeatables have no undo: they
/// stay, and run again at the next apply (see `mark_for_rerun`).
fn chosen<'a>(
    status: &'a Status,
    target: &RollbackTarget,
    to: Option<&Version>,
) -> Result<Vec<&'a Item>> {
    let mut applied: Vec<&Item> = status
        .items
        .iter()
        .filter(|i| i.state.is_in_database() && !i.version.is_repeatable())
        .collect();
    applied.reverse();
    Ok(match (target, to) {
        (RollbackTarget::Steps(n), _) => {
            if *n > applied.len() {
                return Err(Error::input(format!(
                    "{n} steps: only {} migration(s) are applied",
                    applied.len()
                )));
            }
            applied.into_iter().take(*n).collect()
        }
        (RollbackTarget::To(_), Some(v)) => {
            let is_applied = |i: &Item| &i.version == v && i.state.is_in_database();
            if v.key() != "0" && !status.items.iter().any(is_applied) {
                return Err(Error::input(format!(
                    "target version {v}: that version is not applied; use an applied version, or 0 to roll back everything"
                )));
            }
            // 0 is everything, a migration numbered 0 too (diesel's, drizzle's first).
            applied.into_iter().filter(|i| &i.version > v || v.key() == "0").collect()
        }
        _ => Vec::new(),
    })
}

/// The down side of an applied migration: its down file, else the down SQL the ledger
/// kept; why not, when neither can run. A down of comments (or an empty dbmate section)
/// undoes nothing and passes, where the layout's tool passes it.
async fn down_change(run: &Run, item: &Item) -> Result<std::result::Result<Change, String>> {
    let Some(entry) = item.entry.as_ref() else {
        return Ok(Err(format!("{}: not in the ledger", item.label())));
    };
    let (stored_up, stored_down) =
        run.session.ledger.stored_sql(&run.session.client, entry.id).await?;
    let file_down = item.migration.as_ref().and_then(|m| m.down.clone());
    let refused = file_down.as_ref().and_then(|f| f.blank_refusal());
    let (down, source) = match (file_down, stored_down) {
        (Some(f), _) if refused.is_none() => (f, "file"),
        (_, Some(text)) if !is_blank(&text) => {
            let path = format!("ledger:{}_{}.down.sql", item.version, item.name);
            let no_transaction =
                source::header_directives(&text).map(|d| d.no_transaction).unwrap_or(false);
            let layout = source::Layout::Native;
            (
                SqlFile {
                    path: path.into(),
                    text,
                    no_transaction,
                    layout,
                    sum: Default::default(),
                },
                "ledger",
            )
        }
        _ => {
            return Ok(Err(match refused {
                Some(e) => e.message,
                None => format!("{}: no down file and no down SQL in the ledger", item.label()),
            }))
        }
    };
    let statements = checked_statements(&down)?;
    Ok(Ok(Change {
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
        resume: false,
        tool: None,
        code: None,
    }))
}

/// An emergency rollback still goes through the environment's pre hooks and backup
/// policy: undoing a change can lose data too.
async fn before_changes(run: &mut Run, env: &Environment, steps: &[Change]) -> Result<()> {
    let Some(first) = steps.first() else { return Ok(()) };
    let versions: Vec<String> = steps.iter().map(|s| s.version.clone()).collect();
    run.hooks(hooks::HookPoint::PreCheck, &versions, None).await?;
    let label = format!("pre-rollback-{}", first.version);
    backup_before(run, env, None, &label, &versions).await?;
    run.hooks(hooks::HookPoint::PreApply, &versions, None).await
}

/// Flyway repeatables build on what versioned migrations made, and have no undo: when those
/// are rolled back, each applied repeatable gets a down row with no SQL run, so the next
/// apply runs it again (repeatables are written to be re-run).
async fn mark_for_rerun(run: &Run, entries: &[LatestRow]) -> Result<()> {
    let s = &run.session;
    let stmt = s.ledger.prepare_insert(&s.client).await?;
    for e in entries {
        s.mark(&stmt, e, Direction::Down).await?;
    }
    Ok(())
}
