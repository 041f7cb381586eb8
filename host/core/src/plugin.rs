//! What a plugin says about itself.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The three plugin roles, one WIT world each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginRole {
    /// Settles conflicts (`conflict-policy` world).
    ConflictPolicy,
    /// Chooses the columns and rows a member receives (`column-filter` world).
    ColumnFilter,
    /// Maps schemas and rows between hub and member (`schema-map` world).
    SchemaMap,
}

impl PluginRole {
    /// The WIT world name.
    pub fn world(self) -> &'static str {
        match self {
            PluginRole::ConflictPolicy => "conflict-policy",
            PluginRole::ColumnFilter => "column-filter",
            PluginRole::SchemaMap => "schema-map",
        }
    }

    /// The interface (besides `plugin`) a component of this role exports.
    pub fn interface(self) -> &'static str {
        match self {
            PluginRole::ConflictPolicy => "conflict-resolver",
            PluginRole::ColumnFilter => "row-filter",
            PluginRole::SchemaMap => "schema-mapper",
        }
    }
}

impl fmt::Display for PluginRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.world())
    }
}

/// A plugin's description of itself, plus what the host measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// Short name, e.g. `hub-wins`.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// The role it implements.
    pub role: PluginRole,
    /// One sentence for people.
    pub description: String,
    /// The version of the `hubsync:plugin` WIT package it was built against.
    pub contract_version: String,
    /// SHA-256 of the component's bytes, in hex: names the exact plugin in the sync history.
    pub sha256: String,
}
