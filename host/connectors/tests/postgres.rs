//! The connector contract on PostgreSQL. Each test creates its own
//! database on `HUBSYNC_TEST_PG` (default: the local server) and drops it.

mod common;

scenario_tests!(Db);

use common::dbs::PgDb as Db;
use hubsync_core::Connector;
use sqlx::Executor;

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
    ids.sort_by_key(|v| common::int_key(std::slice::from_ref(v)));
    assert_eq!(ids, [hubsync_core::Value::Int(100), hubsync_core::Value::Int(200)]);
}

/// Several processes preparing the same new hub at once (each its own
/// connector, as `hubsync serve` instances and a CLI would): every one
/// provisions, none fails on the schema another is creating; nor on the
/// same table, which two groups sharing it provision.
#[tokio::test]
async fn connectors_provisioning_a_new_database_at_once_all_succeed() {
    for round in 0..5 {
        let db = Db::new().await;
        let mut tables = Vec::new();
        for i in 0..4 {
            db.raw
                .execute(sqlx::AssertSqlSafe(format!("CREATE TABLE t{i} (id int PRIMARY KEY, note text)")))
                .await
                .expect("create");
            tables.push(hubsync_core::TableSchema::new(format!("t{i}")).key("id", hubsync_core::ColumnType::Int));
        }
        let mut opened = Vec::new();
        for _ in 0..4 {
            opened.push(hubsync_connectors::Postgres::open(&db.url()).await.expect("open"));
        }
        let runs = opened.iter().zip(&tables).map(|(c, t)| c.provision(t));
        for (i, r) in futures_util::future::join_all(runs).await.into_iter().enumerate() {
            r.unwrap_or_else(|e| panic!("round {round}: connector {i} failed to provision: {e}"));
        }
        // Two groups sharing a table: the same table at once.
        let db2 = Db::new().await;
        db2.raw.execute("CREATE TABLE shared (id int PRIMARY KEY, note text)").await.expect("create");
        let shared = hubsync_core::TableSchema::new("shared").key("id", hubsync_core::ColumnType::Int);
        let mut opened = Vec::new();
        for _ in 0..3 {
            opened.push(hubsync_connectors::Postgres::open(&db2.url()).await.expect("open"));
        }
        let runs = opened.iter().map(|c| c.provision(&shared));
        for (i, r) in futures_util::future::join_all(runs).await.into_iter().enumerate() {
            r.unwrap_or_else(|e| panic!("round {round}: connector {i} failed to provision the shared table: {e}"));
        }
    }
}
