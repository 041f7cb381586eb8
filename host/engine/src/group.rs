//! Preparing a sync group (opening its databases, provisioning its tables,
//! loading its plugins) and running it member by member.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hubsync_connectors::meta::{MetaStore, Scope, SessionRecord, Side};
use hubsync_core::{
    Anchor, Connector, EngineKind, GroupConfig, MemberConfig, Opener, PluginRole, Row, TableInfo, TableRef,
    TableSchema, key_id,
};
use hubsync_plugin_host::{LimitOverrides, Plugin, Runtime, Source};
use tracing::{info, warn};

use crate::EngineError;
use crate::error::Context;
use crate::view::View;

/// µs since the Unix epoch, now.
pub(crate) fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or_default()
}

/// Runs sync groups: owns the metadata store and the plugin runtime.
pub struct Engine {
    pub(crate) meta: MetaStore,
    runtime: Runtime,
    /// The serving instance's name, recorded in the history of its syncs.
    holder: Option<String>,
    /// Opens what the connectors cannot open themselves: databases behind
    /// an agent (`agent://AGENT/DATABASE`), which only `hubsync serve` reaches.
    opener: Option<Arc<dyn Opener>>,
    /// When each group's old deletes were last purged after a one-member
    /// sync (see [`PURGE_EVERY`]).
    purged: std::sync::Mutex<HashMap<String, Instant>>,
    /// How many members of a group sync at once in a sync of the group.
    member_concurrency: usize,
}

/// How often a group's old deletes are purged when its members sync one
/// at a time (`hubsync serve`). A purge reads every member's anchors and
/// writes to every member's database: run after each member's sync, it
/// made a round of N members cost N purges of N databases. Deletes are
/// kept for the retention (days), so a purge some minutes later loses
/// nothing. A sync of the whole group purges every time.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// A handle on running syncs: cancel them between batches, read how many
/// changes they have moved. Shared (`Arc`) between the sync and whoever
/// watches it; one control may serve several syncs one after another.
#[derive(Debug, Default)]
pub struct SyncControl {
    cancel: std::sync::atomic::AtomicBool,
    changes: std::sync::atomic::AtomicU64,
    /// Changes counted as waiting when the syncs started (their sum).
    total: std::sync::atomic::AtomicU64,
    /// Whether every started sync could count what waited.
    total_unknown: std::sync::atomic::AtomicBool,
    /// Whether any sync counted yet.
    counted: std::sync::atomic::AtomicBool,
    /// What is left of each (member, table, side)'s count: a pass adds at
    /// most that to `changes`, so rows this sync writes and then reads back
    /// (its own echoes, not counted at the start) do not run past the total.
    /// Each budget's count when its pass started and what is left of it.
    budgets: std::sync::Mutex<std::collections::HashMap<Budget, (u64, u64)>>,
}

/// One table's share of a running sync's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableProgress {
    /// The hub's name for the table.
    pub table: String,
    /// Changes settled so far (both directions).
    pub done: u64,
    /// Changes that waited when its passes started.
    pub total: u64,
}

/// A member's table and the side read (`true`: the hub).
pub(crate) type Budget = (String, String, bool);

