//! How hubsync lays out a table it creates on MySQL/MariaDB: each column's
//! type, chosen so that InnoDB's row-size rules hold for any mix of
//! columns (Data Sync allows 1,000), and the checks that keep the lengths
//! of columns moved to off-page types.
//!
//! InnoDB (ROW_FORMAT=DYNAMIC, 16 KiB pages) keeps a row in half a page,
//! 8,126 bytes. Fixed-size columns take their size; a variable column whose
//! largest value fits 255 bytes (`VARCHAR(63)` in utf8mb4) stays in the
//! row, so it counts at its largest plus a length byte; longer ones and the
//! `TEXT`/`BLOB` family move to overflow pages when the row is full, leaving
//! a 20-byte pointer. Strict mode (the default) refuses at `CREATE TABLE` a
//! table whose worst case by that count passes the limit (measured on
//! MariaDB 10.11: 66 `VARCHAR(30)`, 383 `TEXT`, 996 `DATETIME(6)` columns
//! beside a `BIGINT` key). So the short `VARCHAR`s the page cannot hold
//! become `TEXT` with a `CHECK` of their length, keys and indexed columns
//! first keeping theirs. A table that still does not fit (some 380 variable
//! columns or more) is created with strict mode off for that statement: a
//! row whose values do not fit a page is then refused by the server when
//! written, and quarantined with its message. MySQL's own limit, 65,535
//! declared bytes per row (a `VARCHAR` at its largest), is kept the same way.

use hubsync_core::{Column, ColumnType, TableSchema};

use crate::sql::Spelling;

/// The comment that tells a fresh introspection which hubsync type a
/// created column holds where MySQL's catalog cannot say it (a DATETIME
/// holding instants, CHAR(36) holding UUIDs, MariaDB's JSON, which is a
/// LONGTEXT): `hubsync:timestamptz`.
pub(super) const TYPE_COMMENT: &str = "hubsync:";

/// InnoDB's limit on the bytes of one index key (DYNAMIC row format).
const KEY_BYTES: u32 = 3072;

/// The most a row may keep in its page (InnoDB: "Row size too large (> 8126)").
const PAGE_ROW_BYTES: u32 = 8126;

/// MySQL's limit on a row's declared bytes.
const DECLARED_BYTES: u32 = 65_535;

/// A record's header (5) and InnoDB's transaction id (6) and roll pointer (7).
const RECORD_OVERHEAD: u32 = 18;

/// Bytes per character of utf8mb4.
const CHAR_BYTES: u32 = 4;

/// What a column takes of a row, as InnoDB and MySQL count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Size {
    /// Always this many bytes (numbers, dates, `CHAR` in a one-byte charset).
    Fixed(u32),
    /// Up to this many bytes (≤ 255), always in the row (a short `VARCHAR`).
    Inline(u32),
    /// A `VARCHAR`/`VARBINARY` of up to this many bytes (> 255): off-page when the row is full.
    Long(u32),
    /// The `TEXT`/`BLOB` family: off-page when the row is full.
    Lob,
}

impl Size {
    /// Bytes in the page, at worst once off-page columns have moved.
    fn in_page(self) -> u32 {
        match self {
            Size::Fixed(n) => n,
            Size::Inline(n) => n + 1,
            Size::Long(_) => 22,
            Size::Lob => 21,
        }
    }

    /// Bytes toward MySQL's 65,535-byte row limit.
    fn declared(self) -> u32 {
        match self {
            Size::Fixed(n) => n,
            Size::Inline(n) => n + 1,
            Size::Long(n) => n + 2,
            Size::Lob => 12,
        }
    }
}

/// The bytes of MySQL's binary DECIMAL(p, s).
fn decimal_bytes(p: u32, s: u32) -> u32 {
    let part = |digits: u32| (digits / 9) * 4 + [0, 1, 1, 2, 2, 3, 3, 4, 4][(digits % 9) as usize];
    part(p.saturating_sub(s)) + part(s)
}

/// The `TEXT`/`BLOB` family member holding `bytes` (`TEXT`, `MEDIUMTEXT`, …).
fn lob(text: bool, bytes: u32) -> String {
    let size = match bytes {
        0..=65_535 => "",
        65_536..=16_777_215 => "MEDIUM",
        _ => "LONG",
    };
    format!("{size}{}", if text { "TEXT" } else { "BLOB" })
}

