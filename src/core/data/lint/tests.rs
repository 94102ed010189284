//! Every rule: SQL that must trigger it, and near misses that must not.

use super::*;

fn rules_for(sql: &str) -> Vec<&'static str> {
    let input = Input {
        path: "m.sql".into(),
        text: sql.to_string(),
        down: Down::NotJudged,
        no_transaction: false,
    };
    let mut r: Vec<&'static str> = lint_one(&input, &LintOptions::default())
        .into_iter()
        .map(|f| f.rule)
        .filter(|r| *r != "require-lock-timeout")
        .collect();
    r.sort();
    r.dedup();
    r
}

fn fires(rule: &str, sql: &str) {
    let got = rules_for(sql);
    assert!(got.contains(&rule), "{rule} should fire on:\n{sql}\ngot {got:?}");
}

fn silent(rule: &str, sql: &str) {
    let got = rules_for(sql);
    assert!(!got.contains(&rule), "{rule} must not fire on:\n{sql}\ngot {got:?}");
}

const NOTX: &str = "-- sluice:no-transaction\n";

#[test]
fn data_loss() {
    fires("drop-database", "DROP DATABASE shop;");
    fires("drop-schema", "DROP SCHEMA billing;");
    fires("drop-extension", "DROP EXTENSION IF EXISTS pgcrypto;");
    fires("drop-table", "DROP TABLE orders;");
    silent("drop-table", "CREATE TABLE tmp (id int); DROP TABLE tmp;");
    silent("drop-table", "SELECT 'DROP TABLE orders;';");
    silent("drop-table", "-- DROP TABLE orders;\nSELECT 1;");
    silent(
        "drop-table",
        "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ DROP TABLE orders; $$;",
    );
    silent("drop-table", "DO $$ BEGIN EXECUTE 'DROP TABLE orders'; END $$;");
    fires("drop-column", "ALTER TABLE users DROP COLUMN phone;");
    silent("drop-column", "CREATE TABLE t (a int, b int); ALTER TABLE t DROP COLUMN b;");
    fires("drop-cascade", "DROP TABLE customers CASCADE;");
    fires("drop-cascade", "DROP VIEW v CASCADE;");
    silent("drop-cascade", "DROP VIEW v;");
    fires("truncate", "TRUNCATE events;");
    fires("delete-without-where", "DELETE FROM sessions;");
    silent("delete-without-where", "DELETE FROM sessions WHERE expires_at < now();");
    fires("update-without-where", "UPDATE users SET plan = 'free';");
    silent("update-without-where", "UPDATE users SET plan = 'free' WHERE plan IS NULL;");
    silent("update-without-where", "CREATE TABLE t (a int); UPDATE t SET a = 1;");
}

#[test]
fn blocking_locks() {
    fires("create-index-non-concurrently", "CREATE INDEX i ON orders (status);");
    silent("create-index-non-concurrently", "CREATE TABLE o (s text); CREATE INDEX i ON o (s);");
    silent(
        "create-index-non-concurrently",
        &format!("{NOTX}CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON orders (s);"),
    );
    fires("drop-index-non-concurrently", "DROP INDEX i;");
    silent("drop-index-non-concurrently", &format!("{NOTX}DROP INDEX CONCURRENTLY IF EXISTS i;"));
    fires("reindex-non-concurrently", "REINDEX TABLE orders;");
    silent("reindex-non-concurrently", &format!("{NOTX}REINDEX TABLE CONCURRENTLY orders;"));
    fires(
        "add-foreign-key-without-not-valid",
        "ALTER TABLE o ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id);",
    );
    silent(
        "add-foreign-key-without-not-valid",
        "ALTER TABLE o ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id) NOT VALID;",
    );
    fires("add-check-without-not-valid", "ALTER TABLE o ADD CONSTRAINT c CHECK (x > 0);");
    silent(
        "add-check-without-not-valid",
        "ALTER TABLE o ADD CONSTRAINT c CHECK (x > 0) NOT VALID;",
    );
    fires("set-not-null", "ALTER TABLE users ALTER COLUMN email SET NOT NULL;");
    silent("set-not-null", "CREATE TABLE u (e text); ALTER TABLE u ALTER COLUMN e SET NOT NULL;");
    fires("add-unique-without-using-index", "ALTER TABLE users ADD CONSTRAINT k UNIQUE (email);");
    fires("add-unique-without-using-index", "ALTER TABLE users ADD PRIMARY KEY (id);");
    silent(
        "add-unique-without-using-index",
        "ALTER TABLE users ADD CONSTRAINT k UNIQUE USING INDEX k_idx;",
    );
    fires("vacuum-full", &format!("{NOTX}VACUUM FULL orders;"));
    silent("vacuum-full", &format!("{NOTX}VACUUM (ANALYZE) orders;"));
    fires("cluster", "CLUSTER orders USING orders_pkey;");
    fires("lock-table", "LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;");
    fires("refresh-matview-non-concurrently", "REFRESH MATERIALIZED VIEW mv;");
    silent("refresh-matview-non-concurrently", "REFRESH MATERIALIZED VIEW CONCURRENTLY mv;");
}

