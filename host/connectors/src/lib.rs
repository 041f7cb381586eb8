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
#[cfg(feature = "mssql")]
mod mssql;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
pub mod secret;
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
mod watch;

#[allow(unused_imports)] // used only when an engine feature is off
use hubsync_core::EngineKind;
use hubsync_core::{ConnectOptions, Connector, ConnectorError};

#[cfg(feature = "mssql")]
pub use mssql::Mssql;
#[cfg(feature = "mssql")]
pub use mssql::datasync::{Announce, DataSyncDb};
#[cfg(feature = "mysql")]
pub use mysql::Mysql;
#[cfg(feature = "postgres")]
pub use postgres::Postgres;
#[cfg(feature = "sqlite")]
pub use sqlite::Sqlite;

/// Open a database from its URL: `sqlite://PATH`, `postgres://…`, `mysql://…`,
/// `mssql://…` or a SQL Server ADO.NET connection string (`Server=…;…`).
pub async fn open(url: &str) -> Result<Box<dyn Connector>, ConnectorError> {
    open_with(url, &ConnectOptions::default()).await
}

/// [`open`] with explicit connect and statement timeouts. A database that
/// cannot be reached fails within the connect timeout, saying why.
#[allow(unused_variables)] // `options` is unused when every engine is off
pub async fn open_with(url: &str, options: &ConnectOptions) -> Result<Box<dyn Connector>, ConnectorError> {
    let scheme = url.split_once("://").map(|(s, _)| s).or_else(|| url.split_once(':').map(|(s, _)| s));
    let scheme = if is_ado(url) { Some("mssql") } else { scheme };
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
        Some("mssql" | "sqlserver") => {
            #[cfg(feature = "mssql")]
            return Ok(Box::new(Mssql::open_with(url, options).await?));
            #[cfg(not(feature = "mssql"))]
            return Err(ConnectorError::NotCompiledIn(EngineKind::Mssql, "mssql"));
        }
        _ => Err(ConnectorError::BadUrl(format!(
            "{} is not a database URL hubsync knows; use sqlite://PATH, postgres://USER@HOST/DB, mysql://USER@HOST/DB, \
             mssql://USER:PASSWORD@HOST/DB or a SQL Server connection string (Server=…;Database=…)",
            redact(url)
        ))),
    }
}

/// The connection string with its password replaced by `***`. Values may
/// be quoted (`'…'`, `"…"`, `{…}`, the closing character doubled inside).
pub(crate) fn redact_ado(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else {
            out.push_str(rest);
            break;
        };
        let key = &rest[..eq];
        out.push_str(key);
        out.push('=');
        let value = &rest[eq + 1..];
        let trimmed = value.trim_start();
        let lead = value.len() - trimmed.len();
        let close = match trimmed.chars().next() {
            Some('{') => Some('}'),
            Some(q @ ('\'' | '"')) => Some(q),
            _ => None,
        };
        let end = match close {
            Some(c) => {
                // Past the closing character that is not doubled.
                let body = &trimmed[1..];
                let mut i = 0;
                let b = body.as_bytes();
                loop {
                    match body[i..].find(c) {
                        Some(j) if b.get(i + j + 1) == Some(&(c as u8)) => i += j + 2,
                        Some(j) => break lead + 1 + i + j + 1,
                        None => break value.len(),
                    }
                }
            }
            None => value.find(';').unwrap_or(value.len()),
        };
        let end = end.min(value.len());
        let k = key.trim().trim_start_matches(';').trim().to_ascii_lowercase();
        if matches!(k.as_str(), "password" | "pwd") {
            out.push_str("***");
        } else {
            out.push_str(&value[..end]);
        }
        rest = &value[end..];
        if let Some(r) = rest.strip_prefix(';') {
            out.push(';');
            rest = r;
        }
    }
    out
}

/// Whether `s` is an ADO.NET connection string (`Server=…;…`), which opens SQL Server.
pub fn is_ado(s: &str) -> bool {
    let Some((key, _)) = s.split_once('=') else { return false };
    matches!(
        key.trim().to_ascii_lowercase().as_str(),
        "server" | "data source" | "address" | "addr" | "network address"
    )
}

/// The URL (or SQL Server connection string) with any password replaced
/// by `***`, for messages.
pub fn redact(url: &str) -> String {
    if is_ado(url) {
        return redact_ado(url);
    }
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