impl SyncControl {
    /// Ask the sync to stop after the batch in flight.
    pub fn cancel(&self) {
        self.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether a cancel was asked for.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Changes read and settled so far (both directions, all tables).
    pub fn changes(&self) -> u64 {
        self.changes.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn progress(&self, changes: u64) {
        self.changes.fetch_add(changes, std::sync::atomic::Ordering::Relaxed);
    }

    /// The changes that waited when the syncs under this control started,
    /// counted before their first batch: the total `changes` grows toward
    /// and does not pass (each pass counts at most what its side had
    /// waiting). `None` until a sync counted, or when a database could not
    /// tell.
    pub fn total(&self) -> Option<u64> {
        use std::sync::atomic::Ordering::Relaxed;
        (self.counted.load(Relaxed) && !self.total_unknown.load(Relaxed)).then(|| self.total.load(Relaxed))
    }

    /// `n` changes wait on one member's table and side.
    pub(crate) fn budget(&self, key: Budget, n: u64) {
        if let Ok(mut b) = self.budgets.lock() {
            b.insert(key, (n, n));
        }
    }

    /// A pass of `key` read `n` changes: counted up to what was left of its budget.
    pub(crate) fn progress_of(&self, key: &Budget, n: u64) {
        let counted = match self.budgets.lock() {
            Ok(mut b) => match b.get_mut(key) {
                Some((_, left)) => {
                    let c = n.min(*left);
                    *left -= c;
                    c
                }
                None => n,
            },
            Err(_) => n,
        };
        self.progress(counted);
    }

    /// Progress per table (summed over members and both sides), by table
    /// name; empty until a sync counted.
    pub fn tables(&self) -> Vec<TableProgress> {
        let Ok(b) = self.budgets.lock() else { return Vec::new() };
        let mut out: Vec<TableProgress> = Vec::new();
        let mut keys: Vec<&Budget> = b.keys().collect();
        keys.sort_by(|x, y| (&x.1, &x.0, x.2).cmp(&(&y.1, &y.0, y.2)));
        for k in keys {
            let (total, left) = b[k];
            match out.iter_mut().find(|t| t.table == k.1) {
                Some(t) => {
                    t.done += total - left;
                    t.total += total;
                }
                None => out.push(TableProgress { table: k.1.clone(), done: total - left, total }),
            }
        }
        out
    }

    pub(crate) fn expect(&self, waiting: Option<u64>) {
        use std::sync::atomic::Ordering::Relaxed;
        match waiting {
            Some(n) => {
                self.total.fetch_add(n, Relaxed);
            }
            None => self.total_unknown.store(true, Relaxed),
        }
        self.counted.store(true, Relaxed);
    }
}

/// A table of the sync schema, ready to sync.
pub(crate) struct SyncTable {
    /// The hub's name for it, as history shows it.
    pub(crate) name: String,
    /// The selected columns as the hub has them.
    pub(crate) hub_schema: TableSchema,
    /// The group's (or the table's own) conflict policy.
    pub(crate) policy: Arc<Plugin>,
}

/// A member database, opened.
pub(crate) struct Member {
    pub(crate) config: MemberConfig,
    pub(crate) db: Box<dyn Connector>,
    /// Per table (same order as the group's tables), what the member sees of it.
    pub(crate) views: Vec<View>,
    /// The origin hubsync writes on the hub for this member's current
    /// incarnation (`g/m@…`; `g/m` for members of stores from before
    /// identities were kept).
    pub(crate) mark: String,
    /// The database's identity when it was prepared.
    pub(crate) database_id: Option<String>,
    /// Said in the history of the next sync (the database was replaced).
    pub(crate) notice: std::sync::Mutex<Option<String>>,
}

/// A sync group with its databases opened and tables provisioned.
pub struct Group {
    pub(crate) config: GroupConfig,
    pub(crate) hub: Box<dyn Connector>,
    pub(crate) members: Vec<Member>,
    /// Members whose preparation failed (unreachable, a table that cannot
    /// be created or does not match), with the reason: each sync reports
    /// them failed and syncs the others.
    pub(crate) unprepared: Vec<(MemberConfig, String)>,
    pub(crate) tables: Vec<SyncTable>,
    /// The origin hubsync writes on the members (`g/hub`, or `g/hub@…`
    /// for a later incarnation of the hub).
    pub(crate) hub_mark: String,
    /// A database was found replaced while this group was prepared: it
    /// must be prepared again before its next sync.
    pub(crate) stale: AtomicBool,
}

impl Group {
    /// The group's definition.
    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    /// The hub's connector.
    pub fn hub(&self) -> &dyn Connector {
        self.hub.as_ref()
    }

    /// A member's connector by name.
    pub fn member(&self, name: &str) -> Option<&dyn Connector> {
        self.members.iter().find(|m| m.config.name == name).map(|m| m.db.as_ref())
    }

    /// Every plugin the group runs (policies, filters, maps), each once.
    pub fn plugins(&self) -> Vec<Arc<Plugin>> {
        let mut out: Vec<Arc<Plugin>> = Vec::new();
        let all = self
            .tables
            .iter()
            .map(|t| t.policy.clone())
            .chain(self.members.iter().flat_map(|m| m.views.iter().flat_map(View::plugins)));
        for p in all {
            if !out.iter().any(|o| Arc::ptr_eq(o, &p)) {
                out.push(p);
            }
        }
        out
    }

    /// The synced tables as the hub has them, in sync order.
    pub fn tables(&self) -> Vec<&TableSchema> {
        self.tables.iter().map(|t| &t.hub_schema).collect()
    }

    /// Replace every connector with `wrap(connector)`: for fault injection
    /// and instrumentation around the real databases.
    pub fn wrap_connectors(self, wrap: impl Fn(Box<dyn Connector>) -> Box<dyn Connector>) -> Group {
        let Group { config, hub, members, unprepared, tables, hub_mark, stale } = self;
        let members = members.into_iter().map(|m| Member { db: wrap(m.db), ..m }).collect();
        Group { config, hub: wrap(hub), members, unprepared, tables, hub_mark, stale }
    }

    /// The members that could not be prepared, with the reason.
    pub fn unprepared(&self) -> impl Iterator<Item = (&str, &str)> {
        self.unprepared.iter().map(|(m, e)| (m.name.as_str(), e.as_str()))
    }

    /// Whether the group should be prepared again before its next sync: a
    /// member could not be prepared, or a database was replaced meanwhile.
    pub fn needs_preparing(&self) -> bool {
        !self.unprepared.is_empty() || self.is_stale()
    }

    /// Whether a member's database was found replaced since the group was
    /// prepared: prepare it again before syncing it.
    pub fn is_stale(&self) -> bool {
        self.stale.load(Ordering::Relaxed)
    }

    /// Whether every member holds the same rows as the hub in every synced
    /// table; the differences, in words, when not.
    pub async fn compare(&self) -> Result<Vec<String>, EngineError> {
        let mut out = Vec::new();
        for (i, t) in self.tables.iter().enumerate() {
            let hub =
                snapshot(self.hub.as_ref(), &t.hub_schema).await.ctx(|| format!("reading {} on the hub", t.name))?;
            for m in &self.members {
                let view = &m.views[i];
                let raw = snapshot(m.db.as_ref(), &view.member_schema)
                    .await
                    .ctx(|| format!("reading {} on member {}", t.name, m.config.name))?;
                // In the hub's terms: member rows mapped back, hub rows
                // restricted to what this member receives.
                let mapped = view.rows_to_hub(&raw.values().cloned().collect::<Vec<_>>()).await?;
                let key_of =
                    |r: &Row| key_id(&view.hub_view.primary_key.iter().map(|&k| r[k].clone()).collect::<Vec<_>>());
                let rows: BTreeMap<String, Row> = mapped.into_iter().map(|r| (key_of(&r), r)).collect();
                let hub_rows: Vec<Row> = hub.values().cloned().collect();
                let passes = view.passes(&hub_rows).await?;
                let all_hub: BTreeMap<String, Row> =
                    hub_rows.iter().map(|r| view.project(r)).map(|r| (key_of(&r), r)).collect();
                let hub: BTreeMap<String, Row> = hub_rows
                    .iter()
                    .zip(passes)
                    .filter(|(_, p)| *p)
                    .map(|(r, _)| view.project(r))
                    .map(|r| (key_of(&r), r))
                    .collect();
                let missing = hub.keys().filter(|k| !rows.contains_key(*k)).count();
                // A member may hold rows outside its filter that it wrote itself.
                let extra = rows.keys().filter(|k| !hub.contains_key(*k) && !all_hub.contains_key(*k)).count();
                let differ = hub
                    .iter()
                    .filter(|(k, r)| rows.get(*k).is_some_and(|mr| !hubsync_core::same_row(Some(mr), Some(r))))
                    .count();
                if missing + extra + differ > 0 {
                    out.push(format!(
                        "table {}: member {} lacks {missing} of the hub's rows, has {extra} the hub lacks, \
                         and {differ} differ",
                        t.name, m.config.name
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// Every row of a provisioned table, by key, read through its change
/// tracking (which covers every row once provisioned).
pub async fn snapshot(
    db: &dyn Connector,
    table: &TableSchema,
) -> Result<BTreeMap<String, Row>, hubsync_core::ConnectorError> {
    let mut out = BTreeMap::new();
    let mut at = Anchor::start();
    loop {
        let b = db.read_changes(table, &at, 10_000).await?;
        for c in b.changes {
            let id = key_id(&c.key);
            match c.row {
                Some(r) => out.insert(id, r),
                None => out.remove(&id),
            };
        }
        at = b.next;
        if !b.more {
            return Ok(out);
        }
    }
}

/// What one table's sync of one member did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableReport {
    /// The table.
    pub table: String,
    /// Rows written to the member.
    pub rows_down: u64,
    /// Rows written to the hub.
    pub rows_up: u64,
    /// Conflicts settled by the policy.
    pub conflicts: u64,
    /// Conflicts settled, by decision (`take-hub`, `take-member`, `merged`, `skip`).
    pub decisions: BTreeMap<&'static str, u64>,
    /// Conflicts the policy skipped (left as they are).
    pub skipped: u64,
    /// Changes quarantined: they could not be read, converted or written
    /// (`hubsync quarantine` lists them); the sync succeeded with warnings.
    pub quarantined: u64,
    /// Of the writes quarantined in the last pass over the table, those a
    /// foreign key refused (the sync retries them after the other tables).
    pub deferred: u64,
    /// Whether changes were held back (PostgreSQL: behind a transaction
    /// still open); the next sync takes them.
    pub pending: bool,
    /// The error, if the table's sync failed.
    pub error: Option<String>,
}

/// What one member's sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberReport {
    /// The member.
    pub member: String,
    /// Per table.
    pub tables: Vec<TableReport>,
}

/// What one group's sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupReport {
    /// The group.
    pub group: String,
    /// Per member, in sync order.
    pub members: Vec<MemberReport>,
    /// Tracked deletes forgotten after the sync (older than the retention
    /// and read by every member).
    pub tombstones_purged: u64,
}

impl GroupReport {
    /// The failures, one line each.
    pub fn errors(&self) -> Vec<String> {
        let mut out = Vec::new();
        for m in &self.members {
            for t in &m.tables {
                if let Some(e) = &t.error {
                    out.push(format!("group {}, member {}, table {}: {e}", self.group, m.member, t.table));
                }
            }
        }
        out
    }

    /// The tables that succeeded with warnings (quarantined changes), one line each.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for m in &self.members {
            for t in &m.tables {
                if t.quarantined > 0 {
                    out.push(format!(
                        "group {}, member {}, table {}: {} changes quarantined",
                        self.group, m.member, t.table, t.quarantined
                    ));
                }
            }
        }
        out
    }

    /// Whether any table held changes back.
    pub fn pending(&self) -> bool {
        self.members.iter().flat_map(|m| &m.tables).any(|t| t.pending)
    }
}

/// `config` with table namespaces that name the hub's default schema
/// (`public`, `dbo`) left out, as introspection reports those tables: the
/// same table then has one name in anchors, history and lookups.
pub(crate) fn in_default_namespace(config: &GroupConfig, hub: EngineKind) -> GroupConfig {
    let mut config = config.clone();
    for t in &mut config.tables {
        if t.namespace.as_deref().is_some_and(|n| Some(n) == hub.default_namespace()) {
            t.namespace = None;
        }
    }
    config
}

fn find<'a>(infos: &'a [TableInfo], t: &TableRef) -> Option<&'a TableInfo> {
    infos.iter().find(|i| TableRef::of(&i.schema) == *t)
}

impl Engine {
    /// An engine keeping its metadata at `metadata_url` (see
    /// [`MetaStore::open`]), with plugins compiled into `plugin_cache` if given.
    pub async fn open(metadata_url: &str, plugin_cache: Option<&Path>) -> Result<Engine, EngineError> {
        let meta = MetaStore::open(metadata_url).await.ctx(|| "opening the sync metadata database".into())?;
        let config =
            hubsync_plugin_host::RuntimeConfig { cache_dir: plugin_cache.map(Path::to_path_buf), ..Default::default() };
        let runtime = Runtime::new(config)
            .map_err(|cause| EngineError::Plugin { context: "starting the plugin runtime".into(), cause })?;
        Ok(Engine { meta, runtime, holder: None, opener: None, purged: Default::default(), member_concurrency: 1 })
    }

    /// An engine over an opened store (a store with a secret key, say).
    pub fn with_store(meta: MetaStore, plugin_cache: Option<&Path>) -> Result<Engine, EngineError> {
        let config =
            hubsync_plugin_host::RuntimeConfig { cache_dir: plugin_cache.map(Path::to_path_buf), ..Default::default() };
        let runtime = Runtime::new(config)
            .map_err(|cause| EngineError::Plugin { context: "starting the plugin runtime".into(), cause })?;
        Ok(Engine { meta, runtime, holder: None, opener: None, purged: Default::default(), member_concurrency: 1 })
    }

    /// Record `holder` (a serving instance's name) in the history of every sync.
    pub fn with_holder(mut self, holder: String) -> Engine {
        self.holder = Some(holder);
        self
    }

    /// Sync up to `n` members of a group at once (default 1: one after
    /// another, each seeing what those before it uploaded in the same
    /// round). Never two sessions of one member.
    pub fn with_member_concurrency(mut self, n: usize) -> Engine {
        self.member_concurrency = n.max(1);
        self
    }

    /// Open `agent://` URLs through `opener` (the service's agent connections).
    pub fn with_opener(mut self, opener: Arc<dyn Opener>) -> Engine {
        self.opener = Some(opener);
        self
    }

    /// Open a database by URL: through the opener for a database behind an
    /// agent, else with the connectors.
    pub async fn open_database(
        &self,
        url: &str,
        options: &hubsync_core::ConnectOptions,
    ) -> Result<Box<dyn hubsync_core::Connector>, hubsync_core::ConnectorError> {
        if !hubsync_core::is_agent_url(url) {
            return hubsync_connectors::open_with(url, options).await;
        }
        match &self.opener {
            Some(o) => o.open(url, options).await,
            None => Err(hubsync_core::ConnectorError::Connect {
                url: url.to_owned(),
                cause: "a database behind an agent is reached only through `hubsync serve`, which the agent \
                        connects to; sync this group there (`hubsync sync now GROUP`)"
                    .into(),
            }),
        }
    }

    /// The plugin runtime (to check uploaded plugins, replay conflicts).
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The metadata store.
    pub fn meta(&self) -> &MetaStore {
        &self.meta
    }

    pub(crate) async fn load_plugin(
        &self,
        cache: &mut HashMap<(String, String), Arc<Plugin>>,
        policy: &hubsync_core::PolicyConfig,
        role: PluginRole,
        context: &str,
    ) -> Result<Arc<Plugin>, EngineError> {
        let config = policy.config.to_string();
        // The same plugin with other limits is another plugin.
        let key = (policy.plugin.clone(), format!("{config} {:?}", policy.limits));
        if let Some(p) = cache.get(&key) {
            return Ok(p.clone());
        }
        // `stored:NAME`: uploaded through the API into the metadata database.
        let stored = match policy.plugin.strip_prefix("stored:") {
            Some(name) => Some(self.meta.plugin_wasm(name).await.ctx(|| context.to_owned())?.ok_or_else(|| {
                EngineError::NotFound(format!(
                    "{context}: no plugin {name:?} was uploaded; `hubsync plugin upload FILE --name {name}` adds it"
                ))
            })?),
            None => None,
        };
        let source = match (policy.plugin.strip_prefix("builtin:"), &stored) {
            (_, Some(bytes)) => Source::Bytes { name: &policy.plugin, bytes },
            (Some(name), None) => Source::Builtin(name),
            (None, None) => Source::File(Path::new(&policy.plugin)),
        };
        let limits = policy.limits.unwrap_or_default();
        let overrides = LimitOverrides {
            fuel_per_call: limits.fuel_per_call,
            fuel_per_item: limits.fuel_per_item,
            deadline: limits.deadline_ms.map(std::time::Duration::from_millis),
            memory_bytes: limits.memory_mib.map(|m| (m as usize) << 20),
        };
        let plugin = self
            .runtime
            .load_with(source, &config, Some(role), &overrides)
            .await
            .map_err(|cause| EngineError::Plugin { context: context.to_owned(), cause })?;
        let plugin = Arc::new(plugin);
        cache.insert(key, plugin.clone());
        Ok(plugin)
    }

    /// Open a group's databases, provision its tables everywhere (creating
    /// member tables that are missing), load its policies, and reconcile
    /// the metadata with the definition (tables or members removed since
    /// the last run lose their anchors).
    pub async fn prepare(&self, config: &GroupConfig) -> Result<Group, EngineError> {
        let g = &config.name;
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(EngineError::Invalid(problems));
        }
        let hub = self
            .open_database(&config.hub, &config.hub_connect_options())
            .await
            .ctx(|| format!("group {g}: opening the hub"))?;
        let hub_infos = hub.introspect().await.ctx(|| format!("group {g}: reading the hub's tables"))?;
        let config = &in_default_namespace(config, hub.engine());
        // Before anything is provisioned: a replaced hub is refused as it is.
        let hub_mark = self.hub_incarnation(config, hub.as_ref()).await?;
        let mut plugins = HashMap::new();
        let mut tables = Vec::new();
        for t in &config.tables {
            let r = TableRef { namespace: t.namespace.clone(), name: t.name.clone() };
            let info = find(&hub_infos, &r).ok_or_else(|| {
                EngineError::Schema(format!(
                    "group {g}: table {r} is not on the hub; create it there first \
                     (hubsync creates missing tables on members, not on the hub)"
                ))
            })?;
            let schema = info.select(&t.columns).ctx(|| format!("group {g}: the sync schema of {r}"))?;
            hub.provision(&schema).await.ctx(|| format!("group {g}: provisioning {r} on the hub"))?;
            let policy_config = t.conflict_policy.as_ref().unwrap_or(&config.conflict_policy);
            let context = format!("group {g}, table {r}: loading the conflict policy");
            let policy = self.load_plugin(&mut plugins, policy_config, PluginRole::ConflictPolicy, &context).await?;
            tables.push((SyncTable { name: r.to_string(), hub_schema: schema, policy }, info.indexes.clone()));
        }
        // Foreign keys between synced tables, as (child, parent) indexes,
        // read on the hub and on every member.
        let hub_names: Vec<TableRef> = tables.iter().map(|(t, _)| TableRef::of(&t.hub_schema)).collect();
        let mut edges = fk_edges(&hub_infos, &hub_names);
        // Before the members: a member that moved forgets its state here, so
        // its incarnation (and mark) is decided on what is left.
        self.reconcile(config).await?;
        let mut members = Vec::new();
        let mut unprepared = Vec::new();
        for m in &config.members {
            // One member's problem (unreachable, a table it cannot hold)
            // must not stop the others: it is reported at every sync.
            match self.prepare_member(config, m, &tables, &mut plugins).await {
                Ok((member, member_edges)) => {
                    edges.extend(member_edges);
                    members.push(member);
                }
                Err(e) => {
                    warn!(group = %g, member = %m.name, error = %e, "member not prepared; syncing the others");
                    unprepared.push((m.clone(), format!("not prepared, so not synced: {e}")));
                }
            }
        }
        // Sync parents before children: their inserts first (their deletes
        // wait for the children's, see `sync_member`).
        let order = parents_first(tables.len(), &edges);
        let mut tables: Vec<Option<SyncTable>> = tables.into_iter().map(|(t, _)| Some(t)).collect();
        let tables: Vec<SyncTable> = order.iter().filter_map(|&i| tables[i].take()).collect();
        for m in &mut members {
            let mut views: Vec<Option<View>> = std::mem::take(&mut m.views).into_iter().map(Some).collect();
            m.views = order.iter().filter_map(|&i| views[i].take()).collect();
        }
        Ok(Group { config: config.clone(), hub, members, unprepared, tables, hub_mark, stale: AtomicBool::new(false) })
    }

    /// Open one member, create or check its tables, provision them.
    async fn prepare_member(
        &self,
        config: &GroupConfig,
        m: &MemberConfig,
        tables: &[(SyncTable, Vec<hubsync_core::IndexInfo>)],
        plugins: &mut HashMap<(String, String), Arc<Plugin>>,
    ) -> Result<(Member, Vec<(usize, usize)>), EngineError> {
        let g = &config.name;
        let ctx = |what: &str| format!("group {g}, member {}: {what}", m.name);
        let db =
            self.open_database(&m.url, &config.member_connect_options(m)).await.ctx(|| ctx("opening the database"))?;
        let (mark, database_id, notice) = self.member_incarnation(g, &m.name, db.as_ref()).await?;
        let infos = db.introspect().await.ctx(|| ctx("reading its tables"))?;
        let filter = match &m.column_filter {
            Some(p) => {
                Some(self.load_plugin(plugins, p, PluginRole::ColumnFilter, &ctx("loading the column filter")).await?)
            }
            None => None,
        };
        let map = match &m.schema_map {
            Some(p) => Some(self.load_plugin(plugins, p, PluginRole::SchemaMap, &ctx("loading the schema map")).await?),
            None => None,
        };
        let mut views = Vec::new();
        for (t, indexes) in tables {
            let has_namespaces = db.engine().has_namespaces();
            let view = View::new(&m.name, &t.hub_schema, filter.clone(), map.clone(), has_namespaces).await?;
            let schema = view.member_schema.clone();
            let r = TableRef::of(&schema);
            match find(&infos, &r) {
                None => {
                    info!(group = %g, member = %m.name, table = %r, "creating the table on the member");
                    db.create_table(&schema, indexes).await.ctx(|| ctx(&format!("creating {r}")))?;
                }
                Some(existing) => {
                    // A key that folds on the member as it folds on the hub
                    // (the same collation, as a Data Sync group has) merges
                    // nothing the hub keeps apart.
                    let mut expected = schema.clone();
                    for (c, h) in expected.columns.iter_mut().zip(&view.hub_view.columns) {
                        c.folding = h.folding.clone();
                    }
                    check_compatible(&expected, existing, db.engine(), &ctx(&format!("table {r}")))?
                }
            }
            db.provision(&schema).await.ctx(|| ctx(&format!("provisioning {r}")))?;
            views.push(view);
        }
        let names: Vec<TableRef> = views.iter().map(|v| TableRef::of(&v.member_schema)).collect();
        let edges = fk_edges(&infos, &names);
        let notice = std::sync::Mutex::new(notice);
        Ok((Member { config: m.clone(), db, views, mark, database_id, notice }, edges))
    }

    /// Forget the sync state of tables and members no longer in the definition.
    async fn reconcile(&self, config: &GroupConfig) -> Result<(), EngineError> {
        let g = &config.name;
        let ctx = || format!("group {g}: updating the sync metadata");
        if let Some(old) = self.meta.group_definition(g).await.ctx(ctx)? {
            match serde_json::from_str::<GroupConfig>(&old) {
                Ok(old) => {
                    let name = |t: &hubsync_core::TableConfig| {
                        TableRef { namespace: t.namespace.clone(), name: t.name.clone() }.to_string()
                    };
                    // (database URL, table) pairs whose tracking this group no longer needs.
                    let mut unused: Vec<(String, hubsync_core::TableConfig, bool)> = Vec::new();
                    for t in &old.tables {
                        if !config.tables.iter().any(|n| name(n) == name(t)) {
                            info!(group = %g, table = %name(t), "table left the sync schema; forgetting its anchors");
                            self.meta.forget(g, None, Some(&name(t))).await.ctx(ctx)?;
                            unused.push((old.hub.clone(), t.clone(), false));
                            for m in &old.members {
                                unused.push((m.url.clone(), t.clone(), m.schema_map.is_some()));
                            }
                        }
                    }
                    for m in &old.members {
                        let now = config.members.iter().find(|n| n.name == m.name);
                        // A member pointed at another database starts over.
                        if now.is_none_or(|n| n.url != m.url) {
                            if now.is_some() {
                                warn!(group = %g, member = %m.name, "member {} now points at a different database: \
                                      syncing it from scratch", m.name);
                            } else {
                                info!(group = %g, member = %m.name, "member left the group; forgetting its anchors");
                            }
                            self.meta.forget(g, Some(&m.name), None).await.ctx(ctx)?;
                            for t in &old.tables {
                                unused.push((m.url.clone(), t.clone(), m.schema_map.is_some()));
                            }
                        }
                    }
                    self.deprovision_unused(config, unused, false).await?;
                    // Columns added or removed: provisioning announced every
                    // row again, so the next sync carries the new columns.
                }
                Err(e) => warn!(group = %g, %e, "stored definition unreadable; keeping anchors"),
            }
        }
        let json = serde_json::to_string(config).unwrap_or_default();
        self.meta.set_group_definition(g, &json, now_micros()).await.ctx(ctx)
    }

    /// Remove a group's sync state (anchors, journal, leases; its history
    /// stays) and, with `deprovision`, the tracking of its tables in its
    /// hub and members, except tables another group in this store still
    /// syncs. Databases that cannot be reached keep their tracking (logged;
    /// `hubsync db deprovision` removes it).
    pub async fn remove_group(&self, config: &GroupConfig, deprovision: bool) -> Result<bool, EngineError> {
        if deprovision {
            self.deprovision(config, true).await?;
        }
        self.meta.delete_spec(&config.name).await.ctx(|| format!("removing group {}", config.name))
    }

    /// Remove the tracking of a group's tables from its members (and, with
    /// `hub`, from its hub), except tables another group in this store
    /// still syncs there.
    pub async fn deprovision(&self, config: &GroupConfig, hub: bool) -> Result<(), EngineError> {
        let mut unused = Vec::new();
        let hub = hub.then(|| (config.hub.clone(), false));
        let dbs = hub.into_iter().chain(config.members.iter().map(|m| (m.url.clone(), m.schema_map.is_some())));
        for (url, mapped) in dbs {
            for t in &config.tables {
                unused.push((url.clone(), t.clone(), mapped));
            }
        }
        self.deprovision_unused(config, unused, true).await
    }

    /// Remove the tracking of tables no group uses any more. A database and
    /// table still named by this or another group (in this metadata store)
    /// keep theirs; a member behind a schema map keeps its tracking (its
    /// table name is the plugin's to say): `hubsync db deprovision` removes it.
    async fn deprovision_unused(
        &self,
        config: &GroupConfig,
        unused: Vec<(String, hubsync_core::TableConfig, bool)>,
        removing: bool,
    ) -> Result<(), EngineError> {
        if unused.is_empty() {
            return Ok(());
        }
        // A group being removed keeps nothing; one being changed keeps what it still names.
        let mut groups: Vec<GroupConfig> = if removing { Vec::new() } else { vec![config.clone()] };
        for (name, json) in self.meta.group_definitions().await.ctx(|| "reading group definitions".into())? {
            if name != config.name
                && let Ok(other) = serde_json::from_str::<GroupConfig>(&json)
            {
                groups.push(other);
            }
        }
        let same = |a: &hubsync_core::TableConfig, b: &hubsync_core::TableConfig| {
            a.name == b.name && a.namespace == b.namespace
        };
        let in_use = |url: &str, t: &hubsync_core::TableConfig| {
            groups.iter().any(|g| {
                (g.hub == url || g.members.iter().any(|m| m.url == url)) && g.tables.iter().any(|o| same(o, t))
            })
        };
        for (url, t, mapped) in unused {
            if in_use(&url, &t) {
                continue;
            }
            let r = TableRef { namespace: t.namespace.clone(), name: t.name.clone() };
            if mapped {
                warn!(group = %config.name, table = %r, "member behind a schema map keeps its tracking; remove it with `hubsync db deprovision`");
                continue;
            }
            let result = async {
                let db = self.open_database(&url, &Default::default()).await?;
                let r =
                    if db.engine().has_namespaces() { r.clone() } else { TableRef { namespace: None, ..r.clone() } };
                db.deprovision(&r).await
            }
            .await;
            match result {
                Ok(()) => {
                    info!(group = %config.name, table = %r, db = %hubsync_connectors::redact(&url), "tracking removed")
                }
                Err(e) => {
                    warn!(group = %config.name, table = %r, error = %e, "could not remove tracking; `hubsync db deprovision` removes it")
                }
            }
        }
        Ok(())
    }

    /// Sync every member of `group` (or only `only`), one after the other:
    /// per table, download then upload. Failures are reported per table
    /// and do not stop the other tables and members.
    pub async fn sync_group(&self, group: &Group, only: Option<&str>) -> Result<GroupReport, EngineError> {
        self.sync_group_with(group, only, &SyncControl::default()).await
    }

    /// [`Engine::sync_group`] under `control`: a cancel stops it after the
    /// batch in flight (the tables not reached report the cancel).
    pub async fn sync_group_with(
        &self,
        group: &Group,
        only: Option<&str>,
        control: &SyncControl,
    ) -> Result<GroupReport, EngineError> {
        if let Some(name) = only
            && !group.config.members.iter().any(|m| m.name == name)
        {
            return Err(EngineError::NotFound(format!(
                "group {} has no member {name:?}; its members are {}",
                group.config.name,
                group.config.members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        let mut report = GroupReport { group: group.config.name.clone(), ..Default::default() };
        // Members in the definition's order, at most `member_concurrency`
        // at once (the semaphore hands out its permits in that order).
        let slots = tokio::sync::Semaphore::new(self.member_concurrency);
        let runs = group.config.members.iter().filter(|m| only.is_none_or(|n| n == m.name)).map(|mc| {
            let slots = &slots;
            async move {
                let _slot = slots.acquire().await.ok();
                if let Some(m) = group.members.iter().find(|m| m.config.name == mc.name) {
                    Some(self.sync_member(group, m, control).await)
                } else if let Some((_, reason)) = group.unprepared.iter().find(|(m, _)| m.name == mc.name) {
                    Some(self.report_unprepared(group, &mc.name, reason).await)
                } else {
                    None
                }
            }
        });
        for r in crate::schedule::join_ordered(runs.collect()).await.into_iter().flatten() {
            report.members.push(r?);
        }
        if self.purge_due(&group.config.name, only.is_none()) {
            let retention = Duration::from_secs(u64::from(group.config.retention_days) * 86_400);
            match self.purge_tombstones(group, retention).await {
                Ok(n) => report.tombstones_purged = n,
                Err(e) => {
                    warn!(group = %group.config.name, error = %e, "purging old deletes failed; the next sync retries");
                    if let Ok(mut p) = self.purged.lock() {
                        p.remove(&group.config.name);
                    }
                }
            }
        }
        Ok(report)
    }

    /// Whether to purge `group`'s old deletes now: always after a sync of
    /// the whole group, at most every [`PURGE_EVERY`] after one member's.
    fn purge_due(&self, group: &str, whole: bool) -> bool {
        let Ok(mut p) = self.purged.lock() else { return true };
        let due = whole || p.get(group).is_none_or(|at| at.elapsed() >= PURGE_EVERY);
        if due {
            p.insert(group.to_owned(), Instant::now());
        }
        due
    }

    /// When `member` last synced, if that is longer ago than the group's
    /// retention (it may have missed deletes that were purged since).
    pub async fn out_of_date(&self, group: &GroupConfig, member: &str) -> Result<Option<i64>, EngineError> {
        let last = self.meta.member_last_success(&group.name, member).await.ctx(|| "reading member status".into())?;
        let limit = i64::from(group.retention_days) * 86_400_000_000;
        Ok(last.filter(|&t| now_micros() - t > limit))
    }

    /// Forget tracked deletes older than `older_than` that every member
    /// that is not out of date has read (hub deletes downloaded by every
    /// downloading member; a member's deletes uploaded). Returns how many.
    pub async fn purge_tombstones(&self, group: &Group, older_than: Duration) -> Result<u64, EngineError> {
        let g = &group.config;
        let before = now_micros() - older_than.as_micros() as i64;
        let mut purged = 0;
        // Every member of the definition counts, prepared this time or not:
        // an unreachable member still needs the deletes it has not read.
        let mut current = Vec::new();
        for m in &g.members {
            if self.out_of_date(g, &m.name).await?.is_none() {
                current.push(m);
            }
        }
        for (i, t) in group.tables.iter().enumerate() {
            let scope =
                |m: &MemberConfig| Scope { group: g.name.clone(), member: m.name.clone(), table: t.name.clone() };
            let mut hub_readers = Vec::new();
            for m in current.iter().filter(|m| m.direction.downloads()) {
                hub_readers.push(self.meta.anchor(&scope(m), Side::Hub).await.ctx(|| "reading anchors".into())?);
            }
            // No member reads the hub's deletes: there is nobody to keep them for.
            purged += group
                .hub
                .purge_tombstones(&t.hub_schema, &hub_readers, before)
                .await
                .ctx(|| format!("table {} on the hub: purging old deletes", t.name))?;
            let prepared = group.members.iter().filter(|m| current.iter().any(|c| c.name == m.config.name));
            for m in prepared.filter(|m| m.config.direction.uploads()) {
                let read = self.meta.anchor(&scope(&m.config), Side::Member).await.ctx(|| "reading anchors".into())?;
                purged +=
                    m.db.purge_tombstones(&m.views[i].member_schema, &[read], before)
                        .await
                        .ctx(|| format!("table {} on member {}: purging old deletes", t.name, m.config.name))?;
            }
        }
        Ok(purged)
    }

    /// Record and report a member that could not be prepared: every table
    /// failed with the reason.
    async fn report_unprepared(&self, group: &Group, member: &str, reason: &str) -> Result<MemberReport, EngineError> {
        let mut report = MemberReport { member: member.to_owned(), tables: Vec::new() };
        for t in &group.tables {
            let scope = Scope { group: group.config.name.clone(), member: member.to_owned(), table: t.name.clone() };
            let record = SessionRecord {
                scope,
                started_micros: now_micros(),
                duration_ms: 0,
                ok: false,
                rows_down: 0,
                rows_up: 0,
                conflicts: 0,
                message: Some(reason.to_owned()),
                warnings: 0,
                holder: self.holder.clone(),
            };
            self.meta.record_session(&record).await.ctx(|| "recording sync history".into())?;
            report.tables.push(TableReport {
                table: t.name.clone(),
                error: Some(reason.to_owned()),
                ..Default::default()
            });
        }
        Ok(report)
    }

    /// One pass of table `i` for member `m`: download, then upload.
    async fn run_table(&self, group: &Group, m: &Member, i: usize, r: &mut TableReport, control: &SyncControl) {
        let t = &group.tables[i];
        let scope = Scope { group: group.config.name.clone(), member: m.config.name.clone(), table: t.name.clone() };
        if control.cancelled() {
            r.error = Some(EngineError::Cancelled.to_string());
            return;
        }
        let pair = crate::session::Pair::new(self, group, m, t, &m.views[i], scope.clone(), control);
        if let Err(e) = pair.run(r).await {
            warn!(group = %scope.group, member = %scope.member, table = %scope.table, error = %e, "sync failed");
            r.error = Some(e.to_string());
        }
    }

    /// Why `m` cannot sync now if its database is no longer the one it was
    /// prepared with (dropped and made again under the same URL while the
    /// group stayed prepared): the group is then prepared again first.
    async fn replaced_since_prepared(&self, group: &Group, m: &Member) -> Option<String> {
        let known = m.database_id.as_deref()?;
        // Unreadable: the tables' own errors will say why.
        let now = m.db.identity().await.ok()??;
        if now == known {
            return None;
        }
        group.stale.store(true, Ordering::Relaxed);
        let message = format!(
            "member {} now points at a different database than the one prepared (it was replaced while hubsync \
             ran); it is prepared again and synced from scratch at its next sync",
            m.config.name
        );
        warn!(group = %group.config.name, member = %m.config.name, "{message}");
        Some(message)
    }

    async fn sync_member(&self, group: &Group, m: &Member, control: &SyncControl) -> Result<MemberReport, EngineError> {
        let started = now_micros();
        let mut report = MemberReport { member: m.config.name.clone(), tables: Vec::new() };
        let refused = self.out_of_date(&group.config, &m.config.name).await?.map(|last| {
            format!(
                "member {} is out of date: it last synced at {} UTC, longer ago than the group's retention \
                 ({} days), so deletes it missed may be forgotten; run `hubsync reinit --group {} --member {}` \
                 to sync it from scratch",
                m.config.name,
                hubsync_core::text::format_timestamp(last),
                group.config.retention_days,
                group.config.name,
                m.config.name
            )
        });
        let refused = match refused {
            Some(r) => Some(r),
            None => self.replaced_since_prepared(group, m).await,
        };
        let notice = m.notice.lock().ok().and_then(|mut n| n.take());
        let scope_of = |t: &SyncTable| Scope {
            group: group.config.name.clone(),
            member: m.config.name.clone(),
            table: t.name.clone(),
        };
        let mut runs: Vec<(TableReport, i64, Duration)> = Vec::new();
        // What waits, counted before the first batch: progress's total, and
        // the tables with nothing to do, which are not synced at all.
        let mut idle = vec![false; group.tables.len()];
        if refused.is_none() {
            let state = self
                .meta
                .member_state(&group.config.name, &m.config.name)
                .await
                .ctx(|| "reading the member's sync state".into())?;
            let w = crate::waiting::waiting(group, m, &state, control).await;
            control.expect(w.total);
            idle = w.idle;
        }
        // Tables run parents first (see `prepare`).
        for (i, t) in group.tables.iter().enumerate() {
            let clock = Instant::now();
            let table_started = now_micros();
            let mut r = TableReport { table: t.name.clone(), ..Default::default() };
            if let Some(message) = &refused {
                r.error = Some(message.clone());
            } else if idle[i] && !control.cancelled() {
                // Nothing after either anchor: the session would read two
                // empty batches and write nothing.
            } else {
                self.run_table(group, m, i, &mut r, control).await;
            }
            runs.push((r, table_started, clock.elapsed()));
        }
        // Writes a foreign key refused wait for the other tables' writes
        // (a child's insert for its parent's, a parent's delete for its
        // children's): retry them, children first, then parents first, and
        // so on, while each pass lets more through.
        let mut deferred: u64 = runs.iter().map(|(r, ..)| r.deferred).sum();
        let mut pass = 0;
        let mut pass_started = started;
        while deferred > 0 && pass < 64 && !control.cancelled() {
            pass += 1;
            let order: Vec<usize> =
                if pass % 2 == 1 { (0..group.tables.len()).rev().collect() } else { (0..group.tables.len()).collect() };
            let retry_from = pass_started;
            pass_started = now_micros();
            let held = self.meta.quarantine(Some(&group.config.name)).await.ctx(|| "reading the quarantine".into())?;
            for i in order {
                if runs[i].0.deferred == 0 || runs[i].0.error.is_some() {
                    continue;
                }
                let scope = scope_of(&group.tables[i]);
                let ids: Vec<i64> = held
                    .iter()
                    .filter(|q| q.scope == scope && q.record.at_micros >= retry_from)
                    .map(|q| q.id)
                    .collect();
                self.meta
                    .retry_quarantined(&group.config.name, Some(&ids))
                    .await
                    .ctx(|| "retrying quarantined changes".into())?;
                let clock = Instant::now();
                let mut again = TableReport { table: group.tables[i].name.clone(), ..Default::default() };
                self.run_table(group, m, i, &mut again, control).await;
                let r = &mut runs[i].0;
                r.rows_down += again.rows_down;
                r.rows_up += again.rows_up;
                r.conflicts += again.conflicts;
                for (d, n) in &again.decisions {
                    *r.decisions.entry(d).or_default() += n;
                }
                r.skipped += again.skipped;
                r.quarantined = again.quarantined;
                r.deferred = again.deferred;
                r.pending |= again.pending;
                r.error = again.error;
                runs[i].2 += clock.elapsed();
            }
            let now: u64 = runs.iter().map(|(r, ..)| r.deferred).sum();
            info!(group = %group.config.name, member = %m.config.name, pass, before = deferred, after = now,
                  "retried writes a foreign key refused");
            if now >= deferred && pass % 2 == 0 {
                break;
            }
            deferred = now;
        }
        let mut records = Vec::with_capacity(runs.len());
        for (i, (r, table_started, elapsed)) in runs.into_iter().enumerate() {
            let record = SessionRecord {
                scope: scope_of(&group.tables[i]),
                started_micros: table_started,
                duration_ms: elapsed.as_millis() as i64,
                ok: r.error.is_none(),
                rows_down: r.rows_down as i64,
                rows_up: r.rows_up as i64,
                conflicts: r.conflicts as i64,
                message: r.error.clone().or_else(|| {
                    let mut notes: Vec<String> = notice.iter().cloned().collect();
                    if r.quarantined > 0 {
                        notes.push(format!(
                            "{} changes could not be synced and were quarantined (`hubsync quarantine` lists them)",
                            r.quarantined
                        ));
                    }
                    if r.pending {
                        notes.push("changes held back behind an open transaction; the next sync takes them".into());
                    }
                    (!notes.is_empty()).then(|| notes.join("; "))
                }),
                warnings: r.quarantined as i64,
                holder: self.holder.clone(),
            };
            records.push(record);
            report.tables.push(r);
        }
        self.meta.record_sessions(&records).await.ctx(|| "recording sync history".into())?;
        if report.tables.iter().all(|t| t.error.is_none()) {
            self.meta
                .member_synced(&group.config.name, &m.config.name, started)
                .await
                .ctx(|| "recording sync history".into())?;
        }
        Ok(report)
    }
}

/// The foreign keys among `names` (the synced tables, in group order) as
/// (child, parent) index pairs; self-references left out.
fn fk_edges(infos: &[TableInfo], names: &[TableRef]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (child, name) in names.iter().enumerate() {
        let Some(info) = find(infos, name) else { continue };
        for fk in &info.foreign_keys {
            // A reference without a namespace names the child's own schema.
            let mut target = fk.references.clone();
            if target.namespace.is_none() {
                target.namespace.clone_from(&name.namespace);
            }
            let parent = names.iter().position(|n| *n == fk.references || *n == target);
            if let Some(parent) = parent.filter(|&p| p != child) {
                out.push((child, parent));
            }
        }
    }
    out
}

/// An order of `n` tables with every parent before its children, otherwise
/// keeping the group's order; tables in a cycle keep the group's order.
fn parents_first(n: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        // The first table (in group order) whose parents are all placed;
        // in a cycle, the first table not placed yet.
        let ready = (0..n).find(|&i| !placed[i] && edges.iter().all(|&(c, p)| c != i || placed[p] || p == i));
        let next = ready.unwrap_or_else(|| (0..n).find(|&i| !placed[i]).unwrap_or(0));
        placed[next] = true;
        order.push(next);
    }
    order
}

/// Refuse a member table that cannot hold the hub's rows, saying what differs.
fn check_compatible(
    hub: &TableSchema,
    member: &TableInfo,
    engine: EngineKind,
    context: &str,
) -> Result<(), EngineError> {
    for c in &hub.columns {
        match member.schema.columns.iter().find(|m| m.name == c.name) {
            None => {
                return Err(EngineError::Schema(format!(
                    "{context}: the member's table has no column {:?}; add it (type {}) on the member, \
                     or leave it out of the sync schema",
                    c.name, c.kind
                )));
            }
            Some(m) if m.kind != c.kind => {
                return Err(EngineError::Schema(format!(
                    "{context}: column {:?} is {} on the member but {} on the hub; give both the same type",
                    c.name, m.kind, c.kind
                )));
            }
            Some(m)
                if hub.primary_key.iter().any(|&k| hub.columns[k].name == c.name)
                    && m.folding.is_some()
                    && m.folding != c.folding =>
            {
                let collation = m.folding.as_deref().unwrap_or_default();
                let fix = match engine {
                    EngineKind::Mysql => format!(
                        "give it a binary no-pad collation (MariaDB: ALTER TABLE {0} MODIFY {1:?} … COLLATE \
                         utf8mb4_nopad_bin; MySQL 8: utf8mb4_0900_bin)",
                        member.schema.name, c.name
                    ),
                    EngineKind::Sqlite => {
                        "declare it without COLLATE NOCASE or RTRIM (SQLite cannot change a column's collation: \
                         recreate the table)"
                            .to_owned()
                    }
                    EngineKind::Mssql => format!(
                        "give it a binary collation (ALTER TABLE {0} ALTER COLUMN [{1}] … COLLATE \
                         Latin1_General_100_BIN2 NOT NULL, after dropping the primary key)",
                        member.schema.name, c.name
                    ),
                    EngineKind::Postgres => {
                        "give it a deterministic collation and a type that compares case (text, not citext)".to_owned()
                    }
                };
                return Err(EngineError::Schema(format!(
                    "{context}: key column {:?} uses collation {collation} on the member, which treats keys the hub \
                     keeps apart as one ('abc' and 'ABC', 'e' and 'é', 'a' and 'a '), so distinct hub rows would \
                     merge into one; {fix}, or drop the table and let hubsync create it",
                    c.name
                )));
            }
            Some(_) => {}
        }
    }
    let hub_key: Vec<&str> = hub.primary_key.iter().map(|&i| hub.columns[i].name.as_str()).collect();
    let member_key: Vec<&str> =
        member.schema.primary_key.iter().map(|&i| member.schema.columns[i].name.as_str()).collect();
    if hub_key != member_key {
        return Err(EngineError::Schema(format!(
            "{context}: the member's primary key is ({}) but the hub's is ({}); make them the same",
            member_key.join(", "),
            hub_key.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parents_first;

    #[test]
    fn parents_come_first_and_cycles_keep_the_group_order() {
        // 0 → 2 → 1 (child → parent): 1, 2, 0.
        assert_eq!(parents_first(3, &[(0, 2), (2, 1)]), [1, 2, 0]);
        // No keys: the group's order.
        assert_eq!(parents_first(3, &[]), [0, 1, 2]);
        // A cycle between 0 and 1, with 2 a child of 0.
        assert_eq!(parents_first(3, &[(0, 1), (1, 0), (2, 0)]), [0, 1, 2]);
    }
}
