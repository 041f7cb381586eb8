//! The compact binary encoding of the protocol: varints, length-prefixed
//! bytes, one tag byte per enum case. Rows travel as tagged values, so a
//! batch of a thousand narrow rows is a few tens of kilobytes, not a JSON
//! document several times that size. Table schemas, which travel once per
//! call and are small, are JSON (they already have a serde form).

use hubsync_core::{
    Anchor, ApplyOp, BadRow, CapturedChange, ChangeBatch, ChangeMark, ConnectorError, EngineKind, ForeignKey,
    IndexInfo, KeyState, TableInfo, TableRef, TableSchema, UnsupportedColumn, Value,
};

use crate::ProtocolError;

/// Bytes being written.
#[derive(Debug, Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    /// One byte.
    pub fn u8(&mut self, b: u8) {
        self.0.push(b);
    }

    /// An unsigned integer, 7 bits per byte.
    pub fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    /// A signed integer, zigzag-encoded so small negatives stay short.
    pub fn signed(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }

    /// Bytes with their length.
    pub fn bytes(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
}

/// Bytes being read.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader of `buf` from its start.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Whether every byte was read.
    pub fn is_done(&self) -> bool {
        self.pos == self.buf.len()
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, ProtocolError> {
        let b = *self.buf.get(self.pos).ok_or_else(|| short("a byte"))?;
        self.pos += 1;
        Ok(b)
    }

    /// An unsigned varint.
    pub fn varint(&mut self) -> Result<u64, ProtocolError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(ProtocolError::Malformed("a varint longer than 64 bits".into()))
    }

    /// A zigzag varint.
    pub fn signed(&mut self) -> Result<i64, ProtocolError> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// A length that cannot exceed what is left to read (a corrupt or
    /// hostile frame cannot make the reader allocate more than its size).
    pub fn count(&mut self) -> Result<usize, ProtocolError> {
        let n = self.varint()?;
        if n > self.remaining() as u64 {
            return Err(short("a length"));
        }
        Ok(n as usize)
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self) -> Result<&'a [u8], ProtocolError> {
        let n = self.count()?;
        let b = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], ProtocolError> {
        let b = self.buf.get(self.pos..self.pos + N).ok_or_else(|| short("a fixed-size value"))?;
        self.pos += N;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }
}

fn short(what: &str) -> ProtocolError {
    ProtocolError::Malformed(format!("the frame ends inside {what}"))
}

fn bad_tag(what: &str, tag: u8) -> ProtocolError {
    ProtocolError::Malformed(format!("unknown {what} tag {tag}"))
}

/// A type with a wire form.
pub trait Wire: Sized {
    /// Append the wire form.
    fn put(&self, w: &mut Writer);
    /// Read one back.
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError>;
}

