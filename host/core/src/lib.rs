//! Domain types of hubsync, shared by every other crate: SQL values, table
//! schemas, conflicts and their resolutions, plugin descriptions.
//!
//! This crate does no I/O. It also compiles for `wasm32-wasip2`, so the
//! built-in plugins use the same value semantics (text forms, casts) as the
//! host.

pub mod cases;
pub mod conflict;
pub mod connector;
#[cfg(feature = "pdk")]
pub mod pdk_convert;
pub mod plugin;
pub mod schema;
pub mod text;
pub mod value;

pub use conflict::{Change, Conflict, ConflictBatch, Resolution};
pub use connector::{
    Anchor, ApplyOp, CapturedChange, ChangeBatch, Connector, ConnectorError, EngineKind, IndexInfo, TableInfo,
    TableRef, UnsupportedColumn,
};
pub use plugin::{PluginInfo, PluginRole};
pub use schema::{Column, ColumnType, Direction, TableSchema};
pub use value::{CastError, Row, Value};
