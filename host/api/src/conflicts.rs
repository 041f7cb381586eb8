//! Settled conflicts: `/groups/{group}/conflicts`.

use crate::Decision;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// How many conflicts.
#[derive(Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConflictQuery {
    /// At most this many, newest first (1 to 1000; default 50).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// A settled conflict with both row images.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConflictView {
    /// The member.
    pub member: String,
    /// The table.
    pub table: String,
    /// When it was settled, µs since the Unix epoch.
    pub at_micros: i64,
    /// The key.
    #[schema(value_type = Object)]
    pub key: serde_json::Value,
    /// The hub's row (null: deleted there).
    #[schema(value_type = Object)]
    pub hub_row: serde_json::Value,
    /// The member's row (null: deleted there).
    #[schema(value_type = Object)]
    pub member_row: serde_json::Value,
    /// What the policy decided.
    pub decision: Decision,
    /// The policy's reason.
    pub reason: Option<String>,
    /// The plugin that decided.
    pub plugin: String,
    /// Its SHA-256.
    pub plugin_sha256: String,
}
