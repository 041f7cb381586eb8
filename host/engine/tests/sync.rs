//! End-to-end syncs on real databases: every engine as hub and member,
//! initial sync, conflicts through each kind of policy decision,
//! directions, schema changes, and two groups sharing a database.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Db, Fault, Flaky, Kind, Overlap, assert_converged, engine, group, sync_until_quiet};
use hubsync_core::SyncDirection;
use serde_json::json;

/// Each engine as the hub, the other two as members: one member joins
/// empty (hubsync creates its table), one already holds overlapping rows.
async fn initial_then_incremental(hub_kind: Kind, a_kind: Kind, b_kind: Kind) {
    let (hub, a, b) = (Db::new(hub_kind).await, Db::new(a_kind).await, Db::new(b_kind).await);
    hub.create_items().await;
    b.create_items().await;
    let rows: Vec<String> = (1..=20).map(|i| format!("({i}, 'item {i}', {i}, {i}.50)")).collect();
    hub.exec(&format!("INSERT INTO items (id, name, qty, price) VALUES {}", rows.join(", "))).await;
    // b: 5 equal to the hub's, 5 different (conflicts), 3 only on b.
    b.exec(
        "INSERT INTO items (id, name, qty, price) VALUES (1, 'item 1', 1, 1.50), (2, 'item 2', 2, 2.50), \
            (3, 'item 3', 3, 3.50), (4, 'item 4', 4, 4.50), (5, 'item 5', 5, 5.50), \
            (6, 'b', 60, 0), (7, 'b', 70, 0), (8, 'b', 80, 0), (9, 'b', 90, 0), (10, 'b', 100, 0), \
            (101, 'b only', 1, 1), (102, 'b only', 2, 2), (103, 'b only', 3, 3)",
    )
    .await;
    let e = engine().await;
    let g = e.engine.prepare(&group("g", &hub, &[&a, &b], "builtin:hub-wins", json!({}))).await.expect("prepare");
    sync_until_quiet(&e.engine, &g, 4).await;
    let rows = assert_converged(&hub, &[&a, &b]).await;
    assert_eq!(rows.len(), 23);
    assert_eq!(rows[&6].name.as_deref(), Some("item 6"), "hub wins the initial conflicts");
    assert_eq!(rows[&101].name.as_deref(), Some("b only"), "rows only on a member reach everyone");
    let conflicts = e.engine.meta().conflicts("g", 100).await.expect("history");
    assert_eq!(conflicts.len(), 5, "equal rows are not conflicts, different ones are: {conflicts:?}");
    assert!(
        conflicts.iter().all(|(s, c)| s.member == "m1" && c.decision == "take-hub" && c.plugin.starts_with("hub-wins"))
    );
    assert!(!e.engine.meta().status(Some("g")).await.expect("status").is_empty());

    // Incremental: changes everywhere, one conflict between the hub and a.
    hub.exec("UPDATE items SET qty = 1000 WHERE id = 11").await;
    hub.exec("DELETE FROM items WHERE id = 12").await;
    a.exec("UPDATE items SET name = 'a renamed' WHERE id = 13").await;
    a.exec("UPDATE items SET qty = 2000 WHERE id = 11").await; // conflicts with the hub
    a.exec("INSERT INTO items (id, name, qty, price) VALUES (200, 'from a', 1, 0.01)").await;
    b.exec("DELETE FROM items WHERE id = 101").await;
    b.exec("UPDATE items SET price = 99.99 WHERE id = 14").await;
    sync_until_quiet(&e.engine, &g, 4).await;
    let rows = assert_converged(&hub, &[&a, &b]).await;
    assert_eq!(rows[&11].qty, Some(1000), "hub wins");
    assert!(!rows.contains_key(&12) && !rows.contains_key(&101), "deletes travel both ways");
    assert_eq!(rows[&13].name.as_deref(), Some("a renamed"));
    assert_eq!(rows[&14].price.as_deref(), Some("99.99"));
    assert_eq!(rows[&200].name.as_deref(), Some("from a"));
    assert_eq!(e.engine.meta().conflicts("g", 100).await.expect("history").len(), 6);
}

