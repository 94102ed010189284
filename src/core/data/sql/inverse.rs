//! Compensating SQL for a statement that ran: what undoes it, when that can be told from the
//! statement alone. Used to settle a no-transaction migration that stopped half way, where
//! the down file (written for the whole migration) does not fit.

use pg_query::protobuf::{AlterTableType, ObjectType, RangeVar};
use pg_query::NodeEnum;

/// What undoes one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inverse {
    /// This SQL undoes it (written with IF EXISTS, so running it twice is harmless).
    Sql(String),
    /// The statement leaves nothing to undo (VACUUM, ANALYZE, VALIDATE CONSTRAINT, SET, ...).
    Nothing,
    /// Cannot be told from the statement: the operator has to undo it by hand.
    Unknown,
}

/// Quotes an identifier the way PostgreSQL's quote_ident does: bare when it is lower case
/// letters, digits and underscores not starting with a digit, double-quoted otherwise.
pub fn quote_ident(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !is_reserved(name);
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn is_reserved(name: &str) -> bool {
    super::parser::scan_tokens(name)
        .ok()
        .and_then(|t| t.first().map(|t| t.keyword_kind))
        .is_some_and(|k| k == pg_query::protobuf::KeywordKind::ReservedKeyword as i32)
}

fn qualified(schema: &str, name: &str) -> String {
    if schema.is_empty() {
        quote_ident(name)
    } else {
        format!("{}.{}", quote_ident(schema), quote_ident(name))
    }
}

fn relation(r: Option<&RangeVar>) -> Option<String> {
    r.filter(|r| !r.relname.is_empty()).map(|r| qualified(&r.schemaname, &r.relname))
}

fn name_list(nodes: &[pg_query::protobuf::Node]) -> Option<String> {
    let parts: Vec<String> = nodes
        .iter()
        .filter_map(|n| match &n.node {
            Some(NodeEnum::String(s)) => Some(quote_ident(&s.sval)),
            _ => None,
        })
        .collect();
    (!parts.is_empty() && parts.len() == nodes.len()).then(|| parts.join("."))
}

/// The index a `DROP INDEX CONCURRENTLY` of one index drops, schema-qualified when written so.
pub fn concurrently_dropped_index(stmt: &str) -> Option<String> {
    let parsed = super::parser::parse(stmt).ok()?;
    let [raw] = parsed.protobuf.stmts.as_slice() else { return None };
    match raw.stmt.as_ref()?.node.as_ref()? {
        NodeEnum::DropStmt(d)
            if d.concurrent && d.remove_type == ObjectType::ObjectIndex as i32 =>
        {
            let [obj] = d.objects.as_slice() else { return None };
            match obj.node.as_ref()? {
                NodeEnum::List(l) => name_list(&l.items),
                _ => None,
            }
        }
        _ => None,
    }
}

/// What undoes `stmt` (one statement's text).
pub fn inverse(stmt: &str) -> Inverse {
    let Ok(parsed) = super::parser::parse(stmt) else { return Inverse::Unknown };
    let [raw] = parsed.protobuf.stmts.as_slice() else { return Inverse::Unknown };
    let Some(node) = raw.stmt.as_ref().and_then(|n| n.node.as_ref()) else {
        return Inverse::Unknown;
    };
    let sql = |s: String| Inverse::Sql(s);
    match node {
        NodeEnum::IndexStmt(x) if !x.idxname.is_empty() => {
            let schema = x.relation.as_ref().map(|r| r.schemaname.as_str()).unwrap_or("");
            let how = if x.concurrent { "CONCURRENTLY " } else { "" };
            sql(format!("DROP INDEX {how}IF EXISTS {}", qualified(schema, &x.idxname)))
        }
        NodeEnum::CreateStmt(c) => match relation(c.relation.as_ref()) {
            Some(t) => sql(format!("DROP TABLE IF EXISTS {t}")),
            None => Inverse::Unknown,
        },
        NodeEnum::ViewStmt(v) if !v.replace => match relation(v.view.as_ref()) {
            Some(t) => sql(format!("DROP VIEW IF EXISTS {t}")),
            None => Inverse::Unknown,
        },
        NodeEnum::CreateTableAsStmt(c) if c.objtype == ObjectType::ObjectMatview as i32 => {
            match relation(c.into.as_ref().and_then(|i| i.rel.as_ref())) {
                Some(t) => sql(format!("DROP MATERIALIZED VIEW IF EXISTS {t}")),
                None => Inverse::Unknown,
            }
        }
        NodeEnum::CreateSeqStmt(s) => match relation(s.sequence.as_ref()) {
            Some(t) => sql(format!("DROP SEQUENCE IF EXISTS {t}")),
            None => Inverse::Unknown,
        },
        NodeEnum::CreateSchemaStmt(s) if !s.schemaname.is_empty() && s.schema_elts.is_empty() => {
            sql(format!("DROP SCHEMA IF EXISTS {}", quote_ident(&s.schemaname)))
        }
        NodeEnum::CreateEnumStmt(e) => match name_list(&e.type_name) {
            Some(t) => sql(format!("DROP TYPE IF EXISTS {t}")),
            None => Inverse::Unknown,
        },
        NodeEnum::CreateExtensionStmt(e) if !e.if_not_exists => {
            sql(format!("DROP EXTENSION IF EXISTS {}", quote_ident(&e.extname)))
        }
        NodeEnum::AlterTableStmt(a) => alter_table(a),
        NodeEnum::VacuumStmt(_)
        | NodeEnum::VariableSetStmt(_)
        | NodeEnum::SelectStmt(_)
        | NodeEnum::ReindexStmt(_)
        | NodeEnum::CheckPointStmt(_) => Inverse::Nothing,
        _ => Inverse::Unknown,
    }
}

/// ADD COLUMN and ADD CONSTRAINT (named) are undone by their DROPs, VALIDATE leaves nothing
/// to undo; anything else in the same ALTER makes the whole statement Unknown.
fn alter_table(a: &pg_query::protobuf::AlterTableStmt) -> Inverse {
    let Some(table) = relation(a.relation.as_ref()) else { return Inverse::Unknown };
    let mut drops = Vec::new();
    for cmd in &a.cmds {
        let Some(NodeEnum::AlterTableCmd(c)) = &cmd.node else { return Inverse::Unknown };
        let def = c.def.as_ref().and_then(|d| d.node.as_ref());
        match (c.subtype, def) {
            (t, Some(NodeEnum::ColumnDef(col))) if t == AlterTableType::AtAddColumn as i32 => {
                if c.missing_ok {
                    // ADD COLUMN IF NOT EXISTS: the column may have been there before.
                    return Inverse::Unknown;
                }
                drops.push(format!("DROP COLUMN IF EXISTS {}", quote_ident(&col.colname)));
            }
            (t, Some(NodeEnum::Constraint(k)))
                if t == AlterTableType::AtAddConstraint as i32 && !k.conname.is_empty() =>
            {
                drops.push(format!("DROP CONSTRAINT IF EXISTS {}", quote_ident(&k.conname)));
            }
            (t, _) if t == AlterTableType::AtValidateConstraint as i32 => {}
            _ => return Inverse::Unknown,
        }
    }
    if drops.is_empty() {
        Inverse::Nothing
    } else {
        Inverse::Sql(format!("ALTER TABLE {table} {}", drops.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(s: &str) -> String {
        match inverse(s) {
            Inverse::Sql(x) => x,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn creations_are_undone_by_drops_if_exists() {
        assert_eq!(
            sql("CREATE INDEX CONCURRENTLY idx_a ON app.accounts (email)"),
            "DROP INDEX CONCURRENTLY IF EXISTS app.idx_a"
        );
        assert_eq!(sql("create unique index \"Idx\" on t (a)"), "DROP INDEX IF EXISTS \"Idx\"");
        assert_eq!(sql("CREATE TABLE audit (id int)"), "DROP TABLE IF EXISTS audit");
        assert_eq!(sql("CREATE VIEW v AS SELECT 1"), "DROP VIEW IF EXISTS v");
        assert_eq!(
            sql("CREATE MATERIALIZED VIEW s.mv AS SELECT 1"),
            "DROP MATERIALIZED VIEW IF EXISTS s.mv"
        );
        assert_eq!(sql("CREATE SEQUENCE seq_x"), "DROP SEQUENCE IF EXISTS seq_x");
        assert_eq!(sql("CREATE TYPE mood AS ENUM ('a')"), "DROP TYPE IF EXISTS mood");
        assert_eq!(sql("CREATE SCHEMA reporting"), "DROP SCHEMA IF EXISTS reporting");
        assert_eq!(
            sql("ALTER TABLE t ADD COLUMN a int, ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT VALID"),
            "ALTER TABLE t DROP COLUMN IF EXISTS a, DROP CONSTRAINT IF EXISTS t_a_pos"
        );
    }

    #[test]
    fn what_cannot_be_told_is_unknown_and_what_leaves_nothing_is_nothing() {
        assert_eq!(inverse("UPDATE t SET a = 1"), Inverse::Unknown);
        assert_eq!(inverse("ALTER TABLE t DROP COLUMN a"), Inverse::Unknown);
        assert_eq!(inverse("ALTER TABLE t ADD COLUMN IF NOT EXISTS a int"), Inverse::Unknown);
        assert_eq!(inverse("ALTER TABLE t ADD CHECK (a > 0)"), Inverse::Unknown);
        assert_eq!(inverse("CREATE OR REPLACE VIEW v AS SELECT 1"), Inverse::Unknown);
        assert_eq!(inverse("CREATE INDEX ON t (a)"), Inverse::Unknown);
        assert_eq!(inverse("not sql at all"), Inverse::Unknown);
        assert_eq!(inverse("VACUUM ANALYZE t"), Inverse::Nothing);
        assert_eq!(inverse("ALTER TABLE t VALIDATE CONSTRAINT c"), Inverse::Nothing);
        assert_eq!(inverse("SET lock_timeout = '1s'"), Inverse::Nothing);
    }

    #[test]
    fn identifiers_are_quoted_like_quote_ident() {
        assert_eq!(quote_ident("accounts"), "accounts");
        assert_eq!(quote_ident("Accounts"), "\"Accounts\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(quote_ident("select"), "\"select\"");
        assert_eq!(quote_ident("1x"), "\"1x\"");
        assert_eq!(quote_ident(""), "\"\"");
    }
}
