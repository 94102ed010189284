//! Hooks: the environment's commands at fixed points of a run, with the run's facts in
//! their environment and a time limit each.

use std::process::Stdio;

use serde::{Deserialize, Serialize};
use tokio::process::Command;

use crate::core::data::config::Environment;
use crate::core::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookPoint {
    PreCheck,
    PostBackup,
    PreApply,
    PostApply,
    PostVerify,
    OnFailure,
}

impl HookPoint {
    pub fn as_str(self) -> &'static str {
        match self {
            HookPoint::PreCheck => "pre_check",
            HookPoint::PostBackup => "post_backup",
            HookPoint::PreApply => "pre_apply",
            HookPoint::PostApply => "post_apply",
            HookPoint::PostVerify => "post_verify",
            HookPoint::OnFailure => "on_failure",
        }
    }
    fn commands(self, env: &Environment) -> &[String] {
        match self {
            HookPoint::PreCheck => &env.hooks.pre_check,
            HookPoint::PostBackup => &env.hooks.post_backup,
            HookPoint::PreApply => &env.hooks.pre_apply,
            HookPoint::PostApply => &env.hooks.post_apply,
            HookPoint::PostVerify => &env.hooks.post_verify,
            HookPoint::OnFailure => &env.hooks.on_failure,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HookResult {
    pub stage: String,
    pub command: String,
    pub ok: bool,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    /// The last lines the command printed (stdout and stderr), for the record.
    pub output: String,
}

/// Facts about the run handed to every hook as SLUICE_* variables.
pub struct Facts<'a> {
    pub run_id: &'a str,
    pub action: &'a str,
    pub database: &'a str,
    pub migrations: &'a [String],
    pub outcome: Option<&'a str>,
    /// How long the run has taken so far.
    pub duration_ms: u64,
    /// Where the run's report is written when it ends (Markdown; the JSON beside it).
    pub report: Option<std::path::PathBuf>,
    /// The backup this run took, once it has.
    pub backup: Option<&'a crate::core::guard::backup::BackupInfo>,
}

/// Runs the stage's commands in order, stopping at the first failure, which is returned as
/// an error naming the command (results so far come back either way).
pub async fn run(
    stage: HookPoint,
    env: &Environment,
    facts: &Facts<'_>,
) -> (Vec<HookResult>, Result<()>) {
    let mut results = Vec::new();
    for command in stage.commands(env) {
        let started = std::time::Instant::now();
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(command)
            .env("SLUICE_STAGE", stage.as_str())
            .env("SLUICE_RUN_ID", facts.run_id)
            .env("SLUICE_ACTION", facts.action)
            .env("SLUICE_ENV", &env.name)
            .env("SLUICE_TIER", env.tier.to_string())
            .env("SLUICE_DATABASE", facts.database)
            .env("SLUICE_MIGRATIONS", facts.migrations.join(","))
            .env("SLUICE_OUTCOME", facts.outcome.unwrap_or(""))
            .env("SLUICE_MIGRATION_COUNT", facts.migrations.len().to_string())
            .env("SLUICE_DURATION_MS", facts.duration_ms.to_string())
            .env(
                "SLUICE_REPORT",
                facts.report.as_deref().map(|p| p.display().to_string()).unwrap_or_default(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(b) = facts.backup {
            cmd.env("SLUICE_BACKUP_FILE", &b.path)
                .env("SLUICE_BACKUP_BYTES", b.bytes.to_string())
                .env("SLUICE_BACKUP_SHA256", &b.sha256);
        }
        let outcome = match cmd.spawn() {
            Err(e) => Err(format!("cannot start: {e}")),
            Ok(child) => {
                match tokio::time::timeout(env.hooks.timeout, child.wait_with_output()).await {
                    Err(_) => Err(format!(
                        "timed out after {:.0} s and was killed",
                        env.hooks.timeout.as_secs_f64()
                    )),
                    Ok(Err(e)) => Err(e.to_string()),
                    Ok(Ok(out)) => Ok(out),
                }
            }
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        let (ok, exit_code, output) = match outcome {
            Ok(out) => {
                let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
                text.push_str(&String::from_utf8_lossy(&out.stderr));
                let tail: Vec<&str> = text.lines().rev().take(5).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                (out.status.success(), out.status.code(), tail.join("\n"))
            }
            Err(why) => (false, None, why),
        };
        results.push(HookResult {
            stage: stage.as_str().to_string(),
            command: command.clone(),
            ok,
            exit_code,
            duration_ms,
            output: output.clone(),
        });
        if !ok {
            let code = exit_code.map_or("no exit code".to_string(), |c| format!("exit {c}"));
            let said = if output.is_empty() {
                String::new()
            } else {
                format!(": {}", output.replace('\n', " | "))
            };
            return (
                results,
                Err(Error::guard(format!(
                    "{} hook `{command}` failed ({code}){said}",
                    stage.as_str()
                ))),
            );
        }
    }
    (results, Ok(()))
}