/// A member with nothing after its anchors is not synced table by table:
/// its sync counts what waits once per database and reads no changes (the
/// history still records the session); a change makes its table sync again.
#[tokio::test]
async fn idle_members_read_no_changes() {
    let (hub, a, b) = (Db::new(Kind::Postgres).await, Db::new(Kind::Sqlite).await, Db::new(Kind::Mysql).await);
    hub.create_items().await;
    let rows: Vec<String> = (1..=20).map(|i| format!("({i}, 'item {i}', {i}, {i}.50)")).collect();
    hub.exec(&format!("INSERT INTO items (id, name, qty, price) VALUES {}", rows.join(", "))).await;
    let e = engine().await;
    let config = group("g", &hub, &[&a, &b], "builtin:hub-wins", json!({}));
    let clean = e.engine.prepare(&config).await.expect("prepare");
    sync_until_quiet(&e.engine, &clean, 4).await;
    // Every database call but the counts is counted; one-member syncs (as
    // `serve` runs them) do not purge again within minutes.
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = e.engine.prepare(&config).await.expect("prepare").wrap_connectors(|inner| {
        Box::new(Flaky { inner, calls: calls.clone(), fail_at: usize::MAX, fault: Fault::Before, overlap: None })
    });
    let last = |m: &'static str| {
        let meta = e.engine.meta();
        async move {
            let s = meta.status(Some("g")).await.expect("status");
            let s = s.into_iter().find(|s| s.scope.member == m).expect("a session");
            (s.last.started_micros, s.last.ok)
        }
    };
    for m in ["m0", "m1"] {
        let before = last(m).await;
        let r = e.engine.sync_group(&counted, Some(m)).await.expect("sync");
        assert!(r.errors().is_empty(), "{:?}", r.errors());
        assert_eq!(calls.load(Ordering::SeqCst), 0, "an idle member reads nothing ({m})");
        let after = last(m).await;
        assert!(after.0 > before.0 && after.1, "the idle sync is recorded as a success: {before:?} {after:?}");
    }
    // A change on m1: m1's upload reads it, m0's download then reads it.
    b.exec("UPDATE items SET qty = 77 WHERE id = 3").await;
    let r = e.engine.sync_group(&counted, Some("m1")).await.expect("sync");
    assert_eq!(r.members[0].tables[0].rows_up, 1);
    assert!(calls.load(Ordering::SeqCst) > 0);
    let r = e.engine.sync_group(&counted, Some("m0")).await.expect("sync");
    assert_eq!(r.members[0].tables[0].rows_down, 1);
    sync_until_quiet(&e.engine, &clean, 4).await;
    let rows = assert_converged(&hub, &[&a, &b]).await;
    assert_eq!(rows[&3].qty, Some(77));
}

/// A PostgreSQL hub holding items 1 to 1,000, a member of `member`'s kind
/// not synced yet, and their group (hub wins, batches of 100 rows).
async fn thousand_items(member: Kind) -> (Db, Db, common::TestEngine, hubsync_core::GroupConfig) {
    let (hub, a) = (Db::new(Kind::Postgres).await, Db::new(member).await);
    hub.create_items().await;
    let rows: Vec<String> = (1..=1000).map(|i| format!("({i}, 'item {i}', {i}, {i}.50)")).collect();
    hub.exec(&format!("INSERT INTO items (id, name, qty, price) VALUES {}", rows.join(", "))).await;
    let e = engine().await;
    let mut config = group("g", &hub, &[&a], "builtin:hub-wins", json!({}));
    config.batch_rows = 100;
    (hub, a, e, config)
}

/// `config` prepared with every apply slowed down and what overlaps it counted.
async fn slowed(
    engine: &hubsync_engine::Engine,
    config: &hubsync_core::GroupConfig,
) -> (hubsync_engine::Group, Arc<Overlap>) {
    let overlap = Arc::new(Overlap::default());
    let g = engine.prepare(config).await.expect("prepare").wrap_connectors(|inner| {
        Box::new(Flaky {
            inner,
            calls: Arc::new(AtomicUsize::new(0)),
            fail_at: usize::MAX,
            fault: Fault::Before,
            overlap: Some(overlap.clone()),
        })
    });
    (g, overlap)
}

