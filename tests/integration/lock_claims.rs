//! Every lint rule that claims a lock level or a rewrite, checked on the real server: the
//! statement runs inside a transaction on the throwaway cluster, and pg_locks and
//! pg_class.relfilenode say what it took. The table of what was measured is kept in
//! docs/lint-rules.md (SLUICE_BLESS=1 rewrites it).

use sluice::core::data::lint::locks::expected_locks;
use sluice::core::data::lint::RULES;
use sluice::core::data::sql::LockMode;

use crate::support::fresh_db;

const SCHEMA: &str = "
CREATE TABLE users (id bigint PRIMARY KEY, email text, name text NOT NULL, plan text, phone text,
                    label varchar(50));
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, status text, total numeric,
                     created_at timestamptz);
CREATE INDEX orders_status_idx ON orders (status);
ALTER TABLE orders ADD CONSTRAINT orders_total_nn CHECK (total IS NOT NULL) NOT VALID;
CREATE TABLE events (id bigint, body text);
CREATE TABLE empty_t (id bigint);
INSERT INTO users SELECT g, 'u' || g || '@x', 'n' || g, 'p', '1' FROM generate_series(1, 200) g;
INSERT INTO orders SELECT g, g, 'new', g, now() FROM generate_series(1, 200) g;
INSERT INTO events SELECT g, 'e' FROM generate_series(1, 200) g;
CREATE VIEW order_view AS SELECT id, status FROM orders;
CREATE MATERIALIZED VIEW order_totals AS SELECT user_id, count(*) AS n FROM orders GROUP BY user_id;
CREATE TABLE measurements (id bigint, at date) PARTITION BY RANGE (at);
CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO measurements VALUES (1, '2025-06-01');
CREATE DOMAIN email_address AS text;
CREATE TABLE contacts (email email_address);
INSERT INTO contacts VALUES ('a@b');
CREATE SCHEMA billing;
CREATE TABLE billing.invoices (id bigint);
";

/// (rule, the statement, the table whose locks and file are read).
const CASES: &[(&str, &str, &str)] = &[
    ("drop-schema", "DROP SCHEMA billing CASCADE", "billing.invoices"),
    ("drop-table", "DROP TABLE orders CASCADE", "orders"),
    ("drop-column", "ALTER TABLE users DROP COLUMN phone", "users"),
    ("drop-cascade", "DROP VIEW order_view CASCADE", "order_view"),
    ("truncate", "TRUNCATE events", "events"),
    ("delete-without-where", "DELETE FROM orders", "orders"),
    ("update-without-where", "UPDATE orders SET status = 'x'", "orders"),
    ("create-index-non-concurrently", "CREATE INDEX orders_total_idx ON orders (total)", "orders"),
    ("drop-index-non-concurrently", "DROP INDEX orders_status_idx", "orders"),
    ("reindex-non-concurrently", "REINDEX TABLE orders", "orders"),
    (
        "add-foreign-key-without-not-valid",
        "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id)",
        "orders",
    ),
    (
        "add-check-without-not-valid",
        "ALTER TABLE orders ADD CONSTRAINT orders_total_pos CHECK (total > 0)",
        "orders",
    ),
    ("set-not-null", "ALTER TABLE users ALTER COLUMN email SET NOT NULL", "users"),
    ("drop-not-null", "ALTER TABLE users ALTER COLUMN name DROP NOT NULL", "users"),
    (
        "add-unique-without-using-index",
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)",
        "users",
    ),
    ("vacuum-full", "VACUUM FULL orders", "orders"),
    ("cluster", "CLUSTER orders USING orders_pkey", "orders"),
    ("lock-table", "LOCK TABLE orders IN ACCESS EXCLUSIVE MODE", "orders"),
    ("refresh-matview-non-concurrently", "REFRESH MATERIALIZED VIEW order_totals", "order_totals"),
    (
        "add-column-volatile-default",
        "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid()",
        "orders",
    ),
    ("add-serial-column", "ALTER TABLE events ADD COLUMN seq bigserial", "events"),
    ("alter-column-type", "ALTER TABLE orders ALTER COLUMN total TYPE numeric(12, 2)", "orders"),
    ("set-logged-unlogged", "ALTER TABLE events SET UNLOGGED", "events"),
    (
        "add-stored-generated-column",
        "ALTER TABLE orders ADD COLUMN t2 numeric GENERATED ALWAYS AS (total * 2) STORED",
        "orders",
    ),
    ("rename-table", "ALTER TABLE orders RENAME TO purchases", "orders"),
    ("rename-column", "ALTER TABLE users RENAME COLUMN email TO mail", "users"),
    (
        "validate-in-same-transaction",
        "ALTER TABLE orders ADD CONSTRAINT c CHECK (total > 0) NOT VALID; \
         ALTER TABLE orders VALIDATE CONSTRAINT c",
        "orders",
    ),
    (
        "backfill-with-ddl",
        "ALTER TABLE users ADD COLUMN tier text; UPDATE users SET tier = 'a' WHERE tier IS NULL",
        "users",
    ),
    (
        "add-not-null-column-without-default",
        "ALTER TABLE empty_t ADD COLUMN tenant bigint NOT NULL",
        "empty_t",
    ),
    ("disable-triggers", "ALTER TABLE orders DISABLE TRIGGER ALL", "orders"),
    (
        "detach-partition-non-concurrently",
        "ALTER TABLE measurements DETACH PARTITION measurements_2025",
        "measurements",
    ),
    (
        "alter-domain-add-constraint",
        "ALTER DOMAIN email_address ADD CONSTRAINT has_at CHECK (VALUE LIKE '%@%')",
        "contacts",
    ),
];

