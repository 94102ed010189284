//! Console benchmarks on a project of 2,000 migrations with a 2,000-row ledger. Prints
//! figures; asserts nothing about time.
//!
//! 1. Frame render: view() into a 160x48 buffer while moving through the list (p50, p99).
//! 2. Start to first frame, and to the first frame with the list loaded, of the real binary
//!    in a tmux pseudo-terminal (tmux's polling included: an upper bound).
//! 3. Idle CPU: console open, live metrics every second, 10 s, from /proc/PID/stat.
//! 4. Keystroke to frame while a 20-second migration runs from another sluice process.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sluice::core::data::config::Tier;
use sluice::core::data::lint::{Finding, Severity};
use sluice::core::db::cluster::Cluster;
use sluice::core::db::ledger::HistoryRow;
use sluice::ui::model::{update, EnvTab, Key, Load, Model, Msg, Row, RowState};

const N: usize = 2000;

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn render_bench() {
    let rows: Vec<Row> = (1..=N)
        .map(|i| Row {
            version: format!("{i:05}"),
            name: format!("m{i}"),
            state: if i % 10 == 0 { RowState::Pending } else { RowState::Applied },
            out_of_order: false,
            applied_at: Some("2026-11-21T02:14:00Z".into()),
            failed_at: None,
            up_sql: Some(format!(
                "-- migration {i}\nCREATE TABLE t{i} (id bigint PRIMARY KEY, v text NOT NULL DEFAULT '');\nCREATE INDEX t{i}_v_idx ON t{i} (v);\n"
            )),
            down_sql: Some(format!("DROP TABLE t{i};\n")),
            ledger_sql: None,
            drift_diff: None,
            findings: vec![Finding {
                file: format!("migrations/{i:05}_m{i}.up.sql"),
                line: 3,
                column: 1,
                rule: "create-index-non-concurrently",
                severity: Severity::Warning,
                message: "CREATE INDEX without CONCURRENTLY blocks writes".into(),
                help: "CREATE INDEX CONCURRENTLY in a -- sluice:no-transaction migration".into(),
                lock: Some("SHARE"),
                rewrites: false,
                created_by_run: None,
                excerpt: String::new(),
            }],
            history: vec![HistoryRow {
                id: i as i64,
                version: format!("{i:05}"),
                name: format!("m{i}"),
                direction: "up".into(),
                success: true,
                failed_at_statement: None,
                checksum: "9f86d081".into(),
                applied_at: "2026-11-21T02:14:00Z".into(),
                applied_by: "app".into(),
                os_user: Some("alice".into()),
                client_host: None,
                duration_ms: Some(12),
                run_id: Some("a1b2c3d4".into()),
                error: None,
            }],
            problem: None,
        })
        .collect();
    let envs = vec![EnvTab::new("bench", Tier::Production)];
    let mut m = Model::new("bench", envs, 0, "/tmp/logs");
    let load = Load::Loaded {
        rows,
        server: "PostgreSQL 15".into(),
        runs: Vec::new(),
        ledger: Vec::new(),
        touched: Vec::new(),
    };
    update(&mut m, Msg::Loaded { env: "bench".into(), load });
    let mut term =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 48)).expect("terminal");
    let keys = [Key::Down, Key::Down, Key::Char('f'), Key::PageDown, Key::Char('s'), Key::Up];
    let mut times = Vec::new();
    for i in 0..3000 {
        update(&mut m, Msg::Key(keys[i % keys.len()]));
        let t = Instant::now();
        term.draw(|f| sluice::ui::view::view(&m, f)).expect("draw");
        times.push(t.elapsed());
    }
    let p50 = percentile(&mut times, 0.5);
    let p99 = percentile(&mut times, 0.99);
    println!(
        "frame render, {N} migrations, 160x48, 3000 frames: p50 {:.2} ms, p99 {:.2} ms (goal p99 < 4 ms)",
        p50.as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0
    );
}

fn write_project(dir: &Path, url: &str) {
    let m = dir.join("migrations");
    std::fs::create_dir_all(&m).unwrap();
    for i in 1..=N {
        std::fs::write(m.join(format!("{i:05}_m{i}.up.sql")), format!("SELECT {i};\n")).unwrap();
    }
    std::fs::write(
        dir.join("sluice.toml"),
        format!("[environments.bench]\ntier = \"development\"\nurl = \"{url}\"\n"),
    )
    .unwrap();
}

fn wait_for(what: &str, session: &str, limit: Duration) -> Option<Duration> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if tmux(&["capture-pane", "-p", "-t", session]).contains(what) {
            return Some(t.elapsed());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is the 14th, stime 15th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
}

