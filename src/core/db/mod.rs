//! Database access: connecting (TLS, libpq rules), the ledger, schema snapshots, the live
//! monitor, other tools' history tables, the PostgreSQL client tools and throwaway clusters.

pub mod cluster;
pub mod connect;
pub mod foreign;
pub mod ledger;
pub mod monitor;
pub mod schema;
pub mod tools;
