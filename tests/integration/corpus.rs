//! The bad-input corpus: hand-made files, folders, configs and arguments that real projects
//! end up with. Each one gets the documented exit code and one clear line naming what and
//! where, or (BOM, CRLF, a 100 MB file) simply works. Prints `[figure]` lines for the
//! reliability script.

use std::os::unix::fs::symlink;
use std::time::Instant;

use crate::support::{fresh_db, run_sluice, TestProject};

struct Case {
    name: &'static str,
    /// Prepares the project (its migrations folder is empty at first).
    setup: Box<dyn Fn(&TestProject)>,
    args: &'static [&'static str],
    code: i32,
    /// Expected in stderr (or stdout when the command succeeds).
    says: &'static str,
}

fn write(p: &TestProject, file: &str, bytes: &[u8]) {
    std::fs::write(p.migrations().join(file), bytes).unwrap();
}

fn config(p: &TestProject, text: &str) {
    std::fs::write(p.root().join("sluice.toml"), text).unwrap();
}

fn case(
    name: &'static str,
    args: &'static [&'static str],
    code: i32,
    says: &'static str,
    setup: impl Fn(&TestProject) + 'static,
) -> Case {
    Case { name, setup: Box::new(setup), args, code, says }
}

fn file_cases() -> Vec<Case> {
    const STATUS: &[&str] = &["status"];
    const APPLY: &[&str] = &["apply"];
    vec![
        case("utf-8 byte-order mark", APPLY, 0, "1 migration(s) applied", |p| {
            write(p, "1_a.up.sql", b"\xEF\xBB\xBFCREATE TABLE a (id int);\n")
        }),
        case("CRLF line ends", APPLY, 0, "1 migration(s) applied", |p| {
            write(p, "1_a.up.sql", b"CREATE TABLE a (id int);\r\nINSERT INTO a VALUES (1);\r\n")
        }),
        case("NUL byte", APPLY, 2, "1_a.up.sql:2: the file holds a NUL byte", |p| {
            write(p, "1_a.up.sql", b"SELECT 1;\nSELECT '\0';\n")
        }),
        case("unterminated quote", APPLY, 2, "1_a.up.sql:2", |p| {
            write(p, "1_a.up.sql", b"SELECT 1;\nSELECT 'abc;\n")
        }),
        case("unterminated block comment", APPLY, 2, "1_a.up.sql:2", |p| {
            write(p, "1_a.up.sql", b"SELECT 1;\n/* never closed\nSELECT 2;\n")
        }),
        case("unterminated dollar quote", APPLY, 2, "1_a.up.sql:1", |p| {
            write(p, "1_a.up.sql", b"CREATE FUNCTION f() RETURNS int AS $$ SELECT 1;\n")
        }),
        // status flags what apply would refuse, without the full parser.
        case(
            "unterminated dollar quote in status",
            STATUS,
            2,
            "1_a.up.sql:2: unterminated dollar-quoted",
            |p| {
                write(
                    p,
                    "1_a.up.sql",
                    b"SELECT 1;\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1;\n",
                )
            },
        ),
        case("unterminated quote in status", STATUS, 2, "1_a.up.sql:2", |p| {
            write(p, "1_a.up.sql", b"SELECT 1;\nSELECT 'abc;\n")
        }),
        case("unterminated comment in status", STATUS, 2, "1_a.up.sql:2", |p| {
            write(p, "1_a.up.sql", b"SELECT 1;\n/* never closed\nSELECT 2;\n")
        }),
        case("invalid UTF-8", STATUS, 2, "1_a.up.sql:2: not valid UTF-8", |p| {
            write(p, "1_a.up.sql", b"SELECT 1;\nSELECT '\xE9t\xE9';\n")
        }),
        case("duplicate versions", STATUS, 2, "duplicate version 1", |p| {
            write(p, "1_a.up.sql", b"SELECT 1;\n");
            write(p, "01_b.up.sql", b"SELECT 2;\n");
        }),
        case("comment-only file", STATUS, 2, "4_empty.up.sql", |p| {
            write(p, "4_empty.up.sql", b"-- nothing yet\n")
        }),
        case("symlink loop", STATUS, 2, "1_a.up.sql", |p| {
            symlink("1_a.up.sql", p.migrations().join("1_a.up.sql")).unwrap()
        }),
        case("dangling symlink", STATUS, 2, "1_a.up.sql: No such file", |p| {
            symlink("/nonexistent/x.sql", p.migrations().join("1_a.up.sql")).unwrap()
        }),
        case("a FIFO", STATUS, 2, "1_a.up.sql: not a regular file", |p| {
            let path = p.migrations().join("1_a.up.sql");
            let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        }),
        case("a device", STATUS, 2, "1_a.up.sql: not a regular file", |p| {
            symlink("/dev/zero", p.migrations().join("1_a.up.sql")).unwrap()
        }),
        case("a folder named like a file", STATUS, 2, "1_a.up.sql: a folder named", |p| {
            std::fs::create_dir(p.migrations().join("1_a.up.sql")).unwrap()
        }),
        case("migrations folder is a file", STATUS, 2, "migrations folder", |p| {
            std::fs::remove_dir(p.migrations()).unwrap();
            std::fs::write(p.migrations(), "not a folder").unwrap();
        }),
        case("migrations folder missing", STATUS, 2, "migrations folder", |p| {
            std::fs::remove_dir(p.migrations()).unwrap()
        }),
        case("down without up", STATUS, 2, "2_b.down.sql", |p| {
            write(p, "2_b.down.sql", b"DROP TABLE b;\n")
        }),
        case("bad file name", STATUS, 2, "not a migration file name", |p| {
            write(p, "create_users.up.sql", b"SELECT 1;\n")
        }),
        case("misspelt directive", STATUS, 2, "1_a.up.sql:1", |p| {
            write(p, "1_a.up.sql", b"-- sluice:no-transction\nSELECT 1;\n")
        }),
    ]
}

