//! Conflict resolution through wasm vs the same policy in native Rust.
//!
//! `cargo bench -p hubsync-plugin-host --bench conflict` prints, for batch
//! sizes 1, 100 and 1000 of a 10-column row, ns per conflict through the
//! plugin runtime (host encoding + guest + decoding), natively, and the ratio.
//! `HUBSYNC_BENCH_ONLY=wasm` skips the native side (for profiling).

use std::time::{Duration, Instant};

use hubsync_core::{Change, ColumnType, Conflict, ConflictBatch, TableSchema, Value};
use hubsync_pdk as pdk;
use hubsync_pdk::{ConflictPolicy, Plugin};
use hubsync_plugin_host::{Runtime, RuntimeConfig, Source};
use hubsync_plugin_last_writer_wins::LastWriterWins;

fn table() -> TableSchema {
    TableSchema::new("orders")
        .key("id", ColumnType::Int)
        .column("customer_id", ColumnType::Int)
        .column("status", ColumnType::Text)
        .column("amount", ColumnType::Decimal)
        .column("note", ColumnType::Text)
        .column("created_at", ColumnType::TimestampTz)
        .column("updated_at", ColumnType::TimestampTz)
        .column("quantity", ColumnType::Int)
        .column("region", ColumnType::Text)
        .column("paid", ColumnType::Bool)
}

fn row(i: i64, salt: &str) -> Vec<Value> {
    vec![
        Value::Int(i),
        Value::Int(i * 7 % 1000),
        Value::Text("shipped".into()),
        Value::Decimal(format!("{}.{:02}", i % 10_000, i % 100)),
        Value::Text(format!("order {i} {salt}: {}", "lorem ipsum dolor sit amet ".repeat(3))),
        Value::TimestampTz(1_700_000_000_000_000 + i),
        Value::TimestampTz(1_700_000_100_000_000 + i),
        Value::Int(i % 50),
        Value::Text("EU".into()),
        Value::Bool(i % 2 == 0),
    ]
}

fn batch(n: usize) -> ConflictBatch {
    let conflicts = (0..n as i64)
        .map(|i| Conflict {
            key: vec![Value::Int(i)],
            hub: Change { row: Some(row(i, "hub")), changed_at_micros: 1000 + i, origin: "hub".into() },
            member: Change {
                row: Some(row(i, "member")),
                changed_at_micros: 1000 + (i * 31 % 2000),
                origin: "eu".into(),
            },
        })
        .collect();
    ConflictBatch { table: table(), member: "eu".into(), conflicts }
}

fn to_pdk(b: &ConflictBatch) -> pdk::ConflictBatch {
    let t = &b.table;
    let mut schema = pdk::TableSchema::new(&t.name);
    for (i, c) in t.columns.iter().enumerate() {
        schema = if t.primary_key.contains(&i) {
            schema.key(&c.name, c.kind.into())
        } else {
            schema.column(&c.name, c.kind.into())
        };
    }
    let conv = |r: &Vec<Value>| r.iter().cloned().map(pdk::Value::from).collect::<Vec<_>>();
    let mut out = pdk::ConflictBatch::new(schema, &b.member);
    for c in &b.conflicts {
        out = out.conflict(
            conv(&c.key),
            pdk::Change { row: c.hub.row.as_ref().map(conv), changed_at: c.hub.changed_at_micros, origin: 0 },
            pdk::Change { row: c.member.row.as_ref().map(conv), changed_at: c.member.changed_at_micros, origin: 1 },
        );
    }
    out
}

/// Median ns per conflict over rounds of at least `min` each.
fn measure(n: usize, min: Duration, mut f: impl FnMut()) -> f64 {
    let mut samples = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        let mut iters = 0u64;
        while start.elapsed() < min {
            f();
            iters += 1;
        }
        samples.push(start.elapsed().as_nanos() as f64 / (iters as f64 * n as f64));
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    let runtime = Runtime::new(RuntimeConfig::default()).expect("plugin runtime");
    let plugin =
        rt.block_on(runtime.load(Source::Builtin("last-writer-wins"), "{}", None)).expect("load last-writer-wins");
    let native = LastWriterWins::configure("{}").expect("native policy");
    println!("conflict resolution, last-writer-wins, 10-column rows (4 text/decimal cells per row image)");
    println!("native: the same policy called in-process on borrowed rows; native+copy: also given its own copy");
    println!("of the batch, as the guest is. ratios are wasm / native.");
    println!(
        "{:>6} {:>10} {:>10} {:>12} {:>10} {:>12}",
        "batch", "wasm ns", "native ns", "native+copy", "ratio", "ratio(copy)"
    );
    for n in [1usize, 100, 1000] {
        let b = batch(n);
        let pb = to_pdk(&b);
        let wasm = measure(n, Duration::from_millis(300), || {
            let r = rt.block_on(plugin.resolve(&b)).expect("resolve");
            std::hint::black_box(r);
        });
        if std::env::var("HUBSYNC_BENCH_ONLY").is_ok_and(|v| v == "wasm") {
            println!("{n:>6} {wasm:>10.0}");
            continue;
        }
        let borrowed = measure(n, Duration::from_millis(300), || {
            let pb = std::hint::black_box(&pb);
            let r: Vec<_> = pb.conflicts.iter().map(|c| native.resolve_one(pb, c).expect("resolve")).collect();
            std::hint::black_box(r);
        });
        let copied = measure(n, Duration::from_millis(300), || {
            let r = native.resolve(std::hint::black_box(pb.clone())).expect("resolve");
            std::hint::black_box(r);
        });
        println!(
            "{n:>6} {wasm:>10.0} {borrowed:>10.1} {copied:>12.0} {:>10.0} {:>12.1}",
            wasm / borrowed,
            wasm / copied
        );
    }
}
