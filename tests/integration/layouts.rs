//! Other tools' migration folders, read unchanged: detected, listed, applied and rolled back
//! against real PostgreSQL, leaving the catalog as it was.

use crate::support::{catalog, catalog_and_tool_rows, fresh_db, TestProject};

pub fn copy_fixture(p: &TestProject, layout: &str) {
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/layouts")
        .join(layout);
    copy_tree(&from, &p.migrations());
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The fixtures' timestamp versions (dbmate, sqlx, Prisma).
const DATED: [&str; 8] = [
    "20240101090000",
    "20240102090000",
    "20240103090000",
    "20240104090000",
    "20240105090000",
    "20240106090000",
    "20240107090000",
    "20240108090000",
];

/// What a fixture holds: the same schema in every layout, each with its own quirks.
struct Fixture {
    layout: &'static str,
    versions: &'static [&'static str],
    /// Positions (in apply order) of the migrations that run outside a transaction.
    no_transaction: &'static [usize],
    /// Statements of the first migration (its own BEGIN/COMMIT gone where it had them).
    first_statements: usize,
    has_downs: bool,
}

async fn round_trip(f: Fixture) {
    let layout = f.layout;
    let db = fresh_db().await;
    let c = db.client().await;
    let before = catalog(&c).await;
    let p = TestProject::new(&db, "development", "");
    copy_fixture(&p, layout);

    let status = p.sluice(&["status", "--format", "json"]);
    assert_eq!(status.code, 0, "{layout}: {}", status.stderr);
    let j = status.json();
    let migrations = j["migrations"].as_array().unwrap();
    let versions: Vec<&str> = migrations.iter().map(|m| m["version"].as_str().unwrap()).collect();
    assert_eq!(versions, f.versions, "{layout}");
    assert!(migrations.iter().all(|m| m["state"] == "pending"), "{layout}: {j}");

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
    assert_eq!(ran.len(), f.versions.len(), "{layout}");
    assert_eq!(ran[0], (true, f.first_statements), "{layout}: {ran:?}");
    let outside: Vec<usize> = (0..ran.len()).filter(|&i| !ran[i].0).collect();
    assert_eq!(outside, f.no_transaction, "{layout}: {ran:?}");
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
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert!(j["migrations"].as_array().unwrap().iter().all(|m| m["state"] == "applied"), "{j}");

    let back = p.sluice(&["rollback", "--to", "0"]);
    if f.has_downs {
        assert_eq!(back.code, 0, "{layout}: {}{}", back.stdout, back.stderr);
        let (after, tool_rows) = catalog_and_tool_rows(&c).await;
        assert_eq!(after, before, "{layout}: rolling everything back restores the catalog");
        assert_eq!(tool_rows, 0, "{layout}: the tool's own history table is empty again");
        let j = p.sluice(&["status", "--format", "json"]).json();
        assert!(j["migrations"].as_array().unwrap().iter().all(|m| m["state"] == "pending"), "{j}");
    } else {
        // No down files: the rollback names every migration it cannot undo and changes nothing.
        assert_eq!(back.code, 1, "{layout}: {}{}", back.stdout, back.stderr);
        let said = format!("{}{}", back.stdout, back.stderr);
        assert!(said.contains("no down file"), "{layout}: {said}");
        let last = f.versions.last().unwrap();
        assert!(said.contains(f.versions[0]) && said.contains(last), "{layout}: {said}");
        assert_eq!(catalog(&c).await, applied, "{layout}: a refused rollback changes nothing");
    }
}

#[tokio::test]
async fn golang_migrate_folder_round_trips() {
    round_trip(Fixture {
        layout: "golang-migrate",
        versions: &["000001", "000002", "000003", "000004", "000005", "000006", "000007", "000008"],
        no_transaction: &[2, 6],
        first_statements: 1,
        has_downs: true,
    })
    .await;
}

#[tokio::test]
async fn goose_folder_round_trips() {
    round_trip(Fixture {
        layout: "goose",
        versions: &["00001", "00002", "00003", "00004", "00005", "00006", "00007", "00008"],
        no_transaction: &[2, 6],
        first_statements: 1,
        has_downs: true,
    })
    .await;
}

#[tokio::test]
async fn dbmate_folder_round_trips() {
    round_trip(Fixture {
        layout: "dbmate",
        versions: &DATED,
        no_transaction: &[2, 6],
        first_statements: 1,
        has_downs: true,
    })
    .await;
}