fn main() {
    render_bench();
    if Command::new("tmux").arg("-V").output().is_err() {
        println!("tmux not installed: terminal figures skipped");
        return;
    }
    let cluster = Cluster::start().expect("cluster");
    let work = tempfile::tempdir().unwrap();
    cluster.psql("postgres", "CREATE DATABASE bench_console").unwrap();
    let dir = work.path().join("p");
    write_project(&dir, &cluster.url("bench_console"));
    let bin = env!("CARGO_BIN_EXE_sluice");
    let data = work.path().join("data");
    let status = Command::new(bin)
        .args(["--project", dir.to_str().unwrap(), "apply"])
        .env("SLUICE_DATA_DIR", &data)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "apply the {N} migrations");

    // The work before the first full frame, headless: files, connection, ledger.
    let mut status_times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let out = Command::new(bin)
            .args(["--project", dir.to_str().unwrap(), "status", "--format", "json"])
            .env("SLUICE_DATA_DIR", &data)
            .output()
            .unwrap();
        assert!(out.status.success());
        status_times.push(t.elapsed());
    }
    println!(
        "for reference, `sluice status` on the same project: {:.0} ms (median of 5)",
        percentile(&mut status_times, 0.5).as_secs_f64() * 1000.0
    );

    // 2. Start to first frame (five starts; the median).
    let session = format!("sluice-bench-{}", std::process::id());
    let cmd = format!("SLUICE_DATA_DIR={} exec {bin} --project {}", data.display(), dir.display());
    let (mut first, mut loaded) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let t = Instant::now();
        tmux(&["new-session", "-d", "-s", &session, "-x", "160", "-y", "48", &cmd]);
        let f = wait_for("sluice · ", &session, Duration::from_secs(10)).map(|_| t.elapsed());
        let l = wait_for(&format!("Migrations ({N})"), &session, Duration::from_secs(30))
            .map(|_| t.elapsed());
        first.extend(f);
        loaded.extend(l);
        tmux(&["kill-session", "-t", &session]);
        std::thread::sleep(Duration::from_millis(300));
    }
    if first.is_empty() || loaded.is_empty() {
        println!("the console did not come up in tmux: no terminal figures");
        return;
    }
    println!(
        "start to first frame: {:.0} ms; to the loaded list of {N}: {:.0} ms (median of {}; goal < 150 ms)",
        percentile(&mut first, 0.5).as_secs_f64() * 1000.0,
        percentile(&mut loaded, 0.5).as_secs_f64() * 1000.0,
        first.len()
    );

    // 3. Idle CPU over 10 s with the live strip sampling every second.
    tmux(&["new-session", "-d", "-s", &session, "-x", "160", "-y", "48", &cmd]);
    wait_for(&format!("Migrations ({N})"), &session, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(2));
    let pid = tmux(&["display", "-p", "-t", &session, "#{pane_pid}"]).trim().to_string();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let (c0, t0) = (cpu_ticks(&pid), Instant::now());
    std::thread::sleep(Duration::from_secs(10));
    let used = (cpu_ticks(&pid) - c0) as f64 / hz;
    println!(
        "idle CPU, console open, metrics every 1 s: {:.2}% of a core over {:.0} s (goal < 1%)",
        used / t0.elapsed().as_secs_f64() * 100.0,
        t0.elapsed().as_secs_f64()
    );

    // 4. Keystroke to frame while a 20-second migration runs elsewhere.
    let slow = dir.join("migrations").join(format!("{:05}_slow.up.sql", N + 1));
    std::fs::write(&slow, "SELECT pg_sleep(20);\n").unwrap();
    let mut apply = Command::new(bin)
        .args(["--project", dir.to_str().unwrap(), "apply"])
        .env("SLUICE_DATA_DIR", &data)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let mut lat = Vec::new();
    for i in 0..40 {
        let (key, expect) = if i % 2 == 0 { ("j", "00002_m2 ─") } else { ("k", "00001_m1 ─") };
        let t = Instant::now();
        tmux(&["send-keys", "-t", &session, key]);
        if wait_for(expect, &session, Duration::from_secs(2)).is_some() {
            lat.push(t.elapsed());
        }
    }
    let _ = apply.wait();
    tmux(&["kill-session", "-t", &session]);
    if lat.is_empty() {
        println!("no keystroke reached the screen");
        return;
    }
    println!(
        "keystroke to frame while a 20 s migration runs: median {:.1} ms, p95 {:.1} ms, max {:.1} ms over {} keys (tmux round trip included; goal < 50 ms)",
        percentile(&mut lat, 0.5).as_secs_f64() * 1000.0,
        percentile(&mut lat, 0.95).as_secs_f64() * 1000.0,
        percentile(&mut lat, 1.0).as_secs_f64() * 1000.0,
        lat.len()
    );
}
