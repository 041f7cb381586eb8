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

/// Groups as a group file (TOML).
pub fn toml_of(groups: &[GroupConfig]) -> Result<String> {
    let file = hubsync_core::SyncFile { metadata: None, groups: groups.to_vec() };
    toml::to_string(&file).context("writing TOML")
}