fn config_cases() -> Vec<Case> {
    const STATUS: &[&str] = &["status"];
    vec![
        case("config: not TOML", STATUS, 2, "sluice.toml", |p| config(p, "[environments.dev\n")),
        case("config: unknown key", STATUS, 2, "sluice.toml", |p| {
            config(p, "[environments.dev]\ntier = \"development\"\nurl = \"postgres://x/y\"\nlock_timout = \"1s\"\n")
        }),
        case("config: wrong type", STATUS, 2, "sluice.toml", |p| {
            config(p, "[environments.dev]\ntier = \"development\"\nurl = 5\n")
        }),
        case("config: unknown tier", STATUS, 2, "sluice.toml", |p| {
            config(p, "[environments.dev]\ntier = \"prod\"\nurl = \"postgres://x/y\"\n")
        }),
        case("config: no environments", STATUS, 2, "sluice.toml", |p| config(p, "[project]\n")),
        case("config: url_env unset", STATUS, 2, "SLUICE_CORPUS_UNSET", |p| {
            config(
                p,
                "[environments.dev]\ntier = \"development\"\nurl_env = \"SLUICE_CORPUS_UNSET\"\n",
            )
        }),
        case("config: not a URL", STATUS, 2, "dev", |p| {
            config(p, "[environments.dev]\ntier = \"development\"\nurl = \"postgres://[::1\"\n")
        }),
        case("config: bad duration", STATUS, 2, "sluice.toml", |p| {
            config(p, "[environments.dev]\ntier = \"development\"\nurl = \"postgres://x/y\"\nlock_timeout = \"soon\"\n")
        }),
        case("config: ledger schema injection", STATUS, 2, "sluice.toml", |p| {
            config(p, "[project]\nledger_schema = \"x; DROP TABLE users\"\n[environments.dev]\ntier = \"development\"\nurl = \"postgres://x/y\"\n")
        }),
        case("config: NUL byte", STATUS, 2, "sluice.toml", |p| {
            config(p, "[environments.dev]\ntier = \"development\0\"\nurl = \"postgres://x/y\"\n")
        }),
        case("args: unknown flag", &["apply", "--yolo"], 2, "--yolo", |_| {}),
        case("args: steps not a number", &["rollback", "--steps", "many"], 2, "many", |_| {}),
        case(
            "args: steps and to together",
            &["rollback", "--steps", "1", "--to", "0"],
            2,
            "cannot be used with",
            |_| {},
        ),
        case("args: unknown environment", &["status", "--env", "nope"], 2, "nope", |_| {}),
        case("args: version not a version", &["apply", "--to", "abc"], 2, "abc", |_| {}),
    ]
}

