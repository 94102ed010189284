//! Pre-checks before a change: each a pass, warn or fail with the figure it saw.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

use crate::core::data::config::{Environment, Tier};
use crate::core::data::plan::{MigrationState, Status};
use crate::core::db::ledger::Ledger;
use crate::core::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub name: Cow<'static, str>,
    pub outcome: Outcome,
    /// What was seen: "142 of 200 connections", "pid 8812 (etl) idle in transaction 41 min".
    pub figure: String,
}

/// How many checks passed, warned and failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub warned: usize,
    pub failed: usize,
}

impl Tally {
    pub fn of(checks: &[Check]) -> Tally {
        let n = |o| checks.iter().filter(|c| c.outcome == o).count();
        Tally { passed: n(Outcome::Pass), warned: n(Outcome::Warn), failed: n(Outcome::Fail) }
    }
}

pub(crate) fn check(name: &'static str, outcome: Outcome, figure: impl Into<String>) -> Check {
    Check { name: Cow::Borrowed(name), outcome, figure: figure.into() }
}

pub struct Context<'a> {
    pub env: &'a Environment,
    pub ledger: &'a Ledger,
    pub status: &'a Status,
    /// The migrations this run will apply ("0007_orders_total_check"), `--to` applied.
    pub planned: Vec<String>,
    /// Tables the pending migrations touch (lower case, unqualified).
    pub touched: Vec<String>,
    /// Whether a backup will be taken before the change; None for a dry run, which
    /// changes nothing and needs none.
    pub backup_planned: Option<bool>,
    pub backup_dir: Option<std::path::PathBuf>,
    /// Reason given to run outside the maintenance window.
    pub window_override: Option<&'a str>,
    pub allow_drift: bool,
    /// Connected over a Unix socket (TLS does not apply).
    pub local_socket: bool,
}

/// The pre-check that an override of the maintenance window passes.
pub const WINDOW_CHECK: &str = "maintenance window";

/// Seconds an open transaction may be old before it counts as a blocker.
const OLD_TRANSACTION_S: f64 = 60.0;

