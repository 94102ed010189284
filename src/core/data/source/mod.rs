//! Migration files: discovery, versions, directives and checksums, in sluice's own layout
//! or another tool's (`layout.rs` tells which).

mod dbmate;
mod diesel;
pub mod drizzle;
mod files_read;
mod flyway;
mod golang;
mod goose;
mod layout;
mod native;
mod prisma;
mod sections;
pub mod sql_migrate;
mod sqlx;

use std::cmp::Ordering;
use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::core::data::sql::{self, Statement};
use crate::core::error::{Error, Result};

pub use layout::{detect, BlankFile, Layout};
pub use native::{load_native, load_native_tolerant, Unreadable};

/// Every migration in `dir`, in the given layout or the one detected; the first file that
/// cannot be read is an error.
pub fn load(dir: &Path, layout: Option<Layout>) -> Result<Vec<Migration>> {
    let folder = load_tolerant(dir, layout)?;
    match folder.unreadable.into_iter().next() {
        Some(u) => Err(Error::input(u.message)),
        None => Ok(folder.migrations),
    }
}

/// `load`, with migrations whose files cannot be read set aside (see `load_native_tolerant`)
/// and the files the layout's tool passes over listed.
pub fn load_tolerant(dir: &Path, layout: Option<Layout>) -> Result<Folder> {
    // Every file is split: one hop to a parser thread for the folder, not one per file.
    sql::parser::run(|| load_here(dir, layout))
}

/// What a migrations folder holds, read by its layout's rules.
#[derive(Debug, Default)]
pub struct Folder {
    pub migrations: Vec<Migration>,
    /// Named like migrations, but their files cannot be read: set aside and flagged.
    pub unreadable: Vec<Unreadable>,
    /// Files the layout's tool passes over (not named like its migrations, not in its
    /// journal): they never run, so sluice does not run them either, and says so.
    pub ignored: Vec<Ignored>,
}

impl Folder {
    fn of(migrations: Vec<Migration>, unreadable: Vec<Unreadable>) -> Folder {
        Folder { migrations, unreadable, ignored: Vec::new() }
    }
}

/// A file in the migrations folder that will never run, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ignored {
    pub path: PathBuf,
    pub reason: String,
}

fn load_here(dir: &Path, layout: Option<Layout>) -> Result<Folder> {
    files_read::forget();
    let folder = load_layout(dir, layout);
    files_read::forget();
    folder
}

fn load_layout(dir: &Path, layout: Option<Layout>) -> Result<Folder> {
    let layout = match layout {
        Some(l) => l,
        None => detect(dir)?,
    };
    match layout {
        Layout::Native => native::load_native_tolerant(dir).map(|(m, u)| Folder::of(m, u)),
        Layout::GolangMigrate => golang::load_tolerant(dir),
        Layout::Dbmate => dbmate::load_tolerant(dir),
        Layout::Flyway => flyway::load_tolerant(dir),
        Layout::Diesel => diesel::load_tolerant(dir),
        Layout::Sqlx => sqlx::load_tolerant(dir),
        Layout::Prisma => prisma::load_tolerant(dir),
        Layout::Drizzle => drizzle::load_tolerant(dir),
        Layout::Goose => goose::load_tolerant(dir),
        Layout::SqlMigrate => sql_migrate::load_tolerant(dir),
    }
}

/// The folder's entries, sorted; an unreadable folder names itself.
fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::input(format!(
            "migrations folder {}: {e}; create it or set [project] migrations in sluice.toml",
            dir.display()
        ))
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        paths.push(entry.map_err(|e| Error::input(format!("{}: {e}", dir.display())))?.path());
    }
    paths.sort();
    Ok(paths)
}

/// What a layout makes of one entry of its folder.
enum Entry {
    Migration(Version, String),
    /// Passed over by the tool; listed with the reason when there is one.
    Skipped(Option<String>),
    /// Refused by the tool: an error saying what was expected.
    Refused,
}

