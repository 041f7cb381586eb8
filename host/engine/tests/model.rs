//! Model-based property test of the sync invariant: random inserts,
//! updates and deletes on the hub and two members (SQLite, PostgreSQL,
//! MariaDB and SQL Server mixed), random syncs in between; afterwards, enough rounds make
//! every database hold the same rows, a key written in one database only
//! ends as that database last left it (nothing lost), and every conflict
//! was decided by the group's policy.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Db, Kind, assert_converged, engine, group, sync_until_quiet};
use proptest::prelude::*;
use serde_json::json;

#[derive(Debug, Clone)]
enum Step {
    /// Database `db` (0 = hub) sets key `key` to `qty` (inserting if absent).
    Put { db: usize, key: i64, qty: i64 },
    /// Database `db` deletes `key`.
    Delete { db: usize, key: i64 },
    /// Member `member` syncs.
    Sync { member: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3usize, 1..10i64, 0..1000i64).prop_map(|(db, key, qty)| Step::Put { db, key, qty }),
        1 => (0..3usize, 1..10i64).prop_map(|(db, key)| Step::Delete { db, key }),
        2 => (0..2usize).prop_map(|member| Step::Sync { member }),
    ]
}

fn kind() -> impl Strategy<Value = Kind> {
    // SQL Server joins the mix when one runs (Babelfish here; see README).
    let mut kinds = vec![Kind::Sqlite, Kind::Postgres, Kind::Mysql];
    if common::mssql_available() {
        kinds.push(Kind::Mssql);
    }
    proptest::sample::select(kinds)
}

async fn run(kinds: [Kind; 3], member_wins: bool, steps: Vec<Step>) {
    let dbs = [Db::new(kinds[0]).await, Db::new(kinds[1]).await, Db::new(kinds[2]).await];
    dbs[0].create_items().await;
    let e = engine().await;
    let (policy, decision) =
        if member_wins { ("builtin:member-wins", "take-member") } else { ("builtin:hub-wins", "take-hub") };
    let g = e.engine.prepare(&group("g", &dbs[0], &[&dbs[1], &dbs[2]], policy, json!({}))).await.expect("prepare");
    let mut writers: BTreeMap<i64, BTreeSet<usize>> = BTreeMap::new();
    for s in &steps {
        match *s {
            Step::Put { db, key, qty } => {
                dbs[db].exec(&dbs[db].upsert_item(key, &format!("db{db}"), qty, &format!("{qty}.25"))).await;
                writers.entry(key).or_default().insert(db);
            }
            Step::Delete { db, key } => {
                dbs[db].exec(&format!("DELETE FROM items WHERE id = {key}")).await;
                writers.entry(key).or_default().insert(db);
            }
            Step::Sync { member } => {
                let r = e.engine.sync_group(&g, Some(&format!("m{member}"))).await.expect("sync");
                assert!(r.errors().is_empty(), "{:?}", r.errors());
            }
        }
    }
    // The last state each database gave its single-writer keys.
    let mut own = BTreeMap::new();
    for (key, by) in &writers {
        if let [db] = by.iter().copied().collect::<Vec<_>>()[..] {
            own.insert(*key, dbs[db].items().await.get(key).cloned());
        }
    }
    sync_until_quiet(&e.engine, &g, 6).await;
    let rows = assert_converged(&dbs[0], &[&dbs[1], &dbs[2]]).await;
    for (key, want) in own {
        assert_eq!(rows.get(&key).cloned(), want, "key {key}, written in one database only, was lost or altered");
    }
    for (scope, c) in e.engine.meta().conflicts("g", 10_000).await.expect("history") {
        assert_eq!(c.decision, decision, "conflict on {} with {} not decided by {policy}", c.key, scope.member);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_changes_and_syncs_converge(
        kinds in [kind(), kind(), kind()],
        member_wins in any::<bool>(),
        steps in proptest::collection::vec(step(), 1..30),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(run(kinds, member_wins, steps));
    }
}
