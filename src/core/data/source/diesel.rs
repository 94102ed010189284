//! diesel: one folder per migration, `<version>_<name>/up.sql` and `down.sql`, the version
//! being the text before the first `_` with its dashes removed (`2023-01-01-000000_x` is
//! 20230101000000, as diesel records it). Each runs in a transaction unless the folder's
//! `metadata.toml` says `run_in_transaction = false`.

use std::path::Path;

use super::{Entry, Folder, Layout, SqlFile, Version};
use crate::core::error::{Error, Result};

/// `(version, name)` of a diesel migration folder.
fn parse_name(folder: &str) -> Option<(Version, String)> {
    let (v, name) = folder.split_once('_').unwrap_or((folder, ""));
    Version::parse(&v.replace('-', ""))
        .filter(|v| !v.as_str().contains(['.', '_']))
        .map(|v| (v, name.to_string()))
}

/// `run_in_transaction` from the folder's metadata.toml, as diesel reads it: true without
/// the file, and false when the file leaves the key out (its field defaults to false).
/// diesel takes a file it cannot parse as no file; sluice names it instead, since guessing
/// how a migration runs is not safe.
fn in_transaction(dir: &Path) -> Result<bool> {
    let path = dir.join("metadata.toml");
    if !path.is_file() {
        return Ok(true);
    }
    let text = SqlFile::read_text(&path)?;
    let table: toml::Table =
        text.parse().map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
    match table.get("run_in_transaction") {
        None => Ok(false),
        Some(toml::Value::Boolean(b)) => Ok(*b),
        Some(other) => Err(Error::input(format!(
            "{}: run_in_transaction = {other}: use true or false",
            path.display()
        ))),
    }
}

/// diesel refuses a file with no statement, even its own generated placeholder of
/// comments: the server answers it with an empty query, which diesel takes as an error.
fn read(dir: &Path) -> Result<(SqlFile, Option<SqlFile>)> {
    let in_tx = in_transaction(dir)?;
    let mut up = SqlFile::read(&dir.join("up.sql"), Layout::Diesel)?;
    up.no_transaction |= !in_tx;
    if let Some(refused) = up.blank_refusal() {
        return Err(refused);
    }
    let down_path = dir.join("down.sql");
    let down = if down_path.is_file() {
        let mut d = SqlFile::read(&down_path, Layout::Diesel)?;
        d.no_transaction |= !in_tx;
        Some(d)
    } else {
        None
    };
    Ok((up, down))
}

/// diesel passes over files, dot folders and empty folders; any other folder must be a
/// migration holding up.sql, or diesel refuses the whole folder.
fn name_of(path: &Path, folder: &str) -> Entry {
    let empty = std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_none());
    match parse_name(folder) {
        _ if empty => Entry::Skipped(Some("an empty folder: diesel passes over it".into())),
        Some((v, name)) if path.join("up.sql").is_file() => Entry::Migration(v, name),
        _ => Entry::Refused,
    }
}

pub fn load_tolerant(dir: &Path) -> Result<Folder> {
    super::one_per_entry(
        dir,
        true,
        "not a diesel migration; expected a folder <version>_<name> holding up.sql (e.g. 2024-01-31-120000_create_users/up.sql)",
        name_of,
        read,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_versions_and_metadata() {
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, t: &str| {
            let p = d.path().join(n);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        };
        w("00000000000000_diesel_initial_setup/up.sql", "SELECT 1;");
        w("2024-01-31-120000_users/up.sql", "CREATE TABLE users (id int);");
        w("2024-01-31-120000_users/down.sql", "DROP TABLE users;");
        w("2024-02-01-000000_idx/up.sql", "CREATE INDEX CONCURRENTLY i ON users (id);");
        w("2024-02-01-000000_idx/down.sql", "-- This file should undo anything in `up.sql`\n");
        w("2024-02-01-000000_idx/metadata.toml", "run_in_transaction = false\n");
        let f = load_tolerant(d.path()).unwrap();
        let (ok, bad) = (f.migrations, f.unreadable);
        assert!(bad.is_empty(), "{bad:?}");
        let got: Vec<_> = ok.iter().map(|m| (m.version.as_str(), m.name.as_str())).collect();
        assert_eq!(
            got,
            [
                ("00000000000000", "diesel_initial_setup"),
                ("20240131120000", "users"),
                ("20240201000000", "idx")
            ]
        );
        assert!(ok[1].down.is_some() && !ok[1].up.no_transaction);
        assert!(ok[2].up.no_transaction && ok[2].down.as_ref().unwrap().is_blank());
        w("2024-02-01-000000_idx/metadata.toml", "run_in_transaction = \"no\"\n");
        let bad = load_tolerant(d.path()).unwrap().unreadable;
        assert!(bad[0].message.contains("metadata.toml"), "{}", bad[0].message);
        w("notes/readme.md", "x");
        let e = load_tolerant(d.path()).unwrap_err();
        assert!(e.message.contains("notes: not a diesel migration"), "{}", e.message);
    }

    #[test]
    fn what_diesel_itself_accepts_and_refuses() {
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, t: &str| {
            let p = d.path().join(n);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        };
        w("2024-01-01-000000_placeholder/up.sql", "SELECT 1;\n");
        w(
            "2024-01-01-000000_placeholder/down.sql",
            "-- This file should undo anything in `up.sql`\n",
        );
        w("2024-01-02-000000_no_key/up.sql", "CREATE INDEX CONCURRENTLY i ON t (a);");
        w("2024-01-02-000000_no_key/metadata.toml", "# diesel reads a missing key as false\n");
        w("2024-01-03-000000_empty/up.sql", "");
        w("README.md", "not a folder: passed over");
        std::fs::create_dir_all(d.path().join("2024-01-04-000000_not_yet")).unwrap();
        let f = load_tolerant(d.path()).unwrap();
        let names: Vec<_> = f.migrations.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["placeholder", "no_key"]);
        let down = f.migrations[0].down_statements().unwrap_err();
        assert!(
            down.message.contains("holds no SQL statement (diesel refuses"),
            "{}",
            down.message
        );
        assert!(f.migrations[1].up.no_transaction);
        assert_eq!(f.unreadable.len(), 1);
        assert!(f.unreadable[0].message.contains("_empty/up.sql: is empty"), "{:?}", f.unreadable);
        assert_eq!(f.ignored.len(), 1);
        assert!(f.ignored[0].path.ends_with("2024-01-04-000000_not_yet"));
    }
}
