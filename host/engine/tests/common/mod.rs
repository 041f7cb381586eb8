//! Test databases on every engine (a SQLite file, a database of its own on
//! the local PostgreSQL and MariaDB, dropped afterwards), a plain SQL
//! client for each (the applications writing beside hubsync), group
//! definitions, and a connector wrapper that fails on request.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use hubsync_core::{
    Anchor, ApplyOp, ChangeBatch, Connector, ConnectorError, EngineKind, GroupConfig, IndexInfo, KeyState,
    MemberConfig, PolicyConfig, Row, SyncDirection, TableConfig, TableInfo, TableRef, TableSchema,
};
use hubsync_engine::Engine;
use sqlx::{AssertSqlSafe, Executor, Row as _};

static N: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    format!("hubsync_etest_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

fn pg_admin() -> String {
    std::env::var("HUBSYNC_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn mysql_server() -> String {
    std::env::var("HUBSYNC_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

fn mssql_server() -> String {
    std::env::var("HUBSYNC_TEST_MSSQL").unwrap_or_else(|_| {
        "mssql://hubsync:Hubsync-Test-1@127.0.0.1:1433/hubsync_test?trust_server_certificate=true".into()
    })
}

/// `url` (an `mssql://` URL) naming database `db` instead.
fn mssql_url_for(url: &str, db: &str) -> String {
    let (main, query) = url.split_once('?').map_or((url, None), |(m, q)| (m, Some(q)));
    let base = main.rfind('/').filter(|&i| i > "mssql://".len()).map_or(main, |i| &main[..i]);
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// Whether the SQL Server tests can run; says loudly when they cannot
/// (and fails when `HUBSYNC_TEST_MSSQL` or `HUBSYNC_REQUIRE_MSSQL` asks for one).
pub fn mssql_available() -> bool {
    let url = mssql_server();
    let hostport = url.split_once('@').map(|(_, r)| r).unwrap_or("").split(['/', '?']).next().unwrap_or("").to_owned();
    let hostport = if hostport.contains(':') { hostport } else { format!("{hostport}:1433") };
    let up = std::net::ToSocketAddrs::to_socket_addrs(&hostport)
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(2)).is_ok());
    if !up {
        if std::env::var_os("HUBSYNC_TEST_MSSQL").is_some() || std::env::var_os("HUBSYNC_REQUIRE_MSSQL").is_some() {
            panic!(
                "SQL Server at {hostport} is required (HUBSYNC_TEST_MSSQL / HUBSYNC_REQUIRE_MSSQL) but does not answer"
            );
        }
        // Written to stderr directly: test output capture does not hold it back.
        let _ = std::io::Write::write_fmt(
            &mut std::io::stderr(),
            format_args!(
                "\n*** SKIPPED: no SQL Server at {hostport}: the SQL Server part of this test did not run. Start \
             Babelfish (../shared/tools/babelfish/start.sh) or set HUBSYNC_TEST_MSSQL. ***\n"
            ),
        );
    }
    up
}

/// Which engine a test database runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    Mysql,
    /// SQL Server (Babelfish here); check [`mssql_available`] first.
    Mssql,
}

enum Raw {
    Sqlite(sqlx::SqlitePool),
    Pg(sqlx::PgPool),
    My(sqlx::MySqlPool),
    Ms(String),
}

/// Babelfish refuses concurrent CREATE DATABASE: one at a time per process.
static MSSQL_CREATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A fresh database and a plain client to it.
pub struct Db {
    pub kind: Kind,
    pub url: String,
    name: String,
    _dir: Option<tempfile::TempDir>,
    raw: Raw,
}

impl Db {
    pub async fn new(kind: Kind) -> Db {
        let name = unique_name();
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("tempdir");
                let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
                let opts: sqlx::sqlite::SqliteConnectOptions = url.parse().expect("url");
                let raw = sqlx::SqlitePool::connect_with(
                    opts.create_if_missing(true)
                        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                        .busy_timeout(std::time::Duration::from_secs(30)),
                )
                .await
                .expect("sqlite");
                Db { kind, url, name, _dir: Some(dir), raw: Raw::Sqlite(raw) }
            }
            Kind::Postgres => {
                let admin = sqlx::PgPool::connect(&pg_admin()).await.expect("PostgreSQL is running (see README)");
                admin.execute(AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create database");
                admin.close().await;
                let base = pg_admin();
                let url = format!("{}/{name}", &base[..base.rfind('/').expect("url has a database")]);
                let raw = sqlx::PgPool::connect(&url).await.expect("raw client");
                Db { kind, url, name, _dir: None, raw: Raw::Pg(raw) }
            }
            Kind::Mysql => {
                let admin = sqlx::MySqlPool::connect(&mysql_server()).await.expect("MariaDB is running (see README)");
                admin.execute(AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create database");
                admin.close().await;
                let url = format!("{}/{name}", mysql_server());
                let raw = sqlx::MySqlPool::connect(&url).await.expect("raw client");
                Db { kind, url, name, _dir: None, raw: Raw::My(raw) }
            }
            Kind::Mssql => {
                let _one = MSSQL_CREATING.lock().await;
                let sql = format!("IF DB_ID('{name}') IS NOT NULL DROP DATABASE {name}; CREATE DATABASE {name}");
                for attempt in 0.. {
                    match hubsync_connectors::client::execute(&mssql_server(), &sql).await {
                        Ok(()) => break,
                        Err(e) if attempt < 20 && e.to_string().contains("concurrently") => {
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await
                        }
                        Err(e) => panic!("create database {name}: {e}"),
                    }
                }
                let url = mssql_url_for(&mssql_server(), &name);
                Db { kind, url: url.clone(), name, _dir: None, raw: Raw::Ms(url) }
            }
        }
    }

    /// Run SQL as an application would.
    pub async fn exec(&self, sql: &str) {
        self.try_exec(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Run SQL as an application would, returning the driver's error.
    pub async fn try_exec(&self, sql: &str) -> Result<(), sqlx::Error> {
        match &self.raw {
            Raw::Sqlite(p) => p.execute(AssertSqlSafe(sql.to_owned())).await.map(|_| ()),
            Raw::Pg(p) => p.execute(AssertSqlSafe(sql.to_owned())).await.map(|_| ()),
            Raw::My(p) => p.execute(AssertSqlSafe(sql.to_owned())).await.map(|_| ()),
            Raw::Ms(url) => {
                hubsync_connectors::client::execute(url, sql).await.map_err(|e| sqlx::Error::Protocol(e.to_string()))
            }
        }
    }

    /// The first result of `sql` on SQL Server, as text.
    async fn ms_rows(url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
        hubsync_connectors::client::mssql_query(url, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// One integer from a query.
    pub async fn scalar(&self, sql: &str) -> i64 {
        let r = match &self.raw {
            Raw::Sqlite(p) => sqlx::query_scalar(AssertSqlSafe(sql.to_owned())).fetch_one(p).await,
            Raw::Pg(p) => sqlx::query_scalar(AssertSqlSafe(sql.to_owned())).fetch_one(p).await,
            Raw::My(p) => sqlx::query_scalar(AssertSqlSafe(sql.to_owned())).fetch_one(p).await,
            Raw::Ms(url) => {
                let rows = Self::ms_rows(url, sql).await;
                let cell = rows.first().and_then(|r| r.first()).cloned().flatten().unwrap_or_default();
                Ok(cell.parse().unwrap_or_else(|_| panic!("{sql}: {cell:?} is not an integer")))
            }
        };
        r.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// SQL an application would use to insert or update one `items` row.
    pub fn upsert_item(&self, id: i64, name: &str, qty: i64, price: &str) -> String {
        let values = format!("({id}, '{name}', {qty}, '{price}')");
        match self.kind {
            Kind::Mysql => format!(
                "INSERT INTO items (id, name, qty, price) VALUES {values} \
                 ON DUPLICATE KEY UPDATE name = VALUES(name), qty = VALUES(qty), price = VALUES(price)"
            ),
            Kind::Mssql => format!(
                "UPDATE items SET name = '{name}', qty = {qty}, price = '{price}' WHERE id = {id}; \
                 IF @@ROWCOUNT = 0 INSERT INTO items (id, name, qty, price) VALUES {values}"
            ),
            _ => format!(
                "INSERT INTO items (id, name, qty, price) VALUES {values} \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, qty = excluded.qty, price = excluded.price"
            ),
        }
    }

    /// Create the `items` table the tests use.
    pub async fn create_items(&self) {
        self.exec(match self.kind {
            Kind::Sqlite => "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, price DECIMAL TEXT)",
            Kind::Postgres => "CREATE TABLE items (id bigint PRIMARY KEY, name text, qty bigint, price numeric(12,2))",
            Kind::Mysql => {
                "CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(64), qty BIGINT, price DECIMAL(12,2))"
            }
            Kind::Mssql => {
                "CREATE TABLE items (id bigint PRIMARY KEY, name nvarchar(64), qty bigint, price decimal(12,2))"
            }
        })
        .await;
    }

    /// Every row of `items`, read directly (not through hubsync):
    /// id → (name, qty, price with its scale trimmed).
    pub async fn items(&self) -> BTreeMap<i64, Item> {
        let sql = match self.kind {
            Kind::Mysql => "SELECT id, name, qty, CAST(price AS CHAR) FROM items",
            Kind::Postgres => "SELECT id, name, qty, price::text FROM items",
            Kind::Sqlite => "SELECT id, name, qty, CAST(price AS TEXT) FROM items",
            Kind::Mssql => "SELECT id, name, qty, CAST(price AS nvarchar(40)) FROM items",
        };
        let rows: Vec<RawItem> = match &self.raw {
            Raw::Sqlite(p) => sqlx::query(sql)
                .fetch_all(p)
                .await
                .expect("read")
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                .collect(),
            Raw::Pg(p) => sqlx::query(sql)
                .fetch_all(p)
                .await
                .expect("read")
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                .collect(),
            Raw::My(p) => sqlx::query(sql)
                .fetch_all(p)
                .await
                .expect("read")
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                .collect(),
            Raw::Ms(url) => Self::ms_rows(url, sql)
                .await
                .into_iter()
                .map(|r| {
                    let int = |c: &Option<String>| c.as_ref().map(|v| v.parse::<i64>().expect("integer"));
                    (int(&r[0]).unwrap_or_default(), r[1].clone(), int(&r[2]), r[3].clone())
                })
                .collect(),
        };
        rows.into_iter()
            .map(|(id, name, qty, price)| {
                (id, Item { name, qty, price: price.map(|p| hubsync_core::canonical_decimal(&p).into_owned()) })
            })
            .collect()
    }
}

/// A row of `items` as read: id, name, qty, price as text.
type RawItem = (i64, Option<String>, Option<i64>, Option<String>);

/// One row of `items` without its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub name: Option<String>,
    pub qty: Option<i64>,
    pub price: Option<String>,
}

impl Drop for Db {
    fn drop(&mut self) {
        let (name, kind) = (self.name.clone(), self.kind);
        if kind == Kind::Sqlite {
            return;
        }
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if kind == Kind::Postgres {
                    if let Ok(admin) = sqlx::PgPool::connect(&pg_admin()).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = admin.execute(AssertSqlSafe(sql)).await;
                    }
                } else if kind == Kind::Mssql {
                    let _ = hubsync_connectors::client::execute(
                        &mssql_server(),
                        &format!("DROP DATABASE IF EXISTS {name}"),
                    )
                    .await;
                } else if let Ok(admin) = sqlx::MySqlPool::connect(&mysql_server()).await {
                    let _ = admin.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).await;
                }
            });
        })
        .join();
    }
}

