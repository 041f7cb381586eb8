//! Canonical text forms of values (dates, times, UUIDs, bytes, decimals):
//! what a cast to text writes and what parsing accepts.

/// Microseconds in a day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Days since 1970-01-01 for a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian (year, month, day) of a day number since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// `YYYY-MM-DD`.
pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(i64::from(days));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `HH:MM:SS` with `.ffffff` when there are microseconds.
pub fn format_time(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if frac == 0 { format!("{h:02}:{m:02}:{s:02}") } else { format!("{h:02}:{m:02}:{s:02}.{frac:06}") }
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]`.
pub fn format_timestamp(micros: i64) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {}", format_time(micros.rem_euclid(MICROS_PER_DAY)))
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]+00:00` (always UTC).
pub fn format_timestamptz(micros: i64) -> String {
    format!("{}+00:00", format_timestamp(micros))
}

/// Shortest text that parses back to the same float.
pub fn format_float(f: f64) -> String {
    let s = format!("{f:?}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

/// Lower-case hex, two digits a byte.
pub fn format_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub fn format_uuid(u: u128) -> String {
    let h = format!("{u:032x}");
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parse `YYYY-MM-DD` (a leading `-` for years before 1 BC is allowed).
pub fn parse_date(s: &str) -> Option<i32> {
    let (neg, rest) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let mut parts = rest.splitn(3, '-');
    let y = digits(parts.next()?)?;
    let m = u32::try_from(digits(parts.next()?)?).ok()?;
    let d = u32::try_from(digits(parts.next()?)?).ok()?;
    let y = if neg { -y } else { y };
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    i32::try_from(days_from_civil(y, m, d)).ok()
}

/// Parse `HH:MM[:SS[.f…]]` into microseconds since midnight.
pub fn parse_time(s: &str) -> Option<i64> {
    let (hms, frac) = s.split_once('.').map_or((s, ""), |(a, b)| (a, b));
    let mut parts = hms.split(':');
    let h = digits(parts.next()?)?;
    let m = digits(parts.next()?)?;
    let sec = parts.next().map_or(Some(0), digits)?;
    if parts.next().is_some() || h > 23 || m > 59 || sec > 59 || frac.len() > 6 {
        return None;
    }
    let micros = if frac.is_empty() { 0 } else { digits(frac)? * 10_i64.pow(6 - frac.len() as u32) };
    Some(((h * 60 + m) * 60 + sec) * 1_000_000 + micros)
}

/// Parse `YYYY-MM-DD[ T]HH:MM:SS[.f…]` (no zone) into microseconds.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let (date, time) = s.split_once([' ', 'T']).unwrap_or((s, "00:00:00"));
    let days = i64::from(parse_date(date)?);
    days.checked_mul(MICROS_PER_DAY)?.checked_add(parse_time(time)?)
}

/// Parse a timestamp with a zone (`Z`, `+HH:MM`, `-HH:MM`, `+HH`) into UTC microseconds.
pub fn parse_timestamptz(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(local) = s.strip_suffix('Z').or_else(|| s.strip_suffix(" UTC")) {
        return parse_timestamp(local);
    }
    // The zone starts at the last '+' or '-' after the time part.
    let time_start = s.find([' ', 'T'])?;
    let zone_at = s[time_start..].rfind(['+', '-'])? + time_start;
    let (local, zone) = s.split_at(zone_at);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let zone = &zone[1..];
    let (zh, zm) = zone.split_once(':').unwrap_or((zone, "0"));
    let (zh, zm) = (digits(zh)?, digits(zm)?);
    if zh > 23 || zm > 59 {
        return None;
    }
    parse_timestamp(local)?.checked_sub(sign * (zh * 60 + zm) * 60 * 1_000_000)
}

/// Parse a UUID with or without dashes or braces.
pub fn parse_uuid(s: &str) -> Option<u128> {
    let hex: String = s.trim_matches(['{', '}']).chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}

/// Parse hex bytes (an optional `\x` or `0x` prefix is accepted).
pub fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.strip_prefix("\\x").or_else(|| s.strip_prefix("0x")).unwrap_or(s);
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Validate an exact decimal and return it in plain notation (`+` and
/// redundant leading zeros removed; trailing zeros kept, since they carry scale).
pub fn parse_decimal(s: &str) -> Option<String> {
    let s = s.trim();
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (body.contains('.') && frac.is_empty())
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let zero = int == "0" && frac.bytes().all(|b| b == b'0');
    let mut out = String::with_capacity(s.len() + 1);
    if neg && !zero {
        out.push('-');
    }
    out.push_str(int);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_across_eras() {
        for days in [-800_000, -719_468, -1, 0, 1, 11_016, 19_723, 2_932_896] {
            let s = format_date(days);
            assert_eq!(parse_date(&s), Some(days), "{s}");
        }
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2023-13-01"), None);
    }

    #[test]
    fn timestamps_parse_with_zones() {
        let t = parse_timestamp("2026-11-27 13:44:20.5").expect("ts");
        assert_eq!(format_timestamp(t), "2026-11-27 13:44:20.500000");
        assert_eq!(parse_timestamptz("2026-11-27T13:44:20.5Z"), Some(t));
        assert_eq!(parse_timestamptz("2026-11-27 15:44:20.5+02:00"), Some(t));
        assert_eq!(parse_timestamptz("2026-11-27 08:44:20.5-05"), Some(t));
        assert_eq!(format_timestamp(-1), "1969-12-31 23:59:59.999999");
        assert_eq!(parse_time("24:00:00"), None);
    }

    #[test]
    fn decimals_are_validated_not_rounded() {
        assert_eq!(parse_decimal("+007.50").as_deref(), Some("7.50"));
        assert_eq!(parse_decimal("-0.00").as_deref(), Some("0.00"));
        assert_eq!(parse_decimal(".5").as_deref(), Some("0.5"));
        assert_eq!(parse_decimal("1e5"), None);
        assert_eq!(parse_decimal("1."), None);
        assert_eq!(parse_decimal("-"), None);
        assert_eq!(
            parse_decimal("123456789012345678901234567890.123456789").as_deref(),
            Some("123456789012345678901234567890.123456789")
        );
    }
}