/// Dotted versions (1.10 after 1.9, 1_11 as 1.11), scripts in a sub-folder, U undo files,
/// a .sql.conf, a CONCURRENTLY build Flyway's parser runs outside a transaction, and a
/// repeatable view run last.
#[tokio::test]
async fn flyway_folder_round_trips() {
    round_trip(Fixture {
        layout: "flyway",
        versions: &["1", "1.1", "1.2", "1.9", "1.10", "1.11", "2", "R__order_totals"],
        no_transaction: &[2, 6],
        first_statements: 1,
        has_downs: true,
    })
    .await;
}

/// Diesel's own set-up migration (version 00000000000000), dashed versions, metadata.toml.
#[tokio::test]
async fn diesel_folder_round_trips() {
    round_trip(Fixture {
        layout: "diesel",
        versions: &[
            "00000000000000",
            "20240101090000",
            "20240102090000",
            "20240103090000",
            "20240104090000",
            "20240105090000",
            "20240106090000",
            "20240107090000",
            "20240108090000",
        ],
        no_transaction: &[3, 7],
        first_statements: 2,
        has_downs: true,
    })
    .await;
}

/// Reversible files with `-- no-transaction` as the first bytes of the CONCURRENTLY ones.
#[tokio::test]
async fn sqlx_folder_round_trips() {
    round_trip(Fixture {
        layout: "sqlx",
        versions: &DATED,
        no_transaction: &[2, 6],
        first_statements: 1,
        has_downs: true,
    })
    .await;
}

/// migration.sql folders with a lock file, a file wrapped in its own BEGIN/COMMIT, lone
/// CONCURRENTLY builds; no downs, so the rollback is refused per migration.
#[tokio::test]
async fn prisma_folder_applies_and_refuses_a_rollback_it_cannot_do() {
    round_trip(Fixture {
        layout: "prisma",
        versions: &DATED,
        no_transaction: &[2, 6],
        first_statements: 1,
        has_downs: false,
    })
    .await;
}

/// Files ordered by meta/_journal.json, statements split at `--> statement-breakpoint`,
/// snapshots in meta/ ignored; drizzle runs everything in transactions and has no downs.
#[tokio::test]
async fn drizzle_folder_applies_and_refuses_a_rollback_it_cannot_do() {
    round_trip(Fixture {
        layout: "drizzle",
        versions: &["0000", "0001", "0002", "0003", "0004", "0005", "0006", "0007"],
        no_transaction: &[],
        first_statements: 1,
        has_downs: false,
    })
    .await;
}

#[tokio::test]
async fn a_folder_of_two_layouts_or_an_unknown_layout_name_is_refused_clearly() {
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

/// A repeatable runs again when its file changes (pending, never drifted), and again after
/// a rollback of what it builds on; a versioned file's edit is still drift.
#[tokio::test]
async fn flyway_repeatables_rerun_when_changed_and_after_a_rollback() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    copy_fixture(&p, "flyway");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    let state = |p: &TestProject| -> Vec<(String, String)> {
        let j = p.sluice(&["status", "--format", "json"]).json();
        j["migrations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["state"] != "applied")
            .map(|m| {
                (
                    m["version"].as_str().unwrap().to_string(),
                    m["state"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert!(state(&p).is_empty());

    p.write(
        "R__order_totals.sql",
        "CREATE OR REPLACE VIEW order_totals AS\n  SELECT user_id, count(*) AS orders, sum(total) AS total, max(created_at) AS last_order\n  FROM orders GROUP BY user_id;\n",
    );
    assert_eq!(state(&p), [("R__order_totals".to_string(), "pending".to_string())]);
    let out = p.sluice(&["apply", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let ran: Vec<String> = out.json()["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ran, ["R__order_totals"]);
    let cols: i64 = c
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'order_totals'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(cols, 4, "the changed view is in place");

    // Rolling back V2 leaves the repeatable to run again after it.
    let back = p.sluice(&["rollback", "--steps", "1"]);
    assert_eq!(back.code, 0, "{}{}", back.stdout, back.stderr);
    assert_eq!(
        state(&p),
        [
            ("2".to_string(), "pending".to_string()),
            ("R__order_totals".to_string(), "pending".to_string())
        ]
    );
    let out = p.sluice(&["apply", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.json()["migrations"].as_array().unwrap().len(), 2);

    p.write("V1.1__create_orders.sql", "CREATE TABLE orders (id bigint);\n");
    assert_eq!(state(&p), [("1.1".to_string(), "drifted".to_string())]);
}
