//! The checks the environment's policy asks for: the backup (space for it, or a recent one
//! on disk) and the maintenance window.

use tokio_postgres::Client;

use super::{check, now_utc_day_minute, Check, Outcome, PrecheckInputs, WINDOW_CHECK};
use crate::core::data::config::Environment;
use crate::core::error::Result;

/// The backup this run takes (and the space for it), or the one the policy wants on disk.
pub(super) async fn backup(client: &Client, cx: &PrecheckInputs<'_>) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    if cx.backup_planned.is_none() {
        checks.push(check("backup", Outcome::Pass, "not needed: a dry run rolls back"));
    } else if cx.backup_planned == Some(true) {
        let size: i64 =
            client.query_one("SELECT pg_database_size(current_database())", &[]).await?.get(0);
        checks.push(match cx.backup_dir.as_deref().and_then(free_bytes) {
            Some(free) if (free as f64) < size as f64 * 1.2 => check(
                "backup space",
                Outcome::Fail,
                format!("{} free, database is {}", mb(free as i64), mb(size)),
            ),
            Some(free) => check(
                "backup space",
                Outcome::Pass,
                format!("{} free, database is {}", mb(free as i64), mb(size)),
            ),
            None => check(
                "backup space",
                Outcome::Warn,
                "cannot read the free space of the backup folder",
            ),
        });
        checks.push(check(
            "backup",
            Outcome::Pass,
            "a verified backup will be taken before the change",
        ));
    } else if let Some(max_age) = cx.env.backup.max_age {
        checks.push(recent_backup(cx.env, max_age));
    } else if cx.env.backup.mode == crate::core::data::config::BackupMode::Off {
        checks.push(check("backup", Outcome::Pass, "off by policy"));
    } else {
        checks.push(check(
            "backup",
            Outcome::Warn,
            "no backup before this change (optional by policy)",
        ));
    }
    Ok(checks)
}

/// Inside the window, outside with a recorded reason, or outside: refused.
pub(super) fn window(cx: &PrecheckInputs<'_>) -> Option<Check> {
    let w = cx.env.maintenance_window.as_ref()?;
    let (day, minute) = now_utc_day_minute();
    let inside = w.contains(day, minute);
    Some(match (inside, cx.window_override) {
        (true, _) => check(WINDOW_CHECK, Outcome::Pass, "inside"),
        (false, Some(reason)) => {
            check(WINDOW_CHECK, Outcome::Warn, format!("outside, overridden: {reason}"))
        }
        (false, None) => {
            check(WINDOW_CHECK, Outcome::Fail, format!("outside the window ({})", w.describe()))
        }
    })
}

/// With no backup in this run, the policy's max_age asks for a recent one on disk.
fn recent_backup(env: &Environment, max_age: std::time::Duration) -> Check {
    let limit = crate::core::data::config::describe_duration(max_age);
    match crate::core::guard::backup::list(env) {
        Ok(files) => match files.first() {
            Some(f) if f.age_s <= max_age.as_secs() => check(
                "backup",
                Outcome::Pass,
                format!(
                    "no backup in this run; newest is {} ({} old, policy: {limit})",
                    f.path.display(),
                    crate::core::data::config::describe_duration(std::time::Duration::from_secs(f.age_s))
                ),
            ),
            Some(f) => check(
                "backup",
                Outcome::Fail,
                format!(
                    "newest backup {} is {} old, older than the policy's {limit}: take one (sluice backup) or have this run take one",
                    f.path.display(),
                    crate::core::data::config::describe_duration(std::time::Duration::from_secs(f.age_s))
                ),
            ),
            None => check(
                "backup",
                Outcome::Fail,
                format!("no backup on disk and the policy wants one within {limit}: take one (sluice backup) or have this run take one"),
            ),
        },
        Err(e) => check("backup", Outcome::Fail, format!("cannot list backups: {e}")),
    }
}

fn mb(bytes: i64) -> String {
    format!("{:.1} MB", bytes as f64 / 1048576.0)
}

/// Free bytes on the file system of `dir` (or its nearest existing parent).
fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    let existing = dir.ancestors().find(|p| p.exists())?;
    let c = std::ffi::CString::new(existing.as_os_str().as_encoded_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and an out-pointer to a zeroed statvfs.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}
