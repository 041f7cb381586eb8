//! The connector contract on SQLite (embedded; each test gets its own file).

mod common;

use hubsync_connectors::Sqlite;
use hubsync_core::{ColumnType, Connector};
use sqlx::{AssertSqlSafe, Executor};

struct Db {
    _dir: tempfile::TempDir,
    connector: Sqlite,
    raw: sqlx::SqlitePool,
}

impl Db {
    async fn new() -> Db {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
        let connector = Sqlite::open(&url).await.expect("open");
        let raw = sqlx::SqlitePool::connect(&url).await.expect("raw client");
        Db { _dir: dir, connector, raw }
    }
}

#[async_trait::async_trait]
impl common::TestDb for Db {
    fn connector(&self) -> &dyn Connector {
        &self.connector
    }

    async fn exec(&self, sql: &str) {
        self.raw.execute(AssertSqlSafe(sql.to_owned())).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn ty(&self, kind: ColumnType) -> &'static str {
        match kind {
            ColumnType::Int => "INTEGER",
            ColumnType::Decimal => "DECIMAL TEXT",
            ColumnType::Text => "TEXT",
            _ => "TEXT",
        }
    }

    fn q(&self, ident: &str) -> String {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }

    async fn objects(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master ORDER BY 1")
            .fetch_all(&self.raw)
            .await
            .expect("list objects")
    }
}

#[tokio::test]
async fn capture_and_deprovision() {
    common::capture_and_deprovision(&Db::new().await).await;
}

#[tokio::test]
async fn no_echo() {
    common::no_echo(&Db::new().await).await;
}

#[tokio::test]
async fn failed_apply_changes_nothing() {
    common::failed_apply_changes_nothing(&Db::new().await).await;
}

#[tokio::test]
async fn awkward_identifiers() {
    common::awkward_identifiers(&Db::new().await).await;
}

#[tokio::test]
async fn refusals() {
    common::refusals(&Db::new().await).await;
}

#[tokio::test]
async fn type_round_trip() {
    common::type_round_trip(&Db::new().await).await;
}