/// One migration per entry of `dir` (its folders when `folders`, else its `.sql` files):
/// `name_of` says what an entry is, `read` reads a migration's files. A version seen twice
/// is an error; a migration whose files cannot be read is set aside.
fn one_per_entry(
    dir: &Path,
    folders: bool,
    expected: &str,
    name_of: impl Fn(&Path, &str) -> Entry,
    read: impl Fn(&Path) -> Result<(SqlFile, Option<SqlFile>)>,
) -> Result<Folder> {
    let mut by_version: std::collections::BTreeMap<Version, (String, PathBuf)> =
        std::collections::BTreeMap::new();
    let mut folder = Folder::default();
    for path in sorted_entries(dir)? {
        let Some(entry) = path.file_name().and_then(|f| f.to_str()) else { continue };
        let wanted =
            if folders { path.is_dir() } else { entry.ends_with(".sql") && !path.is_dir() };
        if entry.starts_with('.') || !wanted {
            continue;
        }
        let (version, name) = match name_of(&path, entry) {
            Entry::Migration(v, n) => (v, n),
            Entry::Skipped(reason) => {
                folder.ignored.extend(reason.map(|reason| Ignored { path, reason }));
                continue;
            }
            Entry::Refused => return Err(Error::input(format!("{}: {expected}", path.display()))),
        };
        if let Some((_, other)) = by_version.get(&version) {
            return Err(Error::input(format!(
                "duplicate version {version}: {} and {}; give one of them a new version",
                other.display(),
                path.display()
            )));
        }
        by_version.insert(version, (name, path));
    }
    for (version, (name, path)) in by_version {
        match read(&path) {
            Ok((up, down)) => {
                folder.migrations.push(Migration { version, name, up, down, verify: None })
            }
            Err(e) => folder.unreadable.push(Unreadable { version, name, message: e.message }),
        }
    }
    Ok(folder)
}

/// `text` with one statement (and its semicolon) turned into spaces, newlines kept, so the
/// other statements keep their lines. `last`: the statement is found from the end.
fn blank_statement(text: &str, stmt: &Statement, last: bool) -> String {
    let needle = stmt.text.trim();
    let found = if last { text.rfind(needle) } else { text.find(needle) };
    let Some(start) = found else { return text.to_string() };
    let mut end = start + needle.len();
    let rest = &text[end..];
    if let Some(semi) = rest.find(';').filter(|&i| rest[..i].trim().is_empty()) {
        end += semi + 1;
    }
    let blanked: String =
        text[start..end].chars().map(|c| if c == '\n' { '\n' } else { ' ' }).collect();
    format!("{}{blanked}{}", &text[..start], &text[end..])
}

/// A migration version as the file name writes it: digits, or digit parts split by `.` or
/// `_` (Flyway's `1.10`), compared part by part numerically, trailing zero parts ignored
/// (`1.0` is `1`); or a Flyway repeatable (`R__<desc>`), which sorts after every version.
#[derive(Debug, Clone, Eq)]
pub struct Version {
    text: String,
    /// Normalised: parts without leading zeros joined by `.`, or `R__<desc>`. Equal keys are
    /// the same version.
    key: String,
    parts: Vec<String>,
    repeatable: bool,
}

