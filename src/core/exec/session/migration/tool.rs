//! The row a change writes in the layout's own history table (`db::tool_table`), beside
//! and in the same transaction as its ledger row.

use super::{Change, Session};
use crate::core::db::tool_table::TableState;
use crate::core::error::Result;
use crate::core::record::report::Event;

impl Session {
    /// Creates the tool's table (or checks the one there) before the change's transaction
    /// opens, once per session. A table of that name that is not the tool's is left alone,
    /// and the operator is told.
    pub(super) async fn prepare_tool_table(&mut self, step: &Change) -> Result<()> {
        let Some(row) = &step.tool else { return Ok(()) };
        if self.tool_tables.contains_key(&row.table) {
            return Ok(());
        }
        let state = row.table.ensure(&self.client).await?;
        if let TableState::Foreign { table, columns } = &state {
            let message = format!(
                "{table} is not {}'s history table (its columns: {}): left alone, so {} will not see what sluice runs",
                row.table.tool(),
                columns.join(", "),
                row.table.tool()
            );
            tracing::warn!("{message}");
            self.emit(Event::Notice { message });
        }
        self.tool_tables.insert(row.table, state);
        Ok(())
    }

    /// The statements recording the change in the tool's table (none when sluice keeps
    /// no table of the tool's), to go ahead of the COMMIT that records it in the ledger.
    /// `duration_ns` is an SQL expression.
    pub(super) fn tool_statements(&self, step: &Change, duration_ns: &str) -> Vec<String> {
        match &step.tool {
            Some(row) if self.tool_tables.get(&row.table) == Some(&TableState::Kept) => {
                row.statements(duration_ns)
            }
            _ => Vec::new(),
        }
    }

    /// Inside a dry run's transaction: the tool's table (made here if need be, and rolled
    /// back with the rest) gets the change's row, as the apply would write it.
    pub(crate) async fn rehearse_tool_row(&self, step: &Change, duration_ms: u64) -> Result<()> {
        let Some(row) = &step.tool else { return Ok(()) };
        if row.table.ensure(&self.client).await? == TableState::Kept {
            for st in row.statements(&(duration_ms * 1_000_000).to_string()) {
                self.client.batch_execute(&st).await?;
            }
        }
        Ok(())
    }
}
