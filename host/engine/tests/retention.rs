//! Tombstones are purged only once every member has them; a member that
//! has not synced within the retention is out of date until reinitialized.

mod common;

use std::time::Duration;

use common::{Db, Kind, assert_converged, engine, group, sync_until_quiet};
use serde_json::json;

#[tokio::test]
async fn deletes_are_forgotten_only_after_every_member_has_them() {
    purge_order(Kind::Postgres).await;
}

#[tokio::test]
async fn deletes_are_forgotten_only_after_every_member_has_them_on_sql_server() {
    if common::mssql_available() {
        purge_order(Kind::Mssql).await;
    }
}

/// A SQLite hub, a MariaDB member and a member of `m1_kind` (PostgreSQL or SQL Server).
async fn purge_order(m1_kind: Kind) {
    let (hub, m0, m1) = (Db::new(Kind::Sqlite).await, Db::new(Kind::Mysql).await, Db::new(m1_kind).await);
    hub.create_items().await;
    hub.exec("INSERT INTO items VALUES (1, 'a', 1, '1'), (2, 'b', 2, '2'), (3, 'c', 3, '3')").await;
    let e = engine().await;
    let g = e.engine.prepare(&group("g", &hub, &[&m0, &m1], "builtin:hub-wins", json!({}))).await.expect("prepare");
    sync_until_quiet(&e.engine, &g, 3).await;
    hub.exec("DELETE FROM items WHERE id IN (1, 2)").await;
    m1.exec("DELETE FROM items WHERE id = 3").await;
    let hub_tombstones = || hub.scalar("SELECT COUNT(*) FROM hubsync_track_1 WHERE hubsync_deleted = 1");
    let m1_tombstones = || {
        m1.scalar(if m1_kind == Kind::Mssql {
            "SELECT COUNT(*) FROM hubsync.track_1 WHERE deleted = 1"
        } else {
            "SELECT COUNT(*)::int8 FROM hubsync.track_1 WHERE deleted"
        })
    };
    e.engine.sync_group(&g, Some("m0")).await.expect("sync m0");
    // m0's records of the deletes hubsync applied there were read by its upload: they go.
    assert_eq!(e.engine.purge_tombstones(&g, Duration::ZERO).await.expect("purge"), 2);
    assert_eq!(hub_tombstones().await, 2, "m1 has not downloaded the hub's deletes yet");
    assert_eq!(m1_tombstones().await, 1, "m1's delete has not been uploaded yet");
    e.engine.sync_group(&g, Some("m1")).await.expect("sync m1");
    // Gone: the hub's deletes of 1 and 2 (read by both), m1's three records.
    // Kept: the hub's record of m1's delete of 3, which m0 has not read.
    assert_eq!(e.engine.purge_tombstones(&g, Duration::ZERO).await.expect("purge"), 5);
    assert_eq!((hub_tombstones().await, m1_tombstones().await), (1, 0));
    e.engine.sync_group(&g, Some("m0")).await.expect("sync m0");
    // m0's record goes; the hub's stays until m1 has read past its own upload.
    assert_eq!(e.engine.purge_tombstones(&g, Duration::ZERO).await.expect("purge"), 1);
    assert_eq!(hub_tombstones().await, 1);
    e.engine.sync_group(&g, Some("m1")).await.expect("sync m1");
    assert_eq!(e.engine.purge_tombstones(&g, Duration::ZERO).await.expect("purge"), 1);
    assert_eq!(hub_tombstones().await, 0);
    assert_eq!(e.engine.purge_tombstones(&g, Duration::from_secs(3600)).await.expect("purge"), 0, "nothing old");
    let rows = assert_converged(&hub, &[&m0, &m1]).await;
    assert!(rows.is_empty());
    // Syncing after the purge changes nothing.
    sync_until_quiet(&e.engine, &g, 2).await;
}

#[tokio::test]
async fn a_member_past_retention_is_out_of_date_until_reinitialized() {
    let (hub, m0) = (Db::new(Kind::Sqlite).await, Db::new(Kind::Sqlite).await);
    hub.create_items().await;
    hub.exec("INSERT INTO items VALUES (1, 'a', 1, '1')").await;
    let e = engine().await;
    let config = group("g", &hub, &[&m0], "builtin:hub-wins", json!({}));
    let g = e.engine.prepare(&config).await.expect("prepare");
    sync_until_quiet(&e.engine, &g, 3).await;
    let fifty_days_ago = std::time::SystemTime::now()
        .checked_sub(Duration::from_secs(50 * 86_400))
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_micros() as i64)
        .expect("time");
    e.engine.meta().member_synced("g", "m0", fifty_days_ago).await.expect("backdate");
    hub.exec("INSERT INTO items VALUES (2, 'b', 2, '2')").await;
    let r = e.engine.sync_group(&g, None).await.expect("sync");
    let errors = r.errors().join("\n");
    assert!(errors.contains("out of date") && errors.contains("hubsync reinit"), "{errors}");
    assert_eq!(m0.items().await.len(), 1, "an out-of-date member is not synced");
    let status = e.engine.meta().status(Some("g")).await.expect("status");
    assert!(status.iter().any(|s| !s.last.ok && s.last.message.as_deref().is_some_and(|m| m.contains("out of date"))));
    // What `hubsync reinit` does.
    e.engine.meta().forget("g", Some("m0"), None).await.expect("reinit");
    sync_until_quiet(&e.engine, &g, 3).await;
    assert_eq!(assert_converged(&hub, &[&m0]).await.len(), 2);
}

/// Under `hubsync serve` members sync one at a time; a purge after each of
/// them read every member's anchors and wrote to every member's database
/// (a round of N members cost N purges of N databases). One-member syncs
/// now purge at most every ten minutes; a sync of the whole group purges
/// every time.
#[tokio::test]
async fn one_member_syncs_purge_at_most_every_ten_minutes_and_a_whole_group_sync_always() {
    let (hub, m0) = (Db::new(Kind::Sqlite).await, Db::new(Kind::Sqlite).await);
    hub.create_items().await;
    hub.exec("INSERT INTO items VALUES (1, 'a', 1, '1'), (2, 'b', 2, '2'), (3, 'c', 3, '3')").await;
    let e = engine().await;
    let g = e.engine.prepare(&group("g", &hub, &[&m0], "builtin:hub-wins", json!({}))).await.expect("prepare");
    sync_until_quiet(&e.engine, &g, 3).await;
    // Deletes older than the retention (45 days): their records are aged by hand.
    let delete_old = |id: i64| {
        let hub = &hub;
        async move {
            hub.exec(&format!("DELETE FROM items WHERE id = {id}")).await;
            hub.exec("UPDATE hubsync_track_1 SET hubsync_changed_at = 0 WHERE hubsync_deleted = 1").await;
        }
    };
    let tombstones = || hub.scalar("SELECT COUNT(*) FROM hubsync_track_1 WHERE hubsync_deleted = 1");

    // The syncs above were of the whole group: each purged.
    delete_old(1).await;
    let one = e.engine.sync_group(&g, Some("m0")).await.expect("sync m0");
    assert_eq!(one.members[0].tables[0].rows_down, 1, "{one:?}");
    assert_eq!(one.tombstones_purged, 0, "within ten minutes of the last purge: none");
    assert_eq!(tombstones().await, 1, "the delete waits for the next purge");
    let whole = e.engine.sync_group(&g, None).await.expect("sync the group");
    assert_eq!(whole.tombstones_purged, 1, "a sync of the whole group purges");
    assert_eq!(tombstones().await, 0);
}
