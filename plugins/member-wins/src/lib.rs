//! Built-in conflict policy `member-wins`: the member's change (row or delete) wins,
//! as in Data Sync's "Member wins"; with several members the member that syncs first wins.

use hubsync_pdk::{
    Conflict, ConflictBatch, ConflictPolicy, NoConfig, Plugin, Resolution, export_conflict_policy, parse_config,
};

/// The policy; it takes no configuration.
pub struct MemberWins;

impl Plugin for MemberWins {
    const NAME: &'static str = "member-wins";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "The member's change wins every conflict.";

    fn configure(config: &str) -> Result<Self, String> {
        parse_config::<NoConfig>(config)?;
        Ok(MemberWins)
    }
}

impl ConflictPolicy for MemberWins {
    fn resolve_one(&self, _: &ConflictBatch, _: &Conflict) -> Result<Resolution, String> {
        Ok(Resolution::TakeMember)
    }
}

export_conflict_policy!(MemberWins);
