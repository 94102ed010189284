//! update() driven by messages, as the console would see them.

use super::*;
use crate::core::data::config::Tier;

fn state_of(state: &str) -> RowState {
    match state {
        "applied" => RowState::Applied,
        "pending" => RowState::Pending,
        "drifted" => RowState::Drifted,
        "missing" => RowState::Missing,
        "failed" => RowState::Failed,
        _ => RowState::Unreadable,
    }
}

/// One ledger row of a migration's history, as the engine reads it.
pub fn history_row(v: &str, name: &str) -> crate::core::db::ledger::HistoryRow {
    crate::core::db::ledger::HistoryRow {
        id: 1,
        version: v.into(),
        name: name.into(),
        direction: "up".into(),
        success: true,
        failed_at_statement: None,
        checksum: "9f86d081884c7d65".into(),
        applied_at: "2026-11-21T02:14:00Z".into(),
        applied_by: "app_owner".into(),
        os_user: Some("dba.kim".into()),
        client_host: Some("ops-1".into()),
        duration_ms: Some(12),
        run_id: Some("7f3a2b1c".into()),
        error: None,
    }
}

pub fn row(v: &str, name: &str, state: &str) -> Row {
    use crate::core::data::lint::{Finding, Severity};
    Row {
        version: v.into(),
        name: name.into(),
        state: state_of(state),
        out_of_order: false,
        applied_at: (state == "applied").then(|| "2026-11-21T02:14:00Z".into()),
        failed_at: (state == "failed").then_some(2),
        up_sql: Some(format!("-- {name}\nCREATE TABLE {name} (id bigint PRIMARY KEY);\n")),
        down_sql: Some(format!("DROP TABLE {name};\n")),
        ledger_sql: (state == "drifted")
            .then(|| format!("-- {name}\nCREATE TABLE {name} (id int PRIMARY KEY);\n")),
        drift_diff: (state == "drifted").then(|| {
            crate::core::db::schema::unified_diff(
                &format!("-- {name}\nCREATE TABLE {name} (id int PRIMARY KEY);\n"),
                &format!("-- {name}\nCREATE TABLE {name} (id bigint PRIMARY KEY);\n"),
                "ledger (as applied)",
                "file (now)",
            )
        }),
        findings: if name == "orders_status_index" {
            vec![Finding {
                file: format!("migrations/{v}_{name}.up.sql"),
                line: 2,
                column: 1,
                rule: "create-index-non-concurrently",
                severity: Severity::Warning,
                message: "orders: CREATE INDEX without CONCURRENTLY blocks every write to the table until the index is built. (orders: 2.1M rows, 350.0 MB)".into(),
                help: "Build it CONCURRENTLY in a migration marked `-- sluice:no-transaction`.".into(),
                lock: Some("SHARE"),
                rewrites: false,
                created_by_run: None,
                excerpt: String::new(),
            }]
        } else {
            Vec::new()
        },
        history: if state == "applied" || state == "drifted" {
            vec![history_row(v, name)]
        } else {
            Vec::new()
        },
        problem: None,
    }
}