#[test]
fn rewrites() {
    fires(
        "add-column-volatile-default",
        "ALTER TABLE o ADD COLUMN u uuid DEFAULT gen_random_uuid();",
    );
    fires(
        "add-column-volatile-default",
        "ALTER TABLE o ADD COLUMN r float8 DEFAULT random() * 10;",
    );
    silent(
        "add-column-volatile-default",
        "ALTER TABLE o ADD COLUMN p text NOT NULL DEFAULT 'free';",
    );
    silent("add-column-volatile-default", "ALTER TABLE o ADD COLUMN t timestamptz DEFAULT now();");
    silent("add-column-volatile-default", "CREATE TABLE o (u uuid DEFAULT gen_random_uuid());");
    fires("alter-column-type", "ALTER TABLE o ALTER COLUMN total TYPE numeric(12,2);");
    fires("alter-column-type", "ALTER TABLE o ALTER COLUMN total TYPE bigint USING total::bigint;");
    silent("alter-column-type", "ALTER TABLE o ALTER COLUMN note TYPE text;");
    fires("set-logged-unlogged", "ALTER TABLE events SET LOGGED;");
    fires("set-logged-unlogged", "ALTER TABLE events SET UNLOGGED;");
    fires(
        "add-stored-generated-column",
        "ALTER TABLE o ADD COLUMN c bigint GENERATED ALWAYS AS (total * 100) STORED;",
    );
    fires(
        "add-not-null-column-without-default",
        "ALTER TABLE users ADD COLUMN plan text NOT NULL;",
    );
    silent(
        "add-not-null-column-without-default",
        "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'x';",
    );
    silent(
        "add-not-null-column-without-default",
        "ALTER TABLE users ADD COLUMN id2 bigint GENERATED ALWAYS AS IDENTITY;",
    );
}

#[test]
fn renames() {
    fires("rename-table", "ALTER TABLE customers RENAME TO clients;");
    fires("rename-column", "ALTER TABLE users RENAME COLUMN mail TO email;");
    silent(
        "rename-column",
        "CREATE TABLE u (mail text); ALTER TABLE u RENAME COLUMN mail TO email;",
    );
}

#[test]
fn transaction_misuse() {
    fires("non-transactional-in-transaction", "CREATE INDEX CONCURRENTLY i ON t (a);");
    fires(
        "non-transactional-in-transaction",
        &format!("{NOTX}BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;"),
    );
    silent(
        "non-transactional-in-transaction",
        &format!("{NOTX}CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);"),
    );
    fires("transaction-control-in-migration", "BEGIN;\nALTER TABLE t ADD COLUMN a int;\nCOMMIT;");
    silent("transaction-control-in-migration", "SAVEPOINT s; ROLLBACK TO SAVEPOINT s;");
    silent(
        "transaction-control-in-migration",
        &format!("{NOTX}BEGIN;\nUPDATE t SET a = 1 WHERE id = 1;\nCOMMIT;"),
    );
    fires("begin-without-commit", &format!("{NOTX}BEGIN;\nUPDATE t SET a = 1 WHERE id = 1;"));
    fires("validate-in-same-transaction", "ALTER TABLE o ADD CONSTRAINT c CHECK (x > 0) NOT VALID;\nALTER TABLE o VALIDATE CONSTRAINT c;");
    silent("validate-in-same-transaction", "ALTER TABLE o VALIDATE CONSTRAINT c;");
    fires("enum-value-used-in-same-transaction", "ALTER TYPE status ADD VALUE 'archived';\nUPDATE orders SET status = 'archived' WHERE closed;");
    silent("enum-value-used-in-same-transaction", "ALTER TYPE status ADD VALUE 'archived';\nUPDATE orders SET status = 'closed' WHERE closed;");
    fires("backfill-with-ddl", "ALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = 'free' WHERE plan IS NULL;");
    silent("backfill-with-ddl", "CREATE TABLE t (a int);\nUPDATE t SET a = 1 WHERE a IS NULL;");
}

