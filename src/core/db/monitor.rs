//! Live metrics from the monitor's own connection (application_name `sluice/monitor`, a
//! short statement_timeout, itself excluded): connections by state, waiting and blocked
//! sessions with their blockers, the longest transaction, transactions per second. It reads
//! only pg_stat views: no size functions, nothing that could queue behind a migration's lock.

use std::time::Instant;

use serde::Serialize;
use tokio_postgres::Client;

use crate::core::data::sql::LockMode;
use crate::core::db::connect::Target;
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

/// A session as the lock views show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub pid: i32,
    /// application_name, else the user.
    pub who: String,
    pub state: String,
    /// Age of its open transaction (0 when none).
    pub xact_seconds: f64,
    pub query: String,
}

/// A lock held or awaited on a relation a pending migration touches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelationLock {
    pub relation: String,
    pub pid: i32,
    pub who: String,
    pub mode: LockMode,
    pub granted: bool,
    pub xact_seconds: f64,
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
    /// The sessions that block others without waiting themselves: the roots of the tree.
    pub blockers: Vec<Session>,
    /// Locks on the relations the pending migrations touch.
    pub locks: Vec<RelationLock>,
    /// Sessions idle in a transaction, oldest first (at most 10).
    pub idle_in_tx: Vec<Session>,
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

    /// One sample; `relations` (lower case, unqualified) are the tables whose locks to list.
    pub async fn sample(&mut self, relations: &[String]) -> Result<Snapshot> {
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
        let longest = self.longest().await?;
        let blocked = self.blocked().await?;
        // The sessions that block without waiting themselves: the roots of the tree.
        let waiting: Vec<i32> = blocked.iter().map(|b| b.pid).collect();
        let mut roots: Vec<i32> = blocked
            .iter()
            .flat_map(|b| b.blockers.iter().copied())
            .filter(|p| !waiting.contains(p))
            .collect();
        roots.sort();
        roots.dedup();
        let blockers = self.sessions("pid = ANY($1)", &roots).await?;
        let idle_in_tx = self
            .sessions("state LIKE 'idle in transaction%' AND $1::int4[] IS NOT NULL", &[])
            .await?;
        let locks = if relations.is_empty() { Vec::new() } else { self.locks(relations).await? };
        Ok(Snapshot {
            connections: r.get(0),
            max_connections: r.get(1),
            active: r.get(2),
            idle_in_transaction: r.get(3),
            waiting: r.get(4),
            tps,
            longest,
            blocked,
            blockers,
            locks,
            idle_in_tx,
        })
    }

    /// The oldest open transaction: pid, who, seconds.
    async fn longest(&self) -> Result<Option<(i32, String, f64)>> {
        Ok(self
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
    .map(|r| (r.get(0), r.get(1), r.get(2))))
    }

    /// Sessions waiting on a lock, with the pids they wait for.
    async fn blocked(&self) -> Result<Vec<Blocked>> {
        Ok(self
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
    .collect::<Vec<Blocked>>())
    }

    /// Locks held or awaited on the tables the pending migrations touch.
    async fn locks(&self, relations: &[String]) -> Result<Vec<RelationLock>> {
        Ok(self
            .client
            .query(
                "SELECT n.nspname || '.' || c.relname, l.pid,
                coalesce(nullif(a.application_name, ''), a.usename::text, '?'),
                l.mode, l.granted,
                coalesce(extract(epoch FROM now() - a.xact_start), 0)::float8
         FROM pg_locks l
         JOIN pg_class c ON c.oid = l.relation
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'relation' AND l.pid <> pg_backend_pid()
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND lower(c.relname) = ANY ($1)
         ORDER BY l.granted, 6 DESC, 1, 2
         LIMIT 50",
                &[&relations],
            )
            .await?
            .iter()
            // Predicate locks (SIReadLock) are no table mode and block nobody's DDL.
            .filter_map(|r| {
                Some(RelationLock {
                    relation: r.get(0),
                    pid: r.get(1),
                    who: r.get(2),
                    mode: LockMode::from_pg(r.get::<_, &str>(3))?,
                    granted: r.get(4),
                    xact_seconds: r.get(5),
                })
            })
            .collect())
    }

    async fn sessions(&self, filter: &str, pids: &[i32]) -> Result<Vec<Session>> {
        let sql = format!(
            "SELECT pid, coalesce(nullif(application_name, ''), usename::text, '?'), coalesce(state, ''),
                    coalesce(extract(epoch FROM now() - xact_start), 0)::float8, left(coalesce(query, ''), 80)
             FROM pg_stat_activity
             WHERE {filter} AND pid <> pg_backend_pid() AND backend_type = 'client backend'
             ORDER BY xact_start NULLS LAST LIMIT 10"
        );
        Ok(self
            .client
            .query(&sql, &[&pids])
            .await?
            .iter()
            .map(|r| Session {
                pid: r.get(0),
                who: r.get(1),
                state: r.get(2),
                xact_seconds: r.get(3),
                query: r.get::<_, String>(4).replace(char::is_whitespace, " "),
            })
            .collect())
    }
}
