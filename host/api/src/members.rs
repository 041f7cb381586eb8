//! Members: `/groups/{group}/members[/{member}]`.

use hubsync_core::{MemberConfig, PolicyConfig, SyncDirection};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// A member of a group (password masked).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    /// The group's revision.
    pub revision: i64,
    /// The member.
    pub member: MemberConfig,
}

/// A change of a member: only the fields given change; `null` removes a
/// plugin or a timeout.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberUpdate {
    /// A new URL (new credentials).
    #[serde(default)]
    pub url: Option<String>,
    /// A new direction.
    #[serde(default)]
    pub direction: Option<SyncDirection>,
    /// A new column filter, or `null` for none.
    #[serde(default, deserialize_with = "twice")]
    #[schema(value_type = Option<PolicyConfig>, nullable)]
    pub column_filter: Option<Option<PolicyConfig>>,
    /// A new schema map, or `null` for none.
    #[serde(default, deserialize_with = "twice")]
    #[schema(value_type = Option<PolicyConfig>, nullable)]
    pub schema_map: Option<Option<PolicyConfig>>,
    /// A new connect timeout, or `null` for the group's.
    #[serde(default, deserialize_with = "twice")]
    #[schema(value_type = Option<u64>, nullable)]
    pub connect_timeout_seconds: Option<Option<u64>>,
    /// A new statement timeout, or `null` for the group's.
    #[serde(default, deserialize_with = "twice")]
    #[schema(value_type = Option<u64>, nullable)]
    pub statement_timeout_seconds: Option<Option<u64>>,
}

fn twice<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
