//! `sluice.toml`: the project, its environments and their policies.
//!
//! Parsing is strict (unknown keys are errors) because a typo in a production policy must
//! not silently fall back to a default.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::core::error::{Error, Refusal, Result};

mod duration;
mod environment;
pub mod paths;
mod raw;
mod rollout;
pub use rollout::{no_password, Fleet, FleetSource, Rollout};
pub mod starter;
use crate::core::data::lint::rules::{self, Severity};
use duration::parse_duration_field;
pub use duration::{describe_duration, parse_duration};
use environment::build_environment;
use raw::*;

pub const PROJECT_FILE: &str = "sluice.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Development,
    Testing,
    Production,
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tier::Development => "development",
            Tier::Testing => "testing",
            Tier::Production => "production",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackupMode {
    Required,
    #[default]
    Optional,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BackupKind {
    #[default]
    Full,
    SchemaOnly,
    DataOnly,
}

/// How the environment's dry run rehearses the pending migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DryRunMode {
    /// All of them in one transaction on the database itself, rolled back.
    #[default]
    Transaction,
    /// For real, each committing as in production, on a scratch copy of the database
    /// (restored from the run's backup or a fresh pg_dump), dropped afterwards. Also
    /// rehearses what cannot run in a transaction; a code tool's dry run is always this.
    Copy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LintGate {
    /// Findings at error severity refuse the run.
    #[default]
    Error,
    /// Warnings refuse it too.
    Warning,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TicketPolicy {
    Required,
    #[default]
    Optional,
    Off,
}

/// libpq's sslmode values. `allow` is folded into `prefer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(s: &str) -> Option<SslMode> {
        Some(match s {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct Tls {
    pub sslmode: Option<SslMode>,
    pub sslrootcert: Option<PathBuf>,
    pub sslcert: Option<PathBuf>,
    pub sslkey: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct BackupPolicy {
    pub mode: BackupMode,
    pub kind: BackupKind,
    /// None: the data dir from `directories`, decided where the backup is taken.
    pub dir: Option<PathBuf>,
    pub keep_days: Option<u32>,
    pub keep_count: Option<u32>,
    /// A run that takes no backup of its own needs one on disk no older than this.
    pub max_age: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct ApprovalPolicy {
    /// How many distinct people must approve a run (1 or 2).
    pub required: u8,
    pub ticket: TicketPolicy,
}

#[derive(Debug, Clone)]
pub struct MaintenanceWindow {
    /// Days of the week (0 = Monday) on which the window opens.
    pub days: Vec<u8>,
    /// Minutes after midnight UTC.
    pub start_minute: u16,
    pub end_minute: u16,
}

impl MaintenanceWindow {
    /// Whether `minute` of `day` (0 = Monday, UTC) falls inside; a window whose end is
    /// before its start runs past midnight into the next day.
    pub fn contains(&self, day: u8, minute: u16) -> bool {
        if self.start_minute <= self.end_minute {
            self.days.contains(&day) && minute >= self.start_minute && minute < self.end_minute
        } else {
            let yesterday = (day + 6) % 7;
            (self.days.contains(&day) && minute >= self.start_minute)
                || (self.days.contains(&yesterday) && minute < self.end_minute)
        }
    }

    pub fn describe(&self) -> String {
        const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let days: Vec<&str> = self.days.iter().map(|d| DAYS[*d as usize % 7]).collect();
        format!(
            "{} {:02}:{:02}-{:02}:{:02} UTC",
            days.join(","),
            self.start_minute / 60,
            self.start_minute % 60,
            self.end_minute / 60,
            self.end_minute % 60
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct Hooks {
    /// Before the pre-checks; a failure stops the run.
    pub pre_check: Vec<String>,
    /// After the backup verified (SLUICE_BACKUP_FILE, _BYTES, _SHA256 name it), before
    /// the first migration: where the backup is copied off the machine; a failure stops
    /// the run.
    pub post_backup: Vec<String>,
    /// After the backup, before the first migration; a failure stops the run.
    pub pre_apply: Vec<String>,
    /// After the last migration; a failure marks the run degraded.
    pub post_apply: Vec<String>,
    /// After verify; a failure marks the run degraded.
    pub post_verify: Vec<String>,
    /// When the run fails.
    pub on_failure: Vec<String>,
    /// Each command's time limit.
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    pub tier: Tier,
    pub url: Option<String>,
    pub url_env: Option<String>,
    pub tls: Tls,
    pub lock_timeout: Duration,
    pub statement_timeout: Duration,
    pub lock_retries: u32,
    pub lock_retry_backoff: Duration,
    /// `queue_limit`: while a statement waits for its lock, the longest any other session
    /// may wait behind it before sluice steps out of the queue (cancels, backs off, retries).
    /// None: off; the statement waits up to lock_timeout whoever queues behind it.
    pub queue_limit: Option<Duration>,
    /// `max_replica_lag`: the pre-check fails when a standby lags more, and between
    /// migrations and a backfill's batches the run waits while one does, up to
    /// `replica_lag_timeout` (default 5 minutes), then stops cleanly.
    pub max_replica_lag: Option<Duration>,
    pub replica_lag_timeout: Duration,
    pub lint_gate: LintGate,
    pub backup: BackupPolicy,
    pub approvals: ApprovalPolicy,
    pub maintenance_window: Option<MaintenanceWindow>,
    pub seeds: Vec<PathBuf>,
    pub hooks: Hooks,
    /// Where run reports go (default: `<data dir>/reports/<env>`).
    pub report_dir: Option<PathBuf>,
    /// A production connection over the network must use TLS (`require_tls = false`: a
    /// warning in every run instead of a refusal, recorded with the run's pre-checks).
    pub require_tls: bool,
    /// `dry_run = "transaction" | "copy"`.
    pub dry_run: DryRunMode,
    /// `promote_from = "ENV"`: an apply here runs only what that environment already ran,
    /// with the same checksums.
    pub promote_from: Option<String>,
    /// Whether the promotion gate may be passed with a recorded reason
    /// (`promotion_override = false`: never).
    pub promotion_override: bool,
    /// `fleet = {...}`: many databases, rolled out in waves; then `url` is unset and each
    /// database's environment is made by `member`.
    pub fleet: Option<Fleet>,
}

impl Environment {
    /// This environment pointed at one database of its fleet.
    pub fn member(&self, url: &str) -> Environment {
        Environment { url: Some(url.to_string()), url_env: None, fleet: None, ..self.clone() }
    }
}

#[derive(Debug, Clone)]
pub struct Project {
    /// The folder holding sluice.toml.
    pub root: PathBuf,
    pub name: String,
    pub migrations_dir: PathBuf,
    /// The migrations folder's layout; None: detected from its files (`layout = "auto"`).
    pub layout: Option<crate::core::data::source::Layout>,
    pub ledger_schema: String,
    /// Keep the layout's own history table (golang-migrate, dbmate, sqlx, diesel) in step
    /// with the ledger, so the tool sees what sluice ran (`tool_history`, default true).
    pub tool_history: bool,
    /// `tool = "knex" | "alembic" | ...`: the migrations are that tool's code, run through
    /// it; None: sluice runs SQL files itself.
    pub code: Option<crate::core::data::code::CodeProject>,
    pub environments: BTreeMap<String, Environment>,
    /// `[lint.rules]`: rule id to level (None: off), for every environment.
    pub lint_rules: BTreeMap<String, Option<Severity>>,
    /// `[lint.<tier>]`: overrides for one tier, applied after `[lint.rules]`.
    pub lint_tiers: BTreeMap<Tier, BTreeMap<String, Option<Severity>>>,
}

impl Project {
    /// Loads `sluice.toml` from `dir` (or the current directory).
    pub fn load(dir: Option<&Path>) -> Result<Project> {
        let root = match dir {
            Some(d) => d.to_path_buf(),
            None => std::env::current_dir()
                .map_err(|e| Error::input(format!("cannot read the current directory: {e}")))?,
        };
        let file = root.join(PROJECT_FILE);
        let text = match std::fs::read(&file) {
            Ok(bytes) => String::from_utf8(bytes)
                .map_err(|_| Error::input(format!("{}: not valid UTF-8", file.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::input(format!(
                    "{} not found: run sluice in a project folder, name the folder that holds it, or start one here with `sluice init`",
                    file.display()
                ))
                .with_refusal(Refusal::NoProject))
            }
            Err(e) => return Err(Error::input(format!("{}: {e}", file.display()))),
        };
        Project::parse(&text, &root).map_err(|e| e.context(file.display()))
    }

    /// Parses the text of a project file; `root` anchors relative paths.
    pub fn parse(text: &str, root: &Path) -> Result<Project> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        let project = raw.project.unwrap_or_default();
        let name = project.name.unwrap_or_else(|| {
            root.canonicalize()
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "project".into())
        });
        let migrations_dir = root.join(project.migrations.as_deref().unwrap_or("migrations"));
        let layout =
            crate::core::data::source::Layout::parse(project.layout.as_deref().unwrap_or("auto"))
                .map_err(|e| Error::input(format!("[project] {e}")))?;
        let code = match project.tool.as_deref() {
            None => None,
            Some(t) => {
                use crate::core::data::code::{CodeTool, ToolCommands};
                let tool =
                    CodeTool::parse(t).map_err(|e| Error::input(format!("[project] {e}")))?;
                let commands = match (tool, project.tool_commands) {
                    (CodeTool::Command, Some(c)) => Some(ToolCommands {
                        list: c.list,
                        applied: c.applied,
                        up: c.up,
                        down: c.down,
                        base: c.base.unwrap_or_else(|| "0".into()),
                    }),
                    (CodeTool::Command, None) => {
                        return Err(Error::input(
                            "[project] tool = \"command\" needs [project.tool_commands] with list, applied, up and down",
                        ))
                    }
                    (_, Some(_)) => {
                        return Err(Error::input(format!(
                            "[project.tool_commands] is for tool = \"command\"; {t} is run as sluice knows it"
                        )))
                    }
                    (_, None) => None,
                };
                Some(crate::core::data::code::CodeProject {
                    tool,
                    dir: root.join(project.tool_dir.as_deref().unwrap_or(".")),
                    commands,
                })
            }
        };
        if code.is_none() && project.tool_dir.is_some() {
            return Err(Error::input(
                "[project] tool_dir needs tool = \"knex\" | \"alembic\" | \"efcore\" | \"command\"",
            ));
        }
        let ledger_schema = project.ledger_schema.unwrap_or_else(|| "sluice".into());
        if !is_identifier(&ledger_schema) {
            return Err(Error::input(format!(
                "[project] ledger_schema = {ledger_schema:?}: use lowercase letters, digits and _ (a plain PostgreSQL identifier)"
            )));
        }
        let default_lock = parse_duration_field(
            project.lock_timeout.as_deref(),
            "[project] lock_timeout",
            Duration::from_secs(5),
        )?;
        let default_stmt = parse_duration_field(
            project.statement_timeout.as_deref(),
            "[project] statement_timeout",
            Duration::ZERO,
        )?;
        let mut environments = BTreeMap::new();
        for (env_name, raw_env) in raw.environments {
            let env = build_environment(&env_name, raw_env, root, default_lock, default_stmt)
                .map_err(|e| e.context(format_args!("[environments.{env_name}]")))?;
            environments.insert(env_name, env);
        }
        rollout::check_promotions(&environments)?;
        let raw_lint = raw.lint.unwrap_or_default();
        let lint_rules = lint_levels(&raw_lint.rules, "[lint.rules]")?;
        let mut lint_tiers = BTreeMap::new();
        for (tier, table) in [
            (Tier::Development, &raw_lint.development),
            (Tier::Testing, &raw_lint.testing),
            (Tier::Production, &raw_lint.production),
        ] {
            if let Some(t) = table {
                lint_tiers.insert(tier, lint_levels(t, &format!("[lint.{tier}]"))?);
            }
        }
        Ok(Project {
            root: root.to_path_buf(),
            name,
            migrations_dir,
            layout,
            ledger_schema,
            tool_history: project.tool_history.unwrap_or(true),
            code,
            environments,
            lint_rules,
            lint_tiers,
        })
    }

    /// Rule levels in force for a tier (project-wide, then the tier's overrides).
    pub fn lint_levels(&self, tier: Option<Tier>) -> BTreeMap<String, Option<Severity>> {
        let mut levels = self.lint_rules.clone();
        if let Some(t) = tier.and_then(|t| self.lint_tiers.get(&t)) {
            levels.extend(t.clone());
        }
        levels
    }

    /// Picks the environment named by `--env`, or the only one when there is just one.
    pub fn environment(&self, name: Option<&str>) -> Result<&Environment> {
        match name {
            Some(n) => self.environments.get(n).ok_or_else(|| {
                Error::input(format!(
                    "unknown environment {n:?}; sluice.toml defines: {}",
                    self.env_names()
                ))
            }),
            None if self.environments.len() == 1 => {
                Ok(self.environments.values().next().expect("one environment"))
            }
            None if self.environments.is_empty() => Err(Error::input(
                "sluice.toml defines no environment: add an [environments.NAME] table",
            )),
            None => Err(Error::input(format!(
                "several environments are defined ({}): choose one",
                self.env_names()
            ))
            .with_refusal(Refusal::ChooseEnvironment)),
        }
    }

    /// Refuses `what` on a code-migration project: sluice reads its status but does not run
    /// its tool yet.
    pub fn sql_only(&self, what: &str) -> Result<()> {
        match &self.code {
            None => Ok(()),
            Some(c) => Err(Error::input(format!(
                "{what} through {} is not built yet: sluice shows this project's status; run {}'s own command for now",
                c.tool, c.tool
            ))),
        }
    }

    /// The environments as a person walks them: by tier (development, testing, production),
    /// then by name, so production never sits between dev and staging.
    pub fn environments_in_order(&self) -> Vec<&Environment> {
        let mut envs: Vec<&Environment> = self.environments.values().collect();
        envs.sort_by(|a, b| a.tier.cmp(&b.tier).then_with(|| a.name.cmp(&b.name)));
        envs
    }

    fn env_names(&self) -> String {
        let names: Vec<&str> =
            self.environments_in_order().iter().map(|e| e.name.as_str()).collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    }
}

fn lint_levels(
    raw: &BTreeMap<String, String>,
    table: &str,
) -> Result<BTreeMap<String, Option<Severity>>> {
    let mut out = BTreeMap::new();
    for (rule, level) in raw {
        if rules::find(rule).is_none() {
            return Err(Error::input(format!(
                "{table}: unknown rule {rule:?}; `sluice lint --explain` lists the rules"
            )));
        }
        let level = match level.as_str() {
            "off" => None,
            other => Some(Severity::parse(other).ok_or_else(|| {
                Error::input(format!(
                    "{table}: {rule} = {other:?}: use \"off\", \"info\", \"warning\" or \"error\""
                ))
            })?),
        };
        out.insert(rule.clone(), level);
    }
    Ok(out)
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// True when a connection string carries a password, in URL or key=value form.
pub fn url_has_password(url: &str) -> bool {
    if let Some(rest) =
        url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://"))
    {
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            if userinfo.contains(':') {
                return true;
            }
        }
        if let Some((_, query)) = rest.split_once('?') {
            return query.split('&').any(|kv| kv.starts_with("password="));
        }
        return false;
    }
    url.split_whitespace().any(|kv| kv.trim_start().starts_with("password"))
}

/// Turns toml's multi-line report into one line naming the line and column.
fn toml_error(text: &str, e: &toml::de::Error) -> Error {
    let msg = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            Error::input(format!("line {line}, column {col}: {msg}"))
        }
        None => Error::input(msg),
    }
}

#[cfg(test)]
mod tests;
