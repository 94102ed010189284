//! Whether a WHERE clause filters anything: `WHERE true`, `WHERE 1 = 1`, `x OR true` are no
//! filter at all. Only constants are folded; anything naming a column or calling a function
//! is taken to filter (a false alarm on a real filter would teach people to ignore the lint).

use pg_query::protobuf::{self, a_const, AExprKind, BoolExprType};
use pg_query::NodeEnum;

/// A WHERE that keeps every row: absent, or a constant that is always true.
pub(super) fn keeps_every_row(clause: Option<&protobuf::Node>) -> bool {
    match clause {
        None => true,
        Some(n) => truth(n) == Some(true),
    }
}

#[derive(Debug, PartialEq, PartialOrd)]
enum Value {
    Num(f64),
    Text(String),
    Bool(bool),
}

/// The truth of a boolean expression built from constants, or None when it depends on
/// the row (or on anything sluice does not fold).
fn truth(node: &protobuf::Node) -> Option<bool> {
    match node.node.as_ref()? {
        NodeEnum::BoolExpr(b) => {
            let args: Vec<Option<bool>> = b.args.iter().map(truth).collect();
            match b.boolop {
                x if x == BoolExprType::AndExpr as i32 => {
                    if args.contains(&Some(false)) {
                        Some(false)
                    } else if args.iter().all(|a| *a == Some(true)) {
                        Some(true)
                    } else {
                        None
                    }
                }
                x if x == BoolExprType::OrExpr as i32 => {
                    if args.contains(&Some(true)) {
                        Some(true)
                    } else if args.iter().all(|a| *a == Some(false)) {
                        Some(false)
                    } else {
                        None
                    }
                }
                x if x == BoolExprType::NotExpr as i32 => {
                    args.first().copied().flatten().map(|v| !v)
                }
                _ => None,
            }
        }
        NodeEnum::AExpr(e) if e.kind == AExprKind::AexprOp as i32 => {
            let op = match e.name.first().and_then(|n| n.node.as_ref()) {
                Some(NodeEnum::String(s)) => s.sval.as_str(),
                _ => return None,
            };
            let l = value(e.lexpr.as_deref()?)?;
            let r = value(e.rexpr.as_deref()?)?;
            compare(op, &l, &r)
        }
        _ => match value(node)? {
            Value::Bool(b) => Some(b),
            _ => None,
        },
    }
}

fn compare(op: &str, l: &Value, r: &Value) -> Option<bool> {
    if std::mem::discriminant(l) != std::mem::discriminant(r) {
        return None;
    }
    Some(match op {
        "=" => l == r,
        "<>" | "!=" => l != r,
        "<" => l < r,
        "<=" => l <= r,
        ">" => l > r,
        ">=" => l >= r,
        _ => return None,
    })
}

fn value(node: &protobuf::Node) -> Option<Value> {
    match node.node.as_ref()? {
        NodeEnum::AConst(c) if !c.isnull => match c.val.as_ref()? {
            a_const::Val::Ival(i) => Some(Value::Num(i.ival as f64)),
            a_const::Val::Fval(f) => f.fval.parse().ok().map(Value::Num),
            a_const::Val::Sval(s) => Some(Value::Text(s.sval.clone())),
            a_const::Val::Boolval(b) => Some(Value::Bool(b.boolval)),
            _ => None,
        },
        // 'true'::boolean and friends.
        NodeEnum::TypeCast(t) => {
            let inner = value(t.arg.as_deref()?)?;
            let ty = t.type_name.as_ref()?.names.last()?;
            match (ty.node.as_ref()?, inner) {
                (NodeEnum::String(s), Value::Text(v)) if s.sval == "bool" => {
                    match v.to_lowercase().as_str() {
                        "t" | "true" | "yes" | "on" | "1" => Some(Value::Bool(true)),
                        "f" | "false" | "no" | "off" | "0" => Some(Value::Bool(false)),
                        _ => None,
                    }
                }
                (_, v @ Value::Bool(_)) => Some(v),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn where_of(sql: &str) -> bool {
        let parsed = crate::core::data::sql::parser::parse(sql).unwrap();
        let stmt = parsed.protobuf.stmts[0].stmt.as_ref().unwrap().node.as_ref().unwrap();
        let NodeEnum::DeleteStmt(d) = stmt else { panic!("not a DELETE: {sql}") };
        keeps_every_row(d.where_clause.as_deref())
    }

    #[test]
    fn constant_filters_are_no_filter() {
        for sql in [
            "DELETE FROM t",
            "DELETE FROM t WHERE true",
            "DELETE FROM t WHERE 1 = 1",
            "DELETE FROM t WHERE 1 <> 2",
            "DELETE FROM t WHERE 2 > 1.5",
            "DELETE FROM t WHERE 'a' = 'a'",
            "DELETE FROM t WHERE a < 3 OR true",
            "DELETE FROM t WHERE NOT false",
            "DELETE FROM t WHERE 't'::boolean",
            "DELETE FROM t WHERE (1 = 1) AND (true OR a = 2)",
        ] {
            assert!(where_of(sql), "{sql}");
        }
    }

    #[test]
    fn real_and_unknown_filters_filter() {
        for sql in [
            "DELETE FROM t WHERE a = 1",
            "DELETE FROM t WHERE a = 1 AND true",
            "DELETE FROM t WHERE false",
            "DELETE FROM t WHERE 1 = 2",
            "DELETE FROM t WHERE 1 = '1'",
            "DELETE FROM t WHERE now() > '2020-01-01'",
            "DELETE FROM t WHERE a IS NULL OR false",
        ] {
            assert!(!where_of(sql), "{sql}");
        }
    }
}
