//! A migration sent as one query string: its session setup, its statements, the ledger's
//! row or notes and COMMIT travel in one round trip, and the server's answers still say
//! exactly which command ran and which failed (each command of a simple Query answers with
//! one CommandComplete, in order, until the first error ends the string).
//!
//! Before each statement a marker names it in our application_name (`sluice/<run>:<n>`,
//! local to the transaction) so the watch can tell which statement waits, and returns the
//! server's clock, so each statement's duration is the server's own, read in the same
//! answer.

use futures_util::StreamExt;
use tokio_postgres::error::ErrorPosition;
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::core::db::ledger::batched::{literal, CLOCK_S};

/// What one command of a batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    /// Session setup, BEGIN, COMMIT, a tool's history row.
    Control,
    /// The marker before statement i (0-based), returning the server's clock.
    Mark(usize),
    /// Statement i of the migration.
    Run(usize),
    /// The ledger's row or note, returning the server's clock (and, for a new row, its id).
    Record,
}

#[derive(Default)]
pub(super) struct Batch {
    pub sql: String,
    parts: Vec<Part>,
    /// Byte offset of each part in `sql`.
    starts: Vec<usize>,
    /// Per part: the statement whose transaction it belongs to (a batch of statements
    /// that each commit on their own), set by `owner`.
    owners: Vec<Option<usize>>,
    owner: Option<usize>,
}

/// A string handed to the connection, its answers not read yet.
pub(super) struct Sent(
    std::result::Result<
        std::pin::Pin<Box<tokio_postgres::SimpleQueryStream>>,
        tokio_postgres::Error,
    >,
);

/// What the server answered.
pub(super) struct Ran {
    /// Commands that completed, in order.
    pub done: usize,
    /// Per part: the rows its CommandComplete counted.
    pub rows: Vec<u64>,
    /// Per part: the text of its first row, if it returned one.
    pub first_row: Vec<Option<Vec<String>>>,
    pub error: Option<tokio_postgres::Error>,
    /// The server's parser refused the string, so nothing ran: the part the error points at.
    pub unparsed_at: Option<usize>,
}

impl Batch {
    /// Appends one command (exactly one statement of SQL).
    pub fn push(&mut self, part: Part, sql: &str) {
        self.starts.push(self.sql.len());
        self.owners.push(self.owner);
        self.sql.push_str(sql);
        // On a line of its own: a statement may end in a line comment.
        self.sql.push_str("\n;\n");
        self.parts.push(part);
    }

    /// Appends each command of `sql` (commands separated by "; ", as sluice writes them).
    pub fn push_control(&mut self, sql: &str) {
        for c in sql.split("; ").map(str::trim).filter(|c| !c.is_empty()) {
            self.push(Part::Control, c.trim_end_matches(';'));
        }
    }

    /// The marker before statement `i`.
    pub fn mark(&mut self, app: &str, i: usize) {
        self.mark_with(app, i, "");
    }

    /// `mark`, with more `set_config` calls (`, set_config(...)`) in the same statement.
    pub fn mark_with(&mut self, app: &str, i: usize, settings: &str) {
        let name = literal(&format!("{app}:{}", i + 1));
        self.push(
            Part::Mark(i),
            &format!("SELECT {CLOCK_S}, set_config('application_name', {name}, true){settings}"),
        );
    }

    /// The parts pushed from now on belong to statement `i`'s transaction (None: to none).
    pub fn owner(&mut self, i: Option<usize>) {
        self.owner = i;
    }

