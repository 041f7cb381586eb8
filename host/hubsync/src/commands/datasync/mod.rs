//! `hubsync datasync …`: move a group off Azure SQL Data Sync: read what
//! Data Sync left in a database, import a group from Azure's JSON and the
//! hub's scope configuration, take the databases over without a re-copy,
//! and remove Data Sync's objects by their exact names.

mod import;
mod inspect;
mod remove;
mod takeover;

use anyhow::Result;

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

/// A UTC time as the T-SQL takes it (`YYYY-MM-DDTHH:MM:SS[.fff]`), from
/// that form, with `Z` or an offset of zero, or Azure's `+00:00`.
pub(crate) fn utc(s: &str) -> Result<String> {
    let t = s.trim();
    let t = t.strip_suffix('Z').or_else(|| t.strip_suffix("+00:00")).unwrap_or(t);
    let t = t.replacen(' ', "T", 1);
    // Azure gives up to seven fractional digits; datetime2 takes them, three are plenty.
    let t = match t.split_once('.') {
        Some((a, f)) => format!("{a}.{}", f.chars().take(3).collect::<String>()),
        None => t,
    };
    let ok = hubsync_core::datasync::is_utc_time(&t);
    if !ok {
        anyhow::bail!(
            "{s:?} is not a UTC time: write it like 2026-12-03T10:00:00Z (Data Sync's lastSyncTime, from the sync \
             group's JSON, works as it is)"
        );
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_read_as_azure_and_people_write_them() {
        assert_eq!(super::utc("2026-12-03T10:00:00Z").expect("the test input reads"), "2026-12-03T10:00:00");
        assert_eq!(
            super::utc("2026-12-03T10:00:00.1234567+00:00").expect("the test input reads"),
            "2026-12-03T10:00:00.123"
        );
        assert_eq!(super::utc("2026-12-03 10:00:00").expect("the test input reads"), "2026-12-03T10:00:00");
        assert!(super::utc("2026-12-03T10:00:00+01:00").is_err());
        assert!(super::utc("yesterday").is_err());
        assert!(super::utc("2026-12-03T10:00:00.éé").is_err(), "no panic on odd input");
    }
}
