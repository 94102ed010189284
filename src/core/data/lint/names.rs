//! Identifiers longer than PostgreSQL keeps: the scanner cuts them to NAMEDATALEN - 1 bytes
//! with only a NOTICE, so what the migration names and what the catalog holds differ.

use crate::core::data::sql::parser;

const MAX_BYTES: usize = 63;

/// The first identifier in `sql` longer than 63 bytes, as written.
pub(super) fn too_long(sql: &str) -> Option<String> {
    // Cheap test first: no run of identifier characters or quoted name that long, no scan.
    if !sql.contains('"') && longest_word(sql) <= MAX_BYTES {
        return None;
    }
    let tokens = parser::scan_tokens(sql).ok()?;
    tokens.iter().find_map(|t| {
        let text = sql.get(t.start as usize..t.end as usize)?;
        let name = identifier(text)?;
        (name.len() > MAX_BYTES).then(|| text.to_string())
    })
}

fn longest_word(sql: &str) -> usize {
    sql.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .map(str::len)
        .max()
        .unwrap_or(0)
}

/// The identifier a token spells, or None for keywords' peers that are not names (strings,
/// numbers, operators, comments, dollar-quoted bodies).
fn identifier(token: &str) -> Option<String> {
    if let Some(inner) = token.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return Some(inner.replace("\"\"", "\""));
    }
    let first = token.chars().next()?;
    (first.is_alphabetic() || first == '_').then(|| token.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_over_63_bytes_are_found_and_strings_are_not() {
        let long = "n".repeat(64);
        assert_eq!(too_long(&format!("CREATE TABLE {long} (id int)")), Some(long.clone()));
        assert!(too_long(&format!("CREATE TABLE \"{long}\" (id int)")).is_some());
        assert_eq!(too_long(&format!("CREATE TABLE {} (id int)", "n".repeat(63))), None);
        assert_eq!(too_long(&format!("INSERT INTO t VALUES ('{long}')")), None);
        assert_eq!(too_long(&format!("SELECT 1 -- {long}")), None);
        // Bytes, not characters: 32 two-byte letters are 64 bytes.
        assert!(too_long(&format!("CREATE TABLE {} (id int)", "é".repeat(32))).is_some());
    }
}