/// One column's spelling, and the off-page one it may take instead.
struct Choice {
    /// Type, collation, comment.
    ty: String,
    size: Size,
    /// `TEXT`/`BLOB` and the `CHECK` keeping the length, for a bounded
    /// column that may leave the row.
    off_page: Option<(String, String)>,
}

/// A table's columns as hubsync creates them on MySQL/MariaDB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layout {
    /// Each column's type (with collation and comment), in table order.
    pub(super) types: Vec<String>,
    /// `CHECK` constraints keeping the lengths of columns given off-page types.
    pub(super) checks: Vec<String>,
    /// Whether InnoDB's strict check refuses the table whatever the types:
    /// it is created with strict mode off (see the module's doc).
    pub(super) lenient: bool,
}

impl Layout {
    /// Lay out `table`. `exact` is the server's binary, no-pad utf8mb4
    /// collation (`utf8mb4_nopad_bin` on MariaDB, `utf8mb4_0900_bin` on
    /// MySQL 8), so keys compare exactly as on the hub; `indexed` says
    /// which columns an index carried over from the hub covers; `quote`
    /// quotes a column name.
    pub(super) fn new(
        table: &TableSchema,
        exact: &str,
        indexed: impl Fn(&Column) -> bool,
        quote: impl Fn(&str) -> String,
    ) -> Layout {
        let key_len = key_length(table);
        let choices: Vec<Choice> = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| choose(c, &quote(&c.name), exact, key_len, table.primary_key.contains(&i), indexed(c)))
            .collect();
        // Start from every movable column off-page, then keep each in its
        // own type, in table order, while both limits allow.
        let nullable = table.columns.iter().filter(|c| c.nullable).count() as u32;
        let overhead = RECORD_OVERHEAD + nullable.div_ceil(8);
        let floor = |f: fn(Size) -> u32| -> u32 {
            overhead + choices.iter().map(|c| f(if c.off_page.is_some() { Size::Lob } else { c.size })).sum::<u32>()
        };
        let (mut page, mut declared) = (floor(Size::in_page), floor(Size::declared));
        let mut out = Layout { types: Vec::new(), checks: Vec::new(), lenient: false };
        for c in choices {
            let Some((lob_type, check)) = c.off_page else {
                out.types.push(c.ty);
                continue;
            };
            let more_page = c.size.in_page().saturating_sub(Size::Lob.in_page());
            let more_declared = c.size.declared().saturating_sub(Size::Lob.declared());
            if page + more_page < PAGE_ROW_BYTES && declared + more_declared <= DECLARED_BYTES {
                page += more_page;
                declared += more_declared;
                out.types.push(c.ty);
            } else {
                out.types.push(lob_type);
                out.checks.push(check);
            }
        }
        out.lenient = page >= PAGE_ROW_BYTES;
        out
    }
}

/// Characters (text) or bytes (bytes) each unbounded key column gets: the
/// key's bytes, bounded columns as declared, the rest shared.
fn key_length(table: &TableSchema) -> u32 {
    let mut fixed = 0;
    let mut unbounded = 0;
    for &k in &table.primary_key {
        let c = &table.columns[k];
        let per = if c.kind == ColumnType::Text { CHAR_BYTES } else { 1 };
        match (c.kind, c.facets.length) {
            (ColumnType::Text | ColumnType::Bytes, Some(n)) => fixed += n * per,
            (ColumnType::Text, None) => unbounded += CHAR_BYTES,
            (ColumnType::Bytes, None) => unbounded += 1,
            _ => fixed += 16,
        }
    }
    KEY_BYTES.saturating_sub(fixed).checked_div(unbounded).map_or(255, |n| n.clamp(1, 768))
}

