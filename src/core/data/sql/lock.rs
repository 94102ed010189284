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
        let mut sorted = LockMode::ALL;
        sorted.sort();
        assert_eq!(sorted, LockMode::ALL);
    }
}
