//! update() driven by messages, as the console would see them.

use super::*;

pub fn row(v: &str, name: &str, state: &str) -> Row {
    Row {
        version: v.into(),
        name: name.into(),
        state: state.into(),
        out_of_order: false,
        applied_at: (state == "applied").then(|| "2026-11-21T02:14:00Z".into()),
        failed_at: (state == "failed").then_some(2),
        up_sql: Some(format!("-- {name}\nCREATE TABLE {name} (id bigint PRIMARY KEY);\n")),
        down_sql: Some(format!("DROP TABLE {name};\n")),
        ledger_sql: (state == "drifted")
            .then(|| format!("-- {name}\nCREATE TABLE {name} (id int PRIMARY KEY);\n")),
        findings: if name == "orders_status_index" {
            vec![FindingRow {
                line: 2,
                rule: "create-index-non-concurrently".into(),
                severity: "warning".into(),
                message: "orders: CREATE INDEX without CONCURRENTLY blocks every write to the table until the index is built. (orders: 2.1M rows, 350.0 MB)".into(),
                help: "Build it CONCURRENTLY in a migration marked `-- sluice:no-transaction`.".into(),
            }]
        } else {
            Vec::new()
        },
        history: if state == "applied" || state == "drifted" {
            vec![format!("2026-11-21T02:14:00Z  up    ok      12 ms  dba.kim  run 7f3a2b1c")]
        } else {
            Vec::new()
        },
    }
}

pub fn sample() -> Model {
    let envs = vec![
        EnvTab { name: "dev".into(), tier: "development".into() },
        EnvTab { name: "staging".into(), tier: "testing".into() },
        EnvTab { name: "prod".into(), tier: "production".into() },
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
    m.loads.insert("dev".into(), Load::Loaded { rows, server: "PostgreSQL 15.8".into() });
    m
}

fn key(m: &mut Model, k: Key) -> Vec<Command> {
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
    assert_eq!(
        cmds,
        vec![
            Command::Monitor { env: "staging".into(), interval_ms: 1000, paused: false },
            Command::LoadStatus("staging".into())
        ]
    );
    assert_eq!(m.load(), Some(&Load::Loading));
    assert_eq!(
        key(&mut m, Key::Char('1')),
        vec![Command::Monitor { env: "dev".into(), interval_ms: 1000, paused: false }],
        "dev is loaded already: only the monitor moves"
    );
    assert_eq!(key(&mut m, Key::Char('q')), vec![Command::Quit]);
}

#[test]
fn help_and_detail_tabs() {
    let mut m = sample();
    key(&mut m, Key::Char('?'));
    assert!(m.help);
    assert!(key(&mut m, Key::Char('q')).is_empty(), "q closes help, it does not quit");
    assert!(!m.help);
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
    assert!(out.is_empty());
    assert!(m.current().is_none());
    assert_eq!(key(&mut m, Key::CtrlC), vec![Command::Quit]);
}

#[test]
fn keys_follow_the_keymap() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keymap.toml"), "[keys]\nquit = \"x\"\nhelp = \"q\"\n").unwrap();
    let mut m = sample();
    m.keymap = crate::ui::keymap::load(Some(dir.path())).0;
    assert!(key(&mut m, Key::Esc).is_empty(), "Esc no longer quits");
    key(&mut m, Key::Char('q'));
    assert!(m.help, "q is help now");
    key(&mut m, Key::Char('q'));
    assert!(!m.help, "and closes it");
    assert_eq!(key(&mut m, Key::Char('x')), vec![Command::Quit]);
    key(&mut m, Key::Char('j'));
    assert_eq!(m.selected, 1, "unchanged keys keep their defaults");
}