/// Three runs as the ledger records them: a guarded apply with an override, a refused one,
/// a rollback.
pub fn runs() -> Vec<BrowserEntry> {
    use crate::core::record::details::{RunDetails, RunRecord};
    let run =
        |id: &str, action: &str, outcome: &str, at: &str, details: serde_json::Value| RunRecord {
            run_id: id.into(),
            environment: "dev".into(),
            action: action.into(),
            operator: "alice".into(),
            client_host: Some("ops-1".into()),
            started_at: at.into(),
            finished_at: Some(at.into()),
            outcome: outcome.into(),
            details: RunDetails::parse(&details.to_string()),
        };
    let apply = serde_json::json!({
        "duration_ms": 1840,
        "stages": [
            {"stage": "pre-checks", "outcome": "warned", "summary": "11 passed, 1 warning(s)", "duration_ms": 140},
            {"stage": "lint", "outcome": "warned", "summary": "2 finding(s): 1 error(s), 1 warning(s); gate overridden: CHG-12", "duration_ms": 30},
            {"stage": "backup", "outcome": "passed", "summary": "/var/backups/dev_shop_pre-0004.dump", "duration_ms": 900},
            {"stage": "apply", "outcome": "passed", "summary": "1 migration(s): done", "duration_ms": 700}
        ],
        "prechecks": [
            {"name": "connectivity", "outcome": "pass", "figure": "PostgreSQL 15.8"},
            {"name": "backup space", "outcome": "warn", "figure": "cannot read the free space"}
        ],
        "overrides": [{"guard": "lint", "reason": "CHG-12: the table is empty", "what": ["0004_orders_index.up.sql:1 create-index-non-concurrently"]}],
        "backup": {"path": "/var/backups/dev_shop_pre-0004.dump", "bytes": 3145728, "entries": 42, "duration_ms": 900},
        "migrations": [{"version": "0004", "name": "orders_index", "direction": "up", "duration_ms": 700, "lock_retries": 1}]
    });
    let refused = serde_json::json!({
        "duration_ms": 95,
        "error": {"kind": "guard", "exit_code": 1, "message": "pre-checks failed: blocking sessions: pid 8812 (etl) holds a lock on orders",
                  "blockers": [{"pid": 8812, "application_name": "etl"}]}
    });
    let rollback = serde_json::json!({"duration_ms": 310, "migrations": [{"version": "0004", "name": "orders_index", "direction": "down", "duration_ms": 300}]});
    [
        run("c3d4e5f6", "rollback", "done", "2026-11-22T03:12:09Z", rollback),
        run("b2c3d4e5", "apply", "refused", "2026-11-21T02:10:00Z", refused),
        run("a1b2c3d4", "apply", "done", "2026-11-21T02:14:00Z", apply),
    ]
    .iter()
    .map(crate::ui::model::browse::run_entry)
    .collect()
}

/// Two ledger rows, newest first.
pub fn ledger() -> Vec<BrowserEntry> {
    use crate::core::db::ledger::HistoryRow;
    let row = |id: i64, direction: &str, at: &str, success: bool| HistoryRow {
        id,
        version: "0004".into(),
        name: "orders_index".into(),
        direction: direction.into(),
        success,
        failed_at_statement: (!success).then_some(2),
        checksum: "9f86d081884c7d65".into(),
        applied_at: at.into(),
        applied_by: "app_owner".into(),
        os_user: Some("alice".into()),
        client_host: Some("ops-1".into()),
        duration_ms: Some(700),
        run_id: Some("a1b2c3d4".into()),
        error: (!success).then(|| "canceling statement due to lock timeout".into()),
    };
    [row(2, "down", "2026-11-22T03:12:09Z", true), row(1, "up", "2026-11-21T02:14:00Z", false)]
        .iter()
        .map(crate::ui::model::browse::ledger_entry)
        .collect()
}

pub fn sample() -> Model {
    let envs = vec![
        EnvTab::new("dev", Tier::Development),
        EnvTab::new("staging", Tier::Testing),
        EnvTab::new("prod", Tier::Production),
    ];
    let mut m = Model::new("shop-api", envs, 0, "~/.local/state/sluice");
    let rows = vec![
        row("0001", "create_users", "applied"),
        row("0002", "create_orders", "applied"),
        row("0003", "orders_total_check", "drifted"),
        row("0004", "old_table", "missing"),
        row("0005", "split_names", "failed"),
        row("0006", "add_plan_column", "pending"),
        row("0007", "orders_status_index", "pending"),
    ];
    m.loads.insert(
        "dev".into(),
        Load::Loaded {
            rows,
            server: "PostgreSQL 15.8".into(),
            runs: runs(),
            ledger: ledger(),
            touched: vec!["orders".into()],
        },
    );
    m
}

fn key(m: &mut Model, k: Key) -> Vec<Request> {
    update(m, Msg::Key(k))
}

#[test]
fn moving_filtering_and_switching() {
    let mut m = sample();
    key(&mut m, Key::Down);
    key(&mut m, Key::Char('j'));
    assert_eq!(m.current().unwrap().version, "0003");
    key(&mut m, Key::End);
    assert_eq!(m.current().unwrap().version, "0007");
    key(&mut m, Key::Char('/'));
    for c in "order".chars() {
        key(&mut m, Key::Char(c));
    }
    key(&mut m, Key::Enter);
    let names: Vec<&str> = m.visible().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, vec!["create_orders", "orders_total_check", "orders_status_index"]);
    assert!(m.selected < 3, "selection stays inside the filtered list");
    assert_eq!(key(&mut m, Key::Esc), vec![], "Esc clears the filter first");
    assert!(m.filter.is_empty());
    let cmds = key(&mut m, Key::Tab);
    assert_eq!(cmds, vec![Request::LoadStatus("staging".into())], "the monitor waits for the load");
    assert_eq!(m.load(), Some(&Load::Loading));
    assert_eq!(
        key(&mut m, Key::Char('1')),
        vec![Request::Monitor {
            env: "dev".into(),
            interval_ms: 1000,
            paused: false,
            relations: vec!["orders".into()]
        }],
        "dev is loaded already: only the monitor moves"
    );
    assert_eq!(key(&mut m, Key::Char('q')), vec![Request::Quit]);
}

