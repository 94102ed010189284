//! Other tools' migration folders, read unchanged: detected, listed, applied and rolled back
//! against real PostgreSQL, leaving the catalog as it was.

use crate::support::{catalog, fresh_db, TestProject};

fn copy_fixture(p: &TestProject, layout: &str) {
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/layouts")
        .join(layout);
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), p.migrations().join(e.file_name())).unwrap();
    }
}

async fn round_trip(layout: &str, first_version: &str) {
    let db = fresh_db().await;
    let c = db.client().await;
    let before = catalog(&c).await;
    let p = TestProject::new(&db, "development", "");
    copy_fixture(&p, layout);

    let status = p.sluice(&["status", "--format", "json"]);
    assert_eq!(status.code, 0, "{layout}: {}", status.stderr);
    let j = status.json();
    let migrations = j["migrations"].as_array().unwrap();
    assert_eq!(migrations.len(), 8, "{layout}");
    assert!(migrations.iter().all(|m| m["state"] == "pending"), "{layout}: {j}");
    assert_eq!(migrations[0]["version"], first_version);

    let lint = p.sluice(&["lint"]);
    assert!(lint.code <= 1, "{layout}: lint reads the folder: {}{}", lint.stdout, lint.stderr);

    let out = p.sluice(&["apply", "--format", "json"]);
    assert_eq!(out.code, 0, "{layout}: {}{}", out.stdout, out.stderr);
    let report = out.json();
    let ran: Vec<(bool, usize)> = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["transactional"].as_bool().unwrap(), m["statements"].as_array().unwrap().len()))
        .collect();
    assert_eq!(ran.len(), 8, "{layout}");
    // The users table's own BEGIN/COMMIT (golang-migrate) is replaced by sluice's
    // transaction; the CONCURRENTLY builds run outside one.
    assert_eq!(ran[0], (true, 1), "{layout}: {ran:?}");
    assert!(!ran[2].0 && !ran[6].0, "{layout}: {ran:?}");
    let applied = catalog(&c).await;
    for want in [
        "users_email_key",
        "orders_created_at_idx",
        "order_totals",
        "products_touch",
        "order_status",
    ] {
        assert!(applied.iter().any(|l| l.contains(want)), "{layout}: {want} in {applied:?}");
    }
    let valid: bool = c
        .query_one(
            "SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid = 'orders'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(valid, "{layout}");

    let back = p.sluice(&["rollback", "--to", "0"]);
    assert_eq!(back.code, 0, "{layout}: {}{}", back.stdout, back.stderr);
    assert_eq!(catalog(&c).await, before, "{layout}: rolling everything back restores the catalog");
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert!(j["migrations"].as_array().unwrap().iter().all(|m| m["state"] == "pending"), "{j}");
}

#[tokio::test]
async fn golang_migrate_folder_round_trips() {
    round_trip("golang-migrate", "000001").await;
}

#[tokio::test]
async fn dbmate_folder_round_trips() {
    round_trip("dbmate", "20240101090000").await;
}

#[tokio::test]
async fn a_folder_of_two_layouts_or_a_layout_not_read_yet_is_refused_clearly() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    p.write(
        "20240101090000_a.sql",
        "-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n",
    );
    p.write("2_b.up.sql", "-- sluice:no-transaction\nCREATE TABLE b (id int);\n");
    let out = p.sluice(&["status"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("mixes migration layouts"), "{}", out.stderr);
    assert!(
        out.stderr.contains("2_b.up.sql") && out.stderr.contains("20240101090000_a.sql"),
        "{}",
        out.stderr
    );

    // An explicit layout wins over detection, and a wrong name is a config error.
    let p = TestProject::new(&db, "development", "");
    std::fs::write(
        p.root().join("sluice.toml"),
        std::fs::read_to_string(p.root().join("sluice.toml"))
            .unwrap()
            .replace("[project]", "[project]\nlayout = \"liquibase\""),
    )
    .unwrap();
    let out = p.sluice(&["status"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("layout = \"liquibase\""), "{}", out.stderr);
}
