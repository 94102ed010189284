//! The second connection that watches a statement which runs past a short delay: who
//! blocks it (pg_blocking_pids), who waits on it, how long it has run, and what
//! pg_stat_progress_* says of it. What it sees goes out as events and into the report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, Mutex};
use tokio_postgres::{Client, Row};

use crate::core::db::connect::Target;
use crate::core::record::report::{Blocker, CommandProgress, Event, EventSender};

const BLOCKERS: &str =
    "SELECT a.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''), \
        coalesce(a.state, ''), left(coalesce(a.query, ''), 300), \
        coalesce(extract(epoch FROM now() - a.xact_start), 0)::float8 \
     FROM pg_stat_activity a WHERE a.pid = ANY (pg_blocking_pids($1)) ORDER BY a.pid";

/// Sessions waiting on us, with the same columns.
const BLOCKED: &str =
    "SELECT a.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''), \
        coalesce(a.state, ''), left(coalesce(a.query, ''), 300), \
        coalesce(extract(epoch FROM now() - a.xact_start), 0)::float8 \
     FROM pg_stat_activity a WHERE $1 = ANY (pg_blocking_pids(a.pid)) ORDER BY a.pid";

/// The progress views of PostgreSQL 13+, one row for our backend at most. Blocks where the
/// phase counts blocks, tuples where it counts tuples.
const PROGRESS: &str = "\
    SELECT command, phase, \
           CASE WHEN blocks_total > 0 THEN blocks_done ELSE tuples_done END, \
           CASE WHEN blocks_total > 0 THEN blocks_total ELSE tuples_total END \
      FROM pg_stat_progress_create_index WHERE pid = $1 \
    UNION ALL SELECT command, phase, heap_blks_scanned, heap_blks_total \
      FROM pg_stat_progress_cluster WHERE pid = $1 \
    UNION ALL SELECT 'VACUUM', phase, heap_blks_scanned, heap_blks_total \
      FROM pg_stat_progress_vacuum WHERE pid = $1 \
    UNION ALL SELECT 'ANALYZE', phase, sample_blks_scanned, sample_blks_total \
      FROM pg_stat_progress_analyze WHERE pid = $1";

fn blocker(r: &Row) -> Blocker {
    Blocker {
        pid: r.get(0),
        user: r.get(1),
        application_name: r.get(2),
        state: r.get(3),
        query: r.get(4),
        transaction_age_s: r.get(5),
    }
}

/// Reports every half second; blockers as soon as they change.
const REPORT_EVERY: u32 = 5;

/// The busiest session of a child tool, found by the application_name sluice gave it.
const ACTIVE_BY_APP: &str = "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database() \
     AND state NOT IN ('idle') ORDER BY xact_start NULLS LAST LIMIT 1";

/// Which statement (1-based) the watch's events name.
#[derive(Debug, Clone, Copy)]
pub(crate) enum At {
    Statement(usize),
    /// A batch of statements (see `migration/batch`): the one its marker last named in our
    /// application_name, the given one until a marker has.
    Marked(usize),
}

/// Our backend's application_name, whose `:<n>` names the statement a batch is at.
const MARKED: &str = "SELECT application_name FROM pg_stat_activity WHERE pid = $1";

async fn statement_at(at: &mut At, client: &Client, pid: i32) -> usize {
    match at {
        At::Statement(i) => *i,
        At::Marked(i) => {
            if let Ok(Some(r)) = client.query_opt(MARKED, &[&pid]).await {
                let name: Option<String> = r.get(0);
                let n = name.as_deref().and_then(|n| n.rsplit_once(':')).map(|(_, n)| n.parse());
                if let Some(Ok(n)) = n {
                    *i = n;
                }
            }
            *i
        }
    }
}

/// What PostgreSQL reports of backend `pid`'s command, and who waits on it.
async fn progress(
    client: &Client,
    pid: i32,
    version: &str,
    index: usize,
    elapsed_ms: u64,
) -> Event {
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&pid];
    let (command, blocking) =
        tokio::join!(client.query_opt(PROGRESS, &params), client.query(BLOCKED, &params));
    let command = command.ok().flatten().map(|r| CommandProgress {
        command: r.get(0),
        phase: r.get(1),
        done: r.get(2),
        total: r.get(3),
    });
    Event::Progress {
        version: version.to_string(),
        index,
        elapsed_ms,
        command,
        blocking: blocking.map(|rows| rows.iter().map(blocker).collect()).unwrap_or_default(),
    }
}

/// Whom the watch follows: sluice's own backend, or the sessions of a tool it runs.
pub(crate) enum Watched {
    Backend(i32),
    /// A child tool's connections, by the application_name sluice gave them.
    App(String),
}

/// The backend to watch now: ours, or the tool's busiest session.
async fn watched_pid(who: &Watched, client: &Client) -> Option<i32> {
    match who {
        Watched::Backend(pid) => Some(*pid),
        Watched::App(name) => {
            let r = client.query_opt(ACTIVE_BY_APP, &[name]).await;
            r.ok().flatten().map(|r| r.get::<_, i32>(0))
        }
    }
}

