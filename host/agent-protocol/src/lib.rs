//! The agent protocol. A member database behind a firewall is reached
//! through an agent next to it, which connects out to the service; over
//! that connection the service sends connector calls and the agent runs
//! them against its database. This crate holds the messages and their
//! compact binary encoding ([`codec`], [`message`]), the service's side
//! ([`remote::Link`], a [`hubsync_core::Connector`] whose calls travel to
//! the agent) and the agent's side ([`executor::Executor`]).
//!
//! It knows nothing of the transport: it turns calls into frames and
//! frames into answers. The server crate (the service's end) and the client
//! crate (the agent's end) carry the frames over a
//! WebSocket on the service's own port.

pub mod codec;
pub mod executor;
pub mod message;
pub mod remote;

pub use executor::Executor;
pub use message::{Answer, Call, DatabaseState, ToAgent, ToService};
pub use remote::{Link, RemoteConnector};

/// The oldest protocol version this build speaks.
pub const PROTOCOL_MIN: u32 = 1;
/// The newest protocol version this build speaks. Version 2 adds
/// [`Call::Identity`]; on a version 1 link a database's identity is unknown.
/// Version 3 adds [`Call::Pending`]; on an older link the number of changes
/// waiting is unknown (progress shows no total). Version 4 adds
/// [`Call::PendingMany`] (a member's tables counted in one round trip, so
/// an idle member behind an agent costs one, not one per table) and
/// [`Call::ReadChangesSkipping`] (echoes come without their rows); on an
/// older link they fall back to a call per table and to whole echoes.
/// Version 5 adds [`Call::WritesOnlyTheirKeys`]; on an older link the
/// answer is no, and the engine looks up a batch only after the one before
/// it is written.
pub const PROTOCOL_MAX: u32 = 5;

/// How many calls may wait for the agent at once on one connection. More
/// callers wait for a slot: memory stays bounded however many members sync
/// through one agent, and the agent is never sent more than it can work on.
pub const MAX_IN_FLIGHT: usize = 8;

/// The protocol version two sides speak, given each side's range, or a
/// message saying which side to upgrade.
pub fn negotiate(ours: (u32, u32), theirs: (u32, u32), service_version: &str) -> Result<u32, String> {
    let (lo, hi) = (ours.0.max(theirs.0), ours.1.min(theirs.1));
    if lo <= hi {
        return Ok(hi);
    }
    let speaks = |(a, b): (u32, u32)| if a == b { format!("version {a}") } else { format!("versions {a} to {b}") };
    let fix = if theirs.1 < ours.0 {
        format!("the agent is too old: upgrade it to hubsync {service_version}")
    } else {
        format!("the agent is newer than the service: upgrade the service (it runs hubsync {service_version})")
    };
    Err(format!("this service speaks agent protocol {}; the agent speaks {}: {fix}", speaks(ours), speaks(theirs)))
}

/// What can go wrong with the protocol itself.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// A frame that does not decode: a bug or a corrupted connection.
    #[error("a malformed agent protocol frame: {0}; the connection is closed and made again")]
    Malformed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_negotiate_to_the_newest_common_one_or_say_who_upgrades() {
        assert_eq!(negotiate((1, 3), (2, 5), "1.0"), Ok(3));
        let old = negotiate((2, 3), (1, 1), "1.4").expect_err("too old");
        assert!(old.contains("speaks agent protocol versions 2 to 3") && old.contains("agent is too old"), "{old}");
        assert!(old.contains("hubsync 1.4"));
        let new = negotiate((1, 1), (2, 2), "1.0").expect_err("too new");
        assert!(new.contains("upgrade the service"), "{new}");
    }
}
