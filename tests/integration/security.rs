//! What sluice leaves behind: no password in any output or file, reports and backups private
//! to their owner, and an audit log that shows an edit.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::{cluster, fresh_db, Output, TestProject};

const SECRET: &str = "Pl4nted-S3cret-pw";
const WRONG: &str = "Wr0ng-Planted-pw";

fn sluice_with(p: &TestProject, url: &str, args: &[&str]) -> Output {
    crate::support::run_sluice_env(p.root(), args, &[("SLUICE_SECRET_URL", url)])
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn a_planted_password_leaks_nowhere_and_what_sluice_writes_is_private() {
    let Some(cluster) = cluster() else {
        eprintln!("needs the throwaway cluster (TCP with passwords); skipped");
        return;
    };
    let db = fresh_db().await;
    let c = db.client().await;
    c.batch_execute(&format!(
        "DO $$ BEGIN CREATE ROLE sluice_secret LOGIN PASSWORD '{SECRET}'; \
         EXCEPTION WHEN duplicate_object THEN NULL; END $$;
         GRANT ALL ON DATABASE {0} TO sluice_secret; GRANT ALL ON SCHEMA public TO sluice_secret;",
        db.name
    ))
    .await
    .unwrap();
    let p = TestProject::new(&db, "development", "");
    let backups = p.root().join("private-backups");
    std::fs::write(
        p.root().join("sluice.toml"),
        format!(
            "[project]\nname = \"t\"\n\n[environments.dev]\ntier = \"development\"\nurl_env = \"SLUICE_SECRET_URL\"\nbackup = {{ mode = \"required\", dir = \"{}\" }}\n",
            backups.display()
        ),
    )
    .unwrap();
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    p.write("1_a.down.sql", "DROP TABLE a;\n");
    p.write("2_bad.up.sql", "CREATE TABLE b (id int);\nINSERT INTO b VALUES ('not a number');\n");
    let url = cluster.tcp_url("sluice_secret", SECRET, &db.name);
    let wrong = cluster.tcp_url("sluice_secret", WRONG, &db.name);

    let mut outputs = Vec::new();
    for args in [
        &["status"][..],
        &["status", "--format", "json"],
        &["check"],
        &["apply", "--to", "1"],
        &["apply"],
        &["apply", "--format", "json"],
        &["resolve"],
        &["history", "--format", "json"],
        &["runs"],
        &["backups"],
        &["lint"],
        &["info"],
    ] {
        outputs.push((args.join(" "), sluice_with(&p, &url, args)));
    }
    for args in [&["status"][..], &["apply", "--format", "json"]] {
        let out = sluice_with(&p, &wrong, args);
        assert_eq!(out.code, 3, "{}", out.stderr);
        outputs.push((format!("{} (wrong password)", args.join(" ")), out));
    }
    assert_eq!(outputs[3].1.code, 0, "the first apply ran: {}", outputs[3].1.stderr);
    assert_ne!(outputs[4].1.code, 0, "the second failed on purpose");
    // Counted before asserting, so the reliability script's table shows what was found.
    let leaked_out = outputs
        .iter()
        .filter(|(_, o)| {
            [SECRET, WRONG].iter().any(|s| o.stdout.contains(s) || o.stderr.contains(s))
        })
        .count();
    eprintln!("[figure] secret_searches={}", outputs.len());
    eprintln!("[figure] secrets_leaked={leaked_out}");
    for (what, out) in &outputs {
        for secret in [SECRET, WRONG] {
            assert!(
                !out.stdout.contains(secret) && !out.stderr.contains(secret),
                "{what} printed the password:\n{}{}",
                out.stdout,
                out.stderr
            );
        }
    }

    // Every file sluice wrote: reports, audit log, backups, logs.
    let data = p.root().join(".sluice-data");
    let mut files = Vec::new();
    files_under(&data, &mut files);
    files_under(&backups, &mut files);
    if let Some(home) = std::env::var_os("HOME") {
        files_under(&Path::new(&home).join(".local/state/sluice"), &mut files);
    }
    let reports: Vec<&PathBuf> =
        files.iter().filter(|f| f.starts_with(data.join("reports"))).collect();
    assert!(reports.len() >= 4, "reports written: {files:?}");
    let holds = |f: &PathBuf| {
        let bytes = std::fs::read(f).unwrap();
        [SECRET, WRONG].iter().any(|s| bytes.windows(s.len()).any(|w| w == s.as_bytes()))
    };
    eprintln!("[figure] secret_searches={}", files.len());
    eprintln!("[figure] secrets_leaked={}", files.iter().filter(|f| holds(f)).count());
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        for secret in [SECRET, WRONG] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds the password",
                f.display()
            );
        }
    }

    // Private: reports, the audit log and backups 0600, the folders sluice made 0700.
    for f in reports.iter().copied().chain([&data.join("audit.jsonl")]) {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    assert_eq!(mode(&data.join("reports").join("dev")), 0o700);
    let dumps: Vec<&PathBuf> = files.iter().filter(|f| f.starts_with(&backups)).collect();
    assert!(!dumps.is_empty(), "a backup was taken");
    for f in dumps {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    assert_eq!(mode(&backups), 0o700);
}

#[tokio::test]
async fn sluice_audit_verify_finds_an_edited_line() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\n");
    p.write("1_a.down.sql", "DROP TABLE a;\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    assert_eq!(p.sluice(&["rollback", "--steps", "1"]).code, 0);
    assert_eq!(p.sluice(&["apply"]).code, 0);
    let ok = p.sluice(&["audit", "verify"]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains("3 line(s), the hash chain is intact"), "{}", ok.stdout);

    // Someone turns the rollback into something else.
    let log = p.root().join(".sluice-data/audit.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let edited = text.replacen("\"action\":\"rollback\"", "\"action\":\"apply\"", 1);
    assert_ne!(text, edited);
    std::fs::write(&log, edited).unwrap();
    let bad = p.sluice(&["audit", "verify", "--format", "json"]);
    assert_eq!(bad.code, 1, "{}{}", bad.stdout, bad.stderr);
    let j = bad.json();
    assert_eq!((j["intact"].as_bool(), j["line"].as_u64()), (Some(false), Some(2)), "{j}");

    // Or deletes it.
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&log, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
    let bad = p.sluice(&["audit", "verify"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stdout.contains(":2: does not follow"), "{}", bad.stdout);
}
