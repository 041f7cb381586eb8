//! The plugin runtime: one wasmtime engine with fuel, epochs and a pooling
//! allocator, a linker that gives guests an empty WASI, and a cache of
//! compiled components (in memory and on disk, keyed by engine compatibility).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hubsync_core::PluginRole;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::cache::DiskCache;
use crate::error::PluginError;
use crate::plugin::Plugin;
use crate::stdio::Capture;

/// The `hubsync:plugin` package version this host implements.
pub const CONTRACT_VERSION: &str = "0.1.0";

/// Fuel between two yields of a running call to the async executor.
const YIELD_FUEL: u64 = 10_000_000;

/// How often the epoch ticker advances; the wall-clock deadline's resolution.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// Resource limits applied to every plugin call.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Fuel (roughly, wasm instructions) every call may use, whatever its size.
    pub fuel_per_call: u64,
    /// Extra fuel per conflict or row in the call.
    pub fuel_per_item: u64,
    /// Wall-clock deadline of one call (resolution 10 ms).
    pub deadline: Duration,
    /// Linear memory cap of one plugin instance, in bytes.
    pub memory_bytes: usize,
    /// Idle instances kept per plugin for reuse. All plugins together keep
    /// at most half of `pool_instances` idle, so however many plugins are
    /// loaded (one per group and table under `hubsync serve`), the other
    /// half of the slots stays free for calls.
    pub idle_instances: usize,
    /// Instance slots in the pooling allocator (all plugins together).
    pub pool_instances: u32,
    /// How many times the fuel a plugin that embeds a language runtime
    /// (Python, JavaScript: a component of [`INTERPRETED_BYTES`] or more)
    /// gets by default: fuel counts wasm instructions, and an interpreter
    /// runs hundreds of them per line of its language.
    pub interpreted_fuel_factor: u64,
    /// The memory cap of such a plugin by default (its interpreter's heap
    /// grows before it collects).
    pub interpreted_memory_bytes: usize,
}

/// A component this large embeds a language runtime (componentize-py's
/// are ~18 MiB, componentize-js's ~12 MiB; a Rust plugin is ~0.1 MiB).
pub const INTERPRETED_BYTES: usize = 4 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel_per_call: 100_000_000,
            fuel_per_item: 1_000_000,
            deadline: Duration::from_secs(1),
            memory_bytes: 64 << 20,
            idle_instances: 4,
            pool_instances: 64,
            interpreted_fuel_factor: 20,
            interpreted_memory_bytes: 256 << 20,
        }
    }
}

/// The most linear memory any one plugin may be given (a group's
/// `limits.memory_mib`): every slot of the pooling allocator can hold this
/// much, so one plugin's larger cap needs no runtime of its own.
pub const MEMORY_CEILING_BYTES: usize = 1 << 30;

/// A plugin's own limits, overriding the runtime's where set (a group's
/// `limits` on its plugin).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitOverrides {
    /// Fuel every call may use, whatever its size.
    pub fuel_per_call: Option<u64>,
    /// Extra fuel per conflict or row in the call.
    pub fuel_per_item: Option<u64>,
    /// Wall-clock deadline of one call.
    pub deadline: Option<Duration>,
    /// Linear memory cap of one instance, in bytes (at most [`MEMORY_CEILING_BYTES`]).
    pub memory_bytes: Option<usize>,
}

impl Limits {
    /// These limits with `o`'s overrides applied.
    pub fn with(&self, o: &LimitOverrides) -> Limits {
        Limits {
            fuel_per_call: o.fuel_per_call.unwrap_or(self.fuel_per_call),
            fuel_per_item: o.fuel_per_item.unwrap_or(self.fuel_per_item),
            deadline: o.deadline.unwrap_or(self.deadline),
            memory_bytes: o.memory_bytes.unwrap_or(self.memory_bytes),
            ..self.clone()
        }
    }
}

/// How to set up a [`Runtime`].
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Limits for every plugin.
    pub limits: Limits,
    /// Where compiled components are cached across runs; `None` keeps them in memory only.
    pub cache_dir: Option<PathBuf>,
}

