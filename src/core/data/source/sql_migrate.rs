//! sql-migrate (rubenv/sql-migrate): every `.sql` file of the folder is a migration, known by
//! its file name; `-- +migrate Up` and `-- +migrate Down` start its sections (`notransaction`
//! after either runs that direction outside a transaction), `StatementBegin`/`StatementEnd`
//! keep a statement's semicolons. Read by the rules of its parser (`sqlparse/sqlparse.go`)
//! and its ordering (`migrate.go`: the number a name starts with, then the name): it cannot be
//! installed here, so its source is the reference.
//!
//! sluice's versions are numbers: a file's is the number its name starts with; files that
//! share one (sql-migrate orders them by name) are `<number>.1`, `<number>.2`... in that
//! order.

use std::collections::BTreeMap;
use std::path::Path;

use super::goose::LineError;
use super::{header_directives, sections, Folder, Layout, Migration, SqlFile, Unreadable, Version};
use crate::core::error::{Error, Result};

const PREFIX: &str = "-- +migrate ";

/// A line detection takes for sql-migrate's: an Up or Down command.
pub(super) fn is_section_marker(line: &str) -> bool {
    let fields = line.strip_prefix(PREFIX).map(|rest| rest.split_whitespace().next());
    matches!(fields, Some(Some("Up" | "Down")))
}

#[derive(Default)]
struct Parsed {
    section: Vec<Option<bool>>,
    chunks: Vec<(usize, usize)>,
    no_transaction_up: bool,
    no_transaction_down: bool,
}

fn no_terminator(from: usize) -> LineError {
    (
        from + 1,
        "this statement never ends with `;` at the end of a line or `-- +migrate StatementEnd`; sql-migrate refuses it".into(),
    )
}

/// sql-migrate's parser over the lines. Lines before the first section and `-- ` comments
/// are dropped, as sql-migrate drops them; unknown commands are passed over as it does.
fn parse(lines: &[&str]) -> std::result::Result<Parsed, LineError> {
    let mut p = Parsed { section: vec![None; lines.len()], ..Parsed::default() };
    let (mut up, mut in_block, mut ended) = (None::<bool>, false, false);
    // The statement being gathered: its first line, and whether it holds anything.
    let mut open: Option<(usize, bool)> = None;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("-- ") && !line.starts_with("-- +") {
            continue;
        }
        if let Some(rest) = line.strip_prefix(PREFIX) {
            let mut fields = rest.split_whitespace();
            let Some(command) = fields.next() else {
                return Err((i + 1, "an incomplete `-- +migrate` command".into()));
            };
            let no_tx = fields.any(|f| f == "notransaction");
            match command {
                "Up" | "Down" => {
                    if let Some((from, true)) = open {
                        return Err(no_terminator(from));
                    }
                    let is_up = command == "Up";
                    up = Some(is_up);
                    let flag =
                        if is_up { &mut p.no_transaction_up } else { &mut p.no_transaction_down };
                    *flag |= no_tx;
                }
                "StatementBegin" if up.is_some() => in_block = true,
                "StatementEnd" if up.is_some() => {
                    ended = in_block;
                    in_block = false;
                }
                _ => {}
            }
        }
        let Some(is_up) = up else { continue };
        if !line.starts_with("-- +") {
            p.section[i] = Some(is_up);
            let (from, filled) = open.unwrap_or((i, false));
            open = Some((from, filled || !line.trim().is_empty()));
        }
        if (!in_block && sections::ends_with_semicolon(line)) || ended {
            ended = false;
            let from = open.take().map_or(i, |(from, _)| from);
            p.chunks.push((from, i));
        }
    }
    if in_block {
        return Err((lines.len(), "a `StatementBegin` without its `StatementEnd`".into()));
    }
    if up.is_none() {
        return Err((1, "no `-- +migrate Up` or `-- +migrate Down` line; sql-migrate runs nothing of such a file".into()));
    }
    if let Some((from, true)) = open {
        return Err(no_terminator(from));
    }
    Ok(p)
}

fn read(path: &Path) -> Result<(SqlFile, Option<SqlFile>)> {
    let raw = SqlFile::read_text(path)?;
    let lines: Vec<&str> = raw.lines().collect();
    let at = |(line, msg): LineError| Error::input(format!("{}:{line}: {msg}", path.display()));
    let p = parse(&lines).map_err(at)?;
    let wrap = "`-- +migrate StatementBegin` and `-- +migrate StatementEnd`";
    sections::check_cuts(&lines, &p.chunks, "sql-migrate", wrap).map_err(at)?;
    let file = |up: bool| -> Result<SqlFile> {
        let text = sections::section_text(&lines, &p.section, up);
        let d = header_directives(&text).map_err(at)?;
        let own = if up { p.no_transaction_up } else { p.no_transaction_down };
        let f = SqlFile {
            path: path.to_path_buf(),
            text,
            no_transaction: own || d.no_transaction,
            layout: Layout::SqlMigrate,
            sum: Default::default(),
        };
        f.check_lexing()?;
        Ok(f)
    };
    // An empty section runs as nothing; a file without a down section undoes nothing.
    Ok((file(true)?, Some(file(false)?)))
}

/// The number a file name starts with, and the rest of its name.
fn number_of(file: &str) -> Option<(&str, &str)> {
    let stem = file.strip_suffix(".sql")?;
    let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 0).then(|| (&stem[..digits], stem[digits..].trim_start_matches(['_', '-', '.'])))
}

