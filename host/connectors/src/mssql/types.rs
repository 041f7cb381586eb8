//! SQL Server's column types: what hubsync makes of them, how values travel
//! in (JSON text) and out (tiberius's typed cells), and the types of tables
//! hubsync creates.

use hubsync_core::{Column, ColumnType, ConnectorError, TableRef, TypeFacets, Value, text};
use tiberius::ColumnData;

use super::tsql::ColSql;
use crate::sql::{Spelling, sized};

/// Days from 0001-01-01 (TDS dates) to 1970-01-01.
const EPOCH_DAYS: i64 = 719_162;

/// The collation hubsync gives text key columns it creates: binary, so keys
/// compare exactly (SQL Server's default collations ignore case).
pub(crate) const KEY_COLLATION: &str = "Latin1_General_100_BIN2";

/// A column as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DbCol {
    /// Its name.
    pub(crate) name: String,
    /// The declared type's name (an alias type's own name).
    pub(crate) declared: String,
    /// The system type underneath, lower-case.
    pub(crate) base: String,
    /// Bytes (`-1` = `max`).
    pub(crate) max_length: i32,
    /// Digits of a decimal.
    pub(crate) precision: i32,
    /// Digits after the point; fractional-second digits.
    pub(crate) scale: i32,
    /// Whether NULL is allowed.
    pub(crate) nullable: bool,
    /// An IDENTITY column.
    pub(crate) identity: bool,
    /// A computed column.
    pub(crate) computed: bool,
    /// Its collation, for text.
    pub(crate) collation: Option<String>,
    /// hubsync's tag on the column (extended property `hubsync`): `json`
    /// marks a JSON column hubsync created as `nvarchar(max)`.
    pub(crate) tag: Option<String>,
}

impl DbCol {
    /// The type as it would be declared, e.g. `nvarchar(20)`, `decimal(12,2)`.
    pub(crate) fn type_text(&self) -> String {
        let len = |n: i32| if n < 0 { "max".to_owned() } else { n.to_string() };
        match self.base.as_str() {
            "varchar" | "char" | "varbinary" | "binary" => format!("{}({})", self.base, len(self.max_length)),
            "nvarchar" | "nchar" => {
                format!("{}({})", self.base, if self.max_length < 0 { len(-1) } else { len(self.max_length / 2) })
            }
            "decimal" | "numeric" => format!("{}({},{})", self.base, self.precision, self.scale),
            "datetime2" | "time" | "datetimeoffset" => format!("{}({})", self.base, self.scale),
            other => other.to_owned(),
        }
    }

    /// hubsync's kind for this column, or `None` when it cannot be synced.
    pub(crate) fn kind(&self) -> Option<ColumnType> {
        if self.computed {
            return None;
        }
        Some(match self.base.as_str() {
            "bit" => ColumnType::Bool,
            "tinyint" | "smallint" | "int" | "bigint" => ColumnType::Int,
            "decimal" | "numeric" | "money" | "smallmoney" => ColumnType::Decimal,
            "float" | "real" => ColumnType::Float,
            "nvarchar" if self.tag.as_deref() == Some("json") => ColumnType::Json,
            "char" | "varchar" | "text" | "nchar" | "nvarchar" | "ntext" | "sysname" | "xml" => ColumnType::Text,
            "binary" | "varbinary" | "image" => ColumnType::Bytes,
            "date" => ColumnType::Date,
            "time" => ColumnType::Time,
            "datetime2" | "datetime" | "smalldatetime" => ColumnType::Timestamp,
            "datetimeoffset" => ColumnType::TimestampTz,
            "uniqueidentifier" => ColumnType::Uuid,
            _ => return None,
        })
    }

    /// Why the column cannot be synced, for the report.
    pub(crate) fn unsupported_type(&self) -> String {
        if self.computed { format!("{} (computed column)", self.type_text()) } else { self.declared.clone() }
    }

