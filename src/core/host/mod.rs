//! The machine sluice runs on: who runs it (OS account, host, clock, run ids) and files
//! only their owner may read.

pub mod identity;
pub mod private;
