//! `sluice adopt`: a database another tool migrated, its history table made exactly as that
//! tool makes it, taken over in place: dry run first, then recorded, then the rest applied.

use sha2::{Digest, Sha256, Sha384};

use crate::layouts::copy_fixture;
use crate::support::{fresh_db, TestDb, TestProject};

/// The fixture's first `n` migrations applied (by sluice, whose ledger then goes, so the
/// schema is what the other tool would have left).
async fn migrated_by_another_tool(layout: &str, upto: &str) -> (TestDb, TestProject) {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    copy_fixture(&p, layout);
    let out = p.sluice(&["apply", "--to", upto]);
    assert_eq!(out.code, 0, "{layout}: {}{}", out.stdout, out.stderr);
    // What the other tool left is written by each test: the history table sluice kept
    // for it goes too.
    db.client()
        .await
        .batch_execute(
            "DROP SCHEMA sluice CASCADE; DROP TABLE IF EXISTS schema_migrations, _sqlx_migrations, __diesel_schema_migrations",
        )
        .await
        .unwrap();
    (db, p)
}

fn file(p: &TestProject, rel: &str) -> Vec<u8> {
    std::fs::read(p.migrations().join(rel)).unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Dry run (nothing written), execute, then status and apply take over from there.
async fn adopt_and_continue(
    layout: &str,
    db: &TestDb,
    p: &TestProject,
    adopted: usize,
    pending: usize,
) -> serde_json::Value {
    let c = db.client().await;
    let dry = p.sluice(&["adopt", "--format", "json"]);
    assert_eq!(dry.code, 0, "{layout}: {}{}", dry.stdout, dry.stderr);
    let plan = dry.json()["plan"].clone();
    assert_eq!(plan["tool"], layout, "{plan}");
    let actions: Vec<&str> = plan["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.iter().filter(|a| **a == "adopt").count(), adopted, "{layout}: {plan}");
    assert_eq!(actions.iter().filter(|a| **a == "pending").count(), pending, "{layout}: {plan}");
    let ledger: bool = c
        .query_one("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'sluice')", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!ledger, "{layout}: a dry run writes nothing");

    let text = p.sluice(&["adopt"]);
    assert!(
        text.stdout.contains("dry run") && text.stdout.contains("--execute"),
        "{}",
        text.stdout
    );

    let out = p.sluice(&["adopt", "--execute", "--format", "json"]);
    assert_eq!(out.code, 0, "{layout}: {}{}", out.stdout, out.stderr);
    let j = out.json();
    assert_eq!(j["run"]["action"], "adopt");
    assert_eq!(j["run"]["migrations"].as_array().unwrap().len(), adopted, "{j}");

    let status = p.sluice(&["status", "--format", "json"]).json();
    let states: Vec<&str> = status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(states.iter().filter(|s| **s == "applied").count(), adopted, "{layout}: {status}");
    assert_eq!(states.iter().filter(|s| **s == "pending").count(), pending, "{layout}: {status}");

    // A second adopt has nothing left to do; apply runs only what the tool had not.
    let again = p.sluice(&["adopt", "--format", "json"]).json();
    assert!(
        again["plan"]["migrations"].as_array().unwrap().iter().all(|m| m["action"] != "adopt"),
        "{again}"
    );
    let out = p.sluice(&["apply", "--format", "json"]);
    assert_eq!(out.code, 0, "{layout}: {}{}", out.stdout, out.stderr);
    assert_eq!(out.json()["migrations"].as_array().unwrap().len(), pending, "{layout}");
    j
}

#[tokio::test]
async fn golang_migrate_history_with_its_single_row() {
    let (db, p) = migrated_by_another_tool("golang-migrate", "000006").await;
    db.client()
        .await
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS \"schema_migrations\" (version bigint not null primary key, dirty boolean not null);
             INSERT INTO schema_migrations VALUES (6, false);",
        )
        .await
        .unwrap();
    adopt_and_continue("golang-migrate", &db, &p, 6, 2).await;
}

#[tokio::test]
async fn a_dirty_golang_migrate_state_is_refused_until_the_operator_chooses() {
    let (db, p) = migrated_by_another_tool("golang-migrate", "000006").await;
    let c = db.client().await;
    // Kept elsewhere (x-migrations-table), and dirty: 6 failed part-way.
    c.batch_execute(
        "CREATE SCHEMA ops; CREATE TABLE ops.gm_history (version bigint not null primary key, dirty boolean not null);
         INSERT INTO ops.gm_history VALUES (6, true);",
    )
    .await
    .unwrap();
    let args = ["adopt", "--from", "golang-migrate", "--table", "ops.gm_history"];
    let dry = p.sluice(&args);
    assert_eq!(dry.code, 1, "{}{}", dry.stdout, dry.stderr);
    assert!(dry.stdout.contains("dirty") && dry.stdout.contains("refused"), "{}", dry.stdout);

    let refused = p.sluice(&[&args[..], &["--execute"]].concat());
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(refused.stderr.contains("--failed applied"), "{}{}", refused.stdout, refused.stderr);
    let no_reason = p.sluice(&[&args[..], &["--execute", "--failed", "applied"]].concat());
    assert_eq!(no_reason.code, 1);
    assert!(no_reason.stderr.contains("--reason"), "{}{}", no_reason.stdout, no_reason.stderr);
    let rows: i64 = c.query_one("SELECT count(*) FROM sluice.history", &[]).await.unwrap().get(0);
    assert_eq!(rows, 0, "refused adoptions write no ledger rows");

    let ok = p.sluice(
        &[
            &args[..],
            &[
                "--execute",
                "--failed",
                "applied",
                "--reason",
                "finished 6 by hand",
                "--format",
                "json",
            ],
        ]
        .concat(),
    );
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    let j = ok.json();
    assert_eq!(j["run"]["overrides"][0]["reason"], "finished 6 by hand", "{j}");
    assert_eq!(j["run"]["migrations"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn dbmate_history() {
    let (db, p) = migrated_by_another_tool("dbmate", "20240105090000").await;
    db.client()
        .await
        .batch_execute(
            "create table if not exists public.schema_migrations (version varchar(128) primary key);
             insert into public.schema_migrations (version) values ('20240101090000'), ('20240102090000'),
               ('20240103090000'), ('20240104090000'), ('20240105090000');",
        )
        .await
        .unwrap();
    adopt_and_continue("dbmate", &db, &p, 5, 3).await;
}

#[tokio::test]
async fn diesel_history_including_its_set_up_migration() {
    let (db, p) = migrated_by_another_tool("diesel", "20240105090000").await;
    db.client()
        .await
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
               version VARCHAR(50) PRIMARY KEY NOT NULL,
               run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
             INSERT INTO __diesel_schema_migrations (version) VALUES ('00000000000000'), ('20240101090000'),
               ('20240102090000'), ('20240103090000'), ('20240104090000'), ('20240105090000');",
        )
        .await
        .unwrap();
    adopt_and_continue("diesel", &db, &p, 6, 3).await;
}

#[tokio::test]
async fn sqlx_history_with_its_checksums_and_one_that_differs() {
    let (db, p) = migrated_by_another_tool("sqlx", "20240106090000").await;
    let c = db.client().await;
    c.batch_execute(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
            version BIGINT PRIMARY KEY,
            description TEXT NOT NULL,
            installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
            success BOOLEAN NOT NULL,
            checksum BYTEA NOT NULL,
            execution_time BIGINT NOT NULL)",
    )
    .await
    .unwrap();
    let names = [
        "create_users",
        "create_orders",
        "users_email_key",
        "order_status",
        "touch_fn",
        "products",
    ];
    for (i, name) in names.iter().enumerate() {
        let v = 20240101090000i64 + i as i64 * 1_000_000;
        let mut sum = Sha384::digest(file(&p, &format!("{v}_{name}.up.sql"))).to_vec();
        if i == 2 {
            sum[0] ^= 1; // the file was edited after sqlx ran it
        }
        c.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES ($1, $2, true, $3, 1000)",
            &[&v, &name.replace('_', " "), &sum],
        )
        .await
        .unwrap();
    }
    let j = adopt_and_continue("sqlx", &db, &p, 6, 2).await;
    let differs: Vec<&serde_json::Value> = j["plan"]["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["checksum"] == "differs")
        .collect();
    assert_eq!(differs.len(), 1, "{j}");
    assert_eq!(differs[0]["version"], "20240103090000");
    let matches = j["plan"]["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["checksum"] == "matches")
        .count();
    assert_eq!(matches, 5, "{j}");
    let text = p.sluice(&["runs", "--format", "json"]).stdout;
    assert!(
        text.contains("tool_checksum_differs") && text.contains("20240103090000_users_email_key"),
        "{text}"
    );
}

#[tokio::test]
async fn prisma_history_and_a_failed_row_recorded_failed_for_resolve() {
    let (db, p) = migrated_by_another_tool("prisma", "20240106090000").await;
    let c = db.client().await;
    c.batch_execute(
        r#"CREATE TABLE "_prisma_migrations" (
            "id" VARCHAR(36) NOT NULL,
            "checksum" VARCHAR(64) NOT NULL,
            "finished_at" TIMESTAMPTZ,
            "migration_name" VARCHAR(255) NOT NULL,
            "logs" TEXT,
            "rolled_back_at" TIMESTAMPTZ,
            "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
            "applied_steps_count" INTEGER NOT NULL DEFAULT 0,
            CONSTRAINT "_prisma_migrations_pkey" PRIMARY KEY ("id"))"#,
    )
    .await
    .unwrap();
    let names = [
        "create_users",
        "create_orders",
        "users_email_key",
        "order_status",
        "touch_fn",
        "products",
    ];
    for (i, name) in names.iter().enumerate() {
        let folder = format!("202401{:02}090000_{name}", i + 1);
        let sum = hex(&Sha256::digest(file(&p, &format!("{folder}/migration.sql"))));
        // 6 failed once, was rolled back (prisma migrate resolve --rolled-back), then failed again.
        let rows: &[(&str, &str)] = if i == 5 {
            &[("NULL", "now() - interval '1 hour'"), ("NULL", "NULL")]
        } else {
            &[("now()", "NULL")]
        };
        for (n, (finished, rolled_back)) in rows.iter().enumerate() {
            c.execute(
                &format!(
                    "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at, applied_steps_count)
                     VALUES ($1, $2, {finished}, $3, $4, {rolled_back}, 1)"
                ),
                &[&format!("00000000-0000-0000-0000-0000000000{i}{n}"), &sum, &folder, &(if i == 5 { Some("Database error: deadlock detected") } else { None })],
            )
            .await
            .unwrap();
        }
    }
    let dry = p.sluice(&["adopt", "--format", "json"]);
    assert_eq!(dry.code, 1, "{}{}", dry.stdout, dry.stderr);
    let plan = dry.json()["plan"].clone();
    let refused: Vec<&str> = plan["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["action"] == "refused")
        .map(|m| m["version"].as_str().unwrap())
        .collect();
    assert_eq!(refused, ["20240106090000"], "{plan}");
    assert!(plan["migrations"][0]["checksum"] == "matches", "{plan}");

    let out = p.sluice(&["adopt", "--execute", "--failed", "failed", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let status = p.sluice(&["status", "--format", "json"]).json();
    let states: Vec<&str> = status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["applied", "applied", "applied", "applied", "applied", "failed", "pending", "pending"]
    );
    let plan = p.sluice(&["resolve"]);
    assert_eq!(plan.code, 1, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("20240106090000_products") && plan.stdout.contains("deadlock"),
        "{}",
        plan.stdout
    );
}

#[tokio::test]
async fn drizzle_history_matched_by_the_journal_time() {
    let (db, p) = migrated_by_another_tool("drizzle", "0004").await;
    let c = db.client().await;
    c.batch_execute(
        r#"CREATE SCHEMA IF NOT EXISTS "drizzle";
           CREATE TABLE IF NOT EXISTS "drizzle"."__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)"#,
    )
    .await
    .unwrap();
    let journal: serde_json::Value =
        serde_json::from_slice(&file(&p, "meta/_journal.json")).unwrap();
    for e in journal["entries"].as_array().unwrap().iter().take(5) {
        let tag = e["tag"].as_str().unwrap();
        let hash = hex(&Sha256::digest(file(&p, &format!("{tag}.sql"))));
        c.execute(
            r#"INSERT INTO "drizzle"."__drizzle_migrations" ("hash", "created_at") VALUES ($1, $2)"#,
            &[&hash, &e["when"].as_i64().unwrap()],
        )
        .await
        .unwrap();
    }
    adopt_and_continue("drizzle", &db, &p, 5, 3).await;
}

/// installed_rank, version, description, type, script, checksum.
type FlywayRow<'a> = (i32, Option<&'a str>, &'a str, &'a str, &'a str, Option<i32>);

#[tokio::test]
async fn flyway_history_with_a_baseline_an_undo_and_a_changed_repeatable() {
    let (db, p) = migrated_by_another_tool("flyway", "1.11").await;
    let c = db.client().await;
    c.batch_execute(
        r#"CREATE TABLE "public"."flyway_schema_history" (
            "installed_rank" INT NOT NULL,
            "version" VARCHAR(50),
            "description" VARCHAR(200) NOT NULL,
            "type" VARCHAR(20) NOT NULL,
            "script" VARCHAR(1000) NOT NULL,
            "checksum" INTEGER,
            "installed_by" VARCHAR(100) NOT NULL,
            "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
            "execution_time" INTEGER NOT NULL,
            "success" BOOLEAN NOT NULL);
        ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
        CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success");"#,
    )
    .await
    .unwrap();
    let crc = |rel: &str| sluice::core::db::foreign::flyway_crc(&file(&p, rel));
    // Baselined at 1.2; 1.9, 1.10 and 1.11 run; 2 run and then undone; the repeatable run
    // from an older version of its file.
    let rows: Vec<FlywayRow> = vec![
        (1, Some("1.2"), "<< Flyway Baseline >>", "BASELINE", "<< Flyway Baseline >>", None),
        (
            2,
            Some("1.9"),
            "order status",
            "SQL",
            "V1.9__order_status.sql",
            Some(crc("sql/V1.9__order_status.sql")),
        ),
        (
            3,
            Some("1.10"),
            "touch fn",
            "SQL",
            "V1.10__touch_fn.sql",
            Some(crc("sql/V1.10__touch_fn.sql")),
        ),
        (
            4,
            Some("1.11"),
            "products",
            "SQL",
            "V1_11__products.sql",
            Some(crc("V1_11__products.sql")),
        ),
        (
            5,
            Some("2"),
            "orders created at idx",
            "SQL",
            "V2__orders_created_at_idx.sql",
            Some(crc("V2__orders_created_at_idx.sql")),
        ),
        (6, None, "order totals", "SQL", "R__order_totals.sql", Some(12345)),
        (
            7,
            Some("2"),
            "orders created at idx",
            "UNDO_SQL",
            "U2__orders_created_at_idx.sql",
            Some(crc("U2__orders_created_at_idx.sql")),
        ),
    ];
    for (rank, version, desc, kind, script, sum) in rows {
        c.execute(
            "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
             VALUES ($1, $2, $3, $4, $5, $6, 'flyway', 12, true)",
            &[&rank, &version, &desc, &kind, &script, &sum],
        )
        .await
        .unwrap();
    }
    let dry = p.sluice(&["adopt", "--format", "json"]);
    assert_eq!(dry.code, 0, "{}{}", dry.stdout, dry.stderr);
    let plan = dry.json()["plan"].clone();
    let got: Vec<(String, String, String, String)> = plan["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap().to_string();
            (s("version"), s("recorded"), s("checksum"), s("action"))
        })
        .collect();
    let want = [
        ("1", "baselined", "none kept", "adopt"),
        ("1.1", "baselined", "none kept", "adopt"),
        ("1.2", "baselined", "none kept", "adopt"),
        ("1.9", "applied", "matches", "adopt"),
        ("1.10", "applied", "matches", "adopt"),
        ("1.11", "applied", "matches", "adopt"),
        ("2", "not run", "none kept", "pending"),
        ("R__order_totals", "applied", "differs", "rerun"),
    ];
    let want: Vec<(String, String, String, String)> = want
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect();
    assert_eq!(got, want, "{plan}");

    let out = p.sluice(&["adopt", "--execute"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let status = p.sluice(&["status", "--format", "json"]).json();
    let pending: Vec<&str> = status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["state"] == "pending")
        .map(|m| m["version"].as_str().unwrap())
        .collect();
    assert_eq!(pending, ["2", "R__order_totals"], "{status}");
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let view: bool = c
        .query_one("SELECT EXISTS (SELECT 1 FROM pg_views WHERE viewname = 'order_totals')", &[])
        .await
        .unwrap()
        .get(0);
    assert!(view, "the repeatable ran after the adoption");
}