/// A pass reads its next batch while the current one is written: with
/// writes slowed down, reads start while a write runs, and the result is
/// the same as one batch at a time.
#[tokio::test]
async fn the_next_batch_is_read_while_one_is_written() {
    let (hub, a, e, config) = thousand_items(Kind::Sqlite).await;
    let (g, overlap) = slowed(&e.engine, &config).await;
    let r = e.engine.sync_group(&g, None).await.expect("sync");
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    assert_eq!(r.members[0].tables[0].rows_down, 1000);
    let (during, reads) = (overlap.reads_during_apply.load(Ordering::SeqCst), overlap.reads.load(Ordering::SeqCst));
    // Ten batches down: the nine after the first are read during a write.
    assert!(during >= 9, "{during} of {reads} reads started while a batch was written");
    // Changes on both sides, several batches each way, in lockstep with the writes.
    hub.exec("UPDATE items SET qty = qty + 1 WHERE id <= 500").await;
    a.exec("UPDATE items SET name = 'member' WHERE id > 600").await;
    let clean = e.engine.prepare(&config).await.expect("prepare");
    sync_until_quiet(&e.engine, &clean, 4).await;
    let rows = assert_converged(&hub, &[&a]).await;
    assert_eq!((rows[&1].qty, rows[&700].name.as_deref()), (Some(2), Some("member")));
}

#[tokio::test]
async fn sqlite_hub_with_postgres_and_mariadb_members() {
    initial_then_incremental(Kind::Sqlite, Kind::Postgres, Kind::Mysql).await;
}

#[tokio::test]
async fn postgres_hub_with_mariadb_and_sqlite_members() {
    initial_then_incremental(Kind::Postgres, Kind::Mysql, Kind::Sqlite).await;
}

#[tokio::test]
async fn mariadb_hub_with_sqlite_and_postgres_members() {
    initial_then_incremental(Kind::Mysql, Kind::Sqlite, Kind::Postgres).await;
}

#[tokio::test]
async fn sql_server_hub_with_postgres_and_sqlite_members() {
    if common::mssql_available() {
        initial_then_incremental(Kind::Mssql, Kind::Postgres, Kind::Sqlite).await;
    }
}

#[tokio::test]
async fn sqlite_hub_with_sql_server_and_mariadb_members() {
    if common::mssql_available() {
        initial_then_incremental(Kind::Sqlite, Kind::Mssql, Kind::Mysql).await;
    }
}

#[tokio::test]
async fn mariadb_hub_with_an_existing_sql_server_table() {
    if common::mssql_available() {
        initial_then_incremental(Kind::Mysql, Kind::Sqlite, Kind::Mssql).await;
    }
}

/// Where a write changes only its own keys, the next batch's keys are
/// looked up while a batch is written; conflicts in every batch are still
/// found.
#[tokio::test]
async fn the_next_batch_is_looked_up_while_one_is_written() {
    for member in [Kind::Sqlite, Kind::Postgres, Kind::Mysql] {
        let (hub, a, e, config) = thousand_items(member).await;
        let clean = e.engine.prepare(&config).await.expect("prepare");
        sync_until_quiet(&e.engine, &clean, 3).await;
        // Every key changed on the hub, every third on the member too.
        hub.exec("UPDATE items SET qty = qty + 1").await;
        a.exec("UPDATE items SET name = 'member' WHERE id % 3 = 0").await;
        let (g, overlap) = slowed(&e.engine, &config).await;
        let r = e.engine.sync_group(&g, None).await.expect("sync");
        assert!(r.errors().is_empty(), "{member:?}: {:?}", r.errors());
        let during = overlap.lookups_during_apply.load(Ordering::SeqCst);
        assert!(during >= 9, "{member:?}: {during} lookups started while a batch was written");
        let conflicts = e.engine.meta().conflicts("g", 10_000).await.expect("history");
        assert_eq!(conflicts.len(), 333, "{member:?}: every conflict found, in every batch");
        sync_until_quiet(&e.engine, &clean, 3).await;
        let rows = assert_converged(&hub, &[&a]).await;
        assert_eq!((rows[&3].qty, rows[&3].name.as_deref()), (Some(4), Some("item 3")), "{member:?}: the hub won");
    }
}

