//! A conflict policy that misbehaves on request, to test the sandbox:
//! `{"mode": "ok" | "loop" | "alloc" | "panic" | "stderr" | "wrong-count" | "skip"}`.

use hubsync_pdk::{Conflict, ConflictBatch, ConflictPolicy, Plugin, Resolution, export_conflict_policy, parse_config};
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    mode: Mode,
}

/// The plugin.
pub struct Misbehave {
    mode: Mode,
}

impl Plugin for Misbehave {
    const NAME: &'static str = "misbehave";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Misbehaves on request, for sandbox tests.";

    fn configure(config: &str) -> Result<Self, String> {
        let c: Config = parse_config(config)?;
        Ok(Misbehave { mode: c.mode })
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

export_conflict_policy!(Misbehave);
