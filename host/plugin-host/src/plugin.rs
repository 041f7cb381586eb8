//! A loaded plugin: its description, a pool of configured instances, and the
//! typed calls of each role, run under fuel, deadline and memory limits.

use std::sync::{Arc, Mutex};

use hubsync_core::{ConflictBatch, Direction, PluginInfo, PluginRole, Resolution, Row, TableSchema};
use wasmtime::component::{Component, ComponentExportIndex, InstancePre};
use wasmtime::{Store, Trap};

use crate::bindings::{conflict_resolver, row_filter, schema_mapper, wit};
use crate::convert;
use crate::error::PluginError;
use crate::runtime::{CONTRACT_VERSION, HostState, Limits, Shared};

/// Everything looked up once per plugin, before any instance exists.
struct Pre {
    instance_pre: InstancePre<HostState>,
    describe: ComponentExportIndex,
    configure: ComponentExportIndex,
    role: RoleIndices,
}

enum RoleIndices {
    Conflict(conflict_resolver::GuestIndices),
    Filter(row_filter::GuestIndices),
    Map(schema_mapper::GuestIndices),
}

/// An instance bound to its role's interface.
enum Bound {
    Conflict(conflict_resolver::Guest),
    Filter(row_filter::Guest),
    Map(schema_mapper::Guest),
}

struct Instance {
    store: Store<HostState>,
    instance: wasmtime::component::Instance,
    bound: Bound,
    /// The fuel and the clock when the current call was armed (for stats).
    armed: (u64, std::time::Instant),
}

/// What a plugin's calls have cost so far (every call, failed ones too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PluginStats {
    /// Calls made.
    pub calls: u64,
    /// Fuel consumed (wasm instructions, roughly).
    pub fuel: u64,
    /// Time spent in calls, µs.
    pub micros: u64,
    /// The largest linear memory any instance reached, in bytes: what one
    /// instance of this plugin needs under `Limits::memory_bytes`.
    pub peak_memory_bytes: u64,
}

#[derive(Default)]
struct Counters {
    calls: std::sync::atomic::AtomicU64,
    fuel: std::sync::atomic::AtomicU64,
    micros: std::sync::atomic::AtomicU64,
    peak_memory: std::sync::atomic::AtomicU64,
}

/// A loaded, configured plugin. Calls may run concurrently: each takes its
/// own instance from the pool.
pub struct Plugin {
    shared: Arc<Shared>,
    /// The limits its calls run under: the runtime's, with the plugin's
    /// own overrides (a group's `limits`).
    limits: Limits,
    info: PluginInfo,
    /// How messages and logs name the plugin: its own name, plus where it
    /// came from when that says more (a file path).
    label: String,
    config: String,
    pre: Pre,
    idle: Mutex<Vec<Instance>>,
    counters: Counters,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let kept = self.idle.get_mut().map(|v| v.len()).unwrap_or(0);
        self.shared.release_idle(kept);
    }
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin").field("info", &self.info).finish_non_exhaustive()
    }
}

