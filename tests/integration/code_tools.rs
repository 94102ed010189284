//! Code-migration projects (Knex, Alembic): the real tool migrates part of the way, and
//! `sluice status` reads the tool's folder and the tool's own history table as the tool
//! does (code_apply.rs runs them through sluice).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::native_tools::{run, tools_dir, Conn};
use crate::support::{fresh_db, TestDb, TestProject};

pub(crate) fn fixture(tool: &str, to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/code").join(tool);
    let status = Command::new("cp").arg("-r").arg(format!("{}/.", from.display())).arg(to).status();
    assert!(status.unwrap().success());
}

/// A project whose sluice.toml says only the tool and the environment.
fn project(db: &TestDb, tool: &str) -> TestProject {
    let p = TestProject::new(db, "development", "");
    fixture(tool, p.root());
    let url = db.url.clone();
    let toml = format!("[project]\ntool = \"{tool}\"\n\n[environments.dev]\ntier = \"development\"\nurl = \"{url}\"\n");
    std::fs::write(p.root().join("sluice.toml"), toml).unwrap();
    p
}

fn states(p: &TestProject) -> Vec<(String, String)> {
    let out = p.sluice(&["status", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    out.json()["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["version"].as_str().unwrap().into(), m["state"].as_str().unwrap().into()))
        .collect()
}

pub(crate) fn tool(relative: &str) -> Option<PathBuf> {
    let p = tools_dir().join(relative);
    if p.is_file() {
        return Some(p);
    }
    eprintln!("skipped: {} is not installed (./scripts/setup installs it)", p.display());
    None
}

#[tokio::test]
async fn knex_status_reads_the_knexfile_folder_and_knex_migrations() {
    let Some(knex) = tool("node_modules/.bin/knex") else { return };
    let db = fresh_db().await;
    let p = project(&db, "knex");
    let conn = Conn::of(&db);
    let knex_cmd = |args: &[&str]| {
        let mut c = Command::new(&knex);
        c.args(args).current_dir(p.root()).env("NODE_PATH", tools_dir().join("node_modules"));
        c.env("DATABASE_URL", conn.driver_url());
        c
    };
    let versions = [
        "20240101090000_create_accounts",
        "20240102090000_add_plan",
        "20240103090000_accounts_plan_index",
    ];
    let all = |state: &str| {
        versions.iter().map(|v| (v.to_string(), state.to_string())).collect::<Vec<_>>()
    };
    assert_eq!(states(&p), all("pending"), "nothing ran: no knex_migrations yet");
    run(&mut knex_cmd(&["migrate:up", "20240101090000_create_accounts.js"]), "knex migrate:up");
    let s = states(&p);
    assert_eq!(s[0].1, "applied");
    assert_eq!(s[1].1, "pending");
    run(&mut knex_cmd(&["migrate:latest"]), "knex migrate:latest");
    assert_eq!(states(&p), all("applied"));
    let text = p.sluice(&["status"]);
    assert!(text.stdout.contains("20240103090000_accounts_plan_index  applied"), "{}", text.stdout);

    run(&mut knex_cmd(&["migrate:down"]), "knex migrate:down");
    assert_eq!(states(&p)[2].1, "pending", "knex rolled the last one back");
}

#[tokio::test]
async fn alembic_status_follows_the_revision_graph_to_the_head_it_records() {
    let Some(alembic) = tool("py/bin/alembic") else { return };
    let db = fresh_db().await;
    let p = project(&db, "alembic");
    let conn = Conn::of(&db);
    let alembic_cmd = |args: &[&str]| {
        let mut c = Command::new(&alembic);
        c.args(args).current_dir(p.root()).env("DATABASE_URL", conn.driver_url());
        c
    };
    let versions = ["4f1c2a9e0b11", "9b7d3e5a2c40", "c0e8f1d6a733"];
    assert_eq!(states(&p).iter().map(|s| s.0.as_str()).collect::<Vec<_>>(), versions);
    run(&mut alembic_cmd(&["upgrade", "9b7d3e5a2c40"]), "alembic upgrade");
    let got: Vec<String> = states(&p).into_iter().map(|s| s.1).collect();
    assert_eq!(got, ["applied", "applied", "pending"], "the head and what it descends from");
    let j = p.sluice(&["status", "--format", "json"]).json();
    assert_eq!(j["migrations"][1]["name"], "backfill status", "the docstring names it");
    run(&mut alembic_cmd(&["upgrade", "head"]), "alembic upgrade head");
    assert!(states(&p).iter().all(|s| s.1 == "applied"));
    run(&mut alembic_cmd(&["downgrade", "base"]), "alembic downgrade base");
    assert!(states(&p).iter().all(|s| s.1 == "pending"));
    let rollback = p.sluice(&["rollback", "--steps", "1"]);
    assert_eq!(rollback.code, 2, "{}{}", rollback.stdout, rollback.stderr);
    assert!(rollback.stderr.contains("only 0 migration(s) are applied"), "{}", rollback.stderr);
}
