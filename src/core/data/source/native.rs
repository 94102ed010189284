//! sluice's own layout: `<version>_<name>.up.sql` with an optional `.down.sql`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Folder, Ignored, Layout, Migration, SqlFile, Version};
use crate::core::error::{Error, Result};

enum Direction {
    Up,
    Down,
    Verify,
}

fn parse_name(file: &str) -> Option<(Version, String, Direction)> {
    let (stem, dir) = if let Some(s) = file.strip_suffix(".up.sql") {
        (s, Direction::Up)
    } else if let Some(s) = file.strip_suffix(".down.sql") {
        (s, Direction::Down)
    } else if let Some(s) = file.strip_suffix(".verify.sql") {
        (s, Direction::Verify)
    } else {
        return None;
    };
    let (v, name) = stem.split_once('_')?;
    // Digits only: dotted versions are Flyway's.
    let version = Version::parse(v).filter(|v| !v.as_str().contains('.'))?;
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    Some((version, name.to_string(), dir))
}

/// Reads every migration in `dir`, sorted by version. Files that are not SQL are ignored;
/// a `.sql` file whose name does not follow the layout is an error, since it would
/// otherwise never run and nobody would notice. So is a file that cannot be read.
pub fn load_native(dir: &Path) -> Result<Vec<Migration>> {
    let (migrations, unreadable) = load_native_tolerant(dir)?;
    match unreadable.into_iter().next() {
        Some(u) => Err(Error::input(u.message)),
        None => Ok(migrations),
    }
}

/// A migration whose files are named right but cannot be read (not UTF-8, no SQL, a bad
/// directive): the console shows it as one flagged row and the rest as usual.
#[derive(Debug, Clone)]
pub struct Unreadable {
    pub version: Version,
    pub name: String,
    pub message: String,
}

/// Like `load_native`, but a migration whose files cannot be read is set aside with its
/// error instead of failing the whole folder. Layout errors (names, duplicates, orphans)
/// still fail: they make the order itself unknown.
pub fn load_native_tolerant(dir: &Path) -> Result<(Vec<Migration>, Vec<Unreadable>)> {
    let f = load_pairs(dir, Layout::Native)?;
    Ok((f.migrations, f.unreadable))
}

/// The `<version>_<name>.up.sql` / `.down.sql` pairs of sluice's layout, or of
/// golang-migrate's, which differs the way golang-migrate's source driver reads a folder: a
/// file not named `<digits>_<anything>.up|down.sql` is passed over, and the two files of a
/// version pair by the version alone (their names may differ).
pub(super) fn load_pairs(dir: &Path, layout: Layout) -> Result<Folder> {
    let (by_version, ignored) = pair_files(dir, layout)?;
    let mut folder = Folder { ignored, ..Folder::default() };
    for (version, p) in by_version {
        match read_pair(&version, &p, layout)? {
            Ok(m) => folder.migrations.push(m),
            Err(e) => folder.unreadable.push(Unreadable {
                version: version.clone(),
                name: p.name.clone(),
                message: e.message,
            }),
        }
    }
    Ok(folder)
}

/// One version's files, before they are read.
struct Pair {
    name: String,
    up: Option<PathBuf>,
    down: Option<PathBuf>,
    verify: Option<PathBuf>,
}

/// golang-migrate's names: `^([0-9]+)_(.*)\.(up|down)\.sql$`, any title (even empty).
fn parse_golang_name(file: &str) -> Option<(Version, String, Direction)> {
    let (stem, dir) = if let Some(s) = file.strip_suffix(".up.sql") {
        (s, Direction::Up)
    } else if let Some(s) = file.strip_suffix(".down.sql") {
        (s, Direction::Down)
    } else {
        return None;
    };
    let (v, name) = stem.split_once('_')?;
    let version = Version::parse(v).filter(|v| !v.as_str().contains('.'))?;
    Some((version, name.to_string(), dir))
}

/// The folder's files by version: names checked, duplicates refused; for golang-migrate,
/// the `.sql` files it passes over beside them.
fn pair_files(dir: &Path, layout: Layout) -> Result<(BTreeMap<Version, Pair>, Vec<Ignored>)> {
    let golang = layout == Layout::GolangMigrate;
    let mut by_version: BTreeMap<Version, Pair> = BTreeMap::new();
    let mut ignored = Vec::new();
    for path in super::sorted_entries(dir)? {
        let Some(file) = path.file_name().and_then(|f| f.to_str()).map(str::to_string) else {
            return Err(Error::input(format!("{}: file name is not UTF-8", path.display())));
        };
        if file.starts_with('.') || !file.ends_with(".sql") {
            continue;
        }
        if path.is_dir() {
            if golang {
                continue;
            }
            return Err(Error::input(format!(
                "{}: a folder named like a migration file; a migration must be a plain file",
                path.display()
            )));
        }
        let parsed = if golang { parse_golang_name(&file) } else { parse_name(&file) };
        let Some((version, name, direction)) = parsed else {
            if golang {
                ignored.push(Ignored {
                    path,
                    reason: "not named <version>_<title>.up.sql or .down.sql: golang-migrate never runs it".into(),
                });
                continue;
            }
            return Err(Error::input(format!(
                "{}: not a migration file name; expected <version>_<name>.up.sql or .down.sql, version in digits (e.g. 0001_create_users.up.sql)",
                path.display()
            )));
        };
        place(&mut by_version, version, name, direction, path, golang)?;
    }
    Ok((by_version, ignored))
}