impl Plugin {
    pub(crate) async fn new(
        shared: Arc<Shared>,
        name: String,
        sha256: String,
        component: Component,
        role: PluginRole,
        config: &str,
        limits: Limits,
    ) -> Result<Plugin, PluginError> {
        let incompatible = |e: wasmtime::Error| PluginError::Incompatible {
            plugin: name.clone(),
            role,
            contract: CONTRACT_VERSION,
            cause: format!("{e:#}"),
        };
        let instance_pre = shared.linker.instantiate_pre(&component).map_err(incompatible)?;
        let export = |name: &str| {
            component
                .get_export_index(None, name)
                .ok_or_else(|| incompatible(wasmtime::format_err!("it does not export the function `{name}`")))
        };
        let (describe, configure) = (export("describe")?, export("configure")?);
        let role_indices = match role {
            PluginRole::ConflictPolicy => {
                RoleIndices::Conflict(conflict_resolver::GuestIndices::new(&instance_pre).map_err(incompatible)?)
            }
            PluginRole::ColumnFilter => {
                RoleIndices::Filter(row_filter::GuestIndices::new(&instance_pre).map_err(incompatible)?)
            }
            PluginRole::SchemaMap => {
                RoleIndices::Map(schema_mapper::GuestIndices::new(&instance_pre).map_err(incompatible)?)
            }
        };
        let pre = Pre { instance_pre, describe, configure, role: role_indices };
        let info = PluginInfo {
            name: name.clone(),
            version: String::new(),
            role,
            description: String::new(),
            contract_version: CONTRACT_VERSION.to_owned(),
            sha256,
        };
        let mut plugin = Plugin {
            shared,
            limits,
            info,
            label: name.clone(),
            config: config.to_owned(),
            pre,
            idle: Mutex::new(Vec::new()),
            counters: Counters::default(),
        };
        let mut inst = plugin.instantiate_bare().await?;
        plugin.arm(&mut inst, 0);
        let described = match inst.instance.get_typed_func::<(), (wit::Info,)>(&mut inst.store, &plugin.pre.describe) {
            Ok(f) => bounded(plugin.limits.deadline, f.call_async(&mut inst.store, ())).await.map(|(info,)| Ok(info)),
            Err(e) => return Err(incompatible(e)),
        };
        let d = plugin.settle(&mut inst, "describe", described).0?;
        let claimed = match d.role {
            wit::Role::ConflictPolicy => PluginRole::ConflictPolicy,
            wit::Role::ColumnFilter => PluginRole::ColumnFilter,
            wit::Role::SchemaMap => PluginRole::SchemaMap,
        };
        if claimed != role {
            return Err(
                plugin.bad("describe", format!("it says it is a {claimed} plugin but implements the {role} world"))
            );
        }
        if d.name.trim().is_empty() {
            return Err(plugin.bad("describe", "it gave an empty name".to_owned()));
        }
        // Messages keep naming the plugin by where it came from when that is
        // more precise than its own name (a file path).
        if plugin.label != d.name {
            plugin.label = format!("{} ({})", d.name, plugin.label);
        }
        plugin.info.name = d.name;
        plugin.info.version = d.version;
        plugin.info.description = d.description;
        // Configure the instance now, so bad configuration fails at load.
        let inst = plugin.configure(inst).await?;
        plugin.checkin(inst);
        Ok(plugin)
    }

    /// What the plugin says about itself, plus its hash and contract version.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Settle a batch of conflicts: one resolution per conflict, in order.
    /// Large batches are split so input size alone cannot hit the memory cap.
    pub async fn resolve(&self, batch: &ConflictBatch) -> Result<Vec<Resolution>, PluginError> {
        self.expect(PluginRole::ConflictPolicy)?;
        let mut out = Vec::with_capacity(batch.conflicts.len());
        let sizes = batch.conflicts.iter().map(|c| {
            convert::row_bytes(&c.key)
                + c.hub.row.as_deref().map_or(0, convert::row_bytes)
                + c.member.row.as_deref().map_or(0, convert::row_bytes)
        });
        let schema = convert::SchemaParts::new(&batch.table);
        for range in self.chunks(sizes) {
            let mut cells = convert::Cells::default();
            let mut peers = Vec::new();
            let spans = convert::lay_out_conflicts(&batch.conflicts[range.clone()], &mut cells, &mut peers);
            let conflicts = convert::conflicts_param(&cells, &spans);
            let input = wit::ConflictBatch {
                table: schema.param(),
                member: &batch.member,
                peers: &peers,
                conflicts: &conflicts,
            };
            let mut inst = self.checkout(range.len()).await?;
            let r = match &inst.bound {
                Bound::Conflict(b) => bounded(self.limits.deadline, b.call_resolve(&mut inst.store, input)).await,
                _ => unreachable_role(),
            };
            let got = self.finish(inst, "resolve", r)?;
            if got.len() != range.len() {
                return Err(
                    self.bad("resolve", format!("returned {} resolutions for {} conflicts", got.len(), range.len()))
                );
            }
            for (r, c) in got.into_iter().zip(&batch.conflicts[range]) {
                let r = convert::resolution_from_wit(r);
                if let Resolution::Merged(row) = &r {
                    self.check_merged(&batch.table, &c.key, row)?;
                }
                out.push(r);
            }
        }
        Ok(out)
    }

