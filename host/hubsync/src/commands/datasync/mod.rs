//! `hubsync datasync …`: move a group off Azure SQL Data Sync: read what
//! Data Sync left in a database, import a group from Azure's JSON and the
//! hub's scope configuration, take the databases over without a re-copy,
//! and remove Data Sync's objects by their exact names.

mod import;
mod inspect;
mod remove;
mod takeover;

use anyhow::Result;
use hubsync_core::text;

#[derive(clap::Subcommand)]
pub enum DatasyncCommand {
    /// Read Data Sync's objects in a SQL Server database: scopes, tables and
    /// columns, triggers, tracking tables and leftovers (read only).
    Inspect(inspect::InspectArgs),
    /// Write a hubsync group file from Azure's JSON of the sync group and its
    /// members (REST or PowerShell) and the hub's scope configuration.
    Import(import::ImportArgs),
    /// Replace Data Sync's change capture with hubsync's on every table of a
    /// group, announcing only the rows changed since Data Sync's last sync.
    Takeover(takeover::TakeoverArgs),
    /// Remove Data Sync's objects from a database (one scope or all), in one
    /// transaction, printing the T-SQL.
    Remove(remove::RemoveArgs),
}

impl DatasyncCommand {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        match self {
            DatasyncCommand::Inspect(a) => a.execute().await,
            DatasyncCommand::Import(a) => a.execute().await,
            DatasyncCommand::Takeover(a) => a.execute().await,
            DatasyncCommand::Remove(a) => a.execute().await,
        }
    }
}

/// A time as microseconds since the epoch, UTC: `2026-12-03T10:00:00Z`,
/// with an offset (`+01:00`), with Azure's seven fractional digits, or
/// without a zone (then UTC).
pub(crate) fn utc_micros(s: &str) -> Result<i64> {
    let t = s.trim();
    // At most six fractional digits (Azure gives seven).
    let t = match t.find('.') {
        Some(dot) => {
            let digits = t[dot + 1..].chars().take_while(char::is_ascii_digit).count();
            format!("{}{}", &t[..dot + 1 + digits.min(6)], &t[dot + 1 + digits..])
        }
        None => t.to_owned(),
    };
    let zoned = t.ends_with('Z') || t.get(10..).is_some_and(|rest| rest.contains(['+', '-']));
    let micros = if zoned { text::parse_timestamptz(&t) } else { text::parse_timestamp(&t) };
    micros.ok_or_else(|| {
        anyhow::anyhow!(
            "{s:?} is not a time: write it like 2026-12-03T10:00:00Z (Data Sync's lastSyncTime, from the sync \
             group's JSON, works as it is)"
        )
    })
}

/// A UTC time as the takeover's T-SQL takes it (`YYYY-MM-DDTHH:MM:SS[.ffffff]`).
pub(crate) fn utc(s: &str) -> Result<String> {
    Ok(sql_time(utc_micros(s)?))
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff]` of microseconds since the epoch.
pub(crate) fn sql_time(micros: i64) -> String {
    text::format_timestamp(micros).replacen(' ', "T", 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_read_as_azure_and_people_write_them() {
        let ok = |s: &str| super::utc(s).expect("the test input reads");
        assert_eq!(ok("2026-12-03T10:00:00Z"), "2026-12-03T10:00:00");
        assert_eq!(ok("2026-12-03T10:00:00.1234567+00:00"), "2026-12-03T10:00:00.123456");
        assert_eq!(ok("2026-12-03 10:00:00"), "2026-12-03T10:00:00");
        assert_eq!(ok("2026-12-03T10:00:00+01:00"), "2026-12-03T09:00:00", "offsets are turned into UTC");
        assert_eq!(ok("2026-12-03T00:30:00-01:00"), "2026-12-03T01:30:00");
        assert!(super::utc("yesterday").is_err());
        assert!(super::utc("2026-12-03T10:00:00.éé").is_err(), "no panic on odd input");
        assert!(hubsync_core::datasync::is_utc_time(&ok("2026-12-03T10:00:00.5Z")));
    }
}
