//! PostgreSQL's table lock modes, weakest first, as its docs name them.

use std::fmt;

use serde::Serialize;

/// A table-level lock mode; the order is strength (ACCESS SHARE weakest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

impl LockMode {
    pub const ALL: [LockMode; 8] = [
        LockMode::AccessShare,
        LockMode::RowShare,
        LockMode::RowExclusive,
        LockMode::ShareUpdateExclusive,
        LockMode::Share,
        LockMode::ShareRowExclusive,
        LockMode::Exclusive,
        LockMode::AccessExclusive,
    ];

    /// As the docs write it: "ACCESS EXCLUSIVE".
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// Whether a lock in this mode and one in `other` on the same table cannot be held at
    /// once by two sessions (the table in PostgreSQL's docs, "Conflicting Lock Modes";
    /// checked pair by pair on the server in tests/integration/lock_claims.rs).
    pub fn conflicts_with(self, other: LockMode) -> bool {
        use LockMode::*;
        let blocks: &[LockMode] = match self {
            AccessShare => &[AccessExclusive],
            RowShare => &[Exclusive, AccessExclusive],
            RowExclusive => &[Share, ShareRowExclusive, Exclusive, AccessExclusive],
            ShareUpdateExclusive => {
                &[ShareUpdateExclusive, Share, ShareRowExclusive, Exclusive, AccessExclusive]
            }
            Share => {
                &[RowExclusive, ShareUpdateExclusive, ShareRowExclusive, Exclusive, AccessExclusive]
            }
            ShareRowExclusive => &[
                RowExclusive,
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ],
            Exclusive => &[
                RowShare,
                RowExclusive,
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ],
            AccessExclusive => &LockMode::ALL,
        };
        blocks.contains(&other)
    }

    /// pg_locks' name for it: "AccessExclusiveLock".
    pub fn from_pg(mode: &str) -> Option<LockMode> {
        Some(match mode {
            "AccessShareLock" => LockMode::AccessShare,
            "RowShareLock" => LockMode::RowShare,
            "RowExclusiveLock" => LockMode::RowExclusive,
            "ShareUpdateExclusiveLock" => LockMode::ShareUpdateExclusive,
            "ShareLock" => LockMode::Share,
            "ShareRowExclusiveLock" => LockMode::ShareRowExclusive,
            "ExclusiveLock" => LockMode::Exclusive,
            "AccessExclusiveLock" => LockMode::AccessExclusive,
            _ => return None,
        })
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for LockMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::LockMode;

    #[test]
    fn names_and_strength() {
        assert_eq!(LockMode::from_pg("AccessExclusiveLock"), Some(LockMode::AccessExclusive));
        assert_eq!(
            LockMode::from_pg("ShareUpdateExclusiveLock").map(|m| m.as_str()),
            Some("SHARE UPDATE EXCLUSIVE")
        );
        assert_eq!(LockMode::from_pg("ShareLock").map(|m| m.to_string()), Some("SHARE".into()));
        assert_eq!(LockMode::from_pg("SIReadLock"), None, "predicate locks are not table modes");
        assert!(LockMode::AccessExclusive > LockMode::Share);
        assert!(LockMode::RowExclusive < LockMode::ShareUpdateExclusive);
        for a in LockMode::ALL {
            for b in LockMode::ALL {
                assert_eq!(a.conflicts_with(b), b.conflicts_with(a), "{a} / {b} is symmetric");
            }
        }
        let mut sorted = LockMode::ALL;
        sorted.sort();
        assert_eq!(sorted, LockMode::ALL);
    }
}
