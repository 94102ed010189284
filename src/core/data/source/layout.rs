//! Which tool's layout a migrations folder holds: set in sluice.toml (`layout = "..."`), or
//! detected from the files (`auto`, the default). A folder that mixes layouts, or reads
//! differently under two of them, is an error that says which files disagree.

use std::path::{Path, PathBuf};

use crate::core::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layout {
    Native,
    GolangMigrate,
    Dbmate,
    Flyway,
    Diesel,
    Sqlx,
    Prisma,
    Drizzle,
    Goose,
    SqlMigrate,
}

impl Layout {
    pub const ALL: [Layout; 10] = [
        Layout::Native,
        Layout::GolangMigrate,
        Layout::Dbmate,
        Layout::Flyway,
        Layout::Diesel,
        Layout::Sqlx,
        Layout::Prisma,
        Layout::Drizzle,
        Layout::Goose,
        Layout::SqlMigrate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Native => "sluice",
            Layout::GolangMigrate => "golang-migrate",
            Layout::Dbmate => "dbmate",
            Layout::Flyway => "flyway",
            Layout::Diesel => "diesel",
            Layout::Sqlx => "sqlx",
            Layout::Prisma => "prisma",
            Layout::Drizzle => "drizzle",
            Layout::Goose => "goose",
            Layout::SqlMigrate => "sql-migrate",
        }
    }

    /// What this layout's own tool does with a file that holds no statement (nothing at
    /// all, or only comments).
    pub fn blank_file(self) -> BlankFile {
        match self {
            // sluice's own rule: an empty migration is a mistake until someone says otherwise.
            Layout::Native => BlankFile::Refused,
            // diesel refuses a zero-length file (EmptyMigration), and one of comments fails
            // on the server's empty-query answer ("Received an empty query", diesel_cli 2.3).
            Layout::Diesel => BlankFile::Refused,
            // Each sends the text as it is: comments alone run as nothing, and the
            // migration is recorded (sqlx-cli, dbmate and drizzle's migrator are compared in
            // tests/integration/native_tools.rs).
            _ => BlankFile::Runs,
        }
    }

    /// How a file of this layout says "run me outside a transaction", in the tool's words.
    pub fn no_transaction_hint(self) -> &'static str {
        match self {
            Layout::Native => "put `-- sluice:no-transaction` on the first line of the file",
            Layout::GolangMigrate | Layout::Prisma => {
                "move it to a migration of its own (a file of one statement runs outside a transaction, as the tool runs it), or put `-- sluice:no-transaction` on the first line"
            }
            Layout::Dbmate => "add `transaction:false` to the section's `-- migrate:` line",
            Layout::Sqlx => "start the file with `-- no-transaction`",
            Layout::Diesel => {
                "put `run_in_transaction = false` in the migration folder's metadata.toml"
            }
            Layout::Flyway => "put `executeInTransaction=false` in a `<file>.sql.conf` beside it",
            Layout::Drizzle => {
                "move it to a migration of its own marked `-- sluice:no-transaction` (drizzle runs every migration in a transaction)"
            }
            Layout::Goose => "put `-- +goose NO TRANSACTION` on a line of its own in the file",
            Layout::SqlMigrate => "add `notransaction` to the section's `-- +migrate Up` line",
        }
    }

    /// `layout = "..."` in sluice.toml; None for "auto".
    pub fn parse(s: &str) -> std::result::Result<Option<Layout>, String> {
        if s == "auto" {
            return Ok(None);
        }
        Layout::ALL.iter().find(|l| l.as_str() == s).map(|l| Some(*l)).ok_or_else(|| {
            let names: Vec<&str> = Layout::ALL.iter().map(|l| l.as_str()).collect();
            format!("layout = {s:?}: use auto or one of {}", names.join(", "))
        })
    }
}

/// A file with no statement, as the layout's tool takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlankFile {
    /// Runs (as nothing) and is recorded.
    Runs,
    /// Refused.
    Refused,
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn starts_with_digits_then(name: &str, sep: char) -> bool {
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && name[digits..].starts_with(sep)
}

