//! Other tools' history tables, read as each tool writes them, and their checksums of a
//! migration file: what `sluice adopt` needs to take over a database in place.

use std::path::Path;

use sha2::{Digest, Sha256, Sha384};
use tokio_postgres::Client;

use crate::core::data::source::{Layout, Migration, Version};
use crate::core::data::sql::quote_ident;
use crate::core::error::{Error, Refusal, Result};

/// Where a tool keeps its history by default, in the order to look.
pub fn default_tables(tool: Layout) -> &'static [&'static str] {
    match tool {
        // Flyway before 5 called it schema_version.
        Layout::Flyway => &["flyway_schema_history", "schema_version"],
        Layout::GolangMigrate | Layout::Dbmate => &["schema_migrations"],
        Layout::Diesel => &["__diesel_schema_migrations"],
        Layout::Sqlx => &["_sqlx_migrations"],
        Layout::Prisma => &["_prisma_migrations"],
        Layout::Drizzle => &["__drizzle_migrations"],
        Layout::Goose => &["goose_db_version"],
        Layout::SqlMigrate => &["gorp_migrations"],
        Layout::Native => &[],
    }
}

/// What the other tool says about one migration.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    Applied,
    /// Below a Flyway baseline: the schema had it before Flyway did.
    Baselined,
    /// The tool stopped part-way: golang-migrate's dirty flag, a failed row.
    Failed(String),
}

/// One migration in the other tool's history.
#[derive(Debug, Clone)]
pub struct ForeignRow {
    /// The tool's key: a version, a Flyway repeatable's `R__<desc>`, or a drizzle `when`.
    pub key: Key,
    pub recorded: Recorded,
    pub checksum: Option<Sum>,
    pub applied_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Version(Version),
    /// Flyway repeatables are known by description (underscores as spaces).
    Repeatable(String),
    /// Drizzle records the journal's `when`.
    Millis(i64),
    /// golang-migrate records only the newest version: every one up to it is applied.
    UpTo(Version),
    /// sql-migrate records the file's name.
    File(String),
}

/// A tool's own checksum of a migration, as stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Sum {
    Crc32(i32),
    Sha384(Vec<u8>),
    Sha256Hex(String),
}

impl std::fmt::Display for Sum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sum::Crc32(n) => write!(f, "{n}"),
            Sum::Sha384(b) => b.iter().try_for_each(|x| write!(f, "{x:02x}")),
            Sum::Sha256Hex(s) => f.write_str(s),
        }
    }
}

/// The checksum `tool` would record for this migration's file, as stored by it.
pub fn file_sum(tool: Layout, m: &Migration) -> Result<Option<Sum>> {
    let raw = || -> Result<Vec<u8>> {
        std::fs::read(&m.up.path).map_err(|e| Error::input(format!("{}: {e}", m.up.path.display())))
    };
    Ok(match tool {
        Layout::Flyway => Some(Sum::Crc32(flyway_crc(&raw()?))),
        Layout::Sqlx => Some(Sum::Sha384(Sha384::digest(raw()?).to_vec())),
        Layout::Prisma | Layout::Drizzle => Some(Sum::Sha256Hex(hex(&Sha256::digest(raw()?)))),
        _ => None,
    })
}

