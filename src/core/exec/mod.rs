//! The verbs that change a database: apply, rollback, restore, resolve, adopt, approve. Each
//! takes the ledger lock, records itself in the runs table, and reports progress as events;
//! the machinery they share (the locked, recorded run; running one migration; cancel and
//! watch) is in `session`.

pub mod adopt;
pub mod apply;
mod approve;
pub mod fleet;
mod resolve;
mod restore;
mod rollback;
pub mod session;

pub use apply::{apply, ApplyOptions, GuardedRun, Opened, Planned};
pub use approve::approve;
pub use resolve::{resolve, ResolveOptions};
pub use restore::restore;
pub use rollback::rollback;
pub use session::control::{Control, Interrupt};

use crate::core::data::source::Version;
use crate::core::error::{Error, Result};

#[derive(Debug, Clone)]
pub enum RollbackTarget {
    Steps(usize),
    To(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    MarkApplied,
    MarkRolledBack,
    Retry,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::MarkApplied => "mark-applied",
            Resolution::MarkRolledBack => "mark-rolled-back",
            Resolution::Retry => "retry",
        }
    }
}

pub(crate) fn parse_version(v: &str, flag: &str) -> Result<Version> {
    Version::parse(v)
        .ok_or_else(|| Error::input(format!("{flag} {v:?}: a version is digits, e.g. {flag} 0007")))
}