/// One conflict on key 1 (hub sets qty 10, member sets qty 20 and name "m"),
/// settled by `policy`; returns the converged row and the recorded decision.
async fn settle(policy: &str, config: serde_json::Value) -> (Option<common::Item>, String) {
    let (hub, m) = (Db::new(Kind::Sqlite).await, Db::new(Kind::Sqlite).await);
    hub.create_items().await;
    hub.exec("INSERT INTO items VALUES (1, 'one', 1, '1'), (2, 'two', 2, '2')").await;
    let e = engine().await;
    let g = e.engine.prepare(&group("g", &hub, &[&m], policy, config)).await.expect("prepare");
    sync_until_quiet(&e.engine, &g, 3).await;
    hub.exec("UPDATE items SET qty = 10 WHERE id = 1").await;
    std::thread::sleep(std::time::Duration::from_millis(5));
    m.exec("UPDATE items SET qty = 20, name = 'm' WHERE id = 1").await;
    let r = e.engine.sync_group(&g, None).await.expect("sync");
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    let decision = e.engine.meta().conflicts("g", 1).await.expect("history")[0].1.decision.clone();
    if decision == "skip" {
        return (m.items().await.get(&1).cloned(), decision);
    }
    sync_until_quiet(&e.engine, &g, 3).await;
    let rows = assert_converged(&hub, &[&m]).await;
    (rows.get(&1).cloned(), decision)
}

#[tokio::test]
async fn every_kind_of_decision_is_carried_out() {
    let (row, d) = settle("builtin:hub-wins", json!({})).await;
    assert_eq!((row.as_ref().and_then(|r| r.qty), d.as_str()), (Some(10), "take-hub"));
    let (row, d) = settle("builtin:member-wins", json!({})).await;
    assert_eq!((row.as_ref().and_then(|r| r.qty), d.as_str()), (Some(20), "take-member"));
    let (row, d) = settle("builtin:last-writer-wins", json!({})).await;
    assert_eq!((row.as_ref().and_then(|r| r.qty), d.as_str()), (Some(20), "take-member"), "the member wrote later");
    let (row, d) = settle("builtin:column-merge", json!({"member_columns": ["name"]})).await;
    let row = row.expect("row");
    assert_eq!((row.qty, row.name.as_deref(), d.as_str()), (Some(10), Some("m"), "merged"), "merged on both sides");
    let misbehave = format!("{}/misbehave.wasm", hubsync_plugin_host::TEST_PLUGINS_DIR);
    let (row, d) = settle(&misbehave, json!({"mode": "skip"})).await;
    assert_eq!((row.and_then(|r| r.qty), d.as_str()), (Some(20), "skip"), "a skip leaves the member's row");
}

#[tokio::test]
async fn a_skipped_conflict_stays_until_either_side_changes_again() {
    let (hub, m) = (Db::new(Kind::Sqlite).await, Db::new(Kind::Sqlite).await);
    hub.create_items().await;
    hub.exec("INSERT INTO items VALUES (1, 'one', 1, '1')").await;
    let e = engine().await;
    let misbehave = format!("{}/misbehave.wasm", hubsync_plugin_host::TEST_PLUGINS_DIR);
    let g = e.engine.prepare(&group("g", &hub, &[&m], &misbehave, json!({"mode": "skip"}))).await.expect("prepare");
    sync_until_quiet(&e.engine, &g, 3).await;
    hub.exec("UPDATE items SET qty = 10 WHERE id = 1").await;
    m.exec("UPDATE items SET qty = 20 WHERE id = 1").await;
    for _ in 0..3 {
        let r = e.engine.sync_group(&g, None).await.expect("sync");
        assert!(r.errors().is_empty());
    }
    assert_eq!(hub.items().await[&1].qty, Some(10), "the hub keeps its row");
    assert_eq!(m.items().await[&1].qty, Some(20), "the member keeps its row");
    // A later change on the member is not a conflict any more and travels.
    m.exec("UPDATE items SET qty = 30 WHERE id = 1").await;
    sync_until_quiet(&e.engine, &g, 3).await;
    assert_eq!(assert_converged(&hub, &[&m]).await[&1].qty, Some(30));
}