/// Whether the tool's stored checksum is the file's. Prisma compares with line endings
/// normalised too (a checkout on Windows must not read as an edit).
pub fn same(tool: Layout, stored: &Sum, m: &Migration) -> Result<bool> {
    let Some(file) = file_sum(tool, m)? else { return Ok(true) };
    if &file == stored {
        return Ok(true);
    }
    if tool == Layout::Prisma {
        let text = crate::core::data::source::SqlFile::read_text(&m.up.path)?;
        let lf = text.replace("\r\n", "\n");
        let crlf = lf.replace('\n', "\r\n");
        for t in [lf, crlf] {
            if Sum::Sha256Hex(hex(&Sha256::digest(t.as_bytes()))) == *stored {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// CRC-32 (IEEE) as java.util.zip.CRC32 computes it.
pub fn crc32(bytes: &[u8], mut crc: u32) -> u32 {
    crc = !crc;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Flyway's checksum: CRC-32 over the file's lines without their line breaks (\n, \r\n or
/// \r, as Java's readLine splits them), a BOM dropped from the first, stored as an int.
pub fn flyway_crc(bytes: &[u8]) -> i32 {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut crc = 0u32;
    let mut i = 0;
    let mut start = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                crc = crc32(&bytes[start..i], crc);
                start = i + 1;
            }
            b'\r' => {
                crc = crc32(&bytes[start..i], crc);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        crc = crc32(&bytes[start..], crc);
    }
    crc as i32
}

/// The table holding `tool`'s history: `schema.table` given, or the first default name
/// found (in the search path first). Two schemas holding one is an error: say which.
pub async fn find_table(client: &Client, tool: Layout, given: Option<&str>) -> Result<String> {
    let mut names: Vec<String> = default_tables(tool).iter().map(|s| s.to_string()).collect();
    let mut schema: Option<String> = None;
    if let Some(g) = given {
        let (s, t) = match g.split_once('.') {
            Some((s, t)) => (Some(s.to_string()), t.to_string()),
            None => (None, g.to_string()),
        };
        names = vec![t];
        schema = s;
    }
    let rows = client
        .query(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname = ANY($1) AND c.relkind IN ('r', 'p') AND ($2::text IS NULL OR n.nspname = $2) \
             ORDER BY array_position($1, c.relname::text), n.nspname = ANY(current_schemas(false)) DESC, n.nspname",
            &[&names, &schema],
        )
        .await?;
    let found: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let Some((s, t)) = found.first() else {
        return Err(Error::input(format!(
            "no {tool} history table ({}) in this database; name the table that holds it",
            names.join(" or ")
        ))
        .with_refusal(Refusal::NameHistoryTable));
    };
    if let Some((s2, _)) = found.iter().skip(1).find(|(s2, t2)| t2 == t && s2 != s) {
        if given.is_none() {
            return Err(Error::input(format!(
                "{t} is in schema {s} and in {s2}; say which (SCHEMA.{t})"
            ))
            .with_refusal(Refusal::NameHistoryTable));
        }
    }
    Ok(format!("{}.{}", quote_ident(s), quote_ident(t)))
}

/// A tool's history table being read: the query text with the table in it, and an error
/// that names the table.
struct History<'a> {
    client: &'a Client,
    tool: Layout,
    table: &'a str,
}

impl History<'_> {
    fn sql(&self, sql: &str) -> String {
        sql.replace("{t}", self.table)
    }

    fn bad(&self, what: &str) -> Error {
        Error::database(format!("{}: {what}; is this {}'s history table?", self.table, self.tool))
    }

    /// A timestamp column as UTC text.
    fn at(&self, col: &str) -> String {
        format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
    }
}

/// Every migration `tool` records in `table`, as the tool itself would read it.
pub async fn read(client: &Client, tool: Layout, table: &str) -> Result<Vec<ForeignRow>> {
    let h = History { client, tool, table };
    match tool {
        Layout::Flyway => read_flyway(&h).await,
        Layout::GolangMigrate => read_golang(&h).await,
        Layout::Dbmate | Layout::Diesel => read_versions(&h).await,
        Layout::Sqlx => read_sqlx(&h).await,
        Layout::Prisma => read_prisma(&h).await,
        Layout::Drizzle => read_drizzle(&h).await,
        Layout::Goose => read_goose(&h).await,
        Layout::SqlMigrate => read_gorp(&h).await,
        Layout::Native => Err(Error::input("sluice's own ledger is not another tool's")),
    }
}

/// Flyway: the newest row of each migration decides (an undo or a delete ends it); a
/// baseline stands for every version up to it.
async fn read_flyway(h: &History<'_>) -> Result<Vec<ForeignRow>> {
    let tool = h.tool;
    let rows = h
        .client
        .query(
            &h.sql(&format!(
                "SELECT installed_rank, version, description, type, checksum, success, {} \
                 FROM {{t}} ORDER BY installed_rank",
                h.at("installed_on::timestamptz")
            )),
            &[],
        )
        .await?;
    // The newest row of each migration decides (an undo or a delete ends it).
    let mut latest: Vec<ForeignRow> = Vec::new();
    let mut baseline: Option<Version> = None;
    for r in rows {
        let version: Option<String> = r.get(1);
        let description: String = r.get(2);
        let kind: String = r.get(3);
        let checksum: Option<i32> = r.get(4);
        let success: bool = r.get(5);
        let key = match &version {
            Some(v) => {
                Key::Version(Version::parse(v).ok_or_else(|| h.bad(&format!("version {v:?}")))?)
            }
            None if kind == "SCHEMA" => continue,
            None => Key::Repeatable(description.clone()),
        };
        latest.retain(|f| f.key != key);
        if kind == "BASELINE" {
            if let Key::Version(v) = &key {
                baseline = Some(v.clone());
            }
            continue;
        }
        if matches!(kind.as_str(), "UNDO_SQL" | "UNDO_JDBC" | "UNDO_SCRIPT" | "DELETE") {
            continue;
        }
        let recorded = if success {
            Recorded::Applied
        } else {
            Recorded::Failed(format!("{tool} recorded it failed (success = false)"))
        };
        latest.push(ForeignRow {
            key,
            recorded,
            checksum: checksum.map(Sum::Crc32),
            applied_at: r.get(6),
        });
    }
    if let Some(b) = baseline {
        latest.push(ForeignRow {
            key: Key::UpTo(b),
            recorded: Recorded::Baselined,
            checksum: None,
            applied_at: None,
        });
    }
    Ok(latest)
}

/// golang-migrate keeps one row: the version reached, and whether it is dirty.
async fn read_golang(h: &History<'_>) -> Result<Vec<ForeignRow>> {
    let mut out = Vec::new();
    let rows = h.client.query(&h.sql("SELECT version, dirty FROM {t}"), &[]).await?;
    if rows.len() > 1 {
        return Err(h.bad("more than one row (golang-migrate keeps one)"));
    }
    for r in rows {
        let v: i64 = r.get(0);
        let dirty: bool = r.get(1);
        let v = Version::parse(&v.to_string()).ok_or_else(|| h.bad("a negative version"))?;
        if dirty {
            out.push(ForeignRow {
                key: Key::Version(v.clone()),
                recorded: Recorded::Failed(
                    "golang-migrate marks it dirty: it failed part-way".into(),
                ),
                checksum: None,
                applied_at: None,
            });
        }
        out.push(ForeignRow {
            key: Key::UpTo(v),
            recorded: Recorded::Applied,
            checksum: None,
            applied_at: None,
        });
    }
    Ok(out)
}

/// dbmate and diesel: one row per applied version.
async fn read_versions(h: &History<'_>) -> Result<Vec<ForeignRow>> {
    let (tool, mut out) = (h.tool, Vec::new());
    let sql = if tool == Layout::Diesel {
        format!("SELECT version::text, {} FROM {{t}}", h.at("run_on::timestamptz"))
    } else {
        "SELECT version::text, NULL::text FROM {t}".to_string()
    };
    for r in h.client.query(&h.sql(&sql), &[]).await? {
        let v: String = r.get(0);
        let v = Version::parse(v.trim()).ok_or_else(|| h.bad(&format!("version {v:?}")))?;
        out.push(ForeignRow {
            key: Key::Version(v),
            recorded: Recorded::Applied,
            checksum: None,
            applied_at: r.get(1),
        });
    }
    Ok(out)
}

/// goose: the newest row of each version decides (goose before 3.0 wrote `is_applied =
/// false` rows for a down; it now deletes); version 0 is the row goose starts its table with.
async fn read_goose(h: &History<'_>) -> Result<Vec<ForeignRow>> {
    let sql = format!(
        "SELECT version_id, is_applied, {} FROM {{t}} ORDER BY id",
        h.at("tstamp::timestamptz")
    );
    let mut latest: std::collections::BTreeMap<i64, (bool, Option<String>)> = Default::default();
    for r in h.client.query(&h.sql(&sql), &[]).await? {
        latest.insert(r.get(0), (r.get(1), r.get(2)));
    }
    let mut out = Vec::new();
    for (v, (applied, at)) in latest {
        if v == 0 || !applied {
            continue;
        }
        let v = Version::parse(&v.to_string()).ok_or_else(|| h.bad("a negative version"))?;
        out.push(ForeignRow {
            key: Key::Version(v),
            recorded: Recorded::Applied,
            checksum: None,
            applied_at: at,
        });
    }
    Ok(out)
}

/// sql-migrate: one row per applied file, by name (a down deletes it).
async fn read_gorp(h: &History<'_>) -> Result<Vec<ForeignRow>> {
    let sql = format!("SELECT id, {} FROM {{t}} ORDER BY id", h.at("applied_at"));
    let rows = h.client.query(&h.sql(&sql), &[]).await?;
    Ok(rows
        .iter()
        .map(|r| ForeignRow {
            key: Key::File(r.get(0)),
            recorded: Recorded::Applied,
            checksum: None,
            applied_at: r.get(1),
        })
        .collect())
}

async fn read_sqlx(h: &History<'_>) -> Result<Vec<ForeignRow>> {
    let mut out = Vec::new();
    let sql = format!("SELECT version, success, checksum, {} FROM {{t}}", h.at("installed_on"));
    for r in h.client.query(&h.sql(&sql), &[]).await? {
        let v: i64 = r.get(0);
        let success: bool = r.get(1);
        let v = Version::parse(&v.to_string()).ok_or_else(|| h.bad("a negative version"))?;
        out.push(ForeignRow {
            key: Key::Version(v),
            recorded: if success {
                Recorded::Applied
            } else {
                Recorded::Failed("sqlx recorded it partially applied (success = false)".into())
            },
            checksum: Some(Sum::Sha384(r.get(2))),
            applied_at: r.get(3),
        });
    }
    Ok(out)
}

/// Prisma: rolled-back attempts do not count, and an applied row wins over a failed one.
async fn read_prisma(h: &History<'_>) -> Result<Vec<ForeignRow>> {
    let mut out: Vec<ForeignRow> = Vec::new();
    let sql = format!(
        "SELECT migration_name, checksum, finished_at IS NOT NULL, logs, {} FROM {{t}} \
         WHERE rolled_back_at IS NULL ORDER BY started_at",
        h.at("coalesce(finished_at, started_at)")
    );
    for r in h.client.query(&h.sql(&sql), &[]).await? {
        let name: String = r.get(0);
        let finished: bool = r.get(2);
        let v = name.split('_').next().and_then(Version::parse);
        let v = v.ok_or_else(|| h.bad(&format!("migration_name {name:?}")))?;
        let key = Key::Version(v);
        let logs: Option<String> = r.get(3);
        let recorded = if finished {
            Recorded::Applied
        } else {
            let first = logs.as_deref().and_then(|l| l.lines().next()).unwrap_or("");
            Recorded::Failed(
                format!("Prisma recorded it failed (not finished) {first}").trim().to_string(),
            )
        };
        // An applied row wins over an earlier failed attempt.
        if let Some(f) = out.iter_mut().find(|f| f.key == key) {
            if f.recorded != Recorded::Applied {
                *f = ForeignRow {
                    key,
                    recorded,
                    checksum: Some(Sum::Sha256Hex(r.get(1))),
                    applied_at: r.get(4),
                };
            }
            continue;
        }
        out.push(ForeignRow {
            key,
            recorded,
            checksum: Some(Sum::Sha256Hex(r.get(1))),
            applied_at: r.get(4),
        });
    }
    Ok(out)
}

/// Drizzle records a hash and the journal's `when`, in order.
async fn read_drizzle(h: &History<'_>) -> Result<Vec<ForeignRow>> {
    let mut out = Vec::new();
    for r in h.client.query(&h.sql("SELECT hash, created_at FROM {t} ORDER BY id"), &[]).await? {
        let when: Option<i64> = r.get(1);
        let when = when.ok_or_else(|| h.bad("a row without created_at"))?;
        out.push(ForeignRow {
            key: Key::Millis(when),
            recorded: Recorded::Applied,
            checksum: Some(Sum::Sha256Hex(r.get(0))),
            applied_at: None,
        });
    }
    Ok(out)
}

/// Drizzle's journal `when` of each migration, by version, for matching its rows.
pub fn drizzle_when(dir: &Path) -> Result<Vec<(Version, i64)>> {
    let entries = crate::core::data::source::drizzle::journal(dir)?;
    Ok(entries.into_iter().filter_map(|e| Some((e.version()?.0, e.when))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_ieee_and_flyway_ignores_line_breaks_and_a_bom() {
        assert_eq!(crc32(b"123456789", 0), 0xCBF4_3926);
        assert_eq!(crc32(b"", 0), 0);
        let lf = flyway_crc(b"CREATE TABLE t (a int);\nSELECT 1;\n");
        assert_eq!(lf, flyway_crc(b"\xEF\xBB\xBFCREATE TABLE t (a int);\r\nSELECT 1;\r\n"));
        assert_eq!(lf, flyway_crc(b"CREATE TABLE t (a int);\rSELECT 1;"));
        assert_eq!(lf, crc32(b"CREATE TABLE t (a int);SELECT 1;", 0) as i32);
        assert_ne!(lf, flyway_crc(b"CREATE TABLE t (a bigint);\nSELECT 1;\n"));
    }
}
