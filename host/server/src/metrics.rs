//! Prometheus metrics, written in the text exposition format by hand (a
//! few counters and one histogram need no metrics framework).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds of the sync duration histogram, seconds.
const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters and histograms per group and member.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, String), f64>>,
    durations: Mutex<BTreeMap<String, Histogram>>,
}

fn labels(group: &str, member: &str) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    format!("group=\"{}\",member=\"{}\"", esc(group), esc(member))
}

const HELP: &[(&str, &str)] = &[
    ("hubsync_rows_down_total", "Rows written to members."),
    ("hubsync_rows_up_total", "Rows written to the hub."),
    ("hubsync_conflicts_total", "Conflicts settled by conflict policies."),
    ("hubsync_quarantined_total", "Changes set aside because they could not be synced."),
    ("hubsync_sync_errors_total", "Table syncs that failed."),
    ("hubsync_syncs_total", "Member syncs run by this instance."),
];

impl Metrics {
    /// Add to a counter of a group and member.
    pub fn add(&self, name: &'static str, group: &str, member: &str, by: f64) {
        if let Ok(mut c) = self.counters.lock() {
            *c.entry((name, labels(group, member))).or_default() += by;
        }
    }

    /// Record how long a member's sync took.
    pub fn observe(&self, group: &str, member: &str, seconds: f64) {
        if let Ok(mut d) = self.durations.lock() {
            let h = d.entry(labels(group, member)).or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += seconds;
        }
    }

    /// The exposition text; `leases` are (group, member, holder) rows and
    /// are rendered as `hubsync_lease_holder` gauges.
    pub fn render(&self, leases: &[(String, String, String)], instance: &str) -> String {
        let mut out = String::new();
        if let Ok(c) = self.counters.lock() {
            for (name, help) in HELP {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
                for ((n, l), v) in c.iter().filter(|((n, _), _)| n == name) {
                    let _ = writeln!(out, "{n}{{{l}}} {v}");
                }
            }
        }
        if let Ok(d) = self.durations.lock() {
            let name = "hubsync_sync_duration_seconds";
            let _ = writeln!(out, "# HELP {name} Duration of member syncs.\n# TYPE {name} histogram");
            for (l, h) in d.iter() {
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(out, "{name}_bucket{{{l},le=\"{b}\"}} {}", h.counts[i]);
                }
                let _ = writeln!(out, "{name}_bucket{{{l},le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "{name}_sum{{{l}}} {}\n{name}_count{{{l}}} {}", h.sum, h.count);
            }
        }
        let name = "hubsync_lease_holder";
        let _ = writeln!(out, "# HELP {name} 1 for each member being synced, by the instance holding its lease.");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (g, m, h) in leases {
            let esc = h.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(out, "{name}{{{},instance=\"{esc}\"}} 1", labels(g, m));
        }
        let _ = writeln!(out, "# HELP hubsync_up 1 while this instance serves.\n# TYPE hubsync_up gauge");
        let _ = writeln!(out, "hubsync_up{{instance=\"{}\"}} 1", instance.replace('"', "'"));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_in_the_text_format() {
        let m = Metrics::default();
        m.add("hubsync_rows_down_total", "g", "m\"1", 5.0);
        m.observe("g", "m\"1", 0.3);
        let text = m.render(&[("g".into(), "m\"1".into(), "i1".into())], "i1");
        assert!(text.contains("hubsync_rows_down_total{group=\"g\",member=\"m\\\"1\"} 5"), "{text}");
        assert!(text.contains("hubsync_sync_duration_seconds_bucket{group=\"g\",member=\"m\\\"1\",le=\"0.25\"} 0"));
        assert!(text.contains("le=\"0.5\"} 1"));
        assert!(text.contains("hubsync_lease_holder{group=\"g\",member=\"m\\\"1\",instance=\"i1\"} 1"));
    }
}
