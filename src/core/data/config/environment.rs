//! One `[environments.NAME]` table turned into a validated `Environment`: its connection,
//! TLS, timeouts, backup and approval policies, maintenance window and hooks.

use std::path::Path;
use std::time::Duration;

use super::duration::parse_duration_field;
use super::raw::{RawApprovals, RawBackup, RawEnvironment, RawHooks, RawWindow};
use super::{
    parse_duration, url_has_password, ApprovalPolicy, BackupMode, BackupPolicy, Environment, Hooks,
    MaintenanceWindow, SslMode, Tier, Tls,
};
use crate::core::error::{Error, Result};

pub(super) fn build_environment(
    name: &str,
    raw: RawEnvironment,
    root: &Path,
    default_lock: Duration,
    default_stmt: Duration,
) -> Result<Environment> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(Error::input("environment names use letters, digits, - and _"));
    }
    let tier = raw.tier.ok_or_else(|| {
        Error::input("missing tier: add tier = \"development\", \"testing\" or \"production\"")
    })?;
    let fleet = super::rollout::fleet(&raw, root)?;
    if fleet.is_none() {
        connection(&raw)?;
    }
    let tls = tls(&raw, root)?;
    let lock_timeout =
        parse_duration_field(raw.lock_timeout.as_deref(), "lock_timeout", default_lock)?;
    let statement_timeout =
        parse_duration_field(raw.statement_timeout.as_deref(), "statement_timeout", default_stmt)?;
    let lock_retry_backoff = parse_duration_field(
        raw.lock_retry_backoff.as_deref(),
        "lock_retry_backoff",
        Duration::from_secs(1),
    )?;
    let queue_limit = match raw.queue_limit.as_deref().map(str::trim) {
        None | Some("off") => None,
        Some(v) => {
            let d = parse_duration_field(Some(v), "queue_limit", Duration::ZERO)?;
            if d.is_zero() {
                return Err(Error::input(
                    "queue_limit = \"0\": give a duration such as \"50ms\", or \"off\"",
                ));
            }
            Some(d)
        }
    };
    let max_replica_lag = match raw.max_replica_lag.as_deref().map(str::trim) {
        None | Some("off") => None,
        Some(v) => Some(parse_duration_field(Some(v), "max_replica_lag", Duration::ZERO)?)
            .filter(|d| !d.is_zero()),
    };
    let replica_lag_timeout = parse_duration_field(
        raw.replica_lag_timeout.as_deref(),
        "replica_lag_timeout",
        Duration::from_secs(300),
    )?;
    let lock_retries = raw.lock_retries.unwrap_or(3);
    if lock_retries > 100 {
        return Err(Error::input(format!("lock_retries = {lock_retries}: at most 100")));
    }
    let backup = backup_policy(raw.backup.unwrap_or_default(), tier, root)?;
    let approvals = approval_policy(raw.approvals.unwrap_or_default())?;
    let maintenance_window = raw.maintenance_window.map(build_window).transpose()?;
    let hooks = hooks(raw.hooks.unwrap_or_default())?;
    Ok(Environment {
        name: name.to_string(),
        tier,
        url: raw.url,
        url_env: raw.url_env,
        tls,
        lock_timeout,
        statement_timeout,
        lock_retries,
        lock_retry_backoff,
        queue_limit,
        max_replica_lag,
        replica_lag_timeout,
        lint_gate: raw.lint_gate.unwrap_or_default(),
        backup,
        approvals,
        maintenance_window,
        seeds: raw.seeds.into_iter().map(|s| root.join(s)).collect(),
        hooks,
        report_dir: raw.report_dir.map(|d| root.join(d)),
        require_tls: raw.require_tls.unwrap_or(true),
        dry_run: raw.dry_run.unwrap_or_default(),
        promote_from: raw.promote_from,
        promotion_override: raw.promotion_override.unwrap_or(true),
        fleet,
    })
}

/// Exactly one of url and url_env, and no password in a url (the file is committed).
fn connection(raw: &RawEnvironment) -> Result<()> {
    match (&raw.url, &raw.url_env) {
        (Some(_), Some(_)) => {
            return Err(Error::input("set either url or url_env, not both"));
        }
        (None, None) => {
            return Err(Error::input(
                "no connection: set url = \"postgres://user@host/db\" or url_env = \"VAR\"",
            ))
        }
        (Some(url), None) => {
            if url_has_password(url) {
                return Err(Error::input(
                    "the url holds a password; passwords never live in sluice.toml, which is committed: \
                     use url_env = \"VAR\", PGPASSWORD or ~/.pgpass",
                ));
            }
        }
        (None, Some(var)) => {
            if var.is_empty() || var.contains('=') {
                return Err(Error::input(format!("url_env = {var:?} is not a variable name")));
            }
        }
    }
    Ok(())
}

