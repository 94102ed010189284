//! The locks a statement takes, from its parse tree: what a dry run reports for statements
//! it cannot rehearse, and for locks its transaction already held. The levels are the ones
//! tests/integration/lock_claims.rs measures on the server.

use pg_query::protobuf::{self, AlterTableType, ConstrType, ObjectType};
use pg_query::NodeEnum;

use crate::core::data::sql::parser;
use crate::core::data::sql::{LockMode, Statement};

fn rel(r: Option<&protobuf::RangeVar>) -> String {
    r.map(|r| {
        if r.schemaname.is_empty() {
            r.relname.clone()
        } else {
            format!("{}.{}", r.schemaname, r.relname)
        }
    })
    .unwrap_or_default()
}

fn has(opts: &[protobuf::Node], name: &str) -> bool {
    opts.iter().any(
        |o| matches!(&o.node, Some(NodeEnum::DefElem(d)) if d.defname.eq_ignore_ascii_case(name)),
    )
}

/// The table a foreign key constraint references.
fn referenced(c: &protobuf::Node) -> Option<String> {
    match &c.node {
        Some(NodeEnum::Constraint(k)) if k.contype == ConstrType::ConstrForeign as i32 => {
            Some(rel(k.pktable.as_ref()))
        }
        _ => None,
    }
}

/// (mode, relation as written) for each relation the statement locks, when known. A
/// relation may be empty where the statement names it indirectly ("the table of index x").
pub fn expected_locks(stmt: &Statement) -> Vec<(LockMode, String)> {
    match parser::parse(&stmt.text) {
        Ok(parsed) => expected_in(&parsed),
        Err(_) => Vec::new(),
    }
}

/// `expected_locks` of a statement already parsed.
fn expected_in(parsed: &pg_query::ParseResult) -> Vec<(LockMode, String)> {
    let Some(node) =
        parsed.protobuf.stmts.first().and_then(|s| s.stmt.as_ref()).and_then(|s| s.node.as_ref())
    else {
        return Vec::new();
    };
    use LockMode::*;
    match node {
        NodeEnum::IndexStmt(x) if x.concurrent => {
            vec![(ShareUpdateExclusive, rel(x.relation.as_ref()))]
        }
        NodeEnum::IndexStmt(x) => vec![(Share, rel(x.relation.as_ref()))],
        NodeEnum::DropStmt(d) => drop_locks(d),
        NodeEnum::ReindexStmt(r) if has(&r.params, "concurrently") => {
            vec![(ShareUpdateExclusive, rel(r.relation.as_ref()))]
        }
        NodeEnum::ReindexStmt(r) => vec![(AccessExclusive, rel(r.relation.as_ref()))],
        NodeEnum::VacuumStmt(v) => {
            let mode = if has(&v.options, "full") { AccessExclusive } else { ShareUpdateExclusive };
            let tables: Vec<(LockMode, String)> = v
                .rels
                .iter()
                .filter_map(|r| match &r.node {
                    Some(NodeEnum::VacuumRelation(vr)) => Some((mode, rel(vr.relation.as_ref()))),
                    _ => None,
                })
                .collect();
            if tables.is_empty() {
                vec![(mode, String::new())]
            } else {
                tables
            }
        }
        NodeEnum::ClusterStmt(c) => vec![(AccessExclusive, rel(c.relation.as_ref()))],
        NodeEnum::TruncateStmt(t) => t
            .relations
            .iter()
            .filter_map(|r| match &r.node {
                Some(NodeEnum::RangeVar(v)) => Some((AccessExclusive, rel(Some(v)))),
                _ => None,
            })
            .collect(),
        NodeEnum::RefreshMatViewStmt(r) => {
            let mode = if r.concurrent { Exclusive } else { AccessExclusive };
            vec![(mode, rel(r.relation.as_ref()))]
        }
        NodeEnum::RenameStmt(r) if r.relation.is_some() => {
            vec![(AccessExclusive, rel(r.relation.as_ref()))]
        }
        NodeEnum::CreateTrigStmt(t) => vec![(ShareRowExclusive, rel(t.relation.as_ref()))],
        NodeEnum::CreateStmt(c) => {
            // A new table's foreign keys lock the tables they reference.
            let inline = c.table_elts.iter().flat_map(|e| match &e.node {
                Some(NodeEnum::ColumnDef(col)) => col.constraints.clone(),
                _ => Vec::new(),
            });
            let table_level = c.table_elts.iter().cloned();
            inline
                .chain(table_level)
                .filter_map(|k| referenced(&k))
                .map(|t| (ShareRowExclusive, t))
                .collect()
        }
        NodeEnum::AlterTableStmt(a) => alter_table(a),
        NodeEnum::UpdateStmt(u) => vec![(RowExclusive, rel(u.relation.as_ref()))],
        NodeEnum::DeleteStmt(d) => vec![(RowExclusive, rel(d.relation.as_ref()))],
        NodeEnum::InsertStmt(i) => vec![(RowExclusive, rel(i.relation.as_ref()))],
        NodeEnum::LockStmt(l) => lock_table(l),
        _ => Vec::new(),
    }
}

