//! Splits remembered by the file's text. One run splits each pending file for its plan,
//! its pre-checks and its lint (the console again for its list), and PostgreSQL's parser
//! is most of sluice's own CPU time on a large folder. Bounded: past `LIMIT` bytes of text
//! the memo starts over.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::Statement;

const LIMIT: usize = 16 << 20;

#[derive(Default)]
struct Memo {
    splits: HashMap<String, Vec<Statement>>,
    bytes: usize,
}

fn memo() -> &'static Mutex<Memo> {
    static MEMO: OnceLock<Mutex<Memo>> = OnceLock::new();
    MEMO.get_or_init(Mutex::default)
}

pub(super) fn recall(text: &str) -> Option<Vec<Statement>> {
    memo().lock().ok()?.splits.get(text).cloned()
}

pub(super) fn keep(text: &str, split: &[Statement]) {
    let Ok(mut m) = memo().lock() else { return };
    if text.len() > LIMIT / 16 || m.splits.contains_key(text) {
        return;
    }
    if m.bytes + text.len() > LIMIT {
        *m = Memo::default();
    }
    m.bytes += text.len();
    m.splits.insert(text.to_string(), split.to_vec());
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_remembered_split_is_the_split() {
        let text = "-- memo test\nCREATE TABLE memo_a (id int);\n\nSELECT 'x;y';\n";
        let first = super::super::split(text).unwrap();
        assert_eq!(super::recall(text).as_deref(), Some(&first[..]));
        assert_eq!(super::super::split(text).unwrap(), first);
        assert_eq!(super::recall("SELECT 'not split yet'"), None);
    }
}
