//! sluice: guarded PostgreSQL schema migrations. `core` is the engine (no UI); `cli` drives
//! it headlessly; `ui` is the terminal console.

pub mod cli;
pub mod core;
pub mod ui;
