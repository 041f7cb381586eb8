//! The connector contract on PostgreSQL. Each test creates its own
//! database on `HUBSYNC_TEST_PG` (default: the local server) and drops it.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use hubsync_connectors::Postgres;
use hubsync_core::{ColumnType, Connector};
use sqlx::{AssertSqlSafe, Executor};

fn admin_url() -> String {
    std::env::var("HUBSYNC_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

struct Db {
    name: String,
    connector: Postgres,
    raw: sqlx::PgPool,
}

impl Db {
    async fn new() -> Db {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!("hubsync_test_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let admin = sqlx::PgPool::connect(&admin_url()).await.expect("PostgreSQL is running (see README)");
        admin.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).await.expect("drop old");
        admin.execute(AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create database");
        admin.close().await;
        let base = admin_url();
        let url = format!("{}/{name}", &base[..base.rfind('/').expect("url has a database")]);
        let connector = Postgres::open(&url).await.expect("open");
        let raw = sqlx::PgPool::connect(&url).await.expect("raw client");
        Db { name, connector, raw }
    }
}

impl Drop for Db {
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
impl common::TestDb for Db {
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

/// Two transactions commit in the reverse order of their changes: the
/// later-numbered one first. The reader must not advance past the pending
/// one, and must deliver both once it commits.
#[tokio::test]
async fn out_of_order_commits_are_never_missed() {
    let db = Db::new().await;
    let c: &dyn Connector = &db.connector;
    common::create_orders(&db).await;
    let t = common::orders();
    c.provision(&t).await.expect("provision");
    let (_, start) = common::read_all(c, &t, &hubsync_core::Anchor::start()).await;

    let mut first = db.raw.begin().await.expect("begin first");
    sqlx::query("INSERT INTO orders (id, note) VALUES (100, 'first, commits last')")
        .execute(&mut *first)
        .await
        .expect("insert 100");
    let mut second = db.raw.begin().await.expect("begin second");
    sqlx::query("INSERT INTO orders (id, note) VALUES (200, 'second, commits first')")
        .execute(&mut *second)
        .await
        .expect("insert 200");
    second.commit().await.expect("commit second");

    // The first transaction is still open: nothing may be read past it.
    let b = c.read_changes(&t, &start, 100).await.expect("read");
    assert!(b.changes.is_empty(), "read past an open older transaction: {:?}", b.changes);
    assert!(b.pending, "the committed change is reported as pending");
    let anchor = b.next;

    first.commit().await.expect("commit first");
    let (changes, _) = common::read_all(c, &t, &anchor).await;
    let mut ids: Vec<_> = changes.iter().map(|ch| ch.key[0].clone()).collect();
    ids.sort_by_key(|v| format!("{v:?}"));
    assert_eq!(ids, [hubsync_core::Value::Int(100), hubsync_core::Value::Int(200)]);
}
