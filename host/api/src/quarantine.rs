//! Changes that could not be synced: `/groups/{group}/quarantine`.

use crate::Side;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A change that could not be synced.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QuarantineView {
    /// Its number.
    pub id: i64,
    /// The group.
    pub group: String,
    /// The member.
    pub member: String,
    /// The table.
    pub table: String,
    /// Where the change was read.
    pub side: Side,
    /// The key, if it could be read.
    #[schema(value_type = Object)]
    pub key: serde_json::Value,
    /// What hubsync was doing.
    pub stage: String,
    /// The column at fault, if known.
    pub column: Option<String>,
    /// The offending value as text, if known.
    pub value: Option<String>,
    /// The error.
    pub error: String,
    /// When it was first quarantined, µs since the Unix epoch.
    pub first_micros: i64,
    /// When a sync last failed on it, µs since the Unix epoch.
    pub last_micros: i64,
    /// How many syncs failed on it.
    pub attempts: i64,
    /// Whether a retry was asked for (it syncs again at the next sync).
    pub retry: bool,
}
