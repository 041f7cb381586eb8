//! `/api/v1/events`: what happens, as it happens, as server-sent events.
//! Each event's SSE name is its `type`; its data is the event as JSON.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{HistoryEntry, TableProgress};

/// A sync running now, and how far it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Running {
    /// The group.
    pub group: String,
    /// The member.
    pub member: String,
    /// The instance running it.
    pub instance: String,
    /// When it started, µs since the Unix epoch.
    pub since_micros: i64,
    /// Changes settled so far.
    pub changes_done: u64,
    /// The changes that waited when it started (absent when a database
    /// cannot tell).
    pub changes_total: Option<u64>,
    /// Progress per table.
    pub tables: Vec<TableProgress>,
}

/// One message of the `text/event-stream` as the wire carries it: its
/// name, its data (an [`Event`] as JSON, described by the `Event`
/// schema) and, for history entries, its id.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventMessage {
    /// The event's `type`: `snapshot`, `sync-started`, `progress`,
    /// `sync-ended`, `history`, `group-changed` or `agent-changed`.
    pub event: String,
    /// The event as JSON (schema `Event`).
    pub data: String,
    /// A history entry's id (send it back as `Last-Event-ID`).
    #[serde(default)]
    pub id: Option<String>,
}

/// One event of the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Event {
    /// Sent first on every connection (and again when a slow reader fell
    /// behind): every sync running now.
    Snapshot {
        /// The syncs running now.
        running: Vec<Running>,
    },
    /// A sync started.
    SyncStarted {
        /// The sync.
        sync: Running,
    },
    /// A running sync moved on (at most one a second per sync).
    Progress {
        /// The sync, as far as it is now.
        sync: Running,
    },
    /// A sync ended; its tables' results follow as `history` events.
    SyncEnded {
        /// The group.
        group: String,
        /// The member.
        member: String,
        /// The instance that ran it.
        instance: String,
    },
    /// A table sync was recorded (the SSE id is its history id: a client
    /// that reconnects with `Last-Event-ID` gets the entries it missed).
    History {
        /// The entry.
        entry: HistoryEntry,
    },
    /// A group was created, changed or removed.
    GroupChanged {
        /// The group.
        group: String,
        /// Its revision now; absent when it was removed.
        revision: Option<i64>,
    },
    /// An agent came online or went offline, or was added or removed.
    AgentChanged {
        /// The agent.
        agent: String,
        /// Whether it is connected now (absent: removed).
        online: Option<bool>,
    },
}

impl Event {
    /// The event's name on the wire (its `type`).
    pub fn name(&self) -> &'static str {
        match self {
            Event::Snapshot { .. } => "snapshot",
            Event::SyncStarted { .. } => "sync-started",
            Event::Progress { .. } => "progress",
            Event::SyncEnded { .. } => "sync-ended",
            Event::History { .. } => "history",
            Event::GroupChanged { .. } => "group-changed",
            Event::AgentChanged { .. } => "agent-changed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_the_type_on_the_wire() {
        let e = Event::SyncEnded { group: "g".into(), member: "m".into(), instance: "i".into() };
        let v = serde_json::to_value(&e).expect("serializes");
        assert_eq!(v.get("type").and_then(|t| t.as_str()), Some(e.name()));
        let back: Event = serde_json::from_value(v).expect("parses back");
        assert_eq!(back, e);
    }
}
