//! A small lexer used only where libpg_query gives no position: skipping leading comments,
//! finding unterminated literals, and cutting at top-level semicolons to locate a parse error.

pub struct Problem {
    pub offset: usize,
    pub message: String,
}

/// Bytes of whitespace and comments before the first token.
pub fn skip_trivia(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && (b[i] as char).is_ascii_whitespace() {
            i += 1;
        }
        if b[i..].starts_with(b"--") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            match block_comment_end(b, i) {
                Some(end) => i = end,
                None => return b.len(),
            }
        } else {
            return i;
        }
    }
}

fn block_comment_end(b: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0;
    let mut i = start;
    while i + 1 < b.len() {
        if b[i] == b'/' && b[i + 1] == b'*' {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b[i + 1] == b'/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Some(i);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// The start of a dollar-quote tag at `i` (`$tag$` or `$$`), returning the tag length.
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'$') {
        return None;
    }
    // A tag cannot follow an identifier character ($1 parameters, foo$bar identifiers).
    if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] >= 0x80) {
        return None;
    }
    let mut j = i + 1;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80) {
        if j == i + 1 && b[j].is_ascii_digit() {
            return None;
        }
        j += 1;
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1 - i)
}

enum Token {
    Semicolon(usize),
    Problem(Problem),
}

/// Walks the text, calling back with top-level semicolons, stopping at the first problem.
fn walk(text: &str, mut on: impl FnMut(Token) -> bool) {
    let b = text.as_bytes();
    let mut i = 0;
    let mut at_statement_start = true;
    while i < b.len() {
        let c = b[i];
        let next = match c {
            // Comments change nothing about where a statement starts.
            b'-' if b[i..].starts_with(b"--") => {
                i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p);
                continue;
            }
            b'/' if b[i..].starts_with(b"/*") => match block_comment_end(b, i) {
                Some(end) => {
                    i = end;
                    continue;
                }
                None => Err(problem(i, "unterminated /* comment".into())),
            },
            b'\'' => string_end(b, i),
            b'"' => identifier_end(b, i),
            b'$' => dollar_end(b, i),
            b'\\' if at_statement_start || line_start(b, i) => Err(meta_command(b, i)),
            b';' => {
                at_statement_start = true;
                if !on(Token::Semicolon(i)) {
                    return;
                }
                i += 1;
                continue;
            }
            _ => Ok(i + 1),
        };
        match next {
            Ok(n) => i = n,
            Err(p) => {
                on(Token::Problem(p));
                return;
            }
        }
        if !c.is_ascii_whitespace() {
            at_statement_start = false;
        }
    }
}

fn problem(offset: usize, message: String) -> Problem {
    Problem { offset, message }
}

/// Past a '...' string at `start` ('' inside it; backslash escapes in an E'...' string).
fn string_end(b: &[u8], start: usize) -> Result<usize, Problem> {
    let escapes = start > 0
        && matches!(b[start - 1], b'E' | b'e')
        && (start < 2 || !(b[start - 2].is_ascii_alphanumeric() || b[start - 2] == b'_'));
    let mut i = start + 1;
    loop {
        match b.get(i) {
            None => return Err(problem(start, "unterminated quoted string".into())),
            Some(b'\\') if escapes => i += 2,
            Some(b'\'') if b.get(i + 1) == Some(&b'\'') => i += 2,
            Some(b'\'') => return Ok(i + 1),
            Some(_) => i += 1,
        }
    }
}

/// Past a "..." identifier at `start` ("" inside it).
fn identifier_end(b: &[u8], start: usize) -> Result<usize, Problem> {
    let mut i = start + 1;
    loop {
        match b.get(i) {
            None => return Err(problem(start, "unterminated quoted identifier".into())),
            Some(b'"') if b.get(i + 1) == Some(&b'"') => i += 2,
            Some(b'"') => return Ok(i + 1),
            Some(_) => i += 1,
        }
    }
}

/// Past a $tag$...$tag$ string at `start`; a $ that opens no tag is just a character.
fn dollar_end(b: &[u8], start: usize) -> Result<usize, Problem> {
    let Some(len) = dollar_tag(b, start) else { return Ok(start + 1) };
    let tag = &b[start..start + len];
    let body = start + len;
    match b[body..].windows(len).position(|w| w == tag) {
        Some(p) => Ok(body + p + len),
        None => {
            let shown = String::from_utf8_lossy(tag);
            let message = format!("unterminated dollar-quoted string: {shown} is never closed");
            Err(problem(start, message))
        }
    }
}

/// A psql backslash command where a statement starts: not SQL.
fn meta_command(b: &[u8], i: usize) -> Problem {
    let end = b[i..].iter().position(|&c| c.is_ascii_whitespace()).map_or(b.len(), |p| i + p);
    let cmd = String::from_utf8_lossy(&b[i..end]);
    problem(
        i,
        format!(
            "psql meta-command {cmd} is not SQL; sluice runs SQL only: remove it (set psql options on the command line instead)"
        ),
    )
}

fn line_start(b: &[u8], i: usize) -> bool {
    b[..i].iter().rev().take_while(|&&c| c != b'\n').all(|c| c.is_ascii_whitespace())
}

pub fn find_lexical_problem(text: &str) -> Option<Problem> {
    let mut found = None;
    walk(text, |t| match t {
        Token::Problem(p) => {
            found = Some(p);
            false
        }
        Token::Semicolon(_) => true,
    });
    found
}

/// (start, end) byte ranges of the text cut at top-level semicolons (each range ends after
/// its semicolon; a trailing piece without one is included).
pub fn top_level_chunks(text: &str) -> Vec<(usize, usize)> {
    let mut chunks = Vec::new();
    let mut start = 0;
    walk(text, |t| {
        if let Token::Semicolon(at) = t {
            chunks.push((start, at + 1));
            start = at + 1;
        }
        true
    });
    if !text[start..].trim().is_empty() && skip_trivia(&text[start..]) < text.len() - start {
        chunks.push((start, text.len()));
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_quotes() {
        let t = "SELECT ';'; SELECT $x$;$x$; SELECT 1";
        let c = top_level_chunks(t);
        assert_eq!(c.len(), 3, "{c:?}");
        assert_eq!(&t[c[1].0..c[1].1], " SELECT $x$;$x$;");
    }

    #[test]
    fn problems() {
        assert!(find_lexical_problem("SELECT 'abc").unwrap().message.contains("quoted string"));
        assert!(find_lexical_problem("SELECT $1, a$b$c FROM t").is_none());
        assert_eq!(find_lexical_problem("SELECT 1;\n/* a /* b */").unwrap().offset, 10);
        assert!(find_lexical_problem("SELECT E'it\\'s'").is_none());
    }
}