#[test]
fn help_and_detail_tabs() {
    let mut m = sample();
    key(&mut m, Key::Char('?'));
    assert!(m.help_open());
    assert!(key(&mut m, Key::Char('q')).is_empty(), "q closes help, it does not quit");
    assert!(!m.help_open());
    key(&mut m, Key::Enter);
    assert_eq!(m.tab, DetailTab::Down);
    key(&mut m, Key::Enter);
    key(&mut m, Key::Enter);
    assert_eq!(m.tab, DetailTab::Findings);
    key(&mut m, Key::Enter);
    assert_eq!(m.tab, DetailTab::History);
    key(&mut m, Key::Enter);
    assert_eq!(m.tab, DetailTab::Up, "Enter cycles the detail tabs");
    key(&mut m, Key::Char('D'));
    assert_eq!(m.tab, DetailTab::Diff);
    let out = update(&mut m, Msg::Loaded { env: "dev".into(), load: Load::Failed("gone".into()) });
    assert!(
        matches!(&out[..], [Request::RetryLater { after_ms: 1000, .. }, Request::Monitor { relations, .. }] if relations.is_empty()),
        "retried later, and the monitor still runs, to say why it cannot connect: {out:?}"
    );
    let other =
        update(&mut m, Msg::Loaded { env: "staging".into(), load: Load::Failed("x".into()) });
    assert!(
        matches!(&other[..], [Request::RetryLater { .. }]),
        "another environment's load does not move the monitor: {other:?}"
    );
    assert!(m.current().is_none());
    assert_eq!(key(&mut m, Key::CtrlC), vec![Request::Quit]);
}

#[test]
fn keys_follow_the_keymap() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keymap.toml"), "[keys]\nquit = \"x\"\nhelp = \"q\"\n").unwrap();
    let mut m = sample();
    m.keymap = crate::ui::keymap::load(Some(dir.path())).0;
    assert!(key(&mut m, Key::Esc).is_empty(), "Esc no longer quits");
    key(&mut m, Key::Char('q'));
    assert!(m.help_open(), "q is help now");
    key(&mut m, Key::Char('q'));
    assert!(!m.help_open(), "and closes it");
    assert_eq!(key(&mut m, Key::Char('x')), vec![Request::Quit]);
    key(&mut m, Key::Char('j'));
    assert_eq!(m.selected, 1, "unchanged keys keep their defaults");
}

#[test]
fn the_runs_browser_moves_filters_and_backs_out() {
    let mut m = sample();
    key(&mut m, Key::Down);
    key(&mut m, Key::Char('R'));
    assert_eq!(m.screen, Screen::Runs);
    assert_eq!(m.selected, 0, "a browser opens at its newest entry");
    assert_eq!(m.entries().len(), 3);
    key(&mut m, Key::Char('/'));
    for c in "refused".chars() {
        key(&mut m, Key::Char(c));
    }
    key(&mut m, Key::Enter);
    assert_eq!(m.entries().len(), 1);
    assert!(m.entries()[0].detail.iter().any(|l| l.contains("blocked by pid 8812")));
    key(&mut m, Key::Esc);
    assert_eq!(m.entries().len(), 3, "Esc clears the filter first");
    key(&mut m, Key::End);
    assert_eq!(m.selected, 2);
    assert!(key(&mut m, Key::Esc).is_empty(), "then backs out, it does not quit");
    assert_eq!(m.screen, Screen::Migrations);
    key(&mut m, Key::Char('L'));
    assert_eq!(m.screen, Screen::Ledger);
    assert_eq!(m.entries().len(), 2);
    key(&mut m, Key::Char('/'));
    for c in "alice 2026-11-21".chars() {
        key(&mut m, Key::Char(c));
    }
    assert_eq!(m.entries().len(), 0, "the filter is one substring");
    for _ in 0..11 {
        key(&mut m, Key::Backspace);
    }
    assert_eq!(m.entries().len(), 2, "by operator");
    key(&mut m, Key::Enter);
    key(&mut m, Key::Char('L'));
    assert_eq!(m.screen, Screen::Migrations, "the same key toggles back");
}

