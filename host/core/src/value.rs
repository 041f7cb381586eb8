//! SQL values as hubsync carries them, and exact casts between column types.

use std::fmt;

use crate::schema::ColumnType;
use crate::text;

/// One SQL value. The cases mirror `value` in the WIT contract one to one.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// Any integer up to 64 bits.
    Int(i64),
    /// A binary floating point number.
    Float(f64),
    /// An exact decimal in plain notation, e.g. `-1234.50`.
    Decimal(String),
    /// Character data.
    Text(String),
    /// Binary data.
    Bytes(Vec<u8>),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since midnight.
    Time(i64),
    /// Microseconds since 1970-01-01 00:00:00, no zone.
    Timestamp(i64),
    /// Microseconds since 1970-01-01 00:00:00 UTC.
    TimestampTz(i64),
    /// A UUID.
    Uuid(u128),
    /// A JSON document as text.
    Json(String),
}

/// A row: one value per column of the schema it travels with.
pub type Row = Vec<Value>;

/// A value that cannot be converted to the requested column type without loss.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot convert {value} to {to}: {reason}")]
pub struct CastError {
    /// The value, shortened for messages.
    pub value: String,
    /// The requested type.
    pub to: ColumnType,
    /// Why not.
    pub reason: String,
}

/// A decimal's text without trailing fractional zeros (`80.00` → `80`,
/// `-0.0` → `0`): the form in which equal decimals have equal text.
pub fn canonical_decimal(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('.') {
        return if s == "-0" { "0".into() } else { s.into() };
    }
    let t = s.trim_end_matches('0').trim_end_matches('.');
    if t == "-0" || t.is_empty() { "0".into() } else { t.into() }
}

/// Whether two row states are the same data: decimals are compared by
/// value, not by scale (engines keep `80`, `80.0` and `80.00` differently).
pub fn same_row(a: Option<&[Value]>, b: Option<&[Value]>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y)),
        _ => false,
    }
}

