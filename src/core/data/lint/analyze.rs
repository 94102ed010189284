//! The analysis of one migration: each statement's parse tree, with what earlier statements
//! of the same migration created or changed. Only the outer statements are looked at:
//! function bodies, DO blocks and string literals are data to this pass, never findings.

use std::collections::HashSet;

use pg_query::protobuf::{
    self, a_const, ConstrType, DropBehavior, ObjectType, TransactionStmtKind,
};
use pg_query::{NodeEnum, NodeRef};

use crate::core::data::sql::Statement;

use super::alter::alter_cmd;
use crate::core::data::sql::parser;

/// A rule that fired on one statement, before allow comments and levels are applied.
#[derive(Debug, Clone)]
pub struct Hit {
    pub rule: &'static str,
    pub statement: usize,
    /// Extra detail for the message (the object named, the type chosen...).
    pub detail: String,
    /// The existing table the finding is about, for size context.
    pub table: Option<String>,
}

pub struct Migration<'a> {
    pub statements: &'a [Statement],
    /// Whether sluice wraps it in one transaction.
    pub transactional: bool,
    /// The server's version_num when connected (e.g. 150008).
    pub server_version: Option<i32>,
    /// lock_timeout of the environment in force, when known; 0 means none.
    pub lock_timeout_ms: Option<u64>,
}

#[derive(Default)]
/// What the analysis has seen so far in one migration, statement by statement.
pub(super) struct Seen {
    pub(super) created_tables: HashSet<String>,
    pub(super) not_valid: HashSet<(String, String)>,
    pub(super) new_enum_values: Vec<String>,
    pub(super) explicit_tx: Option<usize>,
    pub(super) ddl_on_existing: Option<usize>,
    pub(super) backfill: Option<(usize, String)>,
    pub(super) sets_lock_timeout: bool,
    pub(super) first_strong_lock: Option<(usize, String)>,
}

fn name_of(rv: Option<&protobuf::RangeVar>) -> String {
    rv.map(|r| r.relname.to_lowercase()).unwrap_or_default()
}

pub(super) fn qualified(rv: Option<&protobuf::RangeVar>) -> String {
    match rv {
        Some(r) if !r.schemaname.is_empty() => format!("{}.{}", r.schemaname, r.relname),
        Some(r) => r.relname.clone(),
        None => String::new(),
    }
}

pub(super) fn strings(nodes: &[protobuf::Node]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(|n| match &n.node {
            Some(NodeEnum::String(s)) => Some(s.sval.to_lowercase()),
            _ => None,
        })
        .collect()
}

pub(super) fn type_name(t: Option<&protobuf::TypeName>) -> (String, Vec<i32>) {
    let Some(t) = t else { return (String::new(), vec![]) };
    let name = strings(&t.names).pop().unwrap_or_default();
    let mods = t
        .typmods
        .iter()
        .filter_map(|m| match &m.node {
            Some(NodeEnum::AConst(c)) => match &c.val {
                Some(a_const::Val::Ival(i)) => Some(i.ival),
                _ => None,
            },
            _ => None,
        })
        .collect();
    (name, mods)
}

pub(super) fn column_types(
    col: &protobuf::ColumnDef,
    statement: usize,
    hits: &mut Vec<Hit>,
    in_pk: bool,
) {
    let (name, mods) = type_name(col.type_name.as_ref());
    let hit = |rule: &'static str, detail: String| Hit { rule, statement, detail, table: None };
    match name.as_str() {
        "json" => hits.push(hit("prefer-jsonb", format!("column {}", col.colname))),
        "timestamp" => hits.push(hit("prefer-timestamptz", format!("column {}", col.colname))),
        "bpchar" | "char" | "character" if !mods.is_empty() => {
            hits.push(hit("prefer-text-over-char", format!("column {}", col.colname)))
        }
        "varchar" if !mods.is_empty() => hits.push(hit(
            "prefer-text-over-varchar",
            format!("column {} varchar({})", col.colname, mods[0]),
        )),
        _ => {}
    }
    let is_pk = in_pk
        || col.constraints.iter().any(|c| {
            matches!(&c.node, Some(NodeEnum::Constraint(k)) if k.contype == ConstrType::ConstrPrimary as i32)
        });
    if is_pk
        && matches!(
            name.as_str(),
            "int4" | "serial" | "serial4" | "int2" | "smallserial" | "integer" | "int"
        )
    {
        hits.push(hit("int-primary-key", format!("column {} is {name}", col.colname)));
    }
}

