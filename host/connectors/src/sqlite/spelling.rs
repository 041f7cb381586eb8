//! Keys an application spelled its own way: SQLite keeps the text it was
//! given, so `2024-02-29T12:00:00.5`, `2024-02-29 12:00:00.500000` and
//! `2024-02-29 12:00` are three keys to SQLite and one value to hubsync.
//!
//! Before hubsync looks a key up, writes it or deletes it, it asks the
//! table how the key is stored: each key value of a type with several
//! spellings (dates, times, timestamps, UUIDs, decimals) gives a few
//! *probes* — exact cells, or text prefixes — that every spelling hubsync
//! reads as that value starts with, each answered from the key's index.
//! The stored cells found are parsed back and compared by value; the key is
//! then bound as stored, so the application's row is found, updated or
//! deleted instead of a second row being added.
//!
//! What is covered: the ISO 8601 spellings with zero-padded fields (a `T`
//! or a space, a time to the minute, second or any fraction, a `Z`,
//! ` UTC` or `+00:00` zone), dates with unpadded months or days, UUIDs in
//! either case, with or without dashes or braces, or as 16-byte blobs, and
//! decimals with any number of trailing zeros. A timestamp with zone stored
//! at another offset (`13:00+01:00` for `12:00Z`) is not found this way.

use hubsync_core::text;
use hubsync_core::{Column, ColumnType, ConnectorError, TableRef, TableSchema, Value};
use sqlx::sqlite::SqliteConnection;
use sqlx::{AssertSqlSafe, Row};

use super::types::{Stored, bind_stored, stored_cell, stored_of};
use super::{D, db};

/// One way to find a key cell: `lo <= cell AND cell <= hi`, answered from
/// the key's index.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Probe {
    /// The lowest cell that may match.
    pub(super) lo: Stored,
    /// The highest cell that may match.
    pub(super) hi: Stored,
}

impl Probe {
    fn exact(s: Stored) -> Probe {
        Probe { lo: s.clone(), hi: s }
    }

    fn text(s: String) -> Probe {
        Probe::exact(Stored::Text(s))
    }

    /// Every text that starts with `p`: the formats probed are ASCII, so
    /// whatever follows the prefix sorts below the highest code point.
    fn prefix(p: String) -> Probe {
        let hi = format!("{p}\u{10FFFF}");
        Probe { lo: Stored::Text(p), hi: Stored::Text(hi) }
    }
}

/// Whether `table`'s key has a column whose values have several spellings
/// (only then are keys probed).
pub(super) fn has_spelled_key(table: &TableSchema) -> bool {
    table.primary_key.iter().any(|&i| spelled_freely(table.columns[i].kind))
}

/// Whether a key of this kind can be stored in more than one spelling.
pub(super) fn spelled_freely(kind: ColumnType) -> bool {
    matches!(
        kind,
        ColumnType::Date
            | ColumnType::Time
            | ColumnType::Timestamp
            | ColumnType::TimestampTz
            | ColumnType::Uuid
            | ColumnType::Decimal
    )
}

/// The probes that find the spellings of `v` listed in the module's doc;
/// `scale` is the column's declared scale for decimals. `None` when `v` has
/// one spelling only (it is then bound as it is). Each probe is narrow —
/// a prefix down to the fraction of a second, or an exact cell — so that
/// densely packed keys do not make one probe read many rows.
pub(super) fn probes(v: &Value) -> Option<Vec<Probe>> {
    let mut out = match v {
        Value::Date(days) => date_spellings(*days).into_iter().map(Probe::text).collect(),
        Value::Time(micros) => time_probes("", *micros, false),
        Value::Timestamp(micros) => timestamp_probes(*micros, false),
        Value::TimestampTz(micros) => timestamp_probes(*micros, true),
        Value::Uuid(u) => uuid_probes(*u),
        Value::Decimal(d) => decimal_probes(d),
        _ => return None,
    };
    out.dedup();
    Some(out)
}

