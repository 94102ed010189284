//! The command line as clap types: what `main` parses and `cli::run` dispatches on.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::core::guard::policy::Sign;

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
    pub command: Option<Verb>,
}

/// The typed name, ticket and second approver of a rollback or restore.
#[derive(clap::Args, Debug)]
pub struct SignArgs {
    /// Repeat the environment's name (required on production tier).
    #[arg(long, value_name = "NAME")]
    pub confirm: Option<String>,
    /// Change ticket reference, recorded with the run.
    #[arg(long, value_name = "REF")]
    pub ticket: Option<String>,
    /// Second approver's name (environments with approvals.required = 2).
    #[arg(long, value_name = "NAME", requires = "approval_code")]
    pub approver: Option<String>,
    /// The code `sluice approve --env NAME` printed on the second approver's terminal.
    #[arg(long, value_name = "CODE", requires = "approver")]
    pub approval_code: Option<String>,
}

impl SignArgs {
    pub fn sign(self) -> Sign {
        Sign {
            confirm: self.confirm,
            ticket: self.ticket,
            approval: self.approver.zip(self.approval_code),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum AuditVerb {
    /// Check the hash chain: no line edited, removed or inserted (exit 1 when broken).
    Verify {
        /// A copy of the log to check instead of this machine's.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum FleetCmd {
    /// Each database: applied, pending, failed, drifted, head version, reachable.
    Status {
        /// Only the databases at positions I, I+N, I+2N... (from 0).
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RunsVerb {
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
pub enum Verb {
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
        /// Apply what the environment's promote_from has not run; the reason is recorded.
        #[arg(long, value_name = "REASON")]
        override_promotion: Option<String>,
        /// A fleet: only the databases at positions I, I+N, I+2N... (from 0).
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
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
        /// A fleet: only the databases at positions I, I+N, I+2N... (from 0).
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        #[command(flatten)]
        sign: SignArgs,
    },
    /// A fleet environment's databases (fleet = { ... } in sluice.toml).
    Fleet {
        #[command(subcommand)]
        command: FleetCmd,
    },
    /// Every migration applied or rolled back, and every run.
    History,
    /// The runs recorded in the ledger; `runs show ID` prints one with its report.
    Runs {
        #[command(subcommand)]
        show: Option<RunsVerb>,
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
        command: AuditVerb,
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
    /// Start using sluice in an existing project: find its migrations, write sluice.toml.
    Init {
        /// The project folder (default: --project, else the current directory).
        dir: Option<PathBuf>,
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
    Approve {
        run_id: Option<String>,
        /// On a fleet: approve the next run of this shard (I/N), as its worker runs it.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
    },
    /// Where config, logs and backups live, and the environments.
    Info,
    /// Start a throwaway PostgreSQL cluster with the example project.
    Demo {
        /// Set up, print, and exit at once (removing the cluster) instead of waiting.
        #[arg(long)]
        no_wait: bool,
    },
}
