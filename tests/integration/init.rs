//! `sluice init` on a project that has migrations but no sluice.toml: the folder and layout
//! found, a config that works as written, the adopt offer where another tool's history is in
//! the database, and no overwriting.

use crate::quirks::SQLX;
use crate::support::fresh_db;

fn sluice(dir: &std::path::Path, args: &[&str], url: &str) -> crate::support::Output {
    crate::support::run_sluice_env(dir, args, &[("DATABASE_URL", url)])
}

#[tokio::test]
async fn init_finds_the_folder_offers_adopt_and_never_overwrites() {
    let db = fresh_db().await;
    let c = db.client().await;
    let root = tempfile::tempdir().unwrap();
    SQLX.write(&root.path().join("db/migrations"));
    // sqlx ran these here before: its history table is in the database.
    c.batch_execute(
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)",
    )
    .await
    .unwrap();

    let out = sluice(root.path(), &["init", "--format", "json"], &db.url);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let j = out.json();
    assert_eq!(
        (j["migrations"].as_str(), j["layout"].as_str()),
        (Some("db/migrations"), Some("sqlx"))
    );
    assert_eq!(j["count"], 4);
    assert!(j["history_table"].as_str().unwrap().contains("_sqlx_migrations"), "{j}");
    assert_eq!(j["next"][0], "sluice adopt");

    // The config works as written: status reads the folder through DATABASE_URL.
    let status = sluice(root.path(), &["status", "--format", "json"], &db.url);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert_eq!(status.json()["migrations"].as_array().unwrap().len(), 4);

    let written = std::fs::read_to_string(root.path().join("sluice.toml")).unwrap();
    let again = sluice(root.path(), &["init"], &db.url);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("sluice.toml already exists"), "{}", again.stderr);
    assert_eq!(std::fs::read_to_string(root.path().join("sluice.toml")).unwrap(), written);

    // A new project: no migrations yet, the first commands to run.
    let fresh = tempfile::tempdir().unwrap();
    let out = crate::support::run_sluice(fresh.path(), &["init"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("sluice new create_first_table"), "{}", out.stdout);
}
