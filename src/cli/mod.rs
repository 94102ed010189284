//! Headless subcommands: text for people, `--format json` for CI, exit codes per DESIGN.md.
//! `run` dispatches one parsed command line to its handler and returns the exit code, or,
//! where a person at a terminal is better served by the console, asks `main` to open it.

mod adopt;
mod audit;
mod change;
mod demo;
mod events;
mod fleet;
mod init;
mod inspect;
mod lint;
mod new;
mod output;
mod refusal;
mod report;

use crate::args::{AuditVerb, Cli, FleetCmd, Format, Verb};
use crate::core::data::config::{Environment, Project};
use crate::core::db::cluster::Cluster;
use crate::core::error::{Error, Result};

/// What the command line asks for once its subcommand has run.
pub enum Outcome {
    /// Done: exit with this code (errors are already printed).
    Exit(i32),
    /// A person at a terminal asked for something the console does best.
    Console(Box<ConsoleRequest>),
}

/// The console to open, on what, and at which screen.
pub struct ConsoleRequest {
    pub project: Project,
    pub env: Option<String>,
    pub opening: Opening,
    /// The demo's throwaway cluster, stopped once the console closes.
    pub cluster: Option<Cluster>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    Migrations,
    /// The emergency rollback (`sluice rollback` without a target).
    Rollback,
    /// The recovery of a failed migration (`sluice resolve` without a choice).
    Recover,
}

/// Runs one command line. Errors are printed here, in the format asked for.
pub async fn run(cli: Cli) -> Outcome {
    let format = cli.format;
    match dispatch(cli).await {
        Ok(outcome) => outcome,
        Err(e) => {
            print_error(format, &e);
            Outcome::Exit(e.exit_code())
        }
    }
}

/// Prints an error the way every subcommand does: one line on stderr, and the JSON error
/// object on stdout for the machine formats.
pub fn print_error(format: Format, e: &Error) {
    output::print_error(format, e)
}

/// Stops the demo's cluster once the console it served has closed.
pub async fn console_closed(request: ConsoleRequest) {
    if let Some(cluster) = request.cluster {
        demo::stop(cluster).await;
    }
}

/// Standard input and output are a terminal: a person is there to answer.
fn interactive() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// A handler's view of the command line: the project and environment it names.
pub(crate) struct Ctx<'a> {
    pub format: Format,
    pub project: &'a Project,
    pub env: &'a Environment,
}

impl Ctx<'_> {
    /// Asks for the console on this environment, at `opening`.
    fn console(&self, opening: Opening) -> Outcome {
        Outcome::Console(Box::new(ConsoleRequest {
            project: self.project.clone(),
            env: Some(self.env.name.clone()),
            opening,
            cluster: None,
        }))
    }
}

fn exit(code: i32) -> Result<Outcome> {
    Ok(Outcome::Exit(code))
}

async fn dispatch(cli: Cli) -> Result<Outcome> {
    let format = cli.format;
    let Some(verb) = cli.command else {
        let project = Project::load(cli.project.as_deref())?;
        let opening = Opening::Migrations;
        return Ok(Outcome::Console(Box::new(ConsoleRequest {
            project,
            env: cli.env,
            opening,
            cluster: None,
        })));
    };
    if matches!(format, Format::Github | Format::Sarif) && !matches!(verb, Verb::Lint { .. }) {
        return Err(Error::input(
            "--format github and sarif are for `sluice lint`; use text or json",
        ));
    }
    // The subcommands that need no environment (some not even a project).
    let verb = match verb {
        Verb::Demo { no_wait } => return demo::run(no_wait, interactive()).await,
        Verb::Audit { command: AuditVerb::Verify { file } } => {
            return audit::verify(format, file).map(Outcome::Exit)
        }
        Verb::Lint { paths, explain: Some(id) } => {
            let _ = paths;
            return lint::explain(&id).map(Outcome::Exit);
        }
        Verb::Lint { paths, explain: None } => {
            let (dir, env) = (cli.project.as_deref(), cli.env.as_deref());
            return lint::run(format, dir, env, &paths).await.map(Outcome::Exit);
        }
        Verb::Init { dir } => {
            let root = dir.or(cli.project.clone());
            return init::run(format, root.as_deref()).await.map(Outcome::Exit);
        }
        Verb::Info => {
            let project = Project::load(cli.project.as_deref()).ok();
            output::print_info(format, project.as_ref());
            return exit(0);
        }
        Verb::New { name, timestamp, no_transaction } => {
            let project = Project::load(cli.project.as_deref())?;
            let paths = new::new_migration(&project, &name, timestamp, no_transaction)?;
            output::print_new(format, &paths);
            return exit(0);
        }
        other => other,
    };
    let project = Project::load(cli.project.as_deref())?;
    let env = project.environment(cli.env.as_deref())?;
    let ctx = Ctx { format, project: &project, env };
    on_environment(&ctx, verb).await
}

/// The subcommands that act on one environment.
async fn on_environment(ctx: &Ctx<'_>, verb: Verb) -> Result<Outcome> {
    match verb {
        Verb::Status => inspect::status(ctx).await,
        Verb::Diff { version } => inspect::diff(ctx, version).await,
        Verb::Check => inspect::check(ctx).await,
        Verb::Verify { level } => inspect::verify(ctx, &level).await,
        Verb::History => inspect::history(ctx).await,
        Verb::Runs { show } => inspect::runs(ctx, show).await,
        Verb::Backups => inspect::backups(ctx),
        Verb::Approve { run_id, shard } => inspect::approve(ctx, run_id, shard).await,
        Verb::Backup => change::backup(ctx).await,
        Verb::Apply { .. } => change::apply(ctx, verb).await,
        Verb::Rollback { steps, to, shard, sign } => {
            change::rollback(ctx, steps, to, shard, sign).await
        }
        Verb::Fleet { command: FleetCmd::Status { shard } } => fleet::status(ctx, shard).await,
        Verb::Restore { file, sign } => change::restore(ctx, file, sign).await,
        Verb::Resolve { .. } => change::resolve(ctx, verb).await,
        Verb::Adopt { from, table, execute, failed, reason, sign } => {
            let opts = adopt::options(from, table, execute, failed, reason, sign.sign())?;
            adopt::run(ctx.project, ctx.env, &opts, ctx.format).await.map(Outcome::Exit)
        }
        Verb::New { .. }
        | Verb::Init { .. }
        | Verb::Info
        | Verb::Demo { .. }
        | Verb::Lint { .. }
        | Verb::Audit { .. } => exit(0),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn stamp_shape() {
        let s = crate::core::host::identity::utc_timestamp();
        assert_eq!(s.len(), 14);
        assert!(s.starts_with("20"), "{s}");
    }
}
