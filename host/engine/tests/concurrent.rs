//! Applications keep writing to the hub and the members while syncs run;
//! once they stop, the databases converge and every conflict was the
//! policy's.

mod common;

use std::time::{Duration, Instant};

use common::{Db, Kind, assert_converged, engine, group, sync_until_quiet};
use serde_json::json;

async fn writer(db: &Db, me: usize, until: Instant) -> usize {
    let mut n = 0usize;
    while Instant::now() < until {
        // A small LCG: deterministic enough, no extra dependency.
        let x = (n * 7919 + me * 104_729) % 1000;
        let key = (x % 40) as i64 + 1;
        let sql = if x.is_multiple_of(5) {
            format!("DELETE FROM items WHERE id = {key}")
        } else {
            db.upsert_item(key, &format!("w{me}-{n}"), x as i64, &format!("{x}.5"))
        };
        // An application on InnoDB retries a transaction chosen as a deadlock victim.
        let mut tries = 0;
        while let Err(e) = db.try_exec(&sql).await {
            tries += 1;
            assert!(tries < 10 && e.to_string().contains("Deadlock"), "{sql}: {e}");
        }
        n += 1;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_writers_during_syncs_then_convergence() {
    let (hub, a, b) = (Db::new(Kind::Postgres).await, Db::new(Kind::Mysql).await, Db::new(Kind::Sqlite).await);
    hub.create_items().await;
    let e = engine().await;
    let mut config = group("g", &hub, &[&a, &b], "builtin:last-writer-wins", json!({}));
    config.batch_rows = 16;
    let g = e.engine.prepare(&config).await.expect("prepare");
    let until = Instant::now() + Duration::from_secs(3);
    let syncs = async {
        let mut rounds = 0;
        while Instant::now() < until {
            let r = e.engine.sync_group(&g, None).await.expect("sync");
            assert!(r.errors().is_empty(), "{:?}", r.errors());
            rounds += 1;
        }
        rounds
    };
    let (rounds, w0, w1, w2) = tokio::join!(syncs, writer(&hub, 0, until), writer(&a, 1, until), writer(&b, 2, until));
    assert!(rounds >= 2 && w0 + w1 + w2 > 100, "{rounds} sync rounds during {} writes", w0 + w1 + w2);
    sync_until_quiet(&e.engine, &g, 6).await;
    assert_converged(&hub, &[&a, &b]).await;
    let conflicts = e.engine.meta().conflicts("g", 100_000).await.expect("history");
    assert!(conflicts.iter().all(|(_, c)| c.plugin.starts_with("last-writer-wins")));
}