fn has_option(options: &[protobuf::Node], name: &str) -> bool {
    options.iter().any(
        |o| matches!(&o.node, Some(NodeEnum::DefElem(d)) if d.defname.eq_ignore_ascii_case(name)),
    )
}

/// Runs every statement-level rule over one migration.
pub fn analyze(m: &Migration) -> Vec<Hit> {
    let mut st = Seen::default();
    let mut hits = Vec::new();
    for (i, stmt) in m.statements.iter().enumerate() {
        let parsed = match parser::parse(&stmt.text) {
            Ok(p) => p,
            Err(_) => continue, // split already parsed the file; a lone failure is not ours to report twice
        };
        for raw in &parsed.protobuf.stmts {
            if let Some(node) = raw.stmt.as_ref().and_then(|n| n.node.as_ref()) {
                statement(m, &mut st, i, stmt, node, &mut hits);
            }
        }
    }
    if let Some(at) = st.explicit_tx {
        hits.push(Hit {
            rule: "begin-without-commit",
            statement: at,
            detail: String::new(),
            table: None,
        });
    }
    if m.transactional {
        if let (Some(_), Some((at, table))) = (st.ddl_on_existing, st.backfill.clone()) {
            hits.push(Hit {
                rule: "backfill-with-ddl",
                statement: at,
                detail: String::new(),
                table: Some(table),
            });
        }
    }
    if let Some((at, table)) = st.first_strong_lock {
        if !st.sets_lock_timeout {
            let off = m.lock_timeout_ms == Some(0);
            hits.push(Hit {
                rule: "require-lock-timeout",
                statement: at,
                detail: if off {
                    "lock_timeout is 0 in this environment".into()
                } else {
                    String::new()
                },
                table: Some(table),
            });
        }
    }
    hits
}

