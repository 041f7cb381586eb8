//! Plain SQL as an ordinary client, with no hubsync origin marker: what
//! `hubsync demo` uses to play the applications writing to its databases.

use hubsync_core::{ConnectorError, EngineKind};
use sqlx::{AssertSqlSafe, Executor};

/// Run `script` (statements separated by `;`) on the database at `url`,
/// as an application would: changes are captured as local changes.
pub async fn execute(url: &str, script: &str) -> Result<(), ConnectorError> {
    let connect = |e: sqlx::Error| ConnectorError::Connect { url: crate::redact(url), cause: e.to_string() };
    let scheme = url.split(':').next().unwrap_or_default();
    let script = AssertSqlSafe(script.to_owned());
    match scheme {
        #[cfg(feature = "sqlite")]
        "sqlite" => {
            use std::str::FromStr;
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(connect)?.create_if_missing(true);
            let mut conn = sqlx::ConnectOptions::connect(&options).await.map_err(connect)?;
            conn.execute(sqlx::raw_sql(script))
                .await
                .map_err(crate::common::db_error(EngineKind::Sqlite, "running SQL"))?;
        }
        #[cfg(feature = "postgres")]
        "postgres" | "postgresql" => {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url).await.map_err(connect)?;
            conn.execute(sqlx::raw_sql(script))
                .await
                .map_err(crate::common::db_error(EngineKind::Postgres, "running SQL"))?;
        }
        #[cfg(feature = "mysql")]
        "mysql" | "mariadb" => {
            let mut conn = <sqlx::MySqlConnection as sqlx::Connection>::connect(url).await.map_err(connect)?;
            conn.execute(sqlx::raw_sql(script))
                .await
                .map_err(crate::common::db_error(EngineKind::Mysql, "running SQL"))?;
        }
        #[cfg(feature = "mssql")]
        _ if crate::is_ado(url) || matches!(scheme, "mssql" | "sqlserver") => {
            crate::mssql::client_batch(url, &script.0).await?;
        }
        _ => return Err(ConnectorError::BadUrl(format!("{} is not a database URL hubsync knows", crate::redact(url)))),
    }
    Ok(())
}

/// A connection to the SQL Server at `url` (a URL or an ADO.NET string), as
/// an application holds one: tests and benchmarks write through it beside
/// hubsync, with transactions of their own.
#[cfg(feature = "mssql")]
pub async fn mssql_connect(
    url: &str,
) -> Result<tiberius::Client<tokio_util::compat::Compat<tokio::net::TcpStream>>, ConnectorError> {
    crate::mssql::client_connect(url).await
}

/// Run `sql` on the SQL Server at `url` as an application would and return
/// the rows of its first result, each cell as text (`None` for NULL).
#[cfg(feature = "mssql")]
pub async fn mssql_query(url: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>, ConnectorError> {
    crate::mssql::client_query(url, sql).await
}