impl Wire for bool {
    fn put(&self, w: &mut Writer) {
        w.u8(u8::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        Ok(r.u8()? != 0)
    }
}

impl Wire for u64 {
    fn put(&self, w: &mut Writer) {
        w.varint(*self);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        r.varint()
    }
}

impl Wire for i64 {
    fn put(&self, w: &mut Writer) {
        w.signed(*self);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        r.signed()
    }
}

impl Wire for usize {
    fn put(&self, w: &mut Writer) {
        w.varint(*self as u64);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        usize::try_from(r.varint()?).map_err(|_| ProtocolError::Malformed("a count too large".into()))
    }
}

impl Wire for String {
    fn put(&self, w: &mut Writer) {
        w.bytes(self.as_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        let b = r.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| ProtocolError::Malformed("text that is not UTF-8".into()))
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn put(&self, w: &mut Writer) {
        w.varint(self.len() as u64);
        for x in self {
            x.put(w);
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        // Every element takes at least one byte, so `len` bounds the count.
        let n = r.count()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(T::get(r)?);
        }
        Ok(out)
    }
}

impl<T: Wire> Wire for Option<T> {
    fn put(&self, w: &mut Writer) {
        match self {
            None => w.u8(0),
            Some(x) => {
                w.u8(1);
                x.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        match r.u8()? {
            0 => Ok(None),
            1 => Ok(Some(T::get(r)?)),
            t => Err(bad_tag("option", t)),
        }
    }
}

impl Wire for Value {
    fn put(&self, w: &mut Writer) {
        match self {
            Value::Null => w.u8(0),
            Value::Bool(b) => w.u8(if *b { 2 } else { 1 }),
            Value::Int(i) => {
                w.u8(3);
                w.signed(*i);
            }
            Value::Float(f) => {
                w.u8(4);
                w.0.extend_from_slice(&f.to_bits().to_le_bytes());
            }
            Value::Decimal(s) => {
                w.u8(5);
                w.bytes(s.as_bytes());
            }
            Value::Text(s) => {
                w.u8(6);
                w.bytes(s.as_bytes());
            }
            Value::Bytes(b) => {
                w.u8(7);
                w.bytes(b);
            }
            Value::Date(d) => {
                w.u8(8);
                w.signed(i64::from(*d));
            }
            Value::Time(t) => {
                w.u8(9);
                w.signed(*t);
            }
            Value::Timestamp(t) => {
                w.u8(10);
                w.signed(*t);
            }
            Value::TimestampTz(t) => {
                w.u8(11);
                w.signed(*t);
            }
            Value::Uuid(u) => {
                w.u8(12);
                w.0.extend_from_slice(&u.to_le_bytes());
            }
            Value::Json(s) => {
                w.u8(13);
                w.bytes(s.as_bytes());
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        Ok(match r.u8()? {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => Value::Int(r.signed()?),
            4 => Value::Float(f64::from_bits(u64::from_le_bytes(r.fixed()?))),
            5 => Value::Decimal(String::get(r)?),
            6 => Value::Text(String::get(r)?),
            7 => Value::Bytes(r.bytes()?.to_vec()),
            8 => Value::Date(
                i32::try_from(r.signed()?).map_err(|_| ProtocolError::Malformed("a date out of range".into()))?,
            ),
            9 => Value::Time(r.signed()?),
            10 => Value::Timestamp(r.signed()?),
            11 => Value::TimestampTz(r.signed()?),
            12 => Value::Uuid(u128::from_le_bytes(r.fixed()?)),
            13 => Value::Json(String::get(r)?),
            t => return Err(bad_tag("value", t)),
        })
    }
}

impl Wire for EngineKind {
    fn put(&self, w: &mut Writer) {
        w.u8(match self {
            EngineKind::Sqlite => 0,
            EngineKind::Postgres => 1,
            EngineKind::Mysql => 2,
            EngineKind::Mssql => 3,
        });
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        Ok(match r.u8()? {
            0 => EngineKind::Sqlite,
            1 => EngineKind::Postgres,
            2 => EngineKind::Mysql,
            3 => EngineKind::Mssql,
            t => return Err(bad_tag("engine", t)),
        })
    }
}

impl Wire for TableSchema {
    fn put(&self, w: &mut Writer) {
        // Serializing plain data with derived impls cannot fail.
        w.bytes(&serde_json::to_vec(self).unwrap_or_default());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        serde_json::from_slice(r.bytes()?).map_err(|e| ProtocolError::Malformed(format!("a table schema: {e}")))
    }
}

/// `Wire` for a struct, field by field in declaration order.
macro_rules! wire_struct {
    ($t:ident { $($f:ident),* $(,)? }) => {
        impl Wire for $t {
            fn put(&self, w: &mut Writer) {
                $(self.$f.put(w);)*
            }
            fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
                Ok($t { $($f: Wire::get(r)?),* })
            }
        }
    };
}

wire_struct!(TableRef { namespace, name });
wire_struct!(IndexInfo { name, columns, unique });
wire_struct!(UnsupportedColumn { column, declared_type });
wire_struct!(ForeignKey { name, columns, references });
wire_struct!(TableInfo { schema, indexes, unsupported, foreign_keys });
wire_struct!(CapturedChange { key, row, changed_at_micros, origin });
wire_struct!(BadRow { key, column, value, error });
wire_struct!(ChangeBatch { changes, unreadable, next, more, pending });
wire_struct!(ChangeMark { origin, changed_at_micros });
wire_struct!(KeyState { key, row, change, unreadable });

impl Wire for Anchor {
    fn put(&self, w: &mut Writer) {
        self.0.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        Ok(Anchor(String::get(r)?))
    }
}

impl Wire for ApplyOp {
    fn put(&self, w: &mut Writer) {
        match self {
            ApplyOp::Upsert(row) => {
                w.u8(0);
                row.put(w);
            }
            ApplyOp::Delete(key) => {
                w.u8(1);
                key.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        match r.u8()? {
            0 => Ok(ApplyOp::Upsert(Wire::get(r)?)),
            1 => Ok(ApplyOp::Delete(Wire::get(r)?)),
            t => Err(bad_tag("apply op", t)),
        }
    }
}

/// Connector errors keep their case across the wire: the engine treats a
/// rejected row (quarantine), a lock conflict (retry) and a lost connection
/// differently, and must do the same for a member behind an agent.
impl Wire for ConnectorError {
    fn put(&self, w: &mut Writer) {
        match self {
            // Travels as a message: the engine treats both alike, and agents
            // of before it read it.
            ConnectorError::BadUrl(m) | ConnectorError::Invalid(m) => {
                w.u8(0);
                m.put(w);
            }
            ConnectorError::NotCompiledIn(e, f) => {
                // The feature name is static on the agent: send it as the message.
                w.u8(1);
                e.put(w);
                f.to_string().put(w);
            }
            ConnectorError::Connect { url, cause } => {
                w.u8(2);
                url.put(w);
                cause.put(w);
            }
            ConnectorError::Refused { table, reason } => {
                w.u8(3);
                table.put(w);
                reason.put(w);
            }
            ConnectorError::NotProvisioned(t) => {
                w.u8(4);
                t.put(w);
            }
            ConnectorError::Database { engine, operation, cause } => {
                w.u8(5);
                engine.put(w);
                operation.put(w);
                cause.put(w);
            }
            ConnectorError::Rejected { engine, operation, cause, column, foreign_key } => {
                w.u8(6);
                engine.put(w);
                operation.put(w);
                cause.put(w);
                column.put(w);
                foreign_key.put(w);
            }
            ConnectorError::LockConflict { engine, operation, cause } => {
                w.u8(7);
                engine.put(w);
                operation.put(w);
                cause.put(w);
            }
            ConnectorError::BadValue { table, column, reason } => {
                w.u8(8);
                table.put(w);
                column.put(w);
                reason.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        Ok(match r.u8()? {
            0 => ConnectorError::BadUrl(Wire::get(r)?),
            1 => {
                let engine = EngineKind::get(r)?;
                let feature = String::get(r)?;
                ConnectorError::BadUrl(format!(
                    "the agent's hubsync was built without {engine} support; rebuild it with the `{feature}` feature"
                ))
            }
            2 => ConnectorError::Connect { url: Wire::get(r)?, cause: Wire::get(r)? },
            3 => ConnectorError::Refused { table: Wire::get(r)?, reason: Wire::get(r)? },
            4 => ConnectorError::NotProvisioned(Wire::get(r)?),
            5 => ConnectorError::Database { engine: Wire::get(r)?, operation: Wire::get(r)?, cause: Wire::get(r)? },
            6 => ConnectorError::Rejected {
                engine: Wire::get(r)?,
                operation: Wire::get(r)?,
                cause: Wire::get(r)?,
                column: Wire::get(r)?,
                foreign_key: Wire::get(r)?,
            },
            7 => ConnectorError::LockConflict { engine: Wire::get(r)?, operation: Wire::get(r)?, cause: Wire::get(r)? },
            8 => ConnectorError::BadValue { table: Wire::get(r)?, column: Wire::get(r)?, reason: Wire::get(r)? },
            t => return Err(bad_tag("error", t)),
        })
    }
}

/// Encode one value into a fresh buffer.
pub fn encode<T: Wire>(x: &T) -> Vec<u8> {
    let mut w = Writer::default();
    x.put(&mut w);
    w.0
}

/// Decode one value that must fill `buf` exactly.
pub fn decode<T: Wire>(buf: &[u8]) -> Result<T, ProtocolError> {
    let mut r = Reader::new(buf);
    let x = T::get(&mut r)?;
    if !r.is_done() {
        return Err(ProtocolError::Malformed("bytes after the end of the message".into()));
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hubsync_core::ColumnType;

    #[test]
    fn every_value_and_extreme_round_trips() {
        let values = vec![
            Value::Null,
            Value::Bool(true),
            Value::Bool(false),
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::Int(-1),
            Value::Float(f64::NAN),
            Value::Float(-0.0),
            Value::Float(f64::INFINITY),
            Value::Decimal("-12345678901234567890.000001".into()),
            Value::Text("naïve 🦀 \u{0} \\ '".into()),
            Value::Bytes(vec![0, 255, 10]),
            Value::Date(i32::MIN),
            Value::Time(86_399_999_999),
            Value::Timestamp(i64::MIN),
            Value::TimestampTz(i64::MAX),
            Value::Uuid(u128::MAX),
            Value::Json("{\"a\": [1, 2]}".into()),
        ];
        let back: Vec<Value> = decode(&encode(&values)).expect("decodes");
        assert_eq!(back.len(), values.len());
        for (a, b) in values.iter().zip(&back) {
            match (a, b) {
                (Value::Float(x), Value::Float(y)) => assert_eq!(x.to_bits(), y.to_bits()),
                _ => assert_eq!(a, b),
            }
        }
    }

    #[test]
    fn batches_schemas_and_errors_round_trip() {
        let batch = ChangeBatch {
            changes: vec![CapturedChange {
                key: vec![Value::Int(7)],
                row: Some(vec![Value::Int(7), Value::Text("x".into())]),
                changed_at_micros: 1_700_000_000_000_000,
                origin: Some("hub".into()),
            }],
            unreadable: vec![BadRow { key: None, column: Some("c".into()), value: None, error: "bad".into() }],
            next: Anchor("42".into()),
            more: true,
            pending: false,
        };
        assert_eq!(decode::<ChangeBatch>(&encode(&batch)).expect("batch"), batch);
        let schema = TableSchema::new("t").key("id", ColumnType::Int).column("a", ColumnType::Text);
        assert_eq!(decode::<TableSchema>(&encode(&schema)).expect("schema"), schema);
        let e = ConnectorError::Rejected {
            engine: EngineKind::Mysql,
            operation: "applying".into(),
            cause: "fk".into(),
            column: Some("parent".into()),
            foreign_key: true,
        };
        let back: ConnectorError = decode(&encode(&e)).expect("error");
        assert!(matches!(back, ConnectorError::Rejected { foreign_key: true, .. }));
        assert_eq!(back.to_string(), e.to_string());
    }

    #[test]
    fn truncated_and_hostile_frames_are_errors_not_panics() {
        let frame = encode(&vec![Value::Text("hello".into()); 3]);
        for cut in 0..frame.len() {
            assert!(decode::<Vec<Value>>(&frame[..cut]).is_err(), "cut at {cut}");
        }
        // A length claiming far more than the frame holds.
        let mut w = Writer::default();
        w.varint(u64::MAX >> 1);
        assert!(decode::<Vec<Value>>(&w.0).is_err());
        assert!(decode::<Value>(&[200]).is_err());
        let mut extra = encode(&Value::Null);
        extra.push(0);
        assert!(decode::<Value>(&extra).is_err());
    }
}
