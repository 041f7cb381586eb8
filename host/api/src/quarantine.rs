//! Changes that could not be synced: `/groups/{group}/quarantine`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A change that could not be synced.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QuarantineView {
    /// Its number.
    pub id: i64,
    /// The member.
    pub member: String,
    /// The table.
    pub table: String,
    /// `hub` or `member`: where the change was read.
    pub side: String,
    /// The key, if it could be read.
    #[schema(value_type = Object)]
    pub key: serde_json::Value,
    /// What hubsync was doing.
    pub stage: String,
    /// The column at fault, if known.
    pub column: Option<String>,
    /// The error.
    pub error: String,
    /// How many syncs failed on it.
    pub attempts: i64,
}
