//! The agent connection's wire contract: the route an agent opens its
//! WebSocket on, the headers that agree on a protocol version, the pings,
//! the frame limit, and the close codes (with what each tells the agent).
//! The service's end and the agent's end both read them from here.

use std::time::Duration;

/// The route agents connect to (`GET`, upgraded to a WebSocket).
pub const CONNECT_PATH: &str = "/api/v1/agent-connect";
/// The header carrying the protocol versions a side speaks (`MIN-MAX`),
/// and in the answer the one chosen.
pub const PROTOCOL_HEADER: &str = "hubsync-agent-protocol";
/// The header carrying the agent's hubsync version.
pub const VERSION_HEADER: &str = "hubsync-version";
/// How often each side pings the other.
pub const PING_EVERY: Duration = Duration::from_secs(5);
/// A connection silent for this long is dead.
pub const DEAD_AFTER: Duration = Duration::from_secs(20);
/// The largest frame (a batch of rows): larger than any batch the engine
/// makes under its default `batch_bytes`.
pub const MAX_FRAME_BYTES: usize = 1 << 30;
/// The WebSocket close code telling an agent it was retired.
pub const RETIRED_CODE: u16 = 4001;
/// The WebSocket close code telling an agent that another process
/// connected with its credential (one state folder used twice).
pub const REPLACED_CODE: u16 = 4002;
/// What [`REPLACED_CODE`] tells the agent.
pub const REPLACED: &str = "another agent process connected with this agent's credential (the same state folder \
                            copied to a second machine?); this one stops: run one agent per state folder";
/// What [`RETIRED_CODE`] (and a 401 at connect) tells the agent.
pub const RETIRED: &str = "this agent's credential is no longer valid: its key was regenerated or the agent was \
                           removed; connect again with a new key (`hubsync agent regenerate-key NAME` on the service)";

/// The `MIN-MAX` range of a [`PROTOCOL_HEADER`] value.
pub fn versions(header: Option<&str>) -> Option<(u32, u32)> {
    let (a, b) = header?.split_once('-')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_version_range_reads_with_or_without_spaces_and_nothing_else_does() {
        assert_eq!(super::versions(Some("1-2")), Some((1, 2)));
        assert_eq!(super::versions(Some(" 1 - 3 ")), Some((1, 3)));
        assert_eq!(super::versions(Some("2")), None);
        assert_eq!(super::versions(None), None);
    }
}
