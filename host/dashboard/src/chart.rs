//! Charts drawn by the server as SVG (no script, no library): a group's
//! activity per interval, one bar per interval stacked by member.

use hubsync_api::{Activity, ActivityBucket};

use crate::view;

/// Drawing size, in SVG units.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 170.0;
/// Room for the axis labels.
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 8.0;

/// One bar segment.
pub(crate) struct Rect {
    pub(crate) x: String,
    pub(crate) y: String,
    pub(crate) w: String,
    pub(crate) h: String,
    /// `s0`…`s5`: the member's colour.
    pub(crate) class: String,
    /// Its tooltip: member, value, interval.
    pub(crate) title: String,
}

/// A chart ready for `chart.html`.
pub(crate) struct Chart {
    pub(crate) title: String,
    /// What it shows, in words (for screen readers).
    pub(crate) summary: String,
    pub(crate) rects: Vec<Rect>,
    /// The value at the top of the axis.
    pub(crate) y_max: String,
    /// Interval labels: x and text.
    pub(crate) x_labels: Vec<(String, String)>,
    /// Colour class and member.
    pub(crate) legend: Vec<(String, String)>,
    pub(crate) axis_y: String,
}

fn num(v: f64) -> String {
    format!("{v:.1}")
}

/// Bars of `value` per interval from `a.since_micros` to `until_micros`,
/// stacked by member (in `members` order); `unit` names the value.
pub(crate) fn stacked(
    title: &str,
    a: &Activity,
    until_micros: i64,
    members: &[String],
    value: fn(&ActivityBucket) -> f64,
    unit: &str,
) -> Chart {
    let bucket = (a.bucket_seconds * 1_000_000).max(1);
    let n = ((until_micros - a.since_micros) / bucket + 1).max(1) as usize;
    let mut totals = vec![0.0f64; n];
    for b in &a.buckets {
        let i = ((b.start_micros - a.since_micros) / bucket) as usize;
        if i < n {
            totals[i] += value(b);
        }
    }
    let max = totals.iter().cloned().fold(0.0, f64::max);
    let scale = if max > 0.0 { (HEIGHT - BOTTOM - TOP) / max } else { 0.0 };
    let slot = (WIDTH - LEFT) / n as f64;
    let mut stack = vec![0.0f64; n];
    let mut rects = Vec::new();
    for (mi, m) in members.iter().enumerate() {
        for b in a.buckets.iter().filter(|b| &b.member == m) {
            let i = ((b.start_micros - a.since_micros) / bucket) as usize;
            let v = value(b);
            if i >= n || v <= 0.0 {
                continue;
            }
            let h = (v * scale).max(1.0);
            let y = HEIGHT - BOTTOM - stack[i] - h;
            stack[i] += h;
            rects.push(Rect {
                x: num(LEFT + i as f64 * slot + slot * 0.1),
                y: num(y),
                w: num((slot * 0.8).max(1.0)),
                h: num(h),
                class: format!("s{}", mi % 6),
                title: format!("{m}: {} {unit}, from {}", pretty(v), view::at(b.start_micros)),
            });
        }
    }
    let every = (n / 6).max(1);
    let day = a.bucket_seconds < 3600 * 6;
    let x_labels = (0..n)
        .step_by(every)
        .map(|i| {
            let at = view::at(a.since_micros + i as i64 * bucket);
            // `2026-12-04 05:00:00 UTC`: the time within a day, the date over a week.
            let label = if day { at.get(11..16).unwrap_or_default() } else { at.get(5..10).unwrap_or_default() };
            (num(LEFT + i as f64 * slot), label.to_owned())
        })
        .collect();
    let total: f64 = totals.iter().sum();
    Chart {
        title: title.to_owned(),
        summary: format!("{title}: {} {unit} in all, at most {} in one interval", pretty(total), pretty(max)),
        rects,
        y_max: pretty(max),
        x_labels,
        legend: members.iter().enumerate().map(|(i, m)| (format!("s{}", i % 6), m.clone())).collect(),
        axis_y: num(HEIGHT - BOTTOM),
    }
}

/// A value as a label: whole numbers with separators, else one decimal.
fn pretty(v: f64) -> String {
    if v.fract() == 0.0 || v >= 100.0 { view::count(v.round() as i64) } else { format!("{v:.1}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_by_member_and_scale_to_the_tallest() {
        let b = |member: &str, i: i64, rows: i64| ActivityBucket {
            member: member.into(),
            start_micros: i * 3_600_000_000,
            syncs: 1,
            rows_down: rows,
            rows_up: 0,
            conflicts: 0,
            errors: 0,
            duration_ms: 0,
        };
        let a = Activity {
            since_micros: 0,
            bucket_seconds: 3600,
            buckets: vec![b("a", 0, 10), b("b", 0, 30), b("a", 2, 20)],
        };
        let c = stacked("Rows", &a, 3 * 3_600_000_000, &["a".into(), "b".into()], |b| b.rows_down as f64, "rows");
        assert_eq!(c.rects.len(), 3);
        assert_eq!(c.y_max, "40");
        let full = HEIGHT - BOTTOM - TOP;
        let h: Vec<f64> = c.rects.iter().map(|r| r.h.parse().expect("number")).collect();
        assert!((h[0] + h[2] - full).abs() < 0.2, "a and b stack to the top: {h:?}");
        assert!(c.rects[0].title.starts_with("a: 10 rows"));
    }
}
