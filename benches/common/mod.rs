//! Helpers shared by the benchmarks.

use std::process::Command;
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

// wait4 reaps the child itself (std's wait() cannot report its rusage).
#[allow(clippy::zombie_processes)]
fn measure(cmd: &mut Command) -> (Duration, Vec<u8>, i64, i32) {
    use std::io::Read;
    let t = Instant::now();
    let mut child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).unwrap();
        buf
    });
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; status and usage are valid out-pointers.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert!(pid > 0, "wait4 failed");
    let elapsed = t.elapsed();
    (elapsed, reader.join().unwrap(), usage.ru_maxrss, status)
}
