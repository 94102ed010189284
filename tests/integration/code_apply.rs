//! Guarded apply through the code-migration tools: real Knex and real Alembic run each
//! pending migration under sluice's run (advisory lock, pre-checks, ledger, timeouts), with
//! `tool = ...` and the environment as the only configuration.

use std::time::{Duration, Instant};

use crate::code_tools::{fixture, tool};
use crate::native_tools::tools_dir;
use crate::support::{fresh_db, run_sluice_env, Output, TestDb, TestProject};

/// A tool project as a team has it: the tool's files, its node_modules (Knex), and a
/// sluice.toml naming the tool and one environment.
pub(crate) fn project(db: &TestDb, tool: &str, env_extra: &str) -> TestProject {
    let p = TestProject::new(db, "development", "");
    fixture(tool, p.root());
    if tool == "knex" {
        std::os::unix::fs::symlink(tools_dir().join("node_modules"), p.root().join("node_modules"))
            .unwrap();
    }
    let toml = format!(
        "[project]\ntool = \"{tool}\"\n\n[environments.dev]\ntier = \"development\"\nurl = \"{}\"\n{env_extra}\n",
        db.url
    );
    std::fs::write(p.root().join("sluice.toml"), toml).unwrap();
    p
}

/// sluice with the Alembic of the native-tools cache first on PATH, as a team's venv is.
fn sluice(p: &TestProject, args: &[&str]) -> Output {
    let path = format!(
        "{}:{}",
        tools_dir().join("py/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    run_sluice_env(p.root(), args, &[("PATH", &path)])
}

fn states(p: &TestProject) -> Vec<String> {
    let out = sluice(p, &["status", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    out.json()["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap().to_string())
        .collect()
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn knex_applies_one_migration_at_a_time_under_sluices_run() {
    if tool("node_modules/.bin/knex").is_none() {
        return;
    }
    let db = fresh_db().await;
    let p = project(&db, "knex", "");
    let out = sluice(&p, &["apply", "--to", "20240102090000_add_plan", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let r = out.json();
    let migrations = r["migrations"].as_array().unwrap();
    assert_eq!(migrations.len(), 2, "--to stops at add_plan");
    let first = &migrations[0];
    assert_eq!(first["source"], "knex");
    assert_eq!(first["tool"]["command"], "knex migrate:up 20240101090000_create_accounts.js");
    assert_eq!(first["tool"]["exit_code"], 0);
    assert!(first["tool"]["output"]
        .as_str()
        .unwrap()
        .contains("20240101090000_create_accounts.js"));
    assert!(
        first["tool"]["schema_diff"].as_str().unwrap().contains("+relation public.accounts kind r"),
        "{first}"
    );
    assert_eq!(states(&p), ["applied", "applied", "pending"]);
    assert_eq!(count(&db, "SELECT count(*) FROM knex_migrations").await, 2);
    let ledger = count(&db, "SELECT count(*) FROM sluice.history WHERE success").await;
    assert_eq!(ledger, 2, "the ledger records each migration the tool ran");

    // Knex's own lock is respected: held, sluice does not run beside it.
    let c = db.client().await;
    c.batch_execute("UPDATE knex_migrations_lock SET is_locked = 1").await.unwrap();
    let locked = sluice(&p, &["apply"]);
    assert_eq!(locked.code, 1, "{}{}", locked.stdout, locked.stderr);
    assert!(locked.stderr.contains("Knex's own lock is held"), "{}", locked.stderr);
    c.batch_execute("UPDATE knex_migrations_lock SET is_locked = 0").await.unwrap();
    // The rest: the CONCURRENTLY index, which Knex runs outside a transaction.
    let text = sluice(&p, &["apply"]);
    assert_eq!(text.code, 0, "{}{}", text.stdout, text.stderr);
    assert!(
        text.stdout.contains("↑ 20240103090000_accounts_plan_index (through knex)"),
        "{}",
        text.stdout
    );
    assert_eq!(states(&p), ["applied", "applied", "applied"]);
    let index = count(&db, "SELECT count(*) FROM pg_indexes WHERE indexname = 'accounts_plan_idx'");
    assert_eq!(index.await, 1);
    let again = sluice(&p, &["apply"]);
    assert_eq!(again.code, 0);
    assert!(
        again.stdout.contains("nothing to do") || again.stdout.contains("0 migration"),
        "{}",
        again.stdout
    );
}

#[tokio::test]
async fn a_failing_knex_migration_stops_the_run_and_the_ledger_agrees_with_knex() {
    if tool("node_modules/.bin/knex").is_none() {
        return;
    }
    let db = fresh_db().await;
    let p = project(&db, "knex", "");
    let dir = p.root().join("db/migrations");
    std::fs::write(
        dir.join("20240102100000_broken.js"),
        "exports.up = (knex) => knex.raw('SELECT no_such_function()');\nexports.down = () => {};\n",
    )
    .unwrap();
    let out = sluice(&p, &["apply", "--format", "json"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let r = out.json();
    let message = r["error"]["message"].as_str().unwrap();
    assert!(message.contains("20240102100000_broken.js"), "{message}");
    assert!(message.contains("no_such_function"), "the tool's own error: {message}");
    assert_eq!(
        states(&p),
        ["applied", "applied", "pending", "pending"],
        "nothing after the failure ran"
    );
    let recorded = count(&db, "SELECT count(*) FROM knex_migrations WHERE name LIKE '%broken%'");
    assert_eq!(recorded.await, 0, "knex did not record it");
    let failed = count(
        &db,
        "SELECT count(*) FROM sluice.history WHERE version = '20240102100000_broken' AND NOT success AND error LIKE '%no_such_function%'",
    );
    assert_eq!(failed.await, 1, "the ledger says it failed, with the tool's output");
}

/// The environment's lock_timeout reaches the tool's sessions (PGOPTIONS), and the watch
/// finds the blocker of the tool's session by its application_name.
#[tokio::test]
async fn the_tool_runs_with_the_environments_lock_timeout_and_its_blocker_is_named() {
    if tool("node_modules/.bin/knex").is_none() {
        return;
    }
    let db = fresh_db().await;
    let p = project(&db, "knex", "lock_timeout = \"400ms\"");
    assert_eq!(sluice(&p, &["apply", "--to", "20240101090000_create_accounts"]).code, 0);
    let blocker = db.client().await;
    blocker
        .batch_execute(
            "SET application_name = 'nightly-export'; BEGIN; SELECT count(*) FROM accounts",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let out = sluice(&p, &["apply", "--format", "json"]);
    let took = started.elapsed();
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let message = out.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("lock timeout"), "{message}");
    assert!(message.contains("nightly-export"), "the blocker is named: {message}");
    assert!(
        took < Duration::from_secs(20),
        "the tool gave up at lock_timeout, not its own: {took:?}"
    );
    assert_eq!(states(&p), ["applied", "pending", "pending"]);
    blocker.batch_execute("COMMIT").await.unwrap();
    assert_eq!(sluice(&p, &["apply"]).code, 0, "once the blocker is gone the rest applies");
}

#[tokio::test]
async fn alembic_upgrades_revision_by_revision_with_its_data_step() {
    if tool("py/bin/alembic").is_none() {
        return;
    }
    let db = fresh_db().await;
    let p = project(&db, "alembic", "");
    let out = sluice(&p, &["apply", "--to", "9b7d3e5a2c40", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let r = out.json();
    let commands: Vec<&str> = r["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["tool"]["command"].as_str().unwrap())
        .collect();
    assert!(commands[0].ends_with("upgrade 4f1c2a9e0b11"), "{commands:?}");
    assert!(commands[1].ends_with("upgrade 9b7d3e5a2c40"), "{commands:?}");
    assert_eq!(states(&p), ["applied", "applied", "pending"]);
    let head: String = db
        .client()
        .await
        .query_one("SELECT version_num FROM alembic_version", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(head, "9b7d3e5a2c40");
    // The lint reads the SQL Alembic prints offline: the plain index build on a busy table.
    db.client()
        .await
        .batch_execute("INSERT INTO invoices (amount_cents) SELECT g FROM generate_series(1, 20000) g; ANALYZE invoices")
        .await
        .unwrap();
    let lint = sluice(&p, &["lint", "--env", "dev", "--format", "json"]);
    assert_eq!(lint.code, 0, "warnings pass the default gate: {}{}", lint.stdout, lint.stderr);
    let j = lint.json();
    let index = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "create-index-non-concurrently");
    let index = index.unwrap_or_else(|| panic!("{j}"));
    assert_eq!(index["severity"], "warning");
    let file = index["file"].as_str().unwrap();
    assert!(
        file.contains("c0e8f1d6a733_invoice_status_index.py") && file.contains("--sql"),
        "{file}"
    );
    let out = sluice(&p, &["apply", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let stages = out.json()["stages"].clone();
    let lint_stage =
        stages.as_array().unwrap().iter().find(|s| s["stage"] == "lint").unwrap().clone();
    assert!(lint_stage["summary"].as_str().unwrap().contains("1 warning(s)"), "{lint_stage}");
    assert_eq!(states(&p), ["applied", "applied", "applied"]);
    let ledger = count(&db, "SELECT count(*) FROM sluice.history WHERE success").await;
    assert_eq!(ledger, 3);
}

#[tokio::test]
async fn knex_and_alembic_roll_back_through_their_own_downs() {
    let (Some(_), Some(_)) = (tool("node_modules/.bin/knex"), tool("py/bin/alembic")) else {
        return;
    };
    let db = fresh_db().await;
    let p = project(&db, "knex", "");
    assert_eq!(sluice(&p, &["apply"]).code, 0);
    let out = sluice(&p, &["rollback", "--steps", "1", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let m = &out.json()["migrations"][0];
    assert_eq!(m["direction"], "down");
    assert_eq!(m["tool"]["command"], "knex migrate:down 20240103090000_accounts_plan_index.js");
    assert!(
        m["tool"]["schema_diff"].as_str().unwrap().contains("-index public.accounts_plan_idx"),
        "{m}"
    );
    assert_eq!(states(&p), ["applied", "applied", "pending"]);
    let out = sluice(&p, &["rollback", "--to", "20240101090000_create_accounts"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(states(&p), ["applied", "pending", "pending"]);
    let plan =
        count(&db, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'plan'");
    assert_eq!(plan.await, 0, "add_plan's down dropped the column");
    let downs =
        count(&db, "SELECT count(*) FROM sluice.history WHERE direction = 'down' AND success");
    assert_eq!(downs.await, 2);

    let db = fresh_db().await;
    let p = project(&db, "alembic", "");
    assert_eq!(sluice(&p, &["apply"]).code, 0);
    let out = sluice(&p, &["rollback", "--steps", "2", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let commands: Vec<String> = out.json()["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["tool"]["command"].as_str().unwrap().to_string())
        .collect();
    assert!(commands[0].ends_with("downgrade 9b7d3e5a2c40"), "{commands:?}");
    assert!(commands[1].ends_with("downgrade 4f1c2a9e0b11"), "{commands:?}");
    assert_eq!(states(&p), ["applied", "pending", "pending"]);
    assert_eq!(sluice(&p, &["rollback", "--to", "0"]).code, 0);
    assert_eq!(states(&p), ["pending", "pending", "pending"]);
    let none = count(&db, "SELECT count(*) FROM alembic_version").await;
    assert_eq!(none, 0, "alembic is at base");
}

/// Whether the rehearsal's copy of run `r` is still on the server.
async fn copy_left(db: &TestDb, r: &serde_json::Value) -> bool {
    let name = format!("sluice_rehearsal_{}", r["run_id"].as_str().unwrap());
    let sql = format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'");
    count(db, &sql).await > 0
}

/// The dry run of a tool project runs its migrations for real on a scratch copy (each
/// committing, the CONCURRENTLY one too), reports their locks and the schema diff, drops the
/// copy, and leaves the target as it was.
#[tokio::test]
async fn a_knex_dry_run_rehearses_on_a_copy_and_leaves_the_target_untouched() {
    if tool("node_modules/.bin/knex").is_none() {
        return;
    }
    let db = fresh_db().await;
    let p = project(&db, "knex", "");
    assert_eq!(sluice(&p, &["apply", "--to", "20240101090000_create_accounts"]).code, 0);
    db.client()
        .await
        .batch_execute(
            "INSERT INTO accounts (email) SELECT 'a' || g || '@x' FROM generate_series(1, 200000) g",
        )
        .await
        .unwrap();
    let out = sluice(&p, &["apply", "--dry-run", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let r = out.json();
    assert_eq!(r["outcome"], "rehearsed");
    let m = r["migrations"].as_array().unwrap();
    assert_eq!(m.len(), 2);
    assert!(m.iter().all(|m| m["rehearsed"] == true), "{r}");
    let plan: Vec<&str> =
        m[0]["lock_summary"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    assert!(plan.iter().any(|l| l.starts_with("ACCESS EXCLUSIVE on public.accounts")), "{plan:?}");
    assert!(
        !plan.iter().any(|l| l.contains("knex_migrations")),
        "bookkeeping is left out: {plan:?}"
    );
    let index: Vec<&str> =
        m[1]["lock_summary"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    assert!(
        index.iter().any(|l| l.starts_with("SHARE UPDATE EXCLUSIVE on public.accounts")),
        "{index:?}"
    );
    assert!(r["schema_diff"].as_str().unwrap().contains("+index public.accounts_plan_idx"), "{r}");
    assert_eq!(states(&p), ["applied", "pending", "pending"], "the target is untouched");
    let plan_column =
        count(&db, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'plan'");
    assert_eq!(plan_column.await, 0);
    assert!(!copy_left(&db, &r).await, "the copy is dropped");
}

#[tokio::test]
async fn an_alembic_dry_run_rehearses_its_data_step_on_a_copy() {
    if tool("py/bin/alembic").is_none() {
        return;
    }
    let db = fresh_db().await;
    let p = project(&db, "alembic", "");
    let out = sluice(&p, &["apply", "--dry-run", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let r = out.json();
    let m = r["migrations"].as_array().unwrap();
    assert_eq!(m.len(), 3);
    assert!(m[1]["tool"]["command"].as_str().unwrap().ends_with("upgrade 9b7d3e5a2c40"));
    assert_eq!(states(&p), ["pending", "pending", "pending"]);
    assert!(!copy_left(&db, &r).await, "the copy is dropped");
}

/// `dry_run = "copy"` on a SQL project: the no-transaction migration a transaction cannot
/// rehearse runs on the copy too.
#[tokio::test]
async fn dry_run_copy_rehearses_a_concurrent_index_of_a_sql_project() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "dry_run = \"copy\"");
    p.write("1_a.up.sql", "CREATE TABLE a (id bigint PRIMARY KEY, note text);\nINSERT INTO a SELECT g, 'n' FROM generate_series(1, 1000) g;\n");
    assert_eq!(p.sluice(&["apply"]).code, 0);
    p.write("2_b.up.sql", "-- sluice:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a_note_idx ON a (note);\n");
    p.write("3_c.up.sql", "ALTER TABLE a ADD COLUMN flag boolean NOT NULL DEFAULT false;\n");
    let out = p.sluice(&["apply", "--dry-run", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let r = out.json();
    let m = r["migrations"].as_array().unwrap();
    assert_eq!(m[0]["rehearsed"], true, "the CONCURRENTLY migration is rehearsed on the copy: {r}");
    assert_eq!(m[0]["statements"].as_array().unwrap().len(), 1);
    assert!(r["schema_diff"].as_str().unwrap().contains("a_note_idx"), "{r}");
    let index = count(&db, "SELECT count(*) FROM pg_indexes WHERE indexname = 'a_note_idx'");
    assert_eq!(index.await, 0, "the target is untouched");
    assert!(!copy_left(&db, &r).await, "the copy is dropped");
}

/// `tool = "command"`: a tool of our own (SQL steps psql applies, with a history table of
/// its own) driven only by the commands in sluice.toml, through status, apply and rollback.
#[tokio::test]
async fn any_tool_runs_through_its_tool_commands() {
    let db = fresh_db().await;
    let p = TestProject::new(&db, "development", "");
    let steps = p.root().join("steps");
    std::fs::create_dir(&steps).unwrap();
    let write = |name: &str, sql: &str| std::fs::write(steps.join(name), sql).unwrap();
    write("001_widgets.sql", "CREATE TABLE widgets (id bigint PRIMARY KEY);\n");
    write("001_widgets.down.sql", "DROP TABLE widgets;\n");
    write("002_colour.sql", "ALTER TABLE widgets ADD COLUMN colour text;\n");
    write("002_colour.down.sql", "ALTER TABLE widgets DROP COLUMN colour;\n");
    let toml = format!(
        r#"[project]
tool = "command"

[project.tool_commands]
list = "ls steps | grep -v '[.]down[.]sql$' | sed 's/[.]sql$//' | sort"
applied = "psql -XAtq -c 'SELECT id FROM my_history ORDER BY id' 2>/dev/null || true"
up = "psql -Xq -v ON_ERROR_STOP=1 -1 -c 'CREATE TABLE IF NOT EXISTS my_history (id text PRIMARY KEY)' -f steps/{{id}}.sql -c \"INSERT INTO my_history VALUES ('{{id}}')\""
down = "echo {{id}} to {{previous}} >> rollbacks.log && psql -Xq -v ON_ERROR_STOP=1 -1 -f steps/{{id}}.down.sql -c \"DELETE FROM my_history WHERE id = '{{id}}'\""

[environments.dev]
tier = "development"
url = "{}"
"#,
        db.url
    );
    std::fs::write(p.root().join("sluice.toml"), toml).unwrap();
    assert_eq!(states(&p), ["pending", "pending"]);
    let out = sluice(&p, &["apply", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let r = out.json();
    assert!(
        r["migrations"][0]["tool"]["command"].as_str().unwrap().contains("steps/001_widgets.sql"),
        "{r}"
    );
    assert_eq!(states(&p), ["applied", "applied"]);
    let colour =
        count(&db, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'colour'");
    assert_eq!(colour.await, 1);
    let out = sluice(&p, &["rollback", "--steps", "1"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(states(&p), ["applied", "pending"]);
    let log = std::fs::read_to_string(p.root().join("rollbacks.log")).unwrap();
    assert_eq!(log.trim(), "002_colour to 001_widgets", "{{previous}} is the migration before");
    // A command that fails stops the run, and the history it prints agrees.
    write("003_broken.sql", "ALTER TABLE no_such_table ADD COLUMN x int;\n");
    let out = sluice(&p, &["apply"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("no_such_table"), "{}", out.stderr);
    assert_eq!(states(&p), ["applied", "applied", "pending"], "002 ran again, 003 did not");
}

/// The operator's cancel while the tool waits on a lock: its statement is cancelled on the
/// server, the tool stops, the run ends cancelled, and the tool recorded nothing.
#[tokio::test]
async fn a_cancel_stops_the_tool_and_its_migration_is_not_recorded() {
    use sluice::core::exec::{self, ApplyOptions, Control};
    if tool("node_modules/.bin/knex").is_none() {
        return;
    }
    let db = fresh_db().await;
    let p = project(&db, "knex", "lock_timeout = \"60s\"");
    assert_eq!(sluice(&p, &["apply", "--to", "20240101090000_create_accounts"]).code, 0);
    let blocker = db.client().await;
    blocker.batch_execute("BEGIN; SELECT count(*) FROM accounts").await.unwrap();
    let project = sluice::core::data::config::Project::load(Some(p.root())).unwrap();
    let interrupt = exec::Interrupt::new();
    let ctl = Control { events: None, interrupt: Some(interrupt.clone()), fleet: None };
    let run = tokio::spawn(async move {
        let env = project.environment(None).unwrap().clone();
        exec::apply(&project, &env, &ApplyOptions::default(), ctl).await
    });
    let c = db.client().await;
    let waiting =
        "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'sluice/%/tool' \
                   AND wait_event_type = 'Lock' AND datname = current_database()";
    let mut seen = false;
    for _ in 0..300 {
        let n: i64 = c.query_one(waiting, &[]).await.unwrap().get(0);
        if n > 0 {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "knex's session waits for the lock under sluice's application_name");
    let started = Instant::now();
    interrupt.cancel().await.unwrap();
    let report = run.await.unwrap().unwrap();
    assert!(started.elapsed() < Duration::from_secs(15), "stopped, not waited out");
    assert_eq!(report.outcome, "cancelled", "{:?}", report.error);
    // The tool's backend goes once its process has: give the server a moment to see it.
    let tool_sessions = "SELECT count(*) FROM pg_stat_activity \
                         WHERE application_name LIKE 'sluice/%/tool' AND datname = current_database()";
    let mut left = 1;
    for _ in 0..100 {
        left = c.query_one(tool_sessions, &[]).await.unwrap().get::<_, i64>(0);
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0, "the tool's sessions are gone");
    blocker.batch_execute("COMMIT").await.unwrap();
    assert_eq!(states(&p), ["applied", "pending", "pending"], "knex recorded nothing");
}

/// A knexfile that picks its own database (here: the server's `postgres`, as a per-env
/// block of defaults would) is refused before anything runs: the tool's probe never shows
/// up on the environment's database (seen in 18F/analytics-reporter-api's knexfile, which
/// reads POSTGRES_HOST and friends).
#[tokio::test]
async fn a_knexfile_that_connects_elsewhere_is_refused_before_anything_runs() {
    if tool("node_modules/.bin/knex").is_none() {
        return;
    }
    let db = fresh_db().await;
    let p = project(&db, "knex", "");
    std::fs::write(
        p.root().join("knexfile.js"),
        "const path = require('path');\nmodule.exports = {\n  client: 'pg',\n  connection: { database: 'postgres' },\n  migrations: { directory: path.join(__dirname, 'db', 'migrations') },\n};\n",
    )
    .unwrap();
    let out = sluice(&p, &["apply"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("knex did not connect to dev's database"), "{}", out.stderr);
    let c = crate::support::admin().await;
    let elsewhere: bool =
        c.query_one("SELECT to_regclass('public.accounts') IS NOT NULL", &[]).await.unwrap().get(0);
    assert!(!elsewhere, "nothing ran on the other database");
}
