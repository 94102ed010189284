//! The rule registry: stable ids, default severity, the lock taken, whether the table is
//! rewritten, and the explanation with bad and good SQL (used by `--explain` and the docs).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "info" => Severity::Info,
            "warning" => Severity::Warning,
            "error" => Severity::Error,
            _ => return None,
        })
    }
}

pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    /// The lock the statement takes, as pg_locks names it.
    pub lock: Option<&'static str>,
    pub rewrites: bool,
    pub why: &'static str,
    pub help: &'static str,
    pub bad: &'static str,
    pub good: &'static str,
}

const AE: Option<&str> = Some("ACCESS EXCLUSIVE");

macro_rules! rule {
    ($id:literal, $sev:ident, $lock:expr, $rw:literal, $why:literal, $help:literal, $bad:literal, $good:literal) => {
        Rule {
            id: $id,
            severity: Severity::$sev,
            lock: $lock,
            rewrites: $rw,
            why: $why,
            help: $help,
            bad: $bad,
            good: $good,
        }
    };
}

pub static RULES: &[Rule] = &[
    rule!("syntax-error", Error, None, false,
        "PostgreSQL's parser rejects the file; nothing after the error can be checked.",
        "Fix the statement at the reported line; the message is PostgreSQL's own.",
        "CREATE TABEL t (id int);", "CREATE TABLE t (id int);"),
    rule!("drop-database", Error, None, false,
        "Drops a whole database: every table and row in it is gone.",
        "Never drop a database from a migration; do it by hand, after a backup.",
        "DROP DATABASE shop;", "-- done by an operator, outside migrations"),
    rule!("drop-schema", Error, AE, false,
        "Drops a schema and, with CASCADE, every object in it: data loss.",
        "Move the objects out first, or keep the schema; drop it by hand after a backup.",
        "DROP SCHEMA billing CASCADE;", "-- keep the schema until nothing uses it, then drop it by hand"),
    rule!("drop-extension", Warning, None, false,
        "Drops an extension and its functions, types and operators: whatever else uses them (a column's default, another schema, another application) breaks, and with CASCADE it is dropped too. A down that drops an extension its up created IF NOT EXISTS drops it even when it was there before the migration ran.",
        "Leave extensions installed in downs, or drop one only where its up created it and nothing else uses it.",
        "DROP EXTENSION IF EXISTS pgcrypto;", "-- pgcrypto stays: other schemas may use gen_random_uuid()"),
    rule!("drop-table", Error, AE, false,
        "Drops a table and its rows; running code that still reads it fails.",
        "Stop using the table in the application first, rename it aside for a release, then drop it.",
        "DROP TABLE orders;", "ALTER TABLE orders RENAME TO orders_retired_20261123;  -- drop in a later release"),
    rule!("drop-column", Error, AE, false,
        "Drops a column and its data; application code that still selects it breaks.",
        "Deploy code that no longer uses the column first, then drop it in a later migration.",
        "ALTER TABLE users DROP COLUMN phone;", "-- release 1: stop reading/writing users.phone\n-- release 2:\nALTER TABLE users DROP COLUMN phone;"),
    rule!("drop-cascade", Error, AE, false,
        "CASCADE silently drops every dependent object too (views, foreign keys...).",
        "Drop the dependents explicitly, by name, so the migration says what it removes.",
        "DROP TABLE customers CASCADE;", "ALTER TABLE orders DROP CONSTRAINT orders_customer_fk;\nDROP TABLE customers;"),
    rule!("truncate", Error, AE, false,
        "TRUNCATE removes every row at once under an ACCESS EXCLUSIVE lock (CASCADE empties referencing tables too).",
        "Delete the rows you mean, in batches, or do it by hand after a backup.",
        "TRUNCATE events;", "DELETE FROM events WHERE created_at < now() - interval '90 days';"),
    rule!("delete-without-where", Error, Some("ROW EXCLUSIVE"), false,
        "DELETE without WHERE removes every row of the table.",
        "Add the WHERE clause that selects the rows you mean; batch large deletes.",
        "DELETE FROM sessions;", "DELETE FROM sessions WHERE expires_at < now();"),
    rule!("update-without-where", Error, Some("ROW EXCLUSIVE"), false,
        "UPDATE without WHERE rewrites every row: locks them all and bloats the table.",
        "Add a WHERE clause, and backfill large tables in batches outside the DDL's transaction.",
        "UPDATE users SET plan = 'free';", "UPDATE users SET plan = 'free' WHERE plan IS NULL AND id BETWEEN 1 AND 10000;"),
    rule!("create-index-non-concurrently", Warning, Some("SHARE"), false,
        "CREATE INDEX without CONCURRENTLY blocks every write to the table until the index is built.",
        "Build it CONCURRENTLY in a migration marked `-- sluice:no-transaction`.",
        "CREATE INDEX orders_status_idx ON orders (status);", "-- sluice:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status_idx ON orders (status);"),
    rule!("drop-index-non-concurrently", Warning, AE, false,
        "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table.",
        "Use DROP INDEX CONCURRENTLY in a migration marked `-- sluice:no-transaction`.",
        "DROP INDEX orders_status_idx;", "-- sluice:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS orders_status_idx;"),
    rule!("reindex-non-concurrently", Warning, AE, false,
        "REINDEX without CONCURRENTLY blocks writes to the table (and reads through the index).",
        "Use REINDEX ... CONCURRENTLY (PostgreSQL 12+) in a no-transaction migration.",
        "REINDEX INDEX orders_status_idx;", "-- sluice:no-transaction\nREINDEX INDEX CONCURRENTLY orders_status_idx;"),
    rule!("add-foreign-key-without-not-valid", Warning, Some("SHARE ROW EXCLUSIVE"), false,
        "Adding a foreign key validates every row while blocking writes on both tables.",
        "Add it NOT VALID (instant), then VALIDATE CONSTRAINT in a later migration (takes a weaker lock).",
        "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);",
        "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n-- next migration:\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;"),
    rule!("add-check-without-not-valid", Warning, AE, false,
        "Adding a CHECK constraint scans the whole table under an ACCESS EXCLUSIVE lock.",
        "Add it NOT VALID, then VALIDATE CONSTRAINT in a later migration (SHARE UPDATE EXCLUSIVE only).",
        "ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total > 0);",
        "ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total > 0) NOT VALID;\n-- next migration:\nALTER TABLE orders VALIDATE CONSTRAINT total_positive;"),
    rule!("set-not-null", Warning, AE, false,
        "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock.",
        "Add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL (PostgreSQL 12+ skips the scan), then drop the check.",
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;\n-- next migration:\nALTER TABLE users VALIDATE CONSTRAINT users_email_nn;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users DROP CONSTRAINT users_email_nn;"),
    rule!("add-unique-without-using-index", Warning, AE, false,
        "Adding a UNIQUE or PRIMARY KEY constraint builds its index while blocking reads and writes.",
        "Build the unique index CONCURRENTLY first, then attach it with USING INDEX.",
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
        "-- sluice:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);\n-- next migration:\nALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;"),
    rule!("vacuum-full", Error, AE, true,
        "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock: reads and writes stop until it ends.",
        "Use plain VACUUM, or pg_repack / pg_squeeze to compact without the long lock.",
        "VACUUM FULL orders;", "VACUUM (ANALYZE) orders;"),
    rule!("cluster", Error, AE, true,
        "CLUSTER rewrites the table in index order under an ACCESS EXCLUSIVE lock.",
        "Use pg_repack with --order-by, or leave physical order alone.",
        "CLUSTER orders USING orders_created_at_idx;", "-- pg_repack --table orders --order-by created_at"),
    rule!("lock-table", Warning, AE, false,
        "An explicit LOCK TABLE blocks other sessions for the rest of the transaction.",
        "Let the statements take the locks they need; keep the transaction short.",
        "LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;", "-- no explicit lock"),
    rule!("refresh-matview-non-concurrently", Warning, AE, true,
        "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks reads of the view until it ends.",
        "Give the view a unique index and use REFRESH MATERIALIZED VIEW CONCURRENTLY.",
        "REFRESH MATERIALIZED VIEW sales_daily;", "REFRESH MATERIALIZED VIEW CONCURRENTLY sales_daily;"),
    rule!("add-column-volatile-default", Error, AE, true,
        "ADD COLUMN with a volatile default (random(), gen_random_uuid(), clock_timestamp()...) rewrites the whole table under an ACCESS EXCLUSIVE lock.",
        "Add the column without a default, set the default for new rows, backfill in batches, then add NOT NULL safely.",
        "ALTER TABLE orders ADD COLUMN uuid uuid NOT NULL DEFAULT gen_random_uuid();",
        "ALTER TABLE orders ADD COLUMN uuid uuid;\nALTER TABLE orders ALTER COLUMN uuid SET DEFAULT gen_random_uuid();\n-- backfill in batches, then CHECK NOT VALID + VALIDATE + SET NOT NULL"),
    rule!("alter-column-type", Error, AE, true,
        "Changing a column's type rewrites the table (and its indexes) under an ACCESS EXCLUSIVE lock.",
        "Add a new column of the new type, backfill it in batches, switch the application, then drop the old one. Widening varchar(n) to a larger n or to text is safe.",
        "ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2);",
        "ALTER TABLE orders ADD COLUMN total_v2 numeric(12,2);\n-- backfill in batches, switch reads and writes, then drop total"),
    rule!("set-logged-unlogged", Error, AE, true,
        "SET LOGGED / SET UNLOGGED rewrites the whole table under an ACCESS EXCLUSIVE lock.",
        "Create the table with the persistence you want, or do it in a maintenance window.",
        "ALTER TABLE events SET LOGGED;", "-- create the table LOGGED from the start"),
    rule!("add-stored-generated-column", Error, AE, true,
        "Adding a STORED generated column computes it for every row: a full rewrite under an ACCESS EXCLUSIVE lock.",
        "Add a plain column, backfill it in batches and keep it up to date with a trigger, or compute it in a view.",
        "ALTER TABLE orders ADD COLUMN total_cents bigint GENERATED ALWAYS AS (total * 100) STORED;",
        "ALTER TABLE orders ADD COLUMN total_cents bigint;  -- backfill in batches; a trigger keeps it current"),
    rule!("rename-table", Warning, AE, false,
        "Renaming a table breaks every running query and deployed version that uses the old name.",
        "Create a view with the old name during the switch-over, or deploy code that handles both names first.",
        "ALTER TABLE customers RENAME TO clients;", "ALTER TABLE customers RENAME TO clients;\nCREATE VIEW customers AS SELECT * FROM clients;  -- until old code is gone"),
    rule!("rename-column", Warning, AE, false,
        "Renaming a column breaks running code that still uses the old name.",
        "Add the new column, write both, backfill, switch reads, then drop the old one.",
        "ALTER TABLE users RENAME COLUMN mail TO email;", "ALTER TABLE users ADD COLUMN email text;  -- dual-write, backfill, switch, drop mail later"),
    rule!("non-transactional-in-transaction", Error, None, false,
        "This statement cannot run inside a transaction block (CONCURRENTLY, VACUUM, ALTER SYSTEM...), and the migration runs in one.",
        "Put `-- sluice:no-transaction` on the first line of the migration, and keep this statement outside any BEGIN ... COMMIT.",
        "CREATE INDEX CONCURRENTLY i ON t (a);", "-- sluice:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);"),
    rule!("transaction-control-in-migration", Error, None, false,
        "BEGIN/COMMIT/ROLLBACK inside a migration that sluice wraps in a transaction breaks its atomicity with the ledger.",
        "Remove the transaction control; sluice already runs the migration in one transaction. Use `-- sluice:no-transaction` if you need your own blocks.",
        "BEGIN;\nALTER TABLE t ADD COLUMN a int;\nCOMMIT;", "ALTER TABLE t ADD COLUMN a int;"),
    rule!("begin-without-commit", Error, None, false,
        "A BEGIN with no COMMIT leaves the transaction open at the end of the migration.",
        "Close every BEGIN with COMMIT in a no-transaction migration.",
        "-- sluice:no-transaction\nBEGIN;\nUPDATE t SET a = 1 WHERE id < 100;", "-- sluice:no-transaction\nBEGIN;\nUPDATE t SET a = 1 WHERE id < 100;\nCOMMIT;"),
    rule!("validate-in-same-transaction", Warning, AE, false,
        "Adding a constraint NOT VALID and validating it in the same transaction keeps the ADD's ACCESS EXCLUSIVE lock through the whole scan: NOT VALID buys nothing.",
        "Move VALIDATE CONSTRAINT to the next migration.",
        "ALTER TABLE o ADD CONSTRAINT c CHECK (x > 0) NOT VALID;\nALTER TABLE o VALIDATE CONSTRAINT c;",
        "ALTER TABLE o ADD CONSTRAINT c CHECK (x > 0) NOT VALID;\n-- next migration:\nALTER TABLE o VALIDATE CONSTRAINT c;"),
    rule!("enum-value-used-in-same-transaction", Error, None, false,
        "A value added with ALTER TYPE ... ADD VALUE cannot be used in the transaction that added it.",
        "Use the new value in a later migration.",
        "ALTER TYPE status ADD VALUE 'archived';\nUPDATE orders SET status = 'archived' WHERE closed;",
        "ALTER TYPE status ADD VALUE 'archived';\n-- next migration:\nUPDATE orders SET status = 'archived' WHERE closed;"),
    rule!("backfill-with-ddl", Warning, AE, false,
        "A data backfill in the same transaction as DDL on an existing table holds the DDL's lock for the whole backfill.",
        "Put the backfill in its own migration (in batches), after the DDL.",
        "ALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = 'free' WHERE plan IS NULL;",
        "ALTER TABLE users ADD COLUMN plan text;\n-- next migration (batched):\nUPDATE users SET plan = 'free' WHERE plan IS NULL AND id < 10000;"),
    rule!("batch-directive", Error, None, false,
        "`-- sluice:batch` cannot run this statement: it batches one plain UPDATE or DELETE of a table with a primary key, in a migration outside a transaction.",
        "Put the directive right above an UPDATE or DELETE (no WITH or RETURNING), with rows=N, in a `-- sluice:no-transaction` migration.",
        "-- sluice:batch rows=5000\nUPDATE accounts SET plan = 'free' WHERE plan IS NULL;",
        "-- sluice:no-transaction\n-- sluice:batch rows=5000 pause=50ms\nUPDATE accounts SET plan = 'free' WHERE plan IS NULL;"),
    rule!("unbatched-backfill", Warning, None, false,
        "One UPDATE or DELETE over a big table holds its row locks and bloats it in one long transaction, and a standby replays it all at once.",
        "Run it in batches: `-- sluice:batch rows=5000 pause=50ms` above it, in a `-- sluice:no-transaction` migration; a kill resumes from the last batch.",
        "UPDATE accounts SET plan = 'free' WHERE plan IS NULL;",
        "-- sluice:no-transaction\n-- sluice:batch rows=5000 pause=50ms\nUPDATE accounts SET plan = 'free' WHERE plan IS NULL;"),
    rule!("require-lock-timeout", Info, None, false,
        "A statement that takes a strong lock queues behind running transactions and blocks everything behind it while it waits; a lock_timeout bounds that.",
        "sluice sets the environment's lock_timeout (default 5s) around each migration; keep it on. Where it is 0, SET lock_timeout in the migration.",
        "-- lock_timeout = 0 in the environment\nALTER TABLE orders ADD COLUMN note text;", "SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN note text;"),
    rule!("missing-down", Warning, None, false,
        "The migration has no down file: rolling it back at 3 a.m. means writing SQL under pressure, or restoring a backup.",
        "Write the down migration now, while the change is fresh.",
        "0007_add_plan.up.sql  (no 0007_add_plan.down.sql)", "0007_add_plan.down.sql: ALTER TABLE users DROP COLUMN plan;"),
    rule!("empty-down", Warning, None, false,
        "The down file holds no statement: a rollback would record success and change nothing.",
        "Write the statements that undo the up migration.",
        "0007_add_plan.down.sql: -- TODO", "0007_add_plan.down.sql: ALTER TABLE users DROP COLUMN plan;"),
    rule!("ignored-file", Warning, None, false,
        "The layout's own tool never runs this file (its name does not follow the tool's rules, or its journal does not list it), so neither does sluice.",
        "Rename it as the tool names migrations (or add it to the journal), or move it out of the migrations folder.",
        "V3_add_index.sql  (Flyway wants two underscores)", "V3__add_index.sql"),
    rule!("empty-up", Info, None, false,
        "The migration holds no statement: applying it records it as applied and changes nothing. Tools accept placeholders like this (drizzle-kit's custom migrations, Prisma's --create-only, sqlx and diesel files of comments), so sluice runs it too, and says so.",
        "Write the migration's statements, or delete the file if it was created by mistake.",
        "0008_backfill.up.sql: -- TODO", "0008_backfill.up.sql: UPDATE users SET plan = 'free' WHERE plan IS NULL;"),
    rule!("down-does-not-undo", Info, None, false,
        "The down migration does not drop an object the up migration creates (best effort check).",
        "Make the down undo everything the up does, in reverse order.",
        "up: CREATE TABLE a (...); CREATE TABLE b (...);\ndown: DROP TABLE a;", "down: DROP TABLE b; DROP TABLE a;"),
    rule!("add-not-null-column-without-default", Error, AE, false,
        "Adding a NOT NULL column without a default fails on any table that has rows.",
        "Add it with a constant default (no rewrite on PostgreSQL 11+), or nullable then backfill and SET NOT NULL safely.",
        "ALTER TABLE users ADD COLUMN plan text NOT NULL;", "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';"),
    rule!("non-idempotent-no-transaction", Info, None, false,
        "In a no-transaction migration a failure leaves earlier statements done; without IF [NOT] EXISTS a retry trips over them.",
        "Write each step re-runnable: CREATE ... IF NOT EXISTS, DROP ... IF EXISTS.",
        "-- sluice:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);", "-- sluice:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);"),
    rule!("int-primary-key", Warning, None, false,
        "An int4 (serial/integer) primary key overflows at 2,147,483,647 rows; changing it later rewrites the table.",
        "Use bigint (bigserial or bigint GENERATED ... AS IDENTITY).",
        "CREATE TABLE events (id serial PRIMARY KEY);", "CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);"),
    rule!("prefer-jsonb", Warning, None, false,
        "json stores text and re-parses it on every access, has no equality operator (DISTINCT, GROUP BY and UNION fail on it) and no GIN index; moving to jsonb later rewrites the table under ACCESS EXCLUSIVE.",
        "Use jsonb unless you need key order or duplicate keys preserved.",
        "CREATE TABLE t (doc json);", "CREATE TABLE t (doc jsonb);"),
    rule!("prefer-timestamptz", Warning, None, false,
        "timestamp without time zone stores wall-clock time with no zone: ambiguous across DST and servers, and converting the column later rewrites it unless the session zone is UTC.",
        "Use timestamptz.",
        "CREATE TABLE t (created_at timestamp);", "CREATE TABLE t (created_at timestamptz);"),
    rule!("prefer-text-over-char", Warning, None, false,
        "char(n) pads with spaces (and compares ignoring them), is no faster than text, and changing its length later rewrites the table.",
        "Use text (with a CHECK on length if the limit matters).",
        "CREATE TABLE t (code char(3));", "CREATE TABLE t (code text CHECK (length(code) = 3));"),
    rule!("prefer-text-over-varchar", Info, None, false,
        "varchar(n) makes raising the limit later a schema change; text with a CHECK is as fast and easier to change.",
        "Use text, with CHECK (length(col) <= n) if the limit matters.",
        "CREATE TABLE t (name varchar(50));", "CREATE TABLE t (name text CHECK (length(name) <= 50));"),
    rule!("disable-triggers", Warning, Some("SHARE ROW EXCLUSIVE"), false,
        "Disabling triggers skips foreign-key checks and audit logic for every session until re-enabled.",
        "Avoid it in migrations; if you must, re-enable in the same migration and explain why.",
        "ALTER TABLE orders DISABLE TRIGGER ALL;", "-- keep triggers on"),
    rule!("enum-add-value-in-transaction", Warning, None, false,
        "Before PostgreSQL 12, ALTER TYPE ... ADD VALUE cannot run inside a transaction block.",
        "On servers older than 12, put it in a migration marked `-- sluice:no-transaction`.",
        "ALTER TYPE status ADD VALUE 'archived';  -- on PostgreSQL 11", "-- sluice:no-transaction\nALTER TYPE status ADD VALUE IF NOT EXISTS 'archived';"),
    rule!("detach-partition-non-concurrently", Warning, AE, false,
        "DETACH PARTITION without CONCURRENTLY takes ACCESS EXCLUSIVE on the partitioned table and the partition: every query on any partition waits.",
        "On PostgreSQL 14+, DETACH PARTITION ... CONCURRENTLY in a no-transaction migration (SHARE UPDATE EXCLUSIVE on the parent).",
        "ALTER TABLE measurements DETACH PARTITION measurements_2025;", "-- sluice:no-transaction\nALTER TABLE measurements DETACH PARTITION measurements_2025 CONCURRENTLY;"),
    rule!("alter-domain-add-constraint", Warning, Some("SHARE"), false,
        "Adding a constraint to a domain (or SET NOT NULL) checks every column of that type in every table, holding SHARE on each: writes to all of them wait for the scans.",
        "Add it NOT VALID (existing rows are not checked), then ALTER DOMAIN ... VALIDATE CONSTRAINT in a later migration.",
        "ALTER DOMAIN email ADD CONSTRAINT email_at CHECK (VALUE LIKE '%@%');", "ALTER DOMAIN email ADD CONSTRAINT email_at CHECK (VALUE LIKE '%@%') NOT VALID;\n-- next migration:\nALTER DOMAIN email VALIDATE CONSTRAINT email_at;"),
    rule!("create-domain-with-check", Warning, None, false,
        "A CHECK on a domain is checked in every table that uses it: any later change to the constraint re-validates all of them at once under SHARE locks, and it cannot be made NOT VALID per table.",
        "Put the CHECK on each table's column instead (it can be added NOT VALID and validated per table), or keep the domain without constraints.",
        "CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');", "CREATE DOMAIN email AS text;\nALTER TABLE users ADD CONSTRAINT users_email_at CHECK (email LIKE '%@%') NOT VALID;"),
    rule!("add-serial-column", Error, AE, true,
        "Adding a serial/bigserial/smallserial or identity column to an existing table fills it for every row: the table is rewritten under ACCESS EXCLUSIVE.",
        "Add a nullable bigint column, attach a sequence default (new rows only), backfill in batches, then SET NOT NULL safely; or create a new table.",
        "ALTER TABLE events ADD COLUMN seq bigserial;", "ALTER TABLE events ADD COLUMN seq bigint;\nCREATE SEQUENCE events_seq_seq OWNED BY events.seq;\nALTER TABLE events ALTER COLUMN seq SET DEFAULT nextval('events_seq_seq');\n-- backfill in batches in later migrations"),
    rule!("drop-not-null", Warning, AE, false,
        "Dropping NOT NULL lets NULLs in: running code (and other consumers of the table) that assumes a value breaks when it reads one.",
        "Make sure every reader handles NULL first; or keep the constraint and give new rows a default.",
        "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;", "-- readers handle NULL since v4.2 (CHG-1234)\n-- sluice:allow drop-not-null readers deployed\nALTER TABLE users ALTER COLUMN email DROP NOT NULL;"),
    rule!("rename-enum-value", Warning, None, false,
        "Renaming an enum value breaks running code and queries that still write or compare the old label.",
        "Add the new value, move the rows and the code to it, and stop using the old one (enum values cannot be dropped).",
        "ALTER TYPE order_status RENAME VALUE 'shipped' TO 'sent';", "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'sent' AFTER 'shipped';"),
    rule!("rename-schema", Warning, None, false,
        "Renaming a schema breaks every schema-qualified name in running code, views' callers, search_path settings and grants scripts at once.",
        "Create the new schema and move objects over release by release, or leave the name.",
        "ALTER SCHEMA billing RENAME TO invoicing;", "CREATE SCHEMA IF NOT EXISTS invoicing;\n-- move objects one by one, keeping billing until nothing uses it"),
    rule!("nested-begin", Error, None, false,
        "BEGIN inside an open transaction is only a warning to PostgreSQL: the inner COMMIT ends the outer transaction early, and what follows runs outside it.",
        "Close the first transaction before opening another, or use SAVEPOINT for a nested step.",
        "BEGIN;\nALTER TABLE t ADD COLUMN a int;\nBEGIN;\nUPDATE t SET a = 1 WHERE id < 10;\nCOMMIT;\nCOMMIT;", "BEGIN;\nALTER TABLE t ADD COLUMN a int;\nSAVEPOINT fill;\nUPDATE t SET a = 1 WHERE id < 10;\nRELEASE SAVEPOINT fill;\nCOMMIT;"),
    rule!("identifier-too-long", Warning, None, false,
        "PostgreSQL truncates identifiers to 63 bytes (with only a NOTICE): the object gets a shorter name than written, and the next migration that names it as written fails, or two long names collide.",
        "Keep names to 63 bytes or fewer.",
        "ALTER TABLE orders ADD CONSTRAINT orders_customer_reference_must_point_at_an_active_customer_record_fk ...;", "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk ...;"),
    rule!("enum-add-value-unordered", Warning, None, false,
        "ADD VALUE without BEFORE or AFTER puts the value last: ORDER BY, <, > and range checks on the enum treat it as greater than every existing value.",
        "Say where it goes: ADD VALUE 'x' AFTER 'y' (AFTER the current last value when last is meant).",
        "ALTER TYPE order_status ADD VALUE 'archived';", "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'archived' AFTER 'delivered';"),
    rule!("wide-non-unique-index", Warning, None, false,
        "A non-unique index on more than three columns is large, slows every write, and rarely serves a query better than a narrower one.",
        "Index the leading columns queries filter on (INCLUDE the rest for index-only scans), or make it UNIQUE if it states a rule.",
        "CREATE INDEX CONCURRENTLY o_wide ON orders (user_id, status, created_at, total);", "CREATE INDEX CONCURRENTLY o_user_status ON orders (user_id, status) INCLUDE (created_at, total);"),
    rule!("allow-without-reason", Warning, None, false,
        "A `-- sluice:allow` comment must say why the finding is acceptable; without a reason it silences nothing.",
        "Write the reason after the rule id.",
        "-- sluice:allow drop-column", "-- sluice:allow drop-column unused since v2.3, CHG-4411"),
    rule!("unknown-rule", Warning, None, false,
        "A `-- sluice:allow` comment names a rule that does not exist (a typo silences nothing).",
        "Use a rule id from `sluice lint --explain`.",
        "-- sluice:allow drop-colum reason", "-- sluice:allow drop-column reason"),
];

/// The rules reference (docs/lint-rules.md), generated from this registry.
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# Lint rules\n\nGenerated from `src/core/data/lint/rules.rs` (`sluice lint --explain all` prints the same).\n\
         Silence one finding with `-- sluice:allow <rule-id> <reason>` on or above the statement;\n\
         re-level rules in sluice.toml under `[lint.rules]` or `[lint.<tier>]`.\n\n\
         ## Levels\n\n\
         **error**: data loss, a rewrite or full scan under ACCESS EXCLUSIVE, or a statement that \
         fails or breaks the transaction; the production gate refuses it. **warning**: blocks \
         traffic or breaks running code depending on size and load, or costs a rewrite to undo \
         later; connected, the table's size moves it a level. **info**: advice whose fix later \
         is cheap.\n\n\
         | rule | severity | lock | rewrites |\n| --- | --- | --- | --- |\n",
    );
    for r in RULES {
        out.push_str(&format!(
            "| [{id}](#{id}) | {} | {} | {} |\n",
            r.severity.as_str(),
            r.lock.unwrap_or("-"),
            if r.rewrites { "yes" } else { "no" },
            id = r.id
        ));
    }
    for r in RULES {
        out.push_str(&format!(
            "\n## {}\n\n{}\n\n**Fix:** {}\n\nBad:\n\n```sql\n{}\n```\n\nGood:\n\n```sql\n{}\n```\n",
            r.id, r.why, r.help, r.bad, r.good
        ));
        if let Some((_, why)) = LEVEL_NOTES.iter().find(|(id, _)| *id == r.id) {
            out.push_str(&format!("\n**Why {}:** {why}\n", r.severity.as_str()));
        }
    }
    out.push_str(MEASURED_HEADING);
    out
}

