//! The connector contract on PostgreSQL. Each test creates its own
//! database on `HUBSYNC_TEST_PG` (default: the local server) and drops it.

mod common;

scenario_tests!(Db);

use common::dbs::PgDb as Db;
use hubsync_core::Connector;

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
