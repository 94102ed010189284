//! A fleet environment from the command line: apply and rollback rolled out wave by wave
//! (a line per database as it starts and ends), and `sluice fleet status`.

use super::{exit, Ctx, Outcome};
use crate::args::Format;
use crate::core::db::fleet::Shard;
use crate::core::error::{Error, Result};
use crate::core::exec::fleet::{self, FleetEvent, FleetVerb};
use crate::core::query;
use crate::core::record::fleet::{DatabaseRun, FleetReport};

pub fn shard(s: Option<&str>) -> Result<Option<Shard>> {
    s.map(|s| Shard::parse(s).map_err(|e| Error::input(format!("--{}", e.message)))).transpose()
}

/// `--shard` belongs to fleets.
pub fn no_shard(ctx: &Ctx<'_>, s: Option<&str>) -> Result<()> {
    match s {
        Some(_) => Err(Error::input(format!(
            "--shard is for a fleet environment; {} is one database",
            ctx.env.name
        ))),
        None => Ok(()),
    }
}

pub async fn roll_out(ctx: &Ctx<'_>, verb: FleetVerb, s: Option<String>) -> Result<Outcome> {
    let shard = shard(s.as_deref())?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let text = ctx.format == Format::Text;
    let printer = tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            if text {
                print_event(&ev);
            }
        }
    });
    let stop = fleet::FleetStop::new();
    let on_ctrl_c = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            eprintln!(
                "sluice: stopping the fleet run: no new database starts, the running ones are cancelled (Ctrl-C again to quit at once)"
            );
            stop.stop().await;
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        })
    };
    let ctl = fleet::FleetControl { events: Some(tx), stop: Some(stop) };
    let report = fleet::roll_out(ctx.project, ctx.env, verb, shard, ctl).await;
    on_ctrl_c.abort();
    let _ = printer.await;
    let report = report?;
    match ctx.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default()),
        _ => print_summary(&report),
    }
    exit(report.exit_code())
}

fn print_event(ev: &FleetEvent) {
    match ev {
        FleetEvent::Planned { databases, waves } => {
            let sizes: Vec<String> = waves.iter().map(|w| w.to_string()).collect();
            println!(
                "fleet: {databases} database(s) in {} wave(s): {}",
                waves.len(),
                sizes.join(" + ")
            );
        }
        FleetEvent::Started { database, wave } => println!("  [wave {wave}] {database} …"),
        FleetEvent::Finished(d) if d.outcome == "not-started" => {}
        FleetEvent::Finished(d) => println!("  [wave {}] {} {}", d.wave, d.database, outcome(d)),
    }
}

fn outcome(d: &DatabaseRun) -> String {
    let mut s = format!("{} ({} migration(s), {} ms)", d.outcome, d.migrations, d.duration_ms);
    if let Some(e) = &d.error {
        s.push_str(&format!(": {e}"));
    }
    s
}

fn print_summary(r: &FleetReport) {
    let count = |o: &str| r.databases.iter().filter(|d| d.outcome == o).count();
    println!(
        "fleet run {} · {} · {} database(s): {} done, {} nothing to do, {} failed, {} not started ({} ms)",
        r.fleet_run,
        r.action,
        r.databases.len(),
        count("done"),
        count("nothing-to-do"),
        r.failed,
        r.not_started,
        r.duration_ms
    );
    if let Some(why) = &r.stopped {
        println!("  stopped: {why}");
    }
    for d in r.databases.iter().filter(|d| d.failed()) {
        eprintln!("sluice: {} {}", d.database, outcome(d));
    }
}

pub async fn status(ctx: &Ctx<'_>, s: Option<String>) -> Result<Outcome> {
    let st = query::fleet::status(ctx.project, ctx.env, shard(s.as_deref())?).await?;
    // An unreachable database is listed and makes the exit code a database error's.
    let code = if st.databases.iter().all(|d| d.reachable) { 0 } else { 3 };
    if ctx.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&st).unwrap_or_default());
        return exit(code);
    }
    let width = st.databases.iter().map(|d| d.database.chars().count()).max().unwrap_or(8).max(8);
    println!(
        "{:width$}  {:>7} {:>7} {:>6} {:>7}  head",
        "database", "applied", "pending", "failed", "drifted"
    );
    // Failures first: what needs a look is at the top.
    let mut rows: Vec<_> = st.databases.iter().collect();
    rows.sort_by_key(|d| (d.reachable && d.failed == 0, d.pending == 0));
    for d in rows {
        match &d.error {
            Some(e) => println!("{:width$}  unreachable: {e}", d.database),
            None => println!(
                "{:width$}  {:>7} {:>7} {:>6} {:>7}  {}",
                d.database,
                d.applied,
                d.pending,
                d.failed,
                d.drifted,
                d.head.as_deref().unwrap_or("-")
            ),
        }
    }
    exit(code)
}
