//! Sessions whose locks conflict with the locks a change needs: who it would queue behind.

use tokio_postgres::Client;

use crate::core::data::sql::LockMode;
use crate::core::error::Result;

/// One session in the way: who, what it is doing, and what it holds (or waits for) on
/// which table.
#[derive(Debug, Clone)]
pub struct Conflict {
    pub pid: i32,
    pub user: String,
    pub application_name: String,
    /// pg_stat_activity's state: active, idle in transaction...
    pub state: String,
    pub query: String,
    pub transaction_age_s: f64,
    pub table: String,
    /// The strongest conflicting mode it holds or has asked for on the table.
    pub mode: LockMode,
    /// False when it is still waiting for that lock itself (queued ahead of us).
    pub granted: bool,
    /// What the change needs on the table.
    pub needed: LockMode,
}

/// Every other session holding or awaiting a lock that conflicts with what `needs` asks
/// for on each table (lower case, without schema), oldest transaction first: pg_locks and
/// pg_stat_activity only, no lock taken.
pub async fn conflicting_sessions(
    client: &Client,
    needs: &[(String, LockMode)],
) -> Result<Vec<Conflict>> {
    if needs.is_empty() {
        return Ok(Vec::new());
    }
    let tables: Vec<&str> = needs.iter().map(|(t, _)| t.as_str()).collect();
    let rows = client
        .query(
            "SELECT a.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''),
                    coalesce(a.state, ''), left(coalesce(a.query, ''), 200),
                    coalesce(extract(epoch FROM now() - a.xact_start), 0)::float8,
                    lower(c.relname), l.mode, l.granted
             FROM pg_locks l
             JOIN pg_stat_activity a ON a.pid = l.pid
             JOIN pg_class c ON c.oid = l.relation
             WHERE l.locktype = 'relation' AND a.pid <> pg_backend_pid()
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND lower(c.relname) = ANY ($1)
             ORDER BY 6 DESC, 1",
            &[&tables],
        )
        .await?;
    let mut out: Vec<Conflict> = Vec::new();
    for r in rows {
        let Some(mode) = LockMode::from_pg(r.get(7)) else { continue };
        let table: String = r.get(6);
        let Some(needed) = needs.iter().find(|(t, _)| *t == table).map(|(_, m)| *m) else {
            continue;
        };
        if !mode.conflicts_with(needed) {
            continue;
        }
        let pid: i32 = r.get(0);
        if let Some(c) = out.iter_mut().find(|c| c.pid == pid && c.table == table) {
            c.mode = c.mode.max(mode);
            continue;
        }
        out.push(Conflict {
            pid,
            user: r.get(1),
            application_name: r.get(2),
            state: r.get(3),
            query: r.get::<_, String>(4).split_whitespace().collect::<Vec<_>>().join(" "),
            transaction_age_s: r.get(5),
            table,
            mode,
            granted: r.get(8),
            needed,
        });
    }
    Ok(out)
}
