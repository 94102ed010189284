//! The ledger's writes as SQL text, to travel inside a migration's own query string: the
//! row and the notes then cost no round trip of their own, and commit in the same
//! transaction as the statements they record.

use super::{Ledger, NewRow};

/// Seconds since the query string arrived at the server (statement_timestamp() is the same
/// for every statement of one simple Query message). date_part, not extract: it stays in
/// float8 where extract goes through numeric, a few microseconds on every marker.
pub const ELAPSED_S: &str = "date_part('epoch', clock_timestamp() - statement_timestamp())";

/// The server's clock in seconds since the epoch, read where a marker or a record stands;
/// only differences between two reads of one string are used. Cheaper for the server than
/// `ELAPSED_S` (no interval to build): about 16k instructions less on every read.
pub const CLOCK_S: &str = "date_part('epoch', clock_timestamp())";

/// The custom setting that holds the id of the row a batch inserted, so later notes in the
/// same query string can name it before its id is known to sluice.
const ROW_SETTING: &str = "sluice.ledger_row";

impl Ledger {
    /// `INSERT` of `row` with its duration computed by the server as `offset_ms` plus the
    /// time since the query string arrived, returning the server's clock (`CLOCK_S`, the
    /// end of the last statement before it) and the new id, which is also kept in a session
    /// setting for `note_sql`.
    pub fn insert_sql(&self, row: &NewRow<'_>, offset_ms: i64) -> String {
        format!(
            "INSERT INTO {} ({COLUMNS}) VALUES ({}) \
             RETURNING {CLOCK_S}, id, set_config('{ROW_SETTING}', id::text, false)",
            self.t("history"),
            values(row, offset_ms)
        )
    }

    /// `PREPARE` of the ledger row as statement `name`. What every row of one session's
    /// transactions shares (who ran it, from where, in which run; success, no failed
    /// statement, no error; the duration the server counts; the name of the setting the
    /// row's RETURNING sets for the session) is written into the statement from `shared`;
    /// only what differs per migration is a parameter (`execute_row_sql`). The server then
    /// parses and plans the INSERT once per session instead of once per migration (~118k
    /// instructions of its ~600k), and evaluates 7 parameters per row, not 15 (~106k less:
    /// callgrind on the server, 200 migrations).
    pub fn prepare_row_sql(&self, name: &str, shared: &NewRow<'_>, setting: &str) -> String {
        let opt = |v: Option<&str>| v.map_or("NULL".to_string(), literal);
        let at = shared.failed_at_statement.map_or("NULL".to_string(), |n| n.to_string());
        format!(
            "PREPARE {name} (text, text, text, text, text, text, text) AS INSERT INTO {} \
             ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, {}, {}, {}, {}, {}, {at}, {}) \
             RETURNING {CLOCK_S}, id, set_config({}, $7, false)",
            self.t("history"),
            literal(shared.os_user),
            literal(shared.client_host),
            duration_ms(0),
            literal(shared.run_id),
            shared.success,
            opt(shared.error),
            literal(setting),
        )
    }

    /// The ledger row of a transaction through statement `name` (`prepare_row_sql`, given
    /// a row of the same session), setting the session's setting to `token` as its row is
    /// written.
    pub fn execute_row_sql(&self, name: &str, row: &NewRow<'_>, token: &str) -> String {
        format!("EXECUTE {name} ({}, {})", own_values(row).join(", "), literal(token))
    }

    /// The progress note of the row `insert_sql` made (or of row `id`): the statement it
    /// stands at, success, and the duration as in `insert_sql`, returning the server's clock
    /// (`CLOCK_S`).
    pub fn note_sql(
        &self,
        id: Option<i64>,
        failed_at_statement: Option<i32>,
        success: bool,
        offset_ms: i64,
    ) -> String {
        let at = failed_at_statement.map_or("NULL".to_string(), |n| n.to_string());
        let row = match id {
            Some(id) => id.to_string(),
            None => format!("current_setting('{ROW_SETTING}')::bigint"),
        };
        format!(
            "UPDATE {} SET failed_at_statement = {at}, success = {success}, duration_ms = {}, \
             error = NULL WHERE id = {row} RETURNING {CLOCK_S}",
            self.t("history"),
            duration_ms(offset_ms)
        )
    }
}

/// The history columns a run writes, in the order of `values`.
const COLUMNS: &str = "version, name, checksum, up_sql, down_sql, direction, os_user, \
                       client_host, duration_ms, run_id, success, failed_at_statement, error";

/// `row` as SQL values in `COLUMNS` order, its duration counted by the server.
fn values(row: &NewRow<'_>, offset_ms: i64) -> String {
    let opt = |v: Option<&str>| v.map_or("NULL".to_string(), literal);
    let at = row.failed_at_statement.map_or("NULL".to_string(), |n| n.to_string());
    let [version, name, checksum, up, down, direction] = own_values(row);
    [
        version,
        name,
        checksum,
        up,
        down,
        direction,
        literal(row.os_user),
        literal(row.client_host),
        duration_ms(offset_ms),
        literal(row.run_id),
        row.success.to_string(),
        at,
        opt(row.error),
    ]
    .join(", ")
}

/// The migration's own fields of `row`, the first six of `COLUMNS`, as SQL values.
fn own_values(row: &NewRow<'_>) -> [String; 6] {
    [
        literal(row.version),
        literal(row.name),
        literal(row.checksum),
        literal(row.up_sql),
        row.down_sql.map_or("NULL".to_string(), literal),
        literal(row.direction.as_str()),
    ]
}

fn duration_ms(offset_ms: i64) -> String {
    format!("{offset_ms} + round({ELAPSED_S} * 1000)::bigint")
}

/// A string literal that means the same whatever standard_conforming_strings says: an
/// escape string with its backslashes and quotes doubled.
pub fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 3);
    out.push_str("E'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("''"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::literal;

    #[test]
    fn literals_double_backslashes_and_quotes() {
        assert_eq!(literal(r"it's a \n"), r"E'it''s a \\n'");
        assert_eq!(literal(""), "E''");
    }
}
