//! The ledger row of a transactional migration, written through a statement prepared on
//! the session (`PREPARE`, inside the first string that needs it) rather than as an INSERT
//! the server parses and plans again for every migration.
//!
//! Prepared statements are not transactional (checked on the server: a PREPARE survives
//! its transaction's ROLLBACK, and so does a DEALLOCATE), so sluice never guesses whether
//! one is still there: after a failure, and after a migration that may drop prepared
//! statements (DEALLOCATE, DISCARD), the next string prepares a new name of its own.

/// Which prepared statement strings built from now on may execute.
#[derive(Debug, Clone, Default)]
pub(super) struct RowStatement {
    /// Prepared by a string built before (which will have run by the time a later string
    /// runs, or else that one never runs either).
    name: Option<String>,
    generation: u32,
}

impl RowStatement {
    /// The name to execute and, when the string must prepare it first, that it must.
    pub fn next(&mut self) -> (String, bool) {
        if let Some(n) = &self.name {
            return (n.clone(), false);
        }
        self.generation += 1;
        let name = format!("sluice_row_{}", self.generation);
        self.name = Some(name.clone());
        (name, true)
    }

    /// Whether the statement exists is not known any more.
    pub fn forget(&mut self) {
        self.name = None;
    }
}

/// Statements that can drop prepared statements (a function might too; its migration then
/// fails to record itself, rolls back whole and says so).
pub(super) fn may_deallocate(statements: &[crate::core::data::sql::Statement]) -> bool {
    statements
        .iter()
        .any(|s| matches!(s.keywords.first().map(String::as_str), Some("DEALLOCATE" | "DISCARD")))
}

#[cfg(test)]
mod tests {
    use super::RowStatement;

    #[test]
    fn a_name_is_prepared_once_and_again_after_forget() {
        let mut r = RowStatement::default();
        assert_eq!(r.next(), ("sluice_row_1".to_string(), true));
        assert_eq!(r.next(), ("sluice_row_1".to_string(), false));
        r.forget();
        assert_eq!(r.next(), ("sluice_row_2".to_string(), true));
    }
}