pub async fn run(client: &Client, cx: &Context<'_>) -> Result<Vec<Check>> {
    let mut out = Vec::new();
    let version: String = client.query_one("SHOW server_version", &[]).await?.get(0);
    out.push(check("connectivity", Outcome::Pass, format!("PostgreSQL {version}")));

    let holder = cx.ledger.holder(client).await?;
    out.push(match holder {
        Some(h) => check("ledger lock", Outcome::Fail, format!("held by {h}")),
        None => check("ledger lock", Outcome::Pass, "free"),
    });

    let failed: Vec<String> = cx
        .status
        .items
        .iter()
        .filter(|i| i.state == MigrationState::Failed)
        .map(|i| i.label())
        .collect();
    out.push(if failed.is_empty() {
        check("failed migrations", Outcome::Pass, "none")
    } else {
        check("failed migrations", Outcome::Fail, format!("{} (resolve first)", failed.join(", ")))
    });

    let pending = &cx.planned;
    out.push(check(
        "pending migrations",
        Outcome::Pass,
        if pending.is_empty() {
            "none".to_string()
        } else {
            format!("{}: {}", pending.len(), pending.join(", "))
        },
    ));

    let drifted: Vec<String> = cx
        .status
        .items
        .iter()
        .filter(|i| i.state == MigrationState::Drifted)
        .map(|i| i.label())
        .collect();
    out.push(match (drifted.is_empty(), cx.allow_drift) {
        (true, _) => check("file drift", Outcome::Pass, "applied files unchanged"),
        (false, true) => {
            check("file drift", Outcome::Warn, format!("allowed: {}", drifted.join(", ")))
        }
        (false, false) => check(
            "file drift",
            Outcome::Fail,
            format!("changed after apply: {}", drifted.join(", ")),
        ),
    });

    out.push(match cx.ledger.last_snapshot(client).await? {
        None => check("schema drift", Outcome::Pass, "no snapshot yet"),
        Some((run_id, at, before)) => {
            let live = crate::core::db::schema::snapshot(client, cx.ledger.schema()).await?;
            let diff = crate::core::db::schema::unified_diff(&before, &live, "snapshot", "live");
            if diff.is_empty() {
                check(
                    "schema drift",
                    Outcome::Pass,
                    format!("matches the snapshot of run {} ({at})", run_id.unwrap_or_default()),
                )
            } else {
                let changed = diff
                    .lines()
                    .filter(|l| {
                        (l.starts_with('+') || l.starts_with('-'))
                            && !l.starts_with("+++")
                            && !l.starts_with("---")
                    })
                    .count();
                check(
                    "schema drift",
                    Outcome::Warn,
                    format!("{changed} line(s) changed outside sluice since {at}: see sluice diff"),
                )
            }
        }
    });

    let row = client
        .query_one(
            "SELECT count(*)::int8, current_setting('max_connections')::int8,
                    count(*) FILTER (WHERE state = 'idle in transaction')::int8
             FROM pg_stat_activity WHERE backend_type = 'client backend'",
            &[],
        )
        .await?;
    let (used, max, idle_tx): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    let ratio = used as f64 / max.max(1) as f64;
    out.push(check(
        "connections",
        if ratio > 0.9 {
            Outcome::Fail
        } else if ratio > 0.75 {
            Outcome::Warn
        } else {
            Outcome::Pass
        },
        format!("{used} of {max} ({idle_tx} idle in transaction)"),
    ));

    let blockers = client
        .query(
            "SELECT DISTINCT a.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''),
                    coalesce(a.state, ''), left(coalesce(a.query, ''), 120),
                    coalesce(extract(epoch FROM now() - a.xact_start), 0)::float8, lower(c.relname)
             FROM pg_locks l
             JOIN pg_stat_activity a ON a.pid = l.pid
             JOIN pg_class c ON c.oid = l.relation
             WHERE l.locktype = 'relation' AND a.pid <> pg_backend_pid()
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND lower(c.relname) = ANY ($1)
               AND (a.state LIKE 'idle in transaction%' OR now() - a.xact_start > make_interval(secs => $2))
             ORDER BY 6 DESC",
            &[&cx.touched, &OLD_TRANSACTION_S],
        )
        .await?;
    out.push(if blockers.is_empty() {
        check(
            "blocking sessions",
            Outcome::Pass,
            format!("none on the {} table(s) the migrations touch", cx.touched.len()),
        )
    } else {
        let named: Vec<String> = blockers
            .iter()
            .map(|r| {
                let age: f64 = r.get(5);
                format!(
                    "pid {} ({}{}, {}, {:.0} s) holds a lock on {}: {}",
                    r.get::<_, i32>(0),
                    r.get::<_, String>(1),
                    {
                        let a: String = r.get(2);
                        if a.is_empty() {
                            a
                        } else {
                            format!(" via {a}")
                        }
                    },
                    r.get::<_, String>(3),
                    age,
                    r.get::<_, String>(6),
                    r.get::<_, String>(4).replace(char::is_whitespace, " ")
                )
            })
            .collect();
        check("blocking sessions", Outcome::Fail, named.join("; "))
    });

    let lag = client
        .query_one(
            "SELECT count(*)::int8, coalesce(max(extract(epoch FROM replay_lag)), 0)::float8 FROM pg_stat_replication",
            &[],
        )
        .await;
    out.push(match lag {
        Ok(r) if r.get::<_, i64>(0) == 0 => check("replication", Outcome::Pass, "no standbys"),
        Ok(r) => {
            let (n, lag): (i64, f64) = (r.get(0), r.get(1));
            check(
                "replication",
                if lag > 30.0 { Outcome::Warn } else { Outcome::Pass },
                format!("{n} standby(s), replay lag {lag:.1} s"),
            )
        }
        Err(_) => {
            check("replication", Outcome::Warn, "pg_stat_replication not readable by this role")
        }
    });

    if cx.backup_planned.is_none() {
        out.push(check("backup", Outcome::Pass, "not needed: a dry run rolls back"));
    } else if cx.backup_planned == Some(true) {
        let size: i64 =
            client.query_one("SELECT pg_database_size(current_database())", &[]).await?.get(0);
        out.push(match cx.backup_dir.as_deref().and_then(free_bytes) {
            Some(free) if (free as f64) < size as f64 * 1.2 => check(
                "backup space",
                Outcome::Fail,
                format!("{} free, database is {}", mb(free as i64), mb(size)),
            ),
            Some(free) => check(
                "backup space",
                Outcome::Pass,
                format!("{} free, database is {}", mb(free as i64), mb(size)),
            ),
            None => check(
                "backup space",
                Outcome::Warn,
                "cannot read the free space of the backup folder",
            ),
        });
        out.push(check(
            "backup",
            Outcome::Pass,
            "a verified backup will be taken before the change",
        ));
    } else if let Some(max_age) = cx.env.backup.max_age {
        out.push(recent_backup(cx.env, max_age));
    } else if cx.env.backup.mode == crate::core::data::config::BackupMode::Off {
        out.push(check("backup", Outcome::Pass, "off by policy"));
    } else {
        out.push(check(
            "backup",
            Outcome::Warn,
            "no backup before this change (optional by policy)",
        ));
    }

    if let Some(w) = &cx.env.maintenance_window {
        let (day, minute) = now_utc_day_minute();
        let inside = w.contains(day, minute);
        out.push(match (inside, cx.window_override) {
            (true, _) => check(WINDOW_CHECK, Outcome::Pass, "inside"),
            (false, Some(reason)) => {
                check(WINDOW_CHECK, Outcome::Warn, format!("outside, overridden: {reason}"))
            }
            (false, None) => {
                check(WINDOW_CHECK, Outcome::Fail, format!("outside the window ({})", w.describe()))
            }
        });
    }

    let ssl: bool = client
        .query_one(
            "SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
            &[],
        )
        .await?
        .get(0);
    out.push(match (ssl, cx.env.tier) {
        (true, _) => check("tls", Outcome::Pass, "in use"),
        (false, _) if cx.local_socket => {
            check("tls", Outcome::Pass, "local socket: no network to protect")
        }
        (false, Tier::Production) => check(
            "tls",
            Outcome::Fail,
            "not in use on a production connection: set sslmode = \"verify-full\"",
        ),
        (false, _) => check("tls", Outcome::Warn, "not in use"),
    });
    Ok(out)
}

