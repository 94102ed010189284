//! Files only their owner may read: backups, reports and the audit log hold schema, data and
//! who did what. Folders sluice creates are 0700, files 0600, whatever the umask.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use crate::core::error::{Error, Result};

/// Creates `dir` (and its parents) 0700; an existing folder is left as it is.
pub fn create_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::database(format!("{}: {e}", dir.display())))
}

/// Creates (or empties) `path`, 0600.
pub fn create_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::database(format!("{}: {e}", path.display())))
}

/// Writes `bytes` to a new 0600 file.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    create_file(path)?
        .write_all(bytes)
        .map_err(|e| Error::database(format!("{}: {e}", path.display())))
}

/// Opens `path` to read and append, created 0600.
pub fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::database(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn folders_are_0700_and_files_0600_whatever_the_umask() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("a/b");
        create_dir(&dir).unwrap();
        write(&dir.join("f"), b"x").unwrap();
        open_append(&dir.join("g")).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&d.path().join("a")), 0o700);
        assert_eq!(mode(&dir.join("f")), 0o600);
        assert_eq!(mode(&dir.join("g")), 0o600);
    }
}