impl Value {
    /// Bytes this value takes in memory: the value itself and the text or
    /// bytes it owns. Batches and pages are sized with it.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Value>()
            + match self {
                Value::Text(s) | Value::Decimal(s) | Value::Json(s) => s.len(),
                Value::Bytes(b) => b.len(),
                _ => 0,
            }
    }

    /// Equality as sync sees it: decimals by value, JSON as documents
    /// (engines normalise spacing and key order: PostgreSQL's `jsonb`,
    /// MySQL's `JSON`), everything else exactly.
    pub fn same(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Decimal(a), Value::Decimal(b)) => canonical_decimal(a) == canonical_decimal(b),
            (Value::Json(a), Value::Json(b)) => {
                a == b
                    || matches!((serde_json::from_str::<serde_json::Value>(a), serde_json::from_str::<serde_json::Value>(b)),
                        (Ok(a), Ok(b)) if a == b)
            }
            (a, b) => a == b,
        }
    }

    /// This value with decimals in [`canonical_decimal`] form.
    pub fn canonical(&self) -> std::borrow::Cow<'_, Value> {
        match self {
            Value::Decimal(d) => std::borrow::Cow::Owned(Value::Decimal(canonical_decimal(d).into_owned())),
            other => std::borrow::Cow::Borrowed(other),
        }
    }

    /// The column type whose values take this case, or `None` for NULL.
    pub fn column_type(&self) -> Option<ColumnType> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => ColumnType::Bool,
            Value::Int(_) => ColumnType::Int,
            Value::Float(_) => ColumnType::Float,
            Value::Decimal(_) => ColumnType::Decimal,
            Value::Text(_) => ColumnType::Text,
            Value::Bytes(_) => ColumnType::Bytes,
            Value::Date(_) => ColumnType::Date,
            Value::Time(_) => ColumnType::Time,
            Value::Timestamp(_) => ColumnType::Timestamp,
            Value::TimestampTz(_) => ColumnType::TimestampTz,
            Value::Uuid(_) => ColumnType::Uuid,
            Value::Json(_) => ColumnType::Json,
        })
    }

    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The canonical text form: what a cast to `text` yields.
    pub fn to_text(&self) -> Option<String> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => text::format_float(*f),
            Value::Decimal(s) | Value::Text(s) | Value::Json(s) => s.clone(),
            Value::Bytes(b) => text::format_hex(b),
            Value::Date(d) => text::format_date(*d),
            Value::Time(t) => text::format_time(*t),
            Value::Timestamp(t) => text::format_timestamp(*t),
            Value::TimestampTz(t) => text::format_timestamptz(*t),
            Value::Uuid(u) => text::format_uuid(*u),
        })
    }

    /// Convert to a value of column type `to`, exactly: a cast that would lose
    /// information (a fraction, precision, a time of day) is an error, so a
    /// value cast there and back is always the value it was.
    pub fn cast(self, to: ColumnType) -> Result<Value, CastError> {
        use ColumnType as T;
        let Some(from) = self.column_type() else {
            return Ok(Value::Null);
        };
        if from == to {
            return Ok(self);
        }
        let fail = |v: &Value, reason: &str| CastError { value: v.short(), to, reason: reason.to_owned() };
        let out = match (&self, to) {
            (_, T::Text) => Value::Text(self.to_text().unwrap_or_default()),
            (Value::Text(s), _) => Value::parse_text(s, to).map_err(|r| fail(&self, &r))?,
            (Value::Bool(b), T::Int) => Value::Int(i64::from(*b)),
            (Value::Int(i), T::Bool) => match i {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                _ => return Err(fail(&self, "only 0 and 1 are booleans")),
            },
            (Value::Int(i), T::Float) => {
                let f = *i as f64;
                if f as i64 != *i || i.unsigned_abs() > (1u64 << 53) {
                    return Err(fail(&self, "a float cannot hold this integer exactly"));
                }
                Value::Float(f)
            }
            (Value::Int(i), T::Decimal) => Value::Decimal(i.to_string()),
            (Value::Float(f), T::Int) => {
                if f.fract() != 0.0 || !f.is_finite() || f.abs() > 9.007_199_254_740_992e15 {
                    return Err(fail(&self, "not an integer that fits exactly"));
                }
                Value::Int(*f as i64)
            }
            (Value::Float(f), T::Decimal) => {
                if !f.is_finite() {
                    return Err(fail(&self, "decimals have no infinity or NaN"));
                }
                Value::Decimal(text::format_float(*f))
            }
            (Value::Decimal(s), T::Int) => {
                let n = text::parse_decimal(s).ok_or_else(|| fail(&self, "not a decimal"))?;
                let trimmed = n.trim_end_matches('0').trim_end_matches('.');
                let int_part = if n.contains('.') { trimmed } else { n.as_str() };
                if int_part.contains('.') {
                    return Err(fail(&self, "it has a fraction"));
                }
                Value::Int(int_part.parse().map_err(|_| fail(&self, "out of 64-bit range"))?)
            }
            (Value::Decimal(s), T::Float) => {
                let f: f64 = s.parse().map_err(|_| fail(&self, "not a decimal"))?;
                if text::parse_decimal(&text::format_float(f)) != text::parse_decimal(s) {
                    return Err(fail(&self, "a float cannot hold this decimal exactly"));
                }
                Value::Float(f)
            }
            (Value::Date(d), T::Timestamp) => Value::Timestamp(i64::from(*d) * text::MICROS_PER_DAY),
            (Value::Date(d), T::TimestampTz) => Value::TimestampTz(i64::from(*d) * text::MICROS_PER_DAY),
            (Value::Timestamp(t) | Value::TimestampTz(t), T::Date) => {
                if t.rem_euclid(text::MICROS_PER_DAY) != 0 {
                    return Err(fail(&self, "it has a time of day"));
                }
                Value::Date(i32::try_from(t.div_euclid(text::MICROS_PER_DAY)).map_err(|_| fail(&self, "out of range"))?)
            }
            (Value::Timestamp(t), T::TimestampTz) => Value::TimestampTz(*t),
            (Value::TimestampTz(t), T::Timestamp) => Value::Timestamp(*t),
            _ => return Err(fail(&self, &format!("no cast from {from} to {to}"))),
        };
        Ok(out)
    }

    /// Parse the text form of a value of type `kind` (the forms [`Value::to_text`] writes,
    /// plus ISO 8601 variants such as a `T` separator or a `Z` zone).
    pub fn parse_text(s: &str, kind: ColumnType) -> Result<Value, String> {
        use ColumnType as T;
        let bad = |what: &str| format!("{s:?} is not {what}");
        Ok(match kind {
            T::Text => Value::Text(s.to_owned()),
            T::Json => Value::Json(s.to_owned()),
            T::Bool => match s.to_ascii_lowercase().as_str() {
                "true" | "t" | "1" => Value::Bool(true),
                "false" | "f" | "0" => Value::Bool(false),
                _ => return Err(bad("a boolean")),
            },
            T::Int => Value::Int(s.trim().parse().map_err(|_| bad("a 64-bit integer"))?),
            T::Float => Value::Float(s.trim().parse().map_err(|_| bad("a number"))?),
            T::Decimal => Value::Decimal(text::parse_decimal(s).ok_or_else(|| bad("a decimal"))?),
            T::Bytes => Value::Bytes(text::parse_hex(s).ok_or_else(|| bad("hex bytes"))?),
            T::Date => Value::Date(text::parse_date(s).ok_or_else(|| bad("a date (YYYY-MM-DD)"))?),
            T::Time => Value::Time(text::parse_time(s).ok_or_else(|| bad("a time (HH:MM:SS[.ffffff])"))?),
            T::Timestamp => Value::Timestamp(
                text::parse_timestamp(s).ok_or_else(|| bad("a timestamp (YYYY-MM-DD HH:MM:SS[.ffffff])"))?,
            ),
            T::TimestampTz => Value::TimestampTz(
                text::parse_timestamptz(s)
                    .ok_or_else(|| bad("a timestamp with zone (YYYY-MM-DD HH:MM:SS[.ffffff]+HH:MM)"))?,
            ),
            T::Uuid => Value::Uuid(text::parse_uuid(s).ok_or_else(|| bad("a UUID"))?),
        })
    }

    /// A short rendering for error messages (long text is cut).
    pub fn short(&self) -> String {
        let mut s = self.to_string();
        if s.len() > 60 {
            let mut cut = 57;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            s.push_str("...");
        }
        s
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Text(s) | Value::Json(s) => write!(f, "{s:?}"),
            other => f.write_str(&other.to_text().unwrap_or_default()),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ColumnType as T;

    #[test]
    fn casts_round_trip_or_refuse() {
        let cases = [
            (Value::Int(42), T::Text),
            (Value::Int(-7), T::Decimal),
            (Value::Int(1 << 52), T::Float),
            (Value::Decimal("12.50".into()), T::Text),
            (Value::Timestamp(1_700_000_000_123_456), T::Text),
            (Value::TimestampTz(-1), T::Text),
            (Value::Date(-3), T::Timestamp),
            (Value::Uuid(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef), T::Text),
            (Value::Bytes(vec![0, 255, 16]), T::Text),
            (Value::Time(86_399_999_999), T::Text),
            (Value::Bool(true), T::Int),
            (Value::Float(0.1), T::Text),
        ];
        for (v, to) in cases {
            let from = v.column_type().expect("not null");
            let there = v.clone().cast(to).expect("cast there");
            let back = there.cast(from).expect("cast back");
            assert_eq!(back, v, "{v:?} via {to}");
        }
        assert!(Value::Int(i64::MAX).cast(T::Float).is_err());
        assert!(Value::Decimal("1.5".into()).cast(T::Int).is_err());
        assert_eq!(Value::Decimal("15.000".into()).cast(T::Int), Ok(Value::Int(15)));
        assert!(Value::Timestamp(5).cast(T::Date).is_err());
        assert!(Value::Text("abc".into()).cast(T::Int).is_err());
        assert!(Value::Uuid(1).cast(T::Int).is_err());
        assert_eq!(Value::Null.cast(T::Int), Ok(Value::Null));
    }

    #[test]
    fn can_cast_to_agrees_with_cast() {
        let samples = [
            Value::Bool(true),
            Value::Int(1),
            Value::Float(1.0),
            Value::Decimal("1".into()),
            Value::Text("1".into()),
            Value::Bytes(vec![1]),
            Value::Date(0),
            Value::Time(0),
            Value::Timestamp(0),
            Value::TimestampTz(0),
            Value::Uuid(1),
            Value::Json("1".into()),
        ];
        for v in samples {
            let from = v.column_type().expect("not null");
            for to in ColumnType::ALL {
                let result = v.clone().cast(to);
                let refused = matches!(&result, Err(e) if e.reason.starts_with("no cast"));
                if from != T::Text {
                    assert_eq!(from.can_cast_to(to), !refused, "{from} -> {to}: {result:?}");
                }
            }
        }
    }

    #[test]
    fn json_compares_as_documents() {
        let a = Value::Json(r#"{"b": [1, 2], "a": null}"#.into());
        assert!(a.same(&Value::Json(r#"{"a":null,"b":[1,2]}"#.into())), "spacing and key order");
        assert!(!a.same(&Value::Json(r#"{"a":null,"b":[2,1]}"#.into())), "array order counts");
        assert!(!a.same(&Value::Text(r#"{"a":null,"b":[1,2]}"#.into())), "text is not JSON");
        assert!(Value::Json("not json".into()).same(&Value::Json("not json".into())));
    }

    #[test]
    fn decimals_compare_by_value_not_scale() {
        assert_eq!(canonical_decimal("80.00"), "80");
        assert_eq!(canonical_decimal("80"), "80");
        assert_eq!(canonical_decimal("-0.000"), "0");
        assert_eq!(canonical_decimal("100"), "100");
        assert_eq!(canonical_decimal("0.50"), "0.5");
        let a = [Value::Int(1), Value::Decimal("80.0".into())];
        let b = [Value::Int(1), Value::Decimal("80".into())];
        assert!(same_row(Some(&a), Some(&b)));
        assert!(!same_row(Some(&a), Some(&[Value::Int(1), Value::Decimal("8".into())])));
        assert!(!same_row(Some(&a), None));
        assert!(same_row(None, None));
    }
}
