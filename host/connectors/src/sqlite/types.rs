//! How SQLite holds hubsync's values: the declared types hubsync creates,
//! the cells it binds and how a cell of SQLite's dynamic storage is read.

use hubsync_core::text;
use hubsync_core::{Column, ColumnType, ConnectorError, TableRef, Value};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, TypeInfo, ValueRef};

use super::db;
use crate::sql::{self, Spelling};

/// A cell as SQLite stores it, to bind back exactly as found.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Stored {
    /// An INTEGER cell.
    Int(i64),
    /// A REAL cell.
    Real(f64),
    /// A TEXT cell.
    Text(String),
    /// A BLOB cell.
    Blob(Vec<u8>),
}

impl Stored {
    /// The value hubsync reads from this cell in a column of `kind`, if any.
    pub(super) fn value(&self, kind: ColumnType) -> Option<Value> {
        match (self, kind) {
            (Stored::Text(s), kind) => Value::parse_text(s, kind).ok(),
            (Stored::Blob(b), ColumnType::Uuid) => {
                Some(Value::Uuid(u128::from_be_bytes(b.as_slice().try_into().ok()?)))
            }
            (Stored::Int(i), ColumnType::Decimal) => Some(Value::Decimal(i.to_string())),
            (Stored::Real(f), ColumnType::Decimal) if f.is_finite() => Some(Value::Decimal(format!("{f}"))),
            _ => None,
        }
    }
}

/// The declared type hubsync gives a column in SQLite. Decimals are stored
/// as text ("DECIMAL TEXT" has TEXT affinity) so no digit or scale is lost.
/// SQLite enforces no length or precision, but keeps them in the declared
/// type, so they carry on to the next engine.
pub(super) fn sqlite_type(c: &Column) -> String {
    let (kind, f) = match Spelling::of(c) {
        Spelling::Declared(d) => return d.to_owned(),
        Spelling::Kind(kind, f) => (kind, f),
    };
    let with = sql::sized;
    match kind {
        ColumnType::Bool => "BOOLEAN".into(),
        ColumnType::Int => "INTEGER".into(),
        ColumnType::Float => "REAL".into(),
        ColumnType::Decimal => match (f.precision, f.scale) {
            (Some(p), s) => format!("DECIMAL TEXT({p},{})", s.unwrap_or(0)),
            (None, _) => "DECIMAL TEXT".into(),
        },
        ColumnType::Text if f.length.is_some() => with("VARCHAR", f.length),
        ColumnType::Text => "TEXT".into(),
        ColumnType::Bytes => with("BLOB", f.length),
        ColumnType::Date => "DATE".into(),
        ColumnType::Time => with("TIME", f.precision),
        ColumnType::Timestamp => with("TIMESTAMP", f.precision),
        ColumnType::TimestampTz => with("TIMESTAMPTZ", f.precision),
        ColumnType::Uuid => "UUID".into(),
        ColumnType::Json => "JSON".into(),
    }
}

pub(super) type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

/// The cell hubsync writes for a value (`None` for NULL): booleans as
/// integers, everything without a SQLite storage class of its own as its
/// canonical text.
pub(super) fn stored_of(v: &Value) -> Option<Stored> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => Stored::Int(i64::from(*b)),
        Value::Int(i) => Stored::Int(*i),
        Value::Float(f) => Stored::Real(*f),
        Value::Bytes(b) => Stored::Blob(b.clone()),
        other => Stored::Text(other.to_text().unwrap_or_default()),
    })
}

/// Bind a value in the form hubsync stores it in SQLite.
pub(super) fn bind<'q>(q: Query<'q>, v: &Value) -> Query<'q> {
    match stored_of(v) {
        None => q.bind(None::<i64>),
        Some(cell) => bind_stored(q, cell),
    }
}

/// Bind a cell as it is stored.
pub(super) fn bind_stored<'q>(q: Query<'q>, cell: Stored) -> Query<'q> {
    match cell {
        Stored::Int(i) => q.bind(i),
        Stored::Real(f) => q.bind(f),
        Stored::Text(t) => q.bind(t),
        Stored::Blob(b) => q.bind(b),
    }
}

