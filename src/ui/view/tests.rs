//! Every view through ratatui's TestBackend, as insta snapshots.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::super::model::tests::sample;
use super::super::model::{update, Key, Msg};
use super::*;
use crate::core::data::sql::LockMode;
use crate::ui::model::{Load, Model};
use ratatui::style::Color;

fn render(m: &Model, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view(m, f)).unwrap();
    t.backend().to_string()
}

#[test]
fn main_screen_small_and_large() {
    let mut m = sample();
    for (c, t) in [(10, 20.0), (12, 35.0), (15, 30.0), (14, 40.0)] {
        let mut s = crate::ui::model::monitor_tests_snap(c, t);
        if c == 14 {
            s.waiting = 1;
            s.blocked = vec![crate::core::db::monitor::Blocked {
                pid: 4242,
                user: "app".into(),
                application: "api".into(),
                blockers: vec![8812],
                seconds: 12.0,
                query: "UPDATE orders SET status = $1 WHERE id = $2".into(),
            }];
        }
        update(&mut m, Msg::Metrics { env: "dev".into(), snapshot: Ok(s) });
    }
    insta::assert_snapshot!("main_80x24", render(&m, 80, 24));
    insta::assert_snapshot!("main_160x48", render(&m, 160, 48));
}

#[test]
fn filter_down_tab_help_production_and_failure() {
    let mut m = sample();
    for k in [Key::Char('/'), Key::Char('o'), Key::Char('r'), Key::Char('d')] {
        update(&mut m, Msg::Key(k));
    }
    insta::assert_snapshot!("filtering_80x24", render(&m, 80, 24));
    update(&mut m, Msg::Key(Key::Enter));
    update(&mut m, Msg::Key(Key::Enter));
    insta::assert_snapshot!("down_tab_160x48", render(&m, 160, 48));
    // The drifted migration's diff and the findings of the index migration.
    let mut d = sample();
    update(&mut d, Msg::Key(Key::Down));
    update(&mut d, Msg::Key(Key::Down));
    update(&mut d, Msg::Key(Key::Char('D')));
    insta::assert_snapshot!("drift_diff_160x48", render(&d, 160, 48));
    update(&mut d, Msg::Key(Key::End));
    update(&mut d, Msg::Key(Key::Char('f')));
    insta::assert_snapshot!("findings_160x48", render(&d, 160, 48));
    update(&mut d, Msg::Key(Key::Char('n')));
    let jumped = render(&d, 160, 48);
    assert!(jumped.contains("   2 ▶CREATE TABLE"), "the finding's line is marked");
    insta::assert_snapshot!("finding_jump_160x48", jumped);
    update(&mut d, Msg::Key(Key::Home));
    update(&mut d, Msg::Key(Key::Char('h')));
    insta::assert_snapshot!("history_160x48", render(&d, 160, 48));
    update(&mut m, Msg::Key(Key::Char('?')));
    let help = render(&m, 80, 24);
    for a in crate::ui::keymap::Action::ALL {
        assert!(help.contains(a.help()), "help at 80x24 cuts {:?}", a.help());
    }
    assert!(help.contains("⊘ unreadable"), "the legend fits");
    insta::assert_snapshot!("help_80x24", help);
    let mut p = sample();
    update(&mut p, Msg::Key(Key::Char('3')));
    update(
        &mut p,
        Msg::Loaded {
            env: "prod".into(),
            load: Load::Failed("cannot connect to app@db:5432/shop".into()),
        },
    );
    insta::assert_snapshot!("prod_unreachable_80x24", render(&p, 80, 24));
}

fn cell_fg(m: &Model, text: &str) -> Color {
    let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
    t.draw(|f| view(m, f)).unwrap();
    let buf = t.backend().buffer();
    let row: String = (0..160).map(|x| buf[(x, 0)].symbol().to_string()).collect();
    let at = row.find(text).expect("text on the header line");
    let x = row[..at].chars().count() as u16;
    buf[(x, 0)].fg
}

#[test]
fn themes_colour_roles_and_no_color_turns_them_off() {
    let mut m = sample();
    assert_eq!(cell_fg(&m, "PROD"), Color::Red, "dark: production in red");
    m.theme = crate::ui::theme::builtin("colorblind").unwrap();
    assert_eq!(cell_fg(&m, "PROD"), Color::Rgb(0xd5, 0x5e, 0x00));
    m.theme = crate::ui::theme::Theme::plain();
    assert_eq!(cell_fg(&m, "PROD"), Color::Reset);
}

#[test]
fn a_notice_shows_in_the_footer_until_a_key() {
    let mut m = sample();
    m.notices = vec!["theme /x/themes/mine.toml: colors.prod: no such role".into()];
    let screen = render(&m, 80, 24);
    assert!(screen.contains("⚠ theme /x/themes/mine.toml"), "{screen}");
    insta::assert_snapshot!("notice_80x24", screen);
    update(&mut m, Msg::Key(Key::Char('q')));
    assert!(m.notices.is_empty());
    assert!(!render(&m, 80, 24).contains("⚠ theme"));
}

