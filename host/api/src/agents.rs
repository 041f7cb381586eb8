//! Agents: `/agents`, `/agent-join`, `/agent-heartbeat`.

use crate::AgentState;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An agent to create.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    /// Its name (letters, digits, `_`, `-`, `.`).
    pub name: String,
}

/// An agent's key, shown this once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AgentKey {
    /// The agent.
    pub name: String,
    /// The one-time key: give it to `hubsync agent connect --key`. It works
    /// once; it is not stored.
    pub key: String,
}

/// An agent as the service knows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AgentView {
    /// Its name.
    pub name: String,
    /// Whether an agent joined with its current key.
    pub state: AgentState,
    /// Whether it was heard from in the last minute.
    pub online: bool,
    /// When it was created, µs since the Unix epoch.
    pub created_micros: i64,
    /// When its current key was made.
    pub key_micros: i64,
    /// When an agent joined with the current key.
    pub joined_micros: Option<i64>,
    /// When it was last heard from.
    pub last_contact_micros: Option<i64>,
    /// The address it connected from.
    pub address: Option<String>,
    /// The hubsync version it runs.
    pub version: Option<String>,
    /// The databases it registered, as it last reported them.
    pub databases: Vec<AgentDatabaseView>,
}

/// A database an agent registered. The service knows its name and tables;
/// its URL and credentials stay with the agent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AgentDatabaseView {
    /// Its name: members reach it as `agent://AGENT/NAME`.
    pub name: String,
    /// Its engine, once the agent reached it.
    pub engine: Option<String>,
    /// Whether the agent reached it at its last check.
    pub reachable: bool,
    /// Why not, when it did not.
    pub error: Option<String>,
    /// Its tables.
    pub tables: Vec<String>,
    /// When the agent reported this, µs since the Unix epoch.
    pub updated_micros: i64,
}

/// What an agent sends to join.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Join {
    /// The one-time key `POST /api/v1/agents` (or `regenerate-key`) gave.
    pub key: String,
    /// The agent's hubsync version.
    pub version: String,
}

/// What a joining agent gets: its long-lived credential, shown once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Joined {
    /// The agent's name.
    pub agent: String,
    /// The credential the agent authenticates with from now on.
    pub credential: String,
}

/// What an agent says when it checks in.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// The agent's hubsync version.
    pub version: String,
}

/// The service's answer to a heartbeat.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HeartbeatAnswer {
    /// The agent's name.
    pub agent: String,
    /// Seconds until the next heartbeat.
    pub interval_seconds: u64,
}
