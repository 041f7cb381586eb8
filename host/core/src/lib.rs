//! Domain types of hubsync, shared by every other crate: SQL values, table
//! schemas, conflicts and their resolutions, plugin descriptions.
//!
//! This crate does no I/O. It also compiles for `wasm32-wasip2`, so the
//! built-in plugins use the same value semantics (text forms, casts) as the
//! host.

pub mod cases;
pub mod config;
pub mod conflict;
pub mod connector;
pub mod datasync;
#[cfg(feature = "pdk")]
pub mod pdk_convert;
pub mod plugin;
pub mod schema;
pub mod text;
pub mod value;

pub use config::{
    GroupConfig, MemberConfig, PluginConfig, PluginLimits, PolicyConfig, SyncDirection, SyncFile, TableConfig,
};
pub use conflict::{Change, Conflict, ConflictBatch, Resolution};
pub use connector::{
    Anchor, ApplyOp, BadRow, CapturedChange, ChangeBatch, ChangeMark, ChangeWatch, ConnectOptions, Connector,
    ConnectorError, EngineKind, ForeignKey, IndexInfo, KeyState, Opener, TableInfo, TableRef, UnsupportedColumn,
    is_agent_url, key_id, parse_agent_url,
};
pub use plugin::{PluginInfo, PluginRole};
pub use schema::{Column, ColumnType, Direction, TableSchema, TypeFacets};
pub use value::{CastError, Row, Value, canonical_decimal, same_row};
