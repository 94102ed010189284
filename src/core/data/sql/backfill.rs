//! Batched backfills: `-- sluice:batch rows=N pause=D` before an UPDATE or DELETE runs it in
//! batches of N rows by primary-key range, in key order, each batch in its own transaction
//! with its checkpoint (the last key done). This reads the directive and cuts the statement
//! where the batch's key range joins it; the database side is `exec::session::migration::
//! backfill`.

use std::time::Duration;

use pg_query::protobuf::Token;
use pg_query::NodeEnum;

use super::{parser, Statement};

/// The directive's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSpec {
    pub rows: u32,
    pub pause: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Update,
    Delete,
}

/// An UPDATE or DELETE cut where a batch's key range joins it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backfill {
    pub verb: Verb,
    /// The target table as the statement names it (`accounts`, `app."Orders"`).
    pub table: String,
    /// What qualifies the target's columns: its alias, or its name.
    pub alias: String,
    /// The statement up to its WHERE: `UPDATE t SET ...[ FROM ...]`, `DELETE FROM t[ USING ...]`.
    pub head: String,
    /// FROM (UPDATE) or USING (DELETE) is there already: the key range joins with a comma.
    pub joins: bool,
    /// The WHERE condition, if any.
    pub condition: Option<String>,
}

/// The directive in the comment lines right above the statement (`file` is the whole
/// migration, `st` one of its statements): None without one, Err for a malformed one.
pub fn directive(file: &str, st: &Statement) -> Result<Option<BatchSpec>, String> {
    let Some(line) = lines_above(file, st)
        .map(|l| l.trim())
        .take_while(|l| l.is_empty() || l.starts_with("--"))
        .filter_map(|l| l.strip_prefix("--"))
        .find_map(|c| c.trim().strip_prefix("sluice:batch"))
    else {
        return Ok(None);
    };
    let mut spec = BatchSpec { rows: 0, pause: Duration::ZERO };
    for word in line.split_whitespace() {
        let bad =
            || format!("sluice:batch: {word:?}: write rows=N and pause=D (rows=5000 pause=50ms)");
        let (key, value) = word.split_once('=').ok_or_else(bad)?;
        match key {
            "rows" => spec.rows = value.parse().map_err(|_| bad())?,
            "pause" => {
                spec.pause = crate::core::data::config::parse_duration(value).ok_or_else(bad)?
            }
            _ => return Err(bad()),
        }
    }
    if spec.rows == 0 {
        return Err("sluice:batch needs rows=N (N > 0): how many rows each batch takes".into());
    }
    Ok(Some(spec))
}

/// The lines of the file above `st`'s line, nearest first, read back from the statement's
/// own offset (`file` is the text it was split from): a file of many statements is not
/// read again from the top for each.
fn lines_above<'a>(file: &'a str, st: &Statement) -> impl Iterator<Item = &'a str> {
    let before = file.get(..st.start).unwrap_or("");
    let above = before.rfind('\n').map(|p| &before[..p]);
    above.into_iter().flat_map(|a| a.rsplit('\n'))
}

/// Cuts `st` (an UPDATE or DELETE of one table) for batching; Err says why it cannot be.
pub fn plan(st: &Statement) -> Result<Backfill, String> {
    let why = |w: &str| format!("sluice:batch {w}");
    let parsed = parser::parse(&st.text).map_err(|e| why(&format!("cannot parse it: {e}")))?;
    let node =
        parsed.protobuf.stmts.first().and_then(|s| s.stmt.as_ref()).and_then(|s| s.node.as_ref());
    let (verb, rel, joins, with, returning, current_of) = match node {
        Some(NodeEnum::UpdateStmt(u)) => (
            Verb::Update,
            u.relation.as_ref(),
            !u.from_clause.is_empty(),
            u.with_clause.is_some(),
            u.returning_clause.as_ref().is_some_and(|r| !r.exprs.is_empty()),
            is_current_of(u.where_clause.as_deref()),
        ),
        Some(NodeEnum::DeleteStmt(d)) => (
            Verb::Delete,
            d.relation.as_ref(),
            !d.using_clause.is_empty(),
            d.with_clause.is_some(),
            d.returning_clause.as_ref().is_some_and(|r| !r.exprs.is_empty()),
            is_current_of(d.where_clause.as_deref()),
        ),
        _ => return Err(why("applies to an UPDATE or a DELETE; the next statement is neither")),
    };
    if with || returning || current_of {
        return Err(why("takes a plain UPDATE or DELETE: no WITH, RETURNING or WHERE CURRENT OF"));
    }
    let rel = rel.ok_or_else(|| why("found no target table"))?;
    let table = qualified(rel);
    let alias = match &rel.alias {
        Some(a) if !a.aliasname.is_empty() => super::quote_ident(&a.aliasname),
        _ => super::quote_ident(&rel.relname),
    };
    let (where_at, end) = cut_points(&st.text).map_err(|e| why(&e))?;
    let start = super::lexer::skip_trivia(&st.text);
    let head = st.text[start..where_at.unwrap_or(end)].trim_end().to_string();
    let condition = where_at.map(|w| st.text[w + "WHERE".len()..end].trim().to_string());
    Ok(Backfill { verb, table, alias, head, joins, condition })
}

fn qualified(r: &pg_query::protobuf::RangeVar) -> String {
    let name = super::quote_ident(&r.relname);
    if r.schemaname.is_empty() {
        name
    } else {
        format!("{}.{name}", super::quote_ident(&r.schemaname))
    }
}