/// A range holding every probe of `v` (from its minute to the end of its
/// day for a timestamp, its year for a date), to skip a key whose probes cannot match before making
/// them; any other value gives a probe [`Bounds::may_hold`] never skips.
fn envelope(v: &Value) -> Probe {
    let any = Probe::exact(Stored::Int(0));
    match v {
        Value::Timestamp(m) | Value::TimestampTz(m) => {
            let Ok(day) = i32::try_from(m.div_euclid(text::MICROS_PER_DAY)) else { return any };
            let date = text::format_date(day);
            let minutes = m.rem_euclid(text::MICROS_PER_DAY) / 60_000_000;
            // From its minute with a space (the date alone at midnight) to
            // the end of its day: dense keys of one day still skip.
            let lo = if minutes == 0 && m.rem_euclid(text::MICROS_PER_DAY) == 0 {
                date.clone()
            } else {
                format!("{date} {:02}:{:02}", minutes / 60, minutes % 60)
            };
            Probe { lo: Stored::Text(lo), hi: Stored::Text(format!("{date}\u{10FFFF}")) }
        }
        Value::Date(days) => {
            let d = text::format_date(*days);
            Probe::prefix(format!("{}-", &d[..d.len() - 6]))
        }
        _ => any,
    }
}

/// `2024-02-09`, `2024-2-09`, `2024-02-9`, `2024-2-9`.
fn date_spellings(days: i32) -> Vec<String> {
    let canonical = text::format_date(days);
    let (_, m, d) = text::civil_from_days(i64::from(days));
    let year = &canonical[..canonical.len() - 6];
    let mut out = vec![canonical.clone()];
    for (m, d) in
        [(format!("{m}"), format!("{d:02}")), (format!("{m:02}"), format!("{d}")), (m.to_string(), d.to_string())]
    {
        let s = format!("{year}-{m}-{d}");
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// A cell that is `stem` exactly, or, with a zone, `stem` followed by one.
fn ending(out: &mut Vec<Probe>, stem: String, zoned: bool) {
    if zoned {
        out.push(Probe::text(format!("{stem}Z")));
        out.push(Probe::text(format!("{stem} UTC")));
        out.push(Probe::prefix(format!("{stem}+")));
        out.push(Probe::prefix(format!("{stem}-")));
    }
    out.push(Probe::text(stem));
}

/// The time of day after `before` (a date and separator, or nothing):
/// `HH:MM:SS.f…` by the prefix up to its last significant digit (more
/// digits, zeros or a zone may follow); a whole second exactly, or with
/// `.0…`; a whole minute also as `HH:MM`. `H:` before 10 o'clock too.
fn time_probes(before: &str, micros: i64, zoned: bool) -> Vec<Probe> {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut hours = vec![format!("{h:02}")];
    if h < 10 {
        hours.push(h.to_string());
    }
    let mut out = Vec::new();
    for hh in hours {
        let second = format!("{before}{hh}:{m:02}:{s:02}");
        if frac != 0 {
            let digits = format!("{frac:06}");
            out.push(Probe::prefix(format!("{second}.{}", digits.trim_end_matches('0'))));
            continue;
        }
        out.push(Probe::prefix(format!("{second}.0")));
        ending(&mut out, second, zoned);
        if s == 0 {
            ending(&mut out, format!("{before}{hh}:{m:02}"), zoned);
        }
    }
    out
}

fn timestamp_probes(micros: i64, zoned: bool) -> Vec<Probe> {
    let days = micros.div_euclid(text::MICROS_PER_DAY);
    let in_day = micros.rem_euclid(text::MICROS_PER_DAY);
    let Ok(days) = i32::try_from(days) else { return Vec::new() };
    let date = text::format_date(days);
    let mut out = Vec::new();
    for sep in [' ', 'T'] {
        out.extend(time_probes(&format!("{date}{sep}"), in_day, zoned));
    }
    // A date alone is midnight (`2024-02-29`, `2024-02-29Z`).
    if in_day == 0 {
        ending(&mut out, date, zoned);
    }
    out
}

fn uuid_probes(u: u128) -> Vec<Probe> {
    let dashed = text::format_uuid(u);
    let plain = format!("{u:032x}");
    let mut out = Vec::new();
    for s in [dashed.clone(), plain, format!("{{{dashed}}}")] {
        out.push(Probe::text(s.to_ascii_uppercase()));
        out.push(Probe::text(s));
    }
    out.push(Probe::exact(Stored::Blob(u.to_be_bytes().to_vec())));
    out
}

/// The decimal without trailing zeros exactly, and by the prefix that
/// every spelling with more zeros starts with (`1.50…` for `1.5`, `80.0…`
/// for `80`).
fn decimal_probes(d: &str) -> Vec<Probe> {
    let c = hubsync_core::canonical_decimal(d).into_owned();
    let more = if c.contains('.') { format!("{c}0") } else { format!("{c}.0") };
    vec![Probe::text(c), Probe::prefix(more)]
}

/// For each key, the cells `table` stores it in when an application spelled
/// it otherwise than hubsync does (see the module's doc); `None` where
/// hubsync's own spelling is the one to bind (stored so, not stored at all,
/// or a key of types with one spelling, for which no query is made).
///
/// An empty table is asked nothing more, nor are keys past the stored
/// ones; a key stored in hubsync's spelling is found with one seek, and
/// only the keys not found so are probed in their other spellings.
pub(super) async fn stored_keys(
    conn: &mut SqliteConnection,
    table: &TableSchema,
    keys: &[&[Value]],
) -> Result<Vec<Option<Vec<Stored>>>, ConnectorError> {
    let key_cols: Vec<&Column> = table.primary_key.iter().map(|&i| &table.columns[i]).collect();
    let mut found: Vec<Option<Vec<Stored>>> = vec![None; keys.len()];
    if keys.is_empty() || !key_cols.iter().any(|c| spelled_freely(c.kind)) {
        return Ok(found);
    }
    let t = TableRef::of(table);
    let what = format!("finding how {} keys of {t} are spelled", keys.len());
    let bounds = Bounds::of(conn, &t, key_cols[0], &what).await?;
    if bounds.empty {
        return Ok(found);
    }
    // The keys some spelling of which may be stored (for keys past the
    // stored ones nothing is made), as hubsync spells them.
    let own: Vec<(usize, Vec<Stored>)> = keys
        .iter()
        .enumerate()
        .filter(|(_, key)| bounds.may_hold(&envelope(&key[0])))
        .filter_map(|(i, key)| Some((i, key.iter().map(stored_of).collect::<Option<Vec<_>>>()?)))
        .collect();
    // Those not stored so, probed in their other spellings: one probe row
    // per combination of the key columns' probes.
    let mut rows: Vec<(usize, Vec<Probe>)> = Vec::new();
    for i in missing(conn, &t, &key_cols, &own, &what).await? {
        let mut combos: Vec<Vec<Probe>> = vec![Vec::new()];
        for v in keys[i] {
            let Some(cell) = stored_of(v) else { continue };
            let each = probes(v).unwrap_or_else(|| vec![Probe::exact(cell)]);
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    each.iter().map(move |p| {
                        let mut c = c.clone();
                        c.push(p.clone());
                        c
                    })
                })
                .collect();
        }
        rows.extend(combos.into_iter().filter(|c| c.len() == key_cols.len() && bounds.may_hold(&c[0])).map(|c| (i, c)));
    }
    for (i, cells) in probe(conn, &t, &key_cols, &rows, &what).await? {
        let same = cells.iter().zip(keys[i]).zip(&key_cols).all(|((cell, v), c)| {
            if spelled_freely(c.kind) {
                cell.value(c.kind).is_some_and(|x| x.same(v))
            } else {
                Some(cell) == stored_of(v).as_ref()
            }
        });
        if same && found[i].is_none() {
            found[i] = Some(cells);
        }
    }
    Ok(found)
}

