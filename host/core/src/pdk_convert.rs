//! Exact conversions between the core types and the plugin contract's types
//! (as the PDK generates them), for plugins that use core's value semantics.

use hubsync_pdk as pdk;

use crate::schema::ColumnType;
use crate::value::Value;

impl From<pdk::Value> for Value {
    fn from(v: pdk::Value) -> Self {
        match v {
            pdk::Value::Null => Value::Null,
            pdk::Value::Bool(b) => Value::Bool(b),
            pdk::Value::Int(i) => Value::Int(i),
            pdk::Value::Float(f) => Value::Float(f),
            pdk::Value::Decimal(s) => Value::Decimal(s),
            pdk::Value::Text(s) => Value::Text(s),
            pdk::Value::Bytes(b) => Value::Bytes(b),
            pdk::Value::Date(d) => Value::Date(d),
            pdk::Value::Time(t) => Value::Time(t),
            pdk::Value::Timestamp(t) => Value::Timestamp(t),
            pdk::Value::Timestamptz(t) => Value::TimestampTz(t),
            pdk::Value::Uuid((hi, lo)) => Value::Uuid((u128::from(hi) << 64) | u128::from(lo)),
            pdk::Value::Json(s) => Value::Json(s),
        }
    }
}

impl From<Value> for pdk::Value {
    fn from(v: Value) -> Self {
        match v {
            Value::Null => pdk::Value::Null,
            Value::Bool(b) => pdk::Value::Bool(b),
            Value::Int(i) => pdk::Value::Int(i),
            Value::Float(f) => pdk::Value::Float(f),
            Value::Decimal(s) => pdk::Value::Decimal(s),
            Value::Text(s) => pdk::Value::Text(s),
            Value::Bytes(b) => pdk::Value::Bytes(b),
            Value::Date(d) => pdk::Value::Date(d),
            Value::Time(t) => pdk::Value::Time(t),
            Value::Timestamp(t) => pdk::Value::Timestamp(t),
            Value::TimestampTz(t) => pdk::Value::Timestamptz(t),
            Value::Uuid(u) => pdk::Value::Uuid(((u >> 64) as u64, u as u64)),
            Value::Json(s) => pdk::Value::Json(s),
        }
    }
}

impl From<pdk::ColumnType> for ColumnType {
    fn from(t: pdk::ColumnType) -> Self {
        match t {
            pdk::ColumnType::Bool => ColumnType::Bool,
            pdk::ColumnType::Int => ColumnType::Int,
            pdk::ColumnType::Float => ColumnType::Float,
            pdk::ColumnType::Decimal => ColumnType::Decimal,
            pdk::ColumnType::Text => ColumnType::Text,
            pdk::ColumnType::Bytes => ColumnType::Bytes,
            pdk::ColumnType::Date => ColumnType::Date,
            pdk::ColumnType::Time => ColumnType::Time,
            pdk::ColumnType::Timestamp => ColumnType::Timestamp,
            pdk::ColumnType::Timestamptz => ColumnType::TimestampTz,
            pdk::ColumnType::Uuid => ColumnType::Uuid,
            pdk::ColumnType::Json => ColumnType::Json,
        }
    }
}

impl From<ColumnType> for pdk::ColumnType {
    fn from(t: ColumnType) -> Self {
        match t {
            ColumnType::Bool => pdk::ColumnType::Bool,
            ColumnType::Int => pdk::ColumnType::Int,
            ColumnType::Float => pdk::ColumnType::Float,
            ColumnType::Decimal => pdk::ColumnType::Decimal,
            ColumnType::Text => pdk::ColumnType::Text,
            ColumnType::Bytes => pdk::ColumnType::Bytes,
            ColumnType::Date => pdk::ColumnType::Date,
            ColumnType::Time => pdk::ColumnType::Time,
            ColumnType::Timestamp => pdk::ColumnType::Timestamp,
            ColumnType::TimestampTz => pdk::ColumnType::Timestamptz,
            ColumnType::Uuid => pdk::ColumnType::Uuid,
            ColumnType::Json => pdk::ColumnType::Json,
        }
    }
}
