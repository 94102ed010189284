//! Status: the migration files set against the ledger, read without a lock.

use crate::core::data::code::CodeProject;
use crate::core::data::config::{Environment, Project};
use crate::core::data::plan::Status;
use crate::core::data::source;
use crate::core::db::connect::Target;
use crate::core::db::ledger::Ledger;
use crate::core::error::{Error, Result};

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
    if let Some(code) = &project.code {
        return Ok((code_status(&target, code).await?, Vec::new()));
    }
    // Files are read on a blocking thread while the connection is made and the ledger read.
    let (dir, layout) = (project.migrations_dir.clone(), project.layout);
    let files = tokio::task::spawn_blocking(move || source::load_tolerant(&dir, layout));
    let latest = async {
        let client = target.connect("sluice/status").await?;
        Ledger::new(&project.ledger_schema).latest(&client).await
    }
    .await;
    let folder = files.await.map_err(|e| {
        Error::input(format!("reading {}: {e}", project.migrations_dir.display()))
    })??;
    let mut status = Status::build(folder.migrations, latest?)?;
    status.ignored = folder.ignored;
    Ok((status, folder.unreadable))
}

/// A code-migration project: the tool's folder against the tool's own history table.
async fn code_status(target: &Target, code: &CodeProject) -> Result<Status> {
    let c = code.clone();
    let folder = tokio::task::spawn_blocking(move || crate::core::data::code::read(&c));
    let client = target.connect("sluice/status").await?;
    let folder = folder
        .await
        .map_err(|e| Error::input(format!("reading {}: {e}", code.dir.display())))??;
    let applied =
        crate::core::db::code_history::applied(&client, target, code.tool, &folder).await?;
    Ok(folder.status(&applied))
}