fn is_current_of(w: Option<&pg_query::protobuf::Node>) -> bool {
    matches!(w.and_then(|n| n.node.as_ref()), Some(NodeEnum::CurrentOfExpr(_)))
}

/// Where the top-level WHERE starts, and where the statement's text ends.
fn cut_points(text: &str) -> Result<(Option<usize>, usize), String> {
    let tokens = parser::scan_tokens(text).map_err(|e| format!("cannot scan it: {e}"))?;
    let (mut depth, mut found) = (0i32, None);
    for t in &tokens {
        match Token::try_from(t.token) {
            Ok(Token::Ascii40) => depth += 1,
            Ok(Token::Ascii41) => depth -= 1,
            Ok(Token::Where) if depth == 0 && found.is_none() => found = Some(t.start as usize),
            _ => {}
        }
    }
    let end = tokens.last().map_or(text.len(), |t| t.end as usize);
    Ok((found, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(sql: &str) -> Statement {
        super::super::split(sql).unwrap().pop().unwrap()
    }

    /// The rule as first written: the file's lines above the statement's line.
    fn lines_above_by_file(file: &str, st: &Statement) -> Vec<String> {
        let above: Vec<&str> = file.lines().take(st.line.saturating_sub(1)).collect();
        let comments = above.iter().rev().map(|l| l.trim());
        let mut kept: Vec<String> = comments
            .take_while(|l| l.is_empty() || l.starts_with("--"))
            .map(String::from)
            .collect();
        kept.reverse();
        kept
    }

    #[test]
    fn the_lines_above_a_statement_are_the_files_whatever_the_layout() {
        let files = [
            "-- sluice:batch rows=5\nUPDATE a SET x = 1",
            "\n\n-- sluice:batch rows=5\n\nUPDATE a SET x = 1",
            "SELECT 1; -- sluice:batch rows=5\nUPDATE a SET x = 1",
            "SELECT 1;\n-- sluice:batch rows=5\nUPDATE a SET x = 1",
            "SELECT 1;\r\n-- a\r\n  -- sluice:batch rows=5\r\nUPDATE a SET x = 1;\r\nSELECT 2",
            "SELECT 1; /* c */\n-- sluice:batch rows=5\nDELETE FROM a",
            "/* head */\n-- sluice:batch rows=5\nDELETE FROM a",
            "SELECT 1;\n\n\nUPDATE a SET x = 1; -- sluice:batch rows=5\nSELECT 3",
        ];
        for file in files {
            for s in super::super::split(file).unwrap() {
                let ours: Vec<String> = lines_above(file, &s)
                    .map(|l| l.trim())
                    .take_while(|l| l.is_empty() || l.starts_with("--"))
                    .map(String::from)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                assert_eq!(ours, lines_above_by_file(file, &s), "{file:?} at line {}", s.line);
            }
        }
    }

    #[test]
    fn the_directive_is_read_from_the_statements_comments() {
        let file = "-- sluice:no-transaction\nCREATE INDEX CONCURRENTLY i ON a (x);\n\n-- backfill\n-- sluice:batch rows=5000 pause=50ms\nUPDATE a SET x = 1";
        let all = super::super::split(file).unwrap();
        assert_eq!(directive(file, &all[0]), Ok(None), "the directive is the next statement's");
        assert_eq!(
            directive(file, &all[1]),
            Ok(Some(BatchSpec { rows: 5000, pause: Duration::from_millis(50) }))
        );
        assert_eq!(directive("UPDATE a SET x = 1", &st("UPDATE a SET x = 1")), Ok(None));
        for bad in ["rows=0", "rows=many", "pause=soon rows=5", "size=5"] {
            let f = format!("-- sluice:batch {bad}\nUPDATE a SET x = 1");
            assert!(directive(&f, &st(&f)).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_update_and_a_delete_are_cut_at_their_top_level_where() {
        let b = plan(&st(
            "-- sluice:batch rows=10\nUPDATE app.\"Accounts\" AS a SET plan = (SELECT p FROM d WHERE d.id = a.id) WHERE a.plan IS NULL",
        ))
        .unwrap();
        assert_eq!(b.verb, Verb::Update);
        assert_eq!(b.table, "app.\"Accounts\"");
        assert_eq!(b.alias, "a");
        assert_eq!(
            b.head,
            "UPDATE app.\"Accounts\" AS a SET plan = (SELECT p FROM d WHERE d.id = a.id)"
        );
        assert_eq!(b.condition.as_deref(), Some("a.plan IS NULL"));
        assert!(!b.joins);
        let d = plan(&st("DELETE FROM events USING old o WHERE events.id = o.id")).unwrap();
        assert_eq!((d.verb, d.alias.as_str(), d.joins), (Verb::Delete, "events", true));
        assert_eq!(d.head, "DELETE FROM events USING old o");
        assert_eq!(plan(&st("UPDATE t SET x = 1")).unwrap().condition, None);
    }

    #[test]
    fn what_cannot_be_batched_says_why() {
        for sql in [
            "INSERT INTO t VALUES (1)",
            "UPDATE t SET x = 1 RETURNING id",
            "WITH a AS (SELECT 1) DELETE FROM t",
        ] {
            assert!(plan(&st(sql)).unwrap_err().starts_with("sluice:batch"), "{sql}");
        }
    }
}
