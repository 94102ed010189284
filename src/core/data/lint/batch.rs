//! Batched backfills at lint time: a `-- sluice:batch` that cannot run is an error here as
//! at apply; a big UPDATE or DELETE without one is a warning (sizes come from the server).

use super::TableSize;
use crate::core::data::sql::backfill;
use crate::core::data::sql::Statement;

/// Rows above which one UPDATE or DELETE of the table asks to be batched.
const BIG: f64 = 100_000.0;

/// A finding: rule, statement index, detail, table.
pub(super) type Hit = (&'static str, usize, String, Option<String>);

pub(super) fn findings(
    text: &str,
    statements: &[Statement],
    transactional: bool,
    size: impl Fn(&str) -> Option<TableSize>,
) -> Vec<Hit> {
    let mut out = Vec::new();
    for (i, s) in statements.iter().enumerate() {
        let spec = match backfill::directive(text, s) {
            Ok(spec) => spec,
            Err(e) => {
                out.push(("batch-directive", i, e, None));
                continue;
            }
        };
        // Only an UPDATE or a DELETE can be a backfill: the others are not parsed again.
        let verb = s.keywords.first().map(String::as_str);
        if spec.is_none() && !matches!(verb, Some("UPDATE" | "DELETE")) {
            continue;
        }
        let plan = backfill::plan(s);
        match (spec, plan) {
            (Some(_), Err(e)) => out.push(("batch-directive", i, e, None)),
            (Some(_), Ok(_)) if transactional => out.push((
                "batch-directive",
                i,
                "the migration runs in one transaction, so its batches could not commit one by one"
                    .into(),
                None,
            )),
            (None, Ok(p)) if size(&p.table).is_some_and(|z| z.rows >= BIG) => {
                out.push(("unbatched-backfill", i, String::new(), Some(p.table)))
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(text: &str, transactional: bool, rows: f64) -> Vec<(&'static str, usize)> {
        let statements = crate::core::data::sql::split(text).unwrap();
        let size = |t: &str| (t == "accounts").then_some(TableSize { rows, bytes: 0 });
        findings(text, &statements, transactional, size).into_iter().map(|h| (h.0, h.1)).collect()
    }

    #[test]
    fn a_big_update_asks_for_batches_and_a_bad_directive_is_an_error() {
        let update = "UPDATE accounts SET plan = 'free' WHERE plan IS NULL;";
        assert_eq!(hits(update, true, 5e6), [("unbatched-backfill", 0)]);
        assert!(hits(update, true, 5e3).is_empty(), "a small table is fine");
        let batched = format!("-- sluice:no-transaction\n-- sluice:batch rows=5000\n{update}");
        assert!(hits(&batched, false, 5e6).is_empty());
        assert_eq!(hits(&batched, true, 5e6), [("batch-directive", 0)], "in a transaction");
        let insert = "-- sluice:batch rows=5\nINSERT INTO accounts VALUES (1);";
        assert_eq!(hits(insert, false, 0.0), [("batch-directive", 0)]);
    }
}
