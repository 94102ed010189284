//! Who runs sluice and from where, for the ledger and the runs table.

use std::hash::{BuildHasher, Hasher};

/// The name shown for whoever runs sluice: `SLUICE_OPERATOR` (a label for shared or CI
/// accounts), the login variables, else the account. A label only: anyone can set it, so
/// nothing that guards production compares it alone (see `account`).
pub fn os_user() -> String {
    for var in ["SLUICE_OPERATOR", "USER", "LOGNAME", "USERNAME"] {
        if let Ok(v) = std::env::var(var) {
            if !v.trim().is_empty() {
                return v.trim().to_string();
            }
        }
    }
    account().unwrap_or_else(|e| e.uid.map_or("unknown".into(), |u| format!("uid{u}")))
}

/// Why `account` cannot vouch for who runs this process.
#[derive(Debug, Clone, PartialEq)]
pub struct Unvouched {
    pub uid: Option<u32>,
    pub reason: String,
}

/// The OS account this process really runs as: the name of its real uid, from the system's
/// user database (NSS, so LDAP accounts too). No environment variable changes it. Refused
/// inside a user namespace an unprivileged user made (`unshare -r`), where uid 0 is anyone.
pub fn account() -> std::result::Result<String, Unvouched> {
    #[cfg(unix)]
    {
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        if let Ok(map) = std::fs::read_to_string("/proc/self/uid_map") {
            // The initial namespace maps every uid to itself; only root can make another
            // namespace that does, and root can be anyone anyway.
            let full: Vec<&str> = map.split_whitespace().collect();
            if full != ["0", "0", "4294967295"] {
                return Err(Unvouched {
                    uid: Some(uid),
                    reason: format!(
                        "this process runs in a user namespace (uid map {:?}), where its uid does not say which account started it",
                        map.trim()
                    ),
                });
            }
        }
        match passwd_name(uid) {
            Some(name) => Ok(name),
            None => Err(Unvouched {
                uid: Some(uid),
                reason: format!("uid {uid} has no entry in the user database"),
            }),
        }
    }
    #[cfg(not(unix))]
    Err(Unvouched { uid: None, reason: "OS accounts are only read on Unix".into() })
}

#[cfg(unix)]
fn passwd_name(uid: u32) -> Option<String> {
    let mut size = 1024usize;
    loop {
        let mut buf = vec![0 as libc::c_char; size];
        // SAFETY: zeroed passwd is a valid out-parameter; getpwuid_r writes strings into buf,
        // which outlives every pointer read below.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), size, &mut found) };
        if rc == libc::ERANGE && size < 1 << 20 {
            size *= 4;
            continue;
        }
        if rc != 0 || found.is_null() || pw.pw_name.is_null() {
            return None;
        }
        // SAFETY: pw_name points into buf, NUL-terminated by getpwuid_r.
        let name = unsafe { std::ffi::CStr::from_ptr(pw.pw_name) };
        return name.to_str().ok().filter(|s| !s.is_empty()).map(str::to_string);
    }
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

/// YYYYMMDDHHMMSS in UTC from the system clock (civil-from-days; no time crate needed).
pub fn utc_timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}{m:02}{d:02}{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_is_the_real_uids_name() {
        let a = account().expect("tests run as a real account");
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() }.to_string();
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let line = passwd.lines().find(|l| l.split(':').nth(2) == Some(uid.as_str()));
        assert_eq!(Some(a.as_str()), line.and_then(|l| l.split(':').next()));
    }
}
