//! Flyway: `V<version>__<desc>.sql` (version parts split by `.` or `_`, so `1.10` comes after
//! `1.9`), `U<version>__<desc>.sql` undoing it, `R__<desc>.sql` repeatables (run after every
//! versioned migration, again whenever the file changes), in the folder or any folder below
//! it. Each runs in a transaction unless its `<file>.sql.conf` says `executeInTransaction=false`
//! or, as Flyway's PostgreSQL parser decides, it holds a statement that cannot run in one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Folder, Ignored, Layout, Migration, SqlFile, Unreadable, Version};
use crate::core::error::{Error, Result};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Versioned,
    Undo,
    Repeatable,
}

/// `(kind, version, description)` of a Flyway file name, or None if it is not one.
fn parse_name(file: &str) -> Option<(Kind, Version, String)> {
    let stem = file.strip_suffix(".sql")?;
    let kind = match stem.chars().next()? {
        'V' => Kind::Versioned,
        'U' => Kind::Undo,
        'R' => Kind::Repeatable,
        _ => return None,
    };
    let (ver, desc) = stem[1..].split_once("__")?;
    let version = match kind {
        Kind::Repeatable if ver.is_empty() => Version::repeatable(desc)?,
        Kind::Repeatable => return None,
        _ => Version::parse(&ver.replace('_', "."))?,
    };
    Some((kind, version, desc.to_string()))
}

/// True for a name Flyway would run (detection uses it).
pub(super) fn is_flyway_name(file: &str) -> bool {
    parse_name(file).is_some()
}

/// Every file below `dir`, sorted; Flyway scans its locations recursively.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<()> {
    if depth > 16 {
        return Err(Error::input(format!(
            "{}: folders nested more than 16 deep (a symlink loop?)",
            dir.display()
        )));
    }
    for path in super::sorted_entries(dir)? {
        let hidden = path.file_name().and_then(|f| f.to_str()).is_none_or(|f| f.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, out, depth + 1)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// `executeInTransaction` from a script's `.sql.conf`.
fn read_conf(path: &Path) -> Result<Option<bool>> {
    let text = SqlFile::read_text(path)?;
    let mut in_tx = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let Some((key, value)) = t.split_once('=') else {
            return Err(Error::input(format!(
                "{}:{}: expected key=value, found {t:?}",
                path.display(),
                i + 1
            )));
        };
        match (key.trim(), value.trim()) {
            ("executeInTransaction", "true") => in_tx = Some(true),
            ("executeInTransaction", "false") => in_tx = Some(false),
            ("executeInTransaction", other) => {
                return Err(Error::input(format!(
                    "{}:{}: executeInTransaction={other}: use true or false",
                    path.display(),
                    i + 1
                )))
            }
            // encoding and shouldExecute change nothing sluice can honour silently.
            (other, _) => {
                return Err(Error::input(format!(
                    "{}:{}: {other}: sluice reads executeInTransaction only; remove the line",
                    path.display(),
                    i + 1
                )))
            }
        }
    }
    Ok(in_tx)
}

/// Flyway replaces `${name}` placeholders everywhere in a script (on by default) and refuses
/// one it has no value for; sluice has no values to put in, so it says so here rather than
/// send `${name}` to the server.
fn check_placeholders(file: &SqlFile) -> Result<()> {
    let Some(at) = file.text.find("${") else { return Ok(()) };
    let end = file.text[at..].find('}').map_or(file.text.len(), |e| at + e + 1);
    let line = file.text[..at].matches('\n').count() + 1;
    Err(Error::input(format!(
        "{}:{line}: Flyway placeholder {}: sluice does not replace Flyway placeholders; write the value into the script",
        file.path.display(),
        &file.text[at..end]
    )))
}

fn read(path: &Path) -> Result<SqlFile> {
    let mut file = SqlFile::read(path, Layout::Flyway)?;
    check_placeholders(&file)?;
    let mut conf = path.as_os_str().to_owned();
    conf.push(".conf");
    let conf = PathBuf::from(conf);
    let in_tx = if conf.is_file() { read_conf(&conf)? } else { None };
    file.no_transaction |= match in_tx {
        Some(t) => !t,
        None => file
            .statements()
            .map(|s| s.iter().any(|s| s.needs_no_transaction().is_some()))
            .unwrap_or(false),
    };
    Ok(file)
}

