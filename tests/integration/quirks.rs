//! Folders with the quirks real projects carry and their own tools accept (seen in public
//! projects, written here from scratch): each is read, applied and rolled back by sluice
//! with the default config against real PostgreSQL. `native_tools.rs` runs the same folders
//! through the tools themselves and compares.

use std::path::Path;

use crate::support::{catalog, catalog_and_tool_rows, fresh_db, TestProject};

/// One quirky folder: its files, what `status` must count, what it must say it ignores.
pub struct Quirks {
    pub layout: &'static str,
    pub files: &'static [(&'static str, &'static str)],
    pub versions: &'static [&'static str],
    pub ignored: &'static [&'static str],
    /// Every migration has a down (so `rollback --to 0` returns to an empty schema).
    pub reversible: bool,
    /// One migration is empty (runs as nothing), and with downs, one down is empty.
    pub empty: bool,
}

impl Quirks {
    pub fn write(&self, dir: &Path) {
        for (name, text) in self.files {
            let path = dir.join(name);
            if name.ends_with('/') {
                std::fs::create_dir_all(path).unwrap();
                continue;
            }
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }
}

pub const SQLX: Quirks = Quirks {
    layout: "sqlx",
    files: &[
        // A reserved slot: comments only. sqlx runs it and records it.
        ("20240101000000_placeholder.up.sql", "-- filled in by a later release\n"),
        ("20240101000000_placeholder.down.sql", "-- nothing to undo\n"),
        (
            "20240102000000_create_users.up.sql",
            "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n",
        ),
        // sqlx pairs the down with its up by version alone.
        ("20240102000000_drop_users.down.sql", "DROP TABLE users;\n"),
        (
            "20240103000000_users_email_idx.up.sql",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n",
        ),
        (
            "20240103000000_users_email_idx.down.sql",
            "-- no-transaction\nDROP INDEX CONCURRENTLY users_email_idx;\n",
        ),
        ("20240104000000_comment.up.sql", "COMMENT ON TABLE users IS 'people';\n"),
        // An empty down: undoing a comment is nothing worth doing.
        ("20240104000000_comment.down.sql", ""),
        // Not `<version>_<description>.sql`: sqlx passes over it.
        ("schema.sql", "CREATE TABLE never_run (a int);\n"),
    ],
    versions: &["20240101000000", "20240102000000", "20240103000000", "20240104000000"],
    ignored: &["schema.sql"],
    reversible: true,
    empty: true,
};

pub const GOLANG: Quirks = Quirks {
    layout: "golang-migrate",
    files: &[
        (
            "000001_create_users.up.sql",
            "BEGIN;\nCREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\nCOMMIT;\n",
        ),
        // golang-migrate pairs by version: the down may be named for what it does.
        ("000001_drop_users.down.sql", "DROP TABLE users;\n"),
        ("000002_reserved.up.sql", "-- reserved for the billing team\n"),
        ("000002_reserved.down.sql", ""),
        // One statement: golang-migrate's driver runs it alone, outside a transaction.
        (
            "000003_users_email_idx.up.sql",
            "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n",
        ),
        ("000003_users_email_idx.down.sql", "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;\n"),
        // Harbor's migrations add a column to golang-migrate's own table.
        (
            "000004_data_version.up.sql",
            "ALTER TABLE schema_migrations ADD COLUMN data_version int;\n",
        ),
        (
            "000004_data_version.down.sql",
            "ALTER TABLE schema_migrations DROP COLUMN data_version;\n",
        ),
        ("seed.sql", "INSERT INTO users VALUES (1, 'never@example.com');\n"),
    ],
    versions: &["000001", "000002", "000003", "000004"],
    ignored: &["seed.sql"],
    reversible: true,
    empty: true,
};

pub const DBMATE: Quirks = Quirks {
    layout: "dbmate",
    files: &[
        (
            "20240101000000_create_users.sql",
            "-- migrate:up\nCREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n\n-- migrate:down\nDROP TABLE users;\n",
        ),
        // Both sections empty: dbmate runs and records it.
        ("20240102000000_placeholder.sql", "-- migrate:up\n\n-- migrate:down\n\n"),
        // dbmate's marker needs no space after `--`.
        (
            "20240103000000_users_email_idx.sql",
            "--migrate:up transaction:false\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n\n--migrate:down transaction:false\nDROP INDEX CONCURRENTLY users_email_idx;\n",
        ),
        // A version with no description, and an empty down section.
        ("20240104000000.sql", "-- migrate:up\nCOMMENT ON TABLE users IS 'people';\n\n-- migrate:down\n"),
        // Supabase's names: a dash after the version.
        (
            "20240105000000-orders.sql",
            "-- migrate:up\nCREATE TABLE orders (id bigint PRIMARY KEY);\n-- migrate:down\nDROP TABLE orders;\n",
        ),
        ("schema.sql", "CREATE TABLE never_run (a int);\n"),
    ],
    versions: &["20240101000000", "20240102000000", "20240103000000", "20240104000000", "20240105000000"],
    ignored: &["schema.sql"],
    reversible: true,
    empty: true,
};

pub const DIESEL: Quirks = Quirks {
    layout: "diesel",
    files: &[
        (
            "00000000000000_initial_setup/up.sql",
            "CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger AS $$\nBEGIN\n    NEW.updated_at := now();\n    RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n",
        ),
        ("00000000000000_initial_setup/down.sql", "DROP FUNCTION IF EXISTS touch_updated_at();\n"),
        (
            "2024-01-01-000000_create_users/up.sql",
            "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, updated_at timestamptz);\n",
        ),
        ("2024-01-01-000000_create_users/down.sql", "DROP TABLE users;\n"),
        (
            "2024-01-03-000000_users_email_idx/up.sql",
            "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n",
        ),
        ("2024-01-03-000000_users_email_idx/down.sql", "DROP INDEX CONCURRENTLY users_email_idx;\n"),
        // No `run_in_transaction` key: diesel's field defaults to false.
        ("2024-01-03-000000_users_email_idx/metadata.toml", "# outside a transaction\n"),
        // The newer diesel version format, with a `-0000` suffix.
        (
            "2024-01-04-000000-0000_comment/up.sql",
            "COMMENT ON TABLE users IS 'people';\n",
        ),
        ("2024-01-04-000000-0000_comment/down.sql", "COMMENT ON TABLE users IS NULL;\n"),
        // Not a migration: diesel reads folders only.
        ("README.md", "How we migrate.\n"),
    ],
    versions: &["00000000000000", "20240101000000", "20240103000000", "202401040000000000"],
    ignored: &[],
    reversible: true,
    empty: false,
};

pub const FLYWAY: Quirks = Quirks {
    layout: "flyway",
    files: &[
        (
            "V1__create_users.sql",
            "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n",
        ),
        ("V1.1__placeholder.sql", "-- kept so the numbering matches the release notes\n"),
        ("sql/V2__comment.sql", "COMMENT ON TABLE users IS 'people';\n"),
        // One underscore: Flyway's naming rules filter it out, so it never runs.
        ("V3_typo.sql", "CREATE TABLE never_run (a int);\n"),
    ],
    versions: &["1", "1.1", "2"],
    ignored: &["V3_typo.sql"],
    reversible: false,
    empty: true,
};

pub const PRISMA: Quirks = Quirks {
    layout: "prisma",
    files: &[
        ("migration_lock.toml", "provider = \"postgresql\"\n"),
        (
            "20240101000000_init/migration.sql",
            "-- CreateTable\nCREATE TABLE \"User\" (\"id\" SERIAL NOT NULL, \"email\" TEXT NOT NULL, CONSTRAINT \"User_pkey\" PRIMARY KEY (\"id\"));\n",
        ),
        // `prisma migrate dev --create-only`, never filled in.
        ("20240102000000_empty/migration.sql", "-- This is an empty migration.\n"),
    ],
    versions: &["20240101000000", "20240102000000"],
    ignored: &[],
    reversible: false,
    empty: true,
};

pub const DRIZZLE: Quirks = Quirks {
    layout: "drizzle",
    files: &[
        (
            "meta/_journal.json",
            r#"{"version":"7","dialect":"postgresql","entries":[
  {"idx":0,"version":"7","when":1704067200000,"tag":"0000_create_users","breakpoints":true},
  {"idx":1,"version":"7","when":1704153600000,"tag":"0001_custom","breakpoints":true}]}"#,
        ),
        (
            "0000_create_users.sql",
            "CREATE TABLE \"users\" (\n\t\"id\" serial PRIMARY KEY NOT NULL,\n\t\"email\" text NOT NULL\n);\n--> statement-breakpoint\nCREATE INDEX \"users_email_idx\" ON \"users\" USING btree (\"email\");",
        ),
        // drizzle-kit generate --custom, left as generated.
        ("0001_custom.sql", "-- Custom SQL migration file, put your code below! --\n"),
        // Not in the journal: drizzle never reads it.
        ("0002_orphan.sql", "CREATE TABLE never_run (a int);\n"),
    ],
    versions: &["0000", "0001"],
    ignored: &["0002_orphan.sql"],
    reversible: false,
    empty: true,
};

