//! SQLite `apply` into tables keyed by types an application may spell its
//! own way (timestamp, UUID, decimal), where each key is first probed for
//! its stored spelling, beside the same apply into an integer-keyed table
//! (no probe) and SQLite's own multi-row upserts into the same table; each
//! twice: inserting into an empty table, then updating every row. Each
//! figure is the best of three rounds (fresh tables each round), since
//! this machine's disk makes single runs vary by a third.
//!
//! `cargo bench -p hubsync-connectors --bench sqlite_keys`
//! (`HUBSYNC_BENCH_ROWS`, default 200,000; 10,000 rows an apply).

use std::time::Instant;

use hubsync_connectors::Sqlite;
use hubsync_core::{ApplyOp, Column, ColumnType, Connector, TableSchema, Value, text};
use sqlx::{AssertSqlSafe, Executor};

const T0: i64 = 1_767_225_600_000_000;

fn key(kind: ColumnType, i: i64) -> Value {
    match kind {
        ColumnType::Int => Value::Int(i),
        ColumnType::Timestamp => Value::Timestamp(T0 + i * 1_000_017),
        ColumnType::Uuid => Value::Uuid(u128::from(i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)),
        _ => Value::Decimal(format!("{}.{:02}", i / 100, i % 100)),
    }
}

fn table(kind: ColumnType) -> TableSchema {
    let mut k = Column::new("k", kind);
    k.nullable = false;
    k.facets.scale = (kind == ColumnType::Decimal).then_some(2);
    let mut t = TableSchema::new(format!("t_{}", kind.name()));
    t.columns = vec![k, Column::new("note", ColumnType::Text), Column::new("n", ColumnType::Int)];
    t.primary_key = vec![0];
    t
}

fn declared(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Int => "INTEGER",
        ColumnType::Timestamp => "TIMESTAMP",
        ColumnType::Uuid => "UUID",
        _ => "DECIMAL TEXT(12,2)",
    }
}

fn rate(n: usize, secs: f64) -> String {
    format!("{:>8.0} rows/s", n as f64 / secs)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: i64 = std::env::var("HUBSYNC_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let lite = Sqlite::open(&url).await.expect("open");
    let raw = sqlx::SqlitePool::connect(&url).await.expect("connect");
    println!("SQLite apply by key type, {n} rows of (key, text, int); ratios: hubsync / SQLite's own upserts");
    for kind in [ColumnType::Int, ColumnType::Timestamp, ColumnType::Uuid, ColumnType::Decimal] {
        // Best (shortest) seconds of [insert, update] for hubsync and SQLite.
        let mut best = [[f64::MAX; 2]; 2];
        for round in 0..3 {
            let mut t = table(kind);
            t.name = format!("{}_{round}", t.name);
            let mut base = t.clone();
            base.name = format!("{}_base", t.name);
            for name in [&t.name, &base.name] {
                raw.execute(AssertSqlSafe(format!(
                    "CREATE TABLE {name} (k {} PRIMARY KEY NOT NULL, note TEXT, n INTEGER)",
                    declared(kind)
                )))
                .await
                .expect("create");
            }
            lite.provision(&t).await.expect("provision");
            lite.provision(&base).await.expect("provision");
            for pass in 0..2 {
                let start = Instant::now();
                for from in (0..n).step_by(10_000) {
                    let ops: Vec<ApplyOp> = (from..(from + 10_000).min(n))
                        .map(|i| ApplyOp::Upsert(vec![key(kind, i), Value::Text(format!("row {i}")), Value::Int(pass)]))
                        .collect();
                    lite.apply(&t, &ops, "hub").await.expect("apply");
                }
                best[0][pass as usize] = best[0][pass as usize].min(start.elapsed().as_secs_f64());
                let start = Instant::now();
                let mut c = raw.begin().await.expect("begin");
                for from in (0..n).step_by(1_000) {
                    let values = (from..(from + 1_000).min(n))
                        .map(|i| {
                            let k = match key(kind, i) {
                                Value::Int(i) => i.to_string(),
                                Value::Timestamp(t) => format!("'{}'", text::format_timestamp(t)),
                                Value::Uuid(u) => format!("'{}'", text::format_uuid(u)),
                                Value::Decimal(d) => format!("'{d}'"),
                                _ => unreachable!(),
                            };
                            format!("({k}, 'row {i}', {pass})")
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = format!(
                        "INSERT INTO {} VALUES {values} ON CONFLICT (k) DO UPDATE SET note = excluded.note, n = excluded.n",
                        base.name
                    );
                    c.execute(AssertSqlSafe(sql)).await.expect("upsert");
                }
                c.commit().await.expect("commit");
                best[1][pass as usize] = best[1][pass as usize].min(start.elapsed().as_secs_f64());
            }
        }
        for (pass, name) in ["insert", "update"].iter().enumerate() {
            println!(
                "{:<10} {name}: hubsync {}   SQLite upserts {}   ratio {:.2}",
                kind.name(),
                rate(n as usize, best[0][pass]),
                rate(n as usize, best[1][pass]),
                best[1][pass] / best[0][pass]
            );
        }
    }
}
