//! How states, numbers and times read on the pages: Data Sync's state
//! names (Good, Warning, Error, Progressing, Not ready for a group;
//! Syncing, Succeeded, Succeeded with warnings, Failed, Out of date,
//! Never synced for a member), UTC times and durations.

use hubsync_api::{Level, MemberState};

/// A member's state as the pages name it, and its CSS class.
pub(crate) fn member_state(m: &MemberState, now_micros: i64, retention_days: u32) -> (&'static str, &'static str) {
    if m.syncing_on.is_some() {
        return ("Syncing", "busy");
    }
    if m.tables.is_empty() {
        return ("Never synced", "idle");
    }
    let last_ok = m.tables.iter().filter_map(|t| t.last_success_micros).min();
    let retention = retention_days as i64 * 86_400_000_000;
    if last_ok.is_none_or(|t| now_micros - t > retention) && m.tables.iter().any(|t| t.level == Level::Error) {
        return ("Out of date", "bad");
    }
    if m.tables.iter().any(|t| t.level == Level::Error) {
        ("Failed", "bad")
    } else if m.tables.iter().any(|t| t.level == Level::Warning || t.quarantined > 0) {
        ("Succeeded with warnings", "warn")
    } else {
        ("Succeeded", "good")
    }
}

/// A group's state from its members' (Data Sync's group states).
pub(crate) fn group_state(members: &[(&'static str, &'static str)]) -> (&'static str, &'static str) {
    if members.is_empty() {
        return ("Not ready", "idle");
    }
    if members.iter().any(|m| m.1 == "busy") {
        return ("Progressing", "busy");
    }
    if members.iter().any(|m| m.1 == "bad") {
        return ("Error", "bad");
    }
    if members.iter().any(|m| m.1 == "warn") {
        return ("Warning", "warn");
    }
    if members.iter().all(|m| m.1 == "idle") {
        return ("Not ready", "idle");
    }
    ("Good", "good")
}

/// µs since the Unix epoch as `2026-12-04 05:06:07 UTC` (whole seconds).
pub(crate) fn at(micros: i64) -> String {
    let seconds = micros.div_euclid(1_000_000) * 1_000_000;
    format!("{} UTC", hubsync_core::text::format_timestamp(seconds))
}

/// A span of seconds as `3 s`, `4 min`, `2 h 5 min`, `3 d 4 h`.
pub(crate) fn span(secs: i64) -> String {
    let s = secs.abs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// How long ago (or from now) `micros` is, as words.
pub(crate) fn ago(micros: i64, now_micros: i64) -> String {
    let d = (now_micros - micros) / 1_000_000;
    if d >= 0 { format!("{} ago", span(d)) } else { format!("in {}", span(-d)) }
}

/// A count with thousands separated: `1,234,567`.
pub(crate) fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc_dates() {
        assert_eq!(at(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(at(951_782_400_000_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(at(1_796_353_567_000_000), "2026-12-04 03:06:07 UTC");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(span(3 * 86_400 + 4 * 3600), "3 d 4 h");
    }
}
