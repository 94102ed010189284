//! The engine: no terminal UI, no printing. The CLI and the console both drive it.

pub mod approval;
pub mod audit;
pub mod backup;
pub mod cluster;
pub mod config;
pub mod connect;
pub mod error;
pub mod exec;
pub mod foreign;
pub mod identity;
pub mod ledger;
pub mod lint;
pub mod monitor;
pub mod plan;
pub mod precheck;
pub mod private;
pub mod schema;
pub mod source;
pub mod sql;
pub mod verify;

pub use error::{Error, ErrorKind, Result};
