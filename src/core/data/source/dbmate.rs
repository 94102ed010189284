//! dbmate: one `<version>_<desc>.sql` per migration with `-- migrate:up` and
//! `-- migrate:down` sections; `transaction:false` on a marker line runs that section outside
//! a transaction. Each section keeps the file's line numbers (the other lines are blanked),
//! so errors and lint findings point into the real file.

use std::path::Path;

use super::{header_directives, Entry, Folder, Layout, SqlFile, Version};
use crate::core::error::{Error, Result};

/// A line dbmate reads as its up marker (detection uses it).
pub(super) fn is_up_marker(line: &str) -> bool {
    marker(line, "up").is_some()
}

/// A line dbmate reads as one of its section markers.
pub(super) fn is_marker(line: &str) -> bool {
    marker(line, "up").is_some() || marker(line, "down").is_some()
}

struct Marker {
    line: usize,
    no_transaction: bool,
}

/// dbmate's marker: `--`, optional space, `migrate:up` or `migrate:down`, at the start of a
/// line (`^--\s*migrate:up(\s*$|\s+\S+)`), options after it.
fn marker(line: &str, which: &str) -> Option<Marker> {
    let rest =
        line.strip_prefix("--")?.trim_start().strip_prefix("migrate:")?.strip_prefix(which)?;
    if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
        return None;
    }
    let no_transaction = rest.split_whitespace().any(|o| o == "transaction:false");
    Some(Marker { line: 0, no_transaction })
}

/// The lines `from..to` (0-based, `to` exclusive) of `text`, with every line before `from`
/// left empty so line numbers stay the file's.
fn section(lines: &[&str], from: usize, to: usize) -> String {
    let mut out = "\n".repeat(from);
    for l in &lines[from..to] {
        out.push_str(l);
        out.push('\n');
    }
    out
}

fn read(path: &Path) -> Result<(SqlFile, Option<SqlFile>)> {
    let raw = SqlFile::read_text(path)?;
    let lines: Vec<&str> = raw.lines().collect();
    let (mut up, mut down) = (None, None);
    for (i, l) in lines.iter().enumerate() {
        let slot = if let Some(m) = marker(l, "up") {
            (&mut up, m)
        } else if let Some(m) = marker(l, "down") {
            (&mut down, m)
        } else {
            continue;
        };
        if slot.0.is_some() {
            return Err(Error::input(format!(
                "{}:{}: a second {} marker; dbmate records the version once per section and fails at the second on PostgreSQL (after running it): split the file into two migrations",
                path.display(),
                i + 1,
                l.trim()
            )));
        }
        *slot.0 = Some(Marker { line: i, ..slot.1 });
    }
    let Some(up) = up else {
        return Err(Error::input(format!(
            "{}: no `-- migrate:up` line; dbmate migrations start their SQL with it",
            path.display()
        )));
    };
    let stray = lines[..up.line].iter().position(|l| {
        let t = l.trim();
        !(t.is_empty() || t.starts_with("--"))
    });
    if let Some(i) = stray {
        return Err(Error::input(format!(
            "{}:{}: SQL before `-- migrate:up`; dbmate refuses statements outside its sections",
            path.display(),
            i + 1
        )));
    }
    let up_end = match &down {
        Some(d) if d.line > up.line => d.line,
        Some(d) => {
            return Err(Error::input(format!(
                "{}:{}: `-- migrate:down` comes before `-- migrate:up`",
                path.display(),
                d.line + 1
            )))
        }
        None => lines.len(),
    };
    let file = |m: &Marker, to: usize| -> Result<SqlFile> {
        let text = section(&lines, m.line + 1, to);
        let d = header_directives(&text)
            .map_err(|(line, msg)| Error::input(format!("{}:{line}: {msg}", path.display())))?;
        let f = SqlFile {
            path: path.to_path_buf(),
            text,
            no_transaction: m.no_transaction || d.no_transaction,
            layout: Layout::Dbmate,
            sum: Default::default(),
        };
        f.check_lexing()?;
        Ok(f)
    };
    // An empty section runs as nothing and is recorded, as dbmate runs it; an empty down
    // section undoes nothing.
    let up_file = file(&up, up_end)?;
    let down_file = down.as_ref().map(|d| file(d, lines.len())).transpose()?;
    Ok((up_file, down_file))
}

/// dbmate reads the files named `^(\d+).*\.sql$`: the version is the leading digits, the
/// rest (after an `_`) the description; it passes over every other file.
fn name_of(_: &Path, file: &str) -> Entry {
    let stem = &file[..file.len() - 4];
    let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
    match Version::parse(&stem[..digits]) {
        Some(v) => {
            let rest = &stem[digits..];
            // `<digits>_name.sql`, or Supabase's `<digits>-name.sql`.
            Entry::Migration(v, rest.trim_start_matches(['_', '-']).to_string())
        }
        None => Entry::Skipped(Some(
            "does not start with a version number: dbmate never runs it".into(),
        )),
    }
}

pub fn load_tolerant(dir: &Path) -> Result<Folder> {
    super::one_per_entry(
        dir,
        false,
        "not a dbmate migration name; expected <version>_<description>.sql, version in digits",
        name_of,
        read,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_keep_line_numbers_and_their_transaction_marker() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("20240101120000_idx.sql"),
            "-- a comment\n-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (a);\n\n-- migrate:down\nDROP INDEX i;\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("20240102120000_t.sql"),
            "-- migrate:up\nCREATE TABLE t2 (a int);\n-- migrate:down\n",
        )
        .unwrap();
        std::fs::write(d.path().join("20240103120000_bad.sql"), "CREATE TABLE t3 (a int);\n")
            .unwrap();
        let f = load_tolerant(d.path()).unwrap();
        let (ok, bad) = (f.migrations, f.unreadable);
        assert_eq!(ok.len(), 2);
        let m = &ok[0];
        assert_eq!((m.version.as_str(), m.name.as_str()), ("20240101120000", "idx"));
        assert!(m.up.no_transaction);
        let up = m.up.statements().unwrap();
        assert_eq!((up.len(), up[0].line), (1, 3));
        let down = m.down.as_ref().unwrap();
        assert!(!down.no_transaction);
        assert_eq!(down.statements().unwrap()[0].line, 6);
        assert!(ok[1].down.as_ref().unwrap().is_blank(), "an empty down section undoes nothing");
        assert!(bad[0].message.contains("no `-- migrate:up` line"), "{}", bad[0].message);
    }
}