    /// The statement whose transaction part `p` belongs to.
    pub fn owner_of(&self, p: usize) -> Option<usize> {
        self.owners.get(p).copied().flatten()
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Where part `part` starts among the parts (for reading a Ran).
    pub fn position(&self, part: Part) -> Option<usize> {
        self.parts.iter().position(|p| *p == part)
    }

    /// Sends the string and reads every answer.
    pub async fn run(&self, client: &Client) -> Ran {
        let sent = self.send(client).await;
        self.read(sent).await
    }

    /// Hands the string to the connection, which writes it at once; the answers are read
    /// with `read`, so strings sent one after another travel back to back.
    pub async fn send(&self, client: &Client) -> Sent {
        Sent(client.simple_query_raw(&self.sql).await.map(Box::pin))
    }

    /// Reads every answer to a string `send` sent.
    pub async fn read(&self, sent: Sent) -> Ran {
        let n = self.parts.len();
        let mut ran = Ran {
            done: 0,
            rows: vec![0; n],
            first_row: vec![None; n],
            error: None,
            unparsed_at: None,
        };
        let mut stream = match sent.0 {
            Ok(s) => s,
            Err(e) => {
                ran.error = Some(e);
                return ran;
            }
        };
        while let Some(m) = stream.next().await {
            match m {
                Ok(SimpleQueryMessage::Row(r)) => {
                    if let Some(slot) = ran.first_row.get_mut(ran.done) {
                        if slot.is_none() {
                            let cols = (0..r.len()).map(|c| r.get(c).unwrap_or("").to_string());
                            *slot = Some(cols.collect());
                        }
                    }
                }
                Ok(SimpleQueryMessage::CommandComplete(k)) => {
                    if let Some(slot) = ran.rows.get_mut(ran.done) {
                        *slot = k;
                    }
                    ran.done += 1;
                }
                Ok(_) => {}
                Err(e) => {
                    if ran.done == 0 {
                        ran.unparsed_at = self.refused_at(&e);
                    }
                    ran.error = Some(e);
                    break;
                }
            }
        }
        if ran.error.is_none() && ran.done != n {
            tracing::warn!("the server answered {} commands of a batch of {n}", ran.done);
        }
        ran
    }

    /// The part a parse error points at: its position counts characters from 1.
    fn refused_at(&self, e: &tokio_postgres::Error) -> Option<usize> {
        let Some(ErrorPosition::Original(p)) = e.as_db_error().and_then(|d| d.position()) else {
            return None;
        };
        let byte = self.sql.char_indices().nth((*p as usize).saturating_sub(1))?.0;
        Some(self.starts.partition_point(|s| *s <= byte).saturating_sub(1))
    }
}

impl Ran {
    /// The server's clock (seconds) that part `i` returned first.
    pub fn clock(&self, i: usize) -> Option<f64> {
        self.first_row.get(i)?.as_ref()?.first()?.parse().ok()
    }

    /// How long statement `i` ran by the server's clock: from its marker to the next
    /// clock read (the next marker, or the ledger's record after it). 0 when not read.
    pub fn statement_ms(&self, batch: &Batch, i: usize) -> u64 {
        let parts = batch.parts();
        let Some(mark) = parts.iter().position(|p| *p == Part::Mark(i)) else { return 0 };
        let end = (mark + 1..parts.len())
            .filter(|&k| matches!(parts[k], Part::Mark(_) | Part::Record))
            .find_map(|k| self.clock(k));
        match (self.clock(mark), end) {
            (Some(a), Some(b)) if b >= a => ((b - a) * 1000.0).round() as u64,
            _ => 0,
        }
    }

    /// Column `c` of part `i`'s first row.
    pub fn value(&self, i: usize, c: usize) -> Option<&str> {
        self.first_row.get(i)?.as_ref()?.get(c).map(String::as_str)
    }

    /// The part that failed (the first that did not complete), when one did.
    pub fn failed_part(&self) -> Option<usize> {
        self.error.as_ref()?;
        Some(self.unparsed_at.unwrap_or(self.done))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_commands_are_one_part_each() {
        let mut b = Batch::default();
        b.push_control("RESET ALL; SET a = 1; BEGIN; SET LOCAL lock_timeout = 5; ");
        b.push(Part::Run(0), "SELECT 1 -- trailing comment");
        assert_eq!(b.parts().len(), 5);
        assert_eq!(b.position(Part::Run(0)), Some(4));
        assert!(b.sql.contains("-- trailing comment\n;\n"), "{}", b.sql);
    }
}
