//! ALTER TABLE subcommands on existing tables: rewrites, scans, strong locks.

use pg_query::protobuf::{self, AlterTableType, ConstrType, DropBehavior};
use pg_query::{NodeEnum, NodeRef};

use super::analyze::{column_types, strings, type_name, At, Seen};

/// Functions whose default forces a table rewrite when used in ADD COLUMN ... DEFAULT.
const VOLATILE: &[&str] = &[
    "random",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "txid_current",
    "statement_timestamp",
    "random_normal",
    "setseed",
];

/// Functions known not to be volatile (STABLE or IMMUTABLE): a default built from them is
/// evaluated once, with no rewrite, on PostgreSQL 11+.
const NOT_VOLATILE: &[&str] = &[
    "now",
    "transaction_timestamp",
    "lower",
    "upper",
    "coalesce",
    "concat",
    "length",
    "abs",
    "round",
    "make_date",
    "to_timestamp",
    "to_date",
    "current_setting",
    "jsonb_build_object",
    "json_build_object",
    "array_length",
    "btrim",
    "trim",
    "date_trunc",
];

/// Types whose column is filled from a sequence for every existing row when added.
const SERIAL: &[&str] = &["serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"];

enum Volatility {
    None,
    Known(String),
    Unknown(String),
}

fn default_volatility(expr: &protobuf::Node) -> Volatility {
    let Some(node) = &expr.node else { return Volatility::None };
    let mut unknown = None;
    let mut calls: Vec<String> = Vec::new();
    if let NodeEnum::FuncCall(f) = node {
        calls.push(strings(&f.funcname).pop().unwrap_or_default());
    }
    for (n, _, _, _) in node.nodes() {
        if let NodeRef::FuncCall(f) = n {
            calls.push(strings(&f.funcname).pop().unwrap_or_default());
        }
    }
    for name in calls {
        if VOLATILE.contains(&name.as_str()) {
            return Volatility::Known(name);
        }
        if !NOT_VOLATILE.contains(&name.as_str()) {
            unknown = Some(name);
        }
    }
    match unknown {
        Some(n) => Volatility::Unknown(n),
        None => Volatility::None,
    }
}

/// ADD COLUMN: a default that rewrites, NOT NULL without one, stored generated columns,
/// an inline UNIQUE, and the column's type.
fn add_column(at: &mut At, st: &Seen, table: &str, c: &protobuf::AlterTableCmd) {
    let t = Some(table.to_string());
    let Some(NodeEnum::ColumnDef(col)) = c.def.as_ref().and_then(|d| d.node.as_ref()) else {
        return;
    };
    if !in_tx(at, st) && !c.missing_ok {
        at.hit(
            "non-idempotent-no-transaction",
            format!("ADD COLUMN {} without IF NOT EXISTS", col.colname),
            None,
        );
    }
    let mut default = col.raw_default.as_deref().cloned();
    let mut not_null = col.is_not_null;
    let mut generated_stored = false;
    let (type_name, _) = type_name(col.type_name.as_ref());
    let mut fills_every_row = SERIAL.contains(&type_name.as_str());
    for k in &col.constraints {
        let Some(NodeEnum::Constraint(k)) = &k.node else { continue };
        match k.contype {
            x if x == ConstrType::ConstrDefault as i32 => default = k.raw_expr.as_deref().cloned(),
            x if x == ConstrType::ConstrNotnull as i32 => not_null = true,
            x if x == ConstrType::ConstrGenerated as i32 => generated_stored = true,
            x if x == ConstrType::ConstrIdentity as i32 => fills_every_row = true,
            x if (x == ConstrType::ConstrUnique as i32
                || x == ConstrType::ConstrPrimary as i32)
                && k.indexname.is_empty() =>
            {
                at.hit(
                    "add-unique-without-using-index",
                    format!("{table}.{}", col.colname),
                    t.clone(),
                )
            }
            _ => {}
        }
    }
    if generated_stored {
        at.hit("add-stored-generated-column", format!("{table}.{}", col.colname), t.clone());
    }
    if fills_every_row {
        let what = format!("{table}.{} {type_name}", col.colname);
        at.hit("add-serial-column", what, t.clone());
        default = None;
        not_null = false;
    }
    match &default {
        Some(expr) if at.m.server_version.is_some_and(|v| v < 110_000) && expr.node.is_some() => at
            .hit(
                "add-column-volatile-default",
                format!(
                    "{table}.{}: before PostgreSQL 11 any default rewrites the table",
                    col.colname
                ),
                t.clone(),
            ),
        Some(expr) => match default_volatility(expr) {
            Volatility::Known(f) => at.hit(
                "add-column-volatile-default",
                format!("{table}.{} DEFAULT {f}()", col.colname),
                t.clone(),
            ),
            Volatility::Unknown(f) => at.hit(
                "add-column-volatile-default",
                format!(
                    "{table}.{} DEFAULT {f}(): rewrites the table if {f} is VOLATILE",
                    col.colname
                ),
                t.clone(),
            ),
            Volatility::None => {}
        },
        None if not_null && !generated_stored => at.hit(
            "add-not-null-column-without-default",
            format!("{table}.{}", col.colname),
            t.clone(),
        ),
        None => {}
    }
    let mut local = Vec::new();
    column_types(col, at.i, &mut local, false);
    for h in local {
        at.hit(h.rule, h.detail, None);
    }
}

