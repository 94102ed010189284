//! The rules of each kind of statement: transactions, CREATE/DROP/TRUNCATE, row changes,
//! indexes, renames and ALTER TABLE. Each sees what earlier statements of the migration
//! created (`Seen`) and reports through `At`.

use std::collections::HashSet;

use pg_query::protobuf::{self, ConstrType, DropBehavior, ObjectType, TransactionStmtKind};
use pg_query::{NodeEnum, NodeRef};

use super::alter::alter_cmd;
use super::analyze::{
    column_types, existing, in_transaction, name_of, qualified, strings, At, Seen,
};
use super::predicates::keeps_every_row;

/// BEGIN and COMMIT: refused inside sluice's own transaction, tracked outside it.
pub(super) fn transaction(at: &mut At, st: &mut Seen, kind: i32) {
    let is = |k: TransactionStmtKind| kind == k as i32;
    if at.m.transactional {
        let nested = is(TransactionStmtKind::TransStmtSavepoint)
            || is(TransactionStmtKind::TransStmtRelease)
            || is(TransactionStmtKind::TransStmtRollbackTo);
        if !nested {
            at.hit("transaction-control-in-migration", String::new(), None);
        }
    } else if is(TransactionStmtKind::TransStmtBegin) || is(TransactionStmtKind::TransStmtStart) {
        if st.explicit_tx.is_some() {
            at.hit("nested-begin", String::new(), None);
            return;
        }
        st.explicit_tx = Some(at.i);
        (st.ddl_on_existing, st.backfill) = (None, None);
    } else if is(TransactionStmtKind::TransStmtCommit) || is(TransactionStmtKind::TransStmtRollback)
    {
        if st.explicit_tx.take().is_some() && is(TransactionStmtKind::TransStmtCommit) {
            if let (Some(_), Some((_, table))) = (st.ddl_on_existing, st.backfill.clone()) {
                at.hit("backfill-with-ddl", String::new(), Some(table));
            }
        }
        (st.ddl_on_existing, st.backfill) = (None, None);
        st.not_valid.clear();
    }
}

/// A new table: remembered as new, its column types judged.
pub(super) fn create_table(at: &mut At, st: &mut Seen, c: &protobuf::CreateStmt) {
    st.created_tables.insert(name_of(c.relation.as_ref()));
    let pk_cols: HashSet<String> = c
        .table_elts
        .iter()
        .filter_map(|e| match &e.node {
            Some(NodeEnum::Constraint(k)) if k.contype == ConstrType::ConstrPrimary as i32 => {
                Some(strings(&k.keys))
            }
            _ => None,
        })
        .flatten()
        .collect();
    for e in &c.table_elts {
        if let Some(NodeEnum::ColumnDef(col)) = &e.node {
            let mut local = Vec::new();
            column_types(col, at.i, &mut local, pk_cols.contains(&col.colname.to_lowercase()));
            for h in local {
                at.hit(h.rule, h.detail, None);
            }
        }
    }
    if !in_transaction(at, st) && !c.if_not_exists {
        let what = format!("CREATE TABLE {}", qualified(c.relation.as_ref()));
        at.hit("non-idempotent-no-transaction", what, None);
    }
}

pub(super) fn drop(at: &mut At, st: &Seen, d: &protobuf::DropStmt) {
    let objects: Vec<String> = d
        .objects
        .iter()
        .filter_map(|o| match &o.node {
            Some(NodeEnum::List(l)) => Some(strings(&l.items).join(".")),
            Some(NodeEnum::String(s)) => Some(s.sval.clone()),
            _ => None,
        })
        .collect();
    let created_here =
        objects.iter().all(|o| st.created_tables.contains(o.rsplit('.').next().unwrap_or(o)));
    let what = objects.join(", ");
    let rt = d.remove_type;
    if rt == ObjectType::ObjectTable as i32 && !created_here {
        at.hit_on("drop-table", what.clone(), objects.first().cloned(), objects.clone());
    } else if rt == ObjectType::ObjectSchema as i32 {
        at.hit_on("drop-schema", what.clone(), None, objects.clone());
    } else if rt == ObjectType::ObjectExtension as i32 {
        at.hit_on("drop-extension", what.clone(), None, objects.clone());
    } else if rt == ObjectType::ObjectIndex as i32 && !d.concurrent {
        at.hit_on("drop-index-non-concurrently", what.clone(), None, objects.clone());
    }
    if d.behavior == DropBehavior::DropCascade as i32 && !created_here {
        at.hit_on("drop-cascade", what.clone(), None, objects.clone());
    }
    if !in_transaction(at, st) && !d.missing_ok {
        at.hit("non-idempotent-no-transaction", format!("DROP {what} without IF EXISTS"), None);
    }
}