/// The file a migration of this layout was read from, as sql-migrate records it.
pub fn record_id(path: &Path) -> Option<String> {
    path.file_name().and_then(|f| f.to_str()).map(str::to_string)
}

/// The names sql-migrate may have recorded for a migration whose file is gone: its number
/// (without a `.k` suffix), its name, and the separators sql-migrate projects use.
pub fn record_ids(version: &str, name: &str) -> Vec<String> {
    let number = version.split('.').next().unwrap_or(version);
    ["_", "-", ""].iter().map(|sep| format!("{number}{sep}{name}.sql")).collect()
}

pub fn load_tolerant(dir: &Path) -> Result<Folder> {
    // By number, then by name: sql-migrate's order.
    let mut by_number: BTreeMap<(usize, String), Vec<(String, String)>> = BTreeMap::new();
    for path in super::sorted_entries(dir)? {
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else { continue };
        if file.starts_with('.') || !file.ends_with(".sql") || path.is_dir() {
            continue;
        }
        let Some((digits, name)) = number_of(file) else {
            return Err(Error::input(format!(
                "{}: sql-migrate runs a file without a leading number after the numbered ones, by name; sluice's versions are numbers: this folder needs a number at the front of every name",
                path.display()
            )));
        };
        let n = digits.trim_start_matches('0');
        let key = (n.len(), n.to_string());
        by_number.entry(key).or_default().push((file.to_string(), name.to_string()));
    }
    let mut folder = Folder::default();
    for files in by_number.values_mut() {
        files.sort();
        let shared = files.len() > 1;
        for (k, (file, name)) in files.iter().enumerate() {
            let digits = number_of(file).map_or("0", |(d, _)| d);
            let text = if shared { format!("{digits}.{}", k + 1) } else { digits.to_string() };
            let Some(version) = Version::parse(&text) else { continue };
            let name = name.to_string();
            match read(&dir.join(file)) {
                Ok((up, down)) => {
                    folder.migrations.push(Migration { version, name, up, down, verify: None })
                }
                Err(e) => folder.unreadable.push(Unreadable { version, name, message: e.message }),
            }
        }
    }
    Ok(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(d.path().join(name), text).unwrap();
        }
        d
    }

    #[test]
    fn sections_blocks_and_each_directions_transaction_mode() {
        let text = "-- leading comment, dropped\nSELECT 'never runs';\n-- +migrate Up notransaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- +migrate StatementBegin\nCREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\n-- +migrate StatementEnd\n\n-- +migrate Down\nDROP FUNCTION f();\nDROP INDEX i;\n";
        let d = folder(&[
            ("1_init.sql", text),
            ("2_empty.sql", "-- +migrate Up\n-- +migrate Down\n-- nothing\n"),
        ]);
        let f = load_tolerant(d.path()).unwrap();
        assert!(f.unreadable.is_empty(), "{:?}", f.unreadable);
        let m = &f.migrations[0];
        assert_eq!((m.version.as_str(), m.name.as_str()), ("1", "init"));
        assert!(m.up.no_transaction);
        let up = m.up.statements().unwrap();
        assert_eq!(up.iter().map(|s| s.line).collect::<Vec<_>>(), [4, 6], "{up:?}");
        let down = m.down.as_ref().unwrap();
        assert!(!down.no_transaction, "notransaction is the Up line's only");
        assert_eq!(down.statements().unwrap().len(), 2);
        assert!(f.migrations[1].up.is_blank());
    }

    #[test]
    fn what_sql_migrate_refuses_is_refused_and_shared_numbers_are_ordered_by_name() {
        let bad = [
            ("-- +migrate Up\nCREATE TABLE t (a int)\n-- +migrate Down\n", ":2: this statement never ends"),
            ("-- +migrate Up\nSELECT 1\n", ":2: this statement never ends"),
            ("-- +migrate Up\n-- +migrate StatementBegin\nSELECT 1;\n", "without its `StatementEnd`"),
            ("CREATE TABLE t (a int);\n", "no `-- +migrate Up`"),
            ("-- +migrate Up\nCREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND $$ LANGUAGE plpgsql;\n", ":4: sql-migrate ends a statement here"),
        ];
        for (text, want) in bad {
            let d = folder(&[("1_a.sql", text)]);
            let f = load_tolerant(d.path()).unwrap();
            assert!(
                f.unreadable[0].message.contains(want),
                "{text:?}: {}",
                f.unreadable[0].message
            );
        }
        let up = "-- +migrate Up\nSELECT 1;\n";
        let d = folder(&[("20230222-b-2.sql", up), ("20230222-b-1.sql", up), ("3_c.sql", up)]);
        let f = load_tolerant(d.path()).unwrap();
        let order: Vec<(&str, &str)> =
            f.migrations.iter().map(|m| (m.version.as_str(), m.name.as_str())).collect();
        assert_eq!(order, [("3", "c"), ("20230222.1", "b-1"), ("20230222.2", "b-2")]);
        let d = folder(&[("1_a.sql", up), ("init.sql", up)]);
        assert!(load_tolerant(d.path()).unwrap_err().message.contains("init.sql"));
        assert_eq!(record_ids("20230222.2", "b-2")[1], "20230222-b-2.sql");
    }
}
