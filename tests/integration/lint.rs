use std::time::Duration;

use crate::support::{fresh_db, run_sluice, TestProject};

#[tokio::test]
async fn json_contract_lone_file_and_project() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id bigint PRIMARY KEY, doc json);\n");
    p.write("2_b.up.sql", "ALTER TABLE a DROP COLUMN doc;\n");
    p.write("2_b.down.sql", "ALTER TABLE a ADD COLUMN doc jsonb;\n");

    let out = p.sluice(&["lint", "--format", "json"]);
    assert_eq!(out.code, 1, "drop-column is an error: {}", out.stdout);
    let j = out.json();
    assert_eq!(j["files"], 2);
    let findings = j["findings"].as_array().unwrap();
    for f in findings {
        for key in ["file", "line", "column", "rule", "severity", "message", "help"] {
            assert!(!f[key].is_null(), "{key} in {f}");
        }
        assert!(["error", "warning", "info"].contains(&f["severity"].as_str().unwrap()));
    }
    let rules: Vec<&str> = findings.iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert!(rules.contains(&"missing-down"), "a project judges reversibility: {rules:?}");
    assert!(rules.contains(&"prefer-jsonb"));
    let drop = findings.iter().find(|f| f["rule"] == "drop-column").unwrap();
    assert_eq!((drop["line"].as_u64(), drop["column"].as_u64()), (Some(1), Some(1)));
    assert!(drop["file"].as_str().unwrap().ends_with("2_b.up.sql"));

    // A lone file: no reversibility judgement.
    let lone = p.migrations().join("1_a.up.sql");
    let out = p.sluice(&["lint", lone.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.code, 0, "only info findings: {}", out.stdout);
    let j = out.json();
    assert_eq!(j["files"], 1);
    assert!(j["findings"].as_array().unwrap().iter().all(|f| f["rule"] != "missing-down"));
}

#[tokio::test]
async fn unparsable_file_is_a_finding_and_missing_path_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("broken.sql");
    std::fs::write(&f, "SELECT 1;\nCREATE TABEL x (id int);\n").unwrap();
    let out = run_sluice(dir.path(), &["lint", f.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.code, 1);
    let j = out.json();
    assert_eq!(j["findings"][0]["rule"], "syntax-error");
    assert_eq!(j["findings"][0]["line"], 2);
    let missing = run_sluice(dir.path(), &["lint", "/nonexistent/x.sql"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("/nonexistent/x.sql"), "{}", missing.stderr);
}

#[tokio::test]
async fn github_and_sarif_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.sql");
    std::fs::write(&f, "CREATE INDEX i ON orders (status);\n").unwrap();
    let gh = run_sluice(dir.path(), &["lint", f.to_str().unwrap(), "--format", "github"]);
    assert_eq!(gh.code, 0, "a warning does not fail the default gate");
    assert!(gh.stdout.starts_with("::warning file="), "{}", gh.stdout);
    assert!(
        gh.stdout.contains(",line=1,col=1,title=create-index-non-concurrently::"),
        "{}",
        gh.stdout
    );
    let sarif = run_sluice(dir.path(), &["lint", f.to_str().unwrap(), "--format", "sarif"]).json();
    assert_eq!(sarif["version"], "2.1.0");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "create-index-non-concurrently");
    assert_eq!(result["locations"][0]["physicalLocation"]["region"]["startLine"], 1);
    let explain = run_sluice(dir.path(), &["lint", "--explain", "set-not-null"]);
    assert_eq!(explain.code, 0);
    assert!(explain.stdout.contains("VALIDATE CONSTRAINT"), "{}", explain.stdout);
    assert_eq!(run_sluice(dir.path(), &["lint", "--explain", "nope"]).code, 2);
    assert_eq!(run_sluice(dir.path(), &["status", "--format", "sarif"]).code, 2);
}