pub const GOOSE: Quirks = Quirks {
    layout: "goose",
    files: &[
        // goose reads annotations in any case, with or without the space, trailing
        // spaces too (Permify's carry them).
        (
            "00001_create_users.sql",
            "--+goose up\nCREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n\n-- +goose Down \nDROP TABLE users;\n",
        ),
        // A reserved slot: both sections empty (goose runs nothing and records it).
        ("00002_placeholder.sql", "-- +goose Up\n-- reserved for the next release\n\n-- +goose Down\n"),
        // NO TRANSACTION may stand before the up annotation; it is the file's.
        (
            "00003_users_email_idx.sql",
            "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email); -- online\n\n-- +goose Down\nDROP INDEX CONCURRENTLY users_email_idx;\n",
        ),
        // A timestamp version after sequential ones (goose orders them as numbers), and no
        // down section: the down runs nothing.
        ("20240104000000_comment.sql", "-- +goose Up\nCOMMENT ON TABLE users IS 'people';\n"),
        // Go without a version (helpers) and other files: goose passes over them.
        ("helpers.go", "package migrations\n"),
        ("README.md", "How we migrate.\n"),
    ],
    versions: &["00001", "00002", "00003", "20240104000000"],
    ignored: &[],
    reversible: true,
    empty: true,
};

