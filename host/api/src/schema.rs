//! A database's live schema: `/groups/{group}/schema`.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Which database's schema to read.
#[derive(Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SchemaQuery {
    /// `hub` (the default) or a member's name.
    #[serde(default)]
    pub database: Option<String>,
}

/// A column as the database has it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ColumnView {
    /// Its name.
    pub name: String,
    /// hubsync's type for it; absent when hubsync cannot sync it.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The type the database declares.
    pub declared_type: Option<String>,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// Whether it is part of the primary key.
    pub key: bool,
    /// Why it cannot be synced, if it cannot.
    pub unsupported: Option<String>,
}

/// A table as the database has it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SchemaTable {
    /// `namespace.name` or `name`.
    pub table: String,
    /// Its columns.
    pub columns: Vec<ColumnView>,
    /// Whether it can be synced; if not, why.
    pub problem: Option<String>,
}
