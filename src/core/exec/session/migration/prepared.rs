//! The statements a transactional migration's string executes rather than spells out: the
//! ledger row and the markers before its statements, prepared on the session (`PREPARE`,
//! at the end of the first string that needs them) so the server parses and plans them
//! once per session instead of once per migration. Counted on the server (callgrind, 200
//! migrations of two statements): the prepared markers take ~167k instructions off each
//! migration's ~4.38M.
//!
//! Prepared statements are not transactional (checked on the server: a PREPARE survives
//! its transaction's ROLLBACK, and so does a DEALLOCATE), so sluice never guesses whether
//! they are still there: after a failure, and after a migration that may drop prepared
//! statements (DEALLOCATE, DISCARD), the next string spells its markers out and prepares a
//! new generation of its own. A migration whose function dropped them is run again at once
//! the same way (`Session::unprepared`).

use crate::core::db::ledger::batched::{literal, CLOCK_S};

/// One generation of the session's prepared statements, named by its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Generation(u32);

impl Generation {
    /// The ledger row (`Ledger::prepare_row_sql`).
    pub fn row(&self) -> String {
        format!("sluice_row_{}", self.0)
    }

    /// The marker before a migration's first statement (`prepare_first_sql`).
    pub fn first(&self) -> String {
        format!("sluice_first_{}", self.0)
    }

    /// The marker before each further statement (`prepare_mark_sql`).
    pub fn mark(&self) -> String {
        format!("sluice_mark_{}", self.0)
    }
}

/// Which generation strings built from now on may execute.
#[derive(Debug, Clone, Default)]
pub(super) struct Prepared {
    /// Prepared by a string built before (which will have run by the time a later string
    /// runs, or else that one never runs either).
    current: Option<Generation>,
    count: u32,
}

impl Prepared {
    /// The generation an earlier string prepared, if one is known to be there.
    pub fn existing(&self) -> Option<Generation> {
        self.current
    }

    /// A new generation, which the string being built must prepare.
    pub fn fresh(&mut self) -> Generation {
        self.count += 1;
        let g = Generation(self.count);
        self.current = Some(g);
        g
    }

    /// Whether the statements exist is not known any more.
    pub fn forget(&mut self) {
        self.current = None;
    }
}

/// Statements that can drop prepared statements (a function might too: see the module).
pub(super) fn may_deallocate(statements: &[crate::core::data::sql::Statement]) -> bool {
    statements
        .iter()
        .any(|s| matches!(s.keywords.first().map(String::as_str), Some("DEALLOCATE" | "DISCARD")))
}

/// `PREPARE` of the first marker (`first_execute_sql`): the server's clock, the first
/// statement's name in application_name (`<app>:1`), the transaction's timeouts (the lock
/// timeout a parameter: the operator may choose a longer wait for one migration), the
/// session's connection check (`check`: `, set_config(...)` or nothing) and, when the
/// second parameter is not NULL, the guard that the string sent before committed (see
/// `ahead`). The guard depends on a setting, so no plan can fold it into a constant.
pub(super) fn prepare_first_sql(
    name: &str,
    app: &str,
    statement_timeout_ms: u64,
    check: &str,
    sent_setting: &str,
) -> String {
    let app = literal(&format!("{app}:1"));
    format!(
        "PREPARE {name} (text, text) AS SELECT {CLOCK_S}, set_config('application_name', {app}, true), \
         set_config('lock_timeout', $1, true), set_config('statement_timeout', '{statement_timeout_ms}', true){check}, \
         (CASE WHEN $2 IS NULL OR current_setting('{sent_setting}', true) = $2 THEN '0' \
         ELSE 'sluice: the migration sent before this one did not commit (' || \
         coalesce(current_setting('{sent_setting}', true), 'unset') || ')' END)::int"
    )
}

/// The first marker through statement `name`: `lock_timeout_ms` for this transaction, and
/// the token the string sent before must have left (None: nothing was sent before it).
pub(super) fn first_execute_sql(name: &str, lock_timeout_ms: u64, guard: Option<u64>) -> String {
    let guard = guard.map_or("NULL".to_string(), |g| format!("'{g}'"));
    format!("EXECUTE {name} ('{lock_timeout_ms}', {guard})")
}

/// `PREPARE` of the marker before each further statement: the server's clock, and the
/// statement's name (the parameter) in application_name.
pub(super) fn prepare_mark_sql(name: &str) -> String {
    format!("PREPARE {name} (text) AS SELECT {CLOCK_S}, set_config('application_name', $1, true)")
}

/// The marker before statement `i` (0-based) through statement `name`.
pub(super) fn mark_execute_sql(name: &str, app: &str, i: usize) -> String {
    format!("EXECUTE {name} ({})", literal(&format!("{app}:{}", i + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generation_is_prepared_once_and_a_new_one_after_forget() {
        let mut p = Prepared::default();
        assert_eq!(p.existing(), None);
        let g = p.fresh();
        assert_eq!(
            (g.row(), g.first(), g.mark()),
            ("sluice_row_1".into(), "sluice_first_1".into(), "sluice_mark_1".into())
        );
        assert_eq!(p.existing(), Some(g));
        p.forget();
        assert_eq!(p.existing(), None);
        assert_eq!(p.fresh().row(), "sluice_row_2");
    }

    #[test]
    fn the_first_marker_passes_no_guard_as_null() {
        assert_eq!(first_execute_sql("f", 5000, None), "EXECUTE f ('5000', NULL)");
        assert_eq!(first_execute_sql("f", 250, Some(7)), "EXECUTE f ('250', '7')");
        assert_eq!(mark_execute_sql("m", "sluice/r", 1), "EXECUTE m (E'sluice/r:2')");
    }
}
