//! Property tests (proptest; cargo-fuzz needs a nightly toolchain): the statement splitter
//! and lint, every layout's reader and the config parser, fed generated input built from the
//! pieces that break parsers (quotes, dollar quotes, comments, BOM, CR, NUL, odd names).
//! None may panic; every error must name what it is about. SLUICE_FUZZ_CASES sets the cases
//! per property (default 256; the reliability script runs thousands).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use sluice::core::data::config::Project;
use sluice::core::data::lint::{self, Input, LintOptions};
use sluice::core::data::source::{self, Layout};
use sluice::core::data::sql;

fn cases() -> u32 {
    std::env::var("SLUICE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

fn runner() -> TestRunner {
    TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() })
}

const SQL_PIECES: &[&str] = &[
    "SELECT 1",
    "CREATE TABLE t (id int)",
    "CREATE INDEX CONCURRENTLY i ON t (id)",
    ";",
    " ",
    "\n",
    "\r\n",
    "\r",
    "'",
    "''",
    "\"",
    "$$",
    "$a$",
    "$1",
    "E'\\''",
    "U&'d\\0061'",
    "/*",
    "*/",
    "--",
    "-- sluice:no-transaction\n",
    "-- sluice:",
    "BEGIN",
    "COMMIT",
    "\u{FEFF}",
    "\0",
    "é",
    "€",
    "\u{1F600}",
    "DO $$ BEGIN NULL; END $$",
    "ALTER TABLE t ADD COLUMN c int",
    "VACUUM",
    "--> statement-breakpoint\n",
    "-- migrate:up\n",
    "-- migrate:down\n",
    "-- +goose Up\n",
    "COPY t FROM stdin",
    "\\.",
    "\\i x",
    "(",
    ")",
    "[",
    "::",
    "x",
];

fn sql_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(SQL_PIECES), 0..40).prop_map(|v| v.concat()),
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

#[test]
fn the_splitter_and_lint_never_panic_and_locate_what_they_find() {
    let tried = AtomicUsize::new(0);
    runner()
        .run(&sql_text(), |text| {
            tried.fetch_add(1, Ordering::Relaxed);
            let lines = text.split('\n').count();
            match sql::split(&text) {
                Ok(statements) => {
                    for s in &statements {
                        prop_assert!(s.line >= 1 && s.line <= lines, "line {} of {lines}", s.line);
                        prop_assert!(text.contains(s.text.trim()), "{:?}", s.text);
                    }
                }
                Err(e) => {
                    prop_assert!(e.line >= 1 && e.line <= lines + 1, "error line {}", e.line);
                    prop_assert!(!e.message.is_empty());
                }
            }
            let input = Input {
                path: "x.up.sql".into(),
                text: text.clone(),
                down: lint::Down::NotJudged,
                no_transaction: false,
            };
            let report = lint::lint(&[input], &LintOptions::default());
            for f in &report.findings {
                prop_assert!(f.line >= 1, "{f:?}");
            }
            Ok(())
        })
        .unwrap();
    eprintln!("[figure] bad_inputs={}", tried.load(Ordering::Relaxed));
}

const NAME_PIECES: &[&str] = &[
    "1",
    "2",
    "01",
    "0",
    "20240131120000",
    "2024-01-31-120000",
    "1.1",
    "1_10",
    "V",
    "U",
    "R",
    "__",
    "_",
    ".",
    "-",
    "a",
    "create users",
    "é",
    ".up.sql",
    ".down.sql",
    ".sql",
    ".conf",
    ".sql.conf",
    "up.sql",
    "down.sql",
    "migration.sql",
    "metadata.toml",
    ".hidden",
    "",
];

const CONTENT_PIECES: &[&str] = &[
    "SELECT 1;\n",
    "-- sluice:no-transaction\n",
    "-- migrate:up\nSELECT 1;\n",
    "-- migrate:down\nSELECT 2;\n",
    "-- migrate:up transaction:false\n",
    "-- no-transaction\n",
    "executeInTransaction=false\n",
    "executeInTransaction=maybe\n",
    "run_in_transaction = false\n",
    "run_in_transaction = \"no\"\n",
    "provider = \"mysql\"\n",
    "provider = \"postgresql\"\n",
    "--> statement-breakpoint\n",
    "{\"entries\": [{\"idx\": 0, \"when\": 1, \"tag\": \"0000_a\"}]}",
    "{\"entries\": \"x\"}",
    "{",
    "\u{FEFF}",
    "\0",
    "'",
    "/*",
    "$$",
    "\r\n",
    "BEGIN;\n",
    "COMMIT;\n",
];

#[derive(Debug, Clone)]
enum Entry {
    File { dir: Option<String>, name: String, content: String },
    Journal(String),
}

