//! Best effort: does the down migration drop what the up migration creates?

use std::collections::HashSet;

use pg_query::protobuf::{AlterTableType, ObjectType};
use pg_query::NodeEnum;

use crate::core::data::sql::parser;
use crate::core::data::sql::Statement;

fn names(nodes: &[pg_query::protobuf::Node]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(|n| match &n.node {
            Some(NodeEnum::String(s)) => Some(s.sval.to_lowercase()),
            _ => None,
        })
        .collect()
}

/// Objects the up creates that the down never drops, as "table x", "index y", "column t.c".
pub fn not_undone(up: &[Statement], down_text: &str) -> Vec<String> {
    let mut created: Vec<(String, String)> = Vec::new();
    for s in up {
        let Ok(p) = parser::parse(&s.text) else { continue };
        for raw in &p.protobuf.stmts {
            match raw.stmt.as_ref().and_then(|n| n.node.as_ref()) {
                Some(NodeEnum::CreateStmt(c)) => {
                    if let Some(r) = &c.relation {
                        created.push(("table".into(), r.relname.to_lowercase()));
                    }
                }
                Some(NodeEnum::IndexStmt(x)) if !x.idxname.is_empty() => {
                    created.push(("index".into(), x.idxname.to_lowercase()))
                }
                Some(NodeEnum::ViewStmt(v)) => {
                    if let Some(r) = &v.view {
                        created.push(("view".into(), r.relname.to_lowercase()));
                    }
                }
                Some(NodeEnum::AlterTableStmt(a)) => {
                    let table =
                        a.relation.as_ref().map(|r| r.relname.to_lowercase()).unwrap_or_default();
                    for cmd in &a.cmds {
                        if let Some(NodeEnum::AlterTableCmd(c)) = &cmd.node {
                            if c.subtype == AlterTableType::AtAddColumn as i32 {
                                if let Some(NodeEnum::ColumnDef(col)) =
                                    c.def.as_ref().and_then(|d| d.node.as_ref())
                                {
                                    created.push((
                                        "column".into(),
                                        format!("{table}.{}", col.colname.to_lowercase()),
                                    ));
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if created.is_empty() {
        return Vec::new();
    }
    let Ok(down) = crate::core::data::sql::split(down_text) else { return Vec::new() };
    let mut dropped: HashSet<(String, String)> = HashSet::new();
    let mut dropped_tables: HashSet<String> = HashSet::new();
    for s in &down {
        let Ok(p) = parser::parse(&s.text) else { continue };
        for raw in &p.protobuf.stmts {
            match raw.stmt.as_ref().and_then(|n| n.node.as_ref()) {
                Some(NodeEnum::DropStmt(d)) => {
                    let kind = match d.remove_type {
                        x if x == ObjectType::ObjectTable as i32 => "table",
                        x if x == ObjectType::ObjectIndex as i32 => "index",
                        x if x == ObjectType::ObjectView as i32 => "view",
                        _ => continue,
                    };
                    for o in &d.objects {
                        if let Some(NodeEnum::List(l)) = &o.node {
                            if let Some(n) = names(&l.items).pop() {
                                if kind == "table" {
                                    dropped_tables.insert(n.clone());
                                }
                                dropped.insert((kind.into(), n));
                            }
                        }
                    }
                }
                Some(NodeEnum::AlterTableStmt(a)) => {
                    let table =
                        a.relation.as_ref().map(|r| r.relname.to_lowercase()).unwrap_or_default();
                    for cmd in &a.cmds {
                        if let Some(NodeEnum::AlterTableCmd(c)) = &cmd.node {
                            if c.subtype == AlterTableType::AtDropColumn as i32 {
                                dropped.insert((
                                    "column".into(),
                                    format!("{table}.{}", c.name.to_lowercase()),
                                ));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    created
        .into_iter()
        .filter(|(kind, name)| {
            if dropped.contains(&(kind.clone(), name.clone())) {
                return false;
            }
            // Dropping a table also drops its indexes and columns.
            match kind.as_str() {
                "column" => !dropped_tables.contains(name.split('.').next().unwrap_or("")),
                "index" => dropped_tables.is_empty(),
                _ => true,
            }
        })
        .map(|(kind, name)| format!("{kind} {name} is created but the down does not drop it"))
        .collect()
}
