//! goose (pressly/goose): one `<version>_<name>.sql` per migration, its SQL in a
//! `-- +goose Up` section and a `-- +goose Down` section; `StatementBegin`/`StatementEnd`
//! around a statement whose body holds semicolons; `NO TRANSACTION` runs the file outside a
//! transaction. Read by the rules of goose's own parser (v3.27, `internal/sqlparser`), its
//! refusals included: goose cannot be installed here, so its source is the reference. Each
//! section keeps the file's line numbers (the other lines are blanked).

use std::path::Path;

use super::{header_directives, sections, Entry, Folder, Layout, SqlFile, Unreadable, Version};
use crate::core::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Annotation {
    Up,
    Down,
    StatementBegin,
    StatementEnd,
    NoTransaction,
    EnvsubOn,
    EnvsubOff,
}

const ANNOTATIONS: [(&str, Annotation); 7] = [
    ("Up", Annotation::Up),
    ("Down", Annotation::Down),
    ("StatementBegin", Annotation::StatementBegin),
    ("StatementEnd", Annotation::StatementEnd),
    ("NO TRANSACTION", Annotation::NoTransaction),
    ("ENVSUB ON", Annotation::EnvsubOn),
    ("ENVSUB OFF", Annotation::EnvsubOff),
];

/// A line goose takes as an annotation (a `--` line that names `+goose`), and what it says;
/// Err with goose's reason where goose refuses the line.
fn annotation(line: &str) -> Option<std::result::Result<Annotation, String>> {
    if !(line.trim().starts_with("--") && line.contains("+goose")) {
        return None;
    }
    if line.starts_with([' ', '\t']) {
        return Some(Err("an annotation must start the line; goose refuses leading space".into()));
    }
    let cmd = line.replace("--", "").replacen("+goose", "", 1);
    if cmd.contains("+goose") {
        return Some(Err("two `+goose` annotations on one line".into()));
    }
    let cmd = cmd.trim();
    if cmd.is_empty() {
        return Some(Err("an empty `+goose` annotation".into()));
    }
    let known = ANNOTATIONS.iter().find(|(name, _)| name.eq_ignore_ascii_case(cmd));
    Some(known.map(|(_, a)| *a).ok_or_else(|| {
        format!("`{cmd}` is not a goose annotation (Up, Down, StatementBegin, StatementEnd, NO TRANSACTION, ENVSUB ON, ENVSUB OFF)")
    }))
}

/// A line goose reads as an annotation, well-formed or not.
pub(super) fn is_annotation(line: &str) -> bool {
    annotation(line).is_some()
}