#[tokio::test]
async fn every_bad_input_in_the_corpus_gets_its_exit_code_and_a_clear_line() {
    let db = fresh_db().await;
    let mut failures = Vec::new();
    let cases: Vec<Case> = file_cases().into_iter().chain(config_cases()).collect();
    for c in &cases {
        let p = TestProject::new(&db, "development", "");
        (c.setup)(&p);
        let out = run_sluice(p.root(), c.args);
        let text = if c.code == 0 { &out.stdout } else { &out.stderr };
        // clap's usage errors end with a usage hint; the error itself is the first line.
        let first = out.stderr.lines().next().unwrap_or("");
        let one_line = c.code == 0
            || out.stderr.trim_end().lines().count() == 1
            || (c.name.starts_with("args:") && first.contains(c.says));
        if out.code != c.code || !text.contains(c.says) || !one_line {
            failures.push(format!(
                "{}: exit {} (want {}), wanted {:?}\nstdout: {}\nstderr: {}",
                c.name, out.code, c.code, c.says, out.stdout, out.stderr
            ));
        }
        let client = db.client().await;
        if c.code != 0 {
            let touched: bool = client
                .query_one("SELECT to_regnamespace('sluice') IS NOT NULL AND EXISTS (SELECT 1 FROM sluice.history)", &[])
                .await
                .map(|r| r.get(0))
                .unwrap_or(false);
            if touched {
                failures.push(format!("{}: refused, yet the ledger has rows", c.name));
            }
        }
        // Each case runs against a clean database.
        client
            .batch_execute("DROP SCHEMA IF EXISTS sluice CASCADE; DROP TABLE IF EXISTS a")
            .await
            .unwrap();
    }
    eprintln!("[figure] bad_inputs={}", cases.len());
    eprintln!("[figure] bad_input_failures={}", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Not root: a file the user cannot read. (Root reads anything; the FIFO, device, folder
/// and dangling-link cases above stand in for it there.)
#[tokio::test]
async fn an_unreadable_file_is_named() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        eprintln!("running as root, which reads any file; the other unreadable cases cover it");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    write(&p, "1_a.up.sql", b"SELECT 1;\n");
    std::fs::set_permissions(
        p.migrations().join("1_a.up.sql"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let out = run_sluice(p.root(), &["status"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("1_a.up.sql: Permission denied"), "{}", out.stderr);
}

/// A 100 MB migration (seed data): read, split, checksummed and linted without trouble.
#[tokio::test]
async fn a_100_mb_migration_is_read_and_linted() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    let mut text = String::with_capacity(105 << 20);
    text.push_str("CREATE TABLE big (id int, v text);\n");
    let pad = "x".repeat(1000);
    let mut i = 0;
    while text.len() < 100 << 20 {
        i += 1;
        text.push_str(&format!("INSERT INTO big VALUES ({i}, '{pad}');\n"));
    }
    write(&p, "1_big.up.sql", text.as_bytes());
    let t = Instant::now();
    let out = run_sluice(p.root(), &["status", "--format", "json"]);
    let status_took = t.elapsed();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["migrations"][0]["state"], "pending");
    let t = Instant::now();
    let lint = run_sluice(p.root(), &["lint", "--format", "json"]);
    assert!(lint.code == 0 || lint.code == 1, "{}", lint.stderr);
    assert!(lint.stdout.contains("\"findings\""), "{}", lint.stdout);
    eprintln!(
        "100 MB file ({} statements): status {} ms, lint {} ms",
        i + 1,
        status_took.as_millis(),
        t.elapsed().as_millis()
    );
}
