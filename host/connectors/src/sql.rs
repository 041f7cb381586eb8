//! SQL text shared by the engines: identifier quoting and column types.
//! Every identifier reaches SQL through [`Dialect::quote`]; values only
//! ever travel as bound parameters.

use hubsync_core::{ColumnType, ConnectorError, TableRef};

/// How an engine spells identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `"name"` (SQLite, PostgreSQL).
    DoubleQuote,
    /// `` `name` `` (MySQL, MariaDB).
    Backtick,
}

impl Dialect {
    /// Quote an identifier; the quote character is doubled inside, so no
    /// name can end the identifier early.
    pub(crate) fn quote(self, ident: &str) -> String {
        let q = match self {
            Dialect::DoubleQuote => '"',
            Dialect::Backtick => '`',
        };
        let mut out = String::with_capacity(ident.len() + 2);
        out.push(q);
        for c in ident.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
        out
    }

    /// `ns.name`, quoted.
    pub(crate) fn table(self, t: &TableRef) -> String {
        match &t.namespace {
            Some(ns) => format!("{}.{}", self.quote(ns), self.quote(&t.name)),
            None => self.quote(&t.name),
        }
    }

    /// A comma-separated list of quoted identifiers, each with `prefix`.
    pub(crate) fn list<'a>(self, prefix: &str, idents: impl IntoIterator<Item = &'a str>) -> String {
        idents.into_iter().map(|i| format!("{prefix}{}", self.quote(i))).collect::<Vec<_>>().join(", ")
    }
}

/// Refuse names hubsync cannot carry (NUL bytes, empty names).
pub(crate) fn check_ident(table: &TableRef, ident: &str) -> Result<(), ConnectorError> {
    if ident.is_empty() || ident.contains('\0') {
        return Err(ConnectorError::Refused {
            table: table.clone(),
            reason: format!("the name {ident:?} is empty or contains a NUL character; rename it"),
        });
    }
    Ok(())
}

/// The column type of a declared SQL type, or `None` if hubsync cannot
/// sync it. `declared` is lower-cased, without modifiers like `(12,2)`.
pub(crate) fn column_type(declared: &str) -> Option<ColumnType> {
    let base = declared.split('(').next().unwrap_or("").trim().to_ascii_lowercase();
    let base = base.trim_end_matches(" unsigned").trim_end_matches(" signed").trim();
    Some(match base {
        "boolean" | "bool" => ColumnType::Bool,
        "smallint" | "integer" | "int" | "bigint" | "int2" | "int4" | "int8" | "tinyint" | "mediumint" | "serial"
        | "bigserial" | "smallserial" => ColumnType::Int,
        "real" | "double precision" | "double" | "float" | "float4" | "float8" => ColumnType::Float,
        "numeric" | "decimal" | "decimal text" | "numeric text" => ColumnType::Decimal,
        "text" | "varchar" | "character varying" | "char" | "character" | "bpchar" | "nvarchar" | "nchar"
        | "tinytext" | "mediumtext" | "longtext" | "clob" | "citext" | "name" => ColumnType::Text,
        "bytea" | "blob" | "binary" | "varbinary" | "tinyblob" | "mediumblob" | "longblob" => ColumnType::Bytes,
        "date" => ColumnType::Date,
        "time" | "time without time zone" => ColumnType::Time,
        "timestamp" | "timestamp without time zone" | "datetime" => ColumnType::Timestamp,
        "timestamptz" | "timestamp with time zone" => ColumnType::TimestampTz,
        "uuid" => ColumnType::Uuid,
        "json" | "jsonb" => ColumnType::Json,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_quotes_and_keeps_everything_else() {
        assert_eq!(Dialect::DoubleQuote.quote("order"), "\"order\"");
        assert_eq!(Dialect::DoubleQuote.quote("a\"b; drop table x; --"), "\"a\"\"b; drop table x; --\"");
        assert_eq!(Dialect::Backtick.quote("we`ird name ü"), "`we``ird name ü`");
        let t = TableRef { namespace: Some("my schema".into()), name: "select".into() };
        assert_eq!(Dialect::DoubleQuote.table(&t), "\"my schema\".\"select\"");
    }

    #[test]
    fn declared_types_map_or_are_reported() {
        assert_eq!(column_type("numeric(12,2)"), Some(ColumnType::Decimal));
        assert_eq!(column_type("character varying(32)"), Some(ColumnType::Text));
        assert_eq!(column_type("BIGINT UNSIGNED"), Some(ColumnType::Int));
        assert_eq!(column_type("timestamp with time zone"), Some(ColumnType::TimestampTz));
        assert_eq!(column_type("DECIMAL TEXT(12,2)"), Some(ColumnType::Decimal));
        assert_eq!(column_type("point"), None);
        assert_eq!(column_type("interval"), None);
    }
}