#[tokio::test]
async fn directions_are_honoured() {
    let (hub, up, down) = (Db::new(Kind::Sqlite).await, Db::new(Kind::Sqlite).await, Db::new(Kind::Mysql).await);
    hub.create_items().await;
    hub.exec("INSERT INTO items VALUES (1, 'hub', 1, '1')").await;
    let e = engine().await;
    let mut config = group("g", &hub, &[&up, &down], "builtin:hub-wins", json!({}));
    config.members[0].direction = SyncDirection::ToHub;
    config.members[1].direction = SyncDirection::FromHub;
    let g = e.engine.prepare(&config).await.expect("prepare");
    sync_until_quiet(&e.engine, &g, 3).await;
    up.exec("INSERT INTO items VALUES (2, 'up', 2, '2')").await;
    down.exec("INSERT INTO items VALUES (3, 'down', 3, '3')").await;
    sync_until_quiet(&e.engine, &g, 3).await;
    let ids = |rows: std::collections::BTreeMap<i64, common::Item>| rows.keys().copied().collect::<Vec<_>>();
    assert_eq!(ids(hub.items().await), [1, 2], "to-hub member's rows reach the hub; from-hub member's do not");
    assert_eq!(ids(up.items().await), [2], "a to-hub member receives nothing");
    assert_eq!(ids(down.items().await), [1, 2, 3], "a from-hub member receives everything and keeps its own");
}

#[tokio::test]
async fn sync_schema_changes_provision_and_backfill() {
    let (hub, m) = (Db::new(Kind::Postgres).await, Db::new(Kind::Sqlite).await);
    hub.create_items().await;
    hub.exec("INSERT INTO items VALUES (1, 'one', 1, 1), (2, 'two', 2, 2)").await;
    // The member's price is an integer, unlike the hub's decimal: fine until price is synced.
    m.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, price INTEGER)").await;
    let e = engine().await;
    let mut config = group("g", &hub, &[&m], "builtin:hub-wins", json!({}));
    config.tables[0].columns = vec!["id".into(), "name".into()];
    let g = e.engine.prepare(&config).await.expect("prepare");
    sync_until_quiet(&e.engine, &g, 3).await;
    let rows = m.items().await;
    assert_eq!((rows[&1].name.as_deref(), rows[&1].qty), (Some("one"), None), "only selected columns travel");
    // Add qty to the sync schema: it is provisioned and backfilled.
    config.tables[0].columns.push("qty".into());
    let g = e.engine.prepare(&config).await.expect("prepare again");
    sync_until_quiet(&e.engine, &g, 3).await;
    assert_eq!(m.items().await[&2].qty, Some(2), "the new column is backfilled");
    // A member column of another type is refused with what to do.
    config.tables[0].columns.push("price".into());
    let g = e.engine.prepare(&config).await.expect("the hub and other members still prepare");
    let (member, err) = g.unprepared().next().expect("incompatible member");
    assert_eq!(member, "m0");
    assert!(err.contains("price") && err.contains("same type"), "{err}");
    let report = e.engine.sync_group(&g, None).await.expect("sync");
    assert!(report.errors().iter().any(|x| x.contains("price")), "reported at every sync: {:?}", report.errors());
}