impl RuntimeConfig {
    /// The default on-disk cache: `$HUBSYNC_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/hubsync/plugins`, else `~/.cache/hubsync/plugins`.
    pub fn default_cache_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("HUBSYNC_CACHE_DIR") {
            return Some(PathBuf::from(dir));
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("hubsync").join("plugins"))
    }
}

/// Where a plugin comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// A built-in plugin by name (see [`crate::builtin::NAMES`]).
    Builtin(&'a str),
    /// A `.wasm` component file.
    File(&'a Path),
    /// Component bytes with a name for messages.
    Bytes {
        /// Name used in messages and logs.
        name: &'a str,
        /// The component.
        bytes: &'a [u8],
    },
}

/// State of one plugin instance's store.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryCap,
    pub(crate) output: Capture,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Refuses memory growth past the cap and remembers that it did, so the
/// failure is reported as a memory overrun rather than a generic trap.
pub(crate) struct MemoryCap {
    cap: usize,
    pub(crate) hit: bool,
    /// The largest linear memory this instance was allowed (its initial
    /// memory included): what an instance of the plugin occupies.
    pub(crate) peak: usize,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.hit = true;
            wasmtime::bail!("memory cap of {} bytes reached", self.cap);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

pub(crate) struct Shared {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<HostState>,
    pub(crate) limits: Limits,
    /// Compiled components on disk, when a directory was given.
    disk: Option<DiskCache>,
    compiled: Mutex<HashMap<[u8; 32], Component>>,
    /// Idle instances kept by every plugin of this runtime together.
    pub(crate) idle_total: std::sync::atomic::AtomicUsize,
}

impl Shared {
    /// Take one slot of the runtime's idle budget (half the pool), if any is left.
    pub(crate) fn reserve_idle(&self) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        let budget = (self.limits.pool_instances as usize / 2).max(1);
        self.idle_total.fetch_update(SeqCst, SeqCst, |n| (n < budget).then_some(n + 1)).is_ok()
    }

    /// Give back `n` slots of the idle budget.
    pub(crate) fn release_idle(&self, n: usize) {
        self.idle_total.fetch_sub(n, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Shared {
    /// A store for one instance, its linear memory capped at `memory_bytes`.
    pub(crate) fn new_store(&self, memory_bytes: usize) -> Store<HostState> {
        let output = Capture::default();
        let wasi = WasiCtxBuilder::new().stdout(output.clone()).stderr(output.clone()).build();
        let state = HostState {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryCap { cap: memory_bytes, hit: false, peak: 0 },
            output,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_trap();
        // A long call gives its thread back to the executor now and then
        // instead of holding a worker for its whole budget.
        store.fuel_async_yield_interval(Some(YIELD_FUEL)).expect("fuel is enabled on this engine");
        store
    }
}

/// The plugin runtime. Cheap to clone; plugins loaded from it share its engine.
#[derive(Clone)]
pub struct Runtime {
    shared: Arc<Shared>,
}

impl Runtime {
    /// Set up the engine, the epoch ticker and the linker.
    pub fn new(config: RuntimeConfig) -> Result<Runtime, PluginError> {
        let limits = config.limits;
        let engine = build_engine(&limits, true).or_else(|e| {
            tracing::warn!(error = %e, "pooling allocator unavailable; falling back to on-demand instances");
            build_engine(&limits, false)
        })?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| PluginError::Runtime(format!("{e:#}")))?;
        // The shared types interface carries no functions, but components import it.
        linker
            .instance(&format!("hubsync:plugin/types@{CONTRACT_VERSION}"))
            .map_err(|e| PluginError::Runtime(format!("{e:#}")))?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        let compat = format!("{:016x}", h.finish());
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("hubsync-plugin-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(TICK);
                }
            })
            .map_err(|e| PluginError::Runtime(format!("cannot start the epoch thread: {e}")))?;
        Ok(Runtime {
            shared: Arc::new(Shared {
                engine,
                linker,
                limits,
                disk: config.cache_dir.map(|d| DiskCache::new(d, compat)),
                compiled: Mutex::new(HashMap::new()),
                idle_total: Default::default(),
            }),
        })
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// Load a plugin, check it against the contract (and against `expected`
    /// when given), and configure one instance with `config` (JSON).
    pub async fn load(
        &self,
        source: Source<'_>,
        config: &str,
        expected: Option<PluginRole>,
    ) -> Result<Plugin, PluginError> {
        self.load_with(source, config, expected, &LimitOverrides::default()).await
    }

    /// [`Runtime::load`] with limits of the plugin's own.
    pub async fn load_with(
        &self,
        source: Source<'_>,
        config: &str,
        expected: Option<PluginRole>,
        overrides: &LimitOverrides,
    ) -> Result<Plugin, PluginError> {
        let (name, bytes): (String, std::borrow::Cow<'_, [u8]>) = match source {
            Source::Builtin(n) => {
                let b = crate::builtin::bytes(n).ok_or_else(|| PluginError::UnknownBuiltin {
                    name: n.to_owned(),
                    known: crate::builtin::NAMES.join(", "),
                })?;
                (n.to_owned(), b.into())
            }
            Source::File(p) => {
                let name = p.display().to_string();
                let b = std::fs::read(p).map_err(|e| PluginError::Read { plugin: name.clone(), source: e })?;
                (name, b.into())
            }
            Source::Bytes { name, bytes } => (name.to_owned(), bytes.into()),
        };
        let base = &self.shared.limits;
        let limits = if bytes.len() >= INTERPRETED_BYTES {
            let f = base.interpreted_fuel_factor.max(1);
            Limits {
                fuel_per_call: base.fuel_per_call.saturating_mul(f),
                fuel_per_item: base.fuel_per_item.saturating_mul(f),
                memory_bytes: base.memory_bytes.max(base.interpreted_memory_bytes),
                ..base.clone()
            }
        } else {
            base.clone()
        }
        .with(overrides);
        if limits.memory_bytes > MEMORY_CEILING_BYTES.max(self.shared.limits.memory_bytes) {
            return Err(PluginError::Limits {
                plugin: name,
                message: format!(
                    "a memory cap of {} MiB is more than the {} MiB any plugin may have",
                    limits.memory_bytes >> 20,
                    MEMORY_CEILING_BYTES >> 20
                ),
            });
        }
        let sha: [u8; 32] = Sha256::digest(&bytes).into();
        let component = self.compile(&name, &bytes, sha).await?;
        let role = detect_role(&self.shared.engine, &component, &name, expected)?;
        Plugin::new(self.shared.clone(), name, hex(&sha), component, role, config, limits).await
    }

    async fn compile(&self, name: &str, bytes: &[u8], sha: [u8; 32]) -> Result<Component, PluginError> {
        check_header(name, bytes)?;
        if let Some(c) = self.shared.compiled.lock().ok().and_then(|m| m.get(&sha).cloned()) {
            return Ok(c);
        }
        let shared = self.shared.clone();
        let bytes = bytes.to_vec();
        let plugin = name.to_owned();
        let component = tokio::task::spawn_blocking(move || shared.compile_cached(&plugin, &bytes, &sha))
            .await
            .map_err(|e| PluginError::Runtime(format!("compile task failed: {e}")))??;
        if let Ok(mut m) = self.shared.compiled.lock() {
            m.insert(sha, component.clone());
        }
        Ok(component)
    }
}

impl Shared {
    fn compile_cached(&self, name: &str, bytes: &[u8], sha: &[u8; 32]) -> Result<Component, PluginError> {
        let path = self.disk.as_ref().map(|d| d.entry(&hex(sha)));
        if let Some(path) = path.as_deref().filter(|p| p.exists()) {
            // SAFETY: the file was written by `Component::serialize` of an
            // engine with this compatibility hash (part of the file name),
            // into the user's own cache directory, atomically (write + rename).
            #[allow(unsafe_code)]
            let loaded = unsafe { Component::deserialize_file(&self.engine, path) };
            match loaded {
                Ok(c) => {
                    DiskCache::mark_used(path);
                    return Ok(c);
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "ignoring unusable compiled plugin cache entry")
                }
            }
        }
        let started = std::time::Instant::now();
        let component = Component::new(&self.engine, bytes)
            .map_err(|e| PluginError::Malformed { plugin: name.to_owned(), cause: format!("{e:#}") })?;
        // Compiling is the slow part of a load (seconds for a Python or
        // JavaScript plugin): say when it happens, so that it is seen to
        // happen once per plugin, not once per sync.
        tracing::info!(
            plugin = name,
            bytes = bytes.len(),
            millis = started.elapsed().as_millis() as u64,
            written_to_cache = path.is_some(),
            "plugin compiled"
        );
        if let (Some(disk), Some(path)) = (&self.disk, &path) {
            if let Err(e) = disk.store(path, &component) {
                tracing::warn!(path = %path.display(), error = %e, "cannot write the compiled plugin cache");
            }
            // Compiles are rare and are what leaves files behind: the
            // moment to tidy up.
            disk.sweep();
        }
        Ok(component)
    }
}

fn build_engine(limits: &Limits, pooling: bool) -> Result<Engine, PluginError> {
    let mut cfg = Config::new();
    cfg.wasm_component_model(true).consume_fuel(true).epoch_interruption(true);
    if pooling {
        let n = limits.pool_instances.max(1);
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(n)
            .total_core_instances(n * 8)
            .total_memories(n * 2)
            .total_tables(n * 8)
            .total_stacks(n)
            .max_memory_size(limits.memory_bytes.max(MEMORY_CEILING_BYTES).next_multiple_of(64 << 10));
        cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Engine::new(&cfg).map_err(|e| PluginError::Runtime(format!("{e:#}")))
}

fn check_header(name: &str, bytes: &[u8]) -> Result<(), PluginError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(PluginError::NotWasm { plugin: name.to_owned() });
    }
    // Bytes 4..8: version 1 + layer 0 is a core module; layer 1 a component.
    if bytes[6..8] == [0, 0] {
        return Err(PluginError::NotAComponent { plugin: name.to_owned() });
    }
    Ok(())
}

/// Which role a component implements, from its export names.
fn detect_role(
    engine: &Engine,
    c: &Component,
    name: &str,
    expected: Option<PluginRole>,
) -> Result<PluginRole, PluginError> {
    let ty = c.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_owned()).collect();
    let ours: Vec<(&str, &str)> = exports
        .iter()
        .filter_map(|e| e.strip_prefix("hubsync:plugin/"))
        .map(|rest| rest.split_once('@').unwrap_or((rest, "")))
        .collect();
    if ours.is_empty() {
        let list = if exports.is_empty() { "nothing".to_owned() } else { exports.join(", ") };
        return Err(PluginError::NotAPlugin { plugin: name.to_owned(), exports: list });
    }
    if let Some((_, v)) = ours.iter().find(|(_, v)| *v != CONTRACT_VERSION) {
        return Err(PluginError::ContractVersion {
            plugin: name.to_owned(),
            found: if v.is_empty() { "(unversioned)".to_owned() } else { (*v).to_owned() },
            expected: CONTRACT_VERSION.to_owned(),
        });
    }
    let roles: Vec<PluginRole> = [PluginRole::ConflictPolicy, PluginRole::ColumnFilter, PluginRole::SchemaMap]
        .into_iter()
        .filter(|r| ours.iter().any(|(i, _)| *i == r.interface()))
        .collect();
    let found = || roles.iter().map(|r| r.world()).collect::<Vec<_>>().join(" + ");
    match (expected, roles.as_slice()) {
        (Some(e), rs) if rs.contains(&e) => Ok(e),
        (Some(e), _) => Err(PluginError::WrongWorld {
            plugin: name.to_owned(),
            expected: e,
            found: if roles.is_empty() { "no complete".to_owned() } else { found() },
        }),
        (None, [r]) => Ok(*r),
        (None, _) => Err(PluginError::NotAPlugin { plugin: name.to_owned(), exports: exports.join(", ") }),
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
