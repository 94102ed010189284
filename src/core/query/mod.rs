//! Read-only views both faces call: nothing here takes the ledger lock or writes.

pub mod checks;
pub mod diff;
pub mod emergency;
pub mod fleet;
pub mod history;
pub mod overview;
pub mod recovery;
pub mod status;

pub use history::history;
pub use status::{status, status_tolerant};
