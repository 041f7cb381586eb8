//! The plugin runtime against real components built from `plugins/`:
//! built-in decisions, the sandbox limits, and bad plugins.

use std::path::Path;
use std::time::{Duration, Instant};

use hubsync_core::{
    Change, ColumnType, Conflict, ConflictBatch, Direction, PluginRole, Resolution, TableSchema, Value,
};
use hubsync_plugin_host::{LimitOverrides, Limits, PluginError, Runtime, RuntimeConfig, Source};

fn test_plugin(name: &str) -> Vec<u8> {
    let path = Path::new(env!("HUBSYNC_TEST_PLUGINS_DIR")).join(format!("{name}.wasm"));
    std::fs::read(&path).expect("test plugin built by build.rs")
}

fn runtime() -> Runtime {
    Runtime::new(RuntimeConfig::default()).expect("runtime")
}

fn table() -> TableSchema {
    TableSchema::new("orders")
        .key("id", ColumnType::Int)
        .column("region", ColumnType::Text)
        .column("amount", ColumnType::Decimal)
}

fn row(id: i64, region: &str, amount: &str) -> Vec<Value> {
    vec![Value::Int(id), Value::Text(region.into()), Value::Decimal(amount.into())]
}

fn change(row: Option<Vec<Value>>, at: i64, origin: &str) -> Change {
    Change { row, changed_at_micros: at, origin: origin.into() }
}

fn batch() -> ConflictBatch {
    ConflictBatch {
        table: table(),
        member: "eu".into(),
        conflicts: vec![
            // Member changed later.
            Conflict {
                key: vec![Value::Int(1)],
                hub: change(Some(row(1, "EU", "10.00")), 100, "hub"),
                member: change(Some(row(1, "EU", "12.00")), 200, "eu"),
            },
            // Hub deleted later.
            Conflict {
                key: vec![Value::Int(2)],
                hub: change(None, 300, "hub"),
                member: change(Some(row(2, "US", "5")), 200, "eu"),
            },
            // Same time.
            Conflict {
                key: vec![Value::Int(3)],
                hub: change(Some(row(3, "EU", "1")), 500, "us"),
                member: change(None, 500, "eu"),
            },
        ],
    }
}

async fn decide(rt: &Runtime, name: &str, config: &str) -> Vec<Resolution> {
    let p = rt.load(Source::Builtin(name), config, Some(PluginRole::ConflictPolicy)).await.expect("load");
    p.resolve(&batch()).await.expect("resolve")
}

