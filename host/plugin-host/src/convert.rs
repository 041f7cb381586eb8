//! Conversions between hubsync's core types and the contract's generated types.

use hubsync_core::{Change, Column, ColumnType, ConflictBatch, Direction, Resolution, Row, TableSchema, Value};

use crate::bindings::wit;

pub(crate) fn value_to_wit(v: &Value) -> wit::Value {
    match v {
        Value::Null => wit::Value::Null,
        Value::Bool(b) => wit::Value::Bool(*b),
        Value::Int(i) => wit::Value::Int(*i),
        Value::Float(f) => wit::Value::Float(*f),
        Value::Decimal(s) => wit::Value::Decimal(s.clone()),
        Value::Text(s) => wit::Value::Text(s.clone()),
        Value::Bytes(b) => wit::Value::Bytes(b.clone()),
        Value::Date(d) => wit::Value::Date(*d),
        Value::Time(t) => wit::Value::Time(*t),
        Value::Timestamp(t) => wit::Value::Timestamp(*t),
        Value::TimestampTz(t) => wit::Value::Timestamptz(*t),
        Value::Uuid(u) => wit::Value::Uuid(((u >> 64) as u64, *u as u64)),
        Value::Json(s) => wit::Value::Json(s.clone()),
    }
}

pub(crate) fn value_from_wit(v: wit::Value) -> Value {
    match v {
        wit::Value::Null => Value::Null,
        wit::Value::Bool(b) => Value::Bool(b),
        wit::Value::Int(i) => Value::Int(i),
        wit::Value::Float(f) => Value::Float(f),
        wit::Value::Decimal(s) => Value::Decimal(s),
        wit::Value::Text(s) => Value::Text(s),
        wit::Value::Bytes(b) => Value::Bytes(b),
        wit::Value::Date(d) => Value::Date(d),
        wit::Value::Time(t) => Value::Time(t),
        wit::Value::Timestamp(t) => Value::Timestamp(t),
        wit::Value::Timestamptz(t) => Value::TimestampTz(t),
        wit::Value::Uuid((hi, lo)) => Value::Uuid((u128::from(hi) << 64) | u128::from(lo)),
        wit::Value::Json(s) => Value::Json(s),
    }
}

pub(crate) fn row_to_wit(r: &[Value]) -> Vec<wit::Value> {
    r.iter().map(value_to_wit).collect()
}

pub(crate) fn row_from_wit(r: Vec<wit::Value>) -> Row {
    r.into_iter().map(value_from_wit).collect()
}

fn type_to_wit(t: ColumnType) -> wit::ColumnType {
    match t {
        ColumnType::Bool => wit::ColumnType::Bool,
        ColumnType::Int => wit::ColumnType::Int,
        ColumnType::Float => wit::ColumnType::Float,
        ColumnType::Decimal => wit::ColumnType::Decimal,
        ColumnType::Text => wit::ColumnType::Text,
        ColumnType::Bytes => wit::ColumnType::Bytes,
        ColumnType::Date => wit::ColumnType::Date,
        ColumnType::Time => wit::ColumnType::Time,
        ColumnType::Timestamp => wit::ColumnType::Timestamp,
        ColumnType::TimestampTz => wit::ColumnType::Timestamptz,
        ColumnType::Uuid => wit::ColumnType::Uuid,
        ColumnType::Json => wit::ColumnType::Json,
    }
}

fn type_from_wit(t: wit::ColumnType) -> ColumnType {
    match t {
        wit::ColumnType::Bool => ColumnType::Bool,
        wit::ColumnType::Int => ColumnType::Int,
        wit::ColumnType::Float => ColumnType::Float,
        wit::ColumnType::Decimal => ColumnType::Decimal,
        wit::ColumnType::Text => ColumnType::Text,
        wit::ColumnType::Bytes => ColumnType::Bytes,
        wit::ColumnType::Date => ColumnType::Date,
        wit::ColumnType::Time => ColumnType::Time,
        wit::ColumnType::Timestamp => ColumnType::Timestamp,
        wit::ColumnType::Timestamptz => ColumnType::TimestampTz,
        wit::ColumnType::Uuid => ColumnType::Uuid,
        wit::ColumnType::Json => ColumnType::Json,
    }
}

pub(crate) fn schema_to_wit(t: &TableSchema) -> wit::TableSchema {
    wit::TableSchema {
        namespace: t.namespace.clone(),
        name: t.name.clone(),
        columns: t
            .columns
            .iter()
            .map(|c| wit::Column {
                name: c.name.clone(),
                kind: type_to_wit(c.kind),
                nullable: c.nullable,
                declared_type: c.declared_type.clone(),
            })
            .collect(),
        primary_key: t.primary_key.iter().map(|&i| i as u32).collect(),
    }
}

pub(crate) fn schema_from_wit(t: wit::TableSchema) -> TableSchema {
    TableSchema {
        namespace: t.namespace,
        name: t.name,
        columns: t
            .columns
            .into_iter()
            .map(|c| Column {
                name: c.name,
                kind: type_from_wit(c.kind),
                nullable: c.nullable,
                declared_type: c.declared_type,
            })
            .collect(),
        primary_key: t.primary_key.into_iter().map(|i| i as usize).collect(),
    }
}

pub(crate) fn direction_to_wit(d: Direction) -> wit::Direction {
    match d {
        Direction::ToMember => wit::Direction::ToMember,
        Direction::ToHub => wit::Direction::ToHub,
    }
}

/// Encode a batch; peers are interned so each origin name crosses once.
pub(crate) fn batch_to_wit(b: &ConflictBatch) -> wit::ConflictBatch {
    let mut peers: Vec<String> = Vec::new();
    let mut intern = |name: &str| -> u32 {
        match peers.iter().position(|p| p == name) {
            Some(i) => i as u32,
            None => {
                peers.push(name.to_owned());
                (peers.len() - 1) as u32
            }
        }
    };
    let mut change = |c: &Change| wit::Change {
        row: c.row.as_deref().map(row_to_wit),
        changed_at: c.changed_at_micros,
        origin: intern(&c.origin),
    };
    let conflicts = b
        .conflicts
        .iter()
        .map(|c| wit::Conflict { key: row_to_wit(&c.key), hub: change(&c.hub), member: change(&c.member) })
        .collect();
    wit::ConflictBatch { table: schema_to_wit(&b.table), member: b.member.clone(), peers, conflicts }
}

pub(crate) fn resolution_from_wit(r: wit::Resolution) -> Resolution {
    match r {
        wit::Resolution::TakeHub => Resolution::TakeHub,
        wit::Resolution::TakeMember => Resolution::TakeMember,
        wit::Resolution::Merged(row) => Resolution::Merged(row_from_wit(row)),
        wit::Resolution::Skip(reason) => Resolution::Skip(reason),
    }
}

/// Rough bytes a row takes in guest memory once lifted, to split batches
/// before they reach the memory cap.
pub(crate) fn row_bytes(r: &[Value]) -> usize {
    r.iter()
        .map(|v| {
            24 + match v {
                Value::Decimal(s) | Value::Text(s) | Value::Json(s) => s.len(),
                Value::Bytes(b) => b.len(),
                _ => 0,
            }
        })
        .sum::<usize>()
        + 16
}
