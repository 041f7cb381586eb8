//! PostgreSQL types: the type hubsync gives each column kind, the
//! expressions that read and write values through text and arrays, and the
//! decoding of a row's cells into values.

use hubsync_core::{Column, ColumnType, ConnectorError, TableRef, Value};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::sql::{self, Spelling};

/// The PostgreSQL type hubsync gives a column of `kind`.
pub(super) fn pg_type(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Bool => "boolean",
        ColumnType::Int => "bigint",
        ColumnType::Float => "double precision",
        ColumnType::Decimal => "numeric",
        ColumnType::Text => "text",
        ColumnType::Bytes => "bytea",
        ColumnType::Date => "date",
        ColumnType::Time => "time",
        ColumnType::Timestamp => "timestamp",
        ColumnType::TimestampTz => "timestamptz",
        ColumnType::Uuid => "uuid",
        ColumnType::Json => "jsonb",
    }
}

/// The type of `c` in a table hubsync creates: the kind's type with the
/// source's length, precision and scale.
pub(super) fn pg_create_type(c: &Column) -> String {
    let (kind, f) = match Spelling::of(c) {
        Spelling::Declared(d) => return d.to_owned(),
        Spelling::Kind(kind, f) => (kind, f),
    };
    let with = sql::sized;
    match kind {
        // PostgreSQL's numeric holds 1000 digits when constrained.
        ColumnType::Decimal => match (f.precision, f.scale) {
            (Some(p), s) if p <= 1000 => format!("numeric({p},{})", s.unwrap_or(0).min(p)),
            _ => "numeric".into(),
        },
        ColumnType::Text if f.length.is_some_and(|n| n <= 10_485_760) => with("varchar", f.length),
        ColumnType::Int => match f.precision {
            Some(16) => "smallint".into(),
            Some(32) => "integer".into(),
            _ => "bigint".into(),
        },
        ColumnType::Time => with("time", f.precision),
        ColumnType::Timestamp => with("timestamp", f.precision),
        ColumnType::TimestampTz => with("timestamptz", f.precision),
        other => pg_type(other).to_owned(),
    }
}

/// SQL that reads `expr` in the form [`decode`] expects.
pub(super) fn read_expr(kind: ColumnType, expr: &str) -> String {
    match kind {
        ColumnType::Bool => format!("{expr}::boolean"),
        ColumnType::Int => format!("{expr}::int8"),
        ColumnType::Float => format!("{expr}::float8"),
        ColumnType::Bytes => format!("{expr}::bytea"),
        // PostgreSQL's `infinity` and `-infinity` have no number of days or
        // µs (the subtraction or cast would fail the whole read): they are
        // read as the int8 ends, which no finite value reaches, and
        // [`decode`] reports them as a bad value of their row alone.
        // (`-9223372036854775808` alone parses as a numeric: the CASE is cast back.)
        ColumnType::Date => format!(
            "(CASE WHEN isfinite({expr}) THEN ({expr} - DATE '1970-01-01')::int8 \
             WHEN {expr} = 'infinity' THEN {INFINITY} WHEN {expr} = '-infinity' THEN {MINUS_INFINITY} END)::int8"
        ),
        ColumnType::Time => format!("(extract(epoch FROM {expr}) * 1000000)::int8"),
        ColumnType::Timestamp | ColumnType::TimestampTz => format!(
            "(CASE WHEN isfinite({expr}) THEN (extract(epoch FROM {expr}) * 1000000)::int8 \
             WHEN {expr} = 'infinity' THEN {INFINITY} WHEN {expr} = '-infinity' THEN {MINUS_INFINITY} END)::int8"
        ),
        ColumnType::Decimal | ColumnType::Text | ColumnType::Uuid | ColumnType::Json => format!("{expr}::text"),
    }
}

/// The array type a column travels in, and SQL turning an element back into the column's value.
pub(super) fn write_expr(kind: ColumnType, elem: &str) -> (&'static str, String) {
    match kind {
        ColumnType::Bool => ("boolean[]", elem.to_owned()),
        ColumnType::Int => ("int8[]", elem.to_owned()),
        ColumnType::Float => ("float8[]", elem.to_owned()),
        ColumnType::Bytes => ("bytea[]", elem.to_owned()),
        ColumnType::Text => ("text[]", elem.to_owned()),
        ColumnType::Decimal => ("text[]", format!("{elem}::numeric")),
        ColumnType::Uuid => ("text[]", format!("{elem}::uuid")),
        ColumnType::Json => ("text[]", format!("{elem}::json")),
        ColumnType::Date => ("int8[]", format!("(DATE '1970-01-01' + {elem}::int4)")),
        ColumnType::Time => ("int8[]", format!("(TIME '00:00' + {})", micros_interval(elem))),
        ColumnType::Timestamp => ("int8[]", format!("(TIMESTAMP '1970-01-01' + {})", micros_interval(elem))),
        ColumnType::TimestampTz => {
            ("int8[]", format!("(TIMESTAMPTZ '1970-01-01 00:00:00+00' + {})", micros_interval(elem)))
        }
    }
}

