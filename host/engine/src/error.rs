//! What can go wrong loading, preparing and running sync groups.

use hubsync_core::ConnectorError;
use hubsync_plugin_host::PluginError;

/// An engine failure. Messages name the group, member or table and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The group file cannot be read.
    #[error("cannot read {path}: {cause}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        cause: std::io::Error,
    },
    /// The group file is not valid TOML or does not match the format.
    #[error("{path} is not a valid group file: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The definitions are well-formed but not usable.
    #[error("the group definitions have problems:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
    /// A group, member or table named on the command line does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A database operation failed.
    #[error("{context}: {cause}")]
    Database {
        /// Which group, member or table.
        context: String,
        /// The connector's error.
        cause: ConnectorError,
    },
    /// A plugin failed to load or answer.
    #[error("{context}: {cause}")]
    Plugin {
        /// Which group and table.
        context: String,
        /// The plugin host's error.
        cause: PluginError,
    },
    /// A hub table and a member table do not match.
    #[error("{0}")]
    Schema(String),
    /// The sync was cancelled between two batches (what was read before is
    /// committed; the next sync goes on from there).
    #[error("cancelled: the batches before the cancel are committed; the next sync goes on from there")]
    Cancelled,
    /// The metadata database holds something this hubsync cannot use.
    #[error("the sync metadata is damaged: {0}; run `hubsync reinit` for the member named")]
    Metadata(String),
}

/// Attach context to connector errors.
pub(crate) trait Context<T> {
    /// Wrap the error with `context`.
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T, EngineError>;
}

impl<T> Context<T> for Result<T, ConnectorError> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T, EngineError> {
        self.map_err(|cause| EngineError::Database { context: context(), cause })
    }
}
