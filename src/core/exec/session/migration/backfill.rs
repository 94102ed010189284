//! A batched backfill (`-- sluice:batch rows=N pause=D`) on the server: the statement runs
//! batch by batch over the target's primary key in key order, each batch one statement in
//! its own short transaction that also writes the checkpoint (the last key it took), so a
//! kill, a lost connection or a cancel resumes after the last committed batch and every
//! row is touched once. Between batches it pauses, for the application's sake.

use std::time::{Duration, Instant};

use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::{Change, Session};
use crate::core::data::sql::backfill::{self, Backfill, BatchSpec, Verb};
use crate::core::data::sql::quote_ident;
use crate::core::error::Error;
use crate::core::record::report::{Event, MigrationReport};

/// The target's primary key: column names and types, in key order.
const PRIMARY_KEY: &str = "\
    SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) \
      FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
     WHERE i.indrelid = to_regclass($1) AND i.indisprimary \
     ORDER BY array_position(i.indkey::int2[], a.attnum)";

/// The batch directive of statement `i`, if it has one (checked when the file was read).
pub(super) fn spec(step: &Change, i: usize) -> Option<BatchSpec> {
    // The statements were split from the file of the step's direction.
    let text = match step.direction {
        crate::core::data::plan::Direction::Up => &step.up_sql,
        crate::core::data::plan::Direction::Down => step.down_sql.as_ref()?,
    };
    backfill::directive(text, &step.statements[i]).ok().flatten()
}

/// One batch's statement: the next `rows` keys after the checkpoint ($3.. as text), the
/// user's statement joined to them, and the checkpoint written in the same statement.
fn batch_sql(
    b: &Backfill,
    keys: &[(String, String)],
    rows: u32,
    ledger: &str,
    first: bool,
) -> String {
    let cols: Vec<String> = keys.iter().map(|(c, _)| quote_ident(c)).collect();
    let named: Vec<String> = (1..=keys.len()).map(|n| format!("sluice_k{n}")).collect();
    let list =
        |p: &str, c: &[String]| c.iter().map(|c| format!("{p}{c}")).collect::<Vec<_>>().join(", ");
    let bound = if first {
        String::new()
    } else {
        let params: Vec<String> =
            keys.iter().enumerate().map(|(n, (_, t))| format!("${}::text::{t}", n + 3)).collect();
        format!("WHERE ({}) > ({})", list("k.", &cols), params.join(", "))
    };
    let picked: Vec<String> =
        cols.iter().zip(&named).map(|(c, n)| format!("k.{c} AS {n}")).collect();
    let join = match (b.verb, b.joins) {
        (_, true) => ",",
        (Verb::Update, false) => " FROM",
        (Verb::Delete, false) => " USING",
    };
    let on =
        format!("({}) = ({})", list(&format!("{}.", b.alias), &cols), list("sluice_keys.", &named));
    let cond = b.condition.as_ref().map(|c| format!(" AND ({c})")).unwrap_or_default();
    let last: Vec<String> = named.iter().map(|n| format!("{n}::text")).collect();
    let desc: Vec<String> = named.iter().map(|n| format!("{n} DESC")).collect();
    format!(
        "WITH sluice_keys AS (SELECT {picked} FROM {table} k {bound} ORDER BY {order} LIMIT {rows}), \
         sluice_done AS ({head}{join} sluice_keys WHERE {on}{cond} RETURNING 1), \
         sluice_last AS (SELECT ARRAY[{last}] AS k FROM sluice_keys ORDER BY {desc} LIMIT 1), \
         sluice_saved AS (INSERT INTO {ledger} AS b (version, statement, last_key, rows_done, keys_done, batches, updated_at) \
           SELECT $1::text, $2::int4, k, (SELECT count(*) FROM sluice_done), (SELECT count(*) FROM sluice_keys), 1, now() FROM sluice_last \
           ON CONFLICT (version, statement) DO UPDATE SET last_key = EXCLUDED.last_key, \
             rows_done = b.rows_done + EXCLUDED.rows_done, keys_done = b.keys_done + EXCLUDED.keys_done, \
             batches = b.batches + 1, updated_at = now() RETURNING 1) \
         SELECT (SELECT count(*) FROM sluice_keys)::int8, (SELECT count(*) FROM sluice_done)::int8, \
                (SELECT k FROM sluice_last), (SELECT count(*) FROM sluice_saved)::int8",
        picked = picked.join(", "),
        table = b.table,
        order = list("k.", &cols),
        head = b.head,
        last = last.join(", "),
        desc = desc.join(", "),
    )
}

/// Why a backfill stopped: the server refused a batch, or something else did.
pub(super) enum Stop {
    Pg(tokio_postgres::Error),
    Other(Error),
}

/// Where a backfill stands: the last key done, rows touched, keys passed.
#[derive(Default)]
struct Progress {
    last: Option<Vec<String>>,
    rows: i64,
    keys: i64,
}

