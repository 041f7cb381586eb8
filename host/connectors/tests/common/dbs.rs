//! Fresh test databases on each engine: a SQLite file, and a database of
//! its own on the local PostgreSQL and MariaDB servers (dropped afterwards).

use std::sync::atomic::{AtomicU32, Ordering};

use hubsync_connectors::{Mysql, Postgres, Sqlite};
use hubsync_core::{ColumnType, Connector};
use sqlx::{AssertSqlSafe, Executor};

static N: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    format!("hubsync_test_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

pub struct SqliteDb {
    _dir: tempfile::TempDir,
    pub connector: Sqlite,
    pub raw: sqlx::SqlitePool,
}

impl SqliteDb {
    pub async fn new() -> SqliteDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
        let connector = Sqlite::open(&url).await.expect("open");
        let raw = sqlx::SqlitePool::connect(&url).await.expect("raw client");
        SqliteDb { _dir: dir, connector, raw }
    }
}

#[async_trait::async_trait]
impl super::TestDb for SqliteDb {
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

fn admin_url() -> String {
    std::env::var("HUBSYNC_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub struct PgDb {
    name: String,
    pub connector: Postgres,
    pub raw: sqlx::PgPool,
}

impl PgDb {
    pub async fn new() -> PgDb {
        let name = unique_name();
        let admin = sqlx::PgPool::connect(&admin_url()).await.expect("PostgreSQL is running (see README)");
        admin.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).await.expect("drop old");
        admin.execute(AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create database");
        admin.close().await;
        let base = admin_url();
        let url = format!("{}/{name}", &base[..base.rfind('/').expect("url has a database")]);
        let connector = Postgres::open(&url).await.expect("open");
        let raw = sqlx::PgPool::connect(&url).await.expect("raw client");
        PgDb { name, connector, raw }
    }

    /// The database's URL.
    pub fn url(&self) -> String {
        let base = admin_url();
        format!("{}/{}", &base[..base.rfind('/').expect("url has a database")], self.name)
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop needs an async client; use a runtime of its own on a plain thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok(admin) = sqlx::PgPool::connect(&admin_url()).await {
                    let _ = admin.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await;
                }
            });
        })
        .join();
    }
}

#[async_trait::async_trait]
impl super::TestDb for PgDb {
    fn connector(&self) -> &dyn Connector {
        &self.connector
    }

    async fn exec(&self, sql: &str) {
        self.raw.execute(AssertSqlSafe(sql.to_owned())).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn ty(&self, kind: ColumnType) -> &'static str {
        match kind {
            ColumnType::Int => "bigint",
            ColumnType::Decimal => "numeric(12,2)",
            _ => "text",
        }
    }

    fn q(&self, ident: &str) -> String {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }

    async fn objects(&self) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT kind || ' ' || name FROM ( \
               SELECT 'rel' AS kind, n.nspname || '.' || c.relname AS name FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
                 AND n.nspname NOT LIKE 'pg\\_%' \
               UNION ALL SELECT 'trigger', tgname FROM pg_trigger WHERE NOT tgisinternal \
               UNION ALL SELECT 'function', p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
               UNION ALL SELECT 'schema', nspname FROM pg_namespace) o ORDER BY 1",
        )
        .fetch_all(&self.raw)
        .await
        .expect("list objects")
    }
}

fn server_url() -> String {
    std::env::var("HUBSYNC_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

pub struct MysqlDb {
    name: String,
    pub connector: Mysql,
    pub raw: sqlx::MySqlPool,
}

impl MysqlDb {
    pub async fn new() -> MysqlDb {
        let name = unique_name();
        let admin = sqlx::MySqlPool::connect(&server_url()).await.expect("MariaDB is running (see README)");
        admin.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).await.expect("drop old");
        admin.execute(AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create database");
        admin.close().await;
        let url = format!("{}/{name}", server_url());
        let connector = Mysql::open(&url).await.expect("open");
        let raw = sqlx::MySqlPool::connect(&url).await.expect("raw client");
        MysqlDb { name, connector, raw }
    }
}

impl Drop for MysqlDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok(admin) = sqlx::MySqlPool::connect(&server_url()).await {
                    let _ = admin.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).await;
                }
            });
        })
        .join();
    }
}

#[async_trait::async_trait]
impl super::TestDb for MysqlDb {
    fn connector(&self) -> &dyn Connector {
        &self.connector
    }

    async fn exec(&self, sql: &str) {
        self.raw.execute(AssertSqlSafe(sql.to_owned())).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn ty(&self, kind: ColumnType) -> &'static str {
        match kind {
            ColumnType::Int => "BIGINT",
            ColumnType::Decimal => "DECIMAL(12,2)",
            _ => "VARCHAR(100)",
        }
    }

    fn q(&self, ident: &str) -> String {
        format!("`{}`", ident.replace('`', "``"))
    }

    async fn objects(&self) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT CONCAT('table ', TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
             UNION ALL SELECT CONCAT('trigger ', TRIGGER_NAME) FROM information_schema.TRIGGERS \
             WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY 1",
        )
        .fetch_all(&self.raw)
        .await
        .expect("list objects")
    }
}
