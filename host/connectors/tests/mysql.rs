//! The connector contract on MySQL/MariaDB. Each test creates its own
//! database on `HUBSYNC_TEST_MYSQL` (default: the local server) and drops it.

mod common;

use std::time::Duration;

scenario_tests!(Db);

use common::dbs::MysqlDb as Db;
use hubsync_core::{Connector, Value};

/// The commit-order scheme: a second writer of a tracked table waits for
/// the first to commit, so the two can never commit in the reverse order of
/// their sequence numbers; both changes are read, in commit order.
#[tokio::test]
async fn a_later_writer_cannot_commit_before_an_earlier_one() {
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
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "the second writer must wait for the first");
    let b = c.read_changes(&t, &hubsync_core::Anchor::start(), 100).await.expect("read");
    assert!(b.changes.is_empty(), "nothing committed yet: {:?}", b.changes);
    first.commit().await.expect("commit first");
    second.await.expect("second writer");
    let (changes, _) = common::read_all(c, &t, &b.next).await;
    let ids: Vec<_> = changes.iter().map(|ch| ch.key[0].clone()).collect();
    assert_eq!(ids, [Value::Int(100), Value::Int(200)]);
}
