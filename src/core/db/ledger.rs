//! The ledger in the target database: every migration applied or rolled back (with the SQL
//! that ran), the runs table, and the advisory lock that admits one runner at a time.

use tokio_postgres::{Client, GenericClient, Statement};

use crate::core::data::plan::{Direction, LatestRow};
use crate::core::error::{Error, Result};

pub mod batched;
mod lock;

/// First key of the advisory lock pair: "SLUC". The second is hashtext(schema).
const LOCK_CLASS: i32 = 0x534C_5543;
/// Bumped when the ledger's own tables change shape.
const LEDGER_VERSION: i32 = 5;

const TS: &str = r#"'YYYY-MM-DD"T"HH24:MI:SS"Z"'"#;

/// One row of the full history, for `sluice history`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HistoryRow {
    pub id: i64,
    pub version: String,
    pub name: String,
    pub direction: String,
    pub success: bool,
    pub failed_at_statement: Option<i32>,
    pub checksum: String,
    pub applied_at: String,
    pub applied_by: String,
    pub os_user: Option<String>,
    pub client_host: Option<String>,
    pub duration_ms: Option<i64>,
    pub run_id: Option<String>,
    pub error: Option<String>,
}

/// A row to append to the history.
pub struct NewRow<'a> {
    pub version: &'a str,
    pub name: &'a str,
    pub checksum: &'a str,
    pub up_sql: &'a str,
    pub down_sql: Option<&'a str>,
    pub direction: Direction,
    pub os_user: &'a str,
    pub client_host: &'a str,
    pub duration_ms: Option<i64>,
    pub run_id: &'a str,
    pub success: bool,
    pub failed_at_statement: Option<i32>,
    pub error: Option<&'a str>,
}

/// A run to record in the runs table.
pub struct NewRun<'a> {
    pub run_id: &'a str,
    pub environment: &'a str,
    pub action: &'a str,
    pub operator: &'a str,
    pub client_host: &'a str,
    /// The run's details as JSON (record::details::RunDetails).
    pub details: &'a str,
}

/// Who holds the ledger lock.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LockHolder {
    pub pid: i32,
    pub application_name: String,
    pub user: String,
    pub client: String,
    pub since: String,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} ({}, role {}, from {}, since {})",
            self.pid, self.application_name, self.user, self.client, self.since
        )
    }
}

#[derive(Debug, Clone)]
pub struct Ledger {
    schema: String,
}

impl Ledger {
    /// `schema` is validated as a plain identifier by the config.
    pub fn new(schema: &str) -> Ledger {
        Ledger { schema: schema.to_string() }
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }

    fn t(&self, table: &str) -> String {
        format!("\"{}\".{table}", self.schema)
    }

    /// A ledger table's quoted, schema-qualified name.
    pub fn table(&self, table: &str) -> String {
        self.t(table)
    }

