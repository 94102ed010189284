//! Headless subcommands: text for people, `--format json` for CI, exit codes per DESIGN.md.

mod adopt;
mod audit;
mod demo;
mod events;
mod lint;
mod new;
mod output;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::core::data::config::Project;
use crate::core::error::{Error, Result};
use crate::core::exec::{self, ApplyOptions, Resolution, RollbackTarget};

#[derive(Parser, Debug)]
#[command(name = "sluice", version, about = "Guarded PostgreSQL schema migrations")]
pub struct Cli {
    /// Folder holding sluice.toml (default: the current directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Environment from sluice.toml (default: the only one).
    #[arg(long, global = true, value_name = "NAME")]
    pub env: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Console theme: dark, light, high-contrast, colorblind, or a file
    /// <config dir>/themes/NAME.toml (NO_COLOR turns colour off).
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Console: refuse every action that writes (apply, rollback...); browse only.
    #[arg(long, global = true)]
    pub readonly: bool,
    /// Without a subcommand, the console opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The typed name, ticket and second approver of a rollback or restore.
#[derive(clap::Args, Debug)]
pub struct SignArgs {
    /// Repeat the environment's name (required on production tier).
    #[arg(long, value_name = "NAME")]
    confirm: Option<String>,
    /// Change ticket reference, recorded with the run.
    #[arg(long, value_name = "REF")]
    ticket: Option<String>,
    /// Second approver's name (environments with approvals.required = 2).
    #[arg(long, value_name = "NAME", requires = "approval_code")]
    approver: Option<String>,
    /// The code `sluice approve --env NAME` printed on the second approver's terminal.
    #[arg(long, value_name = "CODE", requires = "approver")]
    approval_code: Option<String>,
}

impl SignArgs {
    fn sign(self) -> exec::Sign {
        exec::Sign {
            confirm: self.confirm,
            ticket: self.ticket,
            approval: self.approver.zip(self.approval_code),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the hash chain: no line edited, removed or inserted (exit 1 when broken).
    Verify {
        /// A copy of the log to check instead of this machine's.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RunsCommand {
    /// One run: its record and its report.
    Show { id: String },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailedArg {
    Applied,
    Failed,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// GitHub workflow annotations (lint only).
    Github,
    /// SARIF 2.1.0 (lint only).
    Sarif,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Migrations and their state: applied, pending, drifted, missing, failed.
    Status,
    /// Apply pending migrations, each in its own transaction.
    Apply {
        /// Stop after this version.
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
        /// Run the pending migrations inside one transaction and roll it back.
        #[arg(long)]
        dry_run: bool,
        /// Apply although applied files changed since they ran.
        #[arg(long)]
        allow_drift: bool,
        /// Apply pending migrations older than the newest applied one.
        #[arg(long)]
        allow_out_of_order: bool,
        /// Apply despite lint findings at the environment's gate; the reason is recorded.
        #[arg(long, value_name = "REASON")]
        override_lint: Option<String>,
        /// Back up first even where the policy makes it optional.
        #[arg(long, conflicts_with = "no_backup")]
        backup: bool,
        /// Skip an optional backup (refused where the policy requires one).
        #[arg(long)]
        no_backup: bool,
        /// Run outside the maintenance window; the reason is recorded.
        #[arg(long, value_name = "REASON")]
        override_window: Option<String>,
        #[command(flatten)]
        sign: SignArgs,
    },
    /// Roll back the newest migrations with their down SQL (file, or the ledger's copy).
    /// Without --steps or --to, in a terminal, the console's emergency rollback opens.
    Rollback {
        /// How many migrations to roll back.
        #[arg(long, value_name = "N", conflicts_with = "to")]
        steps: Option<usize>,
        /// Roll back everything above this version (0: everything).
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
        #[command(flatten)]
        sign: SignArgs,
    },
    /// Every migration applied or rolled back, and every run.
    History,
    /// The runs recorded in the ledger; `runs show ID` prints one with its report.
    Runs {
        #[command(subcommand)]
        show: Option<RunsCommand>,
    },
    /// The pre-checks an apply would run, without applying (exit 1 on a failed check).
    Check,
    /// Check what migrations left behind: invalid indexes, NOT VALID constraints, ledger vs
    /// files; standard adds snapshot, verify files and sequences; comprehensive adds foreign
    /// key indexes and security (exit 1 on a failed check).
    Verify {
        #[arg(long, default_value = "standard", value_parser = ["basic", "standard", "comprehensive"])]
        level: String,
    },
    /// Back up the environment's database now (pg_dump, verified, retention applied).
    Backup,
    /// The environment's backups, newest first.
    Backups,
    /// Restore a backup into the environment (after a fresh safety backup).
    /// --confirm NAME is required on every tier: a restore replaces data.
    Restore {
        file: PathBuf,
        #[command(flatten)]
        sign: SignArgs,
    },
    /// The live schema against sluice's snapshot after its last run (exit 1 on drift), or
    /// with VERSION, that migration's file against the SQL the ledger says ran.
    Diff { version: Option<String> },
    /// The audit log every run appends to (`sluice info` says where).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Take over a database another tool has been migrating: read its history table and
    /// record what it ran in sluice's ledger, running nothing. A dry run unless --execute.
    Adopt {
        /// The tool (default: the migrations folder's layout).
        #[arg(long, value_name = "TOOL")]
        from: Option<String>,
        /// Its history table, when the tool was told to keep it elsewhere (SCHEMA.TABLE).
        #[arg(long, value_name = "TABLE")]
        table: Option<String>,
        /// Write the ledger rows (one run, one transaction).
        #[arg(long)]
        execute: bool,
        /// What a failed or dirty migration in the tool's history is: `applied` (finished by
        /// hand; needs --reason) or `failed` (for sluice resolve).
        #[arg(long, value_enum, value_name = "AS")]
        failed: Option<FailedArg>,
        /// Why, recorded with the run.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        #[command(flatten)]
        sign: SignArgs,
    },
    /// Settle a migration the ledger marks failed. Without --retry / --mark-*: show what ran,
    /// what failed and the compensating SQL (in a terminal, the console's recovery screen).
    Resolve {
        /// The failed migration (default: the one the ledger marks failed).
        version: Option<String>,
        /// It was completed by hand: record it as applied.
        #[arg(long, group = "how")]
        mark_applied: bool,
        /// It was undone: record it as not applied (with --compensate, undo it first).
        #[arg(long, group = "how")]
        mark_rolled_back: bool,
        /// Run it again from the statement that failed.
        #[arg(long, group = "how")]
        retry: bool,
        /// Run the compensating SQL `sluice resolve` shows before recording the rollback.
        #[arg(long, requires = "mark_rolled_back")]
        compensate: bool,
        /// Why, recorded with the run (needed when statements were undone by hand).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        #[command(flatten)]
        sign: SignArgs,
    },
    /// Create the files of a new migration.
    New {
        name: String,
        /// Version from the UTC clock (YYYYMMDDHHMMSS) instead of the next number.
        #[arg(long)]
        timestamp: bool,
        /// Mark it to run outside a transaction.
        #[arg(long)]
        no_transaction: bool,
    },
    /// Find what would hurt production: the project's migrations, or the files and folders given.
    Lint {
        /// Files (each one migration) or folders (of migrations).
        paths: Vec<PathBuf>,
        /// Explain a rule (or `all`) with bad and good SQL.
        #[arg(long, value_name = "RULE")]
        explain: Option<String>,
    },
    /// Second approver: prints a one-time code for RUN_ID (shown in the operator's console),
    /// or without RUN_ID for the next run on the environment. Valid 30 minutes, once, and
    /// only for someone other than the run's operator.
    Approve { run_id: Option<String> },
    /// Where config, logs and backups live, and the environments.
    Info,
    /// Start a throwaway PostgreSQL cluster with the example project.
    Demo {
        /// Set up, print, and exit at once (removing the cluster) instead of waiting.
        #[arg(long)]
        no_wait: bool,
    },
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let _log_guard = init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sluice: cannot start the async runtime: {e}");
            return 3;
        }
    };
    let format = cli.format;
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            output::print_error(format, &e);
            e.exit_code()
        }
    }
}

fn init_logging() -> Option<()> {
    let dir = log_dir()?;
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::daily(&dir, "sluice.log");
    let filter = tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(appender)
        .with_ansi(false)
        .try_init()
        .ok()
}

pub fn log_dir() -> Option<PathBuf> {
    let d = directories::ProjectDirs::from("", "", "sluice")?;
    Some(d.state_dir().unwrap_or_else(|| d.data_local_dir()).to_path_buf())
}

/// Standard input and output are a terminal: a person is there to answer.
fn interactive() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

fn ui_options(cli: &Cli) -> crate::ui::Options {
    crate::ui::Options {
        log_dir: log_dir().map(|d| d.display().to_string()).unwrap_or_default(),
        theme: cli.theme.clone(),
        readonly: cli.readonly,
        start: None,
    }
}

use events::with_events;

async fn run(cli: Cli) -> Result<i32> {
    let format = cli.format;
    let ui = ui_options(&cli);
    let Some(command) = cli.command else {
        let project = Project::load(cli.project.as_deref())?;
        return crate::ui::run(project, cli.env.as_deref(), &ui).await;
    };
    if matches!(format, Format::Github | Format::Sarif) && !matches!(command, Command::Lint { .. })
    {
        return Err(Error::input(
            "--format github and sarif are for `sluice lint`; use text or json",
        ));
    }
    let command = match command {
        Command::Demo { no_wait } => return demo::run(no_wait, &ui).await,
        Command::Audit { command: AuditCommand::Verify { file } } => {
            return audit::verify(format, file)
        }
        Command::Lint { paths, explain } => {
            if let Some(id) = explain {
                return lint::explain(&id);
            }
            return lint::run(format, cli.project.as_deref(), cli.env.as_deref(), &paths).await;
        }
        Command::Info => {
            let project = Project::load(cli.project.as_deref()).ok();
            output::print_info(format, project.as_ref());
            return Ok(0);
        }
        other => other,
    };
    let project = Project::load(cli.project.as_deref())?;
    if let Command::New { name, timestamp, no_transaction } = &command {
        let paths = new::new_migration(&project, name, *timestamp, *no_transaction)?;
        output::print_new(format, &paths);
        return Ok(0);
    }
    let env = project.environment(cli.env.as_deref())?;
    let project = &project;
    match command {
        Command::Status => {
            let status = crate::core::query::status(project, env).await?;
            output::print_status(format, project, env, &status);
            Ok(0)
        }
        Command::Diff { version: Some(v) } => {
            let diff = crate::core::query::diff::file_drift(project, env, &v).await?;
            output::print_diff(format, &diff, None);
            Ok(0)
        }
        Command::Diff { version: None } => {
            match crate::core::query::diff::schema_drift(project, env).await? {
                None => Err(Error::input(format!(
                    "no schema snapshot in {} yet: sluice takes one after each apply or rollback",
                    env.name
                ))),
                Some(d) => {
                    output::print_diff(format, &d.diff, Some(&d));
                    Ok(if d.diff.is_empty() { 0 } else { 1 })
                }
            }
        }
        Command::Check => {
            let checks = crate::core::query::checks::precheck(project, env).await?;
            output::print_check_result(format, &checks);
            Ok(if checks.iter().any(|c| c.outcome == crate::core::guard::precheck::Outcome::Fail) {
                1
            } else {
                0
            })
        }
        Command::Verify { level } => {
            let level = crate::core::guard::verify::Level::parse(&level)?;
            let checks = crate::core::query::checks::verify(project, env, level).await?;
            output::print_check_result(format, &checks);
            Ok(if checks.iter().any(|c| c.outcome == crate::core::guard::precheck::Outcome::Fail) {
                1
            } else {
                0
            })
        }
        Command::Backup => {
            let info = crate::core::guard::backup::take(env, "manual", None).await?;
            output::print_backup(format, &info);
            Ok(0)
        }
        Command::Backups => {
            let files = crate::core::guard::backup::list(env)?;
            output::print_backups(format, env, &files);
            Ok(0)
        }
        Command::Restore { file, sign } => {
            let sign = sign.sign();
            with_events(
                format,
                |tx| async move { exec::restore(project, env, &file, &sign, tx).await },
            )
            .await
        }
        Command::Runs { show } => {
            let (_, runs) = crate::core::query::history(project, env).await?;
            match show {
                None => output::print_runs(format, env, &runs),
                Some(RunsCommand::Show { id }) => {
                    let run = runs.iter().find(|r| r.run_id == id).ok_or_else(|| {
                        Error::input(format!(
                            "no run {id:?} in {}: `sluice runs` lists them",
                            env.name
                        ))
                    })?;
                    let md = crate::core::data::config::paths::report_dir(env)
                        .ok()
                        .and_then(|d| std::fs::read_to_string(d.join(format!("{id}.md"))).ok());
                    output::print_run(format, run, md.as_deref());
                }
            }
            Ok(0)
        }
        Command::Approve { run_id } => {
            let code = exec::approve(project, env, run_id.as_deref()).await?;
            let who = crate::core::host::identity::os_user();
            // exec::approve refused to issue a code without a known account.
            let account = crate::core::host::identity::account().unwrap_or_default();
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::json!({ "environment": env.name, "run_id": run_id, "approver": who, "account": account, "code": code, "valid_minutes": crate::core::guard::approval::VALID_MINUTES })
                ),
                _ => {
                    let what = match &run_id {
                        Some(id) => format!("run {id}"),
                        None => format!("the next run on {}", env.name),
                    };
                    println!("approval for {what} by {who} (OS account {account}): {code}");
                    println!(
                        "give the operator your name ({who}) and this code; it works once, within {} minutes, and not for a run by the same OS account",
                        crate::core::guard::approval::VALID_MINUTES
                    );
                }
            }
            Ok(0)
        }
        Command::History => {
            let (rows, runs) = crate::core::query::history(project, env).await?;
            output::print_history(format, env, &rows, &runs);
            Ok(0)
        }
        Command::Apply {
            to,
            dry_run,
            allow_drift,
            allow_out_of_order,
            override_lint,
            backup,
            no_backup,
            override_window,
            sign,
        } => {
            let sign = sign.sign();
            let backup = match (backup, no_backup) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            let opts = ApplyOptions {
                to,
                dry_run,
                confirm: sign.confirm,
                allow_drift,
                allow_out_of_order,
                override_lint,
                backup,
                override_window,
                ticket: sign.ticket,
                approval: sign.approval,
            };
            with_events(format, |tx| async move { exec::apply(project, env, &opts, tx).await })
                .await
        }
        Command::Rollback { steps, to, sign } => {
            let target = match (steps, to) {
                (Some(n), None) => RollbackTarget::Steps(n),
                (None, Some(v)) => RollbackTarget::To(v),
                (None, None) if interactive() && format == Format::Text => {
                    let mut ui = ui;
                    ui.start = Some(crate::ui::Start::Rollback);
                    return crate::ui::run(project.clone(), Some(&env.name), &ui).await;
                }
                _ => {
                    return Err(Error::input(
                        "give --steps N or --to VERSION (in a terminal, without them, the emergency rollback opens)",
                    ))
                }
            };
            let sign = sign.sign();
            with_events(format, |tx| async move {
                exec::rollback(project, env, &target, &sign, tx).await
            })
            .await
        }
        Command::Adopt { from, table, execute, failed, reason, sign } => {
            let opts = adopt::options(from, table, execute, failed, reason, sign.sign())?;
            adopt::run(project, env, &opts, format).await
        }
        Command::Resolve {
            version,
            mark_applied,
            mark_rolled_back,
            retry,
            compensate,
            reason,
            sign,
        } => {
            let how = match (mark_applied, mark_rolled_back, retry) {
                (true, _, _) => Resolution::MarkApplied,
                (_, true, _) => Resolution::MarkRolledBack,
                (_, _, true) => Resolution::Retry,
                _ if interactive() && format == Format::Text => {
                    let mut ui = ui;
                    ui.start = Some(crate::ui::Start::Recover);
                    return crate::ui::run(project.clone(), Some(&env.name), &ui).await;
                }
                _ => {
                    let found = crate::core::query::recovery::recovery(project, env).await?;
                    let found: Vec<_> = match &version {
                        Some(v) => found.into_iter().filter(|r| &r.version == v).collect(),
                        None => found,
                    };
                    output::print_recovery(format, env, &found);
                    return Ok(if found.is_empty() { 0 } else { 1 });
                }
            };
            let version = match version {
                Some(v) => v,
                None => match crate::core::query::recovery::recovery(project, env).await?.first() {
                    Some(r) => r.version.clone(),
                    None => {
                        return Err(Error::input(format!(
                            "no migration is marked failed in {}: nothing to resolve",
                            env.name
                        )))
                    }
                },
            };
            let opts = exec::ResolveOptions { how, sign: sign.sign(), compensate, reason };
            with_events(format, |tx| async move {
                exec::resolve(project, env, &version, &opts, tx).await
            })
            .await
        }
        Command::New { .. }
        | Command::Info
        | Command::Demo { .. }
        | Command::Lint { .. }
        | Command::Audit { .. } => Ok(0),
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
