//! The plan of a code tool's run: its pending migrations, read from its folder against its
//! own history table, each a step the tool runs (`session::migration::code`).

use std::sync::Arc;

use crate::core::data::code::{self, command, CodeFolder, CodeProject};
use crate::core::data::plan::{Direction, Item, Status};
use crate::core::error::{Error, Result};
use crate::core::exec::session::migration::{Change, CodeCall};
use crate::core::exec::session::run::Run;

/// The tool's folder, and `to` checked against its ids.
pub(super) fn read(p: &CodeProject, to: Option<&str>) -> Result<CodeFolder> {
    let folder = code::read(p)?;
    if let Some(to) = to {
        if !folder.migrations.iter().any(|m| m.id == to) {
            return Err(Error::input(format!(
                "target version {to}: {} has no migration with that id in {}",
                p.tool,
                folder.dir.display()
            )));
        }
    }
    Ok(folder)
}

/// Pending migrations up to `to`, in the tool's order, as steps for the tool.
pub(super) async fn plan(
    run: &Run,
    p: &CodeProject,
    folder: CodeFolder,
    to: Option<&str>,
    allow_out_of_order: bool,
) -> Result<(Status, Vec<Item>, Vec<Change>)> {
    let applied = crate::core::db::code_history::applied(
        &run.session.client,
        &run.session.target,
        p.tool,
        &folder,
    )
    .await?;
    knex_lock_free(run, p, &folder).await?;
    tool_reaches_this_database(run, p).await?;
    let status = folder.status(&applied);
    let limit = to.and_then(|t| folder.migrations.iter().position(|m| m.id == t));
    let pending: Vec<Item> = status
        .items
        .iter()
        .enumerate()
        .filter(|(i, item)| {
            item.state == crate::core::data::plan::MigrationState::Pending
                && limit.is_none_or(|l| *i <= l)
        })
        .map(|(_, item)| item.clone())
        .collect();
    if !allow_out_of_order {
        super::pipeline::refuse_out_of_order(&pending)?;
    }
    let folder = Arc::new(folder);
    let mut steps = Vec::new();
    for item in &pending {
        let id = item.version.to_string();
        let Some(m) = folder.migrations.iter().find(|m| m.id == id) else { continue };
        let Some(cmd) = command::up(p, m) else {
            return Err(Error::input(format!(
                "tool = \"{}\": running it is not built yet",
                p.tool
            )));
        };
        steps.push(Change {
            version: m.id.clone(),
            name: m.name.clone(),
            direction: Direction::Up,
            statements: Vec::new(),
            // The tool decides its own transactions; sluice wraps nothing.
            transactional: false,
            origin: m.path.display().to_string(),
            // Where it runs from: the tool, not sluice's own SQL.
            source: p.tool.as_str(),
            checksum: m.checksum(),
            up_sql: m.text.clone(),
            down_sql: None,
            start_at: 0,
            resume: false,
            tool: None,
            code: Some(CodeCall {
                command: cmd,
                tool: p.tool,
                folder: folder.clone(),
                recorded_after: true,
            }),
        });
    }
    Ok((status, pending, steps))
}

/// Knex's own lock (`<tableName>_lock`, is_locked = 1) held: another knex run is on, or one
/// died holding it. sluice respects it rather than run beside it.
async fn knex_lock_free(run: &Run, p: &CodeProject, folder: &CodeFolder) -> Result<()> {
    if p.tool != crate::core::data::code::CodeTool::Knex {
        return Ok(());
    }
    let table = format!("{}_lock", folder.history_table);
    let c = &run.session.client;
    let exists: bool = c.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table]).await?.get(0);
    if !exists {
        return Ok(());
    }
    let sql = format!(
        "SELECT count(*) FROM {} WHERE is_locked = 1",
        crate::core::data::sql::quote_ident(&table)
    );
    let held: i64 = c.query_one(&sql, &[]).await?.get(0);
    if held > 0 {
        return Err(Error::guard(format!(
            "Knex's own lock is held ({table}.is_locked = 1): another knex run is going on, or one stopped holding it; when none runs, `knex migrate:unlock` frees it"
        )));
    }
    Ok(())
}

/// Before the tool changes anything: it must connect to this environment's database. A
/// knexfile or env.py that reads its own variables (POSTGRES_HOST, a per-NODE_ENV block)
/// would run the migrations somewhere else. The tool's probe runs under a name of its own;
/// sluice looks for that session on its own connection while it runs.
async fn tool_reaches_this_database(run: &Run, p: &CodeProject) -> Result<()> {
    let Some(probe) = command::probe(p) else { return Ok(()) };
    let s = &run.session;
    let app = format!("sluice/{}/probe", run.report.run_id);
    let mut cmd = crate::core::db::tools::code_tool_process(
        &s.target,
        &probe,
        &app,
        s.lock_timeout_ms,
        s.statement_timeout_ms,
    );
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| {
        Error::database(format!("cannot start {} in {}: {e}", probe.display(), probe.dir.display()))
    })?;
    let finished = child.wait_with_output();
    tokio::pin!(finished);
    let mut seen = false;
    let by_app: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&app];
    let out = loop {
        tokio::select! {
            out = &mut finished => break out,
            row = s.client.query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
                &by_app,
            ) => {
                if row.is_ok_and(|r| r.get::<_, i64>(0) > 0) {
                    seen = true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        }
    };
    let out = out.map_err(|e| Error::database(format!("{}: {e}", probe.display())))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("at "))
            .unwrap_or("");
        return Err(Error::database(format!(
            "{} cannot reach the database ({}): {last}",
            p.tool,
            probe.display()
        )));
    }
    if !seen {
        return Err(Error::guard(format!(
            "{} did not connect to {}'s database ({} ran, but no session of it showed up there): its config must take the connection from DATABASE_URL or libpq's PG* variables, which sluice sets for the environment",
            p.tool,
            run.env().name,
            probe.display()
        )));
    }
    Ok(())
}
