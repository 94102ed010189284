//! sluice: guarded PostgreSQL schema migrations. `core` is the engine (no UI); `cli` drives
//! it headlessly.

pub mod cli;
pub mod core;
