//! How commands print: JSON for `--json` (the API's types, one shape
//! whether a command read a group file or a server), aligned tables and
//! plain lines for people.

use anyhow::{Context, Result};
use hubsync_core::GroupConfig;

/// Print a value as pretty JSON.
pub fn print<T: serde::Serialize + ?Sized>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Print rows as an aligned table under upper-case headers.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        println!("{}", s.trim_end());
    };
    line(headers.iter().map(|h| h.to_uppercase()).collect());
    for r in rows {
        line(r);
    }
}

/// A value's word on the wire (`bidirectional`, `take-hub`…).
pub fn wire(v: &impl serde::Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "-".into(),
    }
}

/// An optional cell: `-` when absent.
pub fn opt(v: Option<impl ToString>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

/// A time in UTC, or `never`.
pub fn when(micros: Option<i64>) -> String {
    match micros {
        Some(m) => hubsync_core::text::format_timestamp(m) + " UTC",
        None => "never".into(),
    }
}

/// A time in UTC as a table cell: `-` when absent.
pub fn at(micros: Option<i64>) -> String {
    micros.map_or_else(|| "-".into(), |m| when(Some(m)))
}

/// A progress line: changes done, of how many when the total is known
/// (with the share and the time left at the rate so far), and the rate.
pub fn progress(done: u64, total: Option<u64>, elapsed: std::time::Duration) -> String {
    let secs = elapsed.as_secs_f64().max(0.001);
    let rate = done as f64 / secs;
    match total {
        Some(t) if t > 0 => {
            let share = (done.min(t) as f64 * 100.0 / t as f64).floor();
            let left = t.saturating_sub(done);
            let eta = if left == 0 {
                "done".to_owned()
            } else if rate >= 1.0 {
                format!("about {} left", duration((left as f64 / rate).ceil() as u64))
            } else {
                "time left unknown yet".to_owned()
            };
            format!("{done} of {t} changes ({share:.0} %), {rate:.0}/s, {eta}")
        }
        _ => format!("{done} changes, {rate:.0}/s"),
    }
}

/// Seconds as `1h 02m`, `3m 05s` or `7s`.
fn duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, secs % 3600 / 60),
    }
}

/// Groups as a group file (TOML).
pub fn toml_of(groups: &[GroupConfig]) -> Result<String> {
    let file = hubsync_core::SyncFile { metadata: None, groups: groups.to_vec() };
    toml::to_string(&file).context("writing TOML")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn progress_says_the_share_the_rate_and_the_time_left() {
        assert_eq!(
            super::progress(500, Some(2000), Duration::from_secs(5)),
            "500 of 2000 changes (25 %), 100/s, about 15s left"
        );
        assert_eq!(
            super::progress(2100, Some(2000), Duration::from_secs(1)),
            "2100 of 2000 changes (100 %), 2100/s, done"
        );
        assert_eq!(super::progress(10, None, Duration::from_secs(10)), "10 changes, 1/s");
        assert_eq!(
            super::progress(0, Some(7200), Duration::from_secs(1)),
            "0 of 7200 changes (0 %), 0/s, time left unknown yet"
        );
        assert_eq!(super::duration(3725), "1h 02m");
    }
}