    fn check_merged(&self, table: &TableSchema, key: &[hubsync_core::Value], row: &Row) -> Result<(), PluginError> {
        if row.len() != table.columns.len() {
            return Err(self
                .bad("resolve", format!("a merged row has {} values for {} columns", row.len(), table.columns.len())));
        }
        let row_key: Vec<_> = table.primary_key.iter().map(|&i| &row[i]).collect();
        if !row_key.iter().copied().eq(key.iter()) {
            return Err(self.bad(
                "resolve",
                "a merged row changes the primary key; a merge must keep the conflict's key".to_owned(),
            ));
        }
        Ok(())
    }

    /// Indexes (ascending) of the columns of `table` that `member` receives.
    pub async fn filter_columns(&self, table: &TableSchema, member: &str) -> Result<Vec<usize>, PluginError> {
        self.expect(PluginRole::ColumnFilter)?;
        let schema = convert::SchemaParts::new(table);
        let mut inst = self.checkout(table.columns.len()).await?;
        let r = match &inst.bound {
            Bound::Filter(b) => {
                bounded(self.limits.deadline, b.call_columns(&mut inst.store, schema.param(), member)).await
            }
            _ => unreachable_role(),
        };
        let cols: Vec<usize> = self.finish(inst, "columns", r)?.into_iter().map(|i| i as usize).collect();
        if cols.windows(2).any(|w| w[0] >= w[1]) || cols.iter().any(|&i| i >= table.columns.len()) {
            return Err(self.bad(
                "columns",
                format!("column indexes must be ascending and below {}: {cols:?}", table.columns.len()),
            ));
        }
        if let Some(&k) = table.primary_key.iter().find(|k| !cols.contains(k)) {
            return Err(self.bad(
                "columns",
                format!("it drops key column {:?}; key columns must be synced", table.columns[k].name),
            ));
        }
        Ok(cols)
    }

    /// For each row, whether it goes to `member`.
    pub async fn filter_rows(&self, table: &TableSchema, member: &str, rows: &[Row]) -> Result<Vec<bool>, PluginError> {
        self.expect(PluginRole::ColumnFilter)?;
        let schema = convert::SchemaParts::new(table);
        let mut out = Vec::with_capacity(rows.len());
        for range in self.chunks(rows.iter().map(|r| convert::row_bytes(r))) {
            let laid_out = convert::Rows::new(&rows[range.clone()]);
            let input = laid_out.param();
            let mut inst = self.checkout(range.len()).await?;
            let r = match &inst.bound {
                Bound::Filter(b) => {
                    bounded(self.limits.deadline, b.call_filter(&mut inst.store, schema.param(), member, &input)).await
                }
                _ => unreachable_role(),
            };
            let got = self.finish(inst, "filter", r)?;
            if got.len() != range.len() {
                return Err(self.bad("filter", format!("returned {} answers for {} rows", got.len(), range.len())));
            }
            out.extend(got);
        }
        Ok(out)
    }

