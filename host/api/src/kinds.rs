//! The closed sets of words the API answers with: how a sync went and
//! what a conflict policy decided. (A token's role is [`crate::Role`].)

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How a sync, or one table of it, went (Data Sync's log levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Synced, nothing to report.
    Success,
    /// Synced, with warnings (rows quarantined, conflicts skipped…).
    Warning,
    /// Failed; the message says why.
    Error,
}

impl Level {
    /// The level of a sync that ended `ok` with `warnings` warnings.
    pub fn of(ok: bool, warnings: i64) -> Level {
        match (ok, warnings) {
            (false, _) => Level::Error,
            (true, 0) => Level::Success,
            (true, _) => Level::Warning,
        }
    }

    /// Its name on the wire and in the metadata (`success`, `warning`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Success => "success",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }

    /// The level named `s` (its [`Level::as_str`] name).
    pub fn parse(s: &str) -> Option<Level> {
        [Level::Success, Level::Warning, Level::Error].into_iter().find(|l| l.as_str() == s)
    }
}

/// What a conflict policy decided for one conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// The hub's row is written to the member.
    TakeHub,
    /// The member's row is written to the hub.
    TakeMember,
    /// A merged row is written to both.
    Merged,
    /// Neither side is changed; the reason says why.
    Skip,
}

impl Decision {
    /// Its recorded name: `take-hub`, `take-member`, `merged` or `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::TakeHub => "take-hub",
            Decision::TakeMember => "take-member",
            Decision::Merged => "merged",
            Decision::Skip => "skip",
        }
    }

    /// The decision of its recorded name (`take-hub`, `take-member`,
    /// `merged`, `skip`), or `None` for a name this version does not know.
    pub fn parse(s: &str) -> Option<Decision> {
        Some(match s {
            "take-hub" => Decision::TakeHub,
            "take-member" => Decision::TakeMember,
            "merged" => Decision::Merged,
            "skip" => Decision::Skip,
            _ => return None,
        })
    }
}

/// Where an agent stands with its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AgentState {
    /// Created or re-keyed: no agent has joined with the current key yet.
    WaitingForKey,
    /// An agent joined with the current key and holds its credential.
    Joined,
}

impl AgentState {
    /// Its name on the wire (`waiting-for-key`, `joined`).
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::WaitingForKey => "waiting-for-key",
            AgentState::Joined => "joined",
        }
    }
}

/// Which side a change was read on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The hub.
    Hub,
    /// A member.
    Member,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_on_the_wire_are_the_recorded_names() {
        for d in [Decision::TakeHub, Decision::TakeMember, Decision::Merged, Decision::Skip] {
            let wire = serde_json::to_value(d).expect("json");
            assert_eq!(Decision::parse(wire.as_str().expect("a string")), Some(d));
        }
        for l in [Level::Success, Level::Warning, Level::Error] {
            assert_eq!(serde_json::to_value(l).expect("json"), l.as_str());
            assert_eq!(Level::parse(l.as_str()), Some(l));
        }
        assert_eq!(Level::of(true, 0), Level::Success);
        assert_eq!(Level::of(true, 2), Level::Warning);
        assert_eq!(Level::of(false, 0), Level::Error);
        assert_eq!(Decision::parse("take-both"), None);
        for a in [AgentState::WaitingForKey, AgentState::Joined] {
            assert_eq!(serde_json::to_value(a).expect("json"), a.as_str());
        }
        assert_eq!(serde_json::to_value(Side::Hub).expect("json"), "hub");
    }
}
