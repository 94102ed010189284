//! The one place that decides where sluice keeps things on this machine: the user's config
//! (themes, keymap), its data (reports, the audit log, backups) and its logs. Each has an
//! environment variable that overrides the platform's folder (tests and CI use them).

use std::path::PathBuf;

use directories::ProjectDirs;

use super::Environment;
use crate::core::error::{Error, Result};

fn dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "sluice")
}

fn overridden(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).filter(|d| !d.is_empty()).map(PathBuf::from)
}

/// The user's config folder (themes, keymap): `SLUICE_CONFIG_DIR`, else the platform's
/// (~/.config/sluice on Linux).
pub fn config_dir() -> Option<PathBuf> {
    overridden("SLUICE_CONFIG_DIR").or_else(|| dirs().map(|d| d.config_dir().to_path_buf()))
}

/// sluice's data folder: `SLUICE_DATA_DIR`, else the platform's (e.g. ~/.local/share/sluice).
pub fn data_dir() -> Result<PathBuf> {
    overridden("SLUICE_DATA_DIR")
        .or_else(|| dirs().map(|d| d.data_dir().to_path_buf()))
        .ok_or_else(|| Error::input("no home directory: set SLUICE_DATA_DIR"))
}

/// Where the log files go: the platform's state folder (~/.local/state/sluice), else its
/// local data folder.
pub fn log_dir() -> Option<PathBuf> {
    let d = dirs()?;
    Some(d.state_dir().unwrap_or_else(|| d.data_local_dir()).to_path_buf())
}

/// The audit log: `<data dir>/audit.jsonl`.
pub fn audit_log() -> Result<PathBuf> {
    Ok(data_dir()?.join("audit.jsonl"))
}

/// Where an environment's run reports go: its `report_dir`, or `<data dir>/reports/<env>`.
pub fn report_dir(env: &Environment) -> Result<PathBuf> {
    match &env.report_dir {
        Some(d) => Ok(d.clone()),
        None => Ok(data_dir()?.join("reports").join(&env.name)),
    }
}

/// Where an environment's backups go: its `backup.dir`, or `<data dir>/backups/<env>`.
pub fn backup_dir(env: &Environment) -> Result<PathBuf> {
    match &env.backup.dir {
        Some(d) => Ok(d.clone()),
        None => Ok(data_dir()?.join("backups").join(&env.name)),
    }
}
