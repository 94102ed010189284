//! Who runs sluice and from where, for the ledger and the runs table.

use std::hash::{BuildHasher, Hasher};

pub fn os_user() -> String {
    for var in ["SLUICE_OPERATOR", "USER", "LOGNAME", "USERNAME"] {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                return v;
            }
        }
    }
    #[cfg(unix)]
    {
        // No login variables (cron, containers): fall back to the uid's passwd entry.
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata("/proc/self") {
            let uid = meta.uid();
            if let Ok(passwd) = std::fs::read_to_string("/etc/passwd") {
                for line in passwd.lines() {
                    let f: Vec<&str> = line.split(':').collect();
                    if f.len() > 2 && f[2] == uid.to_string() {
                        return f[0].to_string();
                    }
                }
            }
            return format!("uid{uid}");
        }
    }
    "unknown".into()
}

pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// A short run id: 8 hex digits from the process's random hasher keys, the clock and the pid.
/// Unique enough to name runs; not a secret.
pub fn new_run_id() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.write_u128(now);
    h.write_u32(std::process::id());
    format!("{:08x}", h.finish() as u32)
}