fn entry() -> impl Strategy<Value = Entry> {
    let name =
        prop::collection::vec(prop::sample::select(NAME_PIECES), 1..6).prop_map(|v| v.concat());
    let content = prop_oneof![
        prop::collection::vec(prop::sample::select(CONTENT_PIECES), 0..6).prop_map(|v| v.concat()),
        prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    let dir = prop::option::of(
        prop::collection::vec(prop::sample::select(NAME_PIECES), 1..4).prop_map(|v| v.concat()),
    );
    prop_oneof![
        8 => (dir, name, content.clone()).prop_map(|(dir, name, content)| Entry::File { dir, name, content }),
        1 => content.prop_map(Entry::Journal),
    ]
}

fn safe(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && name.len() < 200
}

fn materialize(root: &Path, entries: &[Entry]) {
    for e in entries {
        match e {
            Entry::File { dir, name, content } => {
                if !safe(name) {
                    continue;
                }
                let folder = match dir {
                    Some(d) if safe(d) => root.join(d),
                    _ => root.to_path_buf(),
                };
                if std::fs::create_dir_all(&folder).is_err() {
                    continue;
                }
                let _ = std::fs::write(folder.join(name), content);
            }
            Entry::Journal(text) => {
                let meta = root.join("meta");
                if std::fs::create_dir_all(&meta).is_ok() {
                    let _ = std::fs::write(meta.join("_journal.json"), text);
                }
            }
        }
    }
}

#[test]
fn every_layout_reader_survives_generated_folders_and_names_the_file_it_rejects() {
    let layouts: Vec<Option<Layout>> =
        std::iter::once(None).chain(Layout::ALL.iter().copied().map(Some)).collect();
    let tried = AtomicUsize::new(0);
    runner()
        .run(&prop::collection::vec(entry(), 0..8), |entries| {
            let dir = tempfile::tempdir().unwrap();
            materialize(dir.path(), &entries);
            for layout in &layouts {
                tried.fetch_add(1, Ordering::Relaxed);
                match source::load(dir.path(), *layout) {
                    Ok(migrations) => {
                        for m in &migrations {
                            // Reading is done; splitting what was read must not panic either.
                            let _ = m.up_statements();
                        }
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        prop_assert!(
                            msg.contains(dir.path().to_str().unwrap()) || msg.contains("layout"),
                            "{layout:?}: an error that names no file: {msg}"
                        );
                    }
                }
            }
            Ok(())
        })
        .unwrap();
    eprintln!("[figure] bad_inputs={}", tried.load(Ordering::Relaxed));
}

const TOML_PIECES: &[&str] = &[
    "[project]\n",
    "[environments.dev]\n",
    "[environments.prod]\n",
    "[environments.\"a b\"]\n",
    "tier = \"development\"\n",
    "tier = \"production\"\n",
    "tier = \"staging\"\n",
    "tier = 1\n",
    "url = \"postgres://u@localhost/db\"\n",
    "url = \"postgres://u:secret@h/db?sslmode=verify-full\"\n",
    "url = \"\"\n",
    "url_env = \"DATABASE_URL\"\n",
    "url_env = \"\"\n",
    "lock_timeout = \"2s\"\n",
    "lock_timeout = \"-1s\"\n",
    "lock_timeout = \"99999999999999h\"\n",
    "lock_retries = -1\n",
    "lock_retries = 4294967296\n",
    "statement_timeout = \"0\"\n",
    "migrations = \"m\"\n",
    "migrations = \"/\"\n",
    "layout = \"flyway\"\n",
    "layout = \"nope\"\n",
    "ledger_schema = \"x\"\n",
    "ledger_schema = \"a\\\"b\"\n",
    "backup = { mode = \"required\" }\n",
    "backup = { mode = \"sometimes\" }\n",
    "approvals = 2\n",
    "approvals = -2\n",
    "window = \"Mon-Fri 09:00-17:00\"\n",
    "window = \"25:00-26:00\"\n",
    "\u{FEFF}",
    "\0",
    "=",
    "[",
    "]",
    "\"",
    "'''",
    "\n",
    "# comment\n",
    "[[environments]]\n",
    "a.b.c = 1\n",
];

fn toml_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(TOML_PIECES), 0..20).prop_map(|v| v.concat()),
        any::<String>(),
    ]
}

#[test]
fn the_config_parser_never_panics_and_names_sluice_toml() {
    let tried = AtomicUsize::new(0);
    runner()
        .run(&toml_text(), |text| {
            tried.fetch_add(1, Ordering::Relaxed);
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("sluice.toml"), &text).unwrap();
            match Project::load(Some(dir.path())) {
                Ok(project) => {
                    // Resolving each environment's connection must not panic either.
                    for env in project.environments.values() {
                        let _ = sluice::core::db::connect::Target::resolve(env);
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    prop_assert!(
                        msg.contains("sluice.toml") || msg.contains("environment"),
                        "an error that names neither the file nor the environment: {msg}"
                    );
                    prop_assert!(!msg.contains("secret"), "a password in an error: {msg}");
                }
            }
            Ok(())
        })
        .unwrap();
    eprintln!("[figure] bad_inputs={}", tried.load(Ordering::Relaxed));
}