/// A group syncing `items` between `hub` and `members` (named m0, m1, …).
pub fn group(name: &str, hub: &Db, members: &[&Db], policy: &str, config: serde_json::Value) -> GroupConfig {
    GroupConfig {
        name: name.into(),
        hub: hub.url.clone(),
        members: members
            .iter()
            .enumerate()
            .map(|(i, m)| MemberConfig {
                name: format!("m{i}"),
                url: m.url.clone(),
                direction: SyncDirection::default(),
                column_filter: None,
                schema_map: None,
                connect_timeout_seconds: None,
                statement_timeout_seconds: None,
            })
            .collect(),
        tables: vec![TableConfig { name: "items".into(), namespace: None, columns: vec![], conflict_policy: None }],
        conflict_policy: PolicyConfig { plugin: policy.into(), config, limits: None },
        interval_seconds: None,
        follow_changes: false,
        change_poll_milliseconds: 250,
        batch_rows: 7,
        batch_bytes: 64 << 20,
        retention_days: 45,
        connect_timeout_seconds: None,
        statement_timeout_seconds: None,
    }
}

/// An engine with its metadata in a temporary folder.
pub struct TestEngine {
    pub engine: Engine,
    _dir: tempfile::TempDir,
}

pub async fn engine() -> TestEngine {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("meta.db").display());
    TestEngine { engine: Engine::open(&url, None).await.expect("engine"), _dir: dir }
}

