//! Time to read one batch of changes as the backlog grows: flat is the
//! target (a read that cost the whole backlog per batch would make a large
//! initial sync quadratic).
//!
//! For each engine and backlog N, a table is provisioned while empty (so
//! PostgreSQL's statistics say "no rows") and then an application loads N
//! rows in one statement, through the tracking triggers: the backlog a
//! first sync meets when autovacuum is off or lags. The first five batches
//! of 10,000 changes are then read with `read_changes`, each from the
//! anchor the previous one returned. Printed: the median time per batch,
//! beside the same figure at a 10,000-row backlog measured in the same run
//! (ratio 1.0 = flat).
//!
//! `cargo bench -p hubsync-connectors --bench read_backlog`
//! (`HUBSYNC_BENCH_BACKLOGS=100000,1000000,10000000` by default;
//! `HUBSYNC_BENCH_ENGINES=postgres,mysql,sqlite`).

use std::time::Instant;

use hubsync_connectors::{Mysql, Postgres, Sqlite};
use hubsync_core::{Anchor, ColumnType, Connector, TableSchema};
use sqlx::{AssertSqlSafe, Executor};

const BATCH: usize = 10_000;

fn wanted(engine: &str) -> bool {
    std::env::var("HUBSYNC_BENCH_ENGINES").map_or(true, |v| v.split(',').any(|e| e == engine))
}

fn backlogs() -> Vec<usize> {
    std::env::var("HUBSYNC_BENCH_BACKLOGS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100_000, 1_000_000, 10_000_000])
}

/// The SQL an application would use to create the table and load `n` rows.
fn ddl_and_load(engine: &str, name: &str, n: usize) -> (String, String) {
    match engine {
        "postgres" => (
            format!("CREATE TABLE {name} (id bigint PRIMARY KEY, v bigint NOT NULL, note text NOT NULL)"),
            format!("INSERT INTO {name} SELECT i, i * 7, 'note ' || i FROM generate_series(1, {n}) i"),
        ),
        "mysql" => (
            format!(
                "CREATE TABLE {name} (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, note VARCHAR(100) NOT NULL) ENGINE=InnoDB"
            ),
            format!("INSERT INTO {name} SELECT seq, seq * 7, CONCAT('note ', seq) FROM seq_1_to_{n}"),
        ),
        _ => (
            format!("CREATE TABLE {name} (id INTEGER PRIMARY KEY, v INTEGER NOT NULL, note TEXT NOT NULL)"),
            format!(
                "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) \
                 INSERT INTO {name} SELECT i, i * 7, 'note ' || i FROM s"
            ),
        ),
    }
}

/// Median ms per batch over the first five batches of a backlog of `n`.
async fn per_batch_ms(engine: &str, db: &dyn Connector, exec: &(dyn Fn(String) -> Fut + Sync), n: usize) -> f64 {
    let name = format!("backlog_{n}");
    let (ddl, load) = ddl_and_load(engine, &name, n);
    exec(ddl).await;
    let table = TableSchema::new(name.clone())
        .key("id", ColumnType::Int)
        .column("v", ColumnType::Int)
        .column("note", ColumnType::Text);
    db.provision(&table).await.expect("provision");
    let clock = Instant::now();
    exec(load).await;
    let load_s = clock.elapsed().as_secs_f64();
    let mut times = Vec::new();
    let mut at = Anchor::start();
    for _ in 0..5 {
        let clock = Instant::now();
        let b = db.read_changes(&table, &at, BATCH).await.expect("read");
        if b.changes.is_empty() {
            break; // `more` may be a maybe (MySQL: as many numbered as asked for)
        }
        times.push(clock.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(b.changes.len(), BATCH.min(n), "a full batch");
        at = b.next;
        if !b.more {
            break;
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!("{engine:<9} backlog {n:>10}: loaded in {load_s:>6.1} s; batches of {BATCH}: {times:.1?} ms");
    median
}

type Fut = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

async fn run(engine: &str, db: &dyn Connector, exec: &(dyn Fn(String) -> Fut + Sync)) {
    let base = per_batch_ms(engine, db, exec, BATCH).await;
    let mut rows = vec![(BATCH, base)];
    for n in backlogs() {
        rows.push((n, per_batch_ms(engine, db, exec, n).await));
    }
    for (n, ms) in rows {
        println!(
            "{engine:<9} backlog {n:>10}: {ms:>8.1} ms per batch   ratio to a {BATCH}-row backlog {:.2}",
            ms / base
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let db = format!("hubsync_bench_backlog_{}", std::process::id());
    println!("read time per batch of {BATCH} changes as the backlog grows (flat: ratio ~1)");
    if wanted("postgres") {
        let server =
            std::env::var("HUBSYNC_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let admin = sqlx::PgPool::connect(&server).await.expect("PostgreSQL");
        admin.execute(AssertSqlSafe(format!("CREATE DATABASE {db}"))).await.expect("create");
        let url = format!("{}/{db}", &server[..server.rfind('/').expect("db in url")]);
        let pool = sqlx::PgPool::connect(&url).await.expect("connect");
        let exec = move |sql: String| -> Fut {
            let pool = pool.clone();
            Box::pin(async move {
                pool.execute(AssertSqlSafe(sql)).await.expect("sql");
            })
        };
        run("postgres", &Postgres::open(&url).await.expect("open"), &exec).await;
        admin.execute(AssertSqlSafe(format!("DROP DATABASE {db} WITH (FORCE)"))).await.expect("drop");
    }
    if wanted("mysql") {
        let server = std::env::var("HUBSYNC_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
        let admin = sqlx::MySqlPool::connect(&server).await.expect("MariaDB");
        admin.execute(AssertSqlSafe(format!("CREATE DATABASE {db}"))).await.expect("create");
        let url = format!("{server}/{db}");
        let pool = sqlx::MySqlPool::connect(&url).await.expect("connect");
        let exec = move |sql: String| -> Fut {
            let pool = pool.clone();
            Box::pin(async move {
                pool.execute(AssertSqlSafe(sql)).await.expect("sql");
            })
        };
        run("mysql", &Mysql::open(&url).await.expect("open"), &exec).await;
        admin.execute(AssertSqlSafe(format!("DROP DATABASE {db}"))).await.expect("drop");
    }
    if wanted("sqlite") {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let lite = Sqlite::open(&url).await.expect("open");
        let pool = sqlx::SqlitePool::connect(&url).await.expect("connect");
        let exec = move |sql: String| -> Fut {
            let pool = pool.clone();
            Box::pin(async move {
                pool.execute(AssertSqlSafe(sql)).await.expect("sql");
            })
        };
        run("sqlite", &lite, &exec).await;
    }
}
