//! The ledger lock: a session-level advisory lock, so it dies with the connection of a
//! run that is killed.

use tokio_postgres::{Client, GenericClient};

use super::{Ledger, LockHolder, LOCK_CLASS, TS};
use crate::core::error::{Error, Refusal, Result};

impl Ledger {
    /// Takes the session-level ledger lock, or names who holds it.
    pub async fn try_lock(&self, client: &Client) -> Result<()> {
        let got: bool = client
            .query_one(
                "SELECT pg_try_advisory_lock($1, hashtext($2))",
                &[&LOCK_CLASS, &self.schema],
            )
            .await?
            .get(0);
        if got {
            return Ok(());
        }
        let holder = self.holder(client).await?;
        Err(Error::refused(
            Refusal::LedgerLocked,
            match holder {
                Some(h) => {
                    format!(
                        "the ledger is locked by another sluice run: {h}; wait for it to finish"
                    )
                }
                None => {
                    "the ledger is locked by another session that just finished; try again".into()
                }
            },
        ))
    }

    pub async fn unlock(&self, client: &Client) -> Result<()> {
        client
            .execute("SELECT pg_advisory_unlock($1, hashtext($2))", &[&LOCK_CLASS, &self.schema])
            .await?;
        Ok(())
    }

    /// Who holds the ledger lock right now, if anyone.
    pub async fn holder(&self, client: &impl GenericClient) -> Result<Option<LockHolder>> {
        let simple = format!(
            "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''), \
                    coalesce(host(a.client_addr), 'local socket'), \
                    to_char(a.backend_start AT TIME ZONE 'UTC', {TS}) \
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 \
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND l.classid = $1::int8::oid \
               AND l.objid = (hashtext($2)::int8 & 4294967295)::oid \
               AND l.pid <> pg_backend_pid() \
             LIMIT 1"
        );
        let class = LOCK_CLASS as i64;
        let row = client.query_opt(&simple, &[&class, &self.schema]).await?;
        let Some(r) = row else { return Ok(None) };
        let mut holder = LockHolder {
            pid: r.get(0),
            application_name: r.get(1),
            user: r.get(2),
            client: r.get(3),
            since: r.get(4),
        };
        // The holder's run row says when its run began, which beats the backend's start.
        // While a migration runs, the name carries the statement too: `sluice/<run>:<n>`.
        let named = holder.application_name.strip_prefix("sluice/");
        if let Some(run_id) = named.map(|n| n.split(':').next().unwrap_or(n)) {
            if self.exists(client).await? {
                let q = format!(
                    "SELECT to_char(started_at AT TIME ZONE 'UTC', {TS}), operator FROM {} WHERE run_id = $1",
                    self.t("runs")
                );
                if let Some(r) = client.query_opt(&q, &[&run_id]).await? {
                    let since: String = r.get(0);
                    let operator: String = r.get(1);
                    holder.since = format!("{since}, operator {operator}");
                }
            }
        }
        Ok(Some(holder))
    }
}
