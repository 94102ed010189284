//! Live metrics from the monitor's own connection (application_name `sluice/monitor`, a
//! short statement_timeout, itself excluded): connections by state, waiting and blocked
//! sessions with their blockers, the longest transaction, transactions per second. It reads
//! only pg_stat views: no size functions, nothing that could queue behind a migration's lock.

use std::time::Instant;

use serde::Serialize;
use tokio_postgres::Client;

use crate::core::connect::Target;
use crate::core::error::Result;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Blocked {
    pub pid: i32,
    pub user: String,
    pub application: String,
    pub blockers: Vec<i32>,
    pub seconds: f64,
    pub query: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub connections: i64,
    pub max_connections: i64,
    pub active: i64,
    pub idle_in_transaction: i64,
    pub waiting: i64,
    /// Commits and rollbacks per second since the previous sample.
    pub tps: Option<f64>,
    /// (pid, who, seconds) of the oldest open transaction.
    pub longest: Option<(i32, String, f64)>,
    pub blocked: Vec<Blocked>,
}

pub struct Monitor {
    client: Client,
    last: Option<(Instant, i64)>,
}

impl Monitor {
    pub async fn connect(target: &Target) -> Result<Monitor> {
        let client = target.connect("sluice/monitor").await?;
        client.batch_execute("SET statement_timeout = 1000; SET lock_timeout = 100").await?;
        Ok(Monitor { client, last: None })
    }

    pub async fn sample(&mut self) -> Result<Snapshot> {
        let r = self
            .client
            .query_one(
                "SELECT count(*)::int8,
                        current_setting('max_connections')::int8,
                        count(*) FILTER (WHERE state = 'active')::int8,
                        count(*) FILTER (WHERE state LIKE 'idle in transaction%')::int8,
                        count(*) FILTER (WHERE wait_event_type = 'Lock')::int8,
                        (SELECT sum(xact_commit + xact_rollback)::int8 FROM pg_stat_database)
                 FROM pg_stat_activity
                 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
                &[],
            )
            .await?;
        let now = Instant::now();
        let xacts: i64 = r.get::<_, Option<i64>>(5).unwrap_or(0);
        let tps = self.last.map(|(at, before)| {
            (xacts - before).max(0) as f64 / now.duration_since(at).as_secs_f64().max(0.001)
        });
        self.last = Some((now, xacts));
        let longest = self
            .client
            .query_opt(
                "SELECT pid, coalesce(nullif(application_name, ''), usename::text, '?'),
                        extract(epoch FROM now() - xact_start)::float8
                 FROM pg_stat_activity
                 WHERE xact_start IS NOT NULL AND backend_type = 'client backend' AND pid <> pg_backend_pid()
                 ORDER BY xact_start LIMIT 1",
                &[],
            )
            .await?
            .map(|r| (r.get(0), r.get(1), r.get(2)));
        let blocked = self
            .client
            .query(
                "SELECT pid, coalesce(usename::text, ''), coalesce(application_name, ''), pg_blocking_pids(pid),
                        coalesce(extract(epoch FROM now() - query_start), 0)::float8, left(coalesce(query, ''), 80)
                 FROM pg_stat_activity
                 WHERE cardinality(pg_blocking_pids(pid)) > 0 AND pid <> pg_backend_pid()
                 ORDER BY query_start LIMIT 10",
                &[],
            )
            .await?
            .iter()
            .map(|r| Blocked {
                pid: r.get(0),
                user: r.get(1),
                application: r.get(2),
                blockers: r.get(3),
                seconds: r.get(4),
                query: r.get::<_, String>(5).replace(char::is_whitespace, " "),
            })
            .collect();
        Ok(Snapshot {
            connections: r.get(0),
            max_connections: r.get(1),
            active: r.get(2),
            idle_in_transaction: r.get(3),
            waiting: r.get(4),
            tps,
            longest,
            blocked,
        })
    }
}
