//! The machinery every verb shares: a connected, locked run recorded in the runs table
//! (`run`), the guards it checks and the backup it takes first (`guards`), one migration
//! executed with its timeouts and lock retries (`migration`), and what lets an operator
//! act on a run from outside: cancel, terminate a blocker, wait longer (`control`, `watch`).

pub mod control;
pub(crate) mod guards;
pub(crate) mod migration;
pub(crate) mod run;
pub(crate) mod sentinel;
pub(crate) mod watch;