    /// Length, precision and scale in hubsync's terms.
    pub(crate) fn facets(&self, kind: ColumnType) -> TypeFacets {
        let mut f = TypeFacets::default();
        let chars = |n: i32, wide: bool| (n >= 0).then_some(if wide { n / 2 } else { n } as u32);
        match (kind, self.base.as_str()) {
            (ColumnType::Text, "char" | "varchar") => f.length = chars(self.max_length, false),
            (ColumnType::Text, "nchar" | "nvarchar") => f.length = chars(self.max_length, true),
            (ColumnType::Text, "sysname") => f.length = Some(128),
            (ColumnType::Bytes, "binary" | "varbinary") => f.length = chars(self.max_length, false),
            (ColumnType::Decimal, "money") => (f.precision, f.scale) = (Some(19), Some(4)),
            (ColumnType::Decimal, "smallmoney") => (f.precision, f.scale) = (Some(10), Some(4)),
            (ColumnType::Decimal, _) => (f.precision, f.scale) = (Some(self.precision as u32), Some(self.scale as u32)),
            (ColumnType::Int, "tinyint" | "smallint") => f.precision = Some(16),
            (ColumnType::Int, "int") => f.precision = Some(32),
            (ColumnType::Timestamp, "datetime") => f.precision = Some(3),
            (ColumnType::Timestamp, "smalldatetime") => f.precision = Some(0),
            (ColumnType::Time | ColumnType::Timestamp | ColumnType::TimestampTz, _) => {
                f.precision = Some((self.scale as u32).min(6))
            }
            _ => {}
        }
        f.fixed = matches!(self.base.as_str(), "char" | "nchar" | "binary");
        f
    }

    /// The collation when it makes different strings equal (case or accent
    /// insensitive): such a key column cannot be synced exactly.
    pub(crate) fn folding(&self) -> Option<String> {
        let c = self.collation.as_ref()?;
        let l = c.to_ascii_lowercase();
        let folds = l.split('_').any(|p| p == "ci" || p == "ai");
        folds.then(|| c.clone())
    }

    /// The hubsync column.
    pub(crate) fn column(&self, kind: ColumnType) -> Column {
        Column {
            name: self.name.clone(),
            kind,
            nullable: self.nullable,
            facets: self.facets(kind),
            declared_type: Some(self.type_text()),
            folding: if kind == ColumnType::Text { self.folding() } else { None },
        }
    }

    /// Whether this is a text column (its values travel as text).
    pub(crate) fn is_text(&self) -> bool {
        matches!(self.base.as_str(), "char" | "varchar" | "text" | "nchar" | "nvarchar" | "ntext" | "sysname" | "xml")
    }

    /// How statements carry this column.
    pub(crate) fn sql(&self) -> ColSql {
        let b = self.base.as_str();
        let with = match b {
            "bit" => "bit".to_owned(),
            "tinyint" | "smallint" | "int" | "bigint" => "bigint".to_owned(),
            "decimal" | "numeric" => format!("decimal(38,{})", self.scale),
            "money" | "smallmoney" => "decimal(38,4)".to_owned(),
            "float" | "real" => "float".to_owned(),
            "char" | "varchar" | "text" => "varchar(max)".to_owned(),
            "date" | "uniqueidentifier" => b.to_owned(),
            "time" => "time(7)".to_owned(),
            "datetime2" | "datetime" | "smalldatetime" => "datetime2(7)".to_owned(),
            "datetimeoffset" => "datetimeoffset(7)".to_owned(),
            _ => "nvarchar(max)".to_owned(),
        };
        let read_as = match b {
            "money" => Some("decimal(19,4)"),
            "smallmoney" => Some("decimal(10,4)"),
            "datetime" => Some("datetime2(3)"),
            "smalldatetime" => Some("datetime2(0)"),
            "text" => Some("varchar(max)"),
            "ntext" | "xml" => Some("nvarchar(max)"),
            "image" => Some("varbinary(max)"),
            _ => None,
        };
        let db_type = match &self.collation {
            Some(c) => format!("{} COLLATE {c}", self.type_text()),
            None => self.type_text(),
        };
        ColSql {
            name: self.name.clone(),
            db_type,
            with,
            binary: matches!(b, "binary" | "varbinary" | "image"),
            text: self.is_text(),
            read_as: read_as.map(str::to_owned),
            identity: self.identity,
            collation: self.collation.clone(),
        }
    }
}