/// An exact interval of `elem` microseconds. `int8 * interval` computes
/// in float8, which loses microseconds beyond 2^53 (about 285 years), so
/// whole seconds and the remainder are multiplied separately.
pub(super) fn micros_interval(elem: &str) -> String {
    format!("(({elem} / 1000000) * INTERVAL '1 second' + ({elem} % 1000000) * INTERVAL '1 microsecond')")
}

/// One column's values of a batch, as the array that carries them.
pub(super) enum ColumnArray {
    Bool(Vec<Option<bool>>),
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
    Bytes(Vec<Option<Vec<u8>>>),
}

pub(super) fn column_array(
    t: &TableRef,
    c: &Column,
    cells: impl Iterator<Item = Value>,
) -> Result<ColumnArray, ConnectorError> {
    let bad = |v: &Value| ConnectorError::BadValue {
        table: t.clone(),
        column: c.name.clone(),
        reason: format!("{} is not a {} value", v.short(), c.kind),
    };
    macro_rules! collect {
        ($variant:ident, $pat:pat => $out:expr) => {
            ColumnArray::$variant(
                cells
                    .map(|v| match v {
                        Value::Null => Ok(None),
                        $pat => Ok(Some($out)),
                        other => Err(bad(&other)),
                    })
                    .collect::<Result<_, _>>()?,
            )
        };
    }
    Ok(match c.kind {
        ColumnType::Bool => collect!(Bool, Value::Bool(b) => b),
        ColumnType::Int => collect!(Int, Value::Int(i) => i),
        ColumnType::Float => collect!(Float, Value::Float(f) => f),
        ColumnType::Bytes => collect!(Bytes, Value::Bytes(b) => b),
        ColumnType::Text => collect!(Text, Value::Text(s) => s),
        ColumnType::Decimal => collect!(Text, Value::Decimal(s) => s),
        ColumnType::Json => collect!(Text, Value::Json(s) => s),
        ColumnType::Uuid => collect!(Text, Value::Uuid(u) => hubsync_core::text::format_uuid(u)),
        ColumnType::Date => collect!(Int, Value::Date(d) => i64::from(d)),
        ColumnType::Time => collect!(Int, Value::Time(t) => t),
        ColumnType::Timestamp => collect!(Int, Value::Timestamp(t) => t),
        ColumnType::TimestampTz => collect!(Int, Value::TimestampTz(t) => t),
    })
}

pub(super) type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

pub(super) fn bind_array(q: Query<'_>, a: ColumnArray) -> Query<'_> {
    match a {
        ColumnArray::Bool(v) => q.bind(v),
        ColumnArray::Int(v) => q.bind(v),
        ColumnArray::Float(v) => q.bind(v),
        ColumnArray::Text(v) => q.bind(v),
        ColumnArray::Bytes(v) => q.bind(v),
    }
}

/// How [`read_expr`] reads `infinity` (dates, timestamps).
const INFINITY: i64 = i64::MAX;
/// How [`read_expr`] reads `-infinity`.
const MINUS_INFINITY: i64 = i64::MIN;

/// A cell read with [`read_expr`] as text, for reports.
pub(super) fn raw(r: &PgRow, i: usize) -> Option<String> {
    let number = |n: i64| match n {
        INFINITY => "infinity".to_owned(),
        MINUS_INFINITY => "-infinity".to_owned(),
        n => n.to_string(),
    };
    r.try_get::<Option<String>, _>(i)
        .map(|v| v.unwrap_or_else(|| "NULL".into()))
        .or_else(|_| r.try_get::<Option<i64>, _>(i).map(|v| v.map_or("NULL".into(), number)))
        .ok()
}

/// Decode a cell read with [`read_expr`].
pub(super) fn decode(t: &TableRef, c: &Column, r: &PgRow, i: usize) -> Result<Value, ConnectorError> {
    let bad = |e: String| ConnectorError::BadValue { table: t.clone(), column: c.name.clone(), reason: e };
    let finite = |n: i64| match n {
        INFINITY | MINUS_INFINITY => Err(bad(format!(
            "PostgreSQL's {} has no counterpart in hubsync's types (nor on the other engines); store a real \
             date or NULL",
            if n == INFINITY { "infinity" } else { "-infinity" }
        ))),
        n => Ok(n),
    };
    macro_rules! get {
        ($ty:ty) => {
            match r.try_get::<Option<$ty>, _>(i).map_err(|e| bad(e.to_string()))? {
                Some(v) => v,
                None => return Ok(Value::Null),
            }
        };
    }
    Ok(match c.kind {
        ColumnType::Bool => Value::Bool(get!(bool)),
        ColumnType::Int => Value::Int(get!(i64)),
        ColumnType::Float => Value::Float(get!(f64)),
        ColumnType::Bytes => Value::Bytes(get!(Vec<u8>)),
        ColumnType::Date => {
            Value::Date(i32::try_from(finite(get!(i64))?).map_err(|_| bad("date out of range".into()))?)
        }
        ColumnType::Time => Value::Time(get!(i64)),
        ColumnType::Timestamp => Value::Timestamp(finite(get!(i64))?),
        ColumnType::TimestampTz => Value::TimestampTz(finite(get!(i64))?),
        kind => Value::parse_text(&get!(String), kind).map_err(bad)?,
    })
}
