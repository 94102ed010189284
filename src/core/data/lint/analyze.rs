//! The analysis of one migration: each statement's parse tree, with what earlier statements
//! of the same migration created or changed. Only the outer statements are looked at:
//! function bodies, DO blocks and string literals are data to this pass, never findings.

use std::collections::HashSet;

use pg_query::protobuf::{self, a_const, ConstrType};
use pg_query::{NodeEnum, NodeRef};

use crate::core::data::sql::Statement;

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
    /// Other objects it is about (an index, a view, a schema): with the table, what the
    /// run's context judges. When the run creates them all, the finding cannot hurt.
    pub objects: Vec<String>,
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
    /// Constraints added NOT VALID in the transaction still open.
    pub(super) not_valid: HashSet<(String, String)>,
    /// Columns a validated `CHECK (col IS NOT NULL)` covers (table, column): SET NOT NULL
    /// on them skips its scan on PostgreSQL 12+.
    pub(super) proven_not_null: HashSet<(String, String)>,
    /// CHECK constraints of the form `col IS NOT NULL` added NOT VALID: (table, name) to column.
    pub(super) not_null_checks: Vec<((String, String), String)>,
    pub(super) new_enum_values: Vec<String>,
    pub(super) explicit_tx: Option<usize>,
    pub(super) ddl_on_existing: Option<usize>,
    pub(super) backfill: Option<(usize, String)>,
    pub(super) sets_lock_timeout: bool,
    pub(super) first_strong_lock: Option<(usize, String)>,
}

pub(super) fn name_of(rv: Option<&protobuf::RangeVar>) -> String {
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
    let hit = |rule: &'static str, detail: String| Hit {
        rule,
        statement,
        detail,
        table: None,
        objects: Vec::new(),
    };
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
        text_checks(m, &st, i, stmt, &mut hits);
        if !needs_tree(stmt, &st) {
            continue;
        }
        let parsed = match parser::parse(&stmt.text) {
            Ok(p) => p,
            Err(_) => continue, // split already parsed the file; a lone failure is not ours to report twice
        };
        for raw in &parsed.protobuf.stmts {
            if let Some(node) = raw.stmt.as_ref().and_then(|n| n.node.as_ref()) {
                statement(m, &mut st, i, node, &mut hits);
            }
        }
    }
    if let Some(at) = st.explicit_tx {
        hits.push(Hit {
            rule: "begin-without-commit",
            statement: at,
            detail: String::new(),
            table: None,
            objects: Vec::new(),
        });
    }
    if m.transactional {
        if let (Some(_), Some((at, table))) = (st.ddl_on_existing, st.backfill.clone()) {
            hits.push(Hit {
                rule: "backfill-with-ddl",
                statement: at,
                detail: String::new(),
                table: Some(table),
                objects: Vec::new(),
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
                objects: Vec::new(),
            });
        }
    }
    hits
}

/// What the statement's text and keywords alone tell: names too long, and what cannot run
/// in the transaction it would run in.
fn text_checks(m: &Migration, st: &Seen, i: usize, stmt: &Statement, hits: &mut Vec<Hit>) {
    let mut at = At { m, i, hits };
    if let Some(name) = super::names::too_long(&stmt.text) {
        at.hit("identifier-too-long", name, None);
    }
    if m.transactional || st.explicit_tx.is_some() {
        if let Some(why) = stmt.needs_no_transaction() {
            at.hit("non-transactional-in-transaction", why.to_string(), None);
        }
    }
}

/// Whether a rule could look at the statement's parse tree. Parsing is most of the lint's
/// time; comments, grants, functions, procedures and views are never findings (their
/// bodies are data), and an INSERT or SELECT only with a WITH clause (a DELETE or UPDATE in
/// it) or after this migration added an enum value (using it too early).
fn needs_tree(stmt: &Statement, st: &Seen) -> bool {
    let k = |i: usize| stmt.keywords.get(i).map(String::as_str);
    let has = |w: &str| stmt.keywords.iter().any(|x| x == w);
    let created = match (k(1), k(2), k(3)) {
        (Some("OR"), Some("REPLACE"), third) => third,
        (second, _, _) => second,
    };
    match (k(0), created) {
        (Some("COMMENT" | "GRANT" | "REVOKE"), _) => false,
        (Some("CREATE"), Some("FUNCTION" | "PROCEDURE" | "VIEW")) => false,
        (Some("INSERT" | "SELECT" | "VALUES"), _) => has("WITH") || !st.new_enum_values.is_empty(),
        _ => true,
    }
}

/// One statement being judged: the migration, its place, and where its hits go.
pub(super) struct At<'a> {
    pub(super) m: &'a Migration<'a>,
    pub(super) i: usize,
    pub(super) hits: &'a mut Vec<Hit>,
}

impl At<'_> {
    pub(super) fn hit(&mut self, rule: &'static str, detail: String, table: Option<String>) {
        self.hits.push(Hit { rule, statement: self.i, detail, table, objects: Vec::new() })
    }

    /// A finding about several objects (tables, indexes, views, schemas): `table` gives
    /// the size context, `objects` what the run's context judges.
    pub(super) fn hit_on(
        &mut self,
        rule: &'static str,
        detail: String,
        table: Option<String>,
        objects: Vec<String>,
    ) {
        self.hits.push(Hit { rule, statement: self.i, detail, table, objects })
    }

    /// The first statement that takes a strong lock on an existing table.
    pub(super) fn strong(&self, st: &mut Seen, table: String) {
        if st.first_strong_lock.is_none() {
            st.first_strong_lock = Some((self.i, table));
        }
    }
}

