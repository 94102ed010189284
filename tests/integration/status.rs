use crate::support::{fresh_db, TestProject};

fn state_of(json: &serde_json::Value, version: &str) -> String {
    json["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["version"] == version)
        .map(|m| m["state"].as_str().unwrap().to_string())
        .unwrap_or_else(|| "absent".into())
}

#[tokio::test]
async fn status_reports_every_state_in_the_json_contract() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    p.write("0001_a.up.sql", "CREATE TABLE a (id int);\n");
    p.write("0001_a.down.sql", "DROP TABLE a;\n");
    p.write("0002_b.up.sql", "CREATE TABLE b (id int);\n");
    p.write("0002_b.down.sql", "DROP TABLE b;\n");
    p.write("0003_c.up.sql", "CREATE TABLE c (id int);\n");
    p.write("0003_c.down.sql", "DROP TABLE c;\n");
    p.write("0005_e.up.sql", "-- sluice:no-transaction\nCREATE TABLE e (id int);\nSELECT 1/0;\n");

    let fresh = p.sluice(&["status", "--format", "json"]);
    assert_eq!(fresh.code, 0, "{}", fresh.stderr);
    let j = fresh.json();
    assert_eq!(j["environment"], "dev");
    assert_eq!(state_of(&j, "0001"), "pending");
    assert!(j["migrations"][0]["applied_at"].is_null());

    assert_eq!(p.sluice(&["apply", "--to", "0003"]).code, 0);
    // Drift: the applied file changes. Missing: the applied file disappears.
    p.write("0002_b.up.sql", "CREATE TABLE b (id bigint);\n");
    std::fs::remove_file(p.migrations().join("0003_c.up.sql")).unwrap();
    std::fs::remove_file(p.migrations().join("0003_c.down.sql")).unwrap();
    // Out of order: a pending version below the newest applied one.
    p.write("0000_zero.up.sql", "SELECT 1;\n");
    let applied = p.sluice(&["apply", "--allow-drift", "--allow-out-of-order"]);
    assert_eq!(applied.code, 3, "0005 fails at statement 2: {}", applied.stderr);

    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(state_of(&j, "0001"), "applied");
    assert_eq!(state_of(&j, "0002"), "drifted");
    assert_eq!(state_of(&j, "0003"), "missing");
    assert_eq!(state_of(&j, "0000"), "applied");
    assert_eq!(state_of(&j, "0005"), "failed");
    let failed =
        j["migrations"].as_array().unwrap().iter().find(|m| m["version"] == "0005").unwrap();
    assert_eq!(failed["failed_at_statement"], 2);
    let first = &j["migrations"][1];
    assert_eq!(first["version"], "0001", "versions keep their leading zeros");
    assert_eq!(first["checksum"].as_str().unwrap().len(), 64);
    assert!(first["applied_at"].as_str().unwrap().ends_with('Z'));

    p.write("0004_d.up.sql", "SELECT 4;\n");
    let j = p.sluice(&["status", "--format", "json"]).json();
    let d = j["migrations"].as_array().unwrap().iter().find(|m| m["version"] == "0004").unwrap();
    assert_eq!(d["state"], "pending");
    assert_eq!(d["out_of_order"], true);
    let text = p.sluice(&["status"]);
    assert!(text.stdout.contains("! 0002_b"), "{}", text.stdout);
    assert!(text.stdout.contains("✗ 0005_e"), "{}", text.stdout);
    assert!(text.stdout.contains("↯ 0004_d"), "{}", text.stdout);
}

#[tokio::test]
async fn line_endings_and_trailing_space_are_not_drift() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\nCOMMENT ON TABLE a IS 'x';\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    p.write("1_a.up.sql", "CREATE TABLE a (id int);   \r\nCOMMENT ON TABLE a IS 'x';\r\n\r\n");
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(state_of(&j, "1"), "applied");
    p.write("1_a.up.sql", "CREATE TABLE a (id int);\nCOMMENT ON TABLE a IS 'y';\n");
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(state_of(&j, "1"), "drifted");
    // Drift blocks apply (a guard, exit 1) unless allowed.
    p.write("2_b.up.sql", "SELECT 2;\n");
    let refused = p.sluice(&["apply"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("1_a"), "{}", refused.stderr);
}
