//! Stored plugins: `/plugins`.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// An uploaded plugin.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PluginView {
    /// The name groups use as `stored:NAME`.
    pub name: String,
    /// `conflict-policy`, `column-filter` or `schema-map`.
    pub role: String,
    /// The version it describes itself with.
    pub version: String,
    /// SHA-256 of the component.
    pub sha256: String,
    /// Its size in bytes.
    pub size_bytes: i64,
    /// When it was uploaded, µs since the Unix epoch.
    pub uploaded_micros: i64,
    /// The groups whose definitions use it.
    pub used_by: Vec<String>,
}

/// The plugin's name.
#[derive(Debug, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The name to store it under (letters, digits, `_`, `-`, `.`).
    pub name: String,
}
