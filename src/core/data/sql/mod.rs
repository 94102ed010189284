//! Statement splitting with PostgreSQL's own grammar (libpg_query). One splitter serves
//! apply, dry run and lint, so all three agree on statement boundaries and line numbers.

pub mod backfill;
mod inverse;
pub(crate) mod lexer;
mod lock;
mod memo;
pub mod parser;

pub use inverse::{concurrently_dropped_index, inverse, quote_ident, Inverse};
pub use lock::LockMode;

use pg_query::protobuf::KeywordKind;

/// One statement of a file, as PostgreSQL's parser delimits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement text, leading comments included (they may hold directives), without
    /// the terminating semicolon.
    pub text: String,
    /// 1-based line of the statement's first token in the file.
    pub line: usize,
    /// 1-based column (in characters) of that token.
    pub column: usize,
    /// Byte offset of that token in the file.
    pub start: usize,
    /// Upper-cased keywords of the statement, in order (identifiers and literals left out).
    pub keywords: Vec<String>,
}

impl Statement {
    /// True for BEGIN / COMMIT / ROLLBACK and friends.
    pub fn is_transaction_control(&self) -> bool {
        let k = |i: usize| self.keywords.get(i).map(String::as_str);
        match k(0) {
            Some("BEGIN" | "COMMIT" | "END" | "ABORT") => true,
            Some("START") => k(1) == Some("TRANSACTION"),
            Some("ROLLBACK") => k(1) != Some("TO"),
            Some("PREPARE") => k(1) == Some("TRANSACTION"),
            _ => false,
        }
    }

    /// Why PostgreSQL refuses to run this statement inside a transaction block, if it does.
    pub fn needs_no_transaction(&self) -> Option<&'static str> {
        let has = |w: &str| self.keywords.iter().any(|k| k == w);
        let k = |i: usize| self.keywords.get(i).map(String::as_str);
        match (k(0), k(1)) {
            (Some("CREATE" | "DROP"), _) if has("INDEX") && has("CONCURRENTLY") => {
                Some("an index built or dropped CONCURRENTLY")
            }
            (Some("REINDEX"), _) if has("CONCURRENTLY") => Some("REINDEX CONCURRENTLY"),
            (Some("REINDEX"), Some("SYSTEM" | "DATABASE")) => Some("REINDEX SYSTEM/DATABASE"),
            (Some("ALTER"), Some("TABLE")) if has("DETACH") && has("CONCURRENTLY") => {
                Some("DETACH PARTITION CONCURRENTLY")
            }
            (Some("VACUUM"), _) => Some("VACUUM"),
            (Some("CREATE" | "DROP"), Some("DATABASE" | "TABLESPACE")) => {
                Some("CREATE/DROP DATABASE or TABLESPACE")
            }
            (Some("ALTER"), Some("SYSTEM")) => Some("ALTER SYSTEM"),
            (Some("DISCARD"), Some("ALL")) => Some("DISCARD ALL"),
            (Some("CREATE" | "DROP"), Some("SUBSCRIPTION")) => Some("CREATE/DROP SUBSCRIPTION"),
            _ => None,
        }
    }
}

/// A file PostgreSQL's parser rejects, located at the offending statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    pub line: usize,
    pub message: String,
}

/// Splits `text` into statements with PostgreSQL's parser. Empty statements (lone `;`)
/// and comment-only tails are dropped.
pub fn split(text: &str) -> Result<Vec<Statement>, SplitError> {
    if let Some(known) = memo::recall(text) {
        return Ok(known);
    }
    let split = parser::run(|| split_here(text))?;
    memo::keep(text, &split);
    Ok(split)
}

fn split_here(text: &str) -> Result<Vec<Statement>, SplitError> {
    if let Some(pos) = text.find('\0') {
        return Err(SplitError {
            line: line_at(text, pos),
            message: "the file holds a NUL byte".into(),
        });
    }
    let parts = match parser::split_with_parser(text) {
        Ok(parts) => parts,
        Err(e) => return Err(locate_error(text, e)),
    };
    let base = text.as_ptr() as usize;
    let mut out = Vec::with_capacity(parts.len());
    // Lines are counted on from the previous statement: counting from the top each time
    // made a file of many statements quadratic.
    let (mut counted_to, mut line) = (0, 1);
    for part in parts {
        let start = part.as_ptr() as usize - base;
        let first = start + lexer::skip_trivia(part);
        if first >= start + part.len() {
            continue;
        }
        line += text.as_bytes()[counted_to..first].iter().filter(|&&b| b == b'\n').count();
        counted_to = first;
        let line_start = text[..first].rfind('\n').map_or(0, |p| p + 1);
        out.push(Statement {
            text: part.to_string(),
            line,
            column: text[line_start..first].chars().count() + 1,
            start: first,
            keywords: keywords(part),
        });
    }
    Ok(out)
}

/// Tables the statements name (lower case, unqualified, sorted, once each): what a run will
/// lock, for the blocker pre-check and the monitor's lock view.
pub fn tables_named<'a>(statements: impl IntoIterator<Item = &'a Statement>) -> Vec<String> {
    let statements: Vec<&Statement> = statements.into_iter().collect();
    let mut out: Vec<String> = parser::run(|| {
        statements
            .iter()
            .filter_map(|st| parser::parse(&st.text).ok())
            .flat_map(|p| p.tables.into_iter().map(|(t, _)| t))
            .map(|t| t.rsplit('.').next().unwrap_or(&t).to_lowercase())
            .collect()
    });
    out.sort();
    out.dedup();
    out
}

