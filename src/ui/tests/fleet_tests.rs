//! A fleet environment in the console: its tab (failures first, heads), one database
//! opened from it (read-only, Esc back), and the fleet wizard from plan to report.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::core::data::config::{TicketPolicy, Tier};
use crate::core::exec::fleet::FleetEvent;
use crate::core::guard::policy::Requirements;
use crate::core::query::fleet::{DatabaseState, FleetStatus};
use crate::core::record::fleet::{DatabaseRun, FleetReport};
use crate::ui::model::wizard::fleet::{
    FleetCmd, FleetMsg, FleetPlan, FleetStep, PlanRow, Progress,
};
use crate::ui::model::{update, EnvTab, Key, Load, Model, Msg, Request, TabKind};

fn db(name: &str, applied: usize, pending: usize, failed: usize, reachable: bool) -> DatabaseState {
    DatabaseState {
        database: name.into(),
        url: format!("postgres://app@db-{name}:5432/shop"),
        applied,
        pending,
        failed,
        drifted: 0,
        head: (applied > 0).then(|| format!("{applied:04}")),
        reachable,
        error: (!reachable).then(|| "cannot connect: connection refused".to_string()),
    }
}

fn tab(approvals: u8) -> EnvTab {
    EnvTab {
        name: "tenants".into(),
        tier: Tier::Production,
        needs: Requirements::for_tier(Tier::Production, approvals, TicketPolicy::Optional),
        kind: TabKind::Fleet,
    }
}

fn fleet_model(approvals: u8) -> Model {
    let mut m = Model::new(
        "shop-api",
        vec![EnvTab::new("dev", Tier::Development), tab(approvals)],
        1,
        "~/.local/state/sluice",
    );
    let databases = vec![
        db("t-00", 3, 0, 0, true),
        db("t-01", 3, 0, 0, true),
        db("t-02", 2, 1, 0, true),
        db("t-03", 2, 0, 1, true),
        db("t-04", 0, 0, 0, false),
        db("t-05", 2, 1, 0, true),
    ];
    let status = FleetStatus { environment: "tenants".into(), databases };
    m.loads.insert("tenants".into(), Load::Fleet(Box::new(status)));
    m
}

fn render(m: &Model, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| crate::ui::view::view(m, f)).unwrap();
    t.backend().to_string()
}

fn key(m: &mut Model, k: Key) -> Vec<Request> {
    update(m, Msg::Key(k))
}

fn typed(m: &mut Model, text: &str) {
    for c in text.chars() {
        key(m, Key::Char(c));
    }
}

#[test]
fn a_fleet_tab_lists_failures_first_with_the_heads_and_watches_no_single_server() {
    let mut m = fleet_model(1);
    let order: Vec<&str> = m.fleet_rows().iter().map(|d| d.database.as_str()).collect();
    assert_eq!(order, ["t-03", "t-04", "t-02", "t-05", "t-00", "t-01"]);
    assert_eq!(
        crate::ui::model::fleet::heads(&m.loads_fleet()),
        vec![(Some("0002".into()), 3), (Some("0003".into()), 2)]
    );
    let out = m.init();
    assert!(
        out.iter().any(|r| matches!(r, Request::Monitor { paused: true, .. })),
        "the monitor pauses on a fleet: {out:?}"
    );
    key(&mut m, Key::Down);
    let small = render(&m, 80, 24);
    assert!(small.contains("⊘ t-04") && small.contains("unreachable"), "{small}");
    assert!(small.contains("connection refused"), "the selected database's error: {small}");
    insta::assert_snapshot!("fleet_tab_80x24", small);
    insta::assert_snapshot!("fleet_tab_160x48", render(&m, 160, 48));
}

impl Model {
    fn loads_fleet(&self) -> Vec<DatabaseState> {
        match self.loads.get("tenants") {
            Some(Load::Fleet(s)) => s.databases.clone(),
            _ => Vec::new(),
        }
    }
}

#[test]
fn enter_opens_one_database_read_only_and_esc_goes_back_to_the_fleet() {
    let mut m = fleet_model(1);
    let out = key(&mut m, Key::Enter);
    assert_eq!(
        out[0],
        Request::OpenDatabase {
            key: "tenants/t-03".into(),
            fleet: "tenants".into(),
            url: "postgres://app@db-t-03:5432/shop".into()
        }
    );
    assert!(out.contains(&Request::LoadStatus("tenants/t-03".into())), "{out:?}");
    assert_eq!(m.env_name(), "tenants/t-03");
    assert_eq!(m.env_tab().unwrap().environment(), "tenants");
    // Its changes go through the fleet run.
    key(&mut m, Key::Char('a'));
    assert!(m.notices[0].contains("through the fleet run"), "{:?}", m.notices);
    key(&mut m, Key::Char(' '));
    key(&mut m, Key::Char('u'));
    assert!(m.emergency().is_none());
    assert!(m.notices[0].contains("cannot roll back it here"), "{:?}", m.notices);
    m.notices.clear();
    key(&mut m, Key::Esc);
    assert_eq!(m.env_name(), "tenants");
    assert_eq!(m.envs.len(), 2, "the database's tab is closed");
}

fn plan() -> FleetPlan {
    let row =
        |d: &str, wave, pending| PlanRow { database: d.into(), wave, pending, reachable: true };
    FleetPlan {
        databases: vec![row("t-00", 0, 1), row("t-01", 1, 1), row("t-02", 1, 0), row("t-03", 2, 2)],
        waves: vec![1, 2, 1],
        parallel: 2,
        max_failures: 0,
    }
}

fn run(d: &str, wave: usize, outcome: &str, error: Option<&str>) -> DatabaseRun {
    DatabaseRun {
        database: d.into(),
        position: 0,
        wave,
        outcome: outcome.into(),
        run_id: Some("r1".into()),
        migrations: usize::from(outcome == "done"),
        error: error.map(String::from),
        started_ms: Some(0),
        duration_ms: 140,
    }
}