/// Near-misses the lint lets pass, with what the server must show for that to be right:
/// (what, statement, table, lock, rewrites).
const SAFE: &[(&str, &str, &str, Option<LockMode>, bool)] = &[
    ("(safe) widen varchar", "ALTER TABLE users ALTER COLUMN label TYPE varchar(100)", "users", AE, false),
    ("(safe) varchar to text", "ALTER TABLE users ALTER COLUMN label TYPE text", "users", AE, false),
    (
        "(safe) constant default",
        "ALTER TABLE orders ADD COLUMN note text DEFAULT 'none'",
        "orders",
        AE,
        false,
    ),
    (
        "(safe) stable default",
        "ALTER TABLE orders ADD COLUMN seen timestamptz DEFAULT now()",
        "orders",
        AE,
        false,
    ),
    (
        "(safe) validate",
        "ALTER TABLE orders VALIDATE CONSTRAINT orders_total_nn",
        "orders",
        Some(LockMode::ShareUpdateExclusive),
        false,
    ),
    (
        "(safe) foreign key NOT VALID",
        "ALTER TABLE orders ADD CONSTRAINT o_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID",
        "orders",
        Some(LockMode::ShareRowExclusive),
        false,
    ),
    (
        "(safe) domain constraint NOT VALID",
        "ALTER DOMAIN email_address ADD CONSTRAINT at2 CHECK (VALUE LIKE '%@%') NOT VALID",
        "contacts",
        None,
        false,
    ),
];

const AE: Option<LockMode> = Some(LockMode::AccessExclusive);

/// Statements PostgreSQL refuses inside a transaction block: observed from outside.
const OUTSIDE_A_TRANSACTION: &[&str] = &["vacuum-full"];

struct Measured {
    rule: &'static str,
    statement: &'static str,
    lock: Option<LockMode>,
    rewrites: bool,
}

/// The table and what belongs to it (indexes, TOAST): a lock on any of them is a lock on
/// the table for the application.
const FAMILY: &str = "SELECT c.oid FROM pg_class c WHERE c.oid = $1::text::regclass
    OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = $1::text::regclass)
    OR c.oid = (SELECT reltoastrelid FROM pg_class WHERE oid = $1::text::regclass)";

async fn file_of(c: &tokio_postgres::Client, oid: u32) -> Option<(u32, i64)> {
    let row = c
        .query_opt(
            "SELECT relfilenode, pg_relation_size(oid) FROM pg_class WHERE oid = $1",
            &[&oid],
        )
        .await
        .unwrap()?;
    Some((row.get(0), row.get(1)))
}

/// Runs one case in a transaction rolled back afterwards and reads the strongest lock this
/// session holds on the table's family, and whether the table got a new, non-empty file.
async fn measure_in_transaction(c: &tokio_postgres::Client, sql: &str, table: &str) -> Observed {
    c.batch_execute("BEGIN").await.unwrap();
    let family: Vec<u32> =
        c.query(FAMILY, &[&table]).await.unwrap().iter().map(|r| r.get(0)).collect();
    let oid: u32 = c.query_one("SELECT $1::text::regclass::oid", &[&table]).await.unwrap().get(0);
    let before = file_of(c, oid).await;
    c.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    let lock = c
        .query(
            "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' \
             AND relation = ANY($1)",
            &[&family],
        )
        .await
        .unwrap()
        .iter()
        .filter_map(|r| LockMode::from_pg(r.get(0)))
        .max();
    let after = file_of(c, oid).await;
    c.batch_execute("ROLLBACK").await.unwrap();
    Observed { lock, rewrites: rewritten(before, after) }
}

