//! Helpers shared by the benchmarks.

use std::process::Command;

#[allow(dead_code)]
pub mod fixed_cost;
#[allow(dead_code)]
pub mod latency;
#[allow(dead_code)]
pub mod peers;
use std::time::{Duration, Instant};

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs a command to completion and returns (wall time, stdout, peak RSS in KiB) of that
/// one child, read from wait4's rusage.
pub fn run_measured(cmd: &mut Command) -> (Duration, Vec<u8>, i64) {
    let (t, out, rss, status) = measure(cmd);
    assert!(status == 0, "child failed: status {status}");
    (t, out, rss)
}

/// Like run_measured, for tools whose exit status reports findings.
#[allow(dead_code)]
pub fn run_measured_any_status(cmd: &mut Command) -> (Duration, Vec<u8>, i64) {
    let (t, out, rss, _) = measure(cmd);
    (t, out, rss)
}

/// Peak RSS must be the child's own. wait4's figure is not: std spawns with vfork, and the
/// kernel keeps the high-water mark of the memory it replaces at exec, which is this
/// benchmark's own (it read 56.6 MB for a status run that peaks at 35). GNU time forks
/// from a small process of its own, so its figure is the child's; without it the child's
/// VmHWM is sampled from /proc until it exits.
fn measure(cmd: &mut Command) -> (Duration, Vec<u8>, i64, i32) {
    let gnu_time = std::path::Path::new("/usr/bin/time");
    if gnu_time.exists() {
        let out_file = tempfile::NamedTempFile::new().unwrap();
        let mut timed = Command::new(gnu_time);
        timed.args(["-f", "%M", "-o"]).arg(out_file.path()).arg(cmd.get_program());
        timed.args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => timed.env(k, v),
                None => timed.env_remove(k),
            };
        }
        if let Some(d) = cmd.get_current_dir() {
            timed.current_dir(d);
        }
        let t = Instant::now();
        let out = timed.stderr(std::process::Stdio::inherit()).output().unwrap();
        let elapsed = t.elapsed();
        let text = std::fs::read_to_string(out_file.path()).unwrap();
        // GNU time writes "Command exited with non-zero status N" before the figure.
        let rss = text.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
        return (elapsed, out.stdout, rss, out.status.code().unwrap_or(-1));
    }
    sampled(cmd)
}

fn sampled(cmd: &mut Command) -> (Duration, Vec<u8>, i64, i32) {
    use std::io::Read;
    let t = Instant::now();
    let mut child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).unwrap();
        buf
    });
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let status = loop {
        if let Some(hwm) = std::fs::read_to_string(&status_file).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        }) {
            peak = peak.max(hwm);
        }
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = t.elapsed();
    (elapsed, reader.join().unwrap(), peak, status.code().unwrap_or(-1))
}
