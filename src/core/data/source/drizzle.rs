//! Drizzle: `NNNN_<tag>.sql` files, run in the order of `meta/_journal.json` (a file the
//! journal does not list never runs, so it is an error here), statements separated by
//! `--> statement-breakpoint` lines (SQL comments, so PostgreSQL's parser splits the file as
//! drizzle does). Drizzle runs every migration in a transaction and has no down files.

use std::path::Path;

use serde::Deserialize;

use super::{Folder, Ignored, Layout, Migration, SqlFile, Unreadable, Version};
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

impl JournalEntry {
    /// The migration's version and name: `NNNN_<name>` (drizzle-kit's `index`, `timestamp`,
    /// `unix` and `supabase` prefixes), or the entry's index for `prefix: "none"` tags.
    pub fn version(&self) -> Option<(Version, String)> {
        let numbered = self.tag.split_once('_').and_then(|(v, name)| {
            let v = Version::parse(v).filter(|v| !v.as_str().contains(['.', '_']))?;
            Some((v, name.to_string()))
        });
        numbered.or_else(|| Some((Version::parse(&self.idx.to_string())?, self.tag.clone())))
    }
}

/// The journal's migrations, in its order. A `.sql` file it does not list is one drizzle
/// never reads: listed as ignored. An empty file runs as nothing and is recorded (drizzle-kit
/// `generate --custom` writes one of comments).
pub fn load_tolerant(dir: &Path) -> Result<Folder> {
    let entries = journal(dir)?;
    let mut folder = Folder::default();
    let mut last: Option<Version> = None;
    for e in &entries {
        let path = dir.join(format!("{}.sql", e.tag));
        let (version, name) = e.version().ok_or_else(|| {
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
        match SqlFile::read(&path, Layout::Drizzle) {
            Ok(up) => {
                folder.migrations.push(Migration { version, name, up, down: None, verify: None })
            }
            Err(err) => folder.unreadable.push(Unreadable { version, name, message: err.message }),
        }
    }
    for path in super::sorted_entries(dir)? {
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else { continue };
        let listed = entries.iter().any(|e| format!("{}.sql", e.tag) == file);
        if file.ends_with(".sql") && !listed && path.is_file() {
            folder.ignored.push(Ignored {
                path,
                reason: "not in meta/_journal.json: drizzle never runs it".into(),
            });
        }
    }
    Ok(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn journal_order_breakpoints_and_strays() {
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, t: &str| write(d.path(), n, t);
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
        let f = load_tolerant(d.path()).unwrap();
        let ok = &f.migrations;
        assert!(f.unreadable.is_empty() && f.ignored.is_empty());
        assert_eq!(ok[0].up_statements().unwrap().len(), 2);
        assert_eq!(ok[1].name, "more");
        w("0002_stray.sql", "SELECT 1;");
        let f = load_tolerant(d.path()).unwrap();
        assert_eq!(f.migrations.len(), 2, "drizzle never runs a file its journal does not list");
        assert!(f.ignored[0].path.ends_with("0002_stray.sql"), "{:?}", f.ignored);
        std::fs::remove_file(d.path().join("0002_stray.sql")).unwrap();
        std::fs::remove_file(d.path().join("0001_more.sql")).unwrap();
        let e = load_tolerant(d.path()).unwrap_err();
        assert!(e.message.contains("0001_more.sql: listed in meta/_journal.json"), "{}", e.message);
    }

    #[test]
    fn tags_without_a_number_and_custom_migrations_of_comments() {
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, t: &str| write(d.path(), n, t);
        w(
            "meta/_journal.json",
            r#"{"version":"7","dialect":"postgresql","entries":[
              {"idx":0,"version":"7","when":1700000000000,"tag":"silly_ghost","breakpoints":true},
              {"idx":1,"version":"7","when":1700000100000,"tag":"brave_custom","breakpoints":true}]}"#,
        );
        w("silly_ghost.sql", "CREATE TABLE a (x int);");
        w("brave_custom.sql", "-- Custom SQL migration file, put your code below! --\n");
        let f = load_tolerant(d.path()).unwrap();
        let got: Vec<_> =
            f.migrations.iter().map(|m| (m.version.as_str(), m.name.as_str())).collect();
        assert_eq!(got, [("0", "silly_ghost"), ("1", "brave_custom")]);
        assert!(f.migrations[1].up_statements().unwrap().is_empty());
    }
}
