//! Durations in sluice.toml ("500ms", "5s", "2min") and as an operator reads them.

use std::time::Duration;

use crate::core::error::{Error, Result};

/// Parses PostgreSQL-style durations: `0`, `500ms`, `5s`, `2min`, `1h`, `1d`, or bare
/// milliseconds as PostgreSQL reads them.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let ms = match unit.trim() {
        "" | "ms" => n,
        "s" | "sec" => n.checked_mul(1000)?,
        "min" | "m" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        "d" => n.checked_mul(86_400_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(ms))
}

/// "3 h 20 min", "45 s": a duration as an operator reads it.
pub fn describe_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        // Under a second (a queue or lag limit), and not whole: in milliseconds.
        0 if d.subsec_millis() > 0 => format!("{}ms", d.as_millis()),
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 if s % 3600 >= 60 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        3600..=86_399 => format!("{} h", s / 3600),
        _ if s % 86_400 >= 3600 => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

pub(super) fn parse_duration_field(
    value: Option<&str>,
    field: &str,
    default: Duration,
) -> Result<Duration> {
    match value {
        None => Ok(default),
        Some(v) => {
            let d = parse_duration(v).ok_or_else(|| {
                Error::input(format!(
                    "{field} = {v:?}: write a duration such as \"500ms\", \"5s\", \"2min\" or \"0\" (no limit)"
                ))
            })?;
            // PostgreSQL stores these timeouts as int milliseconds.
            if d.as_millis() > i32::MAX as u128 {
                return Err(Error::input(format!("{field} = {v:?}: at most 24 days")));
            }
            Ok(d)
        }
    }
}
