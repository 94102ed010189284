//! sqlx: `<version>_<desc>.sql` (no down), or `<version>_<desc>.up.sql` with its
//! `.down.sql`; each runs in a transaction unless the file starts with `-- no-transaction`.
//! Read as sqlx's resolver reads the folder: a file without `_` or not ending in `.sql` is
//! passed over, a version that is not an integer is an error, an up and a down pair by
//! version alone, and a file of comments runs as nothing and is recorded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Folder, Ignored, Layout, Migration, SqlFile, Unreadable, Version};
use crate::core::error::{Error, Result};

fn read(path: &Path) -> Result<SqlFile> {
    let mut f = SqlFile::read(path, Layout::Sqlx)?;
    // sqlx checks the file's first bytes exactly.
    f.no_transaction |= f.text.starts_with("-- no-transaction");
    Ok(f)
}

#[derive(Default)]
struct Pending {
    name: String,
    up: Option<PathBuf>,
    down: Option<PathBuf>,
}

/// `(version, description, is_down)` of a file sqlx reads; Ok(None) for one it passes over.
fn parse_name(path: &Path, file: &str) -> Result<Option<(Version, String, bool)>> {
    let Some((v, rest)) = file.split_once('_').filter(|(_, rest)| rest.ends_with(".sql")) else {
        return Ok(None);
    };
    let version = Version::parse(v).filter(|v| !v.as_str().contains(['.', '_'])).ok_or_else(|| {
        Error::input(format!(
            "{}: not a sqlx migration name; expected <version>_<description>.sql (or .up.sql / .down.sql), version in digits",
            path.display()
        ))
    })?;
    let (name, down) = if let Some(n) = rest.strip_suffix(".down.sql") {
        (n, true)
    } else {
        (rest.strip_suffix(".up.sql").unwrap_or(&rest[..rest.len() - 4]), false)
    };
    Ok(Some((version, name.to_string(), down)))
}

pub fn load_tolerant(dir: &Path) -> Result<Folder> {
    let mut by_version: BTreeMap<Version, Pending> = BTreeMap::new();
    let mut folder = Folder::default();
    for path in super::sorted_entries(dir)? {
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else { continue };
        if file.starts_with('.') || !path.is_file() {
            continue;
        }
        let Some((version, name, down)) = parse_name(&path, file)? else {
            if file.ends_with(".sql") {
                folder.ignored.push(Ignored {
                    path: path.clone(),
                    reason: "not named <version>_<description>.sql: sqlx never runs it".into(),
                });
            }
            continue;
        };
        let slot = by_version.entry(version.clone()).or_default();
        let taken = if down { &mut slot.down } else { &mut slot.up };
        if let Some(other) = taken.as_ref() {
            return Err(Error::input(format!(
                "duplicate version {version}: {} and {}; give one of them a new version",
                other.display(),
                path.display()
            )));
        }
        *taken = Some(path.clone());
        if !down || slot.name.is_empty() {
            slot.name = name;
        }
    }
    for (version, p) in by_version {
        let Some(up_path) = p.up else {
            // sqlx only ever reverts what it applied, and it applies only up files.
            folder.ignored.extend(p.down.map(|path| Ignored {
                path,
                reason: format!(
                    "a down file with no up file for version {version}: sqlx never runs it"
                ),
            }));
            continue;
        };
        let loaded =
            read(&up_path).and_then(|up| Ok((up, p.down.as_deref().map(read).transpose()?)));
        match loaded {
            Ok((up, down)) => {
                folder.migrations.push(Migration { version, name: p.name, up, down, verify: None })
            }
            Err(e) => {
                folder.unreadable.push(Unreadable { version, name: p.name, message: e.message })
            }
        }
    }
    Ok(folder)
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
        let f = load_tolerant(d.path()).unwrap();
        let (ok, bad) = (f.migrations, f.unreadable);
        assert!(bad.is_empty());
        assert_eq!(ok.len(), 3);
        assert!(ok[0].down.is_none() && !ok[0].up.no_transaction);
        assert!(ok[1].up.no_transaction && ok[1].down.as_ref().unwrap().no_transaction);
        assert!(!ok[2].up.no_transaction, "the marker counts only as the first bytes");
        w("20240101000000_users.up.sql", "SELECT 1;");
        let e = load_tolerant(d.path()).unwrap_err();
        assert!(e.message.contains("duplicate version 20240101000000"), "{}", e.message);
    }

    #[test]
    fn what_sqlx_accepts_sluice_reads_and_what_it_passes_over_is_listed() {
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, t: &str| std::fs::write(d.path().join(n), t).unwrap();
        w("1_placeholder.sql", "-- filled in later\n");
        w("2_add_x.up.sql", "CREATE TABLE x (a int);");
        w("2_drop_x.down.sql", "DROP TABLE x;");
        w("3_gone.down.sql", "SELECT 1;");
        w("schema.sql", "CREATE TABLE dump (a int);");
        w("README.md", "notes");
        let f = load_tolerant(d.path()).unwrap();
        assert!(f.unreadable.is_empty());
        let got: Vec<_> =
            f.migrations.iter().map(|m| (m.version.as_str(), m.name.as_str())).collect();
        assert_eq!(got, [("1", "placeholder"), ("2", "add_x")]);
        assert!(f.migrations[0].up_statements().unwrap().is_empty(), "comments run as nothing");
        assert!(f.migrations[1].down.as_ref().unwrap().path.ends_with("2_drop_x.down.sql"));
        let ignored: Vec<_> =
            f.ignored.iter().map(|i| i.path.file_name().unwrap().to_str().unwrap()).collect();
        assert_eq!(ignored, ["schema.sql", "3_gone.down.sql"]);
        w("v2_bad.sql", "SELECT 1;");
        let e = load_tolerant(d.path()).unwrap_err();
        assert!(e.message.contains("v2_bad.sql"), "{}", e.message);
    }
}
