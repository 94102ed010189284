//! The pieces a guarded run is made of: pre-checks, the lint gate, backups and restores,
//! hooks, second approvers, the verify after a change, and what a tier requires.

pub mod approval;
pub mod backup;
pub mod code_lint;
pub mod gate;
pub mod hooks;
pub mod policy;
pub mod precheck;
pub mod verify;