pub fn load_tolerant(dir: &Path) -> Result<Folder> {
    let mut files = Vec::new();
    let mut ignored = Vec::new();
    walk(dir, &mut files, 0)?;
    struct Pending {
        name: String,
        up: Option<PathBuf>,
        down: Option<PathBuf>,
    }
    let mut by_version: BTreeMap<Version, Pending> = BTreeMap::new();
    for path in &files {
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else { continue };
        if let Some(sql) = file.strip_suffix(".conf") {
            if sql.ends_with(".sql") && !path.with_file_name(sql).is_file() {
                return Err(Error::input(format!("{}: no script {sql} beside it", path.display())));
            }
            continue;
        }
        if !file.ends_with(".sql") {
            continue;
        }
        // Flyway filters out a file its naming rules do not match (validateMigrationNaming
        // is off by default): it never runs.
        let Some((kind, version, name)) = parse_name(file) else {
            ignored.push(Ignored {
                path: path.clone(),
                reason: "not named V<version>__<desc>.sql, U<version>__<desc>.sql or R__<desc>.sql: Flyway never runs it".into(),
            });
            continue;
        };
        let slot = by_version.entry(version.clone()).or_insert(Pending {
            name: name.clone(),
            up: None,
            down: None,
        });
        let existing = if kind == Kind::Undo { &mut slot.down } else { &mut slot.up };
        if let Some(other) = existing.as_ref() {
            return Err(Error::input(format!(
                "duplicate version {version}: {} and {}; give one of them a new version",
                other.display(),
                path.display()
            )));
        }
        if kind != Kind::Undo {
            slot.name = name;
        }
        *existing = Some(path.clone());
    }
    let mut out = Vec::new();
    let mut unreadable = Vec::new();
    for (version, p) in by_version {
        let Some(up) = p.up else {
            let orphan = p.down.map(|d| d.display().to_string()).unwrap_or_default();
            return Err(Error::input(format!("{orphan}: undoes V{version}, which has no file")));
        };
        // An empty script runs as nothing and is recorded, as Flyway runs it.
        let loaded = read(&up).and_then(|up| Ok((up, p.down.as_deref().map(read).transpose()?)));
        match loaded {
            Ok((up, down)) => {
                out.push(Migration { version, name: p.name, up, down, verify: None });
            }
            Err(e) => unreadable.push(Unreadable { version, name: p.name, message: e.message }),
        }
    }
    Ok(Folder { migrations: out, unreadable, ignored })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_versions_and_repeatables() {
        let (k, v, d) = parse_name("V1_10__add_index.sql").unwrap();
        assert!(k == Kind::Versioned && v.as_str() == "1.10" && d == "add_index");
        let (k, v, _) = parse_name("R__views.sql").unwrap();
        assert!(k == Kind::Repeatable && v.is_repeatable());
        assert!(parse_name("U2__x.sql").is_some_and(|(k, _, _)| k == Kind::Undo));
        for bad in ["V__x.sql", "R1__x.sql", "V1_x.sql", "B1__x.sql", "V1.a__x.sql"] {
            assert!(parse_name(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn order_conf_and_undo_files() {
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, t: &str| {
            let p = d.path().join(n);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        };
        w("V1.9__a.sql", "CREATE TABLE a (x int);");
        w("U1.9__a.sql", "DROP TABLE a;");
        w("nested/V1.10__b.sql", "CREATE INDEX i ON a (x);");
        w("V1.10.1__c.sql", "VACUUM a;");
        w("V2__d.sql", "CREATE TABLE d (x int);");
        w("V2__d.sql.conf", "# no transaction\nexecuteInTransaction=false\n");
        w("R__v.sql", "CREATE OR REPLACE VIEW v AS SELECT 1;");
        w("V3_typo_add.sql", "SELECT 3;");
        w("V4__empty.sql", "-- nothing yet\n");
        let f = load_tolerant(d.path()).unwrap();
        let (ok, bad) = (f.migrations, f.unreadable);
        assert!(bad.is_empty());
        assert!(f.ignored[0].path.ends_with("V3_typo_add.sql"), "Flyway filters out the name");
        assert!(ok[4].up_statements().unwrap().is_empty(), "an empty script runs as nothing");
        let order: Vec<_> = ok.iter().map(|m| m.version.as_str()).collect();
        assert_eq!(order, ["1.9", "1.10", "1.10.1", "2", "4", "R__v"]);
        assert!(ok[0].down.is_some() && ok[1].down.is_none());
        assert!(!ok[1].up.no_transaction);
        assert!(ok[2].up.no_transaction, "VACUUM: Flyway runs it outside a transaction");
        assert!(ok[3].up.no_transaction, ".sql.conf executeInTransaction=false");
        w("U3__z.sql", "SELECT 1;");
        let e = load_tolerant(d.path()).unwrap_err();
        assert!(e.message.contains("U3__z.sql: undoes V3"), "{}", e.message);
        std::fs::remove_file(d.path().join("U3__z.sql")).unwrap();
        w("V1.90__dup.sql", "SELECT 1;");
        w("V01.090__dup2.sql", "SELECT 1;");
        let e = load_tolerant(d.path()).unwrap_err();
        assert!(e.message.contains("duplicate version"), "{}", e.message);
        std::fs::remove_file(d.path().join("V01.090__dup2.sql")).unwrap();
        w("V5__p.sql", "-- uses a placeholder\nCREATE TABLE ${flyway:defaultSchema}.p (x int);");
        let bad = load_tolerant(d.path()).unwrap().unreadable;
        assert!(
            bad[0].message.contains("V5__p.sql:2: Flyway placeholder ${flyway:defaultSchema}"),
            "{}",
            bad[0].message
        );
        std::fs::remove_file(d.path().join("V5__p.sql")).unwrap();
        w("V2__d.sql.conf", "executeInTransaction=maybe\n");
        let bad = load_tolerant(d.path()).unwrap().unreadable;
        assert!(bad[0].message.contains("V2__d.sql.conf:1"), "{}", bad[0].message);
    }
}
