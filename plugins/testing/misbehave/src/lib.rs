//! A conflict policy that misbehaves on request, to test the sandbox:
//! `{"mode": "ok" | "loop" | "alloc" | "panic" | "stderr" | "wrong-count" | "skip" | "sleep" |
//! "poll-far-clock" | "read-stdin" | "fail-on-key", "key": N}`.

use hubsync_pdk::{
    Conflict, ConflictBatch, ConflictPolicy, Plugin, Resolution, Value, export_conflict_policy, parse_config,
};
use serde::Deserialize;

/// What to do when asked to resolve.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Behave: the hub wins.
    Ok,
    /// Spin forever.
    Loop,
    /// Allocate without bound.
    Alloc,
    /// Panic.
    Panic,
    /// Write to stderr, then behave.
    Stderr,
    /// Return no resolutions at all.
    WrongCount,
    /// Skip every conflict.
    Skip,
    /// Sleep for an hour (time spent in a WASI host call, not in wasm code).
    Sleep,
    /// Block on a monotonic-clock pollable that fires at the end of time.
    PollFarClock,
    /// Wait for input on stdin for ever (the sandbox's stdin is closed, so
    /// this spins through host calls).
    ReadStdin,
    /// Fail the call when a conflict's first key is the integer `key`;
    /// otherwise the hub wins.
    FailOnKey,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    mode: Mode,
    /// The key `fail-on-key` fails on.
    #[serde(default)]
    key: Option<i64>,
}

/// The plugin.
pub struct Misbehave {
    mode: Mode,
    key: Option<i64>,
}

impl Plugin for Misbehave {
    const NAME: &'static str = "misbehave";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Misbehaves on request, for sandbox tests.";

    fn configure(config: &str) -> Result<Self, String> {
        let c: Config = parse_config(config)?;
        Ok(Misbehave { mode: c.mode, key: c.key })
    }
}

impl ConflictPolicy for Misbehave {
    fn resolve_one(&self, _: &ConflictBatch, _: &Conflict) -> Result<Resolution, String> {
        Ok(Resolution::TakeHub)
    }

    fn resolve(&self, batch: ConflictBatch) -> Result<Vec<Resolution>, String> {
        match self.mode {
            Mode::Ok => {}
            Mode::Loop => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            Mode::Alloc => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            Mode::Panic => panic!("misbehave was asked to panic"),
            Mode::Stderr => eprintln!("misbehave says hello on stderr"),
            Mode::WrongCount => return Ok(Vec::new()),
            Mode::Sleep => std::thread::sleep(std::time::Duration::from_secs(3600)),
            Mode::PollFarClock => poll_far_clock(),
            Mode::ReadStdin => {
                use std::io::Read;
                let mut buf = [0u8; 64];
                while std::io::stdin().read(&mut buf).map_or(true, |n| n == 0) {}
            }
            Mode::FailOnKey => {
                let bad = |c: &Conflict| matches!(c.key.first(), Some(Value::Int(k)) if Some(*k) == self.key);
                if batch.conflicts.iter().any(bad) {
                    return Err(format!("misbehave fails on key {}", self.key.unwrap_or_default()));
                }
            }
            Mode::Skip => {
                return Ok(batch
                    .conflicts
                    .iter()
                    .map(|_| Resolution::Skip("misbehave skips everything".into()))
                    .collect());
            }
        }
        batch.conflicts.iter().map(|c| self.resolve_one(&batch, c)).collect()
    }
}

#[cfg(target_arch = "wasm32")]
fn poll_far_clock() {
    let far = wasip2::clocks::monotonic_clock::subscribe_instant(u64::MAX);
    wasip2::io::poll::poll(&[&far]);
}

#[cfg(not(target_arch = "wasm32"))]
fn poll_far_clock() {
    std::thread::sleep(std::time::Duration::from_secs(3600));
}

export_conflict_policy!(Misbehave);
