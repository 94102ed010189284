//! The layout's own history table, kept in step with the ledger: golang-migrate's one-row
//! `schema_migrations`, dbmate's `schema_migrations`, sqlx's `_sqlx_migrations`, diesel's
//! `__diesel_schema_migrations`, created and written as the tool writes them (unqualified,
//! so in the connection's current schema). The tool then sees what sluice ran, a team can go
//! back to it, and migrations that touch the tool's table (Harbor's add a column to
//! golang-migrate's) find it. Flyway's, Prisma's and Drizzle's tables are not kept.

use tokio_postgres::Client;

use crate::core::data::source::{Layout, Migration};
use crate::core::db::ledger::batched::literal;
use crate::core::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToolTable {
    GolangMigrate,
    Dbmate,
    Sqlx,
    Diesel,
}

/// What is in the database under the tool's table name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableState {
    /// Created now, or already there with the tool's columns.
    Kept,
    /// A table of that name without the tool's columns (the project's own): left alone.
    Foreign { table: String, columns: Vec<String> },
}

impl ToolTable {
    pub fn for_layout(layout: Layout) -> Option<ToolTable> {
        match layout {
            Layout::GolangMigrate => Some(ToolTable::GolangMigrate),
            Layout::Dbmate => Some(ToolTable::Dbmate),
            Layout::Sqlx => Some(ToolTable::Sqlx),
            Layout::Diesel => Some(ToolTable::Diesel),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ToolTable::GolangMigrate | ToolTable::Dbmate => "schema_migrations",
            ToolTable::Sqlx => "_sqlx_migrations",
            ToolTable::Diesel => "__diesel_schema_migrations",
        }
    }

    pub fn tool(self) -> &'static str {
        match self {
            ToolTable::GolangMigrate => "golang-migrate",
            ToolTable::Dbmate => "dbmate",
            ToolTable::Sqlx => "sqlx",
            ToolTable::Diesel => "diesel",
        }
    }

    /// The tool's own CREATE TABLE IF NOT EXISTS.
    fn create(self) -> &'static str {
        match self {
            ToolTable::GolangMigrate => "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint not null primary key, dirty boolean not null)",
            ToolTable::Dbmate => "CREATE TABLE IF NOT EXISTS schema_migrations (version varchar primary key)",
            ToolTable::Sqlx => "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)",
            ToolTable::Diesel => "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        }
    }

    /// The columns sluice writes; a table missing one is not the tool's.
    fn columns(self) -> &'static [&'static str] {
        match self {
            ToolTable::GolangMigrate => &["version", "dirty"],
            ToolTable::Dbmate | ToolTable::Diesel => &["version"],
            ToolTable::Sqlx => &["version", "description", "success", "checksum", "execution_time"],
        }
    }

    /// Creates the table as the tool would, or checks that the one already there is the
    /// tool's. Run outside a migration's transaction, so a failed migration cannot take
    /// the table with it.
    pub async fn ensure(self, client: &Client) -> Result<TableState> {
        let found: Vec<String> = client
            .query(
                "SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                &[&self.name()],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if found.is_empty() {
            client.batch_execute(self.create()).await?;
            return Ok(TableState::Kept);
        }
        if self.columns().iter().all(|c| found.iter().any(|f| f == c)) {
            return Ok(TableState::Kept);
        }
        let table: String =
            client.query_one("SELECT to_regclass($1)::text", &[&self.name()]).await?.get(0);
        Ok(TableState::Foreign { table, columns: found })
    }
}

/// One migration as its tool records it, for the row sluice writes beside its ledger row.
#[derive(Debug, Clone)]
pub struct ToolRow {
    pub table: ToolTable,
    /// The version as the tool stores it.
    version: String,
    /// sqlx: the description and the file's SHA-384.
    description: String,
    checksum: Vec<u8>,
    up: bool,
    /// golang-migrate keeps one row, the current version: after a down, the applied
    /// version below it (None: nothing left).
    current_after: Option<String>,
}