#[test]
fn a_server_that_went_away_is_retried_with_backoff() {
    let mut m = sample();
    let failed =
        || Msg::Loaded { env: "dev".into(), load: Load::Failed("connection refused".into()) };
    let backoff = |cmds: &[Request]| {
        cmds.iter().find_map(|c| match c {
            Request::RetryLater { env, after_ms } if env == "dev" => Some(*after_ms),
            _ => None,
        })
    };
    assert_eq!(backoff(&update(&mut m, failed())), Some(1000));
    assert_eq!(update(&mut m, Msg::Retry("dev".into())), vec![Request::LoadStatus("dev".into())]);
    assert_eq!(m.load(), Some(&Load::Loading));
    assert_eq!(backoff(&update(&mut m, failed())), Some(2000));
    update(&mut m, Msg::Retry("dev".into()));
    assert_eq!(backoff(&update(&mut m, failed())), Some(4000));
    for _ in 0..10 {
        update(&mut m, Msg::Retry("dev".into()));
        update(&mut m, failed());
    }
    assert_eq!(m.attempts["dev"], 13);
    assert_eq!(super::retry_after_ms(13), 30_000, "never more than 30 s apart");
    // The server is back: the list returns and the count starts over.
    let rows = vec![row("0001", "create_users", "applied")];
    let load = Load::Loaded {
        rows,
        server: "PostgreSQL 15.8".into(),
        runs: vec![],
        ledger: vec![],
        touched: vec![],
    };
    update(&mut m, Msg::Loaded { env: "dev".into(), load });
    assert!(!m.attempts.contains_key("dev"));
    assert!(update(&mut m, Msg::Retry("dev".into())).is_empty(), "a loaded env is not reloaded");
}

fn type_text(m: &mut Model, text: &str) {
    for c in text.chars() {
        key(m, Key::Char(c));
    }
}

#[test]
fn the_palette_completes_runs_and_reports_mistakes() {
    let mut m = sample();
    key(&mut m, Key::Char(':'));
    assert_eq!(m.palette_text(), Some(""));
    type_text(&mut m, "ru");
    key(&mut m, Key::Enter);
    assert_eq!(m.palette_text(), None);
    assert_eq!(m.screen, Screen::Runs, "a unique prefix is enough");

    key(&mut m, Key::Char(':'));
    type_text(&mut m, "en");
    key(&mut m, Key::Tab);
    assert_eq!(m.palette_text(), Some("env "));
    type_text(&mut m, "st");
    key(&mut m, Key::Tab);
    assert_eq!(m.palette_text(), Some("env staging"));
    assert_eq!(key(&mut m, Key::Enter), vec![Request::LoadStatus("staging".into())]);
    assert_eq!(m.env_name(), "staging");

    key(&mut m, Key::Char(':'));
    type_text(&mut m, "theme light");
    key(&mut m, Key::Enter);
    assert_eq!(m.theme, crate::ui::theme::builtin("light").unwrap());

    key(&mut m, Key::Char(':'));
    type_text(&mut m, "launch");
    key(&mut m, Key::Enter);
    assert!(m.notices[0].contains(":launch: no such command"), "{:?}", m.notices);
    key(&mut m, Key::Char('x'));
    key(&mut m, Key::Char(':'));
    type_text(&mut m, "env nowhere");
    key(&mut m, Key::Enter);
    assert!(m.notices[0].contains("no such environment (dev, staging, prod)"), "{:?}", m.notices);
    key(&mut m, Key::Char('x'));

    key(&mut m, Key::Char(':'));
    type_text(&mut m, "q");
    key(&mut m, Key::Backspace);
    assert_eq!(m.palette_text(), Some(""));
    key(&mut m, Key::Backspace);
    assert_eq!(m.palette_text(), None, "Backspace on nothing closes it");
    key(&mut m, Key::Char(':'));
    type_text(&mut m, "quit");
    assert_eq!(key(&mut m, Key::Esc), vec![], "Esc closes without running");
    key(&mut m, Key::Char(':'));
    type_text(&mut m, "quit");
    assert_eq!(key(&mut m, Key::Enter), vec![Request::Quit]);
}