/// Bind a key: as the table stores it when `stored` says so, else as hubsync spells it.
pub(super) fn bind_key<'q>(mut q: Query<'q>, key: &[Value], stored: Option<&Vec<Stored>>) -> Query<'q> {
    match stored {
        Some(cells) => {
            for c in cells {
                q = bind_stored(q, c.clone());
            }
        }
        None => {
            for v in key {
                q = bind(q, v);
            }
        }
    }
    q
}

/// A cell as SQLite stored it (`None` for NULL or an unreadable cell).
pub(super) fn stored_cell(r: &SqliteRow, i: usize) -> Option<Stored> {
    let v = r.try_get_raw(i).ok()?;
    if v.is_null() {
        return None;
    }
    Some(match v.type_info().name() {
        "INTEGER" => Stored::Int(r.try_get_unchecked(i).ok()?),
        "REAL" => Stored::Real(r.try_get_unchecked(i).ok()?),
        "BLOB" => Stored::Blob(r.try_get_unchecked(i).ok()?),
        _ => Stored::Text(r.try_get_unchecked(i).ok()?),
    })
}

/// A cell as text, whatever SQLite stored in it, for reports.
pub(super) fn raw(r: &SqliteRow, i: usize) -> Option<String> {
    if r.try_get_raw(i).ok()?.is_null() {
        return Some("NULL".into());
    }
    Some(match stored_cell(r, i)? {
        Stored::Int(n) => n.to_string(),
        Stored::Real(f) => f.to_string(),
        Stored::Blob(b) => format!("x'{}'", text::format_hex(&b)),
        Stored::Text(t) => t,
    })
}

/// Decode a cell by its column's type, accepting SQLite's dynamic storage.
pub(super) fn decode(t: &TableRef, c: &Column, r: &SqliteRow, i: usize) -> Result<Value, ConnectorError> {
    let raw = r.try_get_raw(i).map_err(db("reading a value"))?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let storage = raw.type_info().name().to_owned();
    let bad = |reason: String| ConnectorError::BadValue { table: t.clone(), column: c.name.clone(), reason };
    let get_text = || r.try_get_unchecked::<String, _>(i).map_err(|e| bad(e.to_string()));
    let v = match (c.kind, storage.as_str()) {
        (ColumnType::Int, "INTEGER") => Value::Int(r.try_get_unchecked(i).map_err(|e| bad(e.to_string()))?),
        (ColumnType::Bool, "INTEGER") => {
            Value::Bool(r.try_get_unchecked::<i64, _>(i).map_err(|e| bad(e.to_string()))? != 0)
        }
        (ColumnType::Float, "REAL" | "INTEGER") => {
            Value::Float(r.try_get_unchecked(i).map_err(|e| bad(e.to_string()))?)
        }
        (ColumnType::Decimal, "INTEGER") => {
            Value::Decimal(r.try_get_unchecked::<i64, _>(i).map_err(|e| bad(e.to_string()))?.to_string())
        }
        (ColumnType::Decimal, "REAL") => {
            // NUMERIC affinity stored the application's decimal as a double:
            // its shortest exact digits, written out without an exponent.
            let f: f64 = r.try_get_unchecked(i).map_err(|e| bad(e.to_string()))?;
            if !f.is_finite() {
                return Err(bad(format!("{f} is not a decimal")));
            }
            Value::Decimal(format!("{f}"))
        }
        (ColumnType::Bytes, "BLOB") => Value::Bytes(r.try_get_unchecked(i).map_err(|e| bad(e.to_string()))?),
        (ColumnType::Uuid, "BLOB") => {
            let b: Vec<u8> = r.try_get_unchecked(i).map_err(|e| bad(e.to_string()))?;
            let arr: [u8; 16] = b.try_into().map_err(|_| bad("a UUID blob must have 16 bytes".into()))?;
            Value::Uuid(u128::from_be_bytes(arr))
        }
        (kind, "TEXT") => Value::parse_text(&get_text()?, kind).map_err(bad)?,
        (kind, other) => return Err(bad(format!("a {other} value in a {kind} column"))),
    };
    Ok(v)
}