    /// The member-side schema of a hub table.
    pub async fn map_schema(&self, hub_table: &TableSchema, member: &str) -> Result<TableSchema, PluginError> {
        self.expect(PluginRole::SchemaMap)?;
        let schema = convert::SchemaParts::new(hub_table);
        let mut inst = self.checkout(hub_table.columns.len()).await?;
        let r = match &inst.bound {
            Bound::Map(b) => {
                bounded(self.limits.deadline, b.call_map_schema(&mut inst.store, schema.param(), member)).await
            }
            _ => unreachable_role(),
        };
        let mapped = convert::schema_from_wit(self.finish(inst, "map-schema", r)?);
        if mapped.columns.len() != hub_table.columns.len() || mapped.primary_key != hub_table.primary_key {
            return Err(self.bad(
                "map-schema",
                "a schema map must keep every column and the primary key (use a column filter to drop columns)"
                    .to_owned(),
            ));
        }
        mapped.validate().map_err(|e| self.bad("map-schema", e))?;
        Ok(mapped)
    }

    /// Map rows between the hub's and the member's schema.
    pub async fn map_rows(
        &self,
        hub_table: &TableSchema,
        member: &str,
        direction: Direction,
        rows: &[Row],
    ) -> Result<Vec<Row>, PluginError> {
        self.expect(PluginRole::SchemaMap)?;
        let schema = convert::SchemaParts::new(hub_table);
        let mut out = Vec::with_capacity(rows.len());
        for range in self.chunks(rows.iter().map(|r| convert::row_bytes(r))) {
            let laid_out = convert::Rows::new(&rows[range.clone()]);
            let input = laid_out.param();
            let mut inst = self.checkout(range.len()).await?;
            let r = match &inst.bound {
                Bound::Map(b) => {
                    let call = b.call_map_rows(
                        &mut inst.store,
                        schema.param(),
                        member,
                        convert::direction_to_wit(direction),
                        &input,
                    );
                    bounded(self.limits.deadline, call).await
                }
                _ => unreachable_role(),
            };
            let got = self.finish(inst, "map-rows", r)?;
            if got.len() != range.len() {
                return Err(self.bad("map-rows", format!("returned {} rows for {}", got.len(), range.len())));
            }
            for row in got {
                if row.len() != hub_table.columns.len() {
                    return Err(self.bad(
                        "map-rows",
                        format!("a row has {} values for {} columns", row.len(), hub_table.columns.len()),
                    ));
                }
                out.push(convert::row_from_wit(row));
            }
        }
        Ok(out)
    }

    /// Split items into runs whose estimated guest-memory size stays well
    /// under the cap (at least one item per run).
    fn chunks(&self, sizes: impl Iterator<Item = usize>) -> Vec<std::ops::Range<usize>> {
        let budget = self.limits.memory_bytes / 8;
        let mut out = Vec::new();
        let (mut start, mut acc, mut n) = (0, 0, 0);
        for (i, s) in sizes.enumerate() {
            if i > start && acc + s > budget {
                out.push(start..i);
                start = i;
                acc = 0;
            }
            acc += s;
            n = i + 1;
        }
        if n > start || out.is_empty() {
            out.push(start..n);
        }
        out
    }

    fn expect(&self, role: PluginRole) -> Result<(), PluginError> {
        if self.info.role == role {
            Ok(())
        } else {
            Err(PluginError::WrongWorld {
                plugin: self.label.clone(),
                expected: role,
                found: self.info.role.to_string(),
            })
        }
    }

    fn bad(&self, call: &'static str, message: String) -> PluginError {
        PluginError::BadAnswer { plugin: self.label.clone(), call, message }
    }

