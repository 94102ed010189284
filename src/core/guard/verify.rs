//! Verify after a change (or on demand): what a failed or half-done migration leaves behind,
//! per-migration checks, and at higher levels schema drift, sequences and security.

use tokio_postgres::{Client, SimpleQueryMessage};

use crate::core::data::config::{Environment, Tier};
use crate::core::data::plan::{MigrationState, Status};
use crate::core::db::ledger::Ledger;
use crate::core::error::{Error, Result};
use crate::core::guard::precheck::{check, Check, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Basic,
    Standard,
    Comprehensive,
}

impl Level {
    pub fn parse(s: &str) -> Result<Level> {
        Ok(match s {
            "basic" => Level::Basic,
            "standard" => Level::Standard,
            "comprehensive" => Level::Comprehensive,
            other => {
                return Err(Error::input(format!(
                    "verify level {other:?}: use basic, standard or comprehensive"
                )))
            }
        })
    }
}

async fn names(client: &Client, sql: &str) -> Result<Vec<String>> {
    Ok(client.query(sql, &[]).await?.iter().map(|r| r.get::<_, String>(0)).collect())
}

pub struct VerifyInputs<'a> {
    pub env: &'a Environment,
    pub ledger: &'a Ledger,
    pub status: &'a Status,
    /// "local socket" or "loopback": no network between sluice and the server.
    pub local_link: Option<&'static str>,
}

pub async fn run(client: &Client, cx: &VerifyInputs<'_>, level: Level) -> Result<Vec<Check>> {
    // Both only read: asked at once, they travel back to back on the connection.
    let (indexes, constraints) =
        tokio::join!(invalid_indexes(client), not_valid_constraints(client));
    let mut out = vec![indexes?, constraints?, ledger_vs_files(cx)];
    if level >= Level::Standard {
        out.push(schema_snapshot(client, cx).await?);
        for item in cx.status.items.iter().filter(|i| i.state == MigrationState::Applied) {
            if let Some(v) = item.migration.as_ref().and_then(|m| m.verify.as_ref()) {
                out.push(migration_verify(client, v).await);
            }
        }
        out.push(sequences(client).await?);
    }
    if level >= Level::Comprehensive {
        out.push(foreign_key_indexes(client).await?);
        out.extend(security(client, cx).await?);
    }
    Ok(out)
}

/// Indexes a failed CONCURRENTLY build left INVALID, with the statement that cleans up.
async fn invalid_indexes(client: &Client) -> Result<Check> {
    let invalid = names(
        client,
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_index i
         JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE NOT i.indisvalid ORDER BY 1",
    )
    .await?;
    Ok(if invalid.is_empty() {
        check("invalid indexes", Outcome::Pass, "none")
    } else {
        let fixes: Vec<String> =
            invalid.iter().map(|i| format!("DROP INDEX CONCURRENTLY IF EXISTS {i};")).collect();
        check(
            "invalid indexes",
            Outcome::Fail,
            format!(
                "{} (a failed CONCURRENTLY build); clean up with: {}",
                invalid.join(", "),
                fixes.join(" ")
            ),
        )
    })
}

async fn not_valid_constraints(client: &Client) -> Result<Check> {
    let not_valid = names(
        client,
        "SELECT format('%s.%I', k.conrelid::regclass, k.conname) FROM pg_constraint k
         WHERE NOT k.convalidated AND k.conrelid <> 0 ORDER BY 1",
    )
    .await?;
    Ok(if not_valid.is_empty() {
        check("not valid constraints", Outcome::Pass, "none")
    } else {
        check(
            "not valid constraints",
            Outcome::Warn,
            format!("{}: VALIDATE CONSTRAINT them in a later migration", not_valid.join(", ")),
        )
    })
}

/// Failed, drifted or missing migrations: the ledger and the files disagree.
fn ledger_vs_files(cx: &VerifyInputs<'_>) -> Check {
    let off: Vec<String> = cx
        .status
        .items
        .iter()
        .filter(|i| {
            matches!(
                i.state,
                MigrationState::Failed | MigrationState::Drifted | MigrationState::Missing
            )
        })
        .map(|i| format!("{} {}", i.label(), i.state.as_str()))
        .collect();
    if off.is_empty() {
        check("ledger vs files", Outcome::Pass, "consistent")
    } else {
        let failed = off.iter().any(|o| o.ends_with("failed"));
        check("ledger vs files", if failed { Outcome::Fail } else { Outcome::Warn }, off.join(", "))
    }
}

async fn schema_snapshot(client: &Client, cx: &VerifyInputs<'_>) -> Result<Check> {
    Ok(match cx.ledger.last_snapshot(client).await? {
        None => check("schema snapshot", Outcome::Warn, "no snapshot yet"),
        Some((_, at, before)) => {
            let live = crate::core::db::schema::snapshot(client, cx.ledger.schema()).await?;
            if live == before {
                check("schema snapshot", Outcome::Pass, format!("matches the snapshot of {at}"))
            } else {
                check(
                    "schema snapshot",
                    Outcome::Warn,
                    format!("differs from the snapshot of {at}: see sluice diff"),
                )
            }
        }
    })
}