struct Observed {
    lock: Option<LockMode>,
    rewrites: bool,
}

/// A new relfilenode holding rows: TRUNCATE's new empty file is not a rewrite.
fn rewritten(before: Option<(u32, i64)>, after: Option<(u32, i64)>) -> bool {
    matches!((before, after), (Some((b, _)), Some((a, size))) if a != b && size > 0)
}

/// A statement that cannot run in a transaction: a reader holds ACCESS SHARE on the table,
/// the statement queues behind it, and its waiting lock in pg_locks is the mode it asks
/// for; once the reader goes, the file is compared.
async fn measure_outside(db: &crate::support::TestDb, sql: &'static str, table: &str) -> Observed {
    let reader = db.client().await;
    let c = db.client().await;
    let oid: u32 = c.query_one("SELECT $1::text::regclass::oid", &[&table]).await.unwrap().get(0);
    let before = file_of(&c, oid).await;
    reader.batch_execute(&format!("BEGIN; SELECT count(*) FROM {table}")).await.unwrap();
    let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    let runner = tokio::spawn(async move { c.batch_execute(sql).await.map(|_| c) });
    let watcher = db.client().await;
    let mut lock = None;
    for _ in 0..200 {
        let rows = watcher
            .query(
                "SELECT mode FROM pg_locks WHERE pid = $1 AND relation = $2 AND NOT granted",
                &[&pid, &oid],
            )
            .await
            .unwrap();
        if let Some(r) = rows.first() {
            lock = LockMode::from_pg(r.get(0));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    reader.batch_execute("COMMIT").await.unwrap();
    runner.await.unwrap().unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    let after = file_of(&watcher, oid).await;
    Observed { lock, rewrites: rewritten(before, after) }
}

/// What the engine knows a one-statement case locks, without running it (cases of several
/// statements measure them together, so they say nothing about one).
fn known_locks(sql: &str) -> Vec<(LockMode, String)> {
    let statements = sluice::core::data::sql::split(sql).unwrap();
    match statements.as_slice() {
        [one] => expected_locks(one),
        _ => Vec::new(),
    }
}

fn table_markdown(measured: &[Measured], server: &str) -> String {
    let mut out = format!(
        "| rule | statement | lock measured on {server} | rewrite |\n| --- | --- | --- | --- |\n"
    );
    for m in measured {
        out.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            m.rule,
            m.statement.split_whitespace().collect::<Vec<_>>().join(" "),
            m.lock.map_or("-", |l| l.as_str()),
            if m.rewrites { "yes" } else { "no" }
        ));
    }
    out
}

const START: &str = "<!-- measured-locks:start -->";
const END: &str = "<!-- measured-locks:end -->";

