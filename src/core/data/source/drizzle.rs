//! Drizzle: `NNNN_<tag>.sql` files, run in the order of `meta/_journal.json` (a file the
//! journal does not list never runs, so it is an error here), statements separated by
//! `--> statement-breakpoint` lines (SQL comments, so PostgreSQL's parser splits the file as
//! drizzle does). Drizzle runs every migration in a transaction and has no down files.

use std::path::Path;

use serde::Deserialize;

use super::{Migration, SqlFile, Unreadable, Version};
use crate::core::error::{Error, Result};

#[derive(Deserialize)]
struct Journal {
    #[serde(default)]
    dialect: Option<String>,
    entries: Vec<JournalEntry>,
}

/// One journal row; `when` (milliseconds) is what drizzle records as created_at.
#[derive(Deserialize, Clone)]
pub struct JournalEntry {
    pub idx: u64,
    pub when: i64,
    pub tag: String,
}

/// The journal's entries, in order; errors name the file.
pub fn journal(dir: &Path) -> Result<Vec<JournalEntry>> {
    let path = dir.join("meta").join("_journal.json");
    let text = SqlFile::read_text(&path)?;
    let j: Journal = serde_json::from_str(&text)
        .map_err(|e| Error::input(format!("{}:{}: {e}", path.display(), e.line())))?;
    if let Some(d) =
        j.dialect.as_deref().filter(|d| !matches!(*d, "postgresql" | "pg" | "postgres"))
    {
        return Err(Error::input(format!(
            "{}: dialect {d:?}; sluice migrates PostgreSQL",
            path.display()
        )));
    }
    Ok(j.entries)
}

pub fn load_tolerant(dir: &Path) -> Result<(Vec<Migration>, Vec<Unreadable>)> {
    let entries = journal(dir)?;
    let mut out = Vec::new();
    let mut unreadable = Vec::new();
    let mut last: Option<Version> = None;
    for e in &entries {
        let path = dir.join(format!("{}.sql", e.tag));
        let (v, name) = e.tag.split_once('_').unwrap_or((&e.tag, ""));
        let version =
            Version::parse(v).filter(|v| !v.as_str().contains(['.', '_'])).ok_or_else(|| {
                Error::input(format!(
                    "{}/meta/_journal.json: entry {} has tag {:?}; expected NNNN_<name>",
                    dir.display(),
                    e.idx,
                    e.tag
                ))
            })?;
        if last.as_ref().is_some_and(|l| *l >= version) {
            return Err(Error::input(format!(
                "{}/meta/_journal.json: {} comes after {}; the journal's order and the file numbers disagree",
                dir.display(),
                e.tag,
                last.map(|l| l.to_string()).unwrap_or_default()
            )));
        }
        last = Some(version.clone());
        if !path.is_file() {
            return Err(Error::input(format!(
                "{}: listed in meta/_journal.json, but there is no such file",
                path.display()
            )));
        }
        let read = SqlFile::read(&path).and_then(|f| {
            if crate::core::data::sql::is_blank(&f.text) {
                return Err(Error::input(format!(
                    "{}: holds no SQL statement; write the migration or delete it",
                    path.display()
                )));
            }
            Ok(f)
        });
        match read {
            Ok(up) => out.push(Migration {
                version,
                name: name.to_string(),
                up,
                down: None,
                verify: None,
            }),
            Err(err) => {
                unreadable.push(Unreadable { version, name: name.into(), message: err.message })
            }
        }
    }
    for path in super::sorted_entries(dir)? {
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else { continue };
        let listed = entries.iter().any(|e| format!("{}.sql", e.tag) == file);
        if file.ends_with(".sql") && !listed {
            return Err(Error::input(format!(
                "{}: not in meta/_journal.json, so drizzle would never run it; generate it with drizzle-kit or add it to the journal",
                path.display()
            )));
        }
    }
    Ok((out, unreadable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_order_breakpoints_and_strays() {
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, t: &str| {
            let p = d.path().join(n);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        };
        w(
            "meta/_journal.json",
            r#"{"version":"7","dialect":"postgresql","entries":[
              {"idx":0,"version":"7","when":1700000000000,"tag":"0000_init","breakpoints":true},
              {"idx":1,"version":"7","when":1700000100000,"tag":"0001_more","breakpoints":true}]}"#,
        );
        w(
            "0000_init.sql",
            "CREATE TABLE a (x int);\n--> statement-breakpoint\nCREATE TABLE b (x int);\n",
        );
        w("0001_more.sql", "ALTER TABLE a ADD COLUMN y int;");
        let (ok, bad) = load_tolerant(d.path()).unwrap();
        assert!(bad.is_empty());
        assert_eq!(ok[0].up_statements().unwrap().len(), 2);
        assert_eq!(ok[1].name, "more");
        w("0002_stray.sql", "SELECT 1;");
        let e = load_tolerant(d.path()).unwrap_err();
        assert!(e.message.contains("0002_stray.sql: not in meta/_journal.json"), "{}", e.message);
        std::fs::remove_file(d.path().join("0002_stray.sql")).unwrap();
        std::fs::remove_file(d.path().join("0001_more.sql")).unwrap();
        let e = load_tolerant(d.path()).unwrap_err();
        assert!(e.message.contains("0001_more.sql: listed in meta/_journal.json"), "{}", e.message);
    }
}