/// A line detection takes for goose's: its up annotation.
pub(super) fn is_up_marker(line: &str) -> bool {
    matches!(annotation(line), Some(Ok(Annotation::Up)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Up,
    BeginUp,
    Down,
    BeginDown,
}

/// What goose's parser makes of a file: which lines belong to which section, the
/// statements it would send, and the file's annotations.
#[derive(Default)]
struct Parsed {
    /// Per line: Some(true) in the up section, Some(false) in the down section, None for
    /// annotations and lines before the up annotation.
    section: Vec<Option<bool>>,
    /// The statements goose would send: their lines (0-based, inclusive).
    chunks: Vec<(usize, usize)>,
    no_transaction: bool,
    envsub: Option<usize>,
}

/// A line (1-based) and what goose says of it.
pub(super) type LineError = (usize, String);

fn unfinished(from: usize) -> LineError {
    (
        from + 1,
        "this statement never ends with `;` at the end of a line; goose refuses it (missing semicolon)".into(),
    )
}

/// goose's state machine, a line at a time.
struct Machine {
    p: Parsed,
    state: State,
    /// The statement being gathered: its first line, and whether it holds anything.
    open: Option<(usize, bool)>,
}

impl Machine {
    fn annotate(&mut self, a: Annotation, i: usize) -> std::result::Result<(), LineError> {
        let refuse = |why: &str| Err((i + 1, why.to_string()));
        self.state = match (a, self.state) {
            (Annotation::Up, State::Start) => State::Up,
            (Annotation::Up, _) => return refuse("a second `-- +goose Up`"),
            (Annotation::Down, State::Up) => {
                if let Some((from, true)) = self.open {
                    return Err(unfinished(from));
                }
                self.open = None;
                State::Down
            }
            (Annotation::Down, _) => return refuse("`-- +goose Down` must follow the up section"),
            (Annotation::StatementBegin, State::Up) => State::BeginUp,
            (Annotation::StatementBegin, State::Down) => State::BeginDown,
            (Annotation::StatementBegin, _) => {
                return refuse(
                    "`StatementBegin` must be inside the up or down section, outside another block",
                )
            }
            (Annotation::StatementEnd, State::BeginUp | State::BeginDown) => {
                let from = self.open.take().map_or(i, |(from, _)| from);
                self.p.chunks.push((from, i));
                if self.state == State::BeginUp {
                    State::Up
                } else {
                    State::Down
                }
            }
            (Annotation::StatementEnd, _) => {
                return refuse("`StatementEnd` without a `StatementBegin`")
            }
            (Annotation::NoTransaction, s) => {
                self.p.no_transaction = true;
                s
            }
            (Annotation::EnvsubOn, s) => {
                self.p.envsub = self.p.envsub.or(Some(i));
                s
            }
            (Annotation::EnvsubOff, s) => s,
        };
        Ok(())
    }

    /// A line that is not an annotation.
    fn sql(&mut self, i: usize, line: &str) -> std::result::Result<(), LineError> {
        let up = match self.state {
            State::Start => None,
            State::Up | State::BeginUp => Some(true),
            State::Down | State::BeginDown => Some(false),
        };
        // Comments and empty lines between statements are dropped by goose.
        if self.open.is_none() && (line.trim().starts_with("--") || line.is_empty()) {
            self.p.section[i] = up;
            return Ok(());
        }
        let Some(up) = up else { return Err((i + 1, "SQL before `-- +goose Up`".into())) };
        self.p.section[i] = Some(up);
        let (from, filled) = self.open.unwrap_or((i, false));
        self.open = Some((from, filled || !line.trim().is_empty()));
        if matches!(self.state, State::Up | State::Down) && sections::ends_with_semicolon(line) {
            self.p.chunks.push((from, i));
            self.open = None;
        }
        Ok(())
    }
}

/// goose's parser over the lines; Err names the line (1-based) and goose's reason.
fn parse(lines: &[&str]) -> std::result::Result<Parsed, LineError> {
    let p = Parsed { section: vec![None; lines.len()], ..Parsed::default() };
    let mut m = Machine { p, state: State::Start, open: None };
    for (i, line) in lines.iter().enumerate() {
        if m.state == State::Start && line.trim().is_empty() {
            continue;
        }
        match annotation(line) {
            Some(a) => m.annotate(a.map_err(|why| (i + 1, why))?, i)?,
            None => m.sql(i, line)?,
        }
    }
    match (m.state, m.open) {
        (State::Start, _) => {
            Err((1, "no `-- +goose Up` line; goose migrations start with it".into()))
        }
        (State::BeginUp | State::BeginDown, _) => {
            Err((lines.len(), "a `StatementBegin` without its `StatementEnd`".into()))
        }
        (_, Some((from, true))) => Err(unfinished(from)),
        _ => Ok(m.p),
    }
}

fn read(path: &Path) -> Result<(SqlFile, Option<SqlFile>)> {
    let raw = SqlFile::read_text(path)?;
    let lines: Vec<&str> = raw.lines().collect();
    let at =
        |(line, msg): (usize, String)| Error::input(format!("{}:{line}: {msg}", path.display()));
    let p = parse(&lines).map_err(at)?;
    if let Some(i) = p.envsub {
        return Err(at((
            i + 1,
            "`ENVSUB ON`: goose puts environment variables into the SQL as it runs; sluice runs the file as written, so it cannot show or check what would run. Write the values into the file, or run goose through [project] tool = \"command\"".into(),
        )));
    }
    sections::check_cuts(
        &lines,
        &p.chunks,
        "goose",
        "`-- +goose StatementBegin` and `-- +goose StatementEnd`",
    )
    .map_err(at)?;
    let file = |up: bool| -> Result<SqlFile> {
        let text = sections::section_text(&lines, &p.section, up);
        let d = header_directives(&text).map_err(at)?;
        let f = SqlFile {
            path: path.to_path_buf(),
            text,
            no_transaction: p.no_transaction || d.no_transaction,
            layout: Layout::Goose,
            sum: Default::default(),
        };
        f.check_lexing()?;
        Ok(f)
    };
    // goose runs an empty section as nothing and records the version; a file without a
    // down section has an empty one, which undoes nothing.
    Ok((file(true)?, Some(file(false)?)))
}

/// goose's version: the digits before the first `_`, a number above zero
/// (`NumericComponent`). The goose command refuses a folder with any other `.sql` name.
fn version_of(file: &str, ext: &str) -> Option<(Version, String)> {
    let stem = file.strip_suffix(ext)?;
    let (digits, name) = stem.split_once('_')?;
    let n: i64 = digits.parse().ok()?;
    if n < 1 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((Version::parse(digits)?, name.to_string()))
}

fn name_of(_: &Path, file: &str) -> Entry {
    match version_of(file, ".sql") {
        Some((v, name)) => Entry::Migration(v, name),
        None => Entry::Refused,
    }
}

pub fn load_tolerant(dir: &Path) -> Result<Folder> {
    let mut folder = super::one_per_entry(
        dir,
        false,
        "not a goose migration name, which the goose command refuses; expected <version>_<name>.sql with a version above 0",
        name_of,
        read,
    )?;
    go_migrations(dir, &mut folder)?;
    Ok(folder)
}

/// Go migrations (`<version>_<name>.go`) run only from a binary built with them: sluice
/// sets each aside by name rather than skipping a version goose would run.
fn go_migrations(dir: &Path, folder: &mut Folder) -> Result<()> {
    for path in super::sorted_entries(dir)? {
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else { continue };
        if file.ends_with("_test.go") || path.is_dir() {
            continue;
        }
        let Some((version, name)) = version_of(file, ".go") else { continue };
        let taken = folder.migrations.iter().map(|m| &m.version);
        if let Some(other) =
            taken.chain(folder.unreadable.iter().map(|u| &u.version)).find(|v| **v == version)
        {
            return Err(Error::input(format!(
                "duplicate version {other}: {} and a migration of the same version; give one of them a new version",
                path.display()
            )));
        }
        folder.unreadable.push(Unreadable {
            version,
            name,
            message: format!(
                "{}: a Go migration; goose runs it only from a binary built with it, and sluice cannot run Go code. Run that binary under sluice's guard with [project] tool = \"command\"",
                path.display()
            ),
        });
    }
    folder.unreadable.sort_by(|a, b| a.version.cmp(&b.version));
    Ok(())
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

    fn refusal(text: &str) -> String {
        let d = folder(&[("1_a.sql", text)]);
        let f = load_tolerant(d.path()).unwrap();
        assert!(f.migrations.is_empty(), "{text:?} was read");
        f.unreadable[0].message.clone()
    }

    const FUNCTION: &str = "-- +goose Up\n-- +goose NO TRANSACTION\nCREATE TABLE t (a int);\n\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\n-- +goose StatementEnd\nCREATE INDEX CONCURRENTLY i ON t (a); -- the index\n\n-- +goose Down\nDROP FUNCTION f();\nDROP TABLE t;\n";

    #[test]
    fn sections_keep_line_numbers_blocks_and_the_files_transaction_mode() {
        let d = folder(&[("00001_init.sql", FUNCTION), ("00002_empty.sql", "-- +goose Up\n")]);
        let f = load_tolerant(d.path()).unwrap();
        assert!(f.unreadable.is_empty(), "{:?}", f.unreadable);
        let m = &f.migrations[0];
        assert_eq!((m.version.as_str(), m.name.as_str()), ("00001", "init"));
        assert!(m.up.no_transaction, "NO TRANSACTION is the file's");
        let up = m.up.statements().unwrap();
        let lines: Vec<usize> = up.iter().map(|s| s.line).collect();
        assert_eq!(lines, [3, 6, 12], "{up:?}");
        assert!(up[1].text.contains("RETURN 1;"), "the block is one statement");
        let down = m.down.as_ref().unwrap();
        assert!(down.no_transaction);
        let down = down.statements().unwrap();
        assert_eq!(down.iter().map(|s| s.line).collect::<Vec<_>>(), [15, 16]);
        let empty = &f.migrations[1];
        assert!(empty.up.is_blank() && empty.down.as_ref().unwrap().is_blank());
    }

    #[test]
    fn what_goose_refuses_is_refused_with_the_line() {
        let cases = [
            ("CREATE TABLE t (a int);\n-- +goose Up\n", ":1: SQL before `-- +goose Up`"),
            ("-- just a comment\n", "no `-- +goose Up` line"),
            ("-- +goose Up\nCREATE TABLE t (a int)\n-- +goose Down\n", ":2: this statement never ends with `;`"),
            ("-- +goose Up\nSELECT 1;\nSELECT 2\n", ":3: this statement never ends"),
            ("-- +goose Up\n  -- +goose StatementBegin\n", ":2: an annotation must start the line"),
            ("-- +goose Up\n-- +goose Upgrade\n", "`Upgrade` is not a goose annotation"),
            ("-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n", "without its `StatementEnd`"),
            ("-- +goose Up\n-- +goose StatementEnd\n", ":2: `StatementEnd` without"),
            ("-- +goose Up\nSELECT 1;\n-- +goose Up\n", ":3: a second `-- +goose Up`"),
            ("-- +goose Down\nSELECT 1;\n", ":1: `-- +goose Down` must follow"),
            ("-- +goose Up\n-- +goose ENVSUB ON\nSELECT '${X}';\n", ":2: `ENVSUB ON`"),
            (
                "-- +goose Up\nCREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND $$ LANGUAGE plpgsql;\n",
                ":4: goose ends a statement here",
            ),
        ];
        for (text, want) in cases {
            let got = refusal(text);
            assert!(got.contains(want), "{text:?}: {got}");
        }
    }

    #[test]
    fn annotations_are_read_as_goose_reads_them() {
        assert_eq!(annotation("--+goose up").unwrap(), Ok(Annotation::Up));
        assert_eq!(annotation("-- +goose no transaction").unwrap(), Ok(Annotation::NoTransaction));
        assert!(annotation("-- goose Up").is_none(), "no + sign: a plain comment");
        assert!(annotation("SELECT '+goose';").is_none());
        assert!(sections::ends_with_semicolon("SELECT 1; -- done"));
        assert!(!sections::ends_with_semicolon("SELECT 1;-- done"), "`1;--` is one word");
        assert!(!sections::ends_with_semicolon("SELECT ';' || x"));
    }

    #[test]
    fn names_go_migrations_and_versions_follow_goose() {
        let d = folder(&[
            ("00001_a.sql", "-- +goose Up\nSELECT 1;\n"),
            ("00002_b.go", "package migrations\n"),
            ("helpers.go", "package migrations\n"),
            ("00002_b_test.go", "package migrations\n"),
        ]);
        let f = load_tolerant(d.path()).unwrap();
        assert_eq!(f.migrations.len(), 1);
        assert_eq!(f.unreadable.len(), 1, "{:?}", f.unreadable);
        assert!(f.unreadable[0].message.contains("a Go migration"), "{}", f.unreadable[0].message);
        for bad in ["0_zero.sql", "seed.sql", "x1_a.sql"] {
            let d =
                folder(&[("00001_a.sql", "-- +goose Up\nSELECT 1;\n"), (bad, "-- +goose Up\n")]);
            let e = load_tolerant(d.path()).unwrap_err();
            assert!(e.message.contains(bad) && e.message.contains("goose"), "{}", e.message);
        }
        let d = folder(&[("1_a.sql", "-- +goose Up\n"), ("001_b.sql", "-- +goose Up\n")]);
        assert!(load_tolerant(d.path()).unwrap_err().message.contains("duplicate version"));
    }

    /// A statement as both sides send it, compared without comments, semicolons or spacing.
    fn plain(sql: &str) -> String {
        let lines = sql.lines().map(|l| l.find("--").map_or(l, |i| &l[..i]));
        let words: Vec<String> =
            lines.flat_map(|l| l.split_whitespace()).map(String::from).collect();
        words.join(" ").replace(';', "").split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// goose's own parser test data, from a goose checkout named by SLUICE_GOOSE_SRC (goose
    /// cannot be installed here; its repository can be read): each valid file reads into the
    /// SQL goose's golden files say it sends, in order; each invalid one is refused; the
    /// transaction files say what goose's do.
    #[test]
    fn goose_own_parser_test_data_when_a_checkout_is_named() {
        let Ok(src) = std::env::var("SLUICE_GOOSE_SRC") else {
            eprintln!("skipped: SLUICE_GOOSE_SRC names no goose checkout");
            return;
        };
        let data = Path::new(&src).join("internal/sqlparser/testdata");
        let mut compared = 0;
        for case in std::fs::read_dir(data.join("valid-up")).unwrap().flatten() {
            let (up, _) = read(&case.path().join("input.sql")).unwrap();
            // A case written in MySQL (backquoted names) is no PostgreSQL statement.
            if up.text.contains('`') {
                eprintln!("skipped {}: MySQL", case.path().display());
                continue;
            }
            let mut golden: Vec<_> = std::fs::read_dir(case.path())
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(".up.golden.sql"))
                .collect();
            golden.sort();
            let want: Vec<String> =
                golden.iter().map(|p| plain(&std::fs::read_to_string(p).unwrap())).collect();
            let got: Vec<String> =
                up.statements().unwrap().iter().map(|s| plain(&s.text)).collect();
            assert_eq!(got.join(" "), want.join(" "), "{}", case.path().display());
            compared += 1;
        }
        for bad in std::fs::read_dir(data.join("invalid/up")).unwrap().flatten() {
            assert!(read(&bad.path()).is_err(), "{} was read", bad.path().display());
            compared += 1;
        }
        for f in std::fs::read_dir(data.join("valid-txn")).unwrap().flatten() {
            let (up, _) = read(&f.path()).unwrap();
            let name = f.file_name().to_string_lossy().into_owned();
            assert_eq!(up.no_transaction, name.contains("no_transaction"), "{name}");
            compared += 1;
        }
        eprintln!("[figure] goose_testdata_files={compared}");
        assert!(compared > 10, "{compared}");
    }
}
