//! Conflicts between a hub change and a member change, and how they are settled.

use crate::schema::TableSchema;
use crate::value::Row;

/// One side's latest change to a row.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The row after the change; `None` for a delete (tombstone).
    pub row: Option<Row>,
    /// When the change was recorded, in microseconds since the Unix epoch (UTC).
    pub changed_at_micros: i64,
    /// The database the change was first made in.
    pub origin: String,
}

/// The same key changed on the hub and on a member since they last synced.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The primary key values in key order.
    pub key: Row,
    /// The hub's change.
    pub hub: Change,
    /// The member's change.
    pub member: Change,
}

/// Conflicts of one table with one member, settled in one plugin call.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictBatch {
    /// The hub-side schema the rows are positional against.
    pub table: TableSchema,
    /// The member being synced.
    pub member: String,
    /// The conflicts.
    pub conflicts: Vec<Conflict>,
}

/// How one conflict is settled.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// Keep the hub's change everywhere.
    TakeHub,
    /// Keep the member's change everywhere.
    TakeMember,
    /// Write this row on both sides.
    Merged(Row),
    /// Change nothing; the reason goes to the sync history.
    Skip(String),
}
