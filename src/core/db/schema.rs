//! A deterministic text rendering of a database's schema from the catalogs, and unified
//! diffs between two renderings (or two SQL texts) with `similar`.

use tokio_postgres::GenericClient;

use crate::core::error::Result;

/// The snapshot's parts, each a query (ending in `;`) whose rows are its lines.
fn queries(ledger_schema: &str) -> Vec<String> {
    const USER_NS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
                           AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' \
                           AND n.nspname <> $1";
    let queries = [
        // Schemas and extensions.
        format!("SELECT 'schema ' || n.nspname || coalesce(' acl ' || n.nspacl::text, '') FROM pg_namespace n WHERE {USER_NS}"),
        "SELECT 'extension ' || extname || ' ' || extversion FROM pg_extension".to_string(),
        // Tables, views, sequences... with their ACLs.
        format!(
            "SELECT 'relation ' || n.nspname || '.' || c.relname || ' kind ' || c.relkind::text || ' persistence ' || c.relpersistence::text
                    || coalesce(' acl ' || c.relacl::text, '')
                    || CASE WHEN c.relkind IN ('v', 'm') THEN E'\\n  definition ' || regexp_replace(pg_get_viewdef(c.oid, true), '\\s+', ' ', 'g') ELSE '' END
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE {USER_NS} AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')"
        ),
        // Columns in table order (logical position, so dropped columns leave no trace).
        format!(
            "SELECT 'column ' || n.nspname || '.' || c.relname || ' '
                    || lpad((row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum))::text, 4, '0')
                    || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                    || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                    || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
                    || CASE a.attidentity WHEN 'a' THEN ' identity always' WHEN 'd' THEN ' identity by default' ELSE '' END
                    || CASE a.attgenerated WHEN 's' THEN ' generated stored' ELSE '' END
             FROM pg_attribute a
             JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE {USER_NS} AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped"
        ),
        format!(
            "SELECT 'constraint ' || n.nspname || '.' || coalesce(c.relname, t.typname, '') || '.' || k.conname || ' '
                    || pg_get_constraintdef(k.oid, true) || CASE WHEN NOT k.convalidated THEN ' (not validated)' ELSE '' END
             FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
             LEFT JOIN pg_class c ON c.oid = k.conrelid LEFT JOIN pg_type t ON t.oid = k.contypid
             WHERE {USER_NS}"
        ),
        format!(
            "SELECT 'index ' || n.nspname || '.' || ic.relname || ' ' || pg_get_indexdef(i.indexrelid)
                    || CASE WHEN NOT i.indisvalid THEN ' (INVALID)' ELSE '' END
             FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
             WHERE {USER_NS}"
        ),
        format!(
            "SELECT 'function ' || p.oid::regprocedure::text || ' ' || md5(pg_get_functiondef(p.oid))
                    || coalesce(' acl ' || p.proacl::text, '')
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE {USER_NS} AND p.prokind IN ('f', 'p', 'w')"
        ),
        format!(
            "SELECT 'trigger ' || n.nspname || '.' || c.relname || '.' || t.tgname || ' ' || pg_get_triggerdef(t.oid, true)
             FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE {USER_NS} AND NOT t.tgisinternal"
        ),
        format!(
            "SELECT 'sequence ' || n.nspname || '.' || c.relname || ' ' || format_type(s.seqtypid, NULL)
                    || ' start ' || s.seqstart || ' increment ' || s.seqincrement || ' max ' || s.seqmax
             FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE {USER_NS}"
        ),
        format!(
            "SELECT 'type ' || n.nspname || '.' || t.typname || ' ' || t.typtype::text
                    || coalesce(' (' || (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                                         FROM pg_enum e WHERE e.enumtypid = t.oid) || ')', '')
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE {USER_NS} AND t.typtype IN ('e', 'd', 'r')
                OR ({USER_NS} AND t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))"
        ),
    ];
    let schema = crate::core::db::ledger::batched::literal(ledger_schema);
    queries.iter().map(|q| format!("{};\n", q.replace("$1", &schema))).collect()
}

/// The parts whose catalog functions (pg_get_constraintdef, pg_get_indexdef) cost the
/// server about half of a snapshot's time. They go to the connection that ran the change:
/// its caches already hold the tables it made, where a fresh backend reads every one from
/// the catalogs (500 new tables: ~30 ms where it was ~50).
const HEAVY_HALF: [usize; 2] = [4, 5];

/// Everything a migration can change, one object per line (or block), sorted, so two
/// snapshots of equal schemas are equal strings. The ledger's own schema is left out.
pub async fn snapshot(client: &impl GenericClient, ledger_schema: &str) -> Result<String> {
    // One query string, one round trip: the schema's parts come back in order.
    let lines = lines(client, &queries(ledger_schema).concat()).await?;
    Ok(render(lines))
}

/// `snapshot`, its two halves read at once over two connections: the same text. `a` is
/// the connection that made the change, `b` the other.
pub async fn snapshot_on_two(
    a: &impl GenericClient,
    b: &impl GenericClient,
    ledger_schema: &str,
) -> Result<String> {
    let (mut heavy, mut rest) = (String::new(), String::new());
    for (i, q) in queries(ledger_schema).into_iter().enumerate() {
        if HEAVY_HALF.contains(&i) {
            heavy.push_str(&q)
        } else {
            rest.push_str(&q)
        }
    }
    // The second connection keeps a short statement_timeout for the watch; this reading
    // may take longer on a large schema.
    let rest = format!("BEGIN; SET LOCAL statement_timeout = 0; {rest} COMMIT;");
    let (x, y) = tokio::join!(lines(a, &heavy), lines(b, &rest));
    if y.is_err() {
        let _ = b.batch_execute("ROLLBACK").await;
    }
    let mut all = x?;
    all.extend(y?);
    Ok(render(all))
}

async fn lines(client: &impl GenericClient, batch: &str) -> Result<Vec<String>> {
    let mut lines: Vec<String> = Vec::new();
    for m in client.simple_query(batch).await? {
        if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
            lines.extend(r.get(0).map(str::to_string));
        }
    }
    Ok(lines)
}

fn render(mut lines: Vec<String>) -> String {
    lines.sort();
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// A unified diff (3 lines of context) between two texts; empty when they are equal.
pub fn unified_diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn diff_marks_changes() {
        let d = super::unified_diff("a\nb\nc\n", "a\nB\nc\n", "before", "after");
        assert!(d.contains("--- before") && d.contains("-b") && d.contains("+B"), "{d}");
        assert!(super::unified_diff("x\n", "x\n", "a", "b").is_empty());
    }
}