#[test]
fn the_runs_and_ledger_browsers() {
    let mut m = sample();
    update(&mut m, Msg::Key(Key::Char('R')));
    update(&mut m, Msg::Key(Key::End));
    insta::assert_snapshot!("runs_160x48", render(&m, 160, 48));
    insta::assert_snapshot!("runs_80x24", render(&m, 80, 24));
    update(&mut m, Msg::Key(Key::Char('L')));
    update(&mut m, Msg::Key(Key::Down));
    insta::assert_snapshot!("ledger_160x48", render(&m, 160, 48));
}

fn busy_snapshot() -> crate::core::db::monitor::Snapshot {
    use crate::core::db::monitor::{Blocked, RelationLock, Session};
    let mut s = crate::ui::model::monitor_tests_snap(14, 40.0);
    let blocked = |pid, blockers: Vec<i32>, app: &str, q: &str| Blocked {
        pid,
        user: "app".into(),
        application: app.into(),
        blockers,
        seconds: 12.0,
        query: q.into(),
    };
    s.waiting = 2;
    s.blocked = vec![
        blocked(4242, vec![8812], "api", "UPDATE orders SET status = $1 WHERE id = $2"),
        blocked(5151, vec![4242], "worker", "SELECT * FROM orders WHERE id = $1 FOR UPDATE"),
    ];
    let session = |pid, who: &str, secs, q: &str| Session {
        pid,
        who: who.into(),
        state: "idle in transaction".into(),
        xact_seconds: secs,
        query: q.into(),
    };
    s.blockers = vec![session(8812, "etl", 2460.0, "UPDATE orders SET total = 0")];
    s.idle_in_tx = s.blockers.clone();
    let lock = |pid, who: &str, mode: LockMode, granted| RelationLock {
        relation: "public.orders".into(),
        pid,
        who: who.into(),
        mode,
        granted,
        xact_seconds: 12.0,
    };
    s.locks = vec![
        lock(4242, "api", LockMode::RowExclusive, false),
        lock(8812, "etl", LockMode::RowExclusive, true),
    ];
    s
}

#[test]
fn the_live_view_draws_the_blocker_tree_and_the_locks() {
    let mut m = sample();
    update(&mut m, Msg::Metrics { env: "dev".into(), snapshot: Ok(busy_snapshot()) });
    update(&mut m, Msg::Key(Key::Char('M')));
    insta::assert_snapshot!("monitor_160x48", render(&m, 160, 48));
    insta::assert_snapshot!("monitor_80x24", render(&m, 80, 24));
}

#[test]
fn the_blocker_tree_nests_and_survives_a_cycle() {
    let s = busy_snapshot();
    let tree = crate::ui::view::blocker_tree(&s);
    assert!(tree[0].starts_with("pid 8812 (etl) idle in transaction, transaction 00:41:00"));
    assert!(tree[1].starts_with("└─ pid 4242 (api) waits 12 s"), "{tree:?}");
    assert!(tree[2].starts_with("   └─ pid 5151 (worker)"), "{tree:?}");
    let mut cycle = s.clone();
    cycle.blockers.clear();
    cycle.blocked[0].blockers = vec![5151];
    let tree = crate::ui::view::blocker_tree(&cycle);
    assert_eq!(tree.len(), 2, "{tree:?}");
    assert!(tree.iter().all(|l| l.contains("in a cycle")), "{tree:?}");
}

#[test]
fn the_palette_in_the_footer() {
    let mut m = sample();
    update(&mut m, Msg::Key(Key::Char(':')));
    update(&mut m, Msg::Key(Key::Char('r')));
    insta::assert_snapshot!("palette_80x24", render(&m, 80, 24));
}

#[test]
fn a_long_sql_file_scrolls_to_its_window() {
    let mut m = sample();
    let long: String = (1..=20_000).map(|i| format!("INSERT INTO t VALUES ({i});\n")).collect();
    if let Some(Load::Loaded { rows, .. }) = m.loads.get_mut("dev") {
        rows[0].up_sql = Some(long);
    }
    for _ in 0..12_000 {
        update(&mut m, Msg::Key(Key::Char('J')));
    }
    let screen = render(&m, 160, 48);
    assert!(screen.contains("12001  INSERT INTO t VALUES (12001);"), "{screen}");
    assert!(!screen.contains("(11999)"));
}

#[test]
fn an_unreadable_file_is_one_flagged_row() {
    let mut m = sample();
    if let Some(Load::Loaded { rows, .. }) = m.loads.get_mut("dev") {
        let mut bad = super::super::model::tests::row("0008", "bad_encoding", "unreadable");
        bad.up_sql = None;
        bad.down_sql = None;
        bad.problem = Some(
            "migrations/0008_bad_encoding.up.sql:3: not valid UTF-8 (byte 41); save the file as UTF-8"
                .into(),
        );
        rows.push(bad);
    }
    update(&mut m, Msg::Key(Key::End));
    let screen = render(&m, 80, 24);
    assert!(screen.contains("⊘ 0008 bad_encoding"), "{screen}");
    insta::assert_snapshot!("unreadable_80x24", screen);
}
