//! Replaying recorded conflicts through another policy: `/groups/{group}/conflicts/replay`.

use crate::Decision;
use hubsync_core::PolicyConfig;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which policy to replay the recorded conflicts through.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// The policy: `builtin:NAME`, `stored:NAME`.
    pub policy: PolicyConfig,
    /// How many of the latest conflicts (1 to 10,000; default 1,000).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// One conflict the replayed policy decides otherwise.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReplayDifference {
    /// The member.
    pub member: String,
    /// The table.
    pub table: String,
    /// When it was settled, µs since the Unix epoch.
    pub at_micros: i64,
    /// The key.
    #[schema(value_type = Object)]
    pub key: serde_json::Value,
    /// What was decided (`take-hub`, `take-member`, `merged`, `skip`).
    pub recorded: Decision,
    /// The merged row or skip reason then.
    pub recorded_detail: Option<String>,
    /// The plugin that decided then.
    pub recorded_plugin: String,
    /// What the replayed policy decides.
    pub replayed: Decision,
    /// Its merged row or skip reason.
    pub replayed_detail: Option<String>,
}

/// The outcome of a replay.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReplayReport {
    /// Conflicts replayed.
    pub replayed: usize,
    /// Those decided the same way.
    pub same: usize,
    /// Those decided otherwise.
    pub differences: Vec<ReplayDifference>,
}
