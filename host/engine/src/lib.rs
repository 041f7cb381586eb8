//! hubsync's sync engine: sync groups of a hub and members, sessions that
//! download hub changes and upload member changes, conflicts settled by
//! conflict-policy plugins, and the scheduler that runs groups on their
//! intervals.
//!
//! The engine talks to databases only through [`hubsync_core::Connector`]
//! and to plugins only through [`hubsync_plugin_host::Plugin`]; it keeps
//! anchors, the decision journal and history in the
//! [`hubsync_connectors::meta::MetaStore`].

mod error;
mod file;
mod follow;
mod group;
mod identity;
mod replay;
mod schedule;
mod session;
mod takeover;
mod verify;
mod view;
mod waiting;

pub use error::EngineError;
pub use file::{LoadedFile, load_file, parse_file};
pub use follow::follow;
pub use group::{Engine, Group, GroupReport, MemberReport, SyncControl, TableProgress, TableReport, snapshot};
pub use replay::ReplayedConflict;
pub use schedule::watch;
pub use takeover::TakeoverReport;
pub use verify::{Shown, TableVerdict, VerifyOptions};
