//! `sluice demo` in a real pseudo-terminal (tmux): it comes up, and Ctrl-C removes its cluster.

use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(what: impl Fn() -> bool, secs: u64) -> bool {
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
fn demo_starts_and_ctrl_c_removes_the_cluster() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux not installed; skipped");
        return;
    }
    let session = format!("sluice-demo-{}", std::process::id());
    let cmd = format!("{} demo", env!("CARGO_BIN_EXE_sluice"));
    tmux(&["new-session", "-d", "-s", &session, "-x", "200", "-y", "60", &cmd]);
    let screen = || tmux(&["capture-pane", "-p", "-J", "-t", &session]);
    let up = wait_for(|| screen().contains("Press Ctrl-C"), 60);
    let text = screen();
    if !up {
        tmux(&["kill-session", "-t", &session]);
        panic!("demo did not come up:\n{text}");
    }
    assert!(text.contains("10 applied, 4 pending"), "{text}");
    let dir = text
        .lines()
        .find_map(|l| l.split_whitespace().find(|w| w.contains("/sluice-pg-")).map(str::to_string))
        .expect("the demo names its folder");
    let cluster_dir =
        std::path::PathBuf::from(dir.trim_end_matches(';').trim_end_matches("/project"));
    assert!(cluster_dir.join("data").exists(), "{cluster_dir:?}");
    tmux(&["send-keys", "-t", &session, "C-c"]);
    let removed = wait_for(|| !cluster_dir.exists(), 30);
    tmux(&["kill-session", "-t", &session]);
    assert!(removed, "Ctrl-C removed {cluster_dir:?}");
}