#[test]
fn a_project_that_cannot_be_read_is_not_retried() {
    let mut m = sample();
    let e = crate::core::error::Error::input("migrations/0015_bad.up.sql: not UTF-8");
    let load = Load::from_error(&e);
    assert!(matches!(load, Load::Invalid(_)));
    let cmds = update(&mut m, Msg::Loaded { env: "dev".into(), load });
    assert!(!cmds.iter().any(|c| matches!(c, Request::RetryLater { .. })), "{cmds:?}");
    let down = crate::core::error::Error::database("connection refused");
    assert!(matches!(Load::from_error(&down), Load::Failed(_)));
}

#[test]
fn the_detail_scrolls_by_pages_and_jumps_to_findings() {
    let mut m = sample();
    update(&mut m, Msg::Resize(40));
    key(&mut m, Key::Char(']'));
    assert_eq!(m.scroll, 20, "a page is half the terminal");
    key(&mut m, Key::Char('['));
    key(&mut m, Key::Char('['));
    assert_eq!(m.scroll, 0, "scrolling up stops at the top");

    // A migration without findings says so instead of jumping.
    key(&mut m, Key::Char('n'));
    assert_eq!(m.notices.len(), 1);
    key(&mut m, Key::Esc);
    let at = m.visible().iter().position(|r| r.name == "orders_status_index").unwrap();
    m.selected = at;
    key(&mut m, Key::Char('f'));
    key(&mut m, Key::Char('n'));
    assert_eq!((m.tab, m.finding), (DetailTab::Up, Some(0)));
    assert_eq!(m.scroll, 0, "line 2 is shown with the lines above it");
    key(&mut m, Key::Char('k'));
    assert_eq!(m.finding, None, "moving to another migration forgets the jump");
}

#[test]
fn palette_jobs_lint_and_readonly() {
    let mut m = sample();
    type_text(&mut m, ":verify");
    let cmds = key(&mut m, Key::Enter);
    assert_eq!(cmds, [Request::Job { env: "dev".into(), job: Job::Verify }]);
    key(&mut m, Key::Esc);
    type_text(&mut m, ":lint");
    key(&mut m, Key::Enter);
    assert!(m.notices[0].contains("0 error(s), 1 warning(s) in 1 migration(s)"), "{:?}", m.notices);
    assert_eq!(
        (m.current().unwrap().name.as_str(), m.tab),
        ("orders_status_index", DetailTab::Findings)
    );
    key(&mut m, Key::Esc);
    m.readonly = true;
    for (keys, what) in [(":backup", "backup"), (":apply", "apply"), (":rollback", "rollback")] {
        type_text(&mut m, keys);
        assert!(key(&mut m, Key::Enter).is_empty(), "{keys} writes nothing when read-only");
        assert!(m.notices[0].contains(&format!("{what} is disabled")), "{:?}", m.notices);
        key(&mut m, Key::Esc);
    }
    assert!(key(&mut m, Key::Char('a')).is_empty());
    assert!(m.apply_wizard().is_none() && m.emergency().is_none());
}

#[test]
fn apply_with_a_failed_migration_opens_the_recovery_instead() {
    let mut m = sample();
    let cmds = key(&mut m, Key::Char('a'));
    assert_eq!(cmds, [Request::StartEmergency { env: "dev".into(), kind: Kind::Recover }]);
    assert!(m.apply_wizard().is_none());
    assert_eq!(m.emergency().map(|w| w.kind), Some(Kind::Recover));
    // Esc closes it (nothing was written) and reloads; :recover opens it again.
    let cmds = key(&mut m, Key::Esc);
    assert!(
        m.emergency().is_none() && cmds.contains(&Request::LoadStatus("dev".into())),
        "{cmds:?}"
    );
    type_text(&mut m, ":recover");
    assert_eq!(
        key(&mut m, Key::Enter),
        [Request::StartEmergency { env: "dev".into(), kind: Kind::Recover }]
    );
}

#[test]
fn esc_at_the_top_level_does_not_quit() {
    let mut m = sample();
    assert!(key(&mut m, Key::Esc).is_empty(), "Esc only backs out of things");
    assert_eq!(key(&mut m, Key::Char('q')), vec![Request::Quit], "q quits");
}
