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

pub(crate) fn write(dir: &tempfile::TempDir, file: &str, text: &str) {
    std::fs::write(dir.path().join("migrations").join(file), text).unwrap();
}

pub(crate) fn sluice(dir: &tempfile::TempDir, args: &[&str]) -> crate::support::Output {
    crate::support::run_sluice(dir.path(), args)
}

pub(crate) async fn applied(db: &TestDb) -> Vec<String> {
    let c = db.client().await;
    let rows = c
        .query(
            "SELECT version FROM (SELECT DISTINCT ON (version) version, success, direction \
             FROM sluice.history ORDER BY version, id DESC) last \
             WHERE success AND direction = 'up' ORDER BY version",
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

/// A fleet of `n` fresh databases listed in tenants.txt (with a comment line), rolled out
/// with `rollout`.
async fn fleet(n: usize, rollout: &str, extra_urls: &[&str]) -> (tempfile::TempDir, Vec<TestDb>) {
    fleet_with(n, rollout, extra_urls, "").await
}

/// `fleet`, with more lines in the environment's table.
pub(crate) async fn fleet_with(
    n: usize,
    rollout: &str,
    extra_urls: &[&str],
    extra: &str,
) -> (tempfile::TempDir, Vec<TestDb>) {
    let mut dbs = Vec::new();
    for _ in 0..n {
        dbs.push(fresh_db().await);
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    let mut list = String::from("# the tenants, in rollout order\n");
    for db in &dbs {
        list.push_str(&format!("{}\n", db.url));
    }
    for u in extra_urls {
        list.push_str(&format!("{u}  # not there\n"));
    }
    std::fs::write(dir.path().join("tenants.txt"), list).unwrap();
    let toml = format!(
        "[project]\nname = \"t\"\n\n[environments.tenants]\ntier = \"production\"\nfleet = {{ file = \"tenants.txt\" }}\nrollout = {rollout}\nbackup = {{ mode = \"off\" }}\n{extra}\n"
    );
    std::fs::write(dir.path().join("sluice.toml"), toml).unwrap();
    (dir, dbs)
}

/// (started, finished) of each sluice run recorded in the database, by the server's clock.
async fn run_spans(db: &TestDb) -> Vec<(f64, f64, String)> {
    let c = db.client().await;
    let rows = c
        .query(
            "SELECT extract(epoch FROM started_at)::float8, extract(epoch FROM finished_at)::float8, \
             coalesce(details->>'fleet_run', '') FROM sluice.runs ORDER BY started_at",
            &[],
        )
        .await
        .unwrap_or_default();
    rows.iter()
        .map(|r| (r.get(0), r.get::<_, Option<f64>>(1).unwrap_or(f64::MAX), r.get(2)))
        .collect()
}

#[tokio::test]
async fn a_fleet_rolls_out_in_waves_stops_on_its_budget_and_a_rerun_carries_on() {
    let (p, dbs) =
        fleet(12, "{ canary = 1, waves = [3], parallel = 2, max_failures = 0 }", &[]).await;
    write(&p, "1_a.up.sql", "CREATE TABLE a (id int);\n");
    write(&p, "2_b.up.sql", "CREATE TABLE b (id int);\n");
    // Position 5 (the third wave) already has a b: its 2_b fails there.
    dbs[5].client().await.batch_execute("CREATE TABLE b (id int)").await.unwrap();

    let out = sluice(&p, &["apply", "--confirm", "tenants", "--format", "json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let r = out.json();
    let outcomes: Vec<String> = r["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(&outcomes[..5], ["done"; 5], "{outcomes:?}");
    assert_eq!(outcomes[5], "failed", "{outcomes:?}");
    // Once 5 failed no new database started; one that started beside it (parallel 2)
    // before the failure was known may have run.
    let after = outcomes[6..].iter().filter(|o| *o != "not-started").count();
    assert!(after <= 1 && outcomes[7..].iter().all(|o| o == "not-started"), "{outcomes:?}");
    let started = 6 + after;
    assert!(
        r["databases"][5]["error"].as_str().unwrap().contains("\"b\" already exists"),
        "{}",
        r["databases"][5]
    );
    assert_eq!(
        (r["failed"].as_u64(), r["not_started"].as_u64()),
        (Some(1), Some(12 - started as u64))
    );
    let waves: Vec<u64> =
        r["databases"].as_array().unwrap().iter().map(|d| d["wave"].as_u64().unwrap()).collect();
    assert_eq!(waves, [0, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2]);
    for db in &dbs[started..] {
        assert!(applied(db).await.is_empty(), "{} was not to start", db.name);
    }

    // Order on the server's clock: the canary ended before wave 1 began, wave 1 before
    // wave 2, and never more than two ran at once. Every run names the fleet run.
    let fleet_run = r["fleet_run"].as_str().unwrap().to_string();
    let mut spans = Vec::new();
    for (i, db) in dbs[..6].iter().enumerate() {
        let s = run_spans(db).await;
        assert_eq!(s.len(), 1, "{}", db.name);
        assert_eq!(s[0].2, fleet_run);
        spans.push((i, s[0].0, s[0].1));
    }
    let wave_of = |i: usize| waves[i];
    for a in &spans {
        for b in &spans {
            if wave_of(a.0) < wave_of(b.0) {
                assert!(
                    a.2 <= b.1,
                    "position {} (wave {}) ended after {} (wave {}) began",
                    a.0,
                    wave_of(a.0),
                    b.0,
                    wave_of(b.0)
                );
            }
        }
        let at_once = spans.iter().filter(|b| b.1 <= a.1 && a.1 < b.2).count();
        assert!(at_once <= 2, "{at_once} ran at once when position {} started", a.0);
    }

    // Fixed by hand; the rerun skips what is done and runs the rest.
    dbs[5].client().await.batch_execute("DROP TABLE b").await.unwrap();
    let out = sluice(&p, &["apply", "--confirm", "tenants", "--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let r = out.json();
    let outcomes: Vec<&str> =
        r["databases"].as_array().unwrap().iter().map(|d| d["outcome"].as_str().unwrap()).collect();
    for (i, o) in outcomes.iter().enumerate() {
        let want = if i == 5 || i >= started { "done" } else { "nothing-to-do" };
        assert_eq!(*o, want, "position {i}: {outcomes:?}");
    }
    for db in &dbs {
        assert_eq!(applied(db).await, vec!["1", "2"], "{}", db.name);
    }

    // Status of a shard: positions 1, 4, 7, 10, all at head 2.
    let out = sluice(&p, &["fleet", "status", "--shard", "1/3", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let s = out.json();
    assert_eq!(s["environment"], "tenants");
    let listed: Vec<String> = s["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["url"].as_str().unwrap().to_string())
        .collect();
    let want: Vec<String> = [1, 4, 7, 10].iter().map(|i| dbs[*i].url.clone()).collect();
    assert_eq!(listed, want);
    for d in s["databases"].as_array().unwrap() {
        assert_eq!(
            (d["applied"].as_u64(), d["pending"].as_u64(), d["head"].as_str()),
            (Some(2), Some(0), Some("2")),
            "{d}"
        );
        assert_eq!(d["reachable"], true);
    }
}

#[tokio::test]
async fn shards_split_a_fleet_run_and_an_unreachable_database_counts_as_failed() {
    let dead = "postgres://nobody@127.0.0.1:9/gone?connect_timeout=2";
    let (p, dbs) = fleet(4, "{ canary = 0, parallel = 4, max_failures = 1 }", &[dead]).await;
    write(&p, "1_a.up.sql", "CREATE TABLE a (id int);\n");
    write(&p, "1_a.down.sql", "DROP TABLE a;\n");
    // Shard 0/2 takes positions 0, 2 and 4 (the dead one); shard 1/2 positions 1 and 3.
    let out = sluice(&p, &["apply", "--confirm", "tenants", "--shard", "0/2", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let r = out.json();
    assert_eq!(r["shard"], "0/2");
    let by_pos: Vec<(u64, &str)> = r["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["position"].as_u64().unwrap(), d["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(by_pos, [(0, "done"), (2, "done"), (4, "failed")]);
    assert!(
        r["databases"][2]["error"].as_str().unwrap().contains("cannot connect"),
        "{}",
        r["databases"][2]
    );
    assert_eq!(applied(&dbs[0]).await, vec!["1"]);
    assert!(applied(&dbs[1]).await.is_empty(), "shard 1/2's database untouched");
    let out = sluice(&p, &["apply", "--confirm", "tenants", "--shard", "1/2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(applied(&dbs[3]).await, vec!["1"]);

    // fleet status lists the dead database, unreachable, and exits as a database error.
    let out = sluice(&p, &["fleet", "status", "--format", "json"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let s = out.json();
    let all = s["databases"].as_array().unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[4]["reachable"], false);
    assert!(all[4]["error"].as_str().unwrap().contains("cannot connect"), "{}", all[4]);
    let text = sluice(&p, &["fleet", "status"]);
    assert!(
        text.stdout.lines().nth(1).unwrap().contains("unreachable"),
        "failures first: {}",
        text.stdout
    );
    // Without the typed name a production fleet is refused before anything runs.
    let out = sluice(&p, &["rollback", "--steps", "1"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("--confirm tenants"), "{}", out.stderr);
    assert_eq!(applied(&dbs[0]).await, vec!["1"]);
    let out = sluice(&p, &["rollback", "--steps", "1", "--confirm", "tenants", "--shard", "1/2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(applied(&dbs[1]).await.is_empty() && applied(&dbs[3]).await.is_empty());
    assert_eq!(applied(&dbs[2]).await, vec!["1"], "shard 0/2 kept its migration");
}

#[tokio::test]
async fn a_fleet_listed_by_a_catalog_query_is_read_in_its_order() {
    let (catalog, a, b) = (fresh_db().await, fresh_db().await, fresh_db().await);
    let c = catalog.client().await;
    c.batch_execute("CREATE TABLE tenants (id int, url text)").await.unwrap();
    c.execute("INSERT INTO tenants VALUES (2, $1), (1, $2)", &[&a.url, &b.url]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("migrations")).unwrap();
    std::fs::write(
        dir.path().join("sluice.toml"),
        "[environments.tenants]\ntier = \"testing\"\nfleet = { query = \"SELECT url FROM tenants ORDER BY id\", url_env = \"CATALOG_URL\" }\n",
    )
    .unwrap();
    write(&dir, "1_a.up.sql", "CREATE TABLE a (id int);\n");
    let env = [("CATALOG_URL", catalog.url.as_str())];
    let out = crate::support::run_sluice_env(dir.path(), &["apply", "--format", "json"], &env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let order: Vec<u64> = out.json()["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["position"].as_u64().unwrap())
        .collect();
    assert_eq!(order, [0, 1]);
    let out =
        crate::support::run_sluice_env(dir.path(), &["fleet", "status", "--format", "json"], &env);
    let urls: Vec<String> = out.json()["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["url"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(urls, [b.url.clone(), a.url.clone()], "ORDER BY id");
    assert_eq!(applied(&a).await, vec!["1"]);
    // Without the variable the catalog cannot be read: said, not skipped.
    let out = sluice(&dir, &["fleet", "status"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("CATALOG_URL") && out.stderr.contains("not set"), "{}", out.stderr);
}