/// A migration's verify file holds when it returns no rows, or one row of one `true`.
async fn migration_verify(client: &Client, v: &crate::core::data::source::SqlFile) -> Check {
    let name = "migration verify";
    match client.simple_query(&v.text).await {
        Err(e) => check(
            name,
            Outcome::Fail,
            format!("{}: {}", v.path.display(), crate::core::error::describe_pg(&e)),
        ),
        Ok(msgs) => {
            let rows: Vec<Vec<Option<String>>> = msgs
                .iter()
                .filter_map(|m| match m {
                    SimpleQueryMessage::Row(r) => {
                        Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                    }
                    _ => None,
                })
                .collect();
            let ok = rows.is_empty()
                || (rows.len() == 1 && rows[0].len() == 1 && rows[0][0].as_deref() == Some("t"));
            if ok {
                check(name, Outcome::Pass, format!("{} holds", v.path.display()))
            } else {
                check(
                    name,
                    Outcome::Fail,
                    format!(
                        "{} returned {} row(s): {:?}",
                        v.path.display(),
                        rows.len(),
                        rows.first()
                    ),
                )
            }
        }
    }
}

/// The sequence nearest its maximum.
async fn sequences(client: &Client) -> Result<Check> {
    let seqs = client
        .query(
            "SELECT format('%I.%I', schemaname, sequencename),
                    (coalesce(last_value, start_value)::float8 - min_value::float8) / (max_value::float8 - min_value::float8)
             FROM pg_sequences WHERE max_value > min_value ORDER BY 2 DESC LIMIT 5",
            &[],
        )
        .await?;
    let worst = seqs.first().map(|r| (r.get::<_, String>(0), r.get::<_, f64>(1)));
    Ok(match worst {
        Some((s, used)) if used > 0.95 => {
            check("sequences", Outcome::Fail, format!("{s} is {:.0}% used", used * 100.0))
        }
        Some((s, used)) if used > 0.8 => {
            check("sequences", Outcome::Warn, format!("{s} is {:.0}% used", used * 100.0))
        }
        _ => check("sequences", Outcome::Pass, "none near exhaustion"),
    })
}

/// Foreign keys with no index on the referencing columns (every delete on the parent scans).
async fn foreign_key_indexes(client: &Client) -> Result<Check> {
    let unindexed = names(
        client,
        "SELECT format('%s (%s)', k.conrelid::regclass, k.conname) FROM pg_constraint k
         WHERE k.contype = 'f' AND NOT EXISTS (
             SELECT 1 FROM pg_index i WHERE i.indrelid = k.conrelid
               AND (i.indkey::int2[])[0:cardinality(k.conkey) - 1] @> k.conkey
               AND k.conkey @> (i.indkey::int2[])[0:cardinality(k.conkey) - 1])
         ORDER BY 1",
    )
    .await?;
    Ok(if unindexed.is_empty() {
        check("foreign key indexes", Outcome::Pass, "every foreign key has an index on its columns")
    } else {
        check(
            "foreign key indexes",
            Outcome::Warn,
            format!("no index on the referencing side: {}", unindexed.join(", ")),
        )
    })
}

/// A superuser in production, PUBLIC's CREATE on schema public, TLS.
async fn security(client: &Client, cx: &VerifyInputs<'_>) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    let r = client
        .query_one(
            "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
                    has_schema_privilege('public', 'public', 'CREATE'),
                    coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
            &[],
        )
        .await?;
    let (superuser, public_create, ssl): (bool, bool, bool) = (r.get(0), r.get(1), r.get(2));
    let prod = cx.env.tier == Tier::Production;
    checks.push(match superuser {
        false => check("role", Outcome::Pass, "not a superuser"),
        true if prod => check(
            "role",
            Outcome::Fail,
            "migrations run as a superuser in production: use an owner role",
        ),
        true => check("role", Outcome::Warn, "migrations run as a superuser"),
    });
    checks.push(if public_create {
        check(
            "schema public",
            Outcome::Warn,
            "PUBLIC may CREATE in schema public: REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        )
    } else {
        check("schema public", Outcome::Pass, "PUBLIC cannot CREATE")
    });
    checks.push(match (ssl, cx.local_link, prod) {
        (true, _, _) => check("tls", Outcome::Pass, "in use"),
        (false, Some(link), _) => check("tls", Outcome::Pass, link),
        (false, None, true) => check("tls", Outcome::Fail, "not in use in production"),
        (false, None, false) => check("tls", Outcome::Warn, "not in use"),
    });
    Ok(checks)
}
