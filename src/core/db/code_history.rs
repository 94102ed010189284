//! What a code-migration tool's own history table says has run: Knex's `knex_migrations`
//! (one row per migration file, with the time it ran), Alembic's `alembic_version` (the
//! current head revisions: everything they descend from has run).

use std::collections::{HashMap, HashSet};

use tokio_postgres::Client;

use crate::core::data::code::command::ToolCommand;
use crate::core::data::code::{CodeFolder, CodeTool, ToolApplied};
use crate::core::db::connect::Target;
use crate::core::error::{Error, Result};

/// A command tool's `applied`: the ids it prints, one per line.
async fn command(
    target: &Target,
    folder: &CodeFolder,
    cmd: &ToolCommand,
) -> Result<Vec<ToolApplied>> {
    let mut process = crate::core::db::tools::code_tool_process(target, cmd, "sluice/status", 0, 0);
    let out = process
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| Error::database(format!("tool_commands.applied: {e}")))?;
    if !out.status.success() {
        return Err(Error::database(format!(
            "tool_commands.applied ({}) failed: {}",
            cmd.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let known: HashSet<&str> = folder.migrations.iter().map(|m| m.id.as_str()).collect();
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|id| ToolApplied {
            id: id.to_string(),
            applied_at: None,
            missing: !known.contains(id),
        })
        .collect())
}

/// The tool's history, or nothing when its table does not exist yet (nothing has run). A
/// command tool's comes from its `applied` command, run with the connection of `target`.
pub async fn applied(
    client: &Client,
    target: &Target,
    tool: CodeTool,
    folder: &CodeFolder,
) -> Result<Vec<ToolApplied>> {
    if let Some(cmd) = &folder.applied_command {
        return command(target, folder, cmd).await;
    }
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&folder.history_table])
        .await?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    match tool {
        CodeTool::Knex => knex(client, folder).await,
        _ => alembic(client, folder).await,
    }
}

async fn knex(client: &Client, folder: &CodeFolder) -> Result<Vec<ToolApplied>> {
    let sql = format!(
        "SELECT name, to_char(migration_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM {} ORDER BY id",
        crate::core::data::sql::quote_ident(&folder.history_table)
    );
    let by_file: HashMap<&str, &str> =
        folder.migrations.iter().map(|m| (m.recorded_as.as_str(), m.id.as_str())).collect();
    Ok(client
        .query(&sql, &[])
        .await?
        .iter()
        .map(|r| {
            let name: String = r.get(0);
            let id = by_file.get(name.as_str()).map(|s| s.to_string());
            ToolApplied {
                missing: id.is_none(),
                id: id.unwrap_or_else(|| {
                    name.rsplit_once('.').map_or(name.clone(), |(s, _)| s.to_string())
                }),
                applied_at: r.get(1),
            }
        })
        .collect())
}

/// Every revision the heads in alembic_version descend from, the heads included.
async fn alembic(client: &Client, folder: &CodeFolder) -> Result<Vec<ToolApplied>> {
    let heads: Vec<String> = client
        .query("SELECT version_num FROM alembic_version", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let parents: HashMap<&str, &[String]> =
        folder.migrations.iter().map(|m| (m.id.as_str(), m.parents.as_slice())).collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    let mut stack: Vec<String> = heads.clone();
    while let Some(id) = stack.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let known = parents.get(id.as_str());
        if let Some(ps) = known {
            stack.extend(ps.iter().cloned());
        }
        out.push(ToolApplied { missing: known.is_none(), id, applied_at: None });
    }
    Ok(out)
}