/// What one entry of the folder says about the layout, if anything.
fn evidence(path: &Path) -> Option<Layout> {
    let name = path.file_name()?.to_str()?;
    if name.starts_with('.') {
        return None;
    }
    if path.is_dir() {
        if name == "meta" && path.join("_journal.json").is_file() {
            return Some(Layout::Drizzle);
        }
        if path.join("migration.sql").is_file() {
            return Some(Layout::Prisma);
        }
        if path.join("up.sql").is_file() {
            return Some(Layout::Diesel);
        }
        // Flyway scans the folders below its location too.
        let nested = std::fs::read_dir(path).into_iter().flatten().flatten();
        let flyway = nested
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .any(|n| super::flyway::is_flyway_name(&n));
        return flyway.then_some(Layout::Flyway);
    }
    if name == "migration_lock.toml" {
        return Some(Layout::Prisma);
    }
    if !name.ends_with(".sql") {
        return None;
    }
    if super::flyway::is_flyway_name(name) {
        return Some(Layout::Flyway);
    }
    let head = read_head(path);
    // goose's annotation first: a goose file may carry sluice's directives too.
    if head.lines().any(super::goose::is_up_marker) {
        return Some(Layout::Goose);
    }
    if head.lines().any(super::sql_migrate::is_section_marker) {
        return Some(Layout::SqlMigrate);
    }
    if name.ends_with(".verify.sql")
        || head.lines().any(|l| l.trim_start().starts_with("-- sluice:"))
    {
        return Some(Layout::Native);
    }
    if head.lines().any(super::dbmate::is_up_marker) {
        return Some(Layout::Dbmate);
    }
    if head.starts_with("-- no-transaction") {
        return Some(Layout::Sqlx);
    }
    let paired = name.ends_with(".up.sql") || name.ends_with(".down.sql");
    if paired && (wrapped_in_transaction(&head) || names_golang_table(&head)) {
        return Some(Layout::GolangMigrate);
    }
    if !paired && starts_with_digits_then(name, '_') {
        // `<version>_<desc>.sql` without up/down: sqlx's simple migrations; drizzle's are
        // claimed by its journal, dbmate's by their markers.
        return Some(Layout::Sqlx);
    }
    None
}

/// A pair file whose SQL works on golang-migrate's own `schema_migrations` (Harbor's add a
/// column to it): written for golang-migrate, which has made that table before it runs.
fn names_golang_table(text: &str) -> bool {
    // Parsing every file of a large folder costs more than reading it: only a file that
    // names the table can use it.
    if !text.to_ascii_lowercase().contains("schema_migrations") {
        return false;
    }
    let Ok(stmts) = crate::core::data::sql::split(text) else { return false };
    let tables = crate::core::data::sql::tables_named(stmts.iter());
    tables.iter().any(|t| t.rsplit('.').next() == Some("schema_migrations"))
}

/// A pair file wrapped in its own BEGIN/COMMIT: sluice's layout refuses it, golang-migrate
/// runs it.
fn wrapped_in_transaction(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if !(lower.contains("begin") || lower.contains("start")) {
        return false;
    }
    let Ok(stmts) = crate::core::data::sql::split(text) else { return false };
    stmts.len() >= 2
        && matches!(stmts[0].keywords.first().map(String::as_str), Some("BEGIN" | "START"))
}

/// One statement that cannot run in a transaction and no directive: golang-migrate runs it
/// alone (it sends a file in one Exec), sluice's layout wants `-- sluice:no-transaction`.
fn lone_non_transactional(path: &Path) -> bool {
    let name = path.to_str().unwrap_or("");
    if !(name.ends_with(".up.sql") || name.ends_with(".down.sql")) {
        return false;
    }
    let head = read_head(path);
    if head.contains("-- sluice:") {
        return false;
    }
    // Only these words start a statement PostgreSQL refuses to run in a transaction.
    let lower = head.to_ascii_lowercase();
    let refusing = ["concurrently", "vacuum", "database", "tablespace", "system", "subscription"];
    if !refusing.iter().any(|w| lower.contains(w)) {
        return false;
    }
    matches!(crate::core::data::sql::split(&head).as_deref(), Ok([only]) if only.needs_no_transaction().is_some())
}

