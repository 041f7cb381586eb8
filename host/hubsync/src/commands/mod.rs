//! One module per command (or command family): its arguments and its
//! `execute`. A command that works on a group file or on a server holds
//! both ways side by side, printing the same `hubsync-api` shapes.

pub mod agent;
pub mod apply;
pub mod conflicts;
pub mod datasync;
pub mod db;
pub mod demo;
pub mod export;
pub mod group;
pub mod log;
pub mod member;
pub mod plugin;
pub mod quarantine;
pub mod reinit;
pub mod schema;
pub mod serve;
pub mod status;
pub mod sync;
pub mod token;
pub mod verify;