/// The range of the first key column's cells, to skip probes that cannot
/// match: the keys of an initial sync or of new times usually lie past
/// every stored key.
struct Bounds {
    /// The table has no rows.
    empty: bool,
    /// The lowest and highest cell, when both are text and the key column
    /// is of a date or time type (its probes never look like numbers, so
    /// no affinity converts them) or has TEXT affinity, and is compared
    /// bytewise (no `COLLATE`).
    text: Option<(String, String)>,
}

impl Bounds {
    async fn of(
        conn: &mut SqliteConnection,
        t: &TableRef,
        first: &Column,
        what: &str,
    ) -> Result<Bounds, ConnectorError> {
        let c = D.quote(&first.name);
        // Two subqueries: SQLite answers a lone MIN or MAX from the index,
        // but scans the table for both in one SELECT.
        let table = D.table(t);
        let sql = format!(
            "SELECT (SELECT MIN({c}) FROM {table}), (SELECT MAX({c}) FROM {table}), \
             (SELECT instr(lower(sql), 'collate') > 0 FROM sqlite_master WHERE type = 'table' AND name = ?)"
        );
        let r = sqlx::query(AssertSqlSafe(sql)).bind(&t.name).fetch_one(&mut *conn).await.map_err(db(what))?;
        let (lo, hi) = (stored_cell(&r, 0), stored_cell(&r, 1));
        let collated = r.try_get::<Option<i64>, _>(2).ok().flatten().is_none_or(|c| c != 0);
        let dated =
            matches!(first.kind, ColumnType::Date | ColumnType::Time | ColumnType::Timestamp | ColumnType::TimestampTz)
                || first.declared_type.as_deref().is_some_and(text_affinity);
        let text = match (lo.clone(), hi) {
            (Some(Stored::Text(lo)), Some(Stored::Text(hi))) if dated && !collated => Some((lo, hi)),
            _ => None,
        };
        Ok(Bounds { empty: lo.is_none(), text })
    }

