//! The locks each statement of a dry run requests, named by the table they belong to.
//!
//! The rehearsal runs every pending migration in one transaction, so pg_locks shows a lock
//! only the first time the transaction takes it. Each statement's locks are read right after
//! it, mapped to the existing table they protect (an index, a TOAST table and a rewrite's new
//! heap are the table, for the application that waits on them), and compared with what the
//! transaction held before. Where the statement needs a lock the transaction already holds,
//! its known lock level stands in for what pg_locks cannot show, marked as such. Relations
//! the run creates are left out: nobody else can see them before the run commits.

use std::collections::HashMap;

use tokio_postgres::Client;

use crate::core::data::lint::locks::expected_locks;
use crate::core::data::sql::{LockMode, Statement};
use crate::core::error::Result;
use crate::core::record::report::{LockSource, LockTaken};

struct Rel {
    /// The table it belongs to, schema-qualified.
    owner: String,
    /// Whether it is the table itself (not one of its indexes or its TOAST table).
    is_table: bool,
}

pub(crate) struct LockObserver {
    /// Every relation in the database when the dry run began, by oid.
    catalog: HashMap<u32, Rel>,
    /// The tables' files now (relfilenode), to see a rewrite.
    files: HashMap<u32, u32>,
    /// The strongest lock the transaction holds per table so far.
    held: HashMap<String, LockMode>,
}

impl LockObserver {
    /// Reads the catalog as the dry run begins (and whatever the transaction holds already).
    pub(crate) async fn start(client: &Client, ledger_schema: &str) -> Result<LockObserver> {
        let rows = client
            .query(
                "SELECT c.oid, c.relfilenode, o.oid = c.oid, n.nspname || '.' || o.relname
                 FROM pg_class c
                 LEFT JOIN pg_index i ON i.indexrelid = c.oid
                 JOIN pg_class base ON base.oid = coalesce(i.indrelid, c.oid)
                 LEFT JOIN pg_class toasted ON toasted.reltoastrelid = base.oid
                 JOIN pg_class o ON o.oid = coalesce(toasted.oid, base.oid)
                 JOIN pg_namespace n ON n.oid = o.relnamespace
                 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', $1)
                   AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'",
                &[&ledger_schema],
            )
            .await?;
        let mut catalog = HashMap::with_capacity(rows.len());
        let mut files = HashMap::new();
        for r in rows {
            let (oid, file, is_table): (u32, u32, bool) = (r.get(0), r.get(1), r.get(2));
            if is_table {
                files.insert(oid, file);
            }
            catalog.insert(oid, Rel { owner: r.get(3), is_table });
        }
        let mut me = LockObserver { catalog, files, held: HashMap::new() };
        me.held = me.read(client).await?.0;
        Ok(me)
    }

    /// The locks `stmt` is known to take, on the tables named as the catalog names them;
    /// read before the statement runs (it may drop or rename the table).
    pub(crate) async fn expect(
        &self,
        client: &Client,
        stmt: &Statement,
    ) -> Result<Vec<(LockMode, String)>> {
        let mut out = Vec::new();
        for (mode, rel) in expected_locks(stmt) {
            if rel.is_empty() || rel.contains(' ') {
                continue;
            }
            let row = client.query_one("SELECT to_regclass($1)::oid", &[&rel]).await?;
            let oid: Option<u32> = row.get(0);
            if let Some(r) = oid.and_then(|o| self.catalog.get(&o)) {
                out.push((mode, r.owner.clone()));
            }
        }
        Ok(out)
    }

    /// The locks the statement just run requested: what pg_locks shows it added, the table
    /// it rewrote, and its known lock where the transaction held that already.
    pub(crate) async fn after(
        &mut self,
        client: &Client,
        expected: Vec<(LockMode, String)>,
    ) -> Result<Vec<LockTaken>> {
        let (now, rewritten) = self.read(client).await?;
        let mut out: Vec<LockTaken> = Vec::new();
        for (owner, mode) in &now {
            let before = self.held.get(owner).copied();
            let rewrite = rewritten.contains(owner);
            if before.is_none_or(|b| *mode > b) || rewrite {
                let source = if before.is_none_or(|b| *mode > b) {
                    LockSource::Observed
                } else {
                    LockSource::Statement
                };
                out.push(LockTaken { relation: owner.clone(), mode: *mode, source, rewrite });
            }
        }
        for (mode, owner) in expected {
            let seen = out.iter().any(|l| l.relation == owner && l.mode >= mode);
            let held_already = self.held.get(&owner).is_some_and(|h| *h >= mode);
            if !seen && held_already {
                out.push(LockTaken {
                    relation: owner,
                    mode,
                    source: LockSource::Statement,
                    rewrite: false,
                });
            }
        }
        for (owner, mode) in now {
            let e = self.held.entry(owner).or_insert(mode);
            *e = (*e).max(mode);
        }
        out.sort_by(|a, b| b.mode.cmp(&a.mode).then(a.relation.cmp(&b.relation)));
        Ok(out)
    }

    /// The strongest lock held per existing table now, and the tables whose file changed
    /// and holds rows (TRUNCATE's new empty file is no rewrite). The size is read only of
    /// tables this transaction holds a lock on, so it never waits.
    async fn read(&mut self, client: &Client) -> Result<(HashMap<String, LockMode>, Vec<String>)> {
        let rows = client
            .query(
                "SELECT l.relation, l.mode, c.relfilenode,
                        CASE WHEN c.relkind IN ('r', 'm') THEN pg_relation_size(c.oid) END
                 FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation
                 WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[],
            )
            .await?;
        let mut modes: HashMap<String, LockMode> = HashMap::new();
        let mut rewritten = Vec::new();
        for r in rows {
            let oid: u32 = r.get(0);
            // Predicate locks (SIReadLock) share locktype 'relation' but are no table mode.
            let Some(mode) = LockMode::from_pg(r.get(1)) else { continue };
            let Some(rel) = self.catalog.get(&oid) else { continue };
            let e = modes.entry(rel.owner.clone()).or_insert(mode);
            *e = (*e).max(mode);
            let (file, size): (Option<u32>, Option<i64>) = (r.get(2), r.get(3));
            if let (true, Some(file)) = (rel.is_table, file) {
                let was = self.files.insert(oid, file);
                if was.is_some_and(|w| w != file) && size.is_some_and(|s| s > 0) {
                    rewritten.push(rel.owner.clone());
                }
            }
        }
        Ok((modes, rewritten))
    }
}
