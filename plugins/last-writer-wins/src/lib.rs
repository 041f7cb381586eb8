//! Built-in conflict policy `last-writer-wins`: the change recorded later
//! wins; equal times go to a configured side, so the outcome never depends on
//! sync order.

use hubsync_pdk::{Conflict, ConflictBatch, ConflictPolicy, Plugin, Resolution, export_conflict_policy, parse_config};
use serde::Deserialize;

/// Which side wins when both changes carry the same time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tie {
    /// The hub's change wins ties (the default).
    #[default]
    Hub,
    /// The member's change wins ties.
    Member,
}

/// Configuration: `{"tie": "hub"}` or `{"tie": "member"}`; `{}` means hub.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Which side wins ties.
    #[serde(default)]
    tie: Tie,
}

/// The policy.
pub struct LastWriterWins {
    tie: Tie,
}

impl Plugin for LastWriterWins {
    const NAME: &'static str = "last-writer-wins";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "The later change wins; ties go to the hub unless configured {\"tie\": \"member\"}.";

    fn configure(config: &str) -> Result<Self, String> {
        let c: Config = parse_config(config)?;
        Ok(LastWriterWins { tie: c.tie })
    }
}

impl ConflictPolicy for LastWriterWins {
    fn resolve_one(&self, _: &ConflictBatch, c: &Conflict) -> Result<Resolution, String> {
        Ok(match c.hub.changed_at.cmp(&c.member.changed_at) {
            std::cmp::Ordering::Greater => Resolution::TakeHub,
            std::cmp::Ordering::Less => Resolution::TakeMember,
            std::cmp::Ordering::Equal if self.tie == Tie::Hub => Resolution::TakeHub,
            std::cmp::Ordering::Equal => Resolution::TakeMember,
        })
    }
}

export_conflict_policy!(LastWriterWins);

#[cfg(test)]
mod tests {
    use super::*;
    use hubsync_pdk::{Change, ColumnType, TableSchema, Value};

    #[test]
    fn later_change_wins_and_ties_follow_config() {
        let table = TableSchema::new("t").key("id", ColumnType::Int);
        let batch = ConflictBatch::new(table, "m")
            .conflict(vec![Value::Int(1)], Change::row(vec![Value::Int(1)], 10, 0), Change::deleted(20, 1))
            .conflict(vec![Value::Int(2)], Change::deleted(30, 0), Change::row(vec![Value::Int(2)], 20, 1))
            .conflict(vec![Value::Int(3)], Change::deleted(5, 0), Change::deleted(5, 1));
        let hub = LastWriterWins::configure("{}").expect("config");
        assert_eq!(
            hub.resolve(batch.clone()).expect("resolve"),
            [Resolution::TakeMember, Resolution::TakeHub, Resolution::TakeHub]
        );
        let member = LastWriterWins::configure(r#"{"tie": "member"}"#).expect("config");
        assert_eq!(member.resolve(batch).expect("resolve")[2], Resolution::TakeMember);
        assert!(LastWriterWins::configure(r#"{"tie": "coin"}"#).is_err());
    }
}
