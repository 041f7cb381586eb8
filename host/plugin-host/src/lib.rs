//! The sandboxed WebAssembly plugin runtime of hubsync: the only crate that
//! knows wasmtime.
//!
//! Plugins are components implementing one world of `wit/hubsync-plugin.wit`.
//! They get no filesystem, network, environment or inherited stdio (their
//! output goes to the log), a deterministic CPU budget per call (fuel), a
//! wall-clock deadline (epochs) and a memory cap. Any failure is a typed
//! [`PluginError`] naming the plugin; the host keeps serving other plugins.

mod bindings;
pub mod builtin;
mod cache;
mod convert;
mod error;
mod plugin;
mod runtime;
mod stdio;

pub use error::PluginError;

/// Where this build put the test plugins (`misbehave.wasm`, `future-contract.wasm`, …),
/// for other crates' tests.
#[doc(hidden)]
pub const TEST_PLUGINS_DIR: &str = env!("HUBSYNC_TEST_PLUGINS_DIR");
pub use plugin::{Plugin, PluginStats};
pub use runtime::{
    CONTRACT_VERSION, INTERPRETED_BYTES, LimitOverrides, Limits, MEMORY_CEILING_BYTES, Runtime, RuntimeConfig, Source,
};
