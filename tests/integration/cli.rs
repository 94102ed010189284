use crate::support::{fresh_db, TestProject};

#[tokio::test]
async fn new_creates_the_next_migration_pair() {
    let db = fresh_db().await;
    let p = TestProject::example(&db);
    let out = p.sluice(&["new", "add_coupons", "--no-transaction"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let up = p.migrations().join("0015_add_coupons.up.sql");
    assert!(std::fs::read_to_string(&up).unwrap().starts_with("-- sluice:no-transaction"));
    assert!(p.migrations().join("0015_add_coupons.down.sql").exists());
    // The template has no statement yet: sluice refuses to treat it as a migration.
    let status = p.sluice(&["status"]);
    assert_eq!(status.code, 2);
    assert!(
        status.stderr.contains("0015_add_coupons.up.sql: holds no SQL statement"),
        "{}",
        status.stderr
    );
    std::fs::write(&up, "CREATE TABLE coupons (code text PRIMARY KEY);\n").unwrap();
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(j["migrations"][14]["version"], "0015");
    let bad = p.sluice(&["new", "has space"]);
    assert_eq!(bad.code, 2);
    let ts = p.sluice(&["new", "stamped", "--timestamp", "--format", "json"]).json();
    let created = ts["created"][0].as_str().unwrap();
    assert!(created.contains("/20") && created.ends_with("_stamped.up.sql"), "{created}");
}

#[tokio::test]
async fn info_names_where_things_live() {
    let db = fresh_db().await;
    let p = TestProject::example(&db);
    let j = p.sluice(&["info", "--format", "json"]).json();
    assert!(j["log_dir"].as_str().unwrap().contains("sluice"));
    assert_eq!(j["environments"][0]["name"], "dev");
    assert!(j["project"].as_str().unwrap().ends_with("sluice.toml"));
}
