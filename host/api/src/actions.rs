//! Retrying or discarding quarantined changes: `/groups/{group}/quarantine/retry|discard`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which quarantined changes.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuarantineAction {
    /// Their ids (from the list); every one of the group when absent.
    #[serde(default)]
    pub ids: Option<Vec<i64>>,
}

/// How many changes an action concerned.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Count {
    /// How many.
    pub count: u64,
}