    async fn instantiate_bare(&self) -> Result<Instance, PluginError> {
        let mut store = self.shared.new_store(self.limits.memory_bytes);
        store.set_fuel(self.limits.fuel_per_call).map_err(|e| PluginError::Runtime(format!("{e:#}")))?;
        store.set_epoch_deadline(deadline_ticks(self.limits.deadline));
        let instance = match bounded(self.limits.deadline, self.pre.instance_pre.instantiate_async(&mut store)).await {
            Ok(i) => i,
            Err(e) => return Err(self.classify("instantiate", e, &mut store)),
        };
        let bound = match &self.pre.role {
            RoleIndices::Conflict(ix) => ix.load(&mut store, &instance).map(Bound::Conflict),
            RoleIndices::Filter(ix) => ix.load(&mut store, &instance).map(Bound::Filter),
            RoleIndices::Map(ix) => ix.load(&mut store, &instance).map(Bound::Map),
        };
        match bound {
            Ok(bound) => Ok(Instance { store, instance, bound, armed: (0, std::time::Instant::now()) }),
            Err(e) => Err(PluginError::Incompatible {
                plugin: self.label.clone(),
                role: self.info.role,
                contract: CONTRACT_VERSION,
                cause: format!("{e:#}"),
            }),
        }
    }

    /// Apply the plugin's configuration to a fresh instance.
    async fn configure(&self, mut inst: Instance) -> Result<Instance, PluginError> {
        self.arm(&mut inst, 0);
        let configure =
            inst.instance.get_typed_func::<(&str,), (Result<(), String>,)>(&mut inst.store, &self.pre.configure);
        let r = match configure {
            Ok(f) => bounded(self.limits.deadline, f.call_async(&mut inst.store, (self.config.as_str(),)))
                .await
                .map(|(r,)| r),
            Err(e) => {
                return Err(PluginError::Incompatible {
                    plugin: self.label.clone(),
                    role: self.info.role,
                    contract: CONTRACT_VERSION,
                    cause: format!("{e:#}"),
                });
            }
        };
        match self.settle(&mut inst, "configure", r).0 {
            Ok(()) => Ok(inst),
            Err(PluginError::Failed { message, .. }) => {
                Err(PluginError::Config { plugin: self.label.clone(), message })
            }
            Err(e) => Err(e),
        }
    }

    /// Give the instance its budget for a call over `items` items.
    fn arm(&self, inst: &mut Instance, items: usize) {
        let l = &self.limits;
        let fuel = l.fuel_per_call.saturating_add(l.fuel_per_item.saturating_mul(items as u64));
        // Setting fuel only fails when fuel is disabled, which this engine never is.
        let _ = inst.store.set_fuel(fuel);
        inst.armed = (fuel, std::time::Instant::now());
        inst.store.set_epoch_deadline(deadline_ticks(l.deadline));
    }

    /// What this plugin's calls have cost so far.
    pub fn stats(&self) -> PluginStats {
        use std::sync::atomic::Ordering::Relaxed;
        PluginStats {
            calls: self.counters.calls.load(Relaxed),
            fuel: self.counters.fuel.load(Relaxed),
            micros: self.counters.micros.load(Relaxed),
            peak_memory_bytes: self.counters.peak_memory.load(Relaxed),
        }
    }

    async fn checkout(&self, items: usize) -> Result<Instance, PluginError> {
        let pooled = self.idle.lock().ok().and_then(|mut v| v.pop());
        if pooled.is_some() {
            self.shared.release_idle(1);
        }
        let mut inst = match pooled {
            Some(i) => i,
            None => {
                let fresh = self.instantiate_bare().await?;
                self.configure(fresh).await?
            }
        };
        self.arm(&mut inst, items);
        Ok(inst)
    }