pub(super) fn truncate(at: &mut At, st: &Seen, t: &protobuf::TruncateStmt) {
    let tables: Vec<String> = t
        .relations
        .iter()
        .filter_map(|r| match &r.node {
            Some(NodeEnum::RangeVar(v)) if existing(st, Some(v)) => Some(qualified(Some(v))),
            _ => None,
        })
        .collect();
    if tables.is_empty() {
        return;
    }
    let cascade = if t.behavior == DropBehavior::DropCascade as i32 {
        " CASCADE: tables that reference it are emptied too"
    } else {
        ""
    };
    at.hit("truncate", format!("{}{cascade}", tables.join(", ")), tables.first().cloned());
}

/// Every DELETE and UPDATE in a statement: the statement itself and those in its WITH
/// clauses (a data-modifying CTE deletes as surely as a plain DELETE).
pub(super) fn row_changes(at: &mut At, st: &mut Seen, node: &NodeEnum) {
    // The root itself, and a walk of the tree only when there is a WITH clause to look in.
    let with = match node {
        NodeEnum::DeleteStmt(d) => {
            let all = keeps_every_row(d.where_clause.as_deref());
            change_rows(at, st, d.relation.as_ref(), all, "delete");
            d.with_clause.is_some()
        }
        NodeEnum::UpdateStmt(u) => {
            let all = keeps_every_row(u.where_clause.as_deref());
            change_rows(at, st, u.relation.as_ref(), all, "update");
            u.with_clause.is_some()
        }
        NodeEnum::InsertStmt(i) => i.with_clause.is_some(),
        NodeEnum::SelectStmt(s) => s.with_clause.is_some(),
        _ => false,
    };
    if !with {
        return;
    }
    for (n, depth, _, _) in node.nodes() {
        if depth <= 1 {
            continue; // the root, judged above
        }
        match n {
            NodeRef::DeleteStmt(d) => {
                let all = keeps_every_row(d.where_clause.as_deref());
                change_rows(at, st, d.relation.as_ref(), all, "delete");
            }
            NodeRef::UpdateStmt(u) => {
                let all = keeps_every_row(u.where_clause.as_deref());
                change_rows(at, st, u.relation.as_ref(), all, "update");
            }
            _ => {}
        }
    }
}

/// DELETE or UPDATE (`verb`) of an existing table: every row without a WHERE (or with one
/// that is always true), and the first backfill of the migration.
fn change_rows(
    at: &mut At,
    st: &mut Seen,
    rel: Option<&protobuf::RangeVar>,
    no_where: bool,
    verb: &str,
) {
    if !existing(st, rel) {
        return;
    }
    let table = qualified(rel);
    if no_where {
        let rule = if verb == "delete" { "delete-without-where" } else { "update-without-where" };
        at.hit(rule, table.clone(), Some(table.clone()));
    }
    if st.backfill.is_none() {
        st.backfill = Some((at.i, table));
    }
}

