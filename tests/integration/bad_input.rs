//! Bad input never panics: one clear line naming what and where, and the documented code.

use crate::support::{fresh_db, run_sluice, TestProject};

fn assert_one_line(stderr: &str) {
    assert_eq!(stderr.trim_end().lines().count(), 1, "one-line error expected: {stderr}");
}

#[tokio::test]
async fn malformed_config_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sluice.toml"),
        "[environments.dev]\ntier = \"development\"\nurl = \n",
    )
    .unwrap();
    let out = run_sluice(dir.path(), &["status"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("sluice.toml: line 3"), "{}", out.stderr);
    assert_one_line(&out.stderr);

    let out = run_sluice(&dir.path().join("nowhere"), &["status"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("not found"), "{}", out.stderr);
}

#[tokio::test]
async fn unknown_environment_lists_the_known_ones() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    let out = p.sluice(&["status", "--env", "prod"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("unknown environment \"prod\"") && out.stderr.contains("dev"),
        "{}",
        out.stderr
    );
    assert_one_line(&out.stderr);
    let usage = p.sluice(&["rollback"]);
    assert_eq!(usage.code, 2, "clap usage errors exit 2");
}

#[tokio::test]
async fn broken_migration_files_are_named_with_their_line() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "SELECT 1;\n");
    p.write("001_b.up.sql", "SELECT 2;\n");
    let out = p.sluice(&["status"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("duplicate version") && out.stderr.contains("001_b.up.sql"),
        "{}",
        out.stderr
    );
    assert_one_line(&out.stderr);
    std::fs::remove_file(p.migrations().join("001_b.up.sql")).unwrap();

    p.write(
        "2_dollar.up.sql",
        "SELECT 1;\n\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\nSELECT 1;\n",
    );
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("2_dollar.up.sql:3") && out.stderr.contains("dollar"),
        "{}",
        out.stderr
    );
    assert_one_line(&out.stderr);
    std::fs::remove_file(p.migrations().join("2_dollar.up.sql")).unwrap();

    std::fs::write(p.migrations().join("3_latin1.up.sql"), b"SELECT 'caf\xe9';\n").unwrap();
    let out = p.sluice(&["status"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("3_latin1.up.sql:1: not valid UTF-8"), "{}", out.stderr);
    std::fs::remove_file(p.migrations().join("3_latin1.up.sql")).unwrap();

    p.write("4_empty.up.sql", "-- nothing yet\n\n");
    let out = p.sluice(&["status"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("4_empty.up.sql: holds no SQL statement"), "{}", out.stderr);
    std::fs::remove_file(p.migrations().join("4_empty.up.sql")).unwrap();

    p.write("5_bad_name.sql", "SELECT 1;\n");
    let out = p.sluice(&["status"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("5_bad_name.sql: not a migration file name"), "{}", out.stderr);
    std::fs::remove_file(p.migrations().join("5_bad_name.sql")).unwrap();

    p.write("6_syntax.up.sql", "CREATE TABLE ok (id int);\nCREATE TABEL nope (id int);\n");
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("6_syntax.up.sql:2") && out.stderr.contains("TABEL"),
        "{}",
        out.stderr
    );
    std::fs::remove_file(p.migrations().join("6_syntax.up.sql")).unwrap();

    p.write("7_vacuum.up.sql", "VACUUM;\n");
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("sluice:no-transaction"), "{}", out.stderr);
    // Nothing ran: the refusal came before any migration.
    let c = db.client().await;
    let applied: i64 = c
        .query_one("SELECT count(*) FROM sluice.history", &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or(0);
    assert_eq!(applied, 0);
}

#[tokio::test]
async fn unreachable_server_and_wrong_password_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(
        dir.path().join("sluice.toml"),
        format!("[environments.dev]\ntier = \"development\"\nurl = \"postgres://nobody@127.0.0.1:{port}/x?connect_timeout=3\"\n"),
    )
    .unwrap();
    let out = run_sluice(dir.path(), &["status"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("cannot connect to nobody@127.0.0.1:{port}/x")),
        "{}",
        out.stderr
    );
    assert_one_line(&out.stderr);

    // A password in the file is refused before any connection.
    std::fs::write(
        dir.path().join("sluice.toml"),
        "[environments.dev]\ntier = \"development\"\nurl = \"postgres://app:hunter2@127.0.0.1/x\"\n",
    )
    .unwrap();
    let out = run_sluice(dir.path(), &["status"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("password") && !out.stderr.contains("hunter2"), "{}", out.stderr);

    let Some(cluster) = crate::support::cluster() else { return };
    let db = fresh_db().await;
    let c = db.client().await;
    crate::support::ensure_password_role(&c).await;
    std::fs::write(
        dir.path().join("sluice.toml"),
        "[environments.dev]\ntier = \"development\"\nurl_env = \"SLUICE_BAD_PW_URL\"\n",
    )
    .unwrap();
    let url = cluster.tcp_url("sluice_pw", "wrong", &db.name);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["--project", dir.path().to_str().unwrap(), "status"])
        .env("SLUICE_BAD_PW_URL", &url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("password authentication failed"), "{stderr}");
    assert!(!stderr.contains("wrong"), "the password is never printed: {stderr}");
    assert_one_line(&stderr);

    let unset = run_sluice(dir.path(), &["status"]);
    assert_eq!(unset.code, 2);
    assert!(unset.stderr.contains("SLUICE_BAD_PW_URL"), "{}", unset.stderr);
}