pub const SQL_MIGRATE: Quirks = Quirks {
    layout: "sql-migrate",
    files: &[
        // A licence header before the first section: sql-migrate drops it.
        (
            "20180103142001_initial.sql",
            "/*\n * Licensed under the Apache License.\n */\n\n-- +migrate Up\nCREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n\n-- +migrate Down\nDROP TABLE users;\n",
        ),
        // Two files of one number (Nakama has them): sql-migrate runs them by name.
        (
            "20230222172540-email-1.sql",
            "-- +migrate Up\nALTER TABLE users ADD COLUMN note text;\n-- +migrate Down\nALTER TABLE users DROP COLUMN note;\n",
        ),
        (
            "20230222172540-email-2.sql",
            "-- +migrate Up notransaction\nCREATE INDEX CONCURRENTLY users_note_idx ON users (note);\n-- +migrate Down notransaction\nDROP INDEX CONCURRENTLY users_note_idx;\n",
        ),
        // A down section with comments only: it undoes nothing.
        (
            "20230706095800-comment.sql",
            "-- +migrate Up\nCOMMENT ON TABLE users IS 'people';\n-- +migrate Down\n-- nothing to undo\n",
        ),
        // A reserved slot: both sections empty.
        ("20230801000000_reserved.sql", "-- +migrate Up\n-- +migrate Down\n"),
        ("README.md", "How we migrate.\n"),
    ],
    versions: &[
        "20180103142001",
        "20230222172540.1",
        "20230222172540.2",
        "20230706095800",
        "20230801000000",
    ],
    ignored: &[],
    reversible: true,
    empty: true,
};