#[test]
fn no_transaction_idempotency_and_types() {
    fires("non-idempotent-no-transaction", &format!("{NOTX}CREATE INDEX CONCURRENTLY i ON t (a);"));
    fires("non-idempotent-no-transaction", &format!("{NOTX}DROP INDEX CONCURRENTLY i;"));
    silent("non-idempotent-no-transaction", "CREATE TABLE t (a int);");
    fires("int-primary-key", "CREATE TABLE e (id serial PRIMARY KEY);");
    fires("int-primary-key", "CREATE TABLE e (id integer, PRIMARY KEY (id));");
    silent(
        "int-primary-key",
        "CREATE TABLE e (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
    );
    fires("prefer-jsonb", "CREATE TABLE t (doc json);");
    silent("prefer-jsonb", "CREATE TABLE t (doc jsonb);");
    fires("prefer-timestamptz", "CREATE TABLE t (at timestamp);");
    silent("prefer-timestamptz", "CREATE TABLE t (at timestamptz);");
    fires("prefer-text-over-char", "CREATE TABLE t (c char(3));");
    fires("prefer-text-over-varchar", "ALTER TABLE t ADD COLUMN n varchar(50);");
    silent("prefer-text-over-varchar", "CREATE TABLE t (n text);");
    fires("disable-triggers", "ALTER TABLE o DISABLE TRIGGER ALL;");
    fires("non-idempotent-no-transaction", &format!("{NOTX}ALTER TABLE t ADD COLUMN a int;"));
    silent(
        "non-idempotent-no-transaction",
        &format!("{NOTX}ALTER TABLE t ADD COLUMN IF NOT EXISTS a int;"),
    );
}

#[test]
fn syntax_errors_and_meta_commands_are_findings_at_their_line() {
    let input = Input {
        path: "m.sql".into(),
        text: "SELECT 1;\n\nSELEC 2;\n".into(),
        down: Down::NotJudged,
        no_transaction: false,
    };
    let f = lint_one(&input, &LintOptions::default());
    assert_eq!((f[0].rule, f[0].line, f[0].severity), ("syntax-error", 3, Severity::Error));
    assert!(f[0].message.contains("SELEC"), "{}", f[0].message);
    let input = Input {
        path: "m.sql".into(),
        text: "\\set x 1\nSELECT 1;\n".into(),
        down: Down::NotJudged,
        no_transaction: false,
    };
    let f = lint_one(&input, &LintOptions::default());
    assert!(f[0].message.contains("psql meta-command"), "{}", f[0].message);
}

#[test]
fn allow_comments_need_a_known_rule_and_a_reason() {
    let allowed = "-- sluice:allow drop-column unused since v2.3, CHG-4411\nALTER TABLE users DROP COLUMN phone;\n";
    assert_eq!(rules_for(allowed), Vec::<&str>::new());
    let same_line = "ALTER TABLE users DROP COLUMN phone; -- sluice:allow drop-column retired\nALTER TABLE users DROP COLUMN fax;\n";
    let input = Input {
        path: "m.sql".into(),
        text: same_line.into(),
        down: Down::NotJudged,
        no_transaction: false,
    };
    let lines: Vec<usize> = lint_one(&input, &LintOptions::default())
        .iter()
        .filter(|f| f.rule == "drop-column")
        .map(|f| f.line)
        .collect();
    assert_eq!(lines, vec![2], "only the statement on the comment's line is allowed");
    let no_reason = "-- sluice:allow drop-column\nALTER TABLE users DROP COLUMN phone;\n";
    assert_eq!(rules_for(no_reason), vec!["allow-without-reason", "drop-column"]);
    let typo = "-- sluice:allow drop-colum because\nALTER TABLE users DROP COLUMN phone;\n";
    assert_eq!(rules_for(typo), vec!["drop-column", "unknown-rule"]);
    let in_string =
        "SELECT '-- sluice:allow drop-column nope';\nALTER TABLE users DROP COLUMN phone;\n";
    assert!(rules_for(in_string).contains(&"drop-column"));
}

