//! Applications and hubsync writing the same table at once: what hubsync
//! costs the applications, in failed transactions (deadlock, lock-wait
//! timeout, busy) and in throughput, beside the same load without hubsync.
//!
//! For each engine (PostgreSQL, MariaDB, SQLite), N application
//! connections run transactions of 1–5 writes (70 % upserts, 30 % deletes)
//! on random keys of a 20,000-key range, for D seconds, first on a table
//! without hubsync (baseline), then on a member table hubsync tracks while
//! it syncs in a loop with a SQLite hub that another writer keeps changing
//! (so hubsync both applies downloads into the table and reads the
//! applications' changes from it). Failed application transactions are
//! rolled back and counted, not retried.
//!
//! `cargo bench -p hubsync-engine --bench contention`
//! (`HUBSYNC_BENCH_SECONDS`, default 20; `HUBSYNC_BENCH_APPS`, default 4;
//! `HUBSYNC_BENCH_ENGINES=postgres,mysql,sqlite`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hubsync_core::GroupConfig;
use hubsync_engine::Engine;
use sqlx::any::AnyPoolOptions;
use sqlx::{AssertSqlSafe, Executor};

const KEYS: u64 = 20_000;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn wanted(engine: &str) -> bool {
    std::env::var("HUBSYNC_BENCH_ENGINES").map_or(true, |v| v.split(',').any(|e| e == engine))
}

/// Outcome counters of the application transactions.
#[derive(Default)]
struct Counts {
    committed: AtomicU64,
    deadlocks: AtomicU64,
    lock_timeouts: AtomicU64,
    other: AtomicU64,
}

struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn create_sql(engine: &str) -> &'static str {
    match engine {
        "mysql" => "CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, note VARCHAR(40) NOT NULL) ENGINE=InnoDB",
        _ => "CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, note TEXT NOT NULL)",
    }
}

fn upsert_sql(engine: &str, rows: &[(u64, u64)], who: &str) -> String {
    let values = rows.iter().map(|(k, v)| format!("({k}, {v}, '{who}')")).collect::<Vec<_>>().join(", ");
    match engine {
        "mysql" => format!(
            "INSERT INTO t (id, v, note) VALUES {values} ON DUPLICATE KEY UPDATE v = VALUES(v), note = VALUES(note)"
        ),
        _ => format!(
            "INSERT INTO t (id, v, note) VALUES {values} ON CONFLICT (id) DO UPDATE SET v = excluded.v, note = excluded.note"
        ),
    }
}

