//! Conversions between hubsync's core types and the contract's generated
//! types. Inputs are borrowed: cells are laid out once in a flat arena and
//! rows are slices of it, so no string is copied on the host side.

use std::ops::Range;

use hubsync_core::{Column, ColumnType, Conflict, Direction, Resolution, Row, TableSchema, Value};

use crate::bindings::wit;

fn value_param(v: &Value) -> wit::ValueParam<'_> {
    match v {
        Value::Null => wit::ValueParam::Null,
        Value::Bool(b) => wit::ValueParam::Bool(*b),
        Value::Int(i) => wit::ValueParam::Int(*i),
        Value::Float(f) => wit::ValueParam::Float(*f),
        Value::Decimal(s) => wit::ValueParam::Decimal(s),
        Value::Text(s) => wit::ValueParam::Text(s),
        Value::Bytes(b) => wit::ValueParam::Bytes(b),
        Value::Date(d) => wit::ValueParam::Date(*d),
        Value::Time(t) => wit::ValueParam::Time(*t),
        Value::Timestamp(t) => wit::ValueParam::Timestamp(*t),
        Value::TimestampTz(t) => wit::ValueParam::Timestamptz(*t),
        Value::Uuid(u) => wit::ValueParam::Uuid(((u >> 64) as u64, *u as u64)),
        Value::Json(s) => wit::ValueParam::Json(s),
    }
}

fn value_from_wit(v: wit::ValueResult) -> Value {
    match v {
        wit::ValueResult::Null => Value::Null,
        wit::ValueResult::Bool(b) => Value::Bool(b),
        wit::ValueResult::Int(i) => Value::Int(i),
        wit::ValueResult::Float(f) => Value::Float(f),
        wit::ValueResult::Decimal(s) => Value::Decimal(s),
        wit::ValueResult::Text(s) => Value::Text(s),
        wit::ValueResult::Bytes(b) => Value::Bytes(b),
        wit::ValueResult::Date(d) => Value::Date(d),
        wit::ValueResult::Time(t) => Value::Time(t),
        wit::ValueResult::Timestamp(t) => Value::Timestamp(t),
        wit::ValueResult::Timestamptz(t) => Value::TimestampTz(t),
        wit::ValueResult::Uuid((hi, lo)) => Value::Uuid((u128::from(hi) << 64) | u128::from(lo)),
        wit::ValueResult::Json(s) => Value::Json(s),
    }
}

pub(crate) fn row_from_wit(r: Vec<wit::ValueResult>) -> Row {
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

/// The parts a borrowed table schema points into.
pub(crate) struct SchemaParts<'a> {
    table: &'a TableSchema,
    columns: Vec<wit::ColumnParam<'a>>,
    primary_key: Vec<u32>,
}

impl<'a> SchemaParts<'a> {
    pub(crate) fn new(table: &'a TableSchema) -> Self {
        let columns = table
            .columns
            .iter()
            .map(|c| wit::ColumnParam {
                name: &c.name,
                kind: type_to_wit(c.kind),
                nullable: c.nullable,
                declared_type: c.declared_type.as_deref(),
            })
            .collect();
        SchemaParts { table, columns, primary_key: table.primary_key.iter().map(|&i| i as u32).collect() }
    }

    pub(crate) fn param(&self) -> wit::TableSchemaParam<'_> {
        wit::TableSchemaParam {
            namespace: self.table.namespace.as_deref(),
            name: &self.table.name,
            columns: &self.columns,
            primary_key: &self.primary_key,
        }
    }
}

pub(crate) fn schema_from_wit(t: wit::TableSchemaResult) -> TableSchema {
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
                facets: Default::default(),
                folding: None,
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

/// The cells of many rows, contiguous; rows are ranges into it.
#[derive(Default)]
pub(crate) struct Cells<'a> {
    cells: Vec<wit::ValueParam<'a>>,
}

impl<'a> Cells<'a> {
    pub(crate) fn push(&mut self, row: &'a [Value]) -> Range<usize> {
        let start = self.cells.len();
        self.cells.extend(row.iter().map(value_param));
        start..self.cells.len()
    }
}

/// Rows laid out in one arena, ready to lower as `list<row>`.
pub(crate) struct Rows<'a> {
    cells: Cells<'a>,
    spans: Vec<Range<usize>>,
}

impl<'a> Rows<'a> {
    pub(crate) fn new(rows: &'a [Row]) -> Self {
        let mut cells = Cells::default();
        let spans = rows.iter().map(|r| cells.push(r)).collect();
        Rows { cells, spans }
    }

    pub(crate) fn param(&self) -> Vec<wit::RowParam<'_>> {
        self.spans.iter().map(|r| &self.cells.cells[r.clone()]).collect()
    }
}

/// Row ranges of one conflict's images in a [`Cells`] arena.
pub(crate) struct ConflictSpans {
    key: Range<usize>,
    hub: Option<Range<usize>>,
    member: Option<Range<usize>>,
    hub_at: i64,
    member_at: i64,
    hub_origin: u32,
    member_origin: u32,
}

/// Lay out conflicts in `cells`; origins are interned into `peers` so each
/// name crosses once per batch.
pub(crate) fn lay_out_conflicts<'a>(
    conflicts: &'a [Conflict],
    cells: &mut Cells<'a>,
    peers: &mut Vec<&'a str>,
) -> Vec<ConflictSpans> {
    let mut intern = |name: &'a str| -> u32 {
        match peers.iter().position(|p| *p == name) {
            Some(i) => i as u32,
            None => {
                peers.push(name);
                (peers.len() - 1) as u32
            }
        }
    };
    conflicts
        .iter()
        .map(|c| ConflictSpans {
            key: cells.push(&c.key),
            hub: c.hub.row.as_deref().map(|r| cells.push(r)),
            member: c.member.row.as_deref().map(|r| cells.push(r)),
            hub_at: c.hub.changed_at_micros,
            member_at: c.member.changed_at_micros,
            hub_origin: intern(&c.hub.origin),
            member_origin: intern(&c.member.origin),
        })
        .collect()
}

pub(crate) fn conflicts_param<'c>(cells: &'c Cells<'_>, spans: &[ConflictSpans]) -> Vec<wit::Conflict<'c>> {
    let slice = |r: &Range<usize>| &cells.cells[r.clone()];
    spans
        .iter()
        .map(|s| wit::Conflict {
            key: slice(&s.key),
            hub: wit::Change { row: s.hub.as_ref().map(slice), changed_at: s.hub_at, origin: s.hub_origin },
            member: wit::Change { row: s.member.as_ref().map(slice), changed_at: s.member_at, origin: s.member_origin },
        })
        .collect()
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