impl Version {
    pub fn parse(text: &str) -> Option<Version> {
        if let Some(desc) = text.strip_prefix("R__") {
            if desc.is_empty() {
                return None;
            }
            return Some(Version {
                text: text.to_string(),
                key: text.to_string(),
                parts: Vec::new(),
                repeatable: true,
            });
        }
        let mut parts = Vec::new();
        for part in text.split(['.', '_']) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let p = part.trim_start_matches('0');
            parts.push(if p.is_empty() { "0" } else { p }.to_string());
        }
        while parts.len() > 1 && parts.last().is_some_and(|p| p == "0") {
            parts.pop();
        }
        Some(Version { text: text.to_string(), key: parts.join("."), parts, repeatable: false })
    }

    /// A code migration's id (a Knex file name, an Alembic revision), ordered by its
    /// position in the tool's order rather than by its text.
    pub fn ordered(id: &str, position: usize) -> Version {
        Version {
            text: id.to_string(),
            key: id.to_string(),
            parts: vec![position.to_string()],
            repeatable: false,
        }
    }

    /// A Flyway repeatable migration's version: `R__<desc>`.
    pub fn repeatable(desc: &str) -> Option<Version> {
        Version::parse(&format!("R__{desc}"))
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
    pub fn key(&self) -> &str {
        &self.key
    }
    /// Re-run whenever its file changes, after every versioned migration.
    pub fn is_repeatable(&self) -> bool {
        self.repeatable
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let numeric = |a: &String, b: &String| a.len().cmp(&b.len()).then_with(|| a.cmp(b));
        self.repeatable.cmp(&other.repeatable).then_with(|| {
            let zero = "0".to_string();
            let n = self.parts.len().max(other.parts.len());
            (0..n)
                .map(|i| {
                    numeric(self.parts.get(i).unwrap_or(&zero), other.parts.get(i).unwrap_or(&zero))
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
                .then_with(|| self.key.cmp(&other.key))
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::hash::Hash for Version {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key.hash(state)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// One SQL file of a migration.
#[derive(Debug, Clone)]
pub struct SqlFile {
    pub path: PathBuf,
    pub text: String,
    pub no_transaction: bool,
    /// Whose rules the file follows: what an empty file means, how it opts out of a
    /// transaction.
    pub layout: Layout,
    /// `checksum(&text)`, worked out on first use: a run asks for it several times per
    /// file (the status, the step, the verify after the change).
    pub(crate) sum: std::sync::OnceLock<String>,
}

impl SqlFile {
    /// Reads a file as UTF-8 without a leading byte-order mark (editors add one; it is not
    /// SQL); errors name the file (and the line of a bad byte). Only regular files are read:
    /// a FIFO would block forever, a device could be endless.
    pub fn read_text(path: &Path) -> Result<String> {
        let meta = std::fs::metadata(path)
            .map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
        if !meta.is_file() {
            return Err(Error::input(format!(
                "{}: not a regular file; a migration must be a plain file",
                path.display()
            )));
        }
        let mut bytes = match files_read::take(path) {
            Some(b) => b,
            None => {
                std::fs::read(path).map_err(|e| Error::input(format!("{}: {e}", path.display())))?
            }
        };
        if bytes.starts_with(b"\xEF\xBB\xBF") {
            bytes.drain(..3);
        }
        String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            Error::input(format!(
                "{}:{line}: not valid UTF-8 (byte {at}); save the file as UTF-8",
                path.display()
            ))
        })
    }

    /// Reads a file as UTF-8 and its header directives; errors name the file.
    pub fn read(path: &Path, layout: Layout) -> Result<SqlFile> {
        let text = Self::read_text(path)?;
        let directives = header_directives(&text)
            .map_err(|(line, msg)| Error::input(format!("{}:{line}: {msg}", path.display())))?;
        if let Some((line, tool, marker)) = sections::foreign_marker(&text) {
            let known = Layout::ALL.iter().any(|l| l.as_str() == tool);
            let fix = if known {
                format!("set layout = \"{tool}\" in [project] if the folder is {tool}'s, and keep it to one layout")
            } else {
                format!("sluice does not read {tool}'s files: move the down SQL to a down file of its own")
            };
            return Err(Error::input(format!(
                "{}:{line}: `{marker}` is {tool}'s section marker; read as {layout}, the whole file would run, the down section right after the up; {fix}",
                path.display()
            )));
        }
        let file = SqlFile {
            path: path.to_path_buf(),
            text,
            no_transaction: directives.no_transaction,
            layout,
            sum: Default::default(),
        };
        file.check_lexing()?;
        Ok(file)
    }

    /// A file that cannot be split (an unterminated quote, comment or dollar quote) is
    /// unreadable as soon as it is read, so `status` flags it as `apply` would.
    pub fn check_lexing(&self) -> Result<()> {
        match sql::lexical_problem(&self.text) {
            Some((line, message)) => {
                Err(Error::input(format!("{}:{line}: {message}", self.path.display())))
            }
            None => Ok(()),
        }
    }

    /// No statement in it: nothing, or only comments.
    pub fn is_blank(&self) -> bool {
        sql::is_blank(&self.text)
    }

    /// Why this file may not run, when it holds no statement and its layout's tool refuses
    /// that; None when it holds SQL, or runs as nothing the way its tool runs it.
    pub fn blank_refusal(&self) -> Option<Error> {
        let refused = match self.layout.blank_file() {
            BlankFile::Runs => false,
            BlankFile::Refused => self.is_blank(),
        };
        let what = if self.text.is_empty() { "is empty" } else { "holds no SQL statement" };
        let tool = match self.layout {
            Layout::Native => String::new(),
            other => format!(" ({other} refuses an empty file)"),
        };
        refused.then(|| {
            Error::input(format!(
                "{}: {what}{tool}; write the migration or delete it",
                self.path.display()
            ))
        })
    }

    /// The file's statements, split by PostgreSQL's parser.
    pub fn statements(&self) -> Result<Vec<Statement>> {
        sql::split(&self.text)
            .map_err(|e| Error::input(format!("{}:{}: {}", self.path.display(), e.line, e.message)))
    }

    pub fn checksum(&self) -> String {
        self.sum.get_or_init(|| checksum(&self.text)).clone()
    }
}

#[derive(Debug, Clone)]
pub struct Migration {
    pub version: Version,
    pub name: String,
    pub up: SqlFile,
    pub down: Option<SqlFile>,
    /// `<version>_<name>.verify.sql`: after apply it must return no rows, or true.
    pub verify: Option<SqlFile>,
}

impl Migration {
    pub fn no_transaction(&self) -> bool {
        self.up.no_transaction
    }

    /// The up file's statements, checked against the way sluice will run them.
    pub fn up_statements(&self) -> Result<Vec<Statement>> {
        checked_statements(&self.up)
    }

    pub fn down_statements(&self) -> Result<Option<Vec<Statement>>> {
        self.down.as_ref().map(checked_statements).transpose()
    }
}

/// Splits a file and refuses what cannot work: an empty file, transaction control inside a
/// migration sluice wraps in a transaction, and statements PostgreSQL refuses to run there.
pub fn checked_statements(file: &SqlFile) -> Result<Vec<Statement>> {
    let stmts = file.statements()?;
    let at = |line: usize| format!("{}:{line}", file.path.display());
    if let Some(refused) = file.blank_refusal() {
        return Err(refused);
    }
    let hint = file.layout.no_transaction_hint();
    for s in &stmts {
        use crate::core::data::sql::backfill;
        let spec = backfill::directive(&file.text, s)
            .map_err(|e| Error::input(format!("{}: {e}", at(s.line))))?;
        if spec.is_none() {
            continue;
        }
        if !file.no_transaction {
            return Err(Error::input(format!(
                "{}: sluice:batch commits batch by batch, outside one transaction: {hint}",
                at(s.line)
            )));
        }
        backfill::plan(s).map_err(|e| Error::input(format!("{}: {e}", at(s.line))))?;
    }
    if !file.no_transaction {
        for s in &stmts {
            if s.is_transaction_control() {
                return Err(Error::input(format!(
                    "{}: {} inside a migration that sluice runs in a transaction; remove it, or {hint}",
                    at(s.line),
                    s.keywords.first().map(String::as_str).unwrap_or("transaction control")
                )));
            }
            if let Some(why) = s.needs_no_transaction() {
                return Err(Error::input(format!(
                    "{}: {why} cannot run inside a transaction; {hint}",
                    at(s.line)
                )));
            }
        }
    }
    Ok(stmts)
}

pub struct Directives {
    pub no_transaction: bool,
}

/// Reads `-- sluice:` directives from the leading comment lines. An unknown directive is an
/// error: a misspelt no-transaction must not silently change how a migration runs.
pub fn header_directives(text: &str) -> std::result::Result<Directives, (usize, String)> {
    let mut d = Directives { no_transaction: false };
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let Some(comment) = t.strip_prefix("--") else { break };
        let Some(directive) = comment.trim().strip_prefix("sluice:") else { continue };
        let word = directive.split_whitespace().next().unwrap_or("");
        match word {
            "no-transaction" => d.no_transaction = true,
            // The first statement's own directives sit in the header; they are its.
            "allow" | "batch" => {}
            other => {
                return Err((
                    i + 1,
                    format!(
                    "unknown directive sluice:{other} (known: sluice:no-transaction, sluice:allow, sluice:batch)"
                ),
                ))
            }
        }
    }
    Ok(d)
}

/// SHA-256 over the text with CRLF folded to LF and trailing whitespace trimmed per line and
/// at the end, so an editor's line-ending or whitespace change is not drift.
pub fn checksum(text: &str) -> String {
    let mut h = Sha256::new();
    let body = text.trim_end();
    let mut first = true;
    for line in body.split('\n') {
        if !first {
            h.update(b"\n");
        }
        first = false;
        h.update(line.trim_end().as_bytes());
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        let v = |s| Version::parse(s).unwrap();
        assert!(v("9") < v("10"));
        assert!(v("0010") > v("9"));
        assert_eq!(v("001"), v("1"));
        assert_eq!(v("0010").as_str(), "0010");
        assert!(v("20261123120000") > v("20261123115959"));
        assert!(Version::parse("1a").is_none());
        assert!(Version::parse("").is_none());
        // Flyway's dotted versions: part by part, trailing zeros equal.
        assert!(v("1.10") > v("1.9"));
        assert!(v("1.9") > v("1"));
        assert!(v("2") > v("1.10"));
        assert_eq!(v("1.0"), v("1"));
        assert_eq!(v("1_1"), v("1.1"));
        assert_eq!(v("1.01").key(), "1.1");
        assert!(Version::parse("1..2").is_none() && Version::parse("1.").is_none());
        // Repeatables after every version, by description.
        let r = Version::repeatable("views").unwrap();
        assert!(r > v("99999999999999") && r.is_repeatable());
        assert!(Version::repeatable("a").unwrap() < r);
        assert_eq!(Version::parse("R__views").unwrap(), r);
        assert!(Version::parse("R__").is_none());
    }

    #[test]
    fn checksum_ignores_line_endings_and_trailing_space() {
        let a = checksum("CREATE TABLE t (id int);\nSELECT 1;\n");
        assert_eq!(a, checksum("CREATE TABLE t (id int);  \r\nSELECT 1;\r\n\r\n"));
        assert_eq!(a, checksum("CREATE TABLE t (id int);\nSELECT 1;"));
        assert_ne!(a, checksum("CREATE TABLE t (id bigint);\nSELECT 1;\n"));
        assert_ne!(a, checksum("  CREATE TABLE t (id int);\nSELECT 1;\n"));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn directives() {
        assert!(
            header_directives("-- sluice:no-transaction\nCREATE INDEX ...").unwrap().no_transaction
        );
        assert!(
            header_directives("\n-- about\n-- sluice:no-transaction\nSELECT 1;")
                .unwrap()
                .no_transaction
        );
        assert!(
            !header_directives("SELECT 1;\n-- sluice:no-transaction\n").unwrap().no_transaction
        );
        let (line, msg) = header_directives("-- x\n-- sluice:no-transation\n").err().unwrap();
        assert_eq!(line, 2);
        assert!(msg.contains("no-transation"));
    }
}
