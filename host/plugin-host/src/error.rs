//! Errors of the plugin runtime: each names the plugin and the cause.

use std::time::Duration;

use hubsync_core::PluginRole;

/// Everything that can go wrong loading or calling a plugin. The host keeps
/// running after any of them; a failed instance is discarded.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The plugin file could not be read.
    #[error("plugin {plugin}: cannot read the file: {source}")]
    Read {
        /// The plugin.
        plugin: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No built-in plugin has that name.
    #[error("there is no built-in plugin {name:?}; the built-ins are {known}")]
    UnknownBuiltin {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// The bytes are not WebAssembly at all.
    #[error(
        "plugin {plugin}: not a WebAssembly file (it does not start with \\0asm); give the .wasm component the build produced"
    )]
    NotWasm {
        /// The plugin.
        plugin: String,
    },
    /// A core module, not a component.
    #[error(
        "plugin {plugin}: this is a core WebAssembly module, not a component; build it with `cargo build --release --target wasm32-wasip2` (or wrap it with `wasm-tools component new`)"
    )]
    NotAComponent {
        /// The plugin.
        plugin: String,
    },
    /// The component is invalid or could not be compiled.
    #[error("plugin {plugin}: the component is malformed or cannot be compiled: {cause}")]
    Malformed {
        /// The plugin.
        plugin: String,
        /// What wasmtime said.
        cause: String,
    },
    /// The component exports none of hubsync's interfaces.
    #[error(
        "plugin {plugin}: not a hubsync plugin: it exports none of the hubsync:plugin interfaces (it exports: {exports}); build it against wit/hubsync-plugin.wit, for example with `hubsync plugin new`"
    )]
    NotAPlugin {
        /// The plugin.
        plugin: String,
        /// What it exports instead.
        exports: String,
    },
    /// Built against another version of the contract.
    #[error(
        "plugin {plugin}: built against hubsync:plugin@{found}, but this hubsync speaks hubsync:plugin@{expected}; rebuild the plugin with a matching PDK"
    )]
    ContractVersion {
        /// The plugin.
        plugin: String,
        /// The version it was built against.
        found: String,
        /// The version this host implements.
        expected: String,
    },
    /// A plugin of one role was used where another is needed.
    #[error("plugin {plugin}: implements the {found} world, but a {expected} plugin is needed here")]
    WrongWorld {
        /// The plugin.
        plugin: String,
        /// The role needed.
        expected: PluginRole,
        /// What the component implements (or "nothing complete").
        found: String,
    },
    /// The component does not fit the world it claims (missing or mistyped exports).
    #[error("plugin {plugin}: does not match the {role} world of hubsync:plugin@{contract}: {cause}")]
    Incompatible {
        /// The plugin.
        plugin: String,
        /// The role it claims.
        role: PluginRole,
        /// This host's contract version.
        contract: &'static str,
        /// What wasmtime said.
        cause: String,
    },
    /// The plugin rejected its configuration.
    #[error("plugin {plugin}: bad configuration: {message}")]
    Config {
        /// The plugin.
        plugin: String,
        /// The plugin's own message.
        message: String,
    },
    /// The plugin returned an error for a call.
    #[error("plugin {plugin}: {call} failed: {message}")]
    Failed {
        /// The plugin.
        plugin: String,
        /// Which call.
        call: &'static str,
        /// The plugin's own message.
        message: String,
    },
    /// The plugin answered, but not as the contract requires.
    #[error("plugin {plugin}: {call} broke the contract: {message}")]
    BadAnswer {
        /// The plugin.
        plugin: String,
        /// Which call.
        call: &'static str,
        /// What was wrong.
        message: String,
    },
    /// The deterministic CPU budget ran out.
    #[error(
        "plugin {plugin}: {call} used up its CPU budget ({fuel} fuel units) and was stopped; it may loop forever, or the budget is too small for this batch: raise the plugin's `limits = {{ fuel_per_item = … }}` in the group"
    )]
    OutOfFuel {
        /// The plugin.
        plugin: String,
        /// Which call.
        call: &'static str,
        /// The budget it had.
        fuel: u64,
    },
    /// The wall-clock deadline passed.
    #[error(
        "plugin {plugin}: {call} ran past its deadline of {deadline:?} and was stopped; if it needs longer, raise the plugin's `limits = {{ deadline_ms = … }}` in the group"
    )]
    Timeout {
        /// The plugin.
        plugin: String,
        /// Which call.
        call: &'static str,
        /// The deadline.
        deadline: Duration,
    },
    /// The memory cap was hit.
    #[error(
        "plugin {plugin}: {call} tried to grow its memory past the cap of {cap_bytes} bytes and was stopped; if it needs more, raise the plugin's `limits = {{ memory_mib = … }}` in the group"
    )]
    OutOfMemory {
        /// The plugin.
        plugin: String,
        /// Which call.
        call: &'static str,
        /// The cap.
        cap_bytes: usize,
    },
    /// The guest trapped (a Rust guest's panic ends here).
    #[error("plugin {plugin}: {call} crashed ({trap}){}", stderr_suffix(.stderr))]
    Trapped {
        /// The plugin.
        plugin: String,
        /// Which call.
        call: &'static str,
        /// The trap.
        trap: String,
        /// The last lines the plugin wrote to stderr (a panic message, typically).
        stderr: String,
    },
    /// The limits asked for the plugin cannot be given.
    #[error("plugin {plugin}: bad limits: {message}")]
    Limits {
        /// The plugin.
        plugin: String,
        /// What is wrong with them.
        message: String,
    },
    /// The runtime itself could not be set up.
    #[error("the plugin runtime could not start: {0}")]
    Runtime(String),
}

fn stderr_suffix(s: &str) -> String {
    if s.is_empty() { String::new() } else { format!("; it wrote: {s}") }
}
