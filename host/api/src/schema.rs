//! A database's live schema (`/groups/{group}/schema`, `/inspect`) and
//! what saving a group would do (`/plan`).

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

/// A database to read the schema of before any group uses it (the
/// set-up's *Refresh schema*, and its check of a hub URL).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectRequest {
    /// The database's URL (or `agent://AGENT/DATABASE`).
    pub url: String,
}

/// What saving a group would do to one table of one database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PlanAction {
    /// The table exists: hubsync adds its change tracking (triggers and a
    /// tracking table); its rows are compared on the first sync.
    Track,
    /// The table does not exist: hubsync creates it with the selected
    /// columns and the first sync fills it.
    Create,
    /// It cannot be synced as selected (the detail says why).
    Refused,
}

/// One table's step in a plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlanStep {
    /// The table (the hub's name).
    pub table: String,
    /// What happens.
    pub action: PlanAction,
    /// In words, with the columns.
    pub detail: String,
}

/// What saving a group would do on one database.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DatabasePlan {
    /// `hub` or the member's name.
    pub database: String,
    /// Its URL, password masked.
    pub url: String,
    /// Why it could not be read (nothing else is known then).
    pub error: Option<String>,
    /// Per selected table.
    pub steps: Vec<PlanStep>,
}

/// What saving a group definition would do, before anything is saved:
/// its problems, and per database the tables tracked or created.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GroupPlan {
    /// What is wrong with the definition itself (saving it would be refused).
    pub problems: Vec<String>,
    /// The hub first, then each member.
    pub databases: Vec<DatabasePlan>,
}
