//! What sluice reads before it touches a database: the project file, the migration files of
//! every layout, their SQL split and parsed, lint, and the plan (files against the ledger).

pub mod config;
pub mod lint;
pub mod plan;
pub mod source;
pub mod sql;
