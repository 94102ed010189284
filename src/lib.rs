//! sluice: guarded PostgreSQL schema migrations. `core` is the engine (no UI); `cli` drives
//! it headlessly; `ui` is the terminal console (cargo feature `tui`); `args` is the command
//! line both are started from.

pub mod args;
pub mod cli;
pub mod core;
#[cfg(feature = "tui")]
pub mod ui;
