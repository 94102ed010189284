//! `sluice new`: the next migration's files, in sluice's own layout.

use std::path::PathBuf;

use crate::core::data::config::Project;
use crate::core::error::{Error, Result};

pub(super) fn new_migration(
    project: &Project,
    name: &str,
    timestamp: bool,
    no_transaction: bool,
) -> Result<Vec<PathBuf>> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::input(format!(
            "migration name {name:?}: use letters, digits and _ (e.g. add_orders_status)"
        )));
    }
    project.sql_only("sluice new")?;
    let dir = &project.migrations_dir;
    std::fs::create_dir_all(dir).map_err(|e| Error::input(format!("{}: {e}", dir.display())))?;
    let layout = match project.layout {
        Some(l) => l,
        None => crate::core::data::source::detect(dir)?,
    };
    if layout != crate::core::data::source::Layout::Native {
        return Err(Error::input(format!(
            "{} holds {layout} migrations: sluice new writes sluice's own layout; create the file the way {layout} names it",
            dir.display()
        )));
    }
    let existing = crate::core::data::source::load_native(dir)?;
    let version = if timestamp {
        crate::core::host::identity::utc_timestamp()
    } else {
        let width = existing.last().map_or(4, |m| m.version.as_str().len());
        let next: u128 =
            existing.last().and_then(|m| m.version.key().parse::<u128>().ok()).map_or(1, |n| n + 1);
        format!("{next:0width$}")
    };
    let header = if no_transaction { "-- sluice:no-transaction\n" } else { "" };
    let mut made = Vec::new();
    for (suffix, body) in
        [("up", "-- Write the change here.\n"), ("down", "-- Undo the change here.\n")]
    {
        let path = dir.join(format!("{version}_{name}.{suffix}.sql"));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
        use std::io::Write;
        f.write_all(format!("{header}{body}").as_bytes())
            .map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
        made.push(path);
    }
    Ok(made)
}
