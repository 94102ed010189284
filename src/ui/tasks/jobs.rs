//! The palette's one-off jobs (backup, verify) in the background; each outcome comes back
//! as one notice.

use tokio::sync::mpsc;

use crate::core::data::config::Project;
use crate::core::error::Result;
use crate::core::guard::precheck::{Outcome, Tally};
use crate::core::guard::verify::Level;
use crate::ui::model::{Job, Msg};

pub(crate) fn spawn_job(project: &Project, env: String, job: Job, tx: mpsc::UnboundedSender<Msg>) {
    let project = project.clone();
    tokio::spawn(async move {
        let line = run(&project, &env, job).await.unwrap_or_else(|e| {
            let what = if job == Job::Backup { "backup" } else { "verify" };
            format!("{what} of {env} failed: {}", e.message)
        });
        let _ = tx.send(Msg::Notice(line));
    });
}

async fn run(project: &Project, env: &str, job: Job) -> Result<String> {
    let e = project.environment(Some(env))?;
    Ok(match job {
        Job::Backup => {
            let b = crate::core::guard::backup::take(e, "manual", None).await?;
            format!("backup of {env}: {}", b.describe())
        }
        Job::Verify => {
            let checks = crate::core::query::checks::verify(project, e, Level::Standard).await?;
            let tally = Tally::of(&checks);
            let first = checks
                .iter()
                .find(|c| c.outcome != Outcome::Pass)
                .map(|c| format!("; {}: {}", c.name, c.figure))
                .unwrap_or_default();
            format!(
                "verify {env}: {} passed, {} warning(s), {} failed{first}",
                tally.passed, tally.warned, tally.failed
            )
        }
    })
}