#[test]
fn levels_and_context() {
    let input = Input {
        path: "m.sql".into(),
        text: "ALTER TABLE orders RENAME COLUMN a TO b;".into(),
        down: Down::NotJudged,
        no_transaction: false,
    };
    let mut opts = LintOptions::default();
    opts.levels.insert("rename-column".into(), Some(Severity::Error));
    opts.table_sizes
        .insert("orders".into(), TableSize { rows: 2_100_000.0, bytes: 350 * 1024 * 1024 });
    let f = lint_one(&input, &opts);
    let r = f.iter().find(|f| f.rule == "rename-column").unwrap();
    assert_eq!(r.severity, Severity::Error);
    assert!(r.message.contains("orders: 2.1M rows, 350.0 MB"), "{}", r.message);
    // A duration risk is ranked by the table's size; an explicit level is left alone.
    let idx = Input {
        path: "m.sql".into(),
        text: "CREATE INDEX i ON orders (a);".into(),
        down: Down::NotJudged,
        no_transaction: false,
    };
    let sev = |o: &LintOptions| {
        lint_one(&idx, o)
            .iter()
            .find(|f| f.rule == "create-index-non-concurrently")
            .unwrap()
            .severity
    };
    assert_eq!(sev(&opts), Severity::Warning, "2.1M rows: as is");
    let mut tiny = LintOptions::default();
    tiny.table_sizes.insert("orders".into(), TableSize { rows: 10.0, bytes: 8192 });
    assert_eq!(sev(&tiny), Severity::Info);
    let mut huge = LintOptions::default();
    huge.table_sizes.insert("orders".into(), TableSize { rows: 5e7, bytes: 50 << 30 });
    assert_eq!(sev(&huge), Severity::Error);
    let drop = Input {
        path: "m.sql".into(),
        text: "DROP TABLE orders;".into(),
        down: Down::NotJudged,
        no_transaction: false,
    };
    assert_eq!(
        lint_one(&drop, &tiny)[0].severity,
        Severity::Error,
        "data loss is data loss, whatever the size"
    );
    opts.levels.insert("rename-column".into(), None);
    assert!(lint_one(&input, &opts).iter().all(|f| f.rule != "rename-column"));

    let add_default = Input {
        path: "m.sql".into(),
        text: "ALTER TABLE o ADD COLUMN p text DEFAULT 'x';".into(),
        down: Down::NotJudged,
        no_transaction: false,
    };
    let old = LintOptions { server_version: Some(100_012), ..LintOptions::default() };
    assert!(lint_one(&add_default, &old).iter().any(|f| f.rule == "add-column-volatile-default"));
    let new = LintOptions { server_version: Some(150_008), ..LintOptions::default() };
    assert!(lint_one(&add_default, &new).iter().all(|f| f.rule != "add-column-volatile-default"));

    let timeout_off = LintOptions { lock_timeout_ms: Some(0), ..LintOptions::default() };
    let alter = Input {
        path: "m.sql".into(),
        text: "ALTER TABLE o ADD COLUMN n text;".into(),
        down: Down::NotJudged,
        no_transaction: false,
    };
    let f = lint_one(&alter, &timeout_off);
    let lt = f.iter().find(|f| f.rule == "require-lock-timeout").unwrap();
    assert_eq!(lt.severity, Severity::Warning, "a warning where the environment switched it off");
    let set = Input {
        path: "m.sql".into(),
        text: "SET lock_timeout = '2s';\nALTER TABLE o ADD COLUMN n text;".into(),
        down: Down::NotJudged,
        no_transaction: false,
    };
    assert!(lint_one(&set, &timeout_off).iter().all(|f| f.rule != "require-lock-timeout"));
}