#[tokio::test]
async fn a_database_in_two_groups_does_not_ping_pong() {
    let (h1, h2, shared, other) = (
        Db::new(Kind::Sqlite).await,
        Db::new(Kind::Sqlite).await,
        Db::new(Kind::Sqlite).await,
        Db::new(Kind::Mysql).await,
    );
    h1.create_items().await;
    h1.exec("INSERT INTO items VALUES (1, 'h1', 1, '1')").await;
    h2.create_items().await;
    let e = engine().await;
    let g1 = e.engine.prepare(&group("g1", &h1, &[&shared], "builtin:hub-wins", json!({}))).await.expect("g1");
    let g2 = e.engine.prepare(&group("g2", &h2, &[&shared, &other], "builtin:hub-wins", json!({}))).await.expect("g2");
    for _ in 0..2 {
        sync_until_quiet(&e.engine, &g1, 4).await;
        sync_until_quiet(&e.engine, &g2, 4).await;
    }
    h2.exec("UPDATE items SET name = 'from h2' WHERE id = 1").await;
    other.exec("INSERT INTO items VALUES (2, 'other', 2, '2')").await;
    for _ in 0..3 {
        sync_until_quiet(&e.engine, &g2, 4).await;
        sync_until_quiet(&e.engine, &g1, 4).await;
    }
    let rows = assert_converged(&h1, &[&shared, &h2, &other]).await;
    assert_eq!(rows[&1].name.as_deref(), Some("from h2"));
    assert_eq!(rows.len(), 2);
    // Quiet now: one more round of both groups writes nothing.
    for g in [&g1, &g2] {
        let r = e.engine.sync_group(g, None).await.expect("sync");
        let wrote: u64 = r.members.iter().flat_map(|m| &m.tables).map(|t| t.rows_down + t.rows_up).sum();
        assert_eq!(wrote, 0, "group {} still writes", r.group);
    }
}

#[tokio::test]
async fn the_metadata_can_live_in_postgresql() {
    let (meta, hub, m) = (Db::new(Kind::Postgres).await, Db::new(Kind::Sqlite).await, Db::new(Kind::Mysql).await);
    hub.create_items().await;
    hub.exec("INSERT INTO items VALUES (1, 'one', 1, '1')").await;
    let e = hubsync_engine::Engine::open(&meta.url, None).await.expect("engine on PostgreSQL metadata");
    let g = e.prepare(&group("g", &hub, &[&m], "builtin:member-wins", json!({}))).await.expect("prepare");
    sync_until_quiet(&e, &g, 3).await;
    hub.exec("UPDATE items SET qty = 10 WHERE id = 1").await;
    m.exec("UPDATE items SET qty = 20 WHERE id = 1").await;
    sync_until_quiet(&e, &g, 3).await;
    assert_eq!(assert_converged(&hub, &[&m]).await[&1].qty, Some(20));
    assert_eq!(e.meta().conflicts("g", 10).await.expect("history")[0].1.decision, "take-member");
    assert!(meta.scalar("SELECT COUNT(*) FROM sessions").await > 0, "history is in PostgreSQL");
}

async fn tracked(db: &Db, table: &str) -> i64 {
    db.scalar(&format!("SELECT COUNT(*) FROM hubsync_tables WHERE name = '{table}'")).await
}

#[tokio::test]
async fn a_table_leaving_the_sync_schema_loses_its_tracking_unless_another_group_uses_it() {
    let (hub, m, other) = (Db::new(Kind::Sqlite).await, Db::new(Kind::Sqlite).await, Db::new(Kind::Sqlite).await);
    hub.create_items().await;
    hub.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)").await;
    let e = engine().await;
    let notes =
        hubsync_core::TableConfig { name: "notes".into(), namespace: None, columns: vec![], conflict_policy: None };
    let mut g1 = group("g1", &hub, &[&m], "builtin:hub-wins", json!({}));
    g1.tables.push(notes.clone());
    let mut g2 = group("g2", &hub, &[&other], "builtin:hub-wins", json!({}));
    g2.tables = vec![notes];
    e.engine.prepare(&g1).await.expect("g1");
    e.engine.prepare(&g2).await.expect("g2");
    assert_eq!((tracked(&hub, "notes").await, tracked(&m, "notes").await), (1, 1));
    // g1 drops notes: the member's tracking goes, the hub's stays for g2.
    g1.tables.truncate(1);
    e.engine.prepare(&g1).await.expect("g1 without notes");
    assert_eq!((tracked(&hub, "notes").await, tracked(&m, "notes").await), (1, 0));
    assert_eq!(tracked(&m, "items").await, 1, "tables still synced keep their tracking");
    // g2 drops its member: the member's tracking goes.
    g2.members.clear();
    g2.members.push(hubsync_core::MemberConfig {
        name: "m9".into(),
        url: m.url.clone(),
        direction: SyncDirection::Bidirectional,
        column_filter: None,
        schema_map: None,
        connect_timeout_seconds: None,
        statement_timeout_seconds: None,
    });
    e.engine.prepare(&g2).await.expect("g2 with another member");
    assert_eq!(tracked(&other, "notes").await, 0);
    assert_eq!(tracked(&hub, "notes").await, 1);
}