/// With no backup in this run, the policy's max_age asks for a recent one on disk.
fn recent_backup(env: &Environment, max_age: std::time::Duration) -> Check {
    let limit = crate::core::data::config::describe_duration(max_age);
    match crate::core::guard::backup::list(env) {
        Ok(files) => match files.first() {
            Some(f) if f.age_s <= max_age.as_secs() => check(
                "backup",
                Outcome::Pass,
                format!(
                    "no backup in this run; newest is {} ({} old, policy: {limit})",
                    f.path.display(),
                    crate::core::data::config::describe_duration(std::time::Duration::from_secs(f.age_s))
                ),
            ),
            Some(f) => check(
                "backup",
                Outcome::Fail,
                format!(
                    "newest backup {} is {} old, older than the policy's {limit}: take one (sluice backup) or have this run take one",
                    f.path.display(),
                    crate::core::data::config::describe_duration(std::time::Duration::from_secs(f.age_s))
                ),
            ),
            None => check(
                "backup",
                Outcome::Fail,
                format!("no backup on disk and the policy wants one within {limit}: take one (sluice backup) or have this run take one"),
            ),
        },
        Err(e) => check("backup", Outcome::Fail, format!("cannot list backups: {e}")),
    }
}

fn mb(bytes: i64) -> String {
    format!("{:.1} MB", bytes as f64 / 1048576.0)
}

/// Free bytes on the file system of `dir` (or its nearest existing parent).
fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    let existing = dir.ancestors().find(|p| p.exists())?;
    let c = std::ffi::CString::new(existing.as_os_str().as_encoded_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and an out-pointer to a zeroed statvfs.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

/// (day of week, 0 = Monday; minute of the day) now, in UTC.
pub fn now_utc_day_minute() -> (u8, u16) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / 86_400;
    // 1970-01-01 was a Thursday (3 when Monday is 0).
    (((days + 3) % 7) as u8, ((secs % 86_400) / 60) as u16)
}