#[test]
fn reversibility() {
    let up = "CREATE TABLE a (id int);\nCREATE INDEX a_idx ON a (id);\nALTER TABLE b ADD COLUMN c int;\n";
    let judge = |down: Down| {
        let input =
            Input { path: "1_x.up.sql".into(), text: up.into(), down, no_transaction: false };
        lint_one(&input, &LintOptions::default())
            .into_iter()
            .map(|f| (f.rule, f.message))
            .collect::<Vec<_>>()
    };
    assert!(judge(Down::Missing).iter().any(|(r, _)| *r == "missing-down"));
    assert!(judge(Down::Present("-- todo\n".into())).iter().any(|(r, _)| *r == "empty-down"));
    let partial = judge(Down::Present("DROP TABLE a;\n".into()));
    let undone: Vec<_> = partial.iter().filter(|(r, _)| *r == "down-does-not-undo").collect();
    assert_eq!(undone.len(), 1, "{partial:?}");
    assert!(undone[0].1.contains("column b.c"));
    let full = judge(Down::Present("ALTER TABLE b DROP COLUMN c;\nDROP TABLE a;\n".into()));
    assert!(full
        .iter()
        .all(|(r, _)| !matches!(*r, "down-does-not-undo" | "missing-down" | "empty-down")));
    assert!(judge(Down::NotJudged).iter().all(|(r, _)| *r != "missing-down"));
}

#[test]
fn enum_add_value_on_old_servers() {
    let input = Input {
        path: "m.sql".into(),
        text: "ALTER TYPE status ADD VALUE 'archived';".into(),
        down: Down::NotJudged,
        no_transaction: false,
    };
    let on = |v| {
        let o = LintOptions { server_version: Some(v), ..LintOptions::default() };
        lint_one(&input, &o).iter().any(|f| f.rule == "enum-add-value-in-transaction")
    };
    assert!(on(110_020));
    assert!(!on(150_008));
}

#[test]
fn near_misses_in_strings_comments_bodies_and_created_by_runs() {
    let body = |sql: &str| {
        format!("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $fn$ BEGIN {sql} END $fn$;")
    };
    silent("drop-database", "SELECT 'DROP DATABASE shop';");
    silent("drop-schema", "-- DROP SCHEMA billing;\nSELECT 1;");
    silent("truncate", &body("TRUNCATE events;"));
    silent("cluster", "/* CLUSTER orders; */ SELECT 1;");
    silent("lock-table", "DO $$ BEGIN LOCK TABLE orders IN ACCESS EXCLUSIVE MODE; END $$;");
    silent("rename-table", "CREATE TABLE c (id int);\nALTER TABLE c RENAME TO d;");
    silent("set-logged-unlogged", "CREATE UNLOGGED TABLE e (id int);\nALTER TABLE e SET LOGGED;");
    silent(
        "add-stored-generated-column",
        "CREATE TABLE o (t int, c int GENERATED ALWAYS AS (t * 2) STORED);",
    );
    silent("disable-triggers", &body("ALTER TABLE o DISABLE TRIGGER ALL;"));
    silent("prefer-text-over-char", "CREATE TABLE t (c text);");
    silent(
        "begin-without-commit",
        &format!("{NOTX}BEGIN;\nUPDATE t SET a = 1 WHERE id = 1;\nCOMMIT;"),
    );
    silent(
        "add-column-volatile-default",
        "SELECT 'ALTER TABLE o ADD COLUMN u uuid DEFAULT gen_random_uuid()';",
    );
    silent("create-index-non-concurrently", &body("CREATE INDEX i ON orders (status);"));
    silent("delete-without-where", "WITH gone AS (DELETE FROM sessions WHERE expires_at < now() RETURNING 1) SELECT count(*) FROM gone;");
}

