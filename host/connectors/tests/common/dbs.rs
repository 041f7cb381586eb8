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
    /// A fresh database (always there: the README's servers are required).
    pub async fn connect() -> Option<SqliteDb> {
        Some(Self::new().await)
    }

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
    /// A fresh database (always there: the README's servers are required).
    pub async fn connect() -> Option<PgDb> {
        Some(Self::new().await)
    }

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
    /// A fresh database (always there: the README's servers are required).
    pub async fn connect() -> Option<MysqlDb> {
        Some(Self::new().await)
    }

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

/// The SQL Server tests use: `HUBSYNC_TEST_MSSQL`, or the local Babelfish
/// (`../shared/tools/babelfish`, login `hubsync`).
pub fn mssql_base_url() -> String {
    std::env::var("HUBSYNC_TEST_MSSQL").unwrap_or_else(|_| {
        "mssql://hubsync:Hubsync-Test-1@127.0.0.1:1433/hubsync_test?trust_server_certificate=true".into()
    })
}

/// `url` with its database replaced by `db`.
pub fn mssql_url_for(url: &str, db: &str) -> String {
    let (main, query) = url.split_once('?').map_or((url, None), |(m, q)| (m, Some(q)));
    let base = match main.rfind('/') {
        Some(i) if i > main.find("://").map_or(0, |s| s + 2) => &main[..i],
        _ => main,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// A raw client on `url`, as an application would connect.
pub async fn mssql_raw(url: &str) -> tiberius::Client<tokio_util::compat::Compat<tokio::net::TcpStream>> {
    hubsync_connectors::client::mssql_connect(url).await.expect("connect to SQL Server")
}

/// Whether live SQL Server tests can run; when they cannot, says so loudly
/// (and fails instead when `HUBSYNC_REQUIRE_MSSQL` is set, as in CI).
pub async fn mssql_available() -> bool {
    let explicit = std::env::var("HUBSYNC_TEST_MSSQL").is_ok();
    let url = mssql_base_url();
    let hostport = url.split_once('@').map(|(_, r)| r).unwrap_or("").split(['/', '?']).next().unwrap_or("");
    let hostport = if hostport.contains(':') { hostport.to_owned() } else { format!("{hostport}:1433") };
    let up = matches!(
        tokio::time::timeout(std::time::Duration::from_secs(2), tokio::net::TcpStream::connect(&hostport)).await,
        Ok(Ok(_))
    );
    if !up {
        if explicit || std::env::var_os("HUBSYNC_REQUIRE_MSSQL").is_some() {
            panic!(
                "SQL Server at {hostport} is required (HUBSYNC_TEST_MSSQL / HUBSYNC_REQUIRE_MSSQL) but does not answer"
            );
        }
        // Written to stderr directly: test output capture does not hold it back.
        let _ = std::io::Write::write_fmt(
            &mut std::io::stderr(),
            format_args!(
                "\n*** SKIPPED: no SQL Server at {hostport}: the live SQL Server test did not run. Start Babelfish \
             (../shared/tools/babelfish/start.sh) or set HUBSYNC_TEST_MSSQL. ***\n"
            ),
        );
    }
    up
}

pub struct MssqlDb {
    name: String,
    pub url: String,
    pub connector: hubsync_connectors::Mssql,
}

impl MssqlDb {
    /// A fresh database, or `None` (said loudly) when no server runs.
    pub async fn connect() -> Option<MssqlDb> {
        if !mssql_available().await {
            return None;
        }
        let name = unique_name();
        // Babelfish refuses concurrent CREATE DATABASE ("tuple concurrently
        // updated"): one at a time per process, retried across processes.
        static CREATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _one = CREATING.lock().await;
        let mut admin = mssql_raw(&mssql_base_url()).await;
        for attempt in 0.. {
            let sql = format!("IF DB_ID('{name}') IS NOT NULL DROP DATABASE {name}; CREATE DATABASE {name}");
            match async { admin.simple_query(sql).await?.into_results().await }.await {
                Ok(_) => break,
                Err(e) if attempt < 20 && e.to_string().contains("concurrently") => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await
                }
                Err(e) => panic!("create database {name}: {e}"),
            }
        }
        let url = mssql_url_for(&mssql_base_url(), &name);
        let connector = hubsync_connectors::Mssql::open(&url).await.expect("open");
        Some(MssqlDb { name, url, connector })
    }

    /// Run one batch as an outside client.
    pub async fn batch(&self, sql: &str) -> Vec<Vec<tiberius::Row>> {
        let mut c = mssql_raw(&self.url).await;
        c.simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_results()
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

impl Drop for MssqlDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                let mut admin = mssql_raw(&mssql_base_url()).await;
                if let Ok(s) = admin.simple_query(format!("DROP DATABASE IF EXISTS {name}")).await {
                    let _ = s.into_results().await;
                }
            });
        })
        .join();
    }
}

#[async_trait::async_trait]
impl super::TestDb for MssqlDb {
    fn connector(&self) -> &dyn Connector {
        &self.connector
    }

    async fn exec(&self, sql: &str) {
        self.batch(sql).await;
    }

    fn ty(&self, kind: ColumnType) -> &'static str {
        match kind {
            ColumnType::Int => "bigint",
            ColumnType::Decimal => "decimal(12,2)",
            _ => "nvarchar(100)",
        }
    }

    fn q(&self, ident: &str) -> String {
        format!("[{}]", ident.replace(']', "]]"))
    }

    async fn objects(&self) -> Vec<String> {
        let rows = self
            .batch(
                "SELECT CAST(o.type AS nvarchar(10)) + ' ' + CAST(s.name AS nvarchar(128)) + '.' + CAST(o.name AS nvarchar(128)) \
                 FROM sys.objects o JOIN sys.schemas s ON s.schema_id = o.schema_id WHERE o.is_ms_shipped = 0 \
                 UNION ALL SELECT 'schema ' + CAST(name AS nvarchar(128)) FROM sys.schemas ORDER BY 1",
            )
            .await;
        rows.into_iter().flatten().map(|r| r.get::<&str, _>(0).unwrap_or_default().to_owned()).collect()
    }
}
