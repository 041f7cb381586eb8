//! The client end of hubsync's HTTP API. [`Client`] speaks to a `hubsync
//! serve` over HTTP or HTTPS with a token, one method per route taking and
//! returning `hubsync-api`'s types (so a renamed field breaks the build of
//! every caller, not a user); [`agent`] is the agent's end of its
//! connection to the service.
//!
//! The CLI's `--server` commands, `hubsync agent`, the process tests,
//! tools and the dashboard use it. [`Local`] is a server in the same
//! process: the dashboard calls the API through it, with the signed-in
//! token, so a page can do nothing the API would not let that token do.

pub mod agent;
mod routes;
mod transport;

pub use transport::{CallError, Client, ClientError, Io, Local, LocalAnswer, Socket, segment};
