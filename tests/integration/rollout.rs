//! Rollout between environments: the promotion gate (`promote_from`), read from the
//! upstream environment's own ledger over its own connection.

use crate::support::{fresh_db, TestDb};

/// A project with dev → staging → prod, each its own database, plus `orphan`, which
/// promotes from an environment whose server is not there.
fn chain(dev: &TestDb, staging: &TestDb, prod: &TestDb) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    let toml = format!(
        r#"[project]
name = "t"

[environments.dev]
tier = "development"
url = "{}"

[environments.staging]
tier = "testing"
url = "{}"
promote_from = "dev"

[environments.prod]
tier = "production"
url = "{}"
promote_from = "staging"
backup = {{ mode = "off" }}

[environments.gone]
tier = "testing"
url = "postgres://nobody@127.0.0.1:9/none?connect_timeout=2"

[environments.orphan]
tier = "testing"
url = "{}"
promote_from = "gone"
"#,
        dev.url, staging.url, prod.url, prod.url
    );
    std::fs::write(dir.path().join("sluice.toml"), toml).unwrap();
    dir
}

fn write(dir: &tempfile::TempDir, file: &str, text: &str) {
    std::fs::write(dir.path().join("migrations").join(file), text).unwrap();
}

fn sluice(dir: &tempfile::TempDir, args: &[&str]) -> crate::support::Output {
    crate::support::run_sluice(dir.path(), args)
}

async fn applied(db: &TestDb) -> Vec<String> {
    let c = db.client().await;
    let rows = c
        .query(
            "SELECT version FROM sluice.history WHERE success AND direction = 'up' ORDER BY version",
            &[],
        )
        .await
        .unwrap_or_default();
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn an_environment_runs_only_what_its_promotion_source_ran_with_the_same_checksums() {
    let (dev, staging, prod) = (fresh_db().await, fresh_db().await, fresh_db().await);
    let p = chain(&dev, &staging, &prod);
    write(&p, "1_a.up.sql", "CREATE TABLE a (id int);\n");
    write(&p, "2_b.up.sql", "ALTER TABLE a ADD COLUMN note text;\n");

    // Nothing has run on dev yet: staging is refused, naming each migration, and changes
    // nothing.
    let out = sluice(&p, &["--env", "staging", "apply"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    for want in ["1_a not applied on dev", "2_b not applied on dev", "--override-promotion"] {
        assert!(out.stderr.contains(want), "{want}: {}", out.stderr);
    }
    assert!(applied(&staging).await.is_empty());

    // dev runs everything; staging only the first; prod is refused the second.
    assert_eq!(sluice(&p, &["--env", "dev", "apply"]).code, 0);
    let out = sluice(&p, &["--env", "staging", "apply", "--to", "1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = sluice(&p, &["--env", "prod", "apply", "--confirm", "prod"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("2_b not applied on staging"), "{}", out.stderr);
    assert!(!out.stderr.contains("1_a"), "1_a ran on staging: {}", out.stderr);
    assert!(applied(&prod).await.is_empty());
    // Up to what staging ran, prod passes; the pre-check row says so.
    let out = sluice(
        &p,
        &["--env", "prod", "apply", "--to", "1", "--confirm", "prod", "--format", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let checks = out.json()["prechecks"].clone();
    let row = checks.as_array().unwrap().iter().find(|c| c["name"] == "promotion").unwrap();
    assert_eq!(row["outcome"], "pass", "{row}");
    assert!(row["figure"].as_str().unwrap().contains("1 migration(s) ran on staging"), "{row}");

    // A file edited after staging ran it: prod is refused for the checksum.
    assert_eq!(sluice(&p, &["--env", "staging", "apply"]).code, 0);
    write(&p, "3_c.up.sql", "CREATE TABLE c (id int);\n");
    assert_eq!(sluice(&p, &["--env", "dev", "apply"]).code, 0);
    assert_eq!(sluice(&p, &["--env", "staging", "apply"]).code, 0);
    write(&p, "3_c.up.sql", "CREATE TABLE c (id bigint);\n");
    let out = sluice(&p, &["--env", "prod", "apply", "--confirm", "prod"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("3_c applied on staging with another checksum"), "{}", out.stderr);
    assert_eq!(applied(&prod).await, vec!["1"]);

    // An override with a reason passes and is recorded with what it let through.
    let out = sluice(
        &p,
        &[
            "--env",
            "prod",
            "apply",
            "--confirm",
            "prod",
            "--override-promotion",
            "CHG-9 hotfix",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let overrides = out.json()["overrides"].clone();
    let o = overrides.as_array().unwrap().iter().find(|o| o["guard"] == "promotion").unwrap();
    assert_eq!(o["reason"], "CHG-9 hotfix");
    assert!(
        o["what"][0].as_str().unwrap().contains("3_c applied on staging with another checksum"),
        "{o}"
    );
    assert_eq!(applied(&prod).await, vec!["1", "2", "3"]);
}

#[tokio::test]
async fn an_unreachable_promotion_source_refuses_and_says_so() {
    let (dev, staging, prod) = (fresh_db().await, fresh_db().await, fresh_db().await);
    let p = chain(&dev, &staging, &prod);
    write(&p, "1_a.up.sql", "CREATE TABLE a (id int);\n");
    let out = sluice(&p, &["--env", "orphan", "apply"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("cannot read gone's ledger"), "{}", out.stderr);
    assert!(applied(&prod).await.is_empty());
    // `sluice check` shows the same row without taking the lock.
    let out = sluice(&p, &["--env", "orphan", "check", "--format", "json"]);
    let text = out.stdout.clone();
    assert!(
        text.contains("\"promotion\"") && text.contains("cannot read gone's ledger"),
        "{text}\n{}",
        out.stderr
    );
}

#[tokio::test]
async fn promotion_override_false_allows_no_override() {
    let (dev, staging, prod) = (fresh_db().await, fresh_db().await, fresh_db().await);
    let p = chain(&dev, &staging, &prod);
    let toml = std::fs::read_to_string(p.path().join("sluice.toml")).unwrap();
    let strict = toml.replace(
        "promote_from = \"dev\"\n",
        "promote_from = \"dev\"\npromotion_override = false\n",
    );
    std::fs::write(p.path().join("sluice.toml"), strict).unwrap();
    write(&p, "1_a.up.sql", "CREATE TABLE a (id int);\n");
    let out = sluice(&p, &["--env", "staging", "apply", "--override-promotion", "please"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("1_a not applied on dev"), "{}", out.stderr);
    assert!(!out.stderr.contains("--override-promotion"), "no override is offered: {}", out.stderr);
    assert!(applied(&staging).await.is_empty());
}