    /// Creates the ledger on first use. Call while holding the lock, so two first runs do
    /// not race on CREATE.
    pub async fn ensure(&self, client: &Client) -> Result<()> {
        if self.exists(client).await? {
            return self.upgrade(client).await;
        }
        let s = &self.schema;
        let sql = format!(
            r#"
            CREATE SCHEMA IF NOT EXISTS "{s}";
            CREATE TABLE IF NOT EXISTS "{s}".meta (
                ledger_version int NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            INSERT INTO "{s}".meta (ledger_version) SELECT {LEDGER_VERSION}
                WHERE NOT EXISTS (SELECT 1 FROM "{s}".meta);
            CREATE TABLE IF NOT EXISTS "{s}".history (
                id bigserial PRIMARY KEY,
                version text NOT NULL,
                name text NOT NULL,
                checksum text NOT NULL,
                up_sql text NOT NULL,
                down_sql text,
                direction text NOT NULL CHECK (direction IN ('up', 'down')),
                applied_at timestamptz NOT NULL DEFAULT now(),
                applied_by text NOT NULL DEFAULT current_user,
                os_user text,
                client_host text,
                duration_ms bigint,
                run_id text,
                success boolean NOT NULL,
                failed_at_statement int,
                error text
            );
            CREATE INDEX IF NOT EXISTS history_version_idx ON "{s}".history (version, id);
            CREATE TABLE IF NOT EXISTS "{s}".runs (
                run_id text PRIMARY KEY,
                environment text NOT NULL,
                action text NOT NULL,
                operator text NOT NULL,
                client_host text,
                started_at timestamptz NOT NULL DEFAULT now(),
                finished_at timestamptz,
                outcome text NOT NULL DEFAULT 'running',
                details jsonb NOT NULL DEFAULT '{{}}'
            );
            {snapshots}
            "#,
            snapshots = Self::snapshots_ddl(s)
        );
        client.batch_execute(&sql).await.map_err(|e| {
            Error::from(e).context(format_args!("cannot create the ledger in schema {s}"))
        })
    }

    fn snapshots_ddl(s: &str) -> String {
        format!(
            r#"CREATE TABLE IF NOT EXISTS "{s}".snapshots (
                id bigserial PRIMARY KEY,
                run_id text,
                taken_at timestamptz NOT NULL DEFAULT now(),
                schema_text text NOT NULL
            );
            CREATE TABLE IF NOT EXISTS "{s}".seeds (
                id bigserial PRIMARY KEY,
                file text NOT NULL,
                checksum text NOT NULL,
                run_id text,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE IF NOT EXISTS "{s}".approvals (
                code_hash text PRIMARY KEY,
                run_id text,
                environment text NOT NULL,
                approver text NOT NULL,
                client_host text,
                db_user text NOT NULL DEFAULT current_user,
                issued_at timestamptz NOT NULL DEFAULT now(),
                used_by_run text,
                used_at timestamptz
            );
            ALTER TABLE "{s}".approvals ADD COLUMN IF NOT EXISTS account text;"#
        )
    }

    /// Brings a ledger written by an older sluice up to this version's tables.
    async fn upgrade(&self, client: &Client) -> Result<()> {
        let s = &self.schema;
        let v: i32 = client
            .query_one(&format!("SELECT max(ledger_version) FROM \"{s}\".meta"), &[])
            .await?
            .get::<_, Option<i32>>(0)
            .unwrap_or(1);
        if v >= LEDGER_VERSION {
            return Ok(());
        }
        let sql = format!(
            "{} UPDATE \"{s}\".meta SET ledger_version = {LEDGER_VERSION};",
            Self::snapshots_ddl(s)
        );
        client.batch_execute(&sql).await.map_err(|e| {
            Error::from(e).context(format_args!("cannot upgrade the ledger in schema {s}"))
        })
    }

    pub async fn save_snapshot(
        &self,
        client: &impl GenericClient,
        run_id: &str,
        text: &str,
    ) -> Result<()> {
        let sql =
            format!("INSERT INTO {} (run_id, schema_text) VALUES ($1, $2)", self.t("snapshots"));
        client.execute(&sql, &[&run_id, &text]).await?;
        Ok(())
    }

    pub async fn record_seed(
        &self,
        client: &impl GenericClient,
        file: &str,
        checksum: &str,
        run_id: &str,
    ) -> Result<()> {
        let sql =
            format!("INSERT INTO {} (file, checksum, run_id) VALUES ($1, $2, $3)", self.t("seeds"));
        client.execute(&sql, &[&file, &checksum, &run_id]).await?;
        Ok(())
    }

    /// The newest snapshot: (run id, when, text).
    pub async fn last_snapshot(
        &self,
        client: &impl GenericClient,
    ) -> Result<Option<(Option<String>, String, String)>> {
        let present: bool = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&self.t("snapshots")])
            .await?
            .get(0);
        if !present {
            return Ok(None);
        }
        let sql = format!(
            "SELECT run_id, to_char(taken_at AT TIME ZONE 'UTC', {TS}), schema_text FROM {} ORDER BY id DESC LIMIT 1",
            self.t("snapshots")
        );
        Ok(client.query_opt(&sql, &[]).await?.map(|r| (r.get(0), r.get(1), r.get(2))))
    }

    pub async fn exists(&self, client: &impl GenericClient) -> Result<bool> {
        let row =
            client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&self.t("history")]).await?;
        Ok(row.get(0))
    }

    /// The newest row of every version ever recorded. Empty when no ledger exists yet.
    pub async fn latest(&self, client: &impl GenericClient) -> Result<Vec<LatestRow>> {
        if !self.exists(client).await? {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT DISTINCT ON (version) id, version, name, checksum, direction, success, \
             failed_at_statement, to_char(applied_at AT TIME ZONE 'UTC', {TS}), run_id \
             FROM {} ORDER BY version, id DESC",
            self.t("history")
        );
        let rows = client.query(&sql, &[]).await?;
        Ok(rows
            .iter()
            .map(|r| LatestRow {
                id: r.get(0),
                version: r.get(1),
                name: r.get(2),
                checksum: r.get(3),
                direction: if r.get::<_, &str>(4) == "down" {
                    Direction::Down
                } else {
                    Direction::Up
                },
                success: r.get(5),
                failed_at_statement: r.get(6),
                applied_at: r.get(7),
                run_id: r.get(8),
            })
            .collect())
    }

    pub async fn history(&self, client: &impl GenericClient) -> Result<Vec<HistoryRow>> {
        if !self.exists(client).await? {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, version, name, direction, success, failed_at_statement, checksum, \
             to_char(applied_at AT TIME ZONE 'UTC', {TS}), applied_by, os_user, client_host, \
             duration_ms, run_id, error FROM {} ORDER BY id",
            self.t("history")
        );
        let rows = client.query(&sql, &[]).await?;
        Ok(rows
            .iter()
            .map(|r| HistoryRow {
                id: r.get(0),
                version: r.get(1),
                name: r.get(2),
                direction: r.get(3),
                success: r.get(4),
                failed_at_statement: r.get(5),
                checksum: r.get(6),
                applied_at: r.get(7),
                applied_by: r.get(8),
                os_user: r.get(9),
                client_host: r.get(10),
                duration_ms: r.get(11),
                run_id: r.get(12),
                error: r.get(13),
            })
            .collect())
    }

    /// The up and down SQL stored with a ledger row.
    pub async fn stored_sql(
        &self,
        client: &impl GenericClient,
        id: i64,
    ) -> Result<(String, Option<String>)> {
        let sql = format!("SELECT up_sql, down_sql FROM {} WHERE id = $1", self.t("history"));
        let row = client.query_one(&sql, &[&id]).await?;
        Ok((row.get(0), row.get(1)))
    }

    /// The error a failed row recorded (None: the process stopped while the statement ran).
    pub async fn error_of(&self, client: &impl GenericClient, id: i64) -> Result<Option<String>> {
        let sql = format!("SELECT error FROM {} WHERE id = $1", self.t("history"));
        Ok(client.query_one(&sql, &[&id]).await?.get(0))
    }

    /// Prepares the history insert once per connection; it runs inside each migration's
    /// transaction.
    pub async fn prepare_insert(&self, client: &Client) -> Result<Statement> {
        let sql = format!(
            "INSERT INTO {} (version, name, checksum, up_sql, down_sql, direction, os_user, \
             client_host, duration_ms, run_id, success, failed_at_statement, error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            self.t("history")
        );
        Ok(client.prepare(&sql).await?)
    }

    pub async fn insert(
        &self,
        client: &impl GenericClient,
        stmt: &Statement,
        row: &NewRow<'_>,
    ) -> Result<i64> {
        let r = client
            .query_one(
                stmt,
                &[
                    &row.version,
                    &row.name,
                    &row.checksum,
                    &row.up_sql,
                    &row.down_sql,
                    &row.direction.as_str(),
                    &row.os_user,
                    &row.client_host,
                    &row.duration_ms,
                    &row.run_id,
                    &row.success,
                    &row.failed_at_statement,
                    &row.error,
                ],
            )
            .await?;
        Ok(r.get(0))
    }

    /// Records progress of a migration run outside a transaction: the statement it stands at.
    pub async fn set_progress(
        &self,
        client: &impl GenericClient,
        id: i64,
        failed_at_statement: Option<i32>,
        success: bool,
        duration_ms: i64,
        error: Option<&str>,
    ) -> Result<()> {
        let sql = format!(
            "UPDATE {} SET failed_at_statement = $2, success = $3, duration_ms = $4, error = $5 \
             WHERE id = $1",
            self.t("history")
        );
        client.execute(&sql, &[&id, &failed_at_statement, &success, &duration_ms, &error]).await?;
        Ok(())
    }

    /// The same update as `set_progress`, as SQL text to send with the COMMIT of the
    /// statement it records (one round trip; the two commit together or not at all).
    pub fn progress_sql(
        &self,
        id: i64,
        failed_at_statement: Option<i32>,
        success: bool,
        duration_ms: i64,
    ) -> String {
        let at = failed_at_statement.map_or("NULL".to_string(), |n| n.to_string());
        format!(
            "UPDATE {} SET failed_at_statement = {at}, success = {success}, duration_ms = {duration_ms}, error = NULL WHERE id = {id}",
            self.t("history")
        )
    }

    /// The first run recorded through a production-tier environment, if any:
    /// (environment, run id). A database production has changed stays production.
    pub async fn production_run(
        &self,
        client: &impl GenericClient,
    ) -> Result<Option<(String, String)>> {
        let sql = format!(
            "SELECT environment, run_id FROM {} WHERE details->>'tier' = 'production' \
             ORDER BY started_at LIMIT 1",
            self.t("runs")
        );
        Ok(client.query_opt(&sql, &[]).await?.map(|r| (r.get(0), r.get(1))))
    }

    pub async fn start_run(&self, client: &impl GenericClient, run: &NewRun<'_>) -> Result<()> {
        let sql = format!(
            "INSERT INTO {} (run_id, environment, action, operator, client_host, details) \
             VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)",
            self.t("runs")
        );
        let details = run.details;
        client
            .execute(
                &sql,
                &[
                    &run.run_id,
                    &run.environment,
                    &run.action,
                    &run.operator,
                    &run.client_host,
                    &details,
                ],
            )
            .await?;
        Ok(())
    }

    /// Writes the runs row again if it is gone: a restore replaces the ledger with the one
    /// in the dump, which does not know the run that restored it.
    pub async fn restart_run(&self, client: &Client, run: &NewRun<'_>) -> Result<()> {
        self.ensure(client).await?;
        let sql = format!("SELECT count(*) FROM {} WHERE run_id = $1", self.t("runs"));
        let n: i64 = client.query_one(&sql, &[&run.run_id]).await?.get(0);
        if n == 0 {
            self.start_run(client, run).await?;
        }
        Ok(())
    }

    /// Ends a run: its outcome and its details as the run wrote them last.
    pub async fn finish_run(
        &self,
        client: &impl GenericClient,
        run_id: &str,
        outcome: &str,
        details: &str,
    ) -> Result<()> {
        let sql = format!(
            "UPDATE {} SET finished_at = now(), outcome = $2, details = $3::text::jsonb \
             WHERE run_id = $1",
            self.t("runs")
        );
        client.execute(&sql, &[&run_id, &outcome, &details]).await?;
        Ok(())
    }

    /// Replaces a running run's details with what it has gathered so far.
    pub async fn save_run_details(
        &self,
        client: &impl GenericClient,
        run_id: &str,
        details: &str,
    ) -> Result<()> {
        let sql =
            format!("UPDATE {} SET details = $2::text::jsonb WHERE run_id = $1", self.t("runs"));
        client.execute(&sql, &[&run_id, &details]).await?;
        Ok(())
    }

    pub async fn runs(&self, client: &impl GenericClient) -> Result<Vec<RunRow>> {
        if !self.exists(client).await? {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT run_id, environment, action, operator, client_host, \
             to_char(started_at AT TIME ZONE 'UTC', {TS}), \
             to_char(finished_at AT TIME ZONE 'UTC', {TS}), outcome, details::text \
             FROM {} ORDER BY started_at, run_id",
            self.t("runs")
        );
        let rows = client.query(&sql, &[]).await?;
        Ok(rows
            .iter()
            .map(|r| RunRow {
                run_id: r.get(0),
                environment: r.get(1),
                action: r.get(2),
                operator: r.get(3),
                client_host: r.get(4),
                started_at: r.get(5),
                finished_at: r.get(6),
                outcome: r.get(7),
                details: r.get(8),
            })
            .collect())
    }
}

/// A runs row as stored; `record::details::RunRecord` reads its details.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub run_id: String,
    pub environment: String,
    pub action: String,
    pub operator: String,
    pub client_host: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub outcome: String,
    /// JSON, as `record::details::RunDetails` wrote it.
    pub details: String,
}
