//! What sluice reads before it touches a database: the project file, the migration files of
//! every layout, their SQL split and parsed, lint, and the plan (files against the ledger);
//! and the code migrations of the tools sluice guards (Knex, Alembic).

pub mod code;
pub mod config;
pub mod lint;
pub mod plan;
pub mod source;
pub mod sql;