/// Whether the statement runs inside a transaction: sluice's own, or a BEGIN the file
/// wrote (a failure there undoes the block, so re-runnability is not at stake).
pub(super) fn in_transaction(at: &At, st: &Seen) -> bool {
    at.m.transactional || st.explicit_tx.is_some()
}

/// A table the migration did not create itself.
pub(super) fn existing(st: &Seen, rv: Option<&protobuf::RangeVar>) -> bool {
    let n = name_of(rv);
    !n.is_empty() && !st.created_tables.contains(&n)
}

fn statement(m: &Migration, st: &mut Seen, i: usize, node: &NodeEnum, hits: &mut Vec<Hit>) {
    use super::statements as s;
    let mut at = At { m, i, hits };
    match node {
        NodeEnum::TransactionStmt(t) => s::transaction(&mut at, st, t.kind),
        NodeEnum::VariableSetStmt(v) if v.name.eq_ignore_ascii_case("lock_timeout") => {
            st.sets_lock_timeout = true;
        }
        NodeEnum::CreateStmt(c) => s::create_table(&mut at, st, c),
        NodeEnum::CreateTableAsStmt(c) => {
            if let Some(into) = &c.into {
                st.created_tables.insert(name_of(into.rel.as_ref()));
            }
        }
        NodeEnum::DropdbStmt(d) => at.hit("drop-database", d.dbname.clone(), None),
        NodeEnum::DropStmt(d) => s::drop(&mut at, st, d),
        NodeEnum::TruncateStmt(t) => s::truncate(&mut at, st, t),
        NodeEnum::DeleteStmt(_)
        | NodeEnum::UpdateStmt(_)
        | NodeEnum::InsertStmt(_)
        | NodeEnum::SelectStmt(_) => {
            s::row_changes(&mut at, st, node);
            enum_use(&mut at, st, node);
        }
        NodeEnum::IndexStmt(x) => s::create_index(&mut at, st, x),
        NodeEnum::ReindexStmt(r) if !has_option(&r.params, "concurrently") => {
            let target =
                if r.relation.is_some() { qualified(r.relation.as_ref()) } else { r.name.clone() };
            at.hit_on(
                "reindex-non-concurrently",
                target.clone(),
                None,
                vec![target.to_lowercase()],
            );
        }
        NodeEnum::VacuumStmt(v) if v.is_vacuumcmd && has_option(&v.options, "full") => {
            at.hit("vacuum-full", String::new(), None);
        }
        NodeEnum::ClusterStmt(c) => {
            let table = qualified(c.relation.as_ref());
            at.hit("cluster", table.clone(), Some(table))
        }
        NodeEnum::LockStmt(l) => {
            let tables: Vec<String> = l
                .relations
                .iter()
                .filter_map(|r| match &r.node {
                    Some(NodeEnum::RangeVar(v)) => Some(qualified(Some(v)).to_lowercase()),
                    _ => None,
                })
                .collect();
            at.hit_on("lock-table", String::new(), None, tables);
        }
        NodeEnum::RefreshMatViewStmt(r) if !r.concurrent => {
            let view = qualified(r.relation.as_ref());
            let objects = vec![view.to_lowercase()];
            at.hit_on("refresh-matview-non-concurrently", view, None, objects);
        }
        NodeEnum::RenameStmt(r) => s::rename(&mut at, st, r),
        NodeEnum::AlterEnumStmt(e) => {
            let in_tx = m.transactional || st.explicit_tx.is_some();
            s::alter_enum(&mut at, st, e, in_tx)
        }
        NodeEnum::AlterTableStmt(a) => s::alter_table(&mut at, st, a),
        NodeEnum::AlterDomainStmt(d) => s::alter_domain(&mut at, d),
        NodeEnum::CreateDomainStmt(d) => s::create_domain(&mut at, d),
        _ => {}
    }
}

fn enum_use(at: &mut At, st: &Seen, node: &NodeEnum) {
    if st.new_enum_values.is_empty() {
        return;
    }
    for (n, _, _, _) in node.nodes() {
        if let NodeRef::AConst(c) = n {
            if let Some(a_const::Val::Sval(s)) = &c.val {
                if st.new_enum_values.contains(&s.sval) {
                    at.hit("enum-value-used-in-same-transaction", s.sval.clone(), None);
                    return;
                }
            }
        }
    }
    // The tree walk passes over VALUES lists: the statement's string constants, as
    // PostgreSQL's scanner reads them, cover those.
    let text = &at.m.statements[at.i].text;
    let Ok(tokens) = parser::scan_tokens(text) else { return };
    for t in tokens.iter().filter(|t| t.token == protobuf::Token::Sconst as i32) {
        let Some(lit) = text.get(t.start as usize..t.end as usize) else { continue };
        let value =
            lit.strip_prefix('\'').and_then(|l| l.strip_suffix('\'')).map(|v| v.replace("''", "'"));
        if let Some(v) = value.filter(|v| st.new_enum_values.contains(v)) {
            at.hit("enum-value-used-in-same-transaction", v, None);
            return;
        }
    }
}
