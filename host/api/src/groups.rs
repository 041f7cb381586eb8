//! Sync groups: `/groups`, `/groups/{group}`.

use hubsync_core::GroupConfig;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A group in a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GroupSummary {
    /// The group's name.
    pub name: String,
    /// Its revision (each change adds one).
    pub revision: i64,
    /// The hub's URL, password masked.
    pub hub: String,
    /// How many members.
    pub members: usize,
    /// How many tables it syncs.
    pub tables: usize,
    /// Seconds between automatic syncs; absent when only manual.
    pub interval_seconds: Option<u64>,
    /// Days a member may go without syncing before it is out of date
    /// (what the overview counts down from, without reading each group).
    pub retention_days: u32,
}

/// A group's definition (passwords masked) and revision.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GroupView {
    /// Its revision: send it back as `revision` to change the group only if
    /// nobody changed it meanwhile.
    pub revision: i64,
    /// The definition.
    pub definition: GroupConfig,
}

/// A change of a group: the whole definition, optionally only if the
/// group is still at `revision`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupUpdate {
    /// Change only if the group is still at this revision.
    #[serde(default)]
    pub revision: Option<i64>,
    /// The new definition (its name must be the group's). A URL given
    /// masked, as `GET` returns it, keeps the stored password.
    pub definition: GroupConfig,
}

/// Whether to remove change tracking too.
#[derive(Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RemoveQuery {
    /// Also remove hubsync's triggers and tracking tables from the
    /// databases (tables another group still syncs keep theirs).
    #[serde(default)]
    pub deprovision: bool,
}
