//! The lock a statement would take, from its parse tree: what a dry run reports for
//! statements it cannot rehearse.

use pg_query::protobuf::{AlterTableType, ObjectType};
use pg_query::NodeEnum;

use crate::core::data::sql::parser;
use crate::core::data::sql::{LockMode, Statement};

/// (lock mode, object) the statement takes on the relation it changes, when known.
pub fn expected_lock(stmt: &Statement) -> Option<(LockMode, String)> {
    let parsed = parser::parse(&stmt.text).ok()?;
    let node = parsed.protobuf.stmts.first()?.stmt.as_ref()?.node.as_ref()?;
    let rel = |r: &Option<pg_query::protobuf::RangeVar>| {
        r.as_ref()
            .map(|r| {
                if r.schemaname.is_empty() {
                    r.relname.clone()
                } else {
                    format!("{}.{}", r.schemaname, r.relname)
                }
            })
            .unwrap_or_default()
    };
    let has = |opts: &[pg_query::protobuf::Node], name: &str| {
        opts.iter().any(|o| matches!(&o.node, Some(NodeEnum::DefElem(d)) if d.defname.eq_ignore_ascii_case(name)))
    };
    Some(match node {
        NodeEnum::IndexStmt(x) if x.concurrent => {
            (LockMode::ShareUpdateExclusive, rel(&x.relation))
        }
        NodeEnum::IndexStmt(x) => (LockMode::Share, rel(&x.relation)),
        NodeEnum::DropStmt(d) if d.remove_type == ObjectType::ObjectIndex as i32 => {
            let name = d
                .objects
                .first()
                .and_then(|o| match &o.node {
                    Some(NodeEnum::List(l)) => l.items.last().and_then(|n| match &n.node {
                        Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                        _ => None,
                    }),
                    _ => None,
                })
                .unwrap_or_default();
            let mode = if d.concurrent {
                LockMode::ShareUpdateExclusive
            } else {
                LockMode::AccessExclusive
            };
            (mode, format!("the table of index {name}"))
        }
        NodeEnum::ReindexStmt(r) if has(&r.params, "concurrently") => {
            (LockMode::ShareUpdateExclusive, rel(&r.relation))
        }
        NodeEnum::ReindexStmt(r) => (LockMode::AccessExclusive, rel(&r.relation)),
        NodeEnum::VacuumStmt(v) if has(&v.options, "full") => {
            (LockMode::AccessExclusive, String::new())
        }
        NodeEnum::VacuumStmt(_) => (LockMode::ShareUpdateExclusive, String::new()),
        NodeEnum::AlterTableStmt(a) => {
            let validate_only = a.cmds.iter().all(|c| {
                matches!(&c.node, Some(NodeEnum::AlterTableCmd(c)) if c.subtype == AlterTableType::AtValidateConstraint as i32)
            });
            (
                if validate_only {
                    LockMode::ShareUpdateExclusive
                } else {
                    LockMode::AccessExclusive
                },
                rel(&a.relation),
            )
        }
        NodeEnum::UpdateStmt(u) => (LockMode::RowExclusive, rel(&u.relation)),
        NodeEnum::DeleteStmt(d) => (LockMode::RowExclusive, rel(&d.relation)),
        NodeEnum::InsertStmt(i) => (LockMode::RowExclusive, rel(&i.relation)),
        _ => return None,
    })
}