fn tls(raw: &RawEnvironment, root: &Path) -> Result<Tls> {
    let path = |p: &Option<String>| p.as_ref().map(|p| root.join(p));
    let sslmode = match raw.sslmode.as_deref() {
        None => None,
        Some(s) => Some(SslMode::parse(s).ok_or_else(|| {
            Error::input(format!(
                "sslmode = {s:?}: use disable, prefer, require, verify-ca or verify-full"
            ))
        })?),
    };
    let tls = Tls {
        sslmode,
        sslrootcert: path(&raw.sslrootcert),
        sslcert: path(&raw.sslcert),
        sslkey: path(&raw.sslkey),
    };
    if tls.sslcert.is_some() != tls.sslkey.is_some() {
        return Err(Error::input("sslcert and sslkey go together: set both or neither"));
    }
    Ok(tls)
}

/// Production requires a backup unless it says otherwise; the others make it optional.
fn backup_policy(rb: RawBackup, tier: Tier, root: &Path) -> Result<BackupPolicy> {
    let path = |p: Option<String>| p.map(|p| root.join(p));
    Ok(BackupPolicy {
        mode: rb.mode.unwrap_or(if tier == Tier::Production {
            BackupMode::Required
        } else {
            BackupMode::Optional
        }),
        kind: rb.kind.unwrap_or_default(),
        dir: path(rb.dir),
        keep_days: rb.keep_days,
        keep_count: rb.keep_count,
        max_age: rb
            .max_age
            .as_deref()
            .map(|v| {
                parse_duration(v).filter(|d| !d.is_zero()).ok_or_else(|| {
                    Error::input(format!(
                        "backup.max_age = {v:?}: write a duration such as \"6h\" or \"2d\""
                    ))
                })
            })
            .transpose()?,
    })
}

fn approval_policy(ra: RawApprovals) -> Result<ApprovalPolicy> {
    let required = ra.required.unwrap_or(1);
    if !(1..=2).contains(&required) {
        return Err(Error::input(format!("approvals.required = {required}: use 1 or 2")));
    }
    Ok(ApprovalPolicy { required, ticket: ra.ticket.unwrap_or_default() })
}

fn hooks(rh: RawHooks) -> Result<Hooks> {
    Ok(Hooks {
        pre_check: rh.pre_check,
        post_backup: rh.post_backup,
        pre_apply: rh.pre_apply,
        post_apply: rh.post_apply,
        post_verify: rh.post_verify,
        on_failure: rh.on_failure,
        timeout: parse_duration_field(
            rh.timeout.as_deref(),
            "hooks.timeout",
            Duration::from_secs(60),
        )?,
    })
}

fn build_window(raw: RawWindow) -> Result<MaintenanceWindow> {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut days = Vec::new();
    for d in raw.days.unwrap_or_else(|| DAYS.iter().map(|s| s.to_string()).collect()) {
        let lower = d.to_ascii_lowercase();
        let idx = DAYS.iter().position(|x| lower.starts_with(x)).ok_or_else(|| {
            Error::input(format!("maintenance_window.days: {d:?} is not a day (mon..sun)"))
        })?;
        days.push(idx as u8);
    }
    let start_minute = parse_clock(&raw.start, "maintenance_window.start")?;
    let end_minute = parse_clock(&raw.end, "maintenance_window.end")?;
    if let Some(tz) = raw.timezone {
        if !tz.eq_ignore_ascii_case("utc") {
            return Err(Error::input(format!(
                "maintenance_window.timezone = {tz:?}: only UTC is supported; write the times in UTC"
            )));
        }
    }
    Ok(MaintenanceWindow { days, start_minute, end_minute })
}

fn parse_clock(s: &str, field: &str) -> Result<u16> {
    let bad = || Error::input(format!("{field} = {s:?}: write the time as HH:MM (24-hour, UTC)"));
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if h > 24 || m > 59 || (h == 24 && m > 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}
