//! The connector contract on MySQL/MariaDB. Each test creates its own
//! database on `HUBSYNC_TEST_MYSQL` (default: the local server) and drops it.

mod common;

use std::time::Duration;

scenario_tests!(Db);

use common::dbs::MysqlDb as Db;
use hubsync_core::{Connector, Value};

/// The capture scheme: writers of a tracked table do not wait for each
/// other (the triggers take no shared lock), and a change is numbered when a
/// reader first sees it committed, so one committed after a later-started
/// one is read after it, never skipped, and a row an open transaction holds
/// is read once that transaction commits.
#[tokio::test]
async fn writers_do_not_wait_for_each_other_and_no_change_is_skipped() {
    let db = Db::new().await;
    let c: &dyn Connector = &db.connector;
    common::create_orders(&db).await;
    let t = common::orders();
    c.provision(&t).await.expect("provision");
    let mut first = db.raw.begin().await.expect("begin first");
    sqlx::query("INSERT INTO orders (id, note) VALUES (100, 'first')").execute(&mut *first).await.expect("insert 100");
    let pool = db.raw.clone();
    let second = tokio::spawn(async move {
        let mut tx = pool.begin().await.expect("begin second");
        sqlx::query("INSERT INTO orders (id, note) VALUES (200, 'second')")
            .execute(&mut *tx)
            .await
            .expect("insert 200");
        tx.commit().await.expect("commit second");
    });
    tokio::time::timeout(Duration::from_secs(5), second).await.expect("the second writer does not wait").expect("ok");
    let b = c.read_changes(&t, &hubsync_core::Anchor::start(), 100).await.expect("read");
    let ids: Vec<_> = b.changes.iter().map(|ch| ch.key[0].clone()).collect();
    assert_eq!(ids, [Value::Int(200)], "only the committed change");
    first.commit().await.expect("commit first");
    let (changes, at) = common::read_all(c, &t, &b.next).await;
    let ids: Vec<_> = changes.iter().map(|ch| ch.key[0].clone()).collect();
    assert_eq!(ids, [Value::Int(100)], "the change committed later is read later");

    // A committed change not yet read, then held again by an open transaction.
    sqlx::query("UPDATE orders SET note = 'v1' WHERE id = 200").execute(&db.raw).await.expect("update");
    let mut open = db.raw.begin().await.expect("begin");
    sqlx::query("UPDATE orders SET note = 'v2' WHERE id = 200").execute(&mut *open).await.expect("update again");
    let b = c.read_changes(&t, &at, 100).await.expect("read");
    assert!(b.changes.is_empty() && b.pending, "held back while the row is held: {b:?}");
    open.commit().await.expect("commit");
    let (changes, _) = common::read_all(c, &t, &b.next).await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].row.as_ref().expect("row")[1], Value::Text("v2".into()));
}