#[tokio::test]
async fn every_lock_and_rewrite_claim_holds_on_the_server() {
    let db = fresh_db().await;
    let c = db.client().await;
    c.batch_execute(SCHEMA).await.unwrap();
    let major: String = c.query_one("SHOW server_version", &[]).await.unwrap().get(0);
    let server = format!("PostgreSQL {}", major.split('.').next().unwrap_or(&major));
    let mut measured = Vec::new();
    let mut wrong = Vec::new();
    for (rule, sql, table) in CASES {
        let m = if OUTSIDE_A_TRANSACTION.contains(rule) {
            measure_outside(&db, sql, table).await
        } else {
            measure_in_transaction(&c, sql, table).await
        };
        // The dry run's stand-in for locks its transaction already holds must agree too.
        for (mode, rel) in known_locks(sql) {
            if rel == *table && Some(mode) != m.lock {
                wrong.push(format!(
                    "{rule}: expected_locks says {mode} on {rel}, the server took {:?}",
                    m.lock
                ));
            }
        }
        let r = RULES.iter().find(|r| r.id == *rule).unwrap_or_else(|| panic!("no rule {rule}"));
        let claimed = r.lock.and_then(|l| LockMode::ALL.into_iter().find(|m| m.as_str() == l));
        if claimed != m.lock || r.rewrites != m.rewrites {
            wrong.push(format!(
                "{rule}: claims {:?} rewrites={}, the server took {:?} rewrites={}",
                claimed, r.rewrites, m.lock, m.rewrites
            ));
        }
        measured.push(Measured { rule, statement: sql, lock: m.lock, rewrites: m.rewrites });
    }
    for (what, sql, table, lock, rewrites) in SAFE {
        let m = measure_in_transaction(&c, sql, table).await;
        for (mode, rel) in known_locks(sql) {
            if rel == *table && Some(mode) != m.lock {
                wrong.push(format!(
                    "{what}: expected_locks says {mode}, the server took {:?}",
                    m.lock
                ));
            }
        }
        if m.lock != *lock || m.rewrites != *rewrites {
            wrong.push(format!(
                "{what}: expected {lock:?} rewrites={rewrites}, the server took {:?} rewrites={}",
                m.lock, m.rewrites
            ));
        }
        measured.push(Measured { rule: what, statement: sql, lock: m.lock, rewrites: m.rewrites });
    }
    for r in RULES.iter().filter(|r| r.lock.is_some() || r.rewrites) {
        assert!(
            CASES.iter().any(|(id, _, _)| *id == r.id),
            "{} claims a lock: prove it here",
            r.id
        );
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/lint-rules.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let table = table_markdown(&measured, &server);
    let (head, rest) = doc.split_once(START).expect("docs/lint-rules.md has the measured table");
    let (_, tail) = rest.split_once(END).expect("the measured table's end marker");
    let want = format!("{head}{START}\n{table}{END}{tail}");
    if std::env::var("SLUICE_BLESS").is_ok() {
        std::fs::write(&path, &want).unwrap();
    }
    assert!(wrong.is_empty(), "claims the server contradicts:\n{}", wrong.join("\n"));
    assert!(doc == want, "docs/lint-rules.md's measured table is stale: SLUICE_BLESS=1 to rewrite");
}

/// The server's own DEBUG1 messages for `sql` (PostgreSQL says "verifying table" when it scans
/// for a constraint and "existing constraints ... are sufficient" when it skips the scan).
async fn debug_messages(url: &str, sql: &str) -> Vec<String> {
    let config: tokio_postgres::Config = url.parse().unwrap();
    let (client, mut conn) = config.connect(tokio_postgres::NoTls).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(m)) = std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            if let tokio_postgres::AsyncMessage::Notice(n) = m {
                let _ = tx.send(n.message().to_string());
            }
        }
    });
    client.batch_execute(&format!("SET client_min_messages = debug1; {sql}")).await.unwrap();
    drop(client);
    let mut out = Vec::new();
    while let Some(m) = rx.recv().await {
        out.push(m);
    }
    out
}

#[tokio::test]
async fn set_not_null_after_a_validated_check_skips_its_scan() {
    let db = fresh_db().await;
    db.client().await.batch_execute(SCHEMA).await.unwrap();
    let plain = debug_messages(&db.url, "ALTER TABLE users ALTER COLUMN email SET NOT NULL").await;
    assert!(
        plain.iter().any(|m| m.contains("verifying table")),
        "a plain SET NOT NULL scans: {plain:?}"
    );
    let setup =
        "ALTER TABLE orders ADD CONSTRAINT o_status_nn CHECK (status IS NOT NULL) NOT VALID; \
                 ALTER TABLE orders VALIDATE CONSTRAINT o_status_nn";
    debug_messages(&db.url, setup).await;
    let proven =
        debug_messages(&db.url, "ALTER TABLE orders ALTER COLUMN status SET NOT NULL").await;
    assert!(
        proven.iter().any(|m| m.contains("sufficient to prove")),
        "the validated CHECK proves it: {proven:?}"
    );
    assert!(!proven.iter().any(|m| m.contains("verifying table")), "no scan: {proven:?}");
}

/// PostgreSQL's lock conflict table, pair by pair: one session holds a mode, another asks
/// for a mode with NOWAIT; it fails exactly when `conflicts_with` says so.
#[tokio::test]
async fn the_lock_conflict_table_is_the_servers() {
    let db = fresh_db().await;
    let holder = db.client().await;
    let asker = db.client().await;
    holder.batch_execute("CREATE TABLE t (id int)").await.unwrap();
    let mut wrong = Vec::new();
    for held in LockMode::ALL {
        holder.batch_execute(&format!("BEGIN; LOCK TABLE t IN {held} MODE")).await.unwrap();
        for asked in LockMode::ALL {
            let got =
                asker.batch_execute(&format!("BEGIN; LOCK TABLE t IN {asked} MODE NOWAIT")).await;
            asker.batch_execute("ROLLBACK").await.unwrap();
            if got.is_err() != held.conflicts_with(asked) {
                wrong.push(format!("held {held}, asked {asked}: server refused={}", got.is_err()));
            }
        }
        holder.batch_execute("ROLLBACK").await.unwrap();
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
