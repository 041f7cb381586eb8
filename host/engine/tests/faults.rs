//! Interrupted syncs: a connection fails at every point of a session
//! (before a call reaches the database, or after it committed there but
//! before hubsync heard back), the sync is re-run, and the result equals
//! an uninterrupted run's, merged conflicts included.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Db, Fault, Flaky, Item, Kind, assert_converged, engine, group, sync_until_quiet};
use serde_json::json;

/// Run the scenario; when `fault` is given, the `n`-th connector call of
/// each phase's first sync fails that way, and a clean re-run follows.
async fn scenario(member_kind: Kind, fault: Option<(usize, Fault)>) -> (BTreeMap<i64, Item>, usize) {
    let (hub, m0, m1) = (Db::new(Kind::Sqlite).await, Db::new(Kind::Sqlite).await, Db::new(member_kind).await);
    hub.create_items().await;
    m1.create_items().await;
    let rows: Vec<String> = (1..=30).map(|i| format!("({i}, 'hub {i}', {i}, '{i}')")).collect();
    hub.exec(&format!("INSERT INTO items (id, name, qty, price) VALUES {}", rows.join(", "))).await;
    // m1 holds 10 of the hub's keys with other values (merged at the initial sync) and 5 of its own.
    let rows: Vec<String> = (21..=35).map(|i| format!("({i}, 'm1 {i}', {}, '{i}')", i * 100)).collect();
    m1.exec(&format!("INSERT INTO items (id, name, qty, price) VALUES {}", rows.join(", "))).await;
    let e = engine().await;
    let config = group("g", &hub, &[&m0, &m1], "builtin:column-merge", json!({"member_columns": ["name"]}));
    let clean = e.engine.prepare(&config).await.expect("prepare");
    let calls = Arc::new(AtomicUsize::new(0));
    let (fail_at, how) = fault.unwrap_or((usize::MAX, Fault::Before));
    let flaky =
        e.engine.prepare(&config).await.expect("prepare").wrap_connectors(|inner| {
            Box::new(Flaky { inner, calls: calls.clone(), fail_at, fault: how, overlap: None })
        });
    // Phase 1: initial sync (copies, merges of pre-existing rows).
    calls.store(0, Ordering::SeqCst);
    let _ = e.engine.sync_group(&flaky, None).await.expect("sync runs");
    let mut used = calls.load(Ordering::SeqCst);
    sync_until_quiet(&e.engine, &clean, 5).await;
    // Phase 2: changes on every side, conflicts between the hub and each member on different keys.
    hub.exec("UPDATE items SET qty = qty + 1 WHERE id IN (1, 2, 3, 21, 22)").await;
    hub.exec("DELETE FROM items WHERE id = 4").await;
    m0.exec("UPDATE items SET name = 'm0 says', qty = 0 WHERE id IN (1, 2)").await;
    m0.exec("INSERT INTO items (id, name, qty, price) VALUES (100, 'new on m0', 1, '1')").await;
    m1.exec("UPDATE items SET name = 'm1 says' WHERE id IN (21, 22, 23)").await;
    m1.exec("DELETE FROM items WHERE id IN (31, 3)").await;
    calls.store(0, Ordering::SeqCst);
    let _ = e.engine.sync_group(&flaky, None).await.expect("sync runs");
    used = used.max(calls.load(Ordering::SeqCst));
    sync_until_quiet(&e.engine, &clean, 5).await;
    (assert_converged(&hub, &[&m0, &m1]).await, used)
}

#[tokio::test]
async fn a_sync_interrupted_anywhere_and_rerun_equals_an_uninterrupted_one() {
    let (want, calls) = scenario(Kind::Sqlite, None).await;
    assert_eq!(want[&1].name.as_deref(), Some("m0 says"), "merged: the member's name");
    assert_eq!(want[&1].qty, Some(2), "merged: the hub's qty");
    assert_eq!(want[&21].name.as_deref(), Some("m1 says"));
    assert!(!want.contains_key(&3) && !want.contains_key(&4));
    assert!(calls > 10, "the scenario makes {calls} connector calls per sync");
    for n in 0..calls {
        for fault in [Fault::Before, Fault::After] {
            let (got, _) = scenario(Kind::Sqlite, Some((n, fault))).await;
            assert_eq!(got, want, "failing call {n} {fault:?} changed the outcome");
        }
    }
}

#[tokio::test]
async fn interruptions_on_postgresql_and_mariadb_members_recover_too() {
    for kind in [Kind::Postgres, Kind::Mysql] {
        let (want, calls) = scenario(kind, None).await;
        // Every third call, both ways: the servers are slower to set up than SQLite files.
        for n in (0..calls).step_by(3) {
            for fault in [Fault::Before, Fault::After] {
                let (got, _) = scenario(kind, Some((n, fault))).await;
                assert_eq!(got, want, "{kind:?}: failing call {n} {fault:?} changed the outcome");
            }
        }
    }
}

#[tokio::test]
async fn interruptions_on_a_sql_server_member_recover_too() {
    if !common::mssql_available() {
        return;
    }
    let (want, calls) = scenario(Kind::Mssql, None).await;
    // Every fifth call, both ways: each run creates three databases.
    for n in (0..calls).step_by(5) {
        for fault in [Fault::Before, Fault::After] {
            let (got, _) = scenario(Kind::Mssql, Some((n, fault))).await;
            assert_eq!(got, want, "SQL Server: failing call {n} {fault:?} changed the outcome");
        }
    }
}