#[tokio::test]
async fn builtin_conflict_policies_decide_as_documented() {
    let rt = runtime();
    use Resolution::{TakeHub as H, TakeMember as M};
    assert_eq!(decide(&rt, "hub-wins", "{}").await, [H, H, H]);
    assert_eq!(decide(&rt, "member-wins", "").await, [M, M, M]);
    assert_eq!(decide(&rt, "last-writer-wins", "{}").await, [M, H, H]);
    assert_eq!(decide(&rt, "last-writer-wins", r#"{"tie": "member"}"#).await, [M, H, M]);
    let p = rt.load(Source::Builtin("hub-wins"), "{}", None).await.expect("load");
    let info = p.info();
    assert_eq!(
        (info.name.as_str(), info.role, info.contract_version.as_str()),
        ("hub-wins", PluginRole::ConflictPolicy, "0.1.0")
    );
    assert_eq!(info.sha256.len(), 64);
}

#[tokio::test]
async fn builtin_column_filter_selects_columns_and_rows() {
    let rt = runtime();
    let cfg = r#"{"tables": {"orders": {"exclude": ["amount"], "where": "region = 'EU' OR amount > 100"}}}"#;
    let f = rt.load(Source::Builtin("column-filter"), cfg, Some(PluginRole::ColumnFilter)).await.expect("load");
    assert_eq!(f.filter_columns(&table(), "eu").await.expect("columns"), [0, 1]);
    let rows = [row(1, "EU", "1"), row(2, "US", "100.00"), row(3, "US", "100.01")];
    assert_eq!(f.filter_rows(&table(), "eu", &rows).await.expect("rows"), [true, false, true]);
    // Dropping a key column is refused by the plugin, naming the column.
    let f = rt
        .load(Source::Builtin("column-filter"), r#"{"tables": {"orders": {"include": ["region"]}}}"#, None)
        .await
        .expect("load");
    let err = f.filter_columns(&table(), "eu").await.expect_err("key dropped").to_string();
    assert!(err.contains("column-filter") && err.contains("\"id\""), "{err}");
}

#[tokio::test]
async fn builtin_schema_map_renames_and_casts_both_ways() {
    let rt = runtime();
    let cfg =
        r#"{"tables": {"orders": {"name": "Orders", "columns": {"amount": {"name": "Amount", "type": "text"}}}}}"#;
    let m = rt.load(Source::Builtin("schema-map"), cfg, Some(PluginRole::SchemaMap)).await.expect("load");
    let mapped = m.map_schema(&table(), "eu").await.expect("schema");
    assert_eq!(mapped.name, "Orders");
    assert_eq!((mapped.columns[2].name.as_str(), mapped.columns[2].kind), ("Amount", ColumnType::Text));
    let rows = vec![row(1, "EU", "12.50"), vec![Value::Int(2), Value::Null, Value::Null]];
    let there = m.map_rows(&table(), "eu", Direction::ToMember, &rows).await.expect("to member");
    assert_eq!(there[0][2], Value::Text("12.50".into()));
    let back = m.map_rows(&table(), "eu", Direction::ToHub, &there).await.expect("to hub");
    assert_eq!(back, rows);
    let bad = vec![vec![Value::Int(1), Value::Null, Value::Text("twelve".into())]];
    let err = m.map_rows(&table(), "eu", Direction::ToHub, &bad).await.expect_err("bad decimal").to_string();
    assert!(err.contains("Amount") && err.contains("twelve"), "{err}");
}

async fn misbehave(rt: &Runtime, mode: &str) -> hubsync_plugin_host::Plugin {
    let bytes = test_plugin("misbehave");
    rt.load(Source::Bytes { name: "misbehave", bytes: &bytes }, &format!(r#"{{"mode": "{mode}"}}"#), None)
        .await
        .expect("load misbehave")
}

#[tokio::test]
async fn an_endless_loop_is_stopped_within_a_second_and_others_keep_working() {
    let rt = runtime();
    let looping = misbehave(&rt, "loop").await;
    let hub_wins = rt.load(Source::Builtin("hub-wins"), "{}", None).await.expect("load");
    let start = Instant::now();
    let err = looping.resolve(&batch()).await.expect_err("must be stopped");
    let took = start.elapsed();
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(matches!(err, PluginError::OutOfFuel { .. }), "{err}");
    assert!(err.to_string().contains("misbehave"), "{err}");
    assert_eq!(hub_wins.resolve(&batch()).await.expect("other plugin").len(), 3);
    // The looping plugin itself gets a fresh instance and fails the same clean way.
    let again = looping.resolve(&batch()).await;
    assert!(matches!(again, Err(PluginError::OutOfFuel { .. })), "{again:?}");
}

#[tokio::test]
async fn the_wall_clock_deadline_stops_a_plugin_with_fuel_to_spare() {
    let limits = Limits { fuel_per_call: u64::MAX / 4, deadline: Duration::from_millis(200), ..Limits::default() };
    let rt = Runtime::new(RuntimeConfig { limits, cache_dir: None }).expect("runtime");
    let looping = misbehave(&rt, "loop").await;
    let start = Instant::now();
    let err = looping.resolve(&batch()).await.expect_err("must be stopped");
    assert!(matches!(err, PluginError::Timeout { .. }), "{err}");
    assert!(start.elapsed() < Duration::from_secs(1), "took {:?}", start.elapsed());
}

#[tokio::test]
async fn waiting_inside_a_host_call_ends_at_the_deadline() {
    let limits = Limits { fuel_per_call: u64::MAX / 4, deadline: Duration::from_millis(300), ..Limits::default() };
    let rt = Runtime::new(RuntimeConfig { limits, cache_dir: None }).expect("runtime");
    let hub_wins = rt.load(Source::Builtin("hub-wins"), "{}", None).await.expect("load");
    // Sleeping and polling a far-off clock wait in WASI host functions, where
    // the epoch deadline never fires; reading the (closed) stdin for ever
    // spins through them.
    for mode in ["sleep", "poll-far-clock", "read-stdin"] {
        let stuck = misbehave(&rt, mode).await;
        let start = Instant::now();
        let err = stuck.resolve(&batch()).await.expect_err("must be stopped");
        let took = start.elapsed();
        assert!(took < Duration::from_secs(2), "{mode}: took {took:?}");
        assert!(matches!(err, PluginError::Timeout { .. }), "{mode}: {err}");
        assert!(err.to_string().contains("misbehave"), "{mode}: {err}");
        // The host keeps serving other plugins, and the stuck one again (a fresh instance).
        assert_eq!(hub_wins.resolve(&batch()).await.expect("other plugin").len(), 3);
        let again = stuck.resolve(&batch()).await;
        assert!(matches!(again, Err(PluginError::Timeout { .. })), "{mode}: {again:?}");
    }
}

#[tokio::test]
async fn unbounded_allocation_hits_the_memory_cap() {
    let limits = Limits { fuel_per_call: u64::MAX / 4, deadline: Duration::from_secs(10), ..Limits::default() };
    let rt = Runtime::new(RuntimeConfig { limits, cache_dir: None }).expect("runtime");
    let hog = misbehave(&rt, "alloc").await;
    let err = hog.resolve(&batch()).await.expect_err("must be stopped");
    assert!(matches!(err, PluginError::OutOfMemory { cap_bytes, .. } if cap_bytes == 64 << 20), "{err}");
    let ok = rt.load(Source::Builtin("member-wins"), "{}", None).await.expect("load");
    assert_eq!(ok.resolve(&batch()).await.expect("resolve")[0], Resolution::TakeMember);
}

#[tokio::test]
async fn a_plugins_own_limits_override_the_runtimes() {
    let rt = runtime();
    let bytes = test_plugin("misbehave");
    let load = |mode: &'static str, o: LimitOverrides| {
        let (rt, bytes) = (rt.clone(), bytes.clone());
        async move {
            rt.load_with(
                Source::Bytes { name: "misbehave", bytes: &bytes },
                &format!(r#"{{"mode": "{mode}"}}"#),
                None,
                &o,
            )
            .await
        }
    };
    let small = LimitOverrides { memory_bytes: Some(16 << 20), ..LimitOverrides::default() };
    let err = load("alloc", small).await.expect("load").resolve(&batch()).await.expect_err("capped");
    assert!(matches!(err, PluginError::OutOfMemory { cap_bytes, .. } if cap_bytes == 16 << 20), "{err}");
    assert!(err.to_string().contains("memory_mib"), "{err}");
    // Above the runtime's default, up to the ceiling, with nothing else changed.
    let big = LimitOverrides {
        memory_bytes: Some(256 << 20),
        fuel_per_call: Some(u64::MAX / 4),
        deadline: Some(Duration::from_secs(20)),
        ..LimitOverrides::default()
    };
    let err = load("alloc", big).await.expect("load").resolve(&batch()).await.expect_err("capped");
    assert!(matches!(err, PluginError::OutOfMemory { cap_bytes, .. } if cap_bytes == 256 << 20), "{err}");
    let short = LimitOverrides { deadline: Some(Duration::from_millis(100)), ..LimitOverrides::default() };
    let start = Instant::now();
    let err = load("sleep", short).await.expect("load").resolve(&batch()).await.expect_err("stopped");
    assert!(matches!(err, PluginError::Timeout { deadline, .. } if deadline == Duration::from_millis(100)), "{err}");
    assert!(start.elapsed() < Duration::from_millis(900), "took {:?}", start.elapsed());
    let tight = LimitOverrides { fuel_per_call: Some(1000), fuel_per_item: Some(1), ..LimitOverrides::default() };
    let err = load("ok", tight).await.expect_err("not even describe fits");
    assert!(matches!(err, PluginError::OutOfFuel { fuel: 1000, .. }), "{err}");
    let huge = LimitOverrides { memory_bytes: Some(2 << 30), ..LimitOverrides::default() };
    let err = load("ok", huge).await.expect_err("over the ceiling");
    assert!(matches!(err, PluginError::Limits { .. }) && err.to_string().contains("1024 MiB"), "{err}");
    // The runtime's own plugins keep the defaults.
    let err = misbehave(&rt, "alloc").await.resolve(&batch()).await.expect_err("capped");
    assert!(matches!(err, PluginError::OutOfMemory { cap_bytes, .. } if cap_bytes == 64 << 20), "{err}");
}

#[tokio::test]
async fn a_panic_is_a_trap_with_the_message() {
    let rt = runtime();
    let err = misbehave(&rt, "panic").await.resolve(&batch()).await.expect_err("panics");
    assert!(matches!(err, PluginError::Trapped { .. }), "{err}");
    assert!(err.to_string().contains("asked to panic"), "{err}");
}

#[tokio::test]
async fn plugin_output_and_contract_breaches_are_handled() {
    let rt = runtime();
    // Writing to stderr is fine: it goes to the log, not the host's terminal.
    assert_eq!(misbehave(&rt, "stderr").await.resolve(&batch()).await.expect("ok").len(), 3);
    let err = misbehave(&rt, "wrong-count").await.resolve(&batch()).await.expect_err("count");
    assert!(err.to_string().contains("0 resolutions for 3 conflicts"), "{err}");
}

#[tokio::test]
async fn files_that_are_not_plugins_are_refused_clearly() {
    let rt = runtime();
    let load = |bytes: Vec<u8>| {
        let rt = rt.clone();
        async move { rt.load(Source::Bytes { name: "x.wasm", bytes: &bytes }, "{}", None).await }
    };
    assert!(matches!(load(b"hello, I am text".to_vec()).await, Err(PluginError::NotWasm { .. })));
    assert!(matches!(load(b"\0asm\x01\0\0\0".to_vec()).await, Err(PluginError::NotAComponent { .. })));
    let mut truncated = test_plugin("misbehave");
    truncated.truncate(truncated.len() / 2);
    assert!(matches!(load(truncated).await, Err(PluginError::Malformed { .. })));
    let err = load(test_plugin("future-contract")).await.expect_err("future");
    assert!(matches!(&err, PluginError::ContractVersion { found, .. } if found == "0.2.0"), "{err}");
    let err =
        rt.load(Source::Builtin("column-filter"), "{}", Some(PluginRole::ConflictPolicy)).await.expect_err("world");
    assert!(matches!(err, PluginError::WrongWorld { .. }), "{err}");
    assert!(err.to_string().contains("column-filter world"), "{err}");
    let err = rt.load(Source::File(Path::new("/nonexistent/p.wasm")), "{}", None).await.expect_err("missing");
    assert!(matches!(err, PluginError::Read { .. }), "{err}");
    let err = rt.load(Source::Builtin("coin-flip"), "{}", None).await.expect_err("no such builtin");
    assert!(err.to_string().contains("hub-wins"), "{err}");
}

#[tokio::test]
async fn bad_configuration_is_refused_at_load() {
    let rt = runtime();
    for (name, cfg, needle) in [
        ("hub-wins", r#"{"x": 1}"#, "unknown field `x`"),
        ("hub-wins", "{", "EOF"),
        ("last-writer-wins", r#"{"tie": "coin"}"#, "unknown variant `coin`"),
        ("column-filter", r#"{"tables": {"t": {"where": "a = "}}}"#, "expected a literal"),
        ("schema-map", r#"{"tables": {"t": {"columns": {"a": {"type": "varchar"}}}}}"#, "unknown column type"),
    ] {
        let err = rt.load(Source::Builtin(name), cfg, None).await.expect_err(cfg);
        assert!(matches!(err, PluginError::Config { .. }), "{name} {cfg}: {err}");
        assert!(err.to_string().contains(needle) && err.to_string().contains(name), "{err}");
    }
}

#[tokio::test]
async fn big_batches_are_split_under_the_memory_cap() {
    let limits = Limits { memory_bytes: 16 << 20, ..Limits::default() };
    let rt = Runtime::new(RuntimeConfig { limits, cache_dir: None }).expect("runtime");
    let p = rt.load(Source::Builtin("last-writer-wins"), "{}", None).await.expect("load");
    let text = "x".repeat(4000);
    let conflicts: Vec<Conflict> = (0..10_000)
        .map(|i| Conflict {
            key: vec![Value::Int(i)],
            hub: change(Some(vec![Value::Int(i), Value::Text(text.clone()), Value::Null]), i, "hub"),
            member: change(Some(vec![Value::Int(i), Value::Text(text.clone()), Value::Null]), 5000, "eu"),
        })
        .collect();
    // About 80 MB of row images: five times the cap.
    let b = ConflictBatch { table: table(), member: "eu".into(), conflicts };
    let got = p.resolve(&b).await.expect("split batches");
    assert_eq!(got.len(), 10_000);
    assert_eq!((got[0].clone(), got[9_999].clone()), (Resolution::TakeMember, Resolution::TakeHub));
}

#[tokio::test]
async fn compiled_plugins_are_cached_on_disk() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = RuntimeConfig { limits: Limits::default(), cache_dir: Some(dir.path().to_path_buf()) };
    let rt = Runtime::new(config.clone()).expect("runtime");
    rt.load(Source::Builtin("hub-wins"), "{}", None).await.expect("load");
    let entries: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").map(|e| e.expect("entry").path()).collect();
    assert_eq!(entries.len(), 1, "one cached artifact");
    let written = std::fs::metadata(&entries[0]).expect("artifact").ino();
    // A new runtime (a new process, in effect) loads the artifact instead of
    // compiling again: a compile would replace the file (write + rename).
    let rt2 = Runtime::new(config).expect("runtime");
    let p = rt2.load(Source::Builtin("hub-wins"), "{}", None).await.expect("load cached");
    assert_eq!(p.resolve(&batch()).await.expect("resolve").len(), 3);
    let after = std::fs::metadata(&entries[0]).expect("artifact").ino();
    assert_eq!(written, after, "the cached artifact was used, not rewritten");
}

/// Loads built-in `name` in a runtime of its own (a new process, in effect).
async fn load_in_new_runtime(config: &RuntimeConfig, name: &str) {
    Runtime::new(config.clone()).expect("runtime").load(Source::Builtin(name), "{}", None).await.expect("load");
}

/// A new cache directory, a config using it, and the path of the one
/// entry a first load of `builtin:hub-wins` wrote there.
async fn cache_holding_hub_wins() -> (tempfile::TempDir, RuntimeConfig, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = RuntimeConfig { limits: Limits::default(), cache_dir: Some(dir.path().to_path_buf()) };
    load_in_new_runtime(&config, "hub-wins").await;
    let entry = std::fs::read_dir(dir.path()).expect("dir").next().expect("an entry").expect("entry").path();
    (dir, config, entry)
}

/// A file in `dir` named `name`, last modified `hours` ago.
fn aged_file(dir: &std::path::Path, name: &str, hours: u64) -> std::path::PathBuf {
    let path = dir.join(name);
    let f = std::fs::File::create(&path).expect("create");
    let when = std::time::SystemTime::now() - Duration::from_secs(hours * 3600);
    f.set_modified(when).expect("set mtime");
    path
}

#[tokio::test]
async fn a_compile_sweeps_what_the_cache_will_never_read_again() {
    // This build's entry names are learned from a first compile.
    let (dir, config, mine) = cache_holding_hub_wins().await;
    let name = mine.file_name().and_then(|f| f.to_str()).expect("name").to_owned();
    let (_, compat) = name.trim_end_matches(".cwasm").split_once('-').expect("sha-compat");
    let other_sha = "ab".repeat(32);
    let keep = [
        // Another process may be writing this one now.
        aged_file(dir.path(), ".tmp-999-x.cwasm", 0),
        // Another build, used this morning.
        aged_file(dir.path(), &format!("{other_sha}-0123456789abcdef.cwasm"), 2),
        // This build's, used last week.
        aged_file(dir.path(), &format!("{}-{compat}.cwasm", "cd".repeat(32)), 24 * 7),
        // Not the cache's.
        aged_file(dir.path(), "notes.txt", 24 * 365),
    ];
    let gone = [
        // Left by a process killed while writing.
        aged_file(dir.path(), ".tmp-998-y.cwasm", 2),
        // An upgraded-away build's, two days unused.
        aged_file(dir.path(), &format!("{other_sha}-fedcba9876543210.cwasm"), 48),
        // This build's, unused for 31 days.
        aged_file(dir.path(), &format!("{}-{compat}.cwasm", "ef".repeat(32)), 24 * 31),
    ];
    // Loading from the cache compiles nothing and sweeps nothing.
    load_in_new_runtime(&config, "hub-wins").await;
    assert!(gone.iter().all(|p| p.exists()), "a load from the cache removes nothing");
    // A compile (another plugin) sweeps.
    load_in_new_runtime(&config, "member-wins").await;
    for p in &keep {
        assert!(p.exists(), "kept: {}", p.display());
    }
    for p in &gone {
        assert!(!p.exists(), "removed: {}", p.display());
    }
    assert!(mine.exists(), "the entry in use stays");
    let entries = std::fs::read_dir(dir.path()).expect("dir").count();
    assert_eq!(entries, keep.len() + 2, "the two built-ins' entries and what is kept");
}

/// Loading an entry marks it used, so a plugin loaded every day is never
/// swept however old its compile.
#[tokio::test]
async fn loading_a_cached_plugin_marks_it_used() {
    let (_dir, config, entry) = cache_holding_hub_wins().await;
    let old = std::time::SystemTime::now() - Duration::from_secs(40 * 24 * 3600);
    std::fs::File::options().append(true).open(&entry).expect("open").set_modified(old).expect("set mtime");
    load_in_new_runtime(&config, "hub-wins").await;
    let marked = std::fs::metadata(&entry).expect("entry").modified().expect("mtime");
    assert!(marked > old + Duration::from_secs(24 * 3600), "the load marked the entry used");
    // A compile's sweep now keeps it.
    load_in_new_runtime(&config, "member-wins").await;
    assert!(entry.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_use_separate_instances() {
    let rt = runtime();
    let p = std::sync::Arc::new(rt.load(Source::Builtin("last-writer-wins"), "{}", None).await.expect("load"));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let p = p.clone();
            tokio::spawn(async move { p.resolve(&batch()).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("join").expect("resolve").len(), 3);
    }
}

#[tokio::test]
async fn the_tutorial_policy_keeps_the_larger_amount() {
    let rt = runtime();
    let bytes = test_plugin("keep-larger-amount");
    let p = rt
        .load(Source::Bytes { name: "keep-larger-amount.wasm", bytes: &bytes }, "{}", Some(PluginRole::ConflictPolicy))
        .await
        .expect("load");
    // 10.00 vs 12.00: member; hub deleted: hub; member deleted: member.
    assert_eq!(
        p.resolve(&batch()).await.expect("resolve"),
        [Resolution::TakeMember, Resolution::TakeHub, Resolution::TakeMember]
    );
}

/// More plugins loaded at once than the pool has instance slots (64): each
/// group and table of `hubsync serve` holds its policy loaded between
/// syncs, and every one of them still instantiates and decides.
#[tokio::test]
async fn more_loaded_plugins_than_pool_slots_all_still_run() {
    let rt = runtime();
    let mut loaded = Vec::new();
    for i in 0..150 {
        let p = rt.load(Source::Builtin("hub-wins"), "{}", Some(PluginRole::ConflictPolicy)).await;
        loaded.push(p.unwrap_or_else(|e| panic!("plugin {i} failed to load: {e}")));
    }
    for (i, p) in loaded.iter().enumerate() {
        let decided = p.resolve(&batch()).await.unwrap_or_else(|e| panic!("plugin {i} failed to decide: {e}"));
        assert_eq!(decided.len(), 3);
    }
    // Dropping them gives their idle slots back: a new load still works.
    drop(loaded);
    let p = rt.load(Source::Builtin("hub-wins"), "{}", None).await.expect("load after drop");
    assert_eq!(p.resolve(&batch()).await.expect("resolve").len(), 3);
}