/// The heading of the lock table that tests/integration/lock_claims.rs measures on the
/// server and keeps below it, between markers.
pub const MEASURED_HEADING: &str = "\n## Measured on the server\n\n\
    Each rule that claims a lock or a rewrite, run inside a transaction on the test cluster \
    (VACUUM FULL from outside one): the strongest lock the session held on the table, its \
    indexes and TOAST table (pg_locks), and whether the table got a new file with its rows in \
    it (pg_class.relfilenode). `cargo test lock_claims` fails when a rule's claim differs.\n\n";

/// Why a rule whose level is a judgment call has the level it has.
const LEVEL_NOTES: &[(&str, &str)] = &[
    ("prefer-jsonb", "json breaks DISTINCT, GROUP BY and UNION (no equality operator) and cannot take a GIN index, and the fix is a rewrite of the table under ACCESS EXCLUSIVE: cheap to avoid now, expensive later."),
    ("prefer-timestamptz", "wrong instants across DST and servers are silent data errors, and converting the column later rewrites it (unless the session zone is UTC)."),
    ("prefer-text-over-char", "blank-padding makes comparisons and lengths surprising, and changing the length later rewrites the table."),
    ("prefer-text-over-varchar", "the length is a data rule, not a production risk: widening varchar(n) later is catalog-only (no rewrite, measured below), so this stays advice."),
    ("int-primary-key", "overflow at 2^31 stops every insert, and the fix is a rewrite of the table and of every referencing column."),
    ("enum-add-value-unordered", "where the enum's order matters (ORDER BY, <, BETWEEN), a value appended last is a silent logic change; the fix is one word (AFTER ...), so it is worth saying every time."),
    ("wide-non-unique-index", "every write pays for the index; it is rarely the index a query needs."),
    ("create-domain-with-check", "nothing breaks today, but every later change to the constraint re-checks all tables using the domain at once."),
    ("drop-not-null", "harmless to the database, but readers that assume a value break on the first NULL."),
];

pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_reference_in_docs_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/lint-rules.md");
        let want = reference_markdown();
        let marker = "<!-- measured-locks:start -->";
        let doc = std::fs::read_to_string(&path).unwrap_or_default();
        let (have, measured) = match doc.split_once(marker) {
            Some((head, rest)) => (head.to_string(), format!("{marker}{rest}")),
            None => (doc.clone(), format!("{marker}\n<!-- measured-locks:end -->\n")),
        };
        if std::env::var("SLUICE_BLESS").is_ok() {
            std::fs::write(&path, format!("{want}{measured}")).unwrap();
        }
        assert!(
            have == want,
            "docs/lint-rules.md is stale: run SLUICE_BLESS=1 cargo test --lib rules"
        );
    }

    #[test]
    fn ids_are_unique_kebab_case_and_documented() {
        let mut seen = std::collections::HashSet::new();
        for r in RULES {
            assert!(seen.insert(r.id), "duplicate {}", r.id);
            assert!(r.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{}", r.id);
            assert!(
                !r.why.is_empty() && !r.help.is_empty() && !r.bad.is_empty() && !r.good.is_empty()
            );
        }
    }
}
