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

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn labels(group: &str, member: &str) -> String {
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

    /// Add to the conflicts counter of a decision.
    pub fn add_decision(&self, group: &str, member: &str, decision: &str, by: f64) {
        if let Ok(mut c) = self.counters.lock() {
            let l = format!("{},decision=\"{}\"", labels(group, member), esc(decision));
            *c.entry(("hubsync_conflicts_total", l)).or_default() += by;
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
    /// are rendered as `hubsync_lease_holder` gauges; `plugins` are
    /// (group, plugin, stats) of the groups this instance has prepared.
    pub fn render(
        &self,
        leases: &[(String, String, String)],
        plugins: &[(String, String, hubsync_plugin_host::PluginStats)],
        instance: &str,
    ) -> String {
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
        for (name, help, get) in [
            ("hubsync_plugin_calls_total", "Plugin calls made by this instance.", 0),
            ("hubsync_plugin_fuel_total", "Fuel (wasm instructions) plugins consumed on this instance.", 1),
            ("hubsync_plugin_seconds_total", "Time spent in plugin calls on this instance.", 2),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (g, p, st) in plugins {
                let v = match get {
                    0 => st.calls as f64,
                    1 => st.fuel as f64,
                    _ => st.micros as f64 / 1e6,
                };
                let _ = writeln!(out, "{name}{{group=\"{}\",plugin=\"{}\"}} {v}", esc(g), esc(p));
            }
        }
        // What one instance of each plugin needs, to set the memory cap by.
        let name = "hubsync_plugin_memory_peak_bytes";
        let _ = writeln!(out, "# HELP {name} The largest linear memory an instance of the plugin reached.");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (g, p, st) in plugins {
            let _ = writeln!(out, "{name}{{group=\"{}\",plugin=\"{}\"}} {}", esc(g), esc(p), st.peak_memory_bytes);
        }
        let name = "hubsync_lease_holder";
        let _ = writeln!(out, "# HELP {name} 1 for each member being synced, by the instance holding its lease.");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (g, m, h) in leases {
            let _ = writeln!(out, "{name}{{{},instance=\"{}\"}} 1", labels(g, m), esc(h));
        }
        let _ = writeln!(out, "# HELP hubsync_up 1 while this instance serves.\n# TYPE hubsync_up gauge");
        let _ = writeln!(out, "hubsync_up{{instance=\"{}\"}} 1", instance.replace('"', "'"));
        out
    }
}

/// Append the agents' gauges: each agent online (1) or not, each of its
/// databases reachable (1) or not, as the agent last reported.
pub fn render_agents(out: &mut String, agents: &[(String, bool)], databases: &[(String, String, bool)]) {
    let name = "hubsync_agent_online";
    let _ = writeln!(out, "# HELP {name} 1 while the agent is connected to the service.\n# TYPE {name} gauge");
    for (a, on) in agents {
        let _ = writeln!(out, "{name}{{agent=\"{}\"}} {}", esc(a), u8::from(*on));
    }
    let name = "hubsync_agent_database_reachable";
    let _ =
        writeln!(out, "# HELP {name} 1 when the agent reached the database at its last check.\n# TYPE {name} gauge");
    for (a, d, r) in databases {
        let _ = writeln!(out, "{name}{{agent=\"{}\",database=\"{}\"}} {}", esc(a), esc(d), u8::from(*r));
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
        m.add_decision("g", "m\"1", "take-hub", 2.0);
        let stats =
            hubsync_plugin_host::PluginStats { calls: 3, fuel: 100, micros: 1_500_000, peak_memory_bytes: 1 << 20 };
        let text =
            m.render(&[("g".into(), "m\"1".into(), "i1".into())], &[("g".into(), "hub-wins 1.0".into(), stats)], "i1");
        assert!(
            text.contains("hubsync_conflicts_total{group=\"g\",member=\"m\\\"1\",decision=\"take-hub\"} 2"),
            "{text}"
        );
        assert!(text.contains("hubsync_plugin_seconds_total{group=\"g\",plugin=\"hub-wins 1.0\"} 1.5"), "{text}");
        assert!(
            text.contains("hubsync_plugin_memory_peak_bytes{group=\"g\",plugin=\"hub-wins 1.0\"} 1048576"),
            "{text}"
        );
        assert!(text.contains("hubsync_rows_down_total{group=\"g\",member=\"m\\\"1\"} 5"), "{text}");
        assert!(text.contains("hubsync_sync_duration_seconds_bucket{group=\"g\",member=\"m\\\"1\",le=\"0.25\"} 0"));
        assert!(text.contains("le=\"0.5\"} 1"));
        assert!(text.contains("hubsync_lease_holder{group=\"g\",member=\"m\\\"1\",instance=\"i1\"} 1"));
    }
}