impl Session {
    /// Runs statement `i` of `step` batch by batch; the rows it touched.
    pub(super) async fn backfill(
        &mut self,
        step: &Change,
        i: usize,
        spec: BatchSpec,
        report: &mut MigrationReport,
    ) -> std::result::Result<u64, Stop> {
        let fail = |e: Error, _: &MigrationReport| Stop::Other(e);
        let st = &step.statements[i];
        let at = format!("{}:{}", step.origin, st.line);
        let plan =
            backfill::plan(st).map_err(|e| fail(Error::input(format!("{at}: {e}")), report))?;
        let keys = self.primary_key(&plan.table).await.map_err(|e| fail(e.context(&at), report))?;
        let table = self.ledger.table("backfills");
        let mut p = self.checkpoint(&table, step, i).await.map_err(|e| fail(e, report))?;
        let estimate = self.estimate(&plan.table).await;
        let (first, next) = (
            batch_sql(&plan, &keys, spec.rows, &table, true),
            batch_sql(&plan, &keys, spec.rows, &table, false),
        );
        let started = Instant::now();
        let (done_before, mut told) = (p.keys, Instant::now() - Duration::from_secs(10));
        loop {
            if self.interrupt.as_ref().is_some_and(|x| x.requested()) {
                let e = Error::database(format!(
                    "{at}: cancelled by the operator; the backfill resumes after key {:?}",
                    p.last
                ));
                return Err(fail(e, report));
            }
            let sql = if p.last.is_none() { &first } else { &next };
            let ran = self.one_batch(sql, step, i, p.last.as_deref().unwrap_or_default()).await;
            let (n, rows, last) = match ran {
                Ok(r) => r,
                Err(e)
                    if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE)
                        && report.lock_retries < self.lock_retries =>
                {
                    self.retry_pause(step, report, Vec::new()).await;
                    continue;
                }
                Err(e) => return Err(Stop::Pg(e)),
            };
            if n == 0 {
                break;
            }
            (p.rows, p.keys, p.last) = (p.rows + rows, p.keys + n, last);
            if told.elapsed() >= Duration::from_secs(1) {
                told = Instant::now();
                self.tell(step, i, &p, estimate, done_before, started);
            }
            // The standbys catch up before the next batch (the checkpoint is committed).
            if let Err(e) = self.wait_for_replicas(&step.version).await {
                return Err(Stop::Other(e.context(&at)));
            }
            self.pause(spec.pause).await;
        }
        self.tell(step, i, &p, estimate, done_before, started);
        Ok(p.rows.max(0) as u64)
    }

    /// One batch in its own transaction with the environment's timeouts: keys taken, rows
    /// touched, the new checkpoint.
    async fn one_batch(
        &self,
        sql: &str,
        step: &Change,
        i: usize,
        last: &[String],
    ) -> std::result::Result<(i64, i64, Option<Vec<String>>), tokio_postgres::Error> {
        let statement = i as i32;
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&step.version, &statement];
        params.extend(last.iter().map(|s| s as &(dyn ToSql + Sync)));
        self.client.batch_execute(&format!("BEGIN; {}", self.timeouts_sql(true))).await?;
        let result = self.client.query_one(sql, &params).await;
        let row = match result {
            Ok(row) => row,
            Err(e) => {
                let _ = self.client.batch_execute("ROLLBACK").await;
                return Err(e);
            }
        };
        self.client.batch_execute("COMMIT").await?;
        Ok((row.get(0), row.get(1), row.get(2)))
    }

    /// The table's primary key, or why it cannot be batched.
    async fn primary_key(&self, table: &str) -> crate::core::error::Result<Vec<(String, String)>> {
        let rows = self.client.query(PRIMARY_KEY, &[&table]).await?;
        if rows.is_empty() {
            return Err(Error::input(format!(
                "sluice:batch: {table} is not there or has no primary key: a batch walks the primary key"
            )));
        }
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// The checkpoint to resume from, on a resumed migration; a fresh one starts over.
    async fn checkpoint(
        &self,
        table: &str,
        step: &Change,
        i: usize,
    ) -> crate::core::error::Result<Progress> {
        let ddl = format!(
            "CREATE TABLE IF NOT EXISTS {table} (version text NOT NULL, statement int NOT NULL, \
             last_key text[], rows_done bigint NOT NULL DEFAULT 0, keys_done bigint NOT NULL DEFAULT 0, \
             batches int NOT NULL DEFAULT 0, updated_at timestamptz, PRIMARY KEY (version, statement))"
        );
        self.client.batch_execute(&ddl).await?;
        let statement = i as i32;
        if !step.resume {
            let sql = format!("DELETE FROM {table} WHERE version = $1 AND statement = $2");
            self.client.execute(&sql, &[&step.version, &statement]).await?;
            return Ok(Progress::default());
        }
        let sql = format!("SELECT last_key, rows_done, keys_done FROM {table} WHERE version = $1 AND statement = $2");
        let row = self.client.query_opt(&sql, &[&step.version, &statement]).await?;
        Ok(row.map_or_else(Progress::default, |r| Progress {
            last: r.get(0),
            rows: r.get(1),
            keys: r.get(2),
        }))
    }

    /// The planner's row count of the table: what the ETA divides by.
    async fn estimate(&self, table: &str) -> Option<i64> {
        let sql = "SELECT reltuples::int8 FROM pg_class WHERE oid = to_regclass($1)";
        let n: Option<i64> =
            self.client.query_opt(sql, &[&table]).await.ok().flatten().map(|r| r.get(0));
        n.filter(|n| *n > 0)
    }

    fn tell(
        &self,
        step: &Change,
        i: usize,
        p: &Progress,
        estimate: Option<i64>,
        before: i64,
        since: Instant,
    ) {
        let secs = since.elapsed().as_secs_f64();
        let rate = if secs > 0.0 { (p.keys - before) as f64 / secs } else { 0.0 };
        let eta_s =
            estimate.filter(|_| rate > 0.0).map(|n| ((n - p.keys).max(0) as f64 / rate) as u64);
        self.emit(Event::Backfill {
            version: step.version.clone(),
            index: i + 1,
            rows_done: p.rows.max(0) as u64,
            keys_done: p.keys.max(0) as u64,
            estimate: estimate.map(|n| n as u64),
            keys_per_s: rate,
            eta_s,
        });
    }
}
