//! Files layout detection read whole, kept for the layout's reader on the same thread:
//! a large folder is then read once, not once to detect and again to load (on a 500-file
//! folder the second pass was a third of the folder's read). Only for the length of one
//! `load_here`, which clears it on both ends.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

thread_local! {
    static READ: RefCell<HashMap<PathBuf, Vec<u8>>> = RefCell::new(HashMap::new());
}

pub(super) fn keep(path: &Path, bytes: &[u8]) {
    READ.with(|r| r.borrow_mut().insert(path.to_path_buf(), bytes.to_vec()));
}

/// A copy of what was kept for `path`, which stays kept.
pub(super) fn recall(path: &Path) -> Option<Vec<u8>> {
    READ.with(|r| r.borrow().get(path).cloned())
}

/// What was kept for `path`, no longer kept.
pub(super) fn take(path: &Path) -> Option<Vec<u8>> {
    READ.with(|r| r.borrow_mut().remove(path))
}

pub(super) fn forget() {
    READ.with(|r| r.borrow_mut().clear());
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_kept_file_is_taken_once() {
        let p = std::path::Path::new("/nowhere/1_a.up.sql");
        super::keep(p, b"SELECT 1;");
        assert_eq!(super::recall(p).as_deref(), Some(&b"SELECT 1;"[..]));
        assert_eq!(super::take(p).as_deref(), Some(&b"SELECT 1;"[..]));
        assert_eq!(super::take(p), None);
        super::keep(p, b"x");
        super::forget();
        assert_eq!(super::recall(p), None);
    }
}