/// The type of `c` in a table hubsync creates, from its kind and facets.
/// `key_share` is the bytes a text or binary key column may take of SQL
/// Server's 900-byte key.
pub(crate) fn create_type(c: &Column, key_share: Option<u32>) -> String {
    let (kind, f) = match Spelling::of(c) {
        Spelling::Declared(d) => return d.to_owned(),
        Spelling::Kind(kind, f) => (kind, f),
    };
    match kind {
        ColumnType::Bool => "bit".into(),
        ColumnType::Int => match f.precision {
            Some(16) => "smallint".into(),
            Some(32) => "int".into(),
            _ => "bigint".into(),
        },
        ColumnType::Float => "float".into(),
        ColumnType::Decimal => match (f.precision, f.scale) {
            (Some(p), s) if p <= 38 => format!("decimal({p},{})", s.unwrap_or(0).min(p)),
            _ => "decimal(38,10)".into(),
        },
        // nvarchar(n) holds n UTF-16 code units: a character outside the
        // Basic Multilingual Plane (an emoji) takes two, so n characters
        // need 2n.
        ColumnType::Text => match (key_share, f.length) {
            (Some(share), n) => {
                let n = n.map_or(u32::MAX, |n| n.saturating_mul(2)).min(share / 2).max(1);
                format!("nvarchar({n}) COLLATE {KEY_COLLATION}")
            }
            (None, Some(n)) if n <= 2000 => sized("nvarchar", Some(2 * n)),
            _ => "nvarchar(max)".into(),
        },
        ColumnType::Bytes => match (key_share, f.length) {
            (Some(share), n) => format!("varbinary({})", n.unwrap_or(u32::MAX).min(share).max(1)),
            (None, Some(n)) if n <= 8000 => sized("varbinary", Some(n)),
            _ => "varbinary(max)".into(),
        },
        ColumnType::Date => "date".into(),
        ColumnType::Time => format!("time({})", f.precision.unwrap_or(6).min(7)),
        ColumnType::Timestamp => format!("datetime2({})", f.precision.unwrap_or(6).min(7)),
        ColumnType::TimestampTz => format!("datetimeoffset({})", f.precision.unwrap_or(6).min(7)),
        ColumnType::Uuid => "uniqueidentifier".into(),
        ColumnType::Json => "nvarchar(max)".into(),
    }
}

/// A value as the JSON text an `OPENJSON … WITH` clause of `col` reads.
/// With `hex_text`, text goes as the hex of its UTF-8 (see `Flavor::hex_text`).
pub(crate) fn encode(
    t: &TableRef,
    col: &DbCol,
    v: &Value,
    hex_text: bool,
) -> Result<serde_json::Value, ConnectorError> {
    let bad = |reason: String| ConnectorError::BadValue { table: t.clone(), column: col.name.clone(), reason };
    let s = match v {
        Value::Null => return Ok(serde_json::Value::Null),
        Value::Bool(b) => (if *b { "1" } else { "0" }).to_owned(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) if f.is_finite() => format!("{f:e}"),
        Value::Float(f) => return Err(bad(format!("{f} cannot be stored: SQL Server floats are finite"))),
        Value::Decimal(d) => {
            check_digits(col, d).map_err(bad)?;
            d.clone()
        }
        Value::Text(s) | Value::Json(s) if hex_text => text::format_hex(s.as_bytes()),
        Value::Text(s) | Value::Json(s) => s.clone(),
        Value::Bytes(b) => text::format_hex(b),
        Value::Date(d) => text::format_date(*d),
        Value::Time(us) => text::format_time(*us),
        Value::Timestamp(us) => text::format_timestamp(*us),
        Value::TimestampTz(us) => format!("{} +00:00", text::format_timestamp(*us)),
        Value::Uuid(u) => text::format_uuid(*u),
    };
    Ok(serde_json::Value::String(s))
}

/// A row as the typed cells of its staging table (see `tsql::Stage`).
pub(crate) fn staged_row(
    t: &TableRef,
    cols: &[&DbCol],
    stages: &[super::tsql::Stage],
    row: &[Value],
) -> Result<tiberius::TokenRow<'static>, ConnectorError> {
    use super::tsql::Stage;
    let mut out = tiberius::TokenRow::new();
    for ((c, stage), v) in cols.iter().zip(stages).zip(row) {
        let bad = |reason: String| ConnectorError::BadValue { table: t.clone(), column: c.name.clone(), reason };
        let cell = match (stage, v) {
            (Stage::Int, Value::Null) => ColumnData::I64(None),
            (Stage::Float, Value::Null) => ColumnData::F64(None),
            (Stage::Bit, Value::Null) => ColumnData::Bit(None),
            (Stage::Binary, Value::Null) => ColumnData::Binary(None),
            (Stage::Guid, Value::Null) => ColumnData::Guid(None),
            (Stage::Text | Stage::Literal, Value::Null) => ColumnData::String(None),
            (Stage::Int, Value::Int(i)) => ColumnData::I64(Some(*i)),
            (Stage::Bit, Value::Bool(b)) => ColumnData::Bit(Some(*b)),
            (Stage::Float, Value::Float(f)) if f.is_finite() => ColumnData::F64(Some(*f)),
            (Stage::Binary, Value::Bytes(b)) => ColumnData::Binary(Some(b.clone().into())),
            (Stage::Guid, Value::Uuid(u)) => ColumnData::Guid(Some(tiberius::Uuid::from_u128(*u))),
            (Stage::Text | Stage::Literal, v) => match encode(t, c, v, false)? {
                serde_json::Value::String(s) => ColumnData::String(Some(s.into())),
                _ => ColumnData::String(None),
            },
            (_, v) => match encode(t, c, v, false) {
                Err(e) => return Err(e),
                Ok(_) => return Err(bad(format!("{} does not fit a {} column", v.short(), c.type_text()))),
            },
        };
        out.push(cell);
    }
    Ok(out)
}

