//! sqlx: `<version>_<desc>.sql` (no down), or `<version>_<desc>.up.sql` with its
//! `.down.sql`; each runs in a transaction unless the file starts with `-- no-transaction`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Migration, SqlFile, Unreadable, Version};
use crate::core::error::{Error, Result};

fn read(path: &Path) -> Result<SqlFile> {
    let mut f = SqlFile::read(path)?;
    // sqlx checks the file's first bytes exactly.
    f.no_transaction |= f.text.starts_with("-- no-transaction");
    Ok(f)
}

pub fn load_tolerant(dir: &Path) -> Result<(Vec<Migration>, Vec<Unreadable>)> {
    struct Pending {
        name: String,
        up: Option<PathBuf>,
        down: Option<PathBuf>,
    }
    let mut by_version: BTreeMap<Version, Pending> = BTreeMap::new();
    for path in super::sorted_entries(dir)? {
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else { continue };
        if file.starts_with('.') || !file.ends_with(".sql") || path.is_dir() {
            continue;
        }
        let (stem, down) = if let Some(s) = file.strip_suffix(".down.sql") {
            (s, true)
        } else {
            (file.strip_suffix(".up.sql").unwrap_or(&file[..file.len() - 4]), false)
        };
        let parsed = stem.split_once('_').and_then(|(v, name)| {
            let version = Version::parse(v).filter(|v| !v.as_str().contains(['.', '_']))?;
            Some((version, name.to_string()))
        });
        let (version, name) = parsed.ok_or_else(|| {
            Error::input(format!(
                "{}: not a sqlx migration name; expected <version>_<description>.sql (or .up.sql / .down.sql), version in digits",
                path.display()
            ))
        })?;
        let slot = by_version.entry(version.clone()).or_insert(Pending {
            name: name.clone(),
            up: None,
            down: None,
        });
        let taken = if down { slot.down.is_some() } else { slot.up.is_some() };
        if slot.name != name || taken {
            let other = slot.up.as_ref().or(slot.down.as_ref());
            return Err(Error::input(format!(
                "duplicate version {version}: {} and {}; give one of them a new version",
                other.map(|p| p.display().to_string()).unwrap_or_default(),
                path.display()
            )));
        }
        *(if down { &mut slot.down } else { &mut slot.up }) = Some(path.clone());
    }
    let mut out = Vec::new();
    let mut unreadable = Vec::new();
    for (version, p) in by_version {
        let Some(up_path) = p.up else {
            let orphan = p.down.map(|d| d.display().to_string()).unwrap_or_default();
            return Err(Error::input(format!(
                "{orphan}: no up file beside it ({version}_{}.up.sql)",
                p.name
            )));
        };
        let loaded = read(&up_path).and_then(|up| {
            if crate::core::data::sql::is_blank(&up.text) {
                return Err(Error::input(format!(
                    "{}: holds no SQL statement; write the migration or delete the file",
                    up_path.display()
                )));
            }
            Ok((up, p.down.as_deref().map(read).transpose()?))
        });
        match loaded {
            Ok((up, down)) => out.push(Migration { version, name: p.name, up, down, verify: None }),
            Err(e) => unreadable.push(Unreadable { version, name: p.name, message: e.message }),
        }
    }
    Ok((out, unreadable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_and_reversible_files_and_the_marker() {
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, t: &str| std::fs::write(d.path().join(n), t).unwrap();
        w("20240101000000_users.sql", "CREATE TABLE users (id int);");
        w(
            "20240102000000_idx.up.sql",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON users (id);",
        );
        w("20240102000000_idx.down.sql", "-- no-transaction\nDROP INDEX CONCURRENTLY i;");
        w("20240103000000_late.sql", "\n-- no-transaction\nSELECT 1;");
        let (ok, bad) = load_tolerant(d.path()).unwrap();
        assert!(bad.is_empty());
        assert_eq!(ok.len(), 3);
        assert!(ok[0].down.is_none() && !ok[0].up.no_transaction);
        assert!(ok[1].up.no_transaction && ok[1].down.as_ref().unwrap().no_transaction);
        assert!(!ok[2].up.no_transaction, "the marker counts only as the first bytes");
        w("20240101000000_users.up.sql", "SELECT 1;");
        let e = load_tolerant(d.path()).unwrap_err();
        assert!(e.message.contains("duplicate version 20240101000000"), "{}", e.message);
    }
}
