//! Built-in conflict policy `hub-wins`: the hub's change (row or delete) wins,
//! as in Data Sync's "Hub wins".

use hubsync_pdk::{
    Conflict, ConflictBatch, ConflictPolicy, NoConfig, Plugin, Resolution, export_conflict_policy, parse_config,
};

/// The policy; it takes no configuration.
pub struct HubWins;

impl Plugin for HubWins {
    const NAME: &'static str = "hub-wins";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "The hub's change wins every conflict.";

    fn configure(config: &str) -> Result<Self, String> {
        parse_config::<NoConfig>(config)?;
        Ok(HubWins)
    }
}

impl ConflictPolicy for HubWins {
    fn resolve_one(&self, _: &ConflictBatch, _: &Conflict) -> Result<Resolution, String> {
        Ok(Resolution::TakeHub)
    }
}

export_conflict_policy!(HubWins);
