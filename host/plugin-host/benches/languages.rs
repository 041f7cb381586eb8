//! The same conflict policy (keep-larger-amount) written in Rust, Python
//! and JavaScript, side by side in one run: start-up cold (compile) and
//! cached (the `.cwasm` on disk), ns and fuel per conflict, and the memory
//! an instance needs.
//!
//! `tests/bench/plugin_languages.sh BIN` builds the Python and JavaScript
//! examples from `plugins/examples/` with their scaffolds and runs this
//! with `HUBSYNC_BENCH_PYTHON` and `HUBSYNC_BENCH_JS` naming them; without
//! those, only the Rust plugin is measured.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;

use common::{batch, measure};
use hubsync_plugin_host::{Runtime, RuntimeConfig, Source, TEST_PLUGINS_DIR};

/// Seconds to load (compile or read the cache, instantiate, configure).
async fn load_seconds(path: &Path, cache: &Path) -> (f64, hubsync_plugin_host::Plugin) {
    let rt = Runtime::new(RuntimeConfig { cache_dir: Some(cache.to_owned()), ..RuntimeConfig::default() })
        .expect("plugin runtime");
    let start = Instant::now();
    let p = rt.load(Source::File(path), "{}", None).await.expect("load the plugin");
    (start.elapsed().as_secs_f64(), p)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map(|d| d.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum()).unwrap_or(0)
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    let mut plugins: Vec<(&str, PathBuf)> = vec![("rust", Path::new(TEST_PLUGINS_DIR).join("keep-larger-amount.wasm"))];
    for (lang, var) in [("python", "HUBSYNC_BENCH_PYTHON"), ("js", "HUBSYNC_BENCH_JS")] {
        match std::env::var_os(var) {
            Some(p) => plugins.push((lang, PathBuf::from(p))),
            None => println!("{var} is not set: {lang} is not measured (tests/bench/plugin_languages.sh sets it)"),
        }
    }
    println!("keep-larger-amount, 10-column rows; start-up: load = compile or read cache + instantiate + configure");
    println!(
        "{:>7} {:>11} {:>10} {:>11} {:>9} {:>9} {:>9} {:>12} {:>12}",
        "lang", "component", "compiled", "cold start", "cached", "ns/1", "ns/1000", "fuel/confl.", "peak memory"
    );
    for (lang, path) in plugins {
        let cache = tempfile::tempdir().expect("cache dir");
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let (cold, _) = rt.block_on(load_seconds(&path, cache.path()));
        let (cached, plugin) = rt.block_on(load_seconds(&path, cache.path()));
        let mut per = Vec::new();
        for n in [1usize, 1000] {
            let b = batch(n);
            per.push(measure(n, Duration::from_millis(400), || {
                let r = rt.block_on(plugin.resolve(&b)).expect("resolve");
                std::hint::black_box(r);
            }));
        }
        // Fuel of one batch of 1,000, measured on its own.
        let before = plugin.stats().fuel;
        rt.block_on(plugin.resolve(&batch(1000))).expect("resolve");
        let fuel = (plugin.stats().fuel - before) / 1000;
        let mib = |b: u64| format!("{:.1} MiB", b as f64 / (1 << 20) as f64);
        println!(
            "{lang:>7} {:>11} {:>10} {:>9.0}ms {:>7.1}ms {:>9.0} {:>9.0} {:>12} {:>12}",
            mib(size),
            mib(dir_bytes(cache.path())),
            cold * 1e3,
            cached * 1e3,
            per[0],
            per[1],
            fuel,
            mib(plugin.stats().peak_memory_bytes)
        );
    }
}
