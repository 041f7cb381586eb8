//! SQL text shared by the engines: identifier quoting and column types.
//! Every identifier reaches SQL through [`Dialect::quote`]; values only
//! ever travel as bound parameters.

use hubsync_core::{Column, ColumnType, ConnectorError, TableRef, TypeFacets};

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

/// The bits of a PostgreSQL or MySQL integer type (`smallint` 16, `int` 32,
/// `bigint` 64), when fewer than 64. SQLite's integers are all 64-bit.
pub(crate) fn int_bits(declared: &str) -> Option<u32> {
    let lower = declared.to_ascii_lowercase();
    let base = lower.split(['(', ' ']).next().unwrap_or("");
    match base {
        "tinyint" | "smallint" | "int2" | "smallserial" => Some(16),
        "mediumint" | "int" | "integer" | "int4" | "serial" => Some(32),
        _ => None,
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
    // Without the parenthesised modifiers: `timestamp(3) with time zone`
    // is a `timestamp with time zone`.
    let mut base = String::with_capacity(declared.len());
    let mut depth = 0;
    for ch in declared.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            c if depth == 0 => base.push(c.to_ascii_lowercase()),
            _ => {}
        }
    }
    let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
    let base = base.trim_end_matches(" zerofill").trim_end_matches(" unsigned").trim_end_matches(" signed").trim();
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

/// The facets a declared type spells in parentheses: `varchar(20)` →
/// length 20, `numeric(12,2)` → precision 12 and scale 2, `timestamp(3)
/// with time zone` → precision 3. Engines whose unparenthesised types have
/// other defaults (MySQL's `datetime` is whole seconds) adjust afterwards.
pub(crate) fn facets(kind: ColumnType, declared: &str) -> TypeFacets {
    let lower = declared.to_ascii_lowercase();
    let numbers: Vec<u32> = match (lower.find('('), lower.find(')')) {
        (Some(a), Some(b)) if a < b => lower[a + 1..b].split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        _ => Vec::new(),
    };
    let base = lower.split('(').next().unwrap_or("").trim();
    let mut f = TypeFacets::default();
    match kind {
        ColumnType::Text | ColumnType::Bytes => {
            f.length = numbers.first().copied();
            // `char`, `character`, `nchar`, `bpchar`, `binary`: padded.
            f.fixed = matches!(base, "char" | "character" | "nchar" | "bpchar" | "binary");
            // `char` alone is char(1); PostgreSQL's bare `bpchar` is unbounded.
            if f.fixed && f.length.is_none() && base != "bpchar" {
                f.length = Some(1);
            }
        }
        ColumnType::Decimal => {
            f.precision = numbers.first().copied();
            f.scale = f.precision.map(|_| numbers.get(1).copied().unwrap_or(0));
        }
        ColumnType::Time | ColumnType::Timestamp | ColumnType::TimestampTz => {
            f.precision = numbers.first().copied().map(|p| p.min(6));
        }
        ColumnType::Int => f.precision = int_bits(base),
        _ => {}
    }
    f
}

/// `name(n)`, or `name` when there is no `n`.
pub(crate) fn sized(name: &str, n: Option<u32>) -> String {
    match n {
        Some(n) => format!("{name}({n})"),
        None => name.to_owned(),
    }
}

/// What a created column's type is made of, for engines to spell: the
/// declared type when it names the destination's own type (a schema map's
/// choice), else hubsync's kind and the source's facets.
pub(crate) enum Spelling<'a> {
    /// Use this text as the type.
    Declared(&'a str),
    /// Spell `kind` with these facets.
    Kind(ColumnType, TypeFacets),
}

impl<'a> Spelling<'a> {
    /// How to spell `c` in a created table.
    pub(crate) fn of(c: &'a Column) -> Spelling<'a> {
        match &c.declared_type {
            Some(d) => Spelling::Declared(d),
            None => Spelling::Kind(c.kind, c.facets),
        }
    }
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
        assert_eq!(column_type("timestamp(6) with time zone"), Some(ColumnType::TimestampTz));
        assert_eq!(column_type("time(3) without time zone"), Some(ColumnType::Time));
        assert_eq!(column_type("DECIMAL TEXT(12,2)"), Some(ColumnType::Decimal));
        assert_eq!(column_type("point"), None);
        assert_eq!(column_type("interval"), None);
    }

    #[test]
    fn facets_come_from_the_parenthesised_numbers() {
        let f = facets(ColumnType::Decimal, "numeric(12,2)");
        assert_eq!((f.precision, f.scale), (Some(12), Some(2)));
        assert_eq!(facets(ColumnType::Decimal, "DECIMAL(5)").scale, Some(0));
        assert!(facets(ColumnType::Decimal, "numeric").is_empty());
        assert_eq!(facets(ColumnType::Text, "character varying(20)").length, Some(20));
        let c = facets(ColumnType::Text, "character(3)");
        assert!(c.fixed && c.length == Some(3));
        assert_eq!(facets(ColumnType::Text, "char").length, Some(1));
        assert_eq!(facets(ColumnType::Text, "bpchar").length, None);
        assert_eq!(facets(ColumnType::TimestampTz, "timestamp(3) with time zone").precision, Some(3));
        assert_eq!(facets(ColumnType::Int, "int(11)").precision, Some(32));
        assert_eq!(facets(ColumnType::Int, "bigint"), TypeFacets::default());
    }
}
