//! hubsync's database connectors: the only crate that speaks SQL.
//!
//! Each engine implements [`hubsync_core::Connector`]: introspection,
//! provisioning of tracking tables and triggers, gap-safe change reading,
//! no-echo batched apply, and destination table creation. Engines sit
//! behind cargo features; [`open`] picks one from a URL.

pub mod client;
mod common;
#[cfg(feature = "sqlite")]
pub mod meta;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

#[allow(unused_imports)] // used only when an engine feature is off
use hubsync_core::EngineKind;
use hubsync_core::{ConnectOptions, Connector, ConnectorError};

#[cfg(feature = "mysql")]
pub use mysql::Mysql;
#[cfg(feature = "postgres")]
pub use postgres::Postgres;
#[cfg(feature = "sqlite")]
pub use sqlite::Sqlite;

/// Open a database from its URL: `sqlite://PATH`, `postgres://…`, `mysql://…`.
pub async fn open(url: &str) -> Result<Box<dyn Connector>, ConnectorError> {
    open_with(url, &ConnectOptions::default()).await
}

/// [`open`] with explicit connect and statement timeouts. A database that
/// cannot be reached fails within the connect timeout, saying why.
#[allow(unused_variables)] // `options` is unused when every engine is off
pub async fn open_with(url: &str, options: &ConnectOptions) -> Result<Box<dyn Connector>, ConnectorError> {
    let scheme = url.split_once("://").map(|(s, _)| s).or_else(|| url.split_once(':').map(|(s, _)| s));
    match scheme {
        Some("sqlite") => {
            #[cfg(feature = "sqlite")]
            return Ok(Box::new(Sqlite::open_with(url, options).await?));
            #[cfg(not(feature = "sqlite"))]
            return Err(ConnectorError::NotCompiledIn(EngineKind::Sqlite, "sqlite"));
        }
        Some("postgres" | "postgresql") => {
            #[cfg(feature = "postgres")]
            return Ok(Box::new(Postgres::open_with(url, options).await?));
            #[cfg(not(feature = "postgres"))]
            return Err(ConnectorError::NotCompiledIn(EngineKind::Postgres, "postgres"));
        }
        Some("mysql" | "mariadb") => {
            #[cfg(feature = "mysql")]
            return Ok(Box::new(Mysql::open_with(url, options).await?));
            #[cfg(not(feature = "mysql"))]
            return Err(ConnectorError::NotCompiledIn(EngineKind::Mysql, "mysql"));
        }
        _ => Err(ConnectorError::BadUrl(format!(
            "{} is not a database URL hubsync knows; use sqlite://PATH, postgres://USER@HOST/DB or mysql://USER@HOST/DB",
            redact(url)
        ))),
    }
}

/// The URL with any password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