/// True when the text holds nothing but whitespace, comments and semicolons.
pub fn is_blank(text: &str) -> bool {
    let mut rest = text;
    loop {
        rest = &rest[lexer::skip_trivia(rest)..];
        match rest.strip_prefix(';') {
            Some(r) => rest = r,
            None => return rest.is_empty(),
        }
    }
}

fn keywords(stmt: &str) -> Vec<String> {
    match parser::scan_tokens(stmt) {
        Ok(tokens) => tokens
            .iter()
            .filter(|t| t.keyword_kind != KeywordKind::NoKeyword as i32)
            .filter_map(|t| stmt.get(t.start as usize..t.end as usize))
            .map(|w| w.to_ascii_uppercase())
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn line_at(text: &str, byte: usize) -> usize {
    text.as_bytes()[..byte.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// An unterminated quote, comment or dollar quote, or a psql meta-command, as (line,
/// message): what the lexer finds without the full parser (status reads every file).
pub fn lexical_problem(text: &str) -> Option<(usize, String)> {
    lexer::find_lexical_problem(text).map(|p| (line_at(text, p.offset), p.message))
}

/// libpg_query's split errors carry no position: find the statement that fails.
fn locate_error(text: &str, err: pg_query::Error) -> SplitError {
    let whole = match err {
        pg_query::Error::Split(m) | pg_query::Error::Parse(m) | pg_query::Error::Scan(m) => m,
        other => other.to_string(),
    };
    if let Some(problem) = lexer::find_lexical_problem(text) {
        return SplitError { line: line_at(text, problem.offset), message: problem.message };
    }
    // Chunks at top-level semicolons; BEGIN ATOMIC bodies span several, so a failing chunk
    // is retried merged with the ones after it before it is blamed.
    let chunks = lexer::top_level_chunks(text);
    let mut i = 0;
    while i < chunks.len() {
        let (s, _) = chunks[i];
        let mut ok_end = None;
        for (j, &(_, e)) in chunks.iter().enumerate().skip(i).take(64) {
            if parser::parse(&text[s..e]).is_ok() {
                ok_end = Some(j);
                break;
            }
        }
        match ok_end {
            Some(j) => i = j + 1,
            None => {
                let message = match parser::parse(&text[s..]) {
                    Err(pg_query::Error::Parse(m)) => m,
                    _ => whole,
                };
                let first = s + lexer::skip_trivia(&text[s..]);
                return SplitError { line: line_at(text, first), message };
            }
        }
    }
    SplitError { line: 1, message: whole }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<usize> {
        split(text).unwrap().iter().map(|s| s.line).collect()
    }

    #[test]
    fn dollar_quotes_and_strings_are_not_split() {
        let text = "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$\nBEGIN\n  PERFORM 1; RETURN 2;\nEND $body$;\n\nSELECT E'a\\';b', 'x;y';\n/* outer /* nested; */ still; */ SELECT 3;\n";
        let s = split(text).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(lines(text), vec![1, 6, 7]);
        assert!(s[0].text.contains("RETURN 2;"));
    }

    #[test]
    fn begin_atomic_is_one_statement() {
        let text = "CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT a + 1;\n  SELECT a + 2;\nEND;\nSELECT 1;";
        let s = split(text).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].line, 6);
    }

    #[test]
    fn line_is_first_token_after_comments() {
        let text = "-- header\n\n-- about a\nCREATE TABLE a (id int);\n\n\nCREATE TABLE b (id int);\n-- trailing comment only\n";
        assert_eq!(lines(text), vec![4, 7]);
        assert_eq!(split("-- nothing\n;\n").unwrap(), vec![]);
    }

    #[test]
    fn syntax_error_names_the_failing_statement() {
        let text = "CREATE TABLE a (id int);\n\nCREATE TABEL b (id int);\nSELECT 1;\n";
        let e = split(text).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("TABEL"), "{}", e.message);
    }

    #[test]
    fn error_inside_begin_atomic_points_at_its_statement() {
        let text = "SELECT 1;\nCREATE FUNCTION g() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELEC 1;\nEND;\n";
        let e = split(text).unwrap_err();
        assert_eq!(e.line, 2, "{}", e.message);
    }

    #[test]
    fn unterminated_dollar_quote_is_located() {
        let text = "SELECT 1;\n\nDO $$\nBEGIN\n  RAISE NOTICE 'x';\nEND;\n";
        let e = split(text).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("dollar"), "{}", e.message);
    }

    #[test]
    fn psql_meta_command_is_named() {
        let e = split("SELECT 1;\n\\set ON_ERROR_STOP on\nSELECT 2;\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("psql meta-command"), "{}", e.message);
    }

    #[test]
    fn statement_classes() {
        let s = split("BEGIN; CREATE UNIQUE INDEX CONCURRENTLY i ON t (a); ROLLBACK TO SAVEPOINT x; VACUUM t; SELECT 'concurrently'").unwrap();
        assert!(s[0].is_transaction_control());
        assert!(s[1].needs_no_transaction().is_some());
        assert!(!s[2].is_transaction_control());
        assert!(s[3].needs_no_transaction().is_some());
        assert!(s[4].needs_no_transaction().is_none());
    }
}
