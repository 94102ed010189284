//! Prisma: `<timestamp>_<name>/migration.sql`, no down files, `migration_lock.toml` naming the
//! provider. Prisma sends the whole file in one simple query, so it runs as golang-migrate's
//! files do: several statements are one implicit transaction, a lone CONCURRENTLY runs alone,
//! and a file's own BEGIN/COMMIT gives way to sluice's transaction.

use std::path::Path;

use super::{Entry, Folder, Layout, SqlFile, Version};
use crate::core::error::{Error, Result};

/// The lock file's provider must be PostgreSQL.
fn check_lock(dir: &Path) -> Result<()> {
    let path = dir.join("migration_lock.toml");
    if !path.is_file() {
        return Ok(());
    }
    let text = SqlFile::read_text(&path)?;
    let table: toml::Table =
        text.parse().map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
    match table.get("provider").and_then(|p| p.as_str()) {
        None | Some("postgresql" | "postgres") => Ok(()),
        Some(other) => Err(Error::input(format!(
            "{}: provider = {other:?}; sluice migrates PostgreSQL",
            path.display()
        ))),
    }
}

/// An empty migration.sql runs as nothing and is recorded, as `prisma migrate deploy`
/// runs the `-- This is an empty migration.` that `migrate dev --create-only` writes.
fn read(path: &Path) -> Result<SqlFile> {
    let mut f = SqlFile::read(path, Layout::Prisma)?;
    super::golang::adapt(&mut f)?;
    Ok(f)
}

pub fn load_tolerant(dir: &Path) -> Result<Folder> {
    check_lock(dir)?;
    let name_of = |path: &Path, folder: &str| {
        let named = folder.split_once('_').and_then(|(v, name)| {
            let v = Version::parse(v).filter(|v| !v.as_str().contains('.'))?;
            path.join("migration.sql").is_file().then(|| (v, name.to_string()))
        });
        match named {
            Some((v, name)) => Entry::Migration(v, name),
            None => Entry::Refused,
        }
    };
    super::one_per_entry(
        dir,
        true,
        "not a Prisma migration; expected a folder <timestamp>_<name> holding migration.sql",
        name_of,
        |path| Ok((read(&path.join("migration.sql"))?, None)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_lock_file_and_transactions() {
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, t: &str| {
            let p = d.path().join(n);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        };
        w("migration_lock.toml", "# Please do not edit\nprovider = \"postgresql\"\n");
        w("20240101000000_init/migration.sql", "-- CreateTable\nCREATE TABLE \"User\" (id int);\n");
        w("20240102000000_idx/migration.sql", "CREATE INDEX CONCURRENTLY i ON \"User\" (id);\n");
        let f = load_tolerant(d.path()).unwrap();
        let (ok, bad) = (f.migrations, f.unreadable);
        assert!(bad.is_empty());
        assert_eq!((ok[0].name.as_str(), ok[0].up.no_transaction), ("init", false));
        assert!(ok[1].up.no_transaction && ok.iter().all(|m| m.down.is_none()));
        w("migration_lock.toml", "provider = \"mysql\"\n");
        let e = load_tolerant(d.path()).unwrap_err();
        assert!(e.message.contains("mysql"), "{}", e.message);
    }
}
