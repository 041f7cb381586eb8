//! Table schemas: columns, their types and the primary key.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kind of a column: which [`crate::Value`] case its non-null values take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// Booleans.
    Bool,
    /// Integers up to 64 bits.
    Int,
    /// Binary floating point.
    Float,
    /// Exact decimals.
    Decimal,
    /// Character data.
    Text,
    /// Binary data.
    Bytes,
    /// Calendar dates.
    Date,
    /// Times of day.
    Time,
    /// Date and time without zone.
    Timestamp,
    /// Instants (date and time with zone, stored as UTC).
    #[serde(rename = "timestamptz")]
    TimestampTz,
    /// UUIDs.
    Uuid,
    /// JSON documents.
    Json,
}

impl ColumnType {
    /// Every column type, in contract order.
    pub const ALL: [ColumnType; 12] = [
        ColumnType::Bool,
        ColumnType::Int,
        ColumnType::Float,
        ColumnType::Decimal,
        ColumnType::Text,
        ColumnType::Bytes,
        ColumnType::Date,
        ColumnType::Time,
        ColumnType::Timestamp,
        ColumnType::TimestampTz,
        ColumnType::Uuid,
        ColumnType::Json,
    ];

    /// The name used in configuration and in the WIT contract.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Bool => "bool",
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::Decimal => "decimal",
            ColumnType::Text => "text",
            ColumnType::Bytes => "bytes",
            ColumnType::Date => "date",
            ColumnType::Time => "time",
            ColumnType::Timestamp => "timestamp",
            ColumnType::TimestampTz => "timestamptz",
            ColumnType::Uuid => "uuid",
            ColumnType::Json => "json",
        }
    }
}

impl ColumnType {
    /// Whether [`crate::Value::cast`] converts values of this type to `to` (it
    /// may still refuse a particular value that would lose information).
    pub fn can_cast_to(self, to: ColumnType) -> bool {
        use ColumnType as T;
        self == to
            || self == T::Text
            || to == T::Text
            || matches!(
                (self, to),
                (T::Bool, T::Int)
                    | (T::Int, T::Bool | T::Float | T::Decimal)
                    | (T::Float, T::Int | T::Decimal)
                    | (T::Decimal, T::Int | T::Float)
                    | (T::Date, T::Timestamp | T::TimestampTz)
                    | (T::Timestamp | T::TimestampTz, T::Date)
                    | (T::Timestamp, T::TimestampTz)
                    | (T::TimestampTz, T::Timestamp)
            )
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ColumnType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ColumnType::ALL.into_iter().find(|t| t.name().eq_ignore_ascii_case(s)).ok_or_else(|| {
            let names: Vec<_> = ColumnType::ALL.iter().map(|t| t.name()).collect();
            format!("unknown column type {s:?}; use one of {}", names.join(", "))
        })
    }
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// The column's name as the database spells it.
    pub name: String,
    /// The kind of its values.
    #[serde(rename = "type")]
    pub kind: ColumnType,
    /// Whether it accepts NULL.
    #[serde(default = "yes")]
    pub nullable: bool,
    /// The database's own type, e.g. `numeric(12,2)`, when known. It is a
    /// spelling of the engine the schema came from: a table hubsync creates
    /// elsewhere takes its types from `kind` and `facets`, and uses a
    /// declared type only when it names the destination's own type (a
    /// schema map's choice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_type: Option<String>,
    /// Length, precision and scale as declared, in engine-neutral terms.
    #[serde(default, skip_serializing_if = "TypeFacets::is_empty")]
    pub facets: TypeFacets,
    /// For text: the collation under which the column compares different
    /// strings equal (case, accents or trailing spaces), when it does; `None`
    /// when it compares exactly. Key columns that fold on a member but not
    /// on the hub would merge distinct hub keys into one row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folding: Option<String>,
}

/// What a declared type says beyond its kind: the limits a created table
/// keeps on every engine that has them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeFacets {
    /// Maximum length: characters for text, bytes for bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Total digits of a decimal; digits of fractional seconds of a time,
    /// timestamp or timestamptz (absent: microseconds); bits of an integer
    /// (16, 32; absent: 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
    /// Digits after the point of a decimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// A fixed-length text or bytes type (`char(n)`, `binary(n)`): values
    /// are padded to the length. Created tables use the variable-length type
    /// holding the padded value, since engines disagree on trailing spaces.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fixed: bool,
}

impl TypeFacets {
    /// No length, precision or scale.
    pub fn is_empty(&self) -> bool {
        *self == TypeFacets::default()
    }
}

fn yes() -> bool {
    true
}

impl Column {
    /// A nullable column with no declared type.
    pub fn new(name: impl Into<String>, kind: ColumnType) -> Self {
        Column {
            name: name.into(),
            kind,
            nullable: true,
            declared_type: None,
            facets: TypeFacets::default(),
            folding: None,
        }
    }
}

/// A table's shape; rows are positional against `columns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSchema {
    /// The SQL schema (namespace) holding the table, if any.
    pub namespace: Option<String>,
    /// The table's name.
    pub name: String,
    /// Its columns, in row order.
    pub columns: Vec<Column>,
    /// Indexes into `columns` of the primary key, in key order.
    pub primary_key: Vec<usize>,
}

impl TableSchema {
    /// A table with no columns yet.
    pub fn new(name: impl Into<String>) -> Self {
        TableSchema { namespace: None, name: name.into(), columns: Vec::new(), primary_key: Vec::new() }
    }

    /// Add a key column (not nullable).
    pub fn key(mut self, name: impl Into<String>, kind: ColumnType) -> Self {
        self.primary_key.push(self.columns.len());
        self.columns.push(Column { nullable: false, ..Column::new(name, kind) });
        self
    }

    /// Add a nullable non-key column.
    pub fn column(mut self, name: impl Into<String>, kind: ColumnType) -> Self {
        self.columns.push(Column::new(name, kind));
        self
    }

    /// The index of the column called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// `namespace.name`, or `name`.
    pub fn qualified_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}.{}", self.name),
            None => self.name.clone(),
        }
    }

    /// Check that the schema is usable for sync: names are unique, the key is
    /// set and in range, key columns are not nullable.
    pub fn validate(&self) -> Result<(), String> {
        let table = self.qualified_name();
        for (i, c) in self.columns.iter().enumerate() {
            if self.columns[..i].iter().any(|o| o.name == c.name) {
                return Err(format!("table {table}: column {:?} appears twice", c.name));
            }
        }
        if self.primary_key.is_empty() {
            return Err(format!(
                "table {table} has no primary key; hubsync syncs only tables with a primary key, add one first"
            ));
        }
        for &k in &self.primary_key {
            let Some(col) = self.columns.get(k) else {
                return Err(format!("table {table}: primary key column #{k} does not exist"));
            };
            if col.nullable {
                return Err(format!("table {table}: key column {:?} must not be nullable", col.name));
            }
        }
        Ok(())
    }
}

/// Which way rows travel through a schema map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// From the hub's schema to the member's.
    ToMember,
    /// From the member's schema back to the hub's.
    ToHub,
}