/// Sync every member in order until a whole round writes nothing and
/// holds nothing back; at most `max` rounds may write. Rounds that only
/// wait for PostgreSQL (changes held back behind a transaction still open
/// anywhere on the server, e.g. in a parallel test) do not count, up to a minute.
pub async fn sync_until_quiet(e: &Engine, g: &hubsync_engine::Group, max: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut writing = 0;
    let mut rounds = 0;
    loop {
        rounds += 1;
        let r = e.sync_group(g, None).await.expect("sync");
        assert!(r.errors().is_empty(), "{:?}", r.errors());
        let wrote: u64 = r.members.iter().flat_map(|m| &m.tables).map(|t| t.rows_down + t.rows_up).sum();
        if wrote == 0 && !r.pending() {
            return rounds;
        }
        if wrote > 0 {
            writing += 1;
            assert!(writing <= max, "still writing after {max} rounds (ping-pong?)");
        } else {
            assert!(std::time::Instant::now() < deadline, "changes held back for a minute");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

/// Assert every database holds the same `items`, and return them.
pub async fn assert_converged(hub: &Db, members: &[&Db]) -> BTreeMap<i64, Item> {
    let want = hub.items().await;
    for (i, m) in members.iter().enumerate() {
        let got = m.items().await;
        assert_eq!(got, want, "member m{i} ({:?}) differs from the hub ({:?})", m.kind, hub.kind);
    }
    want
}

/// When a [`Flaky`] connector fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The call fails before reaching the database.
    Before,
    /// The call reaches the database (and commits), then reports a lost connection.
    After,
}

/// A real connector that fails its `fail_at`-th call (counting from 0
/// across every wrapped connector sharing `calls`).
pub struct Flaky {
    pub inner: Box<dyn Connector>,
    pub calls: Arc<AtomicUsize>,
    pub fail_at: usize,
    pub fault: Fault,
    /// When set, every apply takes 100 ms longer, and reads and lookups
    /// that overlap an apply (on any connector sharing it) are counted.
    pub overlap: Option<Arc<Overlap>>,
}

/// What [`Flaky::overlap`] counts.
#[derive(Debug, Default)]
pub struct Overlap {
    applying: AtomicUsize,
    /// Applies begun so far: a read that sees it change ran beside one.
    applies_begun: AtomicUsize,
    /// Reads of changes started while an apply ran.
    pub reads_during_apply: AtomicUsize,
    /// Reads of changes in all.
    pub reads: AtomicUsize,
    /// Lookups started while an apply ran.
    pub lookups_during_apply: AtomicUsize,
}

impl Overlap {
    /// Runs `call` and says whether an apply ran at any moment of it: one
    /// running when it began, one begun while it ran, or one still running
    /// when it ended. Checking the whole span rather than one instant keeps
    /// the count true on a loaded machine, where a read sampled once could
    /// miss a write that overlapped it. Sequential batches never overlap,
    /// so the count still falls to zero if pipelining breaks.
    async fn watch<T>(&self, call: impl std::future::Future<Output = T>) -> (T, bool) {
        let busy = self.applying.load(Ordering::SeqCst) > 0;
        let begun = self.applies_begun.load(Ordering::SeqCst);
        // A read is quick; the pause gives a write spawned beside it time
        // to begin, as a slower database would.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let r = call.await;
        let beside =
            busy || self.applying.load(Ordering::SeqCst) > 0 || self.applies_begun.load(Ordering::SeqCst) != begun;
        (r, beside)
    }
}

impl Flaky {
    fn lost() -> ConnectorError {
        ConnectorError::Database {
            engine: EngineKind::Sqlite,
            operation: "test".into(),
            cause: "connection lost (injected)".into(),
        }
    }

    async fn guard<T, F: std::future::Future<Output = Result<T, ConnectorError>>>(
        &self,
        call: F,
    ) -> Result<T, ConnectorError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n != self.fail_at {
            return call.await;
        }
        match self.fault {
            Fault::Before => Err(Self::lost()),
            Fault::After => {
                call.await?;
                Err(Self::lost())
            }
        }
    }
}

#[async_trait::async_trait]
impl Connector for Flaky {
    fn engine(&self) -> EngineKind {
        self.inner.engine()
    }
    async fn identity(&self) -> Result<Option<String>, ConnectorError> {
        self.inner.identity().await
    }
    async fn introspect(&self) -> Result<Vec<TableInfo>, ConnectorError> {
        self.inner.introspect().await
    }
    async fn provision(&self, table: &TableSchema) -> Result<(), ConnectorError> {
        self.inner.provision(table).await
    }
    async fn deprovision(&self, table: &TableRef) -> Result<(), ConnectorError> {
        self.inner.deprovision(table).await
    }
    async fn deprovision_all(&self) -> Result<(), ConnectorError> {
        self.inner.deprovision_all().await
    }
    async fn read_changes(&self, t: &TableSchema, since: &Anchor, limit: usize) -> Result<ChangeBatch, ConnectorError> {
        let Some(o) = &self.overlap else { return self.guard(self.inner.read_changes(t, since, limit)).await };
        o.reads.fetch_add(1, Ordering::SeqCst);
        let (r, beside) = o.watch(self.guard(self.inner.read_changes(t, since, limit))).await;
        if beside {
            o.reads_during_apply.fetch_add(1, Ordering::SeqCst);
        }
        r
    }
    async fn apply(&self, t: &TableSchema, ops: &[ApplyOp], origin: &str) -> Result<(), ConnectorError> {
        let Some(o) = &self.overlap else { return self.guard(self.inner.apply(t, ops, origin)).await };
        o.applying.fetch_add(1, Ordering::SeqCst);
        o.applies_begun.fetch_add(1, Ordering::SeqCst);
        // Long beside a read and a lookup on a loaded machine (CI once
        // saw a lookup start after a 50 ms write had ended).
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let r = self.guard(self.inner.apply(t, ops, origin)).await;
        o.applying.fetch_sub(1, Ordering::SeqCst);
        r
    }
    async fn lookup(&self, t: &TableSchema, since: &Anchor, keys: &[Row]) -> Result<Vec<KeyState>, ConnectorError> {
        let Some(o) = &self.overlap else { return self.guard(self.inner.lookup(t, since, keys)).await };
        let (r, beside) = o.watch(self.guard(self.inner.lookup(t, since, keys))).await;
        if beside {
            o.lookups_during_apply.fetch_add(1, Ordering::SeqCst);
        }
        r
    }
    // Asking is not counted as a call (nor failed): it only decides when
    // lookups are made.
    async fn writes_only_their_keys(&self, t: &TableSchema) -> Result<bool, ConnectorError> {
        self.inner.writes_only_their_keys(t).await
    }
    async fn purge_tombstones(&self, t: &TableSchema, upto: &[Anchor], before: i64) -> Result<u64, ConnectorError> {
        self.guard(self.inner.purge_tombstones(t, upto, before)).await
    }
    async fn reannounce(&self, t: &TableSchema, keys: &[Row]) -> Result<(), ConnectorError> {
        self.guard(self.inner.reannounce(t, keys)).await
    }
    async fn is_empty(&self, t: &TableRef) -> Result<bool, ConnectorError> {
        self.guard(self.inner.is_empty(t)).await
    }
    async fn scan(&self, t: &TableSchema, after: Option<&Row>, limit: usize) -> Result<Vec<KeyState>, ConnectorError> {
        self.guard(self.inner.scan(t, after, limit)).await
    }
    async fn create_table(&self, t: &TableSchema, indexes: &[IndexInfo]) -> Result<(), ConnectorError> {
        self.inner.create_table(t, indexes).await
    }
    // Counting what waits is not counted as a call (nor failed): it only
    // decides what the sync reads, and a failed count syncs every table.
    async fn pending(&self, t: &TableSchema, since: &Anchor, cap: u64) -> Result<Option<u64>, ConnectorError> {
        self.inner.pending(t, since, cap).await
    }
    async fn pending_many(
        &self,
        asks: &[(&TableSchema, &Anchor)],
        cap: u64,
    ) -> Result<Vec<Option<u64>>, ConnectorError> {
        self.inner.pending_many(asks, cap).await
    }
}