/// One application connection writing until `stop`.
async fn application(engine: &'static str, url: String, seed: u64, stop: Arc<AtomicBool>, counts: Arc<Counts>) {
    let pool = AnyPoolOptions::new().max_connections(1).connect(&url).await.expect("application connects");
    let mut conn = pool.acquire().await.expect("connection");
    let mut rng = Xorshift(seed * 2_654_435_761 + 1);
    while !stop.load(Ordering::Relaxed) {
        let writes = 1 + rng.next() % 5;
        let mut result = conn.execute("BEGIN").await.map(|_| ());
        for _ in 0..writes {
            if result.is_err() {
                break;
            }
            let key = 1 + rng.next() % KEYS;
            let sql = if rng.next() % 10 < 7 {
                upsert_sql(engine, &[(key, rng.next() % 1_000_000)], "app")
            } else {
                format!("DELETE FROM t WHERE id = {key}")
            };
            result = conn.execute(AssertSqlSafe(sql)).await.map(|_| ());
        }
        if result.is_ok() {
            result = conn.execute("COMMIT").await.map(|_| ());
        }
        match result {
            Ok(()) => {
                counts.committed.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                let _ = conn.execute("ROLLBACK").await;
                let m = e.to_string().to_ascii_lowercase();
                let counter = if m.contains("deadlock") {
                    &counts.deadlocks
                } else if m.contains("lock wait timeout") || m.contains("lock timeout") || m.contains("locked") {
                    &counts.lock_timeouts
                } else {
                    eprintln!("application error: {e}");
                    &counts.other
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A fresh database for `engine` and its URL; a drop action for the servers.
async fn fresh(engine: &str, name: &str, dir: &std::path::Path) -> String {
    match engine {
        "postgres" => {
            let admin = std::env::var("HUBSYNC_TEST_PG")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let pool = sqlx::PgPool::connect(&admin).await.expect("PostgreSQL");
            pool.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await.expect("drop");
            pool.execute(AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create");
            format!("{}/{name}", &admin[..admin.rfind('/').expect("db in url")])
        }
        "mysql" => {
            let server = std::env::var("HUBSYNC_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
            let pool = sqlx::MySqlPool::connect(&server).await.expect("MariaDB");
            pool.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).await.expect("drop");
            pool.execute(AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create");
            format!("{server}/{name}")
        }
        _ => format!("sqlite://{}?mode=rwc", dir.join(format!("{name}.db")).display()),
    }
}

async fn exec(url: &str, sql: &str) {
    let pool = AnyPoolOptions::new().max_connections(1).connect(url).await.expect("connect");
    if url.starts_with("sqlite") {
        pool.execute("PRAGMA journal_mode = WAL").await.expect("wal");
    }
    pool.execute(AssertSqlSafe(sql.to_owned())).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    pool.close().await;
}

/// Fill keys 1..=KEYS/2 so that updates, inserts and deletes all happen.
async fn prefill(engine: &str, url: &str) {
    exec(url, create_sql(engine)).await;
    let rows: Vec<(u64, u64)> = (1..=KEYS / 2).map(|k| (k, k)).collect();
    for chunk in rows.chunks(1000) {
        exec(url, &upsert_sql(engine, chunk, "seed")).await;
    }
}

struct Outcome {
    tx_per_s: f64,
    per_10k: [f64; 3],
    synced: String,
}

async fn run_apps(
    engine: &'static str,
    url: &str,
    seconds: u64,
    apps: u64,
    during: Option<(&Engine, &hubsync_engine::Group, String)>,
) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let mut tasks = Vec::new();
    for i in 0..apps {
        tasks.push(tokio::spawn(application(engine, url.to_owned(), i + 1, stop.clone(), counts.clone())));
    }
    let clock = Instant::now();
    let mut synced = String::new();
    match during {
        Some((hubsync, group, hub_url)) => {
            // A writer on the hub, so hubsync also applies into the table.
            let hub_stop = stop.clone();
            let hub_writer = tokio::spawn(async move {
                let pool = AnyPoolOptions::new().max_connections(1).connect(&hub_url).await.expect("hub");
                let mut rng = Xorshift(99);
                while !hub_stop.load(Ordering::Relaxed) {
                    let rows: Vec<(u64, u64)> = (0..200).map(|_| (1 + rng.next() % KEYS, rng.next() % 1000)).collect();
                    let _ = pool.execute(AssertSqlSafe(upsert_sql("sqlite", &rows, "hub"))).await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
            let (mut down, mut up, mut rounds, mut failures) = (0, 0, 0, 0);
            while clock.elapsed() < Duration::from_secs(seconds) {
                let r = hubsync.sync_group(group, None).await.expect("sync");
                rounds += 1;
                failures += r.errors().len();
                for e in r.errors() {
                    eprintln!("hubsync: {e}");
                }
                for m in &r.members {
                    for t in &m.tables {
                        down += t.rows_down;
                        up += t.rows_up;
                    }
                }
            }
            stop.store(true, Ordering::Relaxed);
            let _ = hub_writer.await;
            synced = format!("hubsync: {rounds} syncs, {down} rows down, {up} up, {failures} failed table syncs");
        }
        None => tokio::time::sleep(Duration::from_secs(seconds)).await,
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let secs = clock.elapsed().as_secs_f64();
    let committed = counts.committed.load(Ordering::Relaxed) as f64;
    let failed = [&counts.deadlocks, &counts.lock_timeouts, &counts.other].map(|c| c.load(Ordering::Relaxed) as f64);
    let total = committed + failed.iter().sum::<f64>();
    Outcome { tx_per_s: committed / secs, per_10k: failed.map(|f| f * 10_000.0 / total.max(1.0)), synced }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    sqlx::any::install_default_drivers();
    let seconds = env_num("HUBSYNC_BENCH_SECONDS", 20);
    let apps = env_num("HUBSYNC_BENCH_APPS", 4);
    let dir = tempfile::tempdir().expect("tempdir");
    println!(
        "{apps} application connections for {seconds} s each; failed transactions per 10,000 (deadlock / lock timeout or busy / other)"
    );
    for engine in ["postgres", "mysql", "sqlite"] {
        if !wanted(engine) {
            continue;
        }
        let pid = std::process::id();
        let base_url = fresh(engine, &format!("hubsync_bench_c0_{pid}"), dir.path()).await;
        prefill(engine, &base_url).await;
        let without = run_apps(engine, &base_url, seconds, apps, None).await;

        let url = fresh(engine, &format!("hubsync_bench_c1_{pid}"), dir.path()).await;
        prefill(engine, &url).await;
        let hub_url = format!("sqlite://{}?mode=rwc", dir.path().join(format!("hub_{engine}.db")).display());
        prefill("sqlite", &hub_url).await;
        let engine_meta = format!("sqlite://{}", dir.path().join(format!("meta_{engine}.db")).display());
        let hubsync = Engine::open(&engine_meta, None).await.expect("engine");
        let config: GroupConfig = serde_json::from_value(serde_json::json!({
            "name": "bench", "hub": hub_url,
            "member": [{"name": "m", "url": url}],
            "table": [{"name": "t"}],
            "conflict_policy": {"plugin": "builtin:last-writer-wins"},
            "batch_rows": 10000,
        }))
        .expect("group");
        let group = hubsync.prepare(&config).await.expect("prepare");
        hubsync.sync_group(&group, None).await.expect("initial sync");
        let with = run_apps(engine, &url, seconds, apps, Some((&hubsync, &group, hub_url.clone()))).await;
        let f = |o: &Outcome| format!("{:.1} / {:.1} / {:.1}", o.per_10k[0], o.per_10k[1], o.per_10k[2]);
        println!(
            "{engine:<9} without hubsync: {:>7.0} tx/s, failed per 10k: {}   with hubsync: {:>7.0} tx/s ({:.2} of baseline), failed per 10k: {}   {}",
            without.tx_per_s,
            f(&without),
            with.tx_per_s,
            with.tx_per_s / without.tx_per_s.max(1.0),
            f(&with),
            with.synced
        );
    }
}
