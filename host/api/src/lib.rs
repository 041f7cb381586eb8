//! The contract of hubsync's HTTP API (`/api/v1`): every request body,
//! query and answer, with its OpenAPI schema. The server takes and returns
//! these types, and every client compiles against them, so a renamed
//! field breaks the build, not a user.
//!
//! One module per resource; everything is re-exported at the root.
//! [`agent_link`] holds the wire contract of the agents' connection.

mod actions;
pub mod agent_link;
mod agents;
mod conflicts;
mod events;
mod groups;
mod history;
mod kinds;
mod members;
mod plugins;
mod problem;
mod quarantine;
mod replay;
mod schema;
mod sync;
mod tokens;

pub use actions::*;
pub use agents::*;
pub use conflicts::*;
pub use events::*;
pub use groups::*;
pub use history::*;
pub use kinds::*;
pub use members::*;
pub use plugins::*;
pub use problem::*;
pub use quarantine::*;
pub use replay::*;
pub use schema::*;
pub use sync::*;
pub use tokens::*;