/// The run's second connection (the watch's, and half of the schema snapshot's), opened
/// unless it is open already; left unset when it cannot be.
pub(crate) async fn connect_spare(spare: &mut Option<Client>, target: &Target, run_id: &str) {
    if spare.is_some() {
        return;
    }
    match target.connect(&format!("sluice/{run_id}/watch")).await {
        Ok(c) => {
            let _ = c.batch_execute("SET statement_timeout = 2000").await;
            *spare = Some(c);
        }
        Err(e) => tracing::warn!("the run's second connection cannot connect: {e}"),
    }
}

/// What the watch tells as it goes: where events go, the migration, the statement.
pub(crate) type Tell = Option<(EventSender, String, At)>;

/// The watch's state between looks.
struct Seen {
    started: Instant,
    last: Vec<i32>,
    blockers: Vec<Blocker>,
    tick: u32,
}

/// Who blocks the statement (an event when that changes), and twice a second its progress.
async fn look(
    client: &Client,
    pid: i32,
    seen: &mut Seen,
    observed: &std::sync::Mutex<Vec<Blocker>>,
    events: &mut Tell,
) {
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&pid];
    let index = match events.as_mut() {
        Some((_, _, at)) => statement_at(at, client, pid).await,
        None => 0,
    };
    if let Ok(rows) = client.query(BLOCKERS, &params).await {
        let blockers: Vec<Blocker> = rows.iter().map(blocker).collect();
        let pids: Vec<i32> = blockers.iter().map(|b| b.pid).collect();
        if !blockers.is_empty() {
            if pids != seen.last {
                if let Some((tx, version, _)) = &events {
                    let _ = tx.send(Event::Waiting {
                        version: version.clone(),
                        index,
                        blockers: blockers.clone(),
                    });
                }
            }
            if let Ok(mut o) = observed.lock() {
                *o = blockers.clone();
            }
        }
        seen.blockers = blockers;
        seen.last = pids;
    }
    if let (Some((tx, version, _)), true) = (&events, seen.tick.is_multiple_of(REPORT_EVERY)) {
        let elapsed_ms = seen.started.elapsed().as_millis() as u64;
        let _ = tx.send(progress(client, pid, version, index, elapsed_ms).await);
    }
    seen.tick += 1;
}

/// Watches `who` from the run's second connection until `stop`: blockers and progress
/// every 100 ms; with a sentinel, its look every few ms in between.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn watch(
    target: Target,
    run_id: String,
    who: Watched,
    conn: Arc<Mutex<Option<Client>>>,
    delay: Duration,
    observed: Arc<std::sync::Mutex<Vec<Blocker>>>,
    mut stop: oneshot::Receiver<()>,
    mut events: Tell,
    sentinel: Option<super::sentinel::Sentinel>,
) {
    const HEAVY_EVERY: Duration = Duration::from_millis(100);
    let mut seen =
        Seen { started: Instant::now(), last: Vec::new(), blockers: Vec::new(), tick: 0 };
    let delay = match &sentinel {
        Some(s) => delay.min(Duration::from_millis(s.every_ms())),
        None => delay,
    };
    tokio::select! {
        _ = &mut stop => return,
        _ = tokio::time::sleep(delay) => {}
    }
    let mut guard = conn.lock().await;
    connect_spare(&mut guard, &target, &run_id).await;
    let Some(client) = guard.as_ref() else { return };
    let sample = Duration::from_millis(sentinel.as_ref().map_or(100, |s| s.every_ms()));
    let mut heavy_at: Option<Instant> = None;
    loop {
        let pid = tokio::select! {
            _ = &mut stop => return,
            p = watched_pid(&who, client) => p,
        };
        let Some(pid) = pid else {
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            continue;
        };
        if heavy_at.is_none_or(|t| t.elapsed() >= HEAVY_EVERY) {
            heavy_at = Some(Instant::now());
            tokio::select! {
                _ = &mut stop => return,
                _ = look(client, pid, &mut seen, &observed, &mut events) => {}
            }
        }
        if let Some(s) = &sentinel {
            let tell = events.as_ref().map(|(tx, v, _)| (tx, v.as_str()));
            tokio::select! {
                _ = &mut stop => return,
                _ = s.look(client, pid, &seen.blockers, tell) => {}
            }
        }
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(sample) => {}
        }
    }
}

/// Sessions holding (or queued for) a lock that conflicts with what `needs` asks for: who
/// a statement that timed out on its lock was waiting for, asked once its transaction is
/// gone, when the watcher saw nobody (the timeout beat the watch delay).
pub(crate) async fn who_holds(
    client: &Client,
    needs: &[(String, crate::core::data::sql::LockMode)],
) -> Vec<Blocker> {
    let found =
        crate::core::db::conflicts::conflicting_sessions(client, needs).await.unwrap_or_default();
    let mut out: Vec<Blocker> = Vec::new();
    for c in found {
        if out.iter().any(|b| b.pid == c.pid) {
            continue;
        }
        out.push(Blocker {
            pid: c.pid,
            user: c.user,
            application_name: c.application_name,
            state: c.state,
            query: c.query,
            transaction_age_s: c.transaction_age_s,
        });
    }
    out
}