impl ToolRow {
    /// The row an up of `m` writes; None where the layout has no table sluice keeps.
    pub fn up(m: &Migration) -> Result<Option<ToolRow>> {
        let Some(table) = ToolTable::for_layout(m.up.layout) else { return Ok(None) };
        let checksum = match table {
            ToolTable::Sqlx => match crate::core::db::foreign::file_sum(Layout::Sqlx, m)? {
                Some(crate::core::db::foreign::Sum::Sha384(b)) => b,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        Ok(Some(ToolRow {
            table,
            version: tool_version(table, m.version.as_str(), m.version.key()),
            description: m.name.replace('_', " "),
            checksum,
            up: true,
            current_after: None,
        }))
    }

    /// The row change a down of version `version` (text, key) makes; `below` is the applied
    /// version under it, as (text, key).
    pub fn down(
        layout: Layout,
        version: (&str, &str),
        below: Option<(&str, &str)>,
    ) -> Option<ToolRow> {
        let table = ToolTable::for_layout(layout)?;
        Some(ToolRow {
            table,
            version: tool_version(table, version.0, version.1),
            description: String::new(),
            checksum: Vec::new(),
            up: false,
            current_after: below.map(|(text, key)| tool_version(table, text, key)),
        })
    }

    /// The SQL that records the change, to run in the migration's transaction: one
    /// statement per element. `duration_ns` is an SQL expression (sqlx keeps the time).
    pub fn statements(&self, duration_ns: &str) -> Vec<String> {
        let t = self.table.name();
        let v = literal(&self.version);
        match (self.table, self.up) {
            (ToolTable::GolangMigrate, up) => {
                let current =
                    if up { Some(self.version.as_str()) } else { self.current_after.as_deref() };
                let mut out = vec![format!("TRUNCATE {t}")];
                if let Some(c) = current {
                    out.push(format!(
                        "INSERT INTO {t} (version, dirty) VALUES ({}, false)",
                        literal(c)
                    ));
                }
                out
            }
            // A row the tool already holds (it ran that migration before sluice adopted the
            // database) stays as the tool wrote it.
            (ToolTable::Sqlx, true) => {
                let sum: String = self.checksum.iter().map(|b| format!("{b:02x}")).collect();
                vec![format!(
                    "INSERT INTO {t} (version, description, success, checksum, execution_time) SELECT {v}, {}, true, decode('{sum}', 'hex'), {duration_ns} WHERE NOT EXISTS (SELECT 1 FROM {t} WHERE version = {v})",
                    literal(&self.description)
                )]
            }
            (ToolTable::Dbmate | ToolTable::Diesel, true) => vec![format!(
                "INSERT INTO {t} (version) SELECT {v} WHERE NOT EXISTS (SELECT 1 FROM {t} WHERE version = {v})"
            )],
            (_, false) => vec![format!("DELETE FROM {t} WHERE version = {v}")],
        }
    }
}

/// golang-migrate and sqlx keep the version as a number; dbmate and diesel as its text.
fn tool_version(table: ToolTable, text: &str, key: &str) -> String {
    match table {
        ToolTable::GolangMigrate | ToolTable::Sqlx => key.to_string(),
        ToolTable::Dbmate | ToolTable::Diesel => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golang_migrate_keeps_one_row_the_current_version() {
        let down = ToolRow::down(Layout::GolangMigrate, ("000003", "3"), Some(("000002", "2")));
        let sql = down.unwrap().statements("0");
        assert_eq!(
            sql,
            [
                "TRUNCATE schema_migrations",
                "INSERT INTO schema_migrations (version, dirty) VALUES (E'2', false)"
            ]
        );
        let last = ToolRow::down(Layout::GolangMigrate, ("000001", "1"), None).unwrap();
        assert_eq!(last.statements("0"), ["TRUNCATE schema_migrations"]);
        let dbmate = ToolRow::down(Layout::Dbmate, ("0042", "42"), None).unwrap();
        assert_eq!(
            dbmate.statements("0"),
            ["DELETE FROM schema_migrations WHERE version = E'0042'"]
        );
        assert!(ToolRow::down(Layout::Flyway, ("1", "1"), None).is_none());
    }
}