/// DROP INDEX locks the index's table (named indirectly); DROP TABLE each table.
fn drop_locks(d: &protobuf::DropStmt) -> Vec<(LockMode, String)> {
    let names = d.objects.iter().filter_map(|o| match &o.node {
        Some(NodeEnum::List(l)) => Some(
            l.items
                .iter()
                .filter_map(|n| match &n.node {
                    Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        ),
        _ => None,
    });
    if d.remove_type == ObjectType::ObjectIndex as i32 {
        let index = names.into_iter().next().and_then(|n| n.last().cloned()).unwrap_or_default();
        let mode =
            if d.concurrent { LockMode::ShareUpdateExclusive } else { LockMode::AccessExclusive };
        return vec![(mode, format!("the table of index {index}"))];
    }
    if d.remove_type == ObjectType::ObjectTable as i32 {
        return names.map(|n| (LockMode::AccessExclusive, n.join("."))).collect();
    }
    Vec::new()
}

/// LOCK TABLE: the mode it names (AccessShareLock = 1 ... AccessExclusiveLock = 8).
fn lock_table(l: &protobuf::LockStmt) -> Vec<(LockMode, String)> {
    let Some(mode) = LockMode::ALL.get((l.mode as usize).saturating_sub(1)).copied() else {
        return Vec::new();
    };
    l.relations
        .iter()
        .filter_map(|r| match &r.node {
            Some(NodeEnum::RangeVar(v)) => Some((mode, rel(Some(v)))),
            _ => None,
        })
        .collect()
}

/// ALTER TABLE takes the strongest of its subcommands' levels (AlterTableGetLockLevel);
/// a new foreign key also locks the table it references.
fn alter_table(a: &protobuf::AlterTableStmt) -> Vec<(LockMode, String)> {
    use LockMode::*;
    let mut mode = None;
    let mut others = Vec::new();
    for c in &a.cmds {
        let Some(NodeEnum::AlterTableCmd(c)) = &c.node else { continue };
        let is = |t: AlterTableType| c.subtype == t as i32;
        let def = c.def.as_deref();
        let level = if is(AlterTableType::AtValidateConstraint)
            || is(AlterTableType::AtSetStatistics)
            || is(AlterTableType::AtClusterOn)
            || is(AlterTableType::AtDropCluster)
            || is(AlterTableType::AtAttachPartition)
        {
            ShareUpdateExclusive
        } else if is(AlterTableType::AtDetachPartition) {
            match def.and_then(|d| d.node.as_ref()) {
                Some(NodeEnum::PartitionCmd(p)) if p.concurrent => ShareUpdateExclusive,
                _ => AccessExclusive,
            }
        } else if is(AlterTableType::AtEnableTrig)
            || is(AlterTableType::AtDisableTrig)
            || is(AlterTableType::AtEnableTrigAll)
            || is(AlterTableType::AtDisableTrigAll)
            || is(AlterTableType::AtEnableTrigUser)
            || is(AlterTableType::AtDisableTrigUser)
        {
            ShareRowExclusive
        } else if let Some(target) =
            def.filter(|_| is(AlterTableType::AtAddConstraint)).and_then(referenced)
        {
            others.push((ShareRowExclusive, target));
            ShareRowExclusive
        } else {
            AccessExclusive
        };
        mode = Some(mode.map_or(level, |m: LockMode| m.max(level)));
    }
    let mut out: Vec<(LockMode, String)> =
        mode.map(|m| (m, rel(a.relation.as_ref()))).into_iter().collect();
    out.extend(others);
    out
}

/// The strongest lock the statements need on each table they name (lower case, without
/// schema), as who they would wait for sees it: the statement's known level where the engine
/// has one (SHARE for a concurrent build, which waits out the writers), else by how it uses
/// the table (read: ACCESS SHARE, write: ROW EXCLUSIVE, DDL: ACCESS EXCLUSIVE).
pub fn locks_needed<'a>(
    statements: impl IntoIterator<Item = &'a Statement>,
) -> Vec<(String, LockMode)> {
    let statements: Vec<&Statement> = statements.into_iter().collect();
    // One pass on the parser threads for all of them: a hop per statement costs more than
    // the parse (a plan of 500 migrations has 1,000 statements).
    let each = parser::map(&statements, |st| statement_locks(st));
    let mut out: std::collections::BTreeMap<String, LockMode> = Default::default();
    for (t, m) in each.into_iter().flatten() {
        let e = out.entry(bare(&t)).or_insert(m);
        *e = (*e).max(m);
    }
    out.into_iter().collect()
}

/// The table of `INSERT INTO <table> [(columns)] VALUES ...` with no query in it (no
/// SELECT, WITH or RETURNING), read from the text; None for anything else.
fn plain_insert_target(st: &Statement) -> Option<String> {
    let k = &st.keywords;
    let plain = k.len() >= 3
        && k[0] == "INSERT"
        && k[1] == "INTO"
        && k.iter().any(|w| w == "VALUES")
        && !k.iter().any(|w| matches!(w.as_str(), "SELECT" | "WITH" | "RETURNING" | "TABLE"));
    if !plain {
        return None;
    }
    let text = &st.text[crate::core::data::sql::lexer::skip_trivia(&st.text)..];
    let rest = text.get(6..)?.trim_start().get(4..)?; // "INSERT", "INTO"
    let rest = &rest[crate::core::data::sql::lexer::skip_trivia(rest)..];
    let mut name = String::new();
    let mut chars = rest.chars().peekable();
    loop {
        match *chars.peek()? {
            '"' => {
                chars.next();
                loop {
                    match chars.next()? {
                        '"' if chars.peek() == Some(&'"') => {
                            chars.next();
                            name.push('"');
                        }
                        '"' => break,
                        c => name.push(c),
                    }
                }
            }
            c if c.is_alphabetic() || c == '_' => {
                while let Some(&c) = chars.peek() {
                    if !(c.is_alphanumeric() || c == '_' || c == '$') {
                        break;
                    }
                    name.push(c.to_ascii_lowercase());
                    chars.next();
                }
            }
            _ => return None,
        }
        if chars.peek() != Some(&'.') {
            break;
        }
        chars.next();
        name.push('.');
    }
    Some(name)
}

fn bare(t: &str) -> String {
    t.rsplit('.').next().unwrap_or(t).trim_matches('"').to_lowercase()
}

/// What one statement needs of each table it names (not yet merged).
fn statement_locks(st: &Statement) -> Vec<(String, LockMode)> {
    // Seed data is most of a large plan's text, and its parse tree most of the parse:
    // a plain INSERT ... VALUES writes its target and names nothing else.
    if let Some(target) = plain_insert_target(st) {
        return vec![(target, LockMode::RowExclusive)];
    }
    let Ok(parsed) = parser::parse(&st.text) else { return Vec::new() };
    let known: Vec<(LockMode, String)> = expected_in(&parsed)
        .into_iter()
        .filter(|(_, r)| !r.is_empty() && !r.contains(' '))
        .collect();
    let known_tables: Vec<String> = known.iter().map(|(_, r)| bare(r)).collect();
    // A concurrent index build takes SHARE UPDATE EXCLUSIVE but then waits for every
    // transaction holding a lock that conflicts with SHARE (the writers) to finish.
    let waits_as_share = st.text.to_lowercase().contains("concurrently")
        && known.iter().all(|(m, _)| *m == LockMode::ShareUpdateExclusive);
    let mut out: Vec<(String, LockMode)> = known
        .into_iter()
        .map(|(m, r)| (r, if waits_as_share { LockMode::Share } else { m }))
        .collect();
    for (t, cx) in &parsed.tables {
        if known_tables.contains(&bare(t)) {
            continue;
        }
        let mode = match cx {
            pg_query::Context::Select => LockMode::AccessShare,
            pg_query::Context::DML => LockMode::RowExclusive,
            _ => LockMode::AccessExclusive,
        };
        out.push((t.clone(), mode));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(sql: &str) -> Vec<(String, LockMode)> {
        let st = crate::core::data::sql::split(sql).unwrap();
        locks_needed(st.iter())
    }

    #[test]
    fn a_plain_insert_writes_its_target_as_a_parse_would_say() {
        for sql in [
            "INSERT INTO public.\"Orders\" (id) VALUES (1), (2);",
            "-- seed\ninsert into  Orders values (1);",
            "INSERT INTO orders VALUES (1) ON CONFLICT DO NOTHING;",
        ] {
            let st = &crate::core::data::sql::split(sql).unwrap()[0];
            assert!(plain_insert_target(st).is_some(), "{sql}");
            assert_eq!(needs(sql), [("orders".to_string(), LockMode::RowExclusive)], "{sql}");
        }
        // A query inside, or RETURNING: the parse decides.
        for sql in [
            "INSERT INTO orders SELECT * FROM staging;",
            "INSERT INTO orders VALUES ((SELECT max(id) FROM staging));",
            "WITH x AS (SELECT 1) INSERT INTO orders SELECT * FROM x;",
        ] {
            let st = &crate::core::data::sql::split(sql).unwrap()[0];
            assert!(plain_insert_target(st).is_none(), "{sql}");
        }
        let read = needs("INSERT INTO orders SELECT * FROM staging;");
        assert!(read.contains(&("staging".to_string(), LockMode::AccessShare)), "{read:?}");
    }
}
