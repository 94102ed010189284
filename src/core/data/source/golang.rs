//! golang-migrate: `<version>_<title>.up.sql` / `.down.sql`, named like sluice's own files
//! but run the way golang-migrate's PostgreSQL driver runs them: the whole file in one
//! Exec, so a multi-statement file is one implicit transaction and a single statement runs
//! alone (a lone CREATE INDEX CONCURRENTLY works). Files often wrap themselves in BEGIN;
//! ... COMMIT;, which sluice's own transaction replaces. The folder is read as its source
//! driver reads it: a file not named `<digits>_<title>.up|down.sql` is passed over, the up
//! and down of a version pair by the version alone, and an empty file runs as nothing.

use std::path::Path;

use super::{native, Folder, Layout, SqlFile, Unreadable};
use crate::core::error::Result;

pub fn load_tolerant(dir: &Path) -> Result<Folder> {
    let mut folder = native::load_pairs(dir, Layout::GolangMigrate)?;
    for mut m in std::mem::take(&mut folder.migrations) {
        let adapted = adapt(&mut m.up).and_then(|_| match m.down.as_mut() {
            Some(d) => adapt(d),
            None => Ok(()),
        });
        match adapted {
            Ok(()) => folder.migrations.push(m),
            Err(e) => folder.unreadable.push(Unreadable {
                version: m.version.clone(),
                name: m.name.clone(),
                message: e.message,
            }),
        }
    }
    Ok(folder)
}

pub(super) fn adapt(file: &mut SqlFile) -> Result<()> {
    let stmts = file.statements()?;
    if let (Some(first), Some(last)) = (stmts.first(), stmts.last()) {
        let opens = matches!(first.keywords.first().map(String::as_str), Some("BEGIN" | "START"));
        let closes = matches!(last.keywords.first().map(String::as_str), Some("COMMIT" | "END"));
        if stmts.len() >= 2 && opens && closes {
            file.text = super::blank_statement(&file.text, first, false);
            file.text = super::blank_statement(&file.text, last, true);
        }
    }
    let stmts = file.statements()?;
    if let [only] = stmts.as_slice() {
        if only.needs_no_transaction().is_some() {
            file.no_transaction = true;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_transactions_go_and_a_lone_concurrent_statement_runs_alone() {
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, t: &str| std::fs::write(d.path().join(n), t).unwrap();
        w("1_t.up.sql", "BEGIN;\nCREATE TABLE t (a int);\nCREATE TABLE u (a int);\nCOMMIT;\n");
        w("1_t.down.sql", "DROP TABLE u;\nDROP TABLE t;\n");
        w("2_i.up.sql", "CREATE INDEX CONCURRENTLY i ON t (a);\n");
        w("2_i.down.sql", "DROP INDEX CONCURRENTLY i;\n");
        w("3_bad.up.sql", "CREATE TABLE v (a int);\nCREATE INDEX CONCURRENTLY j ON v (a);\n");
        let f = load_tolerant(d.path()).unwrap();
        let (ok, bad) = (f.migrations, f.unreadable);
        let up = ok[0].up_statements().unwrap();
        assert_eq!(up.len(), 2);
        assert_eq!(up[0].line, 2, "line numbers stay the file's");
        assert!(!ok[0].up.no_transaction);
        assert!(ok[1].up.no_transaction && ok[1].down.as_ref().unwrap().no_transaction);
        assert!(bad.is_empty());
        let err = ok[2].up_statements().unwrap_err();
        assert!(err.message.contains("3_bad.up.sql:2"), "{}", err.message);
    }

    #[test]
    fn pairs_by_version_and_passes_over_what_golang_migrate_does_not_read() {
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, t: &str| std::fs::write(d.path().join(n), t).unwrap();
        w("30_add_x.up.sql", "CREATE TABLE x (a int);\n");
        w("30_drop_x.down.sql", "DROP TABLE x;\n");
        w("31_.up.sql", "-- a placeholder\n");
        w("31_.down.sql", "");
        w("schema.sql", "CREATE TABLE dump (a int);\n");
        w("32_seed.sql", "INSERT INTO x VALUES (1);\n");
        let f = load_tolerant(d.path()).unwrap();
        assert!(f.unreadable.is_empty(), "{:?}", f.unreadable);
        let got: Vec<_> =
            f.migrations.iter().map(|m| (m.version.as_str(), m.name.as_str())).collect();
        assert_eq!(got, [("30", "add_x"), ("31", "")]);
        assert!(f.migrations[0].down.as_ref().unwrap().path.ends_with("30_drop_x.down.sql"));
        assert!(f.migrations[1].up_statements().unwrap().is_empty());
        assert!(f.migrations[1].down_statements().unwrap().unwrap().is_empty());
        let ignored: Vec<_> =
            f.ignored.iter().map(|i| i.path.file_name().unwrap().to_str().unwrap()).collect();
        assert_eq!(ignored, ["32_seed.sql", "schema.sql"]);
        w("030_again.up.sql", "SELECT 1;\n");
        let e = load_tolerant(d.path()).unwrap_err();
        assert!(e.message.contains("duplicate version"), "{}", e.message);
    }
}
