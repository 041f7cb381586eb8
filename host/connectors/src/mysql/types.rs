//! MySQL/MariaDB types: a column's kind and facets from the catalog, the
//! expressions that read values as text, how values are bound, and the
//! decoding of a row's cells into values.

use hubsync_core::{Column, ColumnType, ConnectorError, TableRef, TypeFacets, Value, text};
use sqlx::Row;
use sqlx::mysql::MySqlRow;

use super::layout::TYPE_COMMENT;
use crate::sql;

/// Column type of a MySQL column from `DATA_TYPE` and `COLUMN_TYPE`.
pub(super) fn mysql_column_type(data_type: &str, column_type: &str) -> Option<ColumnType> {
    let ct = column_type.to_ascii_lowercase();
    Some(match data_type.to_ascii_lowercase().as_str() {
        "tinyint" if ct.starts_with("tinyint(1)") => ColumnType::Bool,
        "bigint" if ct.contains("unsigned") => ColumnType::Decimal,
        "timestamp" => ColumnType::TimestampTz,
        "datetime" => ColumnType::Timestamp,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => ColumnType::Text,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => ColumnType::Bytes,
        "year" | "bit" | "enum" | "set" | "geometry" | "point" => return None,
        other => sql::column_type(other)?,
    })
}

/// The hubsync type a column's comment names (see [`TYPE_COMMENT`]), when
/// the column's own type can hold it; else `kind`.
pub(super) fn tagged_type(kind: ColumnType, data_type: &str, comment: &str) -> ColumnType {
    let tagged = comment.strip_prefix(TYPE_COMMENT).and_then(|t| t.trim().parse::<ColumnType>().ok());
    match (tagged, data_type.to_ascii_lowercase().as_str()) {
        (Some(ColumnType::TimestampTz), "datetime" | "timestamp") => ColumnType::TimestampTz,
        (Some(ColumnType::Uuid), "char" | "varchar" | "binary" | "uuid") => ColumnType::Uuid,
        (Some(ColumnType::Json), "longtext" | "json" | "text" | "mediumtext") => ColumnType::Json,
        _ => kind,
    }
}

/// Facets of a MySQL column: as spelled, except that MySQL's times without
/// a precision keep whole seconds, and `bigint unsigned` (a decimal to
/// hubsync) has 20 digits.
pub(super) fn mysql_facets(kind: ColumnType, data_type: &str, column_type: &str) -> TypeFacets {
    let mut f = sql::facets(kind, column_type);
    match (kind, data_type.to_ascii_lowercase().as_str()) {
        (ColumnType::Time | ColumnType::Timestamp | ColumnType::TimestampTz, _) if f.precision.is_none() => {
            f.precision = Some(0)
        }
        (ColumnType::Decimal, "bigint") => (f.precision, f.scale) = (Some(20), Some(0)),
        // Unsigned: the next wider signed type holds it.
        (ColumnType::Int, _) if column_type.to_ascii_lowercase().contains("unsigned") => {
            f.precision = sql::int_bits(data_type).map(|b| if b == 16 { 32 } else { 64 }).filter(|&b| b < 64)
        }
        (ColumnType::Uuid | ColumnType::Json, _) => f = TypeFacets::default(),
        _ => {}
    }
    f
}

/// Whether a collation compares strings exactly (binary, no padding).
pub(super) fn is_exact(collation: &str) -> bool {
    let c = collation.to_ascii_lowercase();
    c == "binary" || c.ends_with("_nopad_bin") || c.ends_with("_0900_bin")
}

pub(super) fn read_expr(kind: ColumnType, expr: &str) -> String {
    match kind {
        ColumnType::Bool | ColumnType::Int => format!("CAST({expr} AS SIGNED)"),
        ColumnType::Float => format!("CAST({expr} AS DOUBLE)"),
        ColumnType::Bytes => expr.to_owned(),
        _ => format!("CAST({expr} AS CHAR CHARACTER SET utf8mb4)"),
    }
}

pub(super) fn decode(t: &TableRef, c: &Column, r: &MySqlRow, i: usize) -> Result<Value, ConnectorError> {
    let bad = |e: String| ConnectorError::BadValue { table: t.clone(), column: c.name.clone(), reason: e };
    macro_rules! get {
        ($ty:ty) => {
            match r.try_get::<Option<$ty>, _>(i).map_err(|e| bad(e.to_string()))? {
                Some(v) => v,
                None => return Ok(Value::Null),
            }
        };
    }
    Ok(match c.kind {
        ColumnType::Bool => Value::Bool(get!(i64) != 0),
        ColumnType::Int => Value::Int(get!(i64)),
        ColumnType::Float => Value::Float(get!(f64)),
        ColumnType::Bytes => Value::Bytes(get!(Vec<u8>)),
        ColumnType::TimestampTz => {
            let s = get!(String);
            Value::TimestampTz(text::parse_timestamp(&s).ok_or_else(|| bad(format!("{s:?} is not a timestamp")))?)
        }
        kind => Value::parse_text(&get!(String), kind).map_err(bad)?,
    })
}

/// A cell as text, for reports.
pub(super) fn raw(r: &MySqlRow, i: usize) -> Option<String> {
    r.try_get::<Option<String>, _>(i)
        .map(|v| v.unwrap_or_else(|| "NULL".into()))
        .or_else(|_| r.try_get::<Option<i64>, _>(i).map(|v| v.map_or("NULL".into(), |n| n.to_string())))
        .ok()
}

pub(super) type Query<'q> = sqlx::query::Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments>;

/// Bind a value in the form MySQL parses for its column.
pub(super) fn bind<'q>(q: Query<'q>, v: &Value) -> Query<'q> {
    match v {
        Value::Null => q.bind(None::<i64>),
        Value::Bool(b) => q.bind(i64::from(*b)),
        Value::Int(i) => q.bind(*i),
        Value::Float(f) => q.bind(*f),
        Value::Bytes(b) => q.bind(b.clone()),
        // Stored as UTC in DATETIME(6), without a zone suffix MariaDB would refuse.
        Value::TimestampTz(t) => q.bind(text::format_timestamp(*t)),
        other => q.bind(other.to_text().unwrap_or_default()),
    }
}