/// Refuse a decimal with more digits than the column holds: SQL Server
/// would round extra fraction digits silently.
fn check_digits(col: &DbCol, d: &str) -> Result<(), String> {
    let (p, s) = match col.base.as_str() {
        "decimal" | "numeric" => (col.precision, col.scale),
        "money" => (19, 4),
        "smallmoney" => (10, 4),
        _ => return Ok(()),
    };
    let digits = d.trim_start_matches(['-', '+']);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    if frac.len() as i32 > s || int.len() as i32 > p - s {
        return Err(format!(
            "{d} has more digits than {} holds ({} before the point, {s} after); widen the column",
            col.type_text(),
            p - s
        ));
    }
    Ok(())
}

/// A decimal's exact text.
fn numeric_text(n: tiberius::numeric::Numeric) -> String {
    let (v, scale) = (n.value(), n.scale() as usize);
    let digits = v.unsigned_abs().to_string();
    let sign = if v < 0 { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (i, f) = padded.split_at(padded.len() - scale);
    format!("{sign}{i}.{f}")
}

/// Microseconds of a TDS time; 100-ns digits are refused, not rounded.
fn micros(t: tiberius::time::Time) -> Result<i64, String> {
    let (inc, scale) = (t.increments() as i64, u32::from(t.scale()));
    if scale <= 6 {
        Ok(inc * 10i64.pow(6 - scale))
    } else {
        let div = 10i64.pow(scale - 6);
        if inc % div != 0 {
            return Err("the value has 100-nanosecond digits; hubsync carries microseconds \
                        (round it, or use datetime2(6)/time(6))"
                .into());
        }
        Ok(inc / div)
    }
}

fn datetime2(d: tiberius::time::DateTime2) -> Result<i64, String> {
    Ok((i64::from(d.date().days()) - EPOCH_DAYS) * 86_400_000_000 + micros(d.time())?)
}

/// A cell as the value of a column of `kind`.
pub(crate) fn decode(
    t: &TableRef,
    name: &str,
    kind: ColumnType,
    cell: &ColumnData<'_>,
) -> Result<Value, ConnectorError> {
    let bad = |reason: String| ConnectorError::BadValue { table: t.clone(), column: name.to_owned(), reason };
    macro_rules! some {
        ($v:expr) => {
            match $v {
                Some(v) => v,
                None => return Ok(Value::Null),
            }
        };
    }
    use ColumnData as C;
    Ok(match (kind, cell) {
        (ColumnType::Bool, C::Bit(b)) => Value::Bool(some!(*b)),
        (ColumnType::Int, C::U8(v)) => Value::Int(i64::from(some!(*v))),
        (ColumnType::Int, C::I16(v)) => Value::Int(i64::from(some!(*v))),
        (ColumnType::Int, C::I32(v)) => Value::Int(i64::from(some!(*v))),
        (ColumnType::Int, C::I64(v)) => Value::Int(some!(*v)),
        (ColumnType::Float, C::F64(v)) => Value::Float(some!(*v)),
        (ColumnType::Float, C::F32(v)) => Value::Float(f64::from(some!(*v))),
        (ColumnType::Decimal, C::Numeric(n)) => Value::Decimal(numeric_text(some!(*n))),
        (ColumnType::Text, C::String(s)) => Value::Text(some!(s.as_ref()).to_string()),
        (ColumnType::Json, C::String(s)) => Value::Json(some!(s.as_ref()).to_string()),
        (ColumnType::Bytes, C::Binary(b)) => Value::Bytes(some!(b.as_ref()).to_vec()),
        (ColumnType::Uuid, C::Guid(g)) => Value::Uuid(some!(*g).as_u128()),
        (ColumnType::Date, C::Date(d)) => {
            Value::Date(i32::try_from(i64::from(some!(*d).days()) - EPOCH_DAYS).map_err(|e| bad(e.to_string()))?)
        }
        (ColumnType::Time, C::Time(tm)) => Value::Time(micros(some!(*tm)).map_err(bad)?),
        (ColumnType::Timestamp, C::DateTime2(d)) => Value::Timestamp(datetime2(some!(*d)).map_err(bad)?),
        // The date and time of a datetimeoffset travel in UTC.
        (ColumnType::TimestampTz, C::DateTimeOffset(d)) => {
            Value::TimestampTz(datetime2(some!(*d).datetime2()).map_err(bad)?)
        }
        (ColumnType::TimestampTz, C::DateTime2(d)) => Value::TimestampTz(datetime2(some!(*d)).map_err(bad)?),
        (kind, other) => return Err(bad(format!("a {kind} column returned {other:?}"))),
    })
}

/// A cell as plain text (`None` for NULL), for clients.
pub(crate) fn text_of(cell: &ColumnData<'_>) -> Option<String> {
    use ColumnData as C;
    match cell {
        C::U8(v) => v.map(|v| v.to_string()),
        C::I16(v) => v.map(|v| v.to_string()),
        C::I32(v) => v.map(|v| v.to_string()),
        C::I64(v) => v.map(|v| v.to_string()),
        C::F32(v) => v.map(|v| v.to_string()),
        C::F64(v) => v.map(|v| v.to_string()),
        C::Bit(v) => v.map(|v| if v { "1" } else { "0" }.to_owned()),
        C::String(v) => v.as_ref().map(|s| s.to_string()),
        C::Numeric(v) => v.map(numeric_text),
        C::Guid(v) => v.map(|g| g.to_string()),
        C::Binary(v) => v.as_ref().map(|b| text::format_hex(b)),
        other => Some(format!("{other:?}")),
    }
}

/// A cell as text, for reports.
pub(crate) fn raw(cell: &ColumnData<'_>) -> String {
    format!("{cell:?}")
}

#[cfg(test)]
impl DbCol {
    /// A nullable column as the catalog would describe it, for tests.
    pub(crate) fn example(name: &str, base: &str, max_length: i32, precision: i32, scale: i32) -> DbCol {
        DbCol {
            name: name.into(),
            declared: base.into(),
            base: base.into(),
            max_length,
            precision,
            scale,
            nullable: true,
            identity: false,
            computed: false,
            collation: None,
            tag: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(base: &str, max_length: i32, precision: i32, scale: i32) -> DbCol {
        DbCol::example("c", base, max_length, precision, scale)
    }

    #[test]
    fn catalog_types_map_to_kinds_and_facets() {
        let nv = col("nvarchar", 40, 0, 0);
        assert_eq!(
            (nv.kind(), nv.type_text(), nv.facets(ColumnType::Text).length),
            (Some(ColumnType::Text), "nvarchar(20)".into(), Some(20))
        );
        assert_eq!(col("varbinary", -1, 0, 0).type_text(), "varbinary(max)");
        let m = col("money", 8, 19, 4);
        assert_eq!((m.facets(ColumnType::Decimal).precision, m.facets(ColumnType::Decimal).scale), (Some(19), Some(4)));
        assert_eq!(col("datetime2", 8, 27, 7).facets(ColumnType::Timestamp).precision, Some(6));
        for t in ["timestamp", "sql_variant", "hierarchyid", "geography", "geometry"] {
            assert_eq!(col(t, 8, 0, 0).kind(), None, "{t}");
        }
        let mut ci = col("varchar", 10, 0, 0);
        ci.collation = Some("SQL_Latin1_General_CP1_CI_AS".into());
        assert_eq!(ci.folding().as_deref(), Some("SQL_Latin1_General_CP1_CI_AS"));
        ci.collation = Some("Latin1_General_100_BIN2".into());
        assert_eq!(ci.folding(), None);
    }

    #[test]
    fn decimals_and_times_are_exact_or_refused() {
        use tiberius::numeric::Numeric;
        assert_eq!(numeric_text(Numeric::new_with_scale(-5, 2)), "-0.05");
        assert_eq!(numeric_text(Numeric::new_with_scale(12345, 0)), "12345");
        let d = col("decimal", 9, 5, 2);
        assert!(check_digits(&d, "123.45").is_ok() && check_digits(&d, "-123.4500").is_ok());
        assert!(check_digits(&d, "1.234").is_err() && check_digits(&d, "1234").is_err());
        assert_eq!(micros(tiberius::time::Time::new(1_234_560, 7)), Ok(123_456));
        assert!(micros(tiberius::time::Time::new(1_234_567, 7)).is_err());
        assert_eq!(micros(tiberius::time::Time::new(5, 3)), Ok(5_000));
    }
}
