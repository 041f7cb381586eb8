//! The sync log: `/history`.

use crate::Level;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Which history entries to list.
#[derive(Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Only this group.
    #[serde(default)]
    pub group: Option<String>,
    /// Only this member.
    #[serde(default)]
    pub member: Option<String>,
    /// Only `success`, `warning` or `error`.
    #[serde(default)]
    pub level: Option<Level>,
    /// Only entries started at or after this, µs since the Unix epoch.
    #[serde(default)]
    pub since_micros: Option<i64>,
    /// Only entries started before this.
    #[serde(default)]
    pub until_micros: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<i64>,
    /// At most this many (1 to 1000; default 100).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// One table sync of one member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    /// The entry's id.
    pub id: i64,
    /// The group.
    pub group: String,
    /// The member.
    pub member: String,
    /// The table.
    pub table: String,
    /// When it started, µs since the Unix epoch.
    pub started_micros: i64,
    /// How long it took.
    pub duration_ms: i64,
    /// `success`, `warning` or `error`.
    pub level: Level,
    /// Rows written to the member.
    pub rows_down: i64,
    /// Rows written to the hub.
    pub rows_up: i64,
    /// Conflicts settled.
    pub conflicts: i64,
    /// Changes quarantined.
    pub warnings: i64,
    /// The error or note.
    pub message: Option<String>,
    /// The instance that ran it.
    pub instance: Option<String>,
}

/// A page of history, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryPage {
    /// The entries.
    pub entries: Vec<HistoryEntry>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<i64>,
}

/// Which activity to sum.
#[derive(Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// How far back, hours (1 to 720; default 24).
    #[serde(default)]
    pub hours: Option<u32>,
    /// The length of each interval, minutes (1 to 1440; default 60; at
    /// most 1,000 intervals in all).
    #[serde(default)]
    pub bucket_minutes: Option<u32>,
}

/// One member's syncs in one interval, summed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ActivityBucket {
    /// The member.
    pub member: String,
    /// Where the interval starts, µs since the Unix epoch.
    pub start_micros: i64,
    /// Table syncs in it.
    pub syncs: i64,
    /// Rows written to the member.
    pub rows_down: i64,
    /// Rows written to the hub.
    pub rows_up: i64,
    /// Conflicts settled.
    pub conflicts: i64,
    /// Table syncs that failed.
    pub errors: i64,
    /// Time spent syncing (the table syncs' durations summed), ms.
    pub duration_ms: i64,
}

/// A group's syncs over time, per member and interval (the dashboard's charts).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Activity {
    /// Where the first interval starts, µs since the Unix epoch.
    pub since_micros: i64,
    /// The length of each interval, seconds.
    pub bucket_seconds: i64,
    /// The intervals with syncs (empty ones are left out), oldest first.
    pub buckets: Vec<ActivityBucket>,
}
