//! The lint of a code tool's migrations: where the tool prints the SQL a migration would
//! run without a database (Alembic's offline mode), that SQL is linted as written, with the
//! server's context; where it cannot (Knex), the caller is told why, and the rehearsal on a
//! copy is the check.

use tokio_postgres::Client;

use crate::core::data::code::{command, CodeMigration};
use crate::core::data::config::{Environment, Project};
use crate::core::data::lint::{self, Down, Finding, Input};
use crate::core::db::connect::Target;
use crate::core::error::{Error, Result};
use crate::core::guard::gate;

pub enum CodeLint {
    Linted(Vec<Finding>),
    /// Why nothing could be linted.
    Cannot(String),
}

/// Each migration's offline SQL, linted as written (its own BEGIN/COMMIT kept).
pub async fn findings(
    project: &Project,
    env: &Environment,
    client: &Client,
    target: &Target,
    migrations: &[&CodeMigration],
) -> Result<CodeLint> {
    let Some(code) = &project.code else { return Ok(CodeLint::Linted(Vec::new())) };
    let mut inputs = Vec::new();
    for m in migrations {
        // Alembic cannot print a merge alone; Knex prints nothing at all.
        let Some(cmd) = command::offline_sql(code, m) else { continue };
        let lock_ms = env.lock_timeout.as_millis() as u64;
        let stmt_ms = env.statement_timeout.as_millis() as u64;
        let mut process = crate::core::db::tools::code_tool_process(
            target,
            &cmd,
            "sluice/lint",
            lock_ms,
            stmt_ms,
        );
        let out = process.stdin(std::process::Stdio::null()).output().await;
        let out = out.map_err(|e| Error::database(format!("{}: {e}", cmd.display())))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
            return Ok(CodeLint::Cannot(format!(
                "{} could not print its SQL offline ({}: {last}); the rehearsal on a copy is the check",
                code.tool,
                cmd.display()
            )));
        }
        inputs.push(Input {
            path: format!("{} ({})", m.path.display(), cmd.display()).into(),
            text: String::from_utf8_lossy(&out.stdout).into_owned(),
            down: Down::NotJudged,
            no_transaction: true,
        });
    }
    if inputs.is_empty() {
        return Ok(CodeLint::Cannot(format!(
            "{} migrations are code and {} prints no SQL before they run: nothing to lint (the rehearsal on a copy is their dry run)",
            code.tool, code.tool
        )));
    }
    let opts = gate::connected_options(project, env, client).await?;
    Ok(CodeLint::Linted(lint::lint(&inputs, &opts).findings))
}
