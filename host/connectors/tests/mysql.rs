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

/// An application holds row 50 while hubsync applies rows 1..=100 (in key
/// order), then asks for row 1. Were hubsync waiting for row 50 while
/// holding rows 1..=49, InnoDB would break the cycle at once by rolling
/// back the transaction with fewer changes: the application's. hubsync
/// never waits while holding locks, so the application commits, and the
/// apply lands once the row is free.
#[tokio::test]
async fn an_application_never_loses_a_lock_cycle_to_an_apply() {
    let db = Db::new().await;
    let c: &dyn Connector = &db.connector;
    common::create_orders(&db).await;
    let t = common::orders();
    let rows: Vec<String> = (1..=100).map(|i| format!("({i}, 'seed')")).collect();
    sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO orders (id, note) VALUES {}", rows.join(", "))))
        .execute(&db.raw)
        .await
        .expect("seed");
    c.provision(&t).await.expect("provision");
    let mut app = db.raw.begin().await.expect("begin");
    sqlx::query("UPDATE orders SET note = 'app' WHERE id = 50").execute(&mut *app).await.expect("app holds 50");
    let ops: Vec<hubsync_core::ApplyOp> = (1..=100)
        .map(|i| hubsync_core::ApplyOp::Upsert(vec![Value::Int(i), Value::Text("hub".into()), Value::Null]))
        .collect();
    let application = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        sqlx::query("UPDATE orders SET note = 'app' WHERE id = 1").execute(&mut *app).await?;
        app.commit().await
    };
    let (applied, application) = tokio::join!(c.apply(&t, &ops, "g/hub"), application);
    application.expect("the application is not a deadlock victim and commits");
    applied.expect("the apply lands after the application");
    // Row 50 was written once the application let go of it; the apply may
    // have been split, so row 1 holds whichever write came last.
    let notes: Vec<String> = sqlx::query_scalar("SELECT note FROM orders WHERE id IN (50, 99) ORDER BY id")
        .fetch_all(&db.raw)
        .await
        .expect("read");
    assert_eq!(notes, ["hub", "hub"], "the apply landed after the application committed");
}

/// Two applications' transactions on different rows of a tracked table:
/// the triggers must not add a lock they share (the former per-table
/// counter row did: the second writer waited for it while holding its row,
/// and the first then asking for that row closed a deadlock).
#[tokio::test]
async fn tracking_adds_no_lock_cycle_between_applications() {
    let db = Db::new().await;
    common::create_orders(&db).await;
    sqlx::query("INSERT INTO orders (id, note) VALUES (1, 'a'), (2, 'b')").execute(&db.raw).await.expect("seed");
    db.connector.provision(&common::orders()).await.expect("provision");
    let mut first = db.raw.begin().await.expect("begin");
    sqlx::query("UPDATE orders SET note = 'first' WHERE id = 1").execute(&mut *first).await.expect("first holds 1");
    let pool = db.raw.clone();
    let second = async move {
        let mut tx = pool.begin().await?;
        sqlx::query("UPDATE orders SET note = 'second' WHERE id = 2").execute(&mut *tx).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        tx.commit().await
    };
    let first_goes_on = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        sqlx::query("UPDATE orders SET note = 'first' WHERE id = 2").execute(&mut *first).await?;
        first.commit().await
    };
    let (a, b) = tokio::join!(first_goes_on, second);
    a.expect("the first application commits (no deadlock)");
    b.expect("the second application commits (no deadlock)");
}