pub(super) fn create_index(at: &mut At, st: &mut Seen, x: &protobuf::IndexStmt) {
    let table = qualified(x.relation.as_ref());
    if !x.unique && x.index_params.len() > 3 {
        let what = format!("{} on {table}: {} columns", x.idxname, x.index_params.len());
        at.hit("wide-non-unique-index", what, None);
    }
    if !x.concurrent && existing(st, x.relation.as_ref()) {
        at.hit("create-index-non-concurrently", table.clone(), Some(table.clone()));
        at.strong(st, table);
    }
    if !in_transaction(at, st) && !x.if_not_exists {
        at.hit("non-idempotent-no-transaction", format!("CREATE INDEX {}", x.idxname), None);
    }
}

/// Renaming an existing table or column breaks the code that still uses the old name.
pub(super) fn rename(at: &mut At, st: &Seen, r: &protobuf::RenameStmt) {
    if r.rename_type == ObjectType::ObjectSchema as i32 {
        let what = format!("{} to {}", r.subname, r.newname);
        at.hit_on("rename-schema", what, None, vec![r.subname.to_lowercase()]);
        return;
    }
    if !existing(st, r.relation.as_ref()) {
        return;
    }
    let table = qualified(r.relation.as_ref());
    if r.rename_type == ObjectType::ObjectTable as i32 {
        at.hit("rename-table", format!("{table} to {}", r.newname), Some(table));
    } else if r.rename_type == ObjectType::ObjectColumn as i32 {
        let what = format!("{table}.{} to {}", r.subname, r.newname);
        at.hit("rename-column", what, Some(table));
    }
}

/// ALTER TABLE on an existing table: each subcommand, and the strong lock it takes.
pub(super) fn alter_table(at: &mut At, st: &mut Seen, a: &protobuf::AlterTableStmt) {
    if !existing(st, a.relation.as_ref()) {
        return;
    }
    let table = qualified(a.relation.as_ref());
    let mut took_lock = false;
    for cmd in &a.cmds {
        let Some(NodeEnum::AlterTableCmd(c)) = &cmd.node else { continue };
        took_lock = true;
        alter_cmd(at, st, &table, c);
    }
    if took_lock {
        st.ddl_on_existing.get_or_insert(at.i);
        at.strong(st, table);
    }
}

/// ALTER TYPE on an enum: a new value (where it sorts, whether the server allows it in a
/// transaction) or a renamed one.
pub(super) fn alter_enum(at: &mut At, st: &mut Seen, e: &protobuf::AlterEnumStmt, in_tx: bool) {
    let name = strings(&e.type_name).join(".");
    if !e.old_val.is_empty() {
        let what = format!("{name}: '{}' to '{}'", e.old_val, e.new_val);
        at.hit("rename-enum-value", what, None);
        return;
    }
    if e.new_val.is_empty() {
        return;
    }
    st.new_enum_values.push(e.new_val.clone());
    if e.new_val_neighbor.is_empty() {
        at.hit("enum-add-value-unordered", format!("{name}: '{}'", e.new_val), None);
    }
    let old_server = at.m.server_version.is_some_and(|v| v < 120_000);
    if in_tx && old_server {
        at.hit("enum-add-value-in-transaction", e.new_val.clone(), None);
    }
}

/// ALTER DOMAIN: a constraint added without NOT VALID, or SET NOT NULL, checks every column
/// of the type in every table.
pub(super) fn alter_domain(at: &mut At, d: &protobuf::AlterDomainStmt) {
    let name = strings(&d.type_name).join(".");
    let validates = match d.subtype.as_str() {
        "C" => !matches!(
            d.def.as_ref().and_then(|n| n.node.as_ref()),
            Some(NodeEnum::Constraint(k)) if k.skip_validation
        ),
        "O" => true,
        _ => false,
    };
    if validates {
        at.hit("alter-domain-add-constraint", name, None);
    }
}

pub(super) fn create_domain(at: &mut At, d: &protobuf::CreateDomainStmt) {
    let checks = d.constraints.iter().any(|c| {
        matches!(&c.node, Some(NodeEnum::Constraint(k)) if k.contype == ConstrType::ConstrCheck as i32)
    });
    if checks {
        at.hit("create-domain-with-check", strings(&d.domainname).join("."), None);
    }
}
