//! Database access: connecting (TLS, libpq rules), the ledger, schema snapshots, the live
//! monitor, other tools' history tables (read, and kept in step), the PostgreSQL client tools
//! and throwaway clusters.

pub mod cluster;
pub mod code_history;
pub mod conflicts;
pub mod connect;
pub mod fleet;
pub mod foreign;
pub mod ledger;
pub mod monitor;
pub mod replication;
pub mod schema;
pub mod standby;
pub mod tool_table;
pub mod tools;