fn statement(
    m: &Migration,
    st: &mut Seen,
    i: usize,
    stmt: &Statement,
    node: &NodeEnum,
    hits: &mut Vec<Hit>,
) {
    let mut hit = |rule: &'static str, detail: String, table: Option<String>| {
        hits.push(Hit { rule, statement: i, detail, table })
    };
    let in_tx = m.transactional || st.explicit_tx.is_some();
    if in_tx {
        if let Some(why) = stmt.needs_no_transaction() {
            hit("non-transactional-in-transaction", why.to_string(), None);
        }
    }
    let existing = |st: &Seen, rv: Option<&protobuf::RangeVar>| {
        let n = name_of(rv);
        !n.is_empty() && !st.created_tables.contains(&n)
    };
    let strong = |st: &mut Seen, table: String| {
        if st.first_strong_lock.is_none() {
            st.first_strong_lock = Some((i, table));
        }
    };
    match node {
        NodeEnum::TransactionStmt(t) => {
            let kind = t.kind;
            if m.transactional {
                if kind != TransactionStmtKind::TransStmtSavepoint as i32
                    && kind != TransactionStmtKind::TransStmtRelease as i32
                    && kind != TransactionStmtKind::TransStmtRollbackTo as i32
                {
                    hit("transaction-control-in-migration", String::new(), None);
                }
            } else if kind == TransactionStmtKind::TransStmtBegin as i32
                || kind == TransactionStmtKind::TransStmtStart as i32
            {
                st.explicit_tx = Some(i);
            } else if kind == TransactionStmtKind::TransStmtCommit as i32
                || kind == TransactionStmtKind::TransStmtRollback as i32
            {
                st.explicit_tx = None;
            }
        }
        NodeEnum::VariableSetStmt(v) if v.name.eq_ignore_ascii_case("lock_timeout") => {
            st.sets_lock_timeout = true;
        }
        NodeEnum::CreateStmt(c) => {
            st.created_tables.insert(name_of(c.relation.as_ref()));
            let pk_cols: HashSet<String> = c
                .table_elts
                .iter()
                .filter_map(|e| match &e.node {
                    Some(NodeEnum::Constraint(k))
                        if k.contype == ConstrType::ConstrPrimary as i32 =>
                    {
                        Some(strings(&k.keys))
                    }
                    _ => None,
                })
                .flatten()
                .collect();
            for e in &c.table_elts {
                if let Some(NodeEnum::ColumnDef(col)) = &e.node {
                    let mut local = Vec::new();
                    column_types(col, i, &mut local, pk_cols.contains(&col.colname.to_lowercase()));
                    for h in local {
                        hit(h.rule, h.detail, None);
                    }
                }
            }
            if !m.transactional && !c.if_not_exists {
                hit(
                    "non-idempotent-no-transaction",
                    format!("CREATE TABLE {}", qualified(c.relation.as_ref())),
                    None,
                );
            }
        }
        NodeEnum::CreateTableAsStmt(c) => {
            if let Some(into) = &c.into {
                st.created_tables.insert(name_of(into.rel.as_ref()));
            }
        }
        NodeEnum::DropdbStmt(d) => hit("drop-database", d.dbname.clone(), None),
        NodeEnum::DropStmt(d) => {
            let objects: Vec<String> = d
                .objects
                .iter()
                .filter_map(|o| match &o.node {
                    Some(NodeEnum::List(l)) => Some(strings(&l.items).join(".")),
                    Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                    _ => None,
                })
                .collect();
            let created_here = objects
                .iter()
                .all(|o| st.created_tables.contains(o.rsplit('.').next().unwrap_or(o)));
            let what = objects.join(", ");
            let rt = d.remove_type;
            if rt == ObjectType::ObjectTable as i32 && !created_here {
                hit("drop-table", what.clone(), objects.first().cloned());
            } else if rt == ObjectType::ObjectSchema as i32 {
                hit("drop-schema", what.clone(), None);
            } else if rt == ObjectType::ObjectIndex as i32 && !d.concurrent {
                hit("drop-index-non-concurrently", what.clone(), None);
            }
            if d.behavior == DropBehavior::DropCascade as i32 && !created_here {
                hit("drop-cascade", what.clone(), None);
            }
            if !m.transactional && !d.missing_ok {
                hit(
                    "non-idempotent-no-transaction",
                    format!("DROP {what} without IF EXISTS"),
                    None,
                );
            }
        }
        NodeEnum::TruncateStmt(t) => {
            let tables: Vec<String> = t
                .relations
                .iter()
                .filter_map(|r| match &r.node {
                    Some(NodeEnum::RangeVar(v)) => Some(qualified(Some(v))),
                    _ => None,
                })
                .collect();
            let cascade = if t.behavior == DropBehavior::DropCascade as i32 {
                " CASCADE: tables that reference it are emptied too"
            } else {
                ""
            };
            hit("truncate", format!("{}{cascade}", tables.join(", ")), tables.first().cloned());
        }
        NodeEnum::DeleteStmt(d) => {
            if d.where_clause.is_none() && existing(st, d.relation.as_ref()) {
                hit(
                    "delete-without-where",
                    qualified(d.relation.as_ref()),
                    Some(qualified(d.relation.as_ref())),
                );
            }
            if existing(st, d.relation.as_ref()) && st.backfill.is_none() {
                st.backfill = Some((i, qualified(d.relation.as_ref())));
            }
        }
        NodeEnum::UpdateStmt(u) => {
            if u.where_clause.is_none() && existing(st, u.relation.as_ref()) {
                hit(
                    "update-without-where",
                    qualified(u.relation.as_ref()),
                    Some(qualified(u.relation.as_ref())),
                );
            }
            if existing(st, u.relation.as_ref()) && st.backfill.is_none() {
                st.backfill = Some((i, qualified(u.relation.as_ref())));
            }
            enum_use(st, node, &mut hit);
        }
        NodeEnum::InsertStmt(_) | NodeEnum::SelectStmt(_) => enum_use(st, node, &mut hit),
        NodeEnum::IndexStmt(x) => {
            let table = qualified(x.relation.as_ref());
            if !x.concurrent && existing(st, x.relation.as_ref()) {
                hit("create-index-non-concurrently", table.clone(), Some(table.clone()));
                strong(st, table.clone());
            }
            if !m.transactional && !x.if_not_exists {
                hit("non-idempotent-no-transaction", format!("CREATE INDEX {}", x.idxname), None);
            }
        }
        NodeEnum::ReindexStmt(r) if !has_option(&r.params, "concurrently") => {
            let target =
                if r.relation.is_some() { qualified(r.relation.as_ref()) } else { r.name.clone() };
            hit("reindex-non-concurrently", target, None);
        }
        NodeEnum::VacuumStmt(v) if v.is_vacuumcmd && has_option(&v.options, "full") => {
            hit("vacuum-full", String::new(), None);
        }
        NodeEnum::ClusterStmt(c) => {
            hit("cluster", qualified(c.relation.as_ref()), Some(qualified(c.relation.as_ref())))
        }
        NodeEnum::LockStmt(_) => hit("lock-table", String::new(), None),
        NodeEnum::RefreshMatViewStmt(r) if !r.concurrent => {
            hit("refresh-matview-non-concurrently", qualified(r.relation.as_ref()), None);
        }
        NodeEnum::RenameStmt(r) => {
            let table = qualified(r.relation.as_ref());
            if existing(st, r.relation.as_ref()) {
                if r.rename_type == ObjectType::ObjectTable as i32 {
                    hit("rename-table", format!("{table} to {}", r.newname), Some(table.clone()));
                } else if r.rename_type == ObjectType::ObjectColumn as i32 {
                    hit(
                        "rename-column",
                        format!("{table}.{} to {}", r.subname, r.newname),
                        Some(table.clone()),
                    );
                }
            }
        }
        NodeEnum::AlterEnumStmt(e) if !e.new_val.is_empty() => {
            st.new_enum_values.push(e.new_val.clone());
            let old_server = m.server_version.is_some_and(|v| v < 120_000);
            if in_tx && old_server {
                hit("enum-add-value-in-transaction", e.new_val.clone(), None);
            }
        }
        NodeEnum::AlterTableStmt(a) => {
            let table = qualified(a.relation.as_ref());
            if !existing(st, a.relation.as_ref()) {
                return;
            }
            let mut took_lock = false;
            for cmd in &a.cmds {
                let Some(NodeEnum::AlterTableCmd(c)) = &cmd.node else { continue };
                took_lock = true;
                alter_cmd(m, st, i, &table, c, &mut hit);
            }
            if took_lock {
                st.ddl_on_existing.get_or_insert(i);
                strong(st, table);
            }
        }
        _ => {}
    }
}

fn enum_use(
    st: &Seen,
    node: &NodeEnum,
    hit: &mut impl FnMut(&'static str, String, Option<String>),
) {
    if st.new_enum_values.is_empty() {
        return;
    }
    for (n, _, _, _) in node.nodes() {
        if let NodeRef::AConst(c) = n {
            if let Some(a_const::Val::Sval(s)) = &c.val {
                if st.new_enum_values.contains(&s.sval) {
                    hit("enum-value-used-in-same-transaction", s.sval.clone(), None);
                    return;
                }
            }
        }
    }
}