    /// Keep `inst` for the next call, within this plugin's and the
    /// runtime's idle budgets; otherwise it is dropped and its pool slot
    /// freed (a group's plugins would otherwise hold slots between syncs,
    /// and past 64 loaded plugins none would be left to instantiate).
    fn checkin(&self, inst: Instance) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.limits.idle_instances.max(1)
            && self.shared.reserve_idle()
        {
            idle.push(inst);
        }
    }

    /// Settle a call, then return the instance to the pool if it is still
    /// usable (after a trap it cannot be re-entered, so it is dropped).
    fn finish<R>(
        &self,
        mut inst: Instance,
        call: &'static str,
        r: wasmtime::Result<Result<R, String>>,
    ) -> Result<R, PluginError> {
        {
            use std::sync::atomic::Ordering::Relaxed;
            let (budget, since) = inst.armed;
            let left = inst.store.get_fuel().unwrap_or(0);
            self.counters.calls.fetch_add(1, Relaxed);
            self.counters.fuel.fetch_add(budget.saturating_sub(left), Relaxed);
            self.counters.micros.fetch_add(since.elapsed().as_micros() as u64, Relaxed);
            self.counters.peak_memory.fetch_max(inst.store.data().limiter.peak as u64, Relaxed);
        }
        let (result, reusable) = self.settle(&mut inst, call, r);
        if reusable {
            self.checkin(inst);
        }
        result
    }

    /// Log the plugin's output and turn the call's outcome into a result;
    /// the flag says whether the instance may be reused.
    fn settle<R>(
        &self,
        inst: &mut Instance,
        call: &'static str,
        r: wasmtime::Result<Result<R, String>>,
    ) -> (Result<R, PluginError>, bool) {
        let output = inst.store.data().output.drain();
        let plugin = &self.label;
        if !output.trim().is_empty() {
            tracing::info!(plugin, call, output = %output.trim_end(), "plugin output");
        }
        match r {
            Ok(Ok(v)) => (Ok(v), true),
            Ok(Err(message)) => (Err(PluginError::Failed { plugin: plugin.clone(), call, message }), true),
            Err(e) => {
                let mut err = self.classify(call, e, &mut inst.store);
                if let PluginError::Trapped { stderr, .. } = &mut err {
                    *stderr = last_lines(&output);
                }
                tracing::warn!(plugin, call, error = %err, "plugin call failed; instance discarded");
                (Err(err), false)
            }
        }
    }

    fn classify(&self, call: &'static str, e: wasmtime::Error, store: &mut Store<HostState>) -> PluginError {
        let plugin = self.label.clone();
        let l = &self.limits;
        if store.data().limiter.hit {
            return PluginError::OutOfMemory { plugin, call, cap_bytes: l.memory_bytes };
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => PluginError::OutOfFuel { plugin, call, fuel: l.fuel_per_call },
            Some(Trap::Interrupt) => PluginError::Timeout { plugin, call, deadline: l.deadline },
            Some(t) => PluginError::Trapped { plugin, call, trap: t.to_string(), stderr: String::new() },
            None => PluginError::Trapped { plugin, call, trap: format!("{e:#}"), stderr: String::new() },
        }
    }
}

/// Run a call into the guest, ending it at the wall-clock deadline whatever
/// the guest does. The epoch deadline interrupts wasm code only; a guest
/// waiting inside a WASI host function (a sleep, a poll on a far-off clock)
/// is waiting on a host future, which this drops at the deadline (wasmtime
/// unwinds the guest's stack). The instance is then discarded like any
/// trapped one, since the error is reported as an interrupt.
async fn bounded<T>(
    deadline: std::time::Duration,
    call: impl std::future::Future<Output = wasmtime::Result<T>>,
) -> wasmtime::Result<T> {
    // The epoch deadline fires first for wasm code; this is the backstop.
    let limit = deadline + 2 * crate::runtime::TICK;
    match tokio::time::timeout(limit, call).await {
        Ok(r) => r,
        Err(_) => Err(wasmtime::Error::new(Trap::Interrupt)),
    }
}

/// Ticks of the epoch ticker that make up `deadline`.
fn deadline_ticks(deadline: std::time::Duration) -> u64 {
    (deadline.as_millis() / crate::runtime::TICK.as_millis()).max(1) as u64 + 1
}

fn last_lines(s: &str) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join(" | ")
}

/// Calls check the role first; the instance always matches it.
fn unreachable_role<T>() -> wasmtime::Result<T> {
    Err(wasmtime::format_err!("internal error: instance of another role"))
}
