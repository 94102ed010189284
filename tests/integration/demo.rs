//! `sluice demo` and the console in a real pseudo-terminal (tmux).

use std::process::Command;
use std::time::{Duration, Instant};

pub(crate) fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn wait_for(what: impl Fn() -> bool, secs: u64) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if what() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn demo_opens_the_console_and_closing_it_removes_the_cluster() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux not installed; skipped");
        return;
    }
    let session = format!("sluice-demo-{}", std::process::id());
    let cmd = format!("{} demo; echo EXITED; sleep 30", env!("CARGO_BIN_EXE_sluice"));
    tmux(&["new-session", "-d", "-s", &session, "-x", "200", "-y", "60", &cmd]);
    let screen = || tmux(&["capture-pane", "-p", "-J", "-t", &session]);
    // In a terminal the demo opens the console; q closes it and the cluster goes with it.
    // One capture must hold all of it: tmux can be read between the chunks of one frame.
    let loaded = |s: String| {
        s.contains("Migrations (14)")
            && s.contains("0010 order_summary_view")
            && s.contains("pending")
    };
    let up = wait_for(|| loaded(screen()), 90);
    if !up {
        let text = screen();
        tmux(&["kill-session", "-t", &session]);
        panic!("the demo console did not come up with its 14 migrations:\n{text}");
    }
    tmux(&["send-keys", "-t", &session, "q"]);
    // EXITED follows sluice's own exit, so the folder line is complete by then.
    let back = wait_for(
        || {
            let s = screen();
            s.contains("The demo project is at") && s.contains("EXITED")
        },
        30,
    );
    let text = screen();
    assert!(back, "the terminal came back to the shell screen:\n{text}");
    let dir = text
        .lines()
        .find_map(|l| l.split_whitespace().find(|w| w.contains("/sluice-pg-")).map(str::to_string))
        .expect("the demo names its folder");
    let cluster_dir =
        std::path::PathBuf::from(dir.trim_end_matches(';').trim_end_matches("/project"));
    let removed = wait_for(|| !cluster_dir.exists(), 30);
    tmux(&["kill-session", "-t", &session]);
    assert!(removed, "closing the console removed {cluster_dir:?}");
}

#[tokio::test]
async fn console_moves_filters_shows_down_sql_and_restores_the_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux not installed; skipped");
        return;
    }
    let db = crate::support::fresh_db().await;
    let p = crate::support::TestProject::example(&db);
    assert_eq!(p.sluice(&["apply", "--to", "0010"]).code, 0);
    let session = format!("sluice-console-{}", std::process::id());
    let cmd = format!(
        "SLUICE_DATA_DIR={}/.data {} --project {}; echo EXITED; sleep 30",
        p.root().display(),
        env!("CARGO_BIN_EXE_sluice"),
        p.root().display()
    );
    tmux(&["new-session", "-d", "-s", &session, "-x", "160", "-y", "48", &cmd]);
    let screen = || tmux(&["capture-pane", "-p", "-J", "-t", &session]);
    let fail = |why: &str| {
        let text = screen();
        tmux(&["kill-session", "-t", &session]);
        panic!("{why}:\n{text}");
    };
    if !wait_for(|| screen().contains("Migrations (14)"), 30) {
        fail("the console did not load the environment");
    }
    tmux(&["send-keys", "-t", &session, "j"]);
    if !wait_for(|| screen().contains("0002_create_products ─"), 10) {
        fail("j did not move to 0002");
    }
    tmux(&["send-keys", "-t", &session, "/", "u", "u", "i", "d", "Enter"]);
    if !wait_for(
        || screen().contains("Migrations (1 of 14)") && screen().contains("0013_add_order_uuid ─"),
        10,
    ) {
        fail("the filter did not narrow the list to 0013");
    }
    tmux(&["send-keys", "-t", &session, "Enter"]);
    if !wait_for(|| screen().contains("DROP COLUMN order_uuid"), 10) {
        fail("Enter did not show the down SQL");
    }
    // 0013 is pending here: its history says so; 0001's shows the apply and who ran it.
    tmux(&["send-keys", "-t", &session, "h"]);
    if !wait_for(|| screen().contains("never run here"), 10) {
        fail("h did not show the history of a pending migration");
    }
    // Esc and the next key sent together would read as Alt+key: one at a time.
    tmux(&["send-keys", "-t", &session, "Escape"]);
    if !wait_for(|| screen().contains("Migrations (14)"), 10) {
        fail("Esc did not clear the filter");
    }
    tmux(&["send-keys", "-t", &session, "g"]);
    if !wait_for(|| screen().contains("0001_create_users ─") && screen().contains("tester"), 10) {
        fail("the history of 0001 does not name who applied it");
    }
    // The runs browser: the apply above, its stages and who ran it; Esc comes back.
    tmux(&["send-keys", "-t", &session, "R"]);
    if !wait_for(
        || {
            let s = screen();
            s.contains("Runs (1)")
                && s.contains("apply    done")
                && s.contains("apply       10 migration(s): done")
        },
        10,
    ) {
        fail("R did not show the run with its stages");
    }
    tmux(&["send-keys", "-t", &session, "Escape"]);
    if !wait_for(|| screen().contains("Migrations (14)"), 10) {
        fail("Esc did not come back from the runs browser");
    }
    // A migration file that is not UTF-8: one flagged row naming the file, the rest as usual,
    // and no reconnecting (it is not a connection problem).
    let bad = p.migrations().join("0015_bad.up.sql");
    std::fs::write(&bad, b"SELECT '\xff\xfe';\n").unwrap();
    tmux(&["send-keys", "-t", &session, "r"]);
    if !wait_for(|| screen().contains("Migrations (15)") && screen().contains("⊘ 0015 bad"), 10) {
        fail("a non-UTF-8 file was not flagged in the list");
    }
    tmux(&["send-keys", "-t", &session, "x", "G"]);
    if !wait_for(
        || {
            let s = screen();
            s.contains("cannot be read") && s.contains("0015_bad.up.sql") && s.contains("UTF-8")
        },
        10,
    ) {
        fail("the flagged row did not say why the file cannot be read");
    }
    if screen().contains("reconnecting") {
        fail("a bad file is not a connection problem");
    }
    std::fs::remove_file(&bad).unwrap();
    tmux(&["send-keys", "-t", &session, "r"]);
    if !wait_for(|| screen().contains("Migrations (14)"), 10) {
        fail("r did not read the fixed project");
    }
    // The database goes away: the console says so and reconnects by itself when it is back.
    let admin = db.admin().await;
    admin.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", db.name)).await.unwrap();
    tmux(&["send-keys", "-t", &session, "r"]);
    if !wait_for(|| screen().contains("reconnecting: attempt"), 10) {
        fail("a vanished database did not show the reconnecting state");
    }
    admin.batch_execute(&format!("CREATE DATABASE {} TEMPLATE template0", db.name)).await.unwrap();
    if !wait_for(|| screen().contains("Migrations (14)") && !screen().contains("reconnecting"), 20)
    {
        fail("the console did not reconnect when the database came back");
    }
    tmux(&["send-keys", "-t", &session, "q"]);
    if !wait_for(|| screen().contains("EXITED"), 10) {
        fail("q did not quit");
    }
    let after = screen();
    tmux(&["kill-session", "-t", &session]);
    assert!(
        !after.contains("Migrations ("),
        "the alternate screen was left and the shell screen restored:\n{after}"
    );
}