/// status counts every migration and names what it ignores; apply runs them all; status says
/// all applied; rollback --to 0 (where there are downs) returns to the empty schema.
async fn round_trip(q: &Quirks) {
    let layout = q.layout;
    let db = fresh_db().await;
    let c = db.client().await;
    let before = catalog(&c).await;
    let p = TestProject::new(&db, "development", "");
    q.write(&p.migrations());

    let status = p.sluice(&["status", "--format", "json"]);
    assert_eq!(status.code, 0, "{layout}: {}", status.stderr);
    let j = status.json();
    let versions: Vec<&str> = j["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, q.versions, "{layout}");
    let ignored: Vec<String> = j["ignored"]
        .as_array()
        .map(|a| a.iter().map(|i| i["path"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    assert_eq!(ignored.len(), q.ignored.len(), "{layout}: {ignored:?}");
    for (got, want) in ignored.iter().zip(q.ignored) {
        assert!(got.ends_with(want), "{layout}: {got} is not {want}");
    }
    let text = p.sluice(&["status"]);
    for want in q.ignored {
        assert!(text.stderr.contains(want), "{layout}: status warns of {want}: {}", text.stderr);
    }

    let lint = p.sluice(&["lint", "--format", "json"]);
    let findings = serde_json::from_str::<serde_json::Value>(&lint.stdout).expect(&lint.stderr);
    let flagged = findings["findings"].as_array().unwrap().iter();
    let flagged: Vec<&str> = flagged
        .filter(|f| f["rule"] == "ignored-file")
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        flagged.len(),
        q.ignored.len(),
        "{layout}: the lint names each ignored file: {flagged:?}"
    );

    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 0, "{layout}: {}{}", out.stdout, out.stderr);
    let said_empty = out.stdout.contains("nothing to run, recorded as applied");
    assert_eq!(said_empty, q.empty, "{layout}: {}", out.stdout);
    let done = format!("done: {} migration(s) applied", q.versions.len());
    assert!(out.stdout.contains(&done), "{layout}: empty migrations count: {}", out.stdout);
    let j = p.sluice(&["status", "--format", "json"]).json();
    let states: Vec<&str> =
        j["migrations"].as_array().unwrap().iter().map(|m| m["state"].as_str().unwrap()).collect();
    assert!(states.iter().all(|s| *s == "applied"), "{layout}: {j}");
    assert_eq!(states.len(), q.versions.len(), "{layout}");
    let never: Vec<_> = catalog(&c).await.into_iter().filter(|l| l.contains("never_run")).collect();
    assert!(never.is_empty(), "{layout}: an ignored file ran: {never:?}");

    if !q.reversible {
        return;
    }
    let back = p.sluice(&["rollback", "--to", "0"]);
    assert_eq!(back.code, 0, "{layout}: {}{}", back.stdout, back.stderr);
    let said_empty = back.stdout.contains("down is empty: nothing undone");
    assert_eq!(said_empty, q.empty, "{layout}: {}", back.stdout);
    let (after, tool_rows) = catalog_and_tool_rows(&c).await;
    assert_eq!(after, before, "{layout}: rolled back to the empty schema");
    assert_eq!(tool_rows, 0, "{layout}: the tool's own history table is empty again");
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert!(j["migrations"].as_array().unwrap().iter().all(|m| m["state"] == "pending"), "{j}");
}

#[tokio::test]
async fn sqlx_quirks_round_trip() {
    round_trip(&SQLX).await;
}

#[tokio::test]
async fn golang_migrate_quirks_round_trip() {
    round_trip(&GOLANG).await;
}

#[tokio::test]
async fn goose_quirks_round_trip() {
    round_trip(&GOOSE).await;
}

async fn goose_rows(c: &tokio_postgres::Client) -> Vec<(i64, bool)> {
    let sql = "SELECT version_id, is_applied FROM goose_db_version ORDER BY id";
    c.query(sql, &[]).await.unwrap().iter().map(|r| (r.get(0), r.get(1))).collect()
}

/// goose_db_version as goose writes it (pressly/goose v3.27, `internal/dialects/postgres.go`
/// and `migration_sql.go`): the table starts with a version 0 row, an up inserts
/// (version, true) in the migration's transaction, a down deletes the version's rows.
#[tokio::test]
async fn goose_db_version_is_written_as_goose_writes_it() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    GOOSE.write(&p.migrations());
    let out = p.sluice(&["apply", "--to", "00002"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(goose_rows(&c).await, [(0, true), (1, true), (2, true)]);
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        goose_rows(&c).await,
        [(0, true), (1, true), (2, true), (3, true), (20240104000000, true)]
    );
    let out = p.sluice(&["rollback", "--steps", "2"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(goose_rows(&c).await, [(0, true), (1, true), (2, true)]);
    let index: bool =
        c.query_one("SELECT to_regclass('users_email_idx') IS NULL", &[]).await.unwrap().get(0);
    assert!(index, "the NO TRANSACTION down ran");
}

#[tokio::test]
async fn sql_migrate_quirks_round_trip() {
    round_trip(&SQL_MIGRATE).await;
}

async fn gorp_ids(c: &tokio_postgres::Client) -> Vec<String> {
    let sql = "SELECT id FROM gorp_migrations ORDER BY id";
    c.query(sql, &[]).await.unwrap().iter().map(|r| r.get(0)).collect()
}

/// gorp_migrations as sql-migrate writes it (`migrate.go`): one row per applied file, its
/// name as the id; a down deletes it. A file with another tool's down marker, read as plain
/// SQL, is refused before anything runs (it would run its down right after its up).
#[tokio::test]
async fn gorp_migrations_holds_the_file_names_and_a_stray_marker_is_refused() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    SQL_MIGRATE.write(&p.migrations());
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        gorp_ids(&c).await,
        [
            "20180103142001_initial.sql",
            "20230222172540-email-1.sql",
            "20230222172540-email-2.sql",
            "20230706095800-comment.sql",
            "20230801000000_reserved.sql"
        ]
    );
    let out = p.sluice(&["rollback", "--steps", "3"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(gorp_ids(&c).await, ["20180103142001_initial.sql", "20230222172540-email-1.sql"]);

    let plain = TestProject::new(&db, "development", "");
    let toml = std::fs::read_to_string(plain.root().join("sluice.toml")).unwrap();
    let forced = toml.replace("[project]\n", "[project]\nlayout = \"sqlx\"\n");
    std::fs::write(plain.root().join("sluice.toml"), forced).unwrap();
    plain.write(
        "1_people.sql",
        "CREATE TABLE people (id int);\n-- +migrate Down\nDROP TABLE people;\n",
    );
    let out = plain.sluice(&["apply"]);
    assert_ne!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains("1_people.sql:2") && said.contains("sql-migrate"), "{said}");
    let people: bool =
        c.query_one("SELECT to_regclass('people') IS NULL", &[]).await.unwrap().get(0);
    assert!(people, "nothing ran");
}

#[tokio::test]
async fn dbmate_quirks_round_trip() {
    round_trip(&DBMATE).await;
}

#[tokio::test]
async fn diesel_quirks_round_trip() {
    round_trip(&DIESEL).await;
}

#[tokio::test]
async fn flyway_quirks_apply() {
    round_trip(&FLYWAY).await;
}

#[tokio::test]
async fn prisma_quirks_apply() {
    round_trip(&PRISMA).await;
}

#[tokio::test]
async fn drizzle_quirks_apply() {
    round_trip(&DRIZZLE).await;
}

/// diesel refuses a file with no statement (its own generated placeholder of comments
/// too); so does sluice, naming it, and a rollback through such a down is refused before
/// anything runs.
#[tokio::test]
async fn a_diesel_down_of_comments_is_refused_as_diesel_refuses_it() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    p.write("2024-01-01-000000_a/up.sql", "CREATE TABLE a (x int);\n");
    p.write("2024-01-01-000000_a/down.sql", "DROP TABLE a;\n");
    p.write("2024-01-02-000000_b/up.sql", "CREATE TABLE b (x int);\n");
    p.write("2024-01-02-000000_b/down.sql", "-- This file should undo anything in `up.sql`\n");
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let applied = catalog(&c).await;
    let back = p.sluice(&["rollback", "--to", "0"]);
    assert_ne!(back.code, 0, "{}", back.stdout);
    assert!(
        back.stderr.contains("b/down.sql: holds no SQL statement (diesel refuses"),
        "{}",
        back.stderr
    );
    assert_eq!(catalog(&c).await, applied, "a refused rollback changes nothing");
}

/// A table named like the tool's that is the project's own: sluice leaves it alone, says so,
/// and applies.
#[tokio::test]
async fn a_project_table_named_like_the_tools_is_left_alone() {
    let db = fresh_db().await;
    let c = db.client().await;
    c.batch_execute(
        "CREATE TABLE schema_migrations (id serial PRIMARY KEY, note text); INSERT INTO schema_migrations (note) VALUES ('ours')",
    )
    .await
    .unwrap();
    let p = TestProject::new(&db, "development", "");
    GOLANG.write(&p.migrations());
    std::fs::remove_file(p.migrations().join("000004_data_version.up.sql")).unwrap();
    std::fs::remove_file(p.migrations().join("000004_data_version.down.sql")).unwrap();
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "schema_migrations is not golang-migrate's history table (its columns: id, note)"
        ),
        "{}",
        out.stdout
    );
    let notes: Vec<String> = c
        .query("SELECT note FROM schema_migrations", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(notes, ["ours"], "the project's table is untouched");
}

/// `tool_history = false`: no table of the tool's is made.
#[tokio::test]
async fn tool_history_off_keeps_no_table_of_the_tools() {
    let db = fresh_db().await;
    let c = db.client().await;
    let p = TestProject::new(&db, "development", "");
    let toml = std::fs::read_to_string(p.root().join("sluice.toml")).unwrap();
    let toml = toml.replace("[project]\n", "[project]\ntool_history = false\n");
    std::fs::write(p.root().join("sluice.toml"), toml).unwrap();
    SQLX.write(&p.migrations());
    let out = p.sluice(&["apply"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let there: bool = c
        .query_one("SELECT to_regclass('_sqlx_migrations') IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!there);
}