#[test]
fn the_fleet_wizard_plans_signs_once_shows_each_database_and_stops() {
    let mut m = fleet_model(1);
    assert_eq!(key(&mut m, Key::Char('a')), vec![Request::StartFleet("tenants".into())]);
    insta::assert_snapshot!("fleet_wizard_reading_80x24", render(&m, 80, 24));
    update(&mut m, Msg::Fleet(FleetMsg::Planned(Ok(plan()))));
    let screen = render(&m, 80, 24);
    assert!(screen.contains("4 databases in 3 wave(s): 1 (canary) + 2 + 1"), "{screen}");
    insta::assert_snapshot!("fleet_wizard_plan_80x24", screen);
    key(&mut m, Key::Enter);
    assert_eq!(m.fleet_wizard().unwrap().step, FleetStep::Confirm);
    typed(&mut m, "tenant");
    assert!(key(&mut m, Key::Enter).is_empty(), "a wrong name runs nothing");
    assert!(m.fleet_wizard().unwrap().core.note.as_deref().unwrap().contains("type tenants"));
    typed(&mut m, "s");
    insta::assert_snapshot!("fleet_wizard_confirm_80x24", render(&m, 80, 24));
    let out = key(&mut m, Key::Enter);
    let [Request::Fleet(FleetCmd::Run(sign))] = &out[..] else { panic!("{out:?}") };
    assert_eq!(sign.confirm.as_deref(), Some("tenants"));
    for ev in [
        FleetEvent::Started { database: "t-00".into(), wave: 0 },
        FleetEvent::Finished(run("t-00", 0, "done", None)),
        FleetEvent::Started { database: "t-01".into(), wave: 1 },
        FleetEvent::Started { database: "t-02".into(), wave: 1 },
        FleetEvent::Finished(run("t-02", 1, "nothing-to-do", None)),
    ] {
        update(&mut m, Msg::Fleet(FleetMsg::Event(ev)));
    }
    let w = m.fleet_wizard().unwrap();
    assert_eq!(w.counts(), (1, 2, 0, 1));
    assert_eq!(w.progress[3].2, Progress::Waiting);
    insta::assert_snapshot!("fleet_wizard_running_80x24", render(&m, 80, 24));
    // q asks first while the fleet runs; c then y stops it.
    assert!(key(&mut m, Key::Char('q')).is_empty());
    key(&mut m, Key::Char('n'));
    key(&mut m, Key::Char('c'));
    assert_eq!(key(&mut m, Key::Char('y')), vec![Request::Fleet(FleetCmd::Stop)]);
    let failed = run("t-01", 1, "cancelled", Some("cancelled by the operator"));
    let databases = vec![
        run("t-00", 0, "done", None),
        failed.clone(),
        run("t-02", 1, "nothing-to-do", None),
        run("t-03", 2, "not-started", None),
    ];
    for ev in [FleetEvent::Finished(failed), FleetEvent::Finished(databases[3].clone())] {
        update(&mut m, Msg::Fleet(FleetMsg::Event(ev)));
    }
    let report = FleetReport {
        fleet_run: "f00d".into(),
        environment: "tenants".into(),
        action: "apply".into(),
        shard: None,
        databases,
        failed: 1,
        not_started: 1,
        stopped: Some(
            "stopped by the operator: no new database started, the running ones were cancelled"
                .into(),
        ),
        duration_ms: 2300,
    };
    update(&mut m, Msg::Fleet(FleetMsg::Finished(Ok(Box::new(report)))));
    let done = render(&m, 80, 24);
    assert!(done.contains("Fleet run f00d") && done.contains("Stopped:"), "{done}");
    insta::assert_snapshot!("fleet_wizard_done_80x24", done);
    assert_eq!(key(&mut m, Key::Enter), vec![Request::LoadStatus("tenants".into())]);
    assert!(m.fleet_wizard().is_none());
}

#[test]
fn a_fleet_that_needs_a_second_approver_asks_for_one_code_for_the_fleet_run() {
    let mut m = fleet_model(2);
    key(&mut m, Key::Char('a'));
    update(&mut m, Msg::Fleet(FleetMsg::Planned(Ok(plan()))));
    key(&mut m, Key::Enter);
    typed(&mut m, "tenants");
    assert!(key(&mut m, Key::Enter).is_empty());
    let note = m.fleet_wizard().unwrap().core.note.clone().unwrap();
    assert!(note.contains("sluice approve --env tenants"), "{note}");
    insta::assert_snapshot!("fleet_wizard_approver_80x24", render(&m, 80, 24));
    key(&mut m, Key::Tab);
    typed(&mut m, "bob");
    key(&mut m, Key::Tab);
    typed(&mut m, "ABCD-EFGH");
    let out = key(&mut m, Key::Enter);
    let [Request::Fleet(FleetCmd::Run(sign))] = &out[..] else { panic!("{out:?}") };
    assert_eq!(sign.approval, Some(("bob".into(), "ABCD-EFGH".into())));
}

#[test]
fn a_plan_that_cannot_be_read_closes_and_runs_nothing() {
    let mut m = fleet_model(1);
    key(&mut m, Key::Char('a'));
    update(&mut m, Msg::Fleet(FleetMsg::Planned(Err("tenants.txt: no such file".into()))));
    assert!(key(&mut m, Key::Enter).is_empty());
    assert!(render(&m, 80, 24).contains("tenants.txt: no such file"));
    let out = key(&mut m, Key::Esc);
    assert_eq!(out[0], Request::Fleet(FleetCmd::Abandon));
    assert!(m.fleet_wizard().is_none());
}