/// The spelling of `c` (named `quoted`) and its off-page alternative.
fn choose(c: &Column, quoted: &str, exact: &str, key_len: u32, in_key: bool, in_index: bool) -> Choice {
    let bounded = in_key || in_index;
    let exact = format!(" CHARACTER SET utf8mb4 COLLATE {exact}");
    let comment = |kind: ColumnType| format!(" COMMENT '{TYPE_COMMENT}{kind}'");
    let plain = |ty: String, size: Size| Choice { ty, size, off_page: None };
    match Spelling::of(c) {
        Spelling::Declared(d) => {
            let lower = d.to_ascii_lowercase();
            let collate = if c.kind == ColumnType::Text && bounded && !lower.contains("collate") {
                exact.clone()
            } else {
                String::new()
            };
            let tag = if matches!(c.kind, ColumnType::TimestampTz | ColumnType::Uuid | ColumnType::Json) {
                comment(c.kind)
            } else {
                String::new()
            };
            // A schema map's own spelling, counted as a column that can move off-page.
            plain(format!("{d}{collate}{tag}"), Size::Long(256))
        }
        Spelling::Kind(kind, f) => match kind {
            ColumnType::Bool => plain("BOOLEAN".into(), Size::Fixed(1)),
            ColumnType::Int => match f.precision {
                Some(16) => plain("SMALLINT".into(), Size::Fixed(2)),
                Some(32) => plain("INT".into(), Size::Fixed(4)),
                _ => plain("BIGINT".into(), Size::Fixed(8)),
            },
            ColumnType::Float => plain("DOUBLE".into(), Size::Fixed(8)),
            ColumnType::Decimal => {
                // MySQL's DECIMAL holds at most 65 digits, 30 after the point.
                let (p, s) = match (f.precision, f.scale) {
                    (Some(p), s) => {
                        let s = s.unwrap_or(0).min(30);
                        (p.clamp(s.max(1), 65), s)
                    }
                    (None, _) => (65, 30),
                };
                plain(format!("DECIMAL({p},{s})"), Size::Fixed(decimal_bytes(p, s)))
            }
            ColumnType::Text | ColumnType::Bytes => {
                let text = kind == ColumnType::Text;
                let per = if text { CHAR_BYTES } else { 1 };
                let n = if in_key { f.length.unwrap_or(key_len) } else { f.length.unwrap_or(0) };
                let n = if in_index && !in_key && f.length.is_none() { 255 } else { n };
                if n == 0 {
                    return plain(lob(text, u32::MAX), Size::Lob);
                }
                let bytes = n.saturating_mul(per);
                let size = if bytes <= 255 { Size::Inline(bytes) } else { Size::Long(bytes) };
                let ty = match (text, bounded) {
                    (true, true) => format!("VARCHAR({n}){exact}"),
                    (true, false) => format!("VARCHAR({n})"),
                    (false, _) => format!("VARBINARY({n})"),
                };
                // Keys and indexed columns stay VARCHAR (indexable, exact).
                let length = if text { "CHAR_LENGTH" } else { "LENGTH" };
                let off_page = (!bounded).then(|| (lob(text, bytes), format!("CHECK ({length}({quoted}) <= {n})")));
                Choice { ty, size, off_page }
            }
            ColumnType::Date => plain("DATE".into(), Size::Fixed(3)),
            ColumnType::Time => {
                let p = f.precision.unwrap_or(6);
                plain(format!("TIME({p})"), Size::Fixed(3 + p.div_ceil(2)))
            }
            ColumnType::Timestamp => {
                let p = f.precision.unwrap_or(6);
                plain(format!("DATETIME({p})"), Size::Fixed(5 + p.div_ceil(2)))
            }
            // MySQL's TIMESTAMP ends in 2038: a DATETIME holding UTC.
            ColumnType::TimestampTz => {
                let p = f.precision.unwrap_or(6);
                plain(format!("DATETIME({p}){}", comment(kind)), Size::Fixed(5 + p.div_ceil(2)))
            }
            ColumnType::Uuid => {
                plain(format!("CHAR(36) CHARACTER SET ascii COLLATE ascii_bin{}", comment(kind)), Size::Fixed(36))
            }
            ColumnType::Json => plain(format!("JSON{}", comment(kind)), Size::Lob),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hubsync_core::TypeFacets;

    fn col(name: &str, kind: ColumnType, length: Option<u32>, precision: Option<u32>, scale: Option<u32>) -> Column {
        let mut c = Column::new(name, kind);
        c.facets = TypeFacets { length, precision, scale, ..Default::default() };
        c
    }

    fn lay_out(t: &TableSchema) -> Layout {
        Layout::new(t, "utf8mb4_nopad_bin", |_| false, |n| format!("`{n}`"))
    }

    /// A `BIGINT` key and `n` nullable columns like `c`.
    fn many(n: usize, c: &Column) -> TableSchema {
        let mut t = TableSchema::new("t").key("id", ColumnType::Int);
        for i in 0..n {
            t.columns.push(Column { name: format!("c{i}"), ..c.clone() });
        }
        t
    }

    #[test]
    fn decimals_take_their_binary_size() {
        assert_eq!(decimal_bytes(10, 2), 5);
        assert_eq!(decimal_bytes(65, 30), 30);
        assert_eq!(decimal_bytes(18, 9), 8);
        assert_eq!(decimal_bytes(1, 0), 1);
    }

    #[test]
    fn strict_mode_refuses_what_mariadb_refuses() {
        // Thresholds measured on MariaDB 10.11 (DYNAMIC, 16 KiB pages),
        // each beside a BIGINT key: the most columns CREATE TABLE accepts.
        let text = col("t", ColumnType::Text, None, None, None);
        assert!(!lay_out(&many(383, &text)).lenient && lay_out(&many(384, &text)).lenient);
        let stamp = col("s", ColumnType::Timestamp, None, Some(6), None);
        assert!(!lay_out(&many(996, &stamp)).lenient && lay_out(&many(997, &stamp)).lenient);
        let uuid = col("u", ColumnType::Uuid, None, None, None);
        assert!(!lay_out(&many(224, &uuid)).lenient && lay_out(&many(225, &uuid)).lenient);
    }

    #[test]
    fn short_varchars_past_the_page_move_off_page_with_a_length_check() {
        // Measured: 66 VARCHAR(30) fit a page, 67 do not.
        let v30 = col("v", ColumnType::Text, Some(30), None, None);
        let fit = lay_out(&many(66, &v30));
        assert!(fit.types.iter().skip(1).all(|t| t == "VARCHAR(30)") && fit.checks.is_empty(), "{fit:?}");
        let over = lay_out(&many(67, &v30));
        assert_eq!(over.types.iter().filter(|t| *t == "TEXT").count(), 1, "{over:?}");
        assert_eq!(over.checks, ["CHECK (CHAR_LENGTH(`c66`) <= 30)"]);
        assert!(!over.lenient);
    }

    #[test]
    fn the_issues_four_hundred_columns_fit_and_a_thousand_are_made_leniently() {
        // 100 each of int, text, numeric(10,2) and varchar(30).
        let mix = |n: usize| {
            let mut t = TableSchema::new("wide").key("id", ColumnType::Int);
            for i in 0..n {
                t.columns.push(col(&format!("i{i}"), ColumnType::Int, None, Some(32), None));
                t.columns.push(col(&format!("t{i}"), ColumnType::Text, None, None, None));
                t.columns.push(col(&format!("d{i}"), ColumnType::Decimal, None, Some(10), Some(2)));
                t.columns.push(col(&format!("v{i}"), ColumnType::Text, Some(30), None, None));
            }
            t
        };
        let four = lay_out(&mix(100));
        let kept = four.types.iter().filter(|t| *t == "VARCHAR(30)").count();
        assert!(kept > 0 && kept < 100 && four.checks.len() == 100 - kept, "{kept} kept");
        assert!(!four.lenient, "the page holds it once the short varchars moved");
        assert!(lay_out(&mix(250)).lenient, "1,000 columns: more than InnoDB's strict check admits");
    }

    #[test]
    fn keys_and_indexed_columns_keep_their_varchar() {
        let mut t = many(100, &col("v", ColumnType::Text, Some(30), None, None));
        t.columns.push(col("k", ColumnType::Text, Some(30), None, None));
        let l = Layout::new(&t, "bin", |c| c.name == "k", |n| format!("`{n}`"));
        assert_eq!(l.types.last().map(String::as_str), Some("VARCHAR(30) CHARACTER SET utf8mb4 COLLATE bin"));
    }
}