    /// Whether a probe of the first key column may find a cell.
    fn may_hold(&self, p: &Probe) -> bool {
        match (&self.text, &p.lo, &p.hi) {
            (Some((min, max)), Stored::Text(lo), Stored::Text(hi)) => lo <= max && hi >= min,
            _ => true,
        }
    }
}

/// Which of the keys (`(key index, cells as hubsync spells them)`) no row
/// is stored under: compared with `=`, so as SQLite's affinity compares. Only
/// those come back, so a batch of updates answers no rows.
async fn missing(
    conn: &mut SqliteConnection,
    t: &TableRef,
    key_cols: &[&Column],
    keys: &[(usize, Vec<Stored>)],
    what: &str,
) -> Result<Vec<usize>, ConnectorError> {
    let n = key_cols.len();
    let cols: Vec<String> = (0..n).map(|j| format!("own{j}")).collect();
    let on = key_cols
        .iter()
        .zip(&cols)
        .map(|(c, own)| format!("o.{} = p.{own}", D.quote(&c.name)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let tuple = format!("({})", vec!["?"; 1 + n].join(", "));
    let mut out = Vec::new();
    for chunk in keys.chunks((30_000 / (1 + n)).clamp(1, 500)) {
        let sql = format!(
            "WITH p(i, {}) AS (VALUES {}) SELECT p.i FROM p WHERE NOT EXISTS (SELECT 1 FROM {} o WHERE {on})",
            cols.join(", "),
            vec![tuple.as_str(); chunk.len()].join(", "),
            D.table(t),
        );
        let mut q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
        for (i, own) in chunk {
            q = q.bind(*i as i64);
            for cell in own {
                q = match cell.clone() {
                    Stored::Int(v) => q.bind(v),
                    Stored::Real(v) => q.bind(v),
                    Stored::Text(v) => q.bind(v),
                    Stored::Blob(v) => q.bind(v),
                };
            }
        }
        out.extend(q.fetch_all(&mut *conn).await.map_err(db(what))?.into_iter().map(|i| i as usize));
    }
    Ok(out)
}

/// Whether SQLite gives a column of this declared type TEXT affinity (its
/// text cells are compared as text, never converted to numbers).
fn text_affinity(declared: &str) -> bool {
    let d = declared.to_ascii_uppercase();
    !d.contains("INT") && (d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT"))
}

/// The stored keys the probe rows find: `(key index, cells)`.
async fn probe(
    conn: &mut SqliteConnection,
    t: &TableRef,
    key_cols: &[&Column],
    rows: &[(usize, Vec<Probe>)],
    what: &str,
) -> Result<Vec<(usize, Vec<Stored>)>, ConnectorError> {
    let n = key_cols.len();
    // Probes of single cells (UUIDs, dates, decimals without more zeros)
    // bind each cell once and compare with `=`.
    let exact = rows.iter().all(|(_, ps)| ps.iter().all(|p| p.lo == p.hi));
    let width = if exact { 1 + n } else { 1 + 2 * n };
    let cols: Vec<String> = (0..n)
        .flat_map(|j| if exact { vec![format!("lo{j}")] } else { vec![format!("lo{j}"), format!("hi{j}")] })
        .collect();
    let on = key_cols
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let c = D.quote(&c.name);
            if exact { format!("b.{c} = p.lo{j}") } else { format!("b.{c} BETWEEN p.lo{j} AND p.hi{j}") }
        })
        .collect::<Vec<_>>()
        .join(" AND ");
    let tuple = format!("({})", vec!["?"; width].join(", "));
    let mut out = Vec::new();
    for chunk in rows.chunks((30_000 / width).clamp(1, 500)) {
        // CROSS JOIN keeps the probes outside: each is a seek on the key's index.
        let sql = format!(
            "WITH p(i, {}) AS (VALUES {}) SELECT p.i, {} FROM p CROSS JOIN {} b WHERE {on}",
            cols.join(", "),
            vec![tuple.as_str(); chunk.len()].join(", "),
            D.list("b.", key_cols.iter().map(|c| c.name.as_str())),
            D.table(t),
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (i, probe) in chunk {
            q = q.bind(*i as i64);
            for p in probe {
                q = bind_stored(q, p.lo.clone());
                if !exact {
                    q = bind_stored(q, p.hi.clone());
                }
            }
        }
        for r in q.fetch_all(&mut *conn).await.map_err(db(what))? {
            let i = r.get::<i64, _>(0) as usize;
            if let Some(cells) = (0..n).map(|j| stored_cell(&r, 1 + j)).collect::<Option<Vec<_>>>() {
                out.push((i, cells));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(p: &[Probe]) -> Vec<String> {
        p.iter()
            .map(|p| match (&p.lo, &p.hi) {
                (Stored::Text(lo), Stored::Text(hi)) if lo == hi => lo.clone(),
                (Stored::Text(lo), _) => format!("{lo}…"),
                (other, _) => format!("{other:?}"),
            })
            .collect()
    }

    fn parsed(s: &str, kind: ColumnType) -> Value {
        Value::parse_text(s, kind).expect("a valid spelling")
    }

    fn between(s: &str, p: &Probe) -> bool {
        match (&p.lo, &p.hi) {
            (Stored::Text(lo), Stored::Text(hi)) => lo.as_str() <= s && s <= hi.as_str(),
            _ => false,
        }
    }

    /// Every spelling parses to `v` and is found by one of its probes.
    fn all_probed(kind: ColumnType, v: &Value, spellings: &[&str]) {
        let p = probes(v).expect("probed");
        for s in spellings {
            let read = Stored::Text((*s).into()).value(kind);
            assert!(read.is_some_and(|r| r.same(v)), "{s}");
            assert!(p.iter().any(|p| between(s, p)), "{s} is not probed: {:?}", texts(&p));
        }
    }

    #[test]
    fn timestamps_are_probed_down_to_their_last_digit() {
        let p = probes(&parsed("2024-02-29 12:00:00.5", ColumnType::Timestamp)).expect("probed");
        assert_eq!(texts(&p), ["2024-02-29 12:00:00.5…", "2024-02-29T12:00:00.5…"]);
        let p = probes(&parsed("2024-02-29 09:05:07", ColumnType::Timestamp)).expect("probed");
        assert_eq!(
            texts(&p),
            [
                "2024-02-29 09:05:07.0…",
                "2024-02-29 09:05:07",
                "2024-02-29 9:05:07.0…",
                "2024-02-29 9:05:07",
                "2024-02-29T09:05:07.0…",
                "2024-02-29T09:05:07",
                "2024-02-29T9:05:07.0…",
                "2024-02-29T9:05:07"
            ]
        );
    }

    #[test]
    fn every_spelling_hubsync_reads_as_the_value_is_probed() {
        use ColumnType as T;
        let v = parsed("2024-02-29 12:00:00.5", T::Timestamp);
        all_probed(
            T::Timestamp,
            &v,
            &["2024-02-29 12:00:00.5", "2024-02-29T12:00:00.500", "2024-02-29 12:00:00.500000"],
        );
        let v = parsed("2024-02-29 12:01", T::Timestamp);
        all_probed(T::Timestamp, &v, &["2024-02-29 12:01", "2024-02-29T12:01:00", "2024-02-29 12:01:00.000"]);
        let v = parsed("2024-02-29", T::Timestamp);
        all_probed(T::Timestamp, &v, &["2024-02-29", "2024-02-29T00:00", "2024-02-29 00:00:00.0"]);
        let z = parsed("2024-02-29T12:00:00.5Z", T::TimestampTz);
        all_probed(
            T::TimestampTz,
            &z,
            &["2024-02-29T12:00:00.5Z", "2024-02-29 12:00:00.500000+00:00", "2024-02-29 12:00:00.5 UTC"],
        );
        let z = parsed("2024-02-29T12:01Z", T::TimestampTz);
        all_probed(
            T::TimestampTz,
            &z,
            &["2024-02-29T12:01Z", "2024-02-29 12:01:00+00:00", "2024-02-29 12:01 UTC", "2024-02-29 12:01:00.0-00:00"],
        );
        let t = parsed("09:30", T::Time);
        all_probed(T::Time, &t, &["09:30", "9:30:00", "09:30:00.000000"]);
        let d = parsed("2024-02-09", T::Date);
        all_probed(T::Date, &d, &["2024-02-09", "2024-2-09", "2024-02-9", "2024-2-9"]);
        let u = parsed("0e9c1d2a-3b4c-4d5e-8f60-718293a4b5c6", T::Uuid);
        all_probed(
            T::Uuid,
            &u,
            &[
                "0E9C1D2A-3B4C-4D5E-8F60-718293A4B5C6",
                "{0e9c1d2a-3b4c-4d5e-8f60-718293a4b5c6}",
                "0e9c1d2a3b4c4d5e8f60718293a4b5c6",
            ],
        );
        assert_eq!(probes(&u).expect("probed").last().expect("a probe").lo.value(T::Uuid), Some(u));
        all_probed(T::Decimal, &Value::Decimal("1.50".into()), &["1.5", "1.50", "1.500000"]);
        all_probed(T::Decimal, &Value::Decimal("80".into()), &["80", "80.0", "80.00"]);
    }

    #[test]
    fn a_keys_envelope_holds_all_its_probes() {
        for v in [
            parsed("2024-02-29 09:00", ColumnType::Timestamp),
            parsed("2024-02-29 09:07:03.25", ColumnType::Timestamp),
            parsed("2024-02-29 00:00", ColumnType::Timestamp),
            parsed("2024-02-29 00:00Z", ColumnType::TimestampTz),
            parsed("2024-02-09", ColumnType::Date),
        ] {
            let Probe { lo: Stored::Text(lo), hi: Stored::Text(hi) } = envelope(&v) else { panic!("{v:?}") };
            for p in probes(&v).expect("probed") {
                let (Stored::Text(plo), Stored::Text(phi)) = (&p.lo, &p.hi) else { panic!("{p:?}") };
                assert!(&lo <= plo && phi <= &hi, "{v:?}: {p:?} outside {lo}…");
            }
        }
    }

    #[test]
    fn probes_stay_narrow() {
        // A decimal's probes hold no other value of its scale.
        let p = probes(&Value::Decimal("1.50".into())).expect("probed");
        assert_eq!(texts(&p), ["1.5", "1.50…"]);
        assert!(!p.iter().any(|p| between("1.51", p) || between("1.55", p)));
        // A time with a fraction: no other tenth of its second.
        let p = probes(&parsed("12:00:00.5", ColumnType::Time)).expect("probed");
        assert!(!p.iter().any(|p| between("12:00:00.6", p) || between("12:00:00.4", p)));
        assert!(probes(&Value::Int(5)).is_none());
        assert!(probes(&Value::Text("x".into())).is_none());
    }
}