fn read_head(path: &Path) -> String {
    use std::io::Read;
    if let Some(whole) = super::files_read::recall(path) {
        return String::from_utf8_lossy(&whole[..whole.len().min(HEAD)]).into_owned();
    }
    // Opening a FIFO would block: only regular files are looked into.
    if !path.is_file() {
        return String::new();
    }
    // The first 64 KiB, read into a buffer that grows as it fills: most files are small,
    // and a file read whole is kept for the layout's reader.
    let mut buf = Vec::new();
    let read =
        std::fs::File::open(path).and_then(|f| f.take(HEAD as u64 + 1).read_to_end(&mut buf));
    if read.is_ok() && buf.len() <= HEAD {
        super::files_read::keep(path, &buf);
    }
    buf.truncate(HEAD);
    String::from_utf8_lossy(&buf).into_owned()
}

/// How much of a file detection looks at.
const HEAD: usize = 64 * 1024;

/// The layout of `dir`: the one every file agrees on. Up/down pairs with nothing else to
/// tell them apart read as sluice's own layout (golang-migrate and sqlx name their reversible
/// files the same way); a file they would run differently is flagged by that layout's reader.
pub fn detect(dir: &Path) -> Result<Layout> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::input(format!(
            "migrations folder {}: {e}; create it or set [project] migrations in sluice.toml",
            dir.display()
        ))
    })?;
    let mut seen: Vec<(Layout, PathBuf)> = Vec::new();
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if let Some(l) = evidence(&p) {
            if !seen.iter().any(|(k, _)| *k == l) {
                seen.push((l, p));
            }
        }
    }
    // sqlx never mixes simple and up/down files: a lone `<n>_<x>.sql` among pairs is a
    // misnamed file of the pairs' layout, which its reader reports by name.
    let paired = |p: &PathBuf| {
        p.to_str().is_some_and(|s| s.ends_with(".up.sql") || s.ends_with(".down.sql"))
    };
    if std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| paired(&e.path())) {
        seen.retain(|(l, p)| *l != Layout::Sqlx || paired(p));
    }
    // A lone CONCURRENTLY/VACUUM file reads differently as golang-migrate and as sluice's
    // own layout: unless another file settles it, ask.
    if seen.iter().all(|(l, _)| *l == Layout::Native) {
        let listed = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path());
        let mut lone: Vec<PathBuf> = listed.filter(|p| lone_non_transactional(p)).collect();
        lone.sort();
        if let Some(p) = lone.first() {
            return Err(Error::input(format!(
                "{}: one statement that cannot run in a transaction, and no directive: golang-migrate runs it alone, sluice needs `-- sluice:no-transaction` on its first line; add the directive, or set layout = \"golang-migrate\" in [project]",
                p.display()
            )));
        }
    }
    // Drizzle's NNNN_tag.sql files look like sqlx's; the journal decides.
    if seen.iter().any(|(l, _)| *l == Layout::Drizzle) {
        seen.retain(|(l, _)| *l != Layout::Sqlx);
    }
    // Prisma's lock file and folders are one layout.
    match seen.as_slice() {
        [] => Ok(Layout::Native),
        [(l, _)] => Ok(*l),
        [(a, pa), (b, pb), ..] => Err(Error::input(format!(
            "{}: mixes migration layouts: {} looks like {a} and {} like {b}; keep one layout per folder, or set layout = \"...\" in [project]",
            dir.display(),
            pa.display(),
            pb.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = d.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        d
    }

    #[test]
    fn each_layout_is_told_by_its_files() {
        let cases: [(&[(&str, &str)], Layout); 16] = [
            (
                &[("sql/V1__init.sql", "SELECT 1;"), ("sql/U1__init.sql", "SELECT 1;")],
                Layout::Flyway,
            ),
            (&[("1_a.up.sql", "BEGIN;\nSELECT 1;\nCOMMIT;\n")], Layout::GolangMigrate),
            (
                &[
                    ("1_a.up.sql", "SELECT 1;"),
                    ("2_i.up.sql", "CREATE INDEX CONCURRENTLY i ON t (a);"),
                    ("3_w.up.sql", "BEGIN;\nSELECT 1;\nCOMMIT;"),
                ],
                Layout::GolangMigrate,
            ),
            (&[("1_a.up.sql", "SELECT 1;"), ("1_a.down.sql", "SELECT 1;")], Layout::Native),
            (
                &[
                    ("1_a.up.sql", "CREATE TABLE t (a int);"),
                    ("2_b.up.sql", "ALTER TABLE schema_migrations ADD COLUMN data_version int;"),
                ],
                Layout::GolangMigrate,
            ),
            (&[("1_a.up.sql", "-- sluice:no-transaction\nSELECT 1;")], Layout::Native),
            (&[("20240101_a.sql", "-- migrate:up\nSELECT 1;\n-- migrate:down\n")], Layout::Dbmate),
            (&[("V1__init.sql", "SELECT 1;"), ("R__views.sql", "SELECT 1;")], Layout::Flyway),
            (&[("V1.10__x.sql", "SELECT 1;")], Layout::Flyway),
            (&[("2023-01-01-000000_a/up.sql", "SELECT 1;")], Layout::Diesel),
            (&[("1_a.sql", "SELECT 1;")], Layout::Sqlx),
            (
                &[("20240101_a/migration.sql", "SELECT 1;"), ("migration_lock.toml", "")],
                Layout::Prisma,
            ),
            (&[("0000_a.sql", "SELECT 1;"), ("meta/_journal.json", "{}")], Layout::Drizzle),
            (
                &[("00001_a.sql", "-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 2;\n")],
                Layout::Goose,
            ),
            (
                &[("20240101_a.sql", "-- sluice:allow drop-table\n-- +goose up\nDROP TABLE t;\n")],
                Layout::Goose,
            ),
            (&[("1_a.sql", "-- +migrate Up notransaction\nSELECT 1;\n")], Layout::SqlMigrate),
        ];
        for (files, want) in cases {
            let d = folder(files);
            assert_eq!(detect(d.path()).unwrap(), want, "{files:?}");
        }
        assert_eq!(detect(folder(&[]).path()).unwrap(), Layout::Native);
    }

    #[test]
    fn a_mixed_folder_names_the_files_that_disagree() {
        let d = folder(&[
            ("V1__init.sql", "SELECT 1;"),
            ("2_b.up.sql", "-- sluice:no-transaction\nSELECT 1;"),
        ]);
        let e = detect(d.path()).unwrap_err();
        assert!(e.message.contains("mixes migration layouts"), "{}", e.message);
        assert!(
            e.message.contains("2_b.up.sql") && e.message.contains("V1__init.sql"),
            "{}",
            e.message
        );
        let d = folder(&[("1_a.up.sql", "SELECT 1;"), ("2_i.up.sql", "VACUUM;")]);
        let e = detect(d.path()).unwrap_err();
        assert!(
            e.message.contains("2_i.up.sql") && e.message.contains("golang-migrate"),
            "{}",
            e.message
        );
        let d = folder(&[("1_a.sql", "-- migrate:up\nSELECT 1;"), ("2_b.sql", "SELECT 2;")]);
        assert!(detect(d.path()).unwrap_err().message.contains("dbmate"));
    }

    #[test]
    fn layout_names_parse() {
        assert_eq!(Layout::parse("auto").unwrap(), None);
        assert_eq!(Layout::parse("dbmate").unwrap(), Some(Layout::Dbmate));
        assert!(Layout::parse("liquibase").unwrap_err().contains("golang-migrate"));
    }
}