/// Puts one file in its version's slot; a second file for the same slot, or (in sluice's
/// layout) a different name for the same version, is a duplicate.
fn place(
    by_version: &mut BTreeMap<Version, Pair>,
    version: Version,
    name: String,
    direction: Direction,
    path: PathBuf,
    pair_by_version: bool,
) -> Result<()> {
    let slot = by_version.entry(version.clone()).or_insert_with(|| Pair {
        name: name.clone(),
        up: None,
        down: None,
        verify: None,
    });
    let duplicate = |other: &Path| {
        Error::input(format!(
            "duplicate version {version}: {} and {}; give one of them a new version",
            other.display(),
            path.display()
        ))
    };
    if slot.name != name && !pair_by_version {
        let other = slot.up.as_ref().or(slot.down.as_ref()).or(slot.verify.as_ref());
        return Err(duplicate(other.map(PathBuf::as_path).unwrap_or(Path::new(""))));
    }
    if matches!(direction, Direction::Up) {
        slot.name = name;
    }
    let existing = match direction {
        Direction::Up => &mut slot.up,
        Direction::Down => &mut slot.down,
        Direction::Verify => &mut slot.verify,
    };
    if let Some(other) = existing.as_ref() {
        return Err(duplicate(other));
    }
    *existing = Some(path);
    Ok(())
}

/// Reads one version's files. The outer error (a down or verify file with no up file)
/// fails the folder; the inner one sets this migration aside as unreadable.
fn read_pair(version: &Version, p: &Pair, layout: Layout) -> Result<Result<Migration>> {
    let Some(up_path) = &p.up else {
        let orphan = p.down.as_ref().or(p.verify.as_ref()).map(|d| d.display().to_string());
        return Err(Error::input(format!(
            "{}: no up file beside it ({version}_{}.up.sql)",
            orphan.unwrap_or_default(),
            p.name
        )));
    };
    let read = || -> Result<Migration> {
        let up = SqlFile::read(up_path, layout)?;
        if let Some(refused) = up.blank_refusal() {
            return Err(refused);
        }
        let read = |p: &Path| SqlFile::read(p, layout);
        let down = p.down.as_deref().map(read).transpose()?;
        let verify = p.verify.as_deref().map(read).transpose()?;
        Ok(Migration { version: version.clone(), name: p.name.clone(), up, down, verify })
    };
    Ok(read())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let (v, n, _) = parse_name("0012_orders_status_index.up.sql").unwrap();
        assert_eq!((v.as_str(), n.as_str()), ("0012", "orders_status_index"));
        assert!(parse_name("12.up.sql").is_none());
        assert!(parse_name("v1_x.up.sql").is_none());
        assert!(parse_name("1_x.sql").is_none());
        assert!(parse_name("1_.up.sql").is_none());
        assert!(parse_name("1.2_x.up.sql").is_none());
    }

    #[test]
    fn an_unreadable_migration_is_set_aside_by_the_tolerant_reader_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1_a.up.sql"), "SELECT 1;\n").unwrap();
        std::fs::write(dir.path().join("2_bad.up.sql"), b"SELECT '\xff';\n").unwrap();
        std::fs::write(dir.path().join("3_empty.up.sql"), "-- nothing\n").unwrap();
        std::fs::write(dir.path().join("4_d.up.sql"), "SELECT 4;\n").unwrap();
        let (ok, bad) = load_native_tolerant(dir.path()).unwrap();
        let names: Vec<_> = ok.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["a", "d"]);
        let flagged: Vec<_> = bad.iter().map(|u| (u.version.as_str(), u.name.as_str())).collect();
        assert_eq!(flagged, [("2", "bad"), ("3", "empty")]);
        assert!(bad[0].message.contains("2_bad.up.sql:1: not valid UTF-8"), "{}", bad[0].message);
        let err = load_native(dir.path()).unwrap_err();
        assert!(err.message.contains("2_bad.up.sql"), "{}", err.message);
    }
}