pub(super) fn alter_cmd(at: &mut At, st: &mut Seen, table: &str, c: &protobuf::AlterTableCmd) {
    let t = Some(table.to_string());
    let sub = c.subtype;
    let is = |x: AlterTableType| sub == x as i32;
    if is(AlterTableType::AtAddColumn) {
        add_column(at, st, table, c);
    } else if is(AlterTableType::AtAlterColumnType) {
        let Some(NodeEnum::ColumnDef(col)) = c.def.as_ref().and_then(|d| d.node.as_ref()) else {
            return;
        };
        let (name, mods) = type_name(col.type_name.as_ref());
        let using = col.raw_default.is_some();
        let widening = !using && (name == "text" || (name == "varchar" && mods.is_empty()));
        if !widening {
            let note = if name == "varchar" && !using {
                " (safe only if it widens the length)"
            } else {
                ""
            };
            at.hit("alter-column-type", format!("{table}.{} to {name}{note}", c.name), t.clone());
        }
    } else if is(AlterTableType::AtSetNotNull) {
        let key = (table.to_lowercase(), c.name.to_lowercase());
        // PostgreSQL 12+ skips the scan when a validated CHECK (col IS NOT NULL) proves it.
        let proven =
            st.proven_not_null.contains(&key) && at.m.server_version.is_none_or(|v| v >= 120_000);
        if !proven {
            at.hit("set-not-null", format!("{table}.{}", c.name), t.clone());
        }
    } else if is(AlterTableType::AtDropNotNull) {
        at.hit("drop-not-null", format!("{table}.{}", c.name), t.clone());
    } else if is(AlterTableType::AtDetachPartition) {
        let concurrent = matches!(
            c.def.as_ref().and_then(|d| d.node.as_ref()),
            Some(NodeEnum::PartitionCmd(p)) if p.concurrent
        );
        if !concurrent {
            at.hit("detach-partition-non-concurrently", table.to_string(), t.clone());
        }
    } else if is(AlterTableType::AtDropColumn) {
        at.hit("drop-column", format!("{table}.{}", c.name), t.clone());
        if c.behavior == DropBehavior::DropCascade as i32 {
            at.hit("drop-cascade", format!("{table}.{}", c.name), t.clone());
        }
    } else if is(AlterTableType::AtSetLogged) || is(AlterTableType::AtSetUnLogged) {
        at.hit("set-logged-unlogged", table.to_string(), t.clone());
    } else if is(AlterTableType::AtDisableTrig)
        || is(AlterTableType::AtDisableTrigAll)
        || is(AlterTableType::AtDisableTrigUser)
    {
        at.hit("disable-triggers", table.to_string(), t.clone());
    } else if is(AlterTableType::AtAddConstraint) {
        let Some(NodeEnum::Constraint(k)) = c.def.as_ref().and_then(|d| d.node.as_ref()) else {
            return;
        };
        let name = format!("{table}.{}", k.conname);
        let key = (table.to_lowercase(), k.conname.to_lowercase());
        if k.skip_validation && in_tx(at, st) {
            st.not_valid.insert(key.clone());
        }
        if let Some(col) = not_null_check(k) {
            if k.skip_validation {
                st.not_null_checks.push((key, col));
            } else {
                st.proven_not_null.insert((table.to_lowercase(), col));
            }
        }
        match k.contype {
            x if x == ConstrType::ConstrForeign as i32 && !k.skip_validation => {
                at.hit("add-foreign-key-without-not-valid", name, t.clone())
            }
            x if x == ConstrType::ConstrCheck as i32 && !k.skip_validation => {
                at.hit("add-check-without-not-valid", name, t.clone())
            }
            x if (x == ConstrType::ConstrUnique as i32
                || x == ConstrType::ConstrPrimary as i32
                || x == ConstrType::ConstrExclusion as i32)
                && k.indexname.is_empty() =>
            {
                at.hit("add-unique-without-using-index", name, t.clone())
            }
            _ => {}
        }
    } else if is(AlterTableType::AtValidateConstraint) {
        let key = (table.to_lowercase(), c.name.to_lowercase());
        if let Some((_, col)) = st.not_null_checks.iter().find(|(k, _)| *k == key) {
            st.proven_not_null.insert((key.0.clone(), col.clone()));
        }
        if in_tx(at, st) && st.not_valid.contains(&key) {
            at.hit("validate-in-same-transaction", format!("{table}.{}", c.name), t.clone());
        }
    }
}

fn in_tx(at: &At, st: &Seen) -> bool {
    super::analyze::in_transaction(at, st)
}

/// The column of a `CHECK (col IS NOT NULL)` constraint.
fn not_null_check(k: &protobuf::Constraint) -> Option<String> {
    if k.contype != ConstrType::ConstrCheck as i32 {
        return None;
    }
    let Some(NodeEnum::NullTest(t)) = k.raw_expr.as_ref().and_then(|e| e.node.as_ref()) else {
        return None;
    };
    if t.nulltesttype != protobuf::NullTestType::IsNotNull as i32 {
        return None;
    }
    match t.arg.as_ref().and_then(|a| a.node.as_ref()) {
        Some(NodeEnum::ColumnRef(c)) => strings(&c.fields).pop(),
        _ => None,
    }
}
