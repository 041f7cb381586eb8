//! The connector contract on SQL Server, live: on `HUBSYNC_TEST_MSSQL`, or
//! on the local Babelfish for PostgreSQL (`../shared/tools/babelfish`).
//! Each test creates its own database and drops it; without a server each
//! test says loudly that it was skipped.

mod common;

scenario_tests!(@maybe Db);

use common::dbs::MssqlDb as Db;
use hubsync_core::{Anchor, Connector, Value};

/// Two transactions commit in the reverse order of their changes: the
/// later-numbered one first. The reader must not advance past the pending
/// one, and must deliver both once it commits.
#[tokio::test]
async fn out_of_order_commits_are_never_missed() {
    let Some(db) = Db::connect().await else { return };
    let c: &dyn Connector = &db.connector;
    common::create_orders(&db).await;
    let t = common::orders();
    c.provision(&t).await.expect("provision");
    let (_, start) = common::read_all(c, &t, &Anchor::start()).await;

    let mut first = common::dbs::mssql_raw(&db.url).await;
    let mut second = common::dbs::mssql_raw(&db.url).await;
    let run = |sql: &'static str| sql;
    first
        .simple_query(run("BEGIN TRANSACTION; INSERT INTO orders (id, note) VALUES (100, 'first, commits last')"))
        .await
        .expect("insert 100")
        .into_results()
        .await
        .expect("insert 100");
    second
        .simple_query(run(
            "BEGIN TRANSACTION; INSERT INTO orders (id, note) VALUES (200, 'second, commits first'); COMMIT",
        ))
        .await
        .expect("insert 200")
        .into_results()
        .await
        .expect("insert 200");

    // The first transaction is still open: nothing may be read past it.
    let b = c.read_changes(&t, &start, 100).await.expect("read");
    assert!(b.changes.is_empty(), "read past an open older transaction: {:?}", b.changes);
    assert!(b.pending, "the committed change is reported as pending");
    let anchor = b.next;

    first.simple_query("COMMIT").await.expect("commit").into_results().await.expect("commit");
    let (changes, _) = common::read_all(c, &t, &anchor).await;
    let mut ids: Vec<_> = changes.iter().map(|ch| ch.key[0].clone()).collect();
    ids.sort_by_key(|v| common::int_key(std::slice::from_ref(v)));
    assert_eq!(ids, [Value::Int(100), Value::Int(200)]);
}

/// One statement touching 10,000 rows is one trigger call that records
/// them all; an UPDATE changing keys records the old keys as deletes.
#[tokio::test]
async fn set_wise_trigger_captures_big_statements_and_key_changes() {
    let Some(db) = Db::connect().await else { return };
    let c: &dyn Connector = &db.connector;
    common::create_orders(&db).await;
    let t = common::orders();
    c.provision(&t).await.expect("provision");
    db.batch(
        "WITH n AS (SELECT TOP (10000) ROW_NUMBER() OVER (ORDER BY a.object_id) AS i FROM sys.all_columns a \
         CROSS JOIN sys.all_columns b) INSERT INTO orders (id, note) SELECT i, 'bulk' FROM n",
    )
    .await;
    let (changes, anchor) = common::read_all_fast(c, &t, &Anchor::start()).await;
    assert_eq!(changes.len(), 10_000);
    db.batch("UPDATE orders SET id = id + 100000 WHERE id <= 3").await;
    let (changes, _) = common::read_all(c, &t, &anchor).await;
    let mut got: Vec<(i64, bool)> =
        changes.iter().map(|ch| (common::int_key(&ch.key), ch.row.is_none())).collect();
    got.sort();
    assert_eq!(got, [(1, true), (2, true), (3, true), (100001, false), (100002, false), (100003, false)]);
}

/// Tables of the same name in two schemas are tracked apart.
#[tokio::test]
async fn same_name_in_two_schemas_is_kept_apart() {
    let Some(db) = Db::connect().await else { return };
    let c: &dyn Connector = &db.connector;
    db.batch("CREATE SCHEMA sales").await;
    db.batch("CREATE TABLE dbo.items (id bigint PRIMARY KEY, v nvarchar(10)); CREATE TABLE sales.items (id bigint PRIMARY KEY, v nvarchar(10))").await;
    let infos = c.introspect().await.expect("introspect");
    let find = |ns: Option<&str>| {
        infos.iter().find(|i| i.schema.name == "items" && i.schema.namespace.as_deref() == ns).expect("table").schema.clone()
    };
    let (plain, sales) = (find(None), find(Some("sales")));
    c.provision(&plain).await.expect("provision dbo.items");
    c.provision(&sales).await.expect("provision sales.items");
    db.batch("INSERT INTO dbo.items VALUES (1, 'dbo'); INSERT INTO sales.items VALUES (2, 'sales')").await;
    let (a, _) = common::read_all(c, &plain, &Anchor::start()).await;
    let (b, _) = common::read_all(c, &sales, &Anchor::start()).await;
    assert_eq!(a.iter().map(|ch| common::int_key(&ch.key)).collect::<Vec<_>>(), [1]);
    assert_eq!(b.iter().map(|ch| common::int_key(&ch.key)).collect::<Vec<_>>(), [2]);
    c.deprovision(&hubsync_core::TableRef::of(&sales)).await.expect("deprovision sales.items");
    db.batch("INSERT INTO dbo.items VALUES (3, 'still')").await;
    let (a, _) = common::read_all(c, &plain, &Anchor::start()).await;
    assert_eq!(a.len(), 2, "dbo.items is still tracked");
}
