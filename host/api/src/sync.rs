//! Syncing and its state: `/groups/{group}/sync`, `/cancel`, `/status`.

use crate::Level;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which member(s) a sync or a cancel is about.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// Only this member; every member when absent.
    #[serde(default)]
    pub member: Option<String>,
}

/// What a sync or cancel request did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    /// How many members it concerns.
    pub members: u64,
    /// What happens next.
    pub message: String,
}

/// The latest sync of one table of a member.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TableState {
    /// The table (hub name).
    pub table: String,
    /// When its last sync started, µs since the Unix epoch.
    pub last_started_micros: i64,
    /// `success`, `warning` or `error`.
    pub level: Level,
    /// Rows written to the member.
    pub rows_down: i64,
    /// Rows written to the hub.
    pub rows_up: i64,
    /// Conflicts settled.
    pub conflicts: i64,
    /// Warnings of that sync (rows it quarantined, conflicts skipped).
    pub warnings: i64,
    /// Changes of this member and table in quarantine now.
    pub quarantined: i64,
    /// How long it took.
    pub duration_ms: i64,
    /// The error or note.
    pub message: Option<String>,
    /// When it last synced without error.
    pub last_success_micros: Option<i64>,
}

/// A member's state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MemberState {
    /// The member.
    pub member: String,
    /// The instance syncing it now, if one is.
    pub syncing_on: Option<String>,
    /// When the running sync started, µs since the Unix epoch.
    #[serde(default)]
    pub syncing_since_micros: Option<i64>,
    /// Changes moved so far by the running sync (on whichever instance
    /// runs it, as of its last heartbeat, at most a second old).
    pub changes_done: Option<u64>,
    /// The changes that waited when that sync started, counted before its
    /// first batch (up to ten million per table and side): the total
    /// `changes_done` grows toward. Absent when a database cannot tell.
    pub changes_total: Option<u64>,
    /// The running sync's progress per table.
    #[serde(default)]
    pub progress_tables: Vec<TableProgress>,
    /// When it is due next, µs since the Unix epoch (absent: only on request).
    pub due_micros: Option<i64>,
    /// Its tables.
    pub tables: Vec<TableState>,
}

/// One table's share of a running sync's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TableProgress {
    /// The table (hub name).
    pub table: String,
    /// Changes settled so far (both directions).
    pub done: u64,
    /// Changes that waited when its passes started.
    pub total: u64,
}

/// A group's state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GroupState {
    /// The group.
    pub group: String,
    /// Its members.
    pub members: Vec<MemberState>,
}
