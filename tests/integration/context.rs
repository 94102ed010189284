//! What a real database brings that a fixture does not: a search_path the connection sets
//! (URL `options`, or libpq's PGOPTIONS), extensions that are already installed.

use crate::support::{fresh_db, run_sluice_env, TestDb, TestProject};

/// A project whose migrations name no schema: they expect the connection's search_path.
fn unqualified(db: &TestDb, url: &str) -> TestProject {
    let p = TestProject::new(db, "development", "");
    let toml = format!("[environments.dev]\ntier = \"development\"\nurl = \"{url}\"\n");
    std::fs::write(p.root().join("sluice.toml"), toml).unwrap();
    p.write("0001_users.up.sql", "CREATE TABLE users (id bigint PRIMARY KEY);\n");
    p.write("0001_users.down.sql", "DROP TABLE users;\n");
    p.write("0002_email.up.sql", "ALTER TABLE users ADD COLUMN email text;\n");
    p.write("0002_email.down.sql", "ALTER TABLE users DROP COLUMN email;\n");
    p
}

/// Where table `users` is, by schema.
async fn users_in(c: &tokio_postgres::Client) -> Vec<String> {
    let rows = c
        .query(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relname = 'users' AND c.relkind = 'r' ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// Dry run, apply, status and rollback all run in the schema the connection names.
async fn in_schema_app(p: &TestProject, c: &tokio_postgres::Client, envs: &[(&str, &str)]) {
    let run = |args: &[&str]| run_sluice_env(p.root(), args, envs);
    let dry = run(&["apply", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}{}", dry.stdout, dry.stderr);
    assert!(users_in(c).await.is_empty(), "a dry run leaves nothing");
    let out = run(&["apply"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(users_in(c).await, ["app"], "the connection's search_path put it in app");
    let j: serde_json::Value =
        serde_json::from_str(&run(&["status", "--format", "json"]).stdout).unwrap();
    assert!(j["migrations"].as_array().unwrap().iter().all(|m| m["state"] == "applied"), "{j}");
    let back = run(&["rollback", "--to", "0"]);
    assert_eq!(back.code, 0, "{}{}", back.stdout, back.stderr);
    assert!(users_in(c).await.is_empty());
}

#[tokio::test]
async fn search_path_from_the_url_options_is_where_migrations_run() {
    let db = fresh_db().await;
    let c = db.client().await;
    c.batch_execute("CREATE SCHEMA app").await.unwrap();
    let sep = if db.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}options=-c%20search_path%3Dapp", db.url);
    let p = unqualified(&db, &url);
    in_schema_app(&p, &c, &[]).await;
}

#[tokio::test]
async fn search_path_from_pgoptions_is_where_migrations_run() {
    let db = fresh_db().await;
    let c = db.client().await;
    c.batch_execute("CREATE SCHEMA app").await.unwrap();
    let p = unqualified(&db, &db.url);
    in_schema_app(&p, &c, &[("PGOPTIONS", "-c search_path=app")]).await;
}

/// An extension installed before the project ran: `CREATE EXTENSION IF NOT EXISTS` passes
/// over it, and dropping it is a danger the lint names (it existed before the run), while
/// dropping one the run creates is not.
#[tokio::test]
async fn an_extension_already_there_is_used_and_dropping_it_is_flagged() {
    let db = fresh_db().await;
    let c = db.client().await;
    c.batch_execute("CREATE EXTENSION pgcrypto").await.unwrap();
    let p = TestProject::new(&db, "development", "");
    p.write(
        "0001_ids.up.sql",
        "CREATE EXTENSION IF NOT EXISTS pgcrypto;\nCREATE TABLE t (id uuid PRIMARY KEY DEFAULT gen_random_uuid());\n",
    );
    p.write("0001_ids.down.sql", "DROP TABLE t;\n");
    p.write(
        "0002_cleanup.up.sql",
        "CREATE EXTENSION IF NOT EXISTS pg_trgm;\nDROP EXTENSION IF EXISTS pg_trgm;\nDROP EXTENSION IF EXISTS pgcrypto CASCADE;\n",
    );
    let lint = p.sluice(&["lint", "--env", "dev", "--format", "json"]);
    let j: serde_json::Value = serde_json::from_str(&lint.stdout).expect(&lint.stderr);
    let drops: Vec<(String, String)> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "drop-extension")
        .map(|f| (f["severity"].as_str().unwrap().into(), f["message"].as_str().unwrap().into()))
        .collect();
    assert_eq!(drops.len(), 2, "{drops:?}");
    assert!(drops[0].0 == "info" && drops[0].1.contains("pg_trgm"), "{drops:?}");
    assert!(drops[1].0 == "warning" && drops[1].1.contains("pgcrypto"), "{drops:?}");
    let out = p.sluice(&["apply", "--to", "0001"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let n: i64 = c
        .query_one("SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

/// The TLS pre-check of a production environment reached over TCP without TLS.
fn tls_check(p: &TestProject, url: &str) -> (String, String) {
    let out = run_sluice_env(p.root(), &["check", "--format", "json"], &[("SLUICE_PROD_URL", url)]);
    let j: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stderr);
    let checks = j["checks"].as_array().or_else(|| j.as_array()).expect("checks").clone();
    let tls = checks.iter().find(|c| c["name"] == "tls").expect("a tls check");
    (tls["outcome"].as_str().unwrap().into(), tls["figure"].as_str().unwrap().into())
}

/// Production through a local proxy (cloud SQL proxy, pgbouncer sidecar, SSH tunnel) is
/// loopback TCP without TLS: the proxy encrypts, so the check passes; `require_tls = false`
/// is the explicit way out for a remote plaintext link, as a warning.
#[tokio::test]
async fn production_over_a_loopback_proxy_passes_the_tls_check() {
    let Some(cluster) = crate::support::cluster() else {
        eprintln!("skipped: needs the throwaway cluster's TCP listener");
        return;
    };
    let db = fresh_db().await;
    crate::support::ensure_password_role(&db.client().await).await;
    let p = TestProject::new(&db, "development", "");
    let toml = "[environments.prod]\ntier = \"production\"\nurl_env = \"SLUICE_PROD_URL\"\nsslmode = \"disable\"\n";
    std::fs::write(p.root().join("sluice.toml"), toml).unwrap();
    let url = cluster.tcp_url("sluice_pw", "right", &db.name);
    let (outcome, figure) = tls_check(&p, &url);
    assert_eq!((outcome.as_str(), figure.as_str()), ("pass", "loopback: no network to protect"));
    // The same server named by a non-loopback name would fail; localhost is loopback too.
    let by_name = url.replace("127.0.0.1", "localhost");
    assert_eq!(tls_check(&p, &by_name).0, "pass");
}
