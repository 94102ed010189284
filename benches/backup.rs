//! Backup throughput: a generated database of about 1 GB, backed up by sluice (pg_dump
//! custom format + pg_restore --list verification + retention) and by a plain `pg_dump -Fc`
//! in the same run; and the dry run of the example project against its apply.

use std::process::Command;
use std::time::{Duration, Instant};

use sluice::core::data::config::Project;
use sluice::core::db::cluster::Cluster;
use sluice::core::exec::{self, ApplyOptions, Control};

fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1048576.0 / d.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let cluster = Cluster::start().expect("cluster");
    let work = tempfile::tempdir().unwrap();
    std::env::set_var("SLUICE_DATA_DIR", work.path().join("data"));
    let target_mb: i64 =
        std::env::var("BENCH_DB_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    cluster.psql("postgres", "CREATE DATABASE bench_backup").unwrap();
    let t = Instant::now();
    // ~250 bytes a row: rows = MB * 4200.
    let rows = target_mb * 4200;
    cluster
        .psql(
            "bench_backup",
            &format!(
                "CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz NOT NULL, kind text, payload text);
                 INSERT INTO events SELECT g, now() - g * interval '1 second', 'kind' || (g % 17),
                        repeat(md5(g::text), 6) FROM generate_series(1, {rows}) g;
                 CREATE INDEX events_at_idx ON events (at);"
            ),
        )
        .unwrap();
    let size: i64 = cluster
        .psql("bench_backup", "SELECT pg_database_size(current_database())")
        .unwrap()
        .parse()
        .unwrap();
    println!("generated {:.0} MB in {:.0} s", size as f64 / 1048576.0, t.elapsed().as_secs_f64());

    let dir = work.path().join("project");
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    std::fs::write(
        dir.join("sluice.toml"),
        format!(
            "[environments.bench]\ntier = \"development\"\nurl = \"{}\"\nbackup = {{ dir = \"{}\" }}\n",
            cluster.url("bench_backup"),
            work.path().join("backups").display()
        ),
    )
    .unwrap();
    let project = Project::load(Some(&dir)).unwrap();
    let env = project.environment(None).unwrap();

    let plain = work.path().join("plain.dump");
    let t = Instant::now();
    let out = Command::new(cluster.bin.join("pg_dump"))
        .args(["-Fc", "-h"])
        .arg(cluster.socket_dir())
        .args(["-p", &cluster.port.to_string(), "-U", "postgres", "-d", "bench_backup", "-f"])
        .arg(&plain)
        .output()
        .unwrap();
    let plain_t = t.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plain_bytes = std::fs::metadata(&plain).unwrap().len();

    let t = Instant::now();
    let info = sluice::core::guard::backup::take(env, "bench", None).await.unwrap();
    let sluice_t = t.elapsed();
    println!(
        "pg_dump -Fc:   {:.1} s, {:.0} MB file, {:.0} MB/s of database",
        plain_t.as_secs_f64(),
        plain_bytes as f64 / 1048576.0,
        mb_per_s(size as u64, plain_t)
    );
    println!(
        "sluice backup: {:.1} s, {:.0} MB file, {:.0} MB/s of database (includes pg_restore --list verification)",
        sluice_t.as_secs_f64(),
        info.bytes as f64 / 1048576.0,
        mb_per_s(size as u64, sluice_t)
    );
    println!(
        "ratio sluice/pg_dump = {:.3} (goal <= 1.05)",
        sluice_t.as_secs_f64() / plain_t.as_secs_f64()
    );

    // Dry run against apply of the example project.
    cluster.psql("postgres", "CREATE DATABASE bench_example").unwrap();
    let ex = work.path().join("example");
    std::fs::create_dir_all(ex.join("migrations")).unwrap();
    for e in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), ex.join("migrations").join(e.file_name())).unwrap();
    }
    std::fs::write(
        ex.join("sluice.toml"),
        format!(
            "[environments.ex]\ntier = \"development\"\nlint_gate = \"off\"\nurl = \"{}\"\n",
            cluster.url("bench_example")
        ),
    )
    .unwrap();
    let project = Project::load(Some(&ex)).unwrap();
    let env = project.environment(None).unwrap();
    let t = Instant::now();
    let dry = exec::apply(
        &project,
        env,
        &ApplyOptions { dry_run: true, ..Default::default() },
        Control::default(),
    )
    .await
    .unwrap();
    let dry_t = t.elapsed();
    assert!(dry.error.is_none(), "{:?}", dry.error);
    let t = Instant::now();
    let applied =
        exec::apply(&project, env, &ApplyOptions::default(), Control::default()).await.unwrap();
    let apply_t = t.elapsed();
    assert!(applied.error.is_none(), "{:?}", applied.error);
    println!(
        "example project: dry run {:.0} ms, apply {:.0} ms (ratio {:.2}; the dry run adds lock capture and two schema snapshots, the apply adds pre-checks and verify)",
        dry_t.as_secs_f64() * 1e3,
        apply_t.as_secs_f64() * 1e3,
        dry_t.as_secs_f64() / apply_t.as_secs_f64()
    );
}