#[test]
fn a_table_the_run_creates_is_new_and_empty() {
    let input = |text: &str| Input {
        path: "m.sql".into(),
        text: text.into(),
        down: Down::NotJudged,
        no_transaction: false,
    };
    let danger = input(
        "DELETE FROM orders;\nALTER TABLE orders ADD COLUMN u uuid NOT NULL DEFAULT gen_random_uuid();\nDROP TABLE app.items;\n",
    );
    // Offline: every table is taken to exist and be busy.
    let offline = lint_one(&danger, &LintOptions::default());
    let worst = offline.iter().map(|f| f.severity).max();
    assert_eq!(worst, Some(Severity::Error));
    assert!(offline.iter().all(|f| f.created_by_run.is_none()));
    // Connected to a database that has neither table: the run creates them.
    let empty = LintOptions { existing: Some(Default::default()), ..LintOptions::default() };
    let fresh = lint_one(&danger, &empty);
    for rule in ["delete-without-where", "add-column-volatile-default", "drop-table"] {
        let f = fresh.iter().find(|f| f.rule == rule).unwrap_or_else(|| panic!("{rule}"));
        assert_eq!(f.severity, Severity::Info, "{rule}");
        assert!(
            f.created_by_run.is_some() && f.message.contains("new and unused"),
            "{}",
            f.message
        );
    }
    // Where they exist, nothing is discounted (a schema-qualified name found either way).
    let existing: std::collections::HashSet<String> =
        ["orders", "app.items", "items"].iter().map(|s| s.to_string()).collect();
    let live = LintOptions { existing: Some(existing), ..LintOptions::default() };
    let busy = lint_one(&danger, &live);
    assert!(busy.iter().all(|f| f.created_by_run.is_none()));
    assert_eq!(busy.iter().map(|f| f.severity).max(), Some(Severity::Error));
    // A finding about no table (a column type) is not the run's to discount.
    let typed = lint_one(&input("ALTER TABLE t ADD COLUMN d json;"), &empty);
    let json = typed.iter().find(|f| f.rule == "prefer-jsonb").unwrap();
    assert!(json.created_by_run.is_none());
}

#[test]
fn dropping_what_the_run_created_is_not_a_danger_but_dropping_what_exists_is() {
    let input = Input {
        path: "m.sql".into(),
        text: "DROP INDEX idx_a;\nDROP VIEW v_a CASCADE;\nDROP SCHEMA r CASCADE;\nREINDEX TABLE big;\n"
            .into(),
        down: Down::NotJudged,
        no_transaction: false,
    };
    let severities = |existing: &[&str]| -> Vec<(&'static str, Severity)> {
        let existing = existing.iter().map(|s| s.to_string()).collect();
        let opts = LintOptions { existing: Some(existing), ..LintOptions::default() };
        let mut v: Vec<_> = lint_one(&input, &opts)
            .into_iter()
            .filter(|f| f.rule != "require-lock-timeout")
            .map(|f| (f.rule, f.severity))
            .collect();
        v.sort();
        v
    };
    let fresh = severities(&[]);
    assert!(fresh.iter().all(|(_, s)| *s == Severity::Info), "{fresh:?}");
    let live = severities(&["idx_a", "v_a", "r", "big"]);
    assert!(live.contains(&("drop-schema", Severity::Error)), "{live:?}");
    assert!(live.contains(&("drop-cascade", Severity::Error)), "{live:?}");
    assert!(live.contains(&("drop-index-non-concurrently", Severity::Warning)), "{live:?}");
    assert!(live.iter().any(|(r, s)| *r == "reindex-non-concurrently" && *s >= Severity::Warning));
}

/// Statements the lint does not parse (no rule could look at their tree) still get what
/// their text tells, and an INSERT or SELECT is parsed when a rule could look at it.
#[test]
fn statements_passed_over_by_the_parser_lose_no_finding() {
    fires(
        "enum-value-used-in-same-transaction",
        "ALTER TYPE s ADD VALUE 'x';\nINSERT INTO t (st) VALUES ('x');",
    );
    fires("delete-without-where", "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d;");
    fires(
        "identifier-too-long",
        &format!("COMMENT ON TABLE t IS 'x';\nCREATE VIEW {} AS SELECT 1;", "v".repeat(64)),
    );
    silent(
        "delete-without-where",
        "CREATE FUNCTION purge() RETURNS void LANGUAGE sql AS $$ DELETE FROM t $$;",
    );
}
