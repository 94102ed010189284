//! Best effort: does the down migration drop what the up migration creates?

use std::collections::HashSet;

use pg_query::protobuf::{AlterTableType, ObjectType};
use pg_query::NodeEnum;

use super::analyze::strings;
use crate::core::data::sql::parser;
use crate::core::data::sql::Statement;

/// Each top-level statement's parse tree node, for the statements that parse.
fn nodes(statements: &[Statement]) -> Vec<NodeEnum> {
    let mut out = Vec::new();
    for s in statements {
        let Ok(p) = parser::parse(&s.text) else { continue };
        out.extend(p.protobuf.stmts.into_iter().filter_map(|raw| raw.stmt.and_then(|n| n.node)));
    }
    out
}

/// (table, column) of each ALTER TABLE subcommand of `subtype`, named by `column`.
fn columns(
    a: &pg_query::protobuf::AlterTableStmt,
    subtype: AlterTableType,
    column: impl Fn(&pg_query::protobuf::AlterTableCmd) -> Option<String>,
) -> Vec<String> {
    let table = a.relation.as_ref().map(|r| r.relname.to_lowercase()).unwrap_or_default();
    a.cmds
        .iter()
        .filter_map(|cmd| match &cmd.node {
            Some(NodeEnum::AlterTableCmd(c)) if c.subtype == subtype as i32 => column(c),
            _ => None,
        })
        .map(|col| format!("{table}.{}", col.to_lowercase()))
        .collect()
}

/// What the up creates: (kind, name) for tables, indexes, views and added columns.
fn created(up: &[Statement]) -> Vec<(String, String)> {
    let mut created: Vec<(String, String)> = Vec::new();
    for node in nodes(up) {
        match node {
            NodeEnum::CreateStmt(c) => {
                if let Some(r) = &c.relation {
                    created.push(("table".into(), r.relname.to_lowercase()));
                }
            }
            NodeEnum::IndexStmt(x) if !x.idxname.is_empty() => {
                created.push(("index".into(), x.idxname.to_lowercase()))
            }
            NodeEnum::ViewStmt(v) => {
                if let Some(r) = &v.view {
                    created.push(("view".into(), r.relname.to_lowercase()));
                }
            }
            NodeEnum::AlterTableStmt(a) => {
                let added = columns(&a, AlterTableType::AtAddColumn, |c| {
                    match c.def.as_ref().and_then(|d| d.node.as_ref()) {
                        Some(NodeEnum::ColumnDef(col)) => Some(col.colname.clone()),
                        _ => None,
                    }
                });
                created.extend(added.into_iter().map(|c| ("column".to_string(), c)));
            }
            _ => {}
        }
    }
    created
}

/// What the down drops: (kind, name), and the tables among them.
fn dropped(down: &[Statement]) -> (HashSet<(String, String)>, HashSet<String>) {
    let mut dropped: HashSet<(String, String)> = HashSet::new();
    let mut tables: HashSet<String> = HashSet::new();
    for node in nodes(down) {
        match node {
            NodeEnum::DropStmt(d) => {
                let kind = match d.remove_type {
                    x if x == ObjectType::ObjectTable as i32 => "table",
                    x if x == ObjectType::ObjectIndex as i32 => "index",
                    x if x == ObjectType::ObjectView as i32 => "view",
                    _ => continue,
                };
                for o in &d.objects {
                    let Some(NodeEnum::List(l)) = &o.node else { continue };
                    if let Some(n) = strings(&l.items).pop() {
                        if kind == "table" {
                            tables.insert(n.clone());
                        }
                        dropped.insert((kind.into(), n));
                    }
                }
            }
            NodeEnum::AlterTableStmt(a) => {
                let gone = columns(&a, AlterTableType::AtDropColumn, |c| Some(c.name.clone()));
                dropped.extend(gone.into_iter().map(|c| ("column".to_string(), c)));
            }
            _ => {}
        }
    }
    (dropped, tables)
}

/// Objects the up creates that the down never drops, as "table x", "index y", "column t.c".
pub fn not_undone(up: &[Statement], down_text: &str) -> Vec<String> {
    let created = created(up);
    if created.is_empty() {
        return Vec::new();
    }
    let Ok(down) = crate::core::data::sql::split(down_text) else { return Vec::new() };
    let (dropped, dropped_tables) = dropped(&down);
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
