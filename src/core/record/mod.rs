//! What a run tells the world: live events and the report (`report`), and what it leaves on
//! disk (`audit`: report files and the hash-chained audit log).

pub mod audit;
pub mod details;
pub mod fleet;
pub mod report;