#[tokio::test]
async fn a_member_key_that_starts_folding_after_preparation_quarantines_instead_of_merging() {
    let (hub, m) = (Db::new(Kind::Sqlite).await, Db::new(Kind::Sqlite).await);
    hub.exec("CREATE TABLE tags (name TEXT PRIMARY KEY, n INTEGER)").await;
    hub.exec("INSERT INTO tags VALUES ('abc', 1)").await;
    let e = engine().await;
    let mut config = group("g", &hub, &[&m], "builtin:hub-wins", json!({}));
    config.tables[0].name = "tags".into();
    let g = e.engine.prepare(&config).await.expect("prepare");
    let r = e.engine.sync_group(&g, None).await.expect("sync");
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    // Behind the prepared group's back, the member's key starts ignoring case.
    m.exec("ALTER TABLE tags RENAME TO old_tags").await;
    m.exec("CREATE TABLE tags (name TEXT COLLATE NOCASE PRIMARY KEY, n INTEGER)").await;
    m.exec("INSERT INTO tags SELECT * FROM old_tags").await;
    hub.exec("INSERT INTO tags VALUES ('ABC', 2)").await;
    let r = e.engine.sync_group(&g, None).await.expect("sync");
    assert_eq!(r.members[0].tables[0].quarantined, 1, "{r:?}");
    assert_eq!(m.scalar("SELECT n FROM tags WHERE name = 'abc'").await, 1, "the member's row is not overwritten");
    let held = e.engine.meta().quarantine(Some("g")).await.expect("quarantine");
    assert!(held[0].record.error.contains("treats as equal"), "{:?}", held[0].record.error);
    // A fresh preparation refuses the table, naming its collation.
    let g = e.engine.prepare(&config).await.expect("prepare");
    let (_, why) = g.unprepared().next().expect("refused");
    assert!(why.contains("NOCASE"), "{why}");
}

#[tokio::test]
async fn a_sync_knows_how_many_changes_wait_before_its_first_batch() {
    let (hub, a, b) = (Db::new(Kind::Sqlite).await, Db::new(Kind::Postgres).await, Db::new(Kind::Mysql).await);
    hub.create_items().await;
    b.create_items().await;
    let rows: Vec<String> = (1..=20).map(|i| format!("({i}, 'item {i}', {i}, {i}.50)")).collect();
    hub.exec(&format!("INSERT INTO items (id, name, qty, price) VALUES {}", rows.join(", "))).await;
    let b_rows: Vec<String> = (101..=113).map(|i| format!("({i}, 'b {i}', 1, 1)")).collect();
    b.exec(&format!("INSERT INTO items (id, name, qty, price) VALUES {}", b_rows.join(", "))).await;
    let e = engine().await;
    let g = e.engine.prepare(&group("g", &hub, &[&a, &b], "builtin:hub-wins", json!({}))).await.expect("prepare");
    let control = hubsync_engine::SyncControl::default();
    assert_eq!(control.total(), None, "nothing counted yet");
    e.engine.sync_group_with(&g, None, &control).await.expect("sync");
    // m1: the hub's 20 rows down, nothing up; m2: 20 down, its 13 up. The
    // rows each sync writes and reads back as its own echoes are no part of
    // the total, and progress stops at it.
    assert_eq!(control.total(), Some(53));
    assert_eq!(control.changes(), 53);
    // Nothing waits once the rounds are done: a total of zero, known at once.
    sync_until_quiet(&e.engine, &g, 4).await;
    assert_converged(&hub, &[&a, &b]).await;
    let idle = hubsync_engine::SyncControl::default();
    e.engine.sync_group_with(&g, None, &idle).await.expect("sync");
    assert_eq!(idle.total(), Some(0));
}
