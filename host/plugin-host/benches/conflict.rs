//! Conflict resolution through wasm vs the same policy in native Rust.
//!
//! `cargo bench -p hubsync-plugin-host --bench conflict` prints, for batch
//! sizes 1, 100 and 1000 of a 10-column row, ns per conflict through the
//! plugin runtime (host encoding + guest + decoding), natively, and the ratio.
//! `HUBSYNC_BENCH_ONLY=wasm` skips the native side (for profiling).

use std::time::Duration;

mod common;

use common::{batch, measure};
use hubsync_core::{ConflictBatch, Value};
use hubsync_pdk as pdk;
use hubsync_pdk::{ConflictPolicy, Plugin};
use hubsync_plugin_host::{Runtime, RuntimeConfig, Source};
use hubsync_plugin_last_writer_wins::LastWriterWins;

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
