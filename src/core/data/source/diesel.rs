//! diesel: one folder per migration, `<version>_<name>/up.sql` and `down.sql`, the version
//! being the text before the first `_` with its dashes removed (`2023-01-01-000000_x` is
//! 20230101000000, as diesel records it). Each runs in a transaction unless the folder's
//! `metadata.toml` says `run_in_transaction = false`.

use std::path::Path;

use super::{Migration, SqlFile, Unreadable, Version};
use crate::core::error::{Error, Result};

/// `(version, name)` of a diesel migration folder.
fn parse_name(folder: &str) -> Option<(Version, String)> {
    let (v, name) = folder.split_once('_').unwrap_or((folder, ""));
    Version::parse(&v.replace('-', ""))
        .filter(|v| !v.as_str().contains(['.', '_']))
        .map(|v| (v, name.to_string()))
}

/// `run_in_transaction` from the folder's metadata.toml (true without one).
fn in_transaction(dir: &Path) -> Result<bool> {
    let path = dir.join("metadata.toml");
    if !path.is_file() {
        return Ok(true);
    }
    let text = SqlFile::read_text(&path)?;
    let table: toml::Table =
        text.parse().map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
    match table.get("run_in_transaction") {
        None => Ok(true),
        Some(toml::Value::Boolean(b)) => Ok(*b),
        Some(other) => Err(Error::input(format!(
            "{}: run_in_transaction = {other}: use true or false",
            path.display()
        ))),
    }
}

fn read(dir: &Path) -> Result<(SqlFile, Option<SqlFile>)> {
    let in_tx = in_transaction(dir)?;
    let mut up = SqlFile::read(&dir.join("up.sql"))?;
    up.no_transaction |= !in_tx;
    if crate::core::data::sql::is_blank(&up.text) {
        return Err(Error::input(format!(
            "{}: holds no SQL statement; write the migration or delete the folder",
            up.path.display()
        )));
    }
    let down_path = dir.join("down.sql");
    let down = if down_path.is_file() {
        let mut d = SqlFile::read(&down_path)?;
        d.no_transaction |= !in_tx;
        // diesel's generated placeholder is a comment: no down.
        Some(d).filter(|d| !crate::core::data::sql::is_blank(&d.text))
    } else {
        None
    };
    Ok((up, down))
}

pub fn load_tolerant(dir: &Path) -> Result<(Vec<Migration>, Vec<Unreadable>)> {
    super::one_per_entry(
        dir,
        true,
        "not a diesel migration; expected a folder <version>_<name> holding up.sql (e.g. 2024-01-31-120000_create_users/up.sql)",
        |path, folder| parse_name(folder).filter(|_| path.join("up.sql").is_file()),
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
        let (ok, bad) = load_tolerant(d.path()).unwrap();
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
        assert!(ok[2].up.no_transaction && ok[2].down.is_none());
        w("2024-02-01-000000_idx/metadata.toml", "run_in_transaction = \"no\"\n");
        let (_, bad) = load_tolerant(d.path()).unwrap();
        assert!(bad[0].message.contains("metadata.toml"), "{}", bad[0].message);
        w("notes/readme.md", "x");
        let e = load_tolerant(d.path()).unwrap_err();
        assert!(e.message.contains("notes: not a diesel migration"), "{}", e.message);
    }
}