#[tokio::test]
async fn connected_lint_names_table_sizes_and_uses_the_gate() {
    let db = fresh_db().await;
    let c = db.client().await;
    c.batch_execute("CREATE TABLE big (id bigint); INSERT INTO big SELECT generate_series(1, 50000); ANALYZE big;")
        .await
        .unwrap();
    let p = TestProject::new(&db, "production", "lint_gate = \"warning\"");
    std::fs::write(
        p.root().join("sluice.toml"),
        format!(
            "{}\n[lint.production]\nprefer-text-over-varchar = \"off\"\n",
            std::fs::read_to_string(p.root().join("sluice.toml")).unwrap()
        ),
    )
    .unwrap();
    p.write(
        "1_idx.up.sql",
        "CREATE INDEX big_id_idx ON big (id);\nALTER TABLE big ADD COLUMN n varchar(20);\n",
    );
    p.write("1_idx.down.sql", "DROP INDEX big_id_idx;\nALTER TABLE big DROP COLUMN n;\n");
    let out = p.sluice(&["lint", "--env", "dev", "--format", "json"]);
    assert_eq!(out.code, 1, "the production gate is warning: {}", out.stdout);
    let j = out.json();
    let idx = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "create-index-non-concurrently")
        .unwrap();
    assert!(idx["message"].as_str().unwrap().contains("big: 50.0k rows"), "{}", idx["message"]);
    assert!(
        j["findings"].as_array().unwrap().iter().all(|f| f["rule"] != "prefer-text-over-varchar"),
        "turned off for the tier"
    );
    // Offline, the same warning passes the default (error) gate.
    assert_eq!(p.sluice(&["lint"]).code, 0);
}

/// (rule, severity) of one file's findings, in order.
fn judged<'a>(findings: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> =
        findings.map(|(r, s)| (r.to_string(), s.to_string())).collect();
    v.sort();
    v
}

/// The console's list, the apply gate (the wizard's Lint stage and the headless apply) and
/// `sluice lint --env` judge a migration alike, whether or not autovacuum has analyzed the
/// table yet.
#[tokio::test]
async fn the_list_the_gate_and_the_cli_agree_before_and_after_analyze() {
    use sluice::core::data::config::Project;
    use sluice::core::guard::gate;
    use sluice::core::query::overview;

    let db = fresh_db().await;
    let p = TestProject::example(&db);
    assert_eq!(p.sluice(&["apply", "--to", "0012"]).code, 0);
    // A bulk load by another session, which then goes away: never analyzed, so pg_class
    // still says reltuples -1 and no pages; the statistics system counts the rows.
    db.client()
        .await
        .batch_execute(
            "ALTER TABLE orders SET (autovacuum_enabled = false);
             INSERT INTO users (email) VALUES ('a@example.com');
             INSERT INTO orders (user_id) SELECT (SELECT min(id) FROM users) FROM generate_series(1, 20000);",
        )
        .await
        .unwrap();
    let c = db.client().await;
    for _ in 0..100 {
        let live: i64 = c
            .query_one("SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'orders'", &[])
            .await
            .unwrap()
            .get(0);
        if live >= 20_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tuples: f32 = c
        .query_one("SELECT reltuples FROM pg_class WHERE relname = 'orders'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(tuples < 0.0, "orders is not analyzed yet: reltuples {tuples}");
    let project = Project::load(Some(p.root())).unwrap();
    let env = project.environment(Some("dev")).unwrap();
    let file = "0013_add_order_uuid.up.sql";
    for analyzed in [false, true] {
        if analyzed {
            c.batch_execute("ANALYZE orders").await.unwrap();
        }
        let listing = overview::listing(&project, env).await.unwrap();
        let o = overview::overview(&project, env, &listing).await.unwrap();
        let row = o.rows.iter().find(|r| r.version == "0013").unwrap();
        let list = judged(row.findings.iter().map(|f| (f.rule, f.severity.as_str())));
        let pending: Vec<_> = listing.status.pending().cloned().collect();
        let gated = gate::findings(&project, env, &c, &pending).await.unwrap();
        let gate = judged(
            gated.iter().filter(|f| f.file.ends_with(file)).map(|f| (f.rule, f.severity.as_str())),
        );
        let out = p.sluice(&["lint", "--env", "dev", "--format", "json"]);
        let j = out.json();
        let cli = judged(
            j["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["file"].as_str().unwrap().ends_with(file))
                .map(|f| (f["rule"].as_str().unwrap(), f["severity"].as_str().unwrap())),
        );
        assert_eq!(list, gate, "list and gate, analyzed={analyzed}");
        assert_eq!(list, cli, "list and CLI, analyzed={analyzed}");
        assert!(
            list.contains(&("add-column-volatile-default".into(), "error".into())),
            "20,000 rows make the rewrite an error, analyzed={analyzed}: {list:?}"
        );
    }
}
