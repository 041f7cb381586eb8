//! Sync group definitions: what a group file (TOML) and the admin API
//! (JSON) accept. One set of serde types, checked by [`SyncFile::validate`].

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// A group file: where the metadata lives and the sync groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SyncFile {
    /// The sync metadata database (groups, members, anchors, history):
    /// `sqlite://PATH`, relative paths being relative to the group file.
    /// Default: `sqlite://hubsync-meta.db` beside the group file.
    #[serde(default)]
    pub metadata: Option<String>,
    /// The sync groups (`[[group]]` tables in TOML).
    #[serde(default, rename = "group")]
    pub groups: Vec<GroupConfig>,
}

/// A sync group: a hub, its members, the tables they share and how
/// conflicts are settled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// The group's name: letters, digits, `_`, `-`, `.`; at most 64 characters.
    pub name: String,
    /// The hub database's URL (`sqlite://…`, `postgres://…`, `mysql://…`).
    /// `${VAR}` is replaced by the environment variable `VAR`, so passwords
    /// need not be written in the file.
    pub hub: String,
    /// The member databases (`[[group.member]]`).
    #[serde(default, rename = "member")]
    pub members: Vec<MemberConfig>,
    /// The sync schema: the tables and columns to sync (`[[group.table]]`).
    #[serde(default, rename = "table")]
    pub tables: Vec<TableConfig>,
    /// The group's conflict policy. Default: the built-in `hub-wins`.
    #[serde(default)]
    pub conflict_policy: PolicyConfig,
    /// Seconds between automatic syncs under `hubsync sync --watch`
    /// (at least 1); absent means automatic sync is off for this group.
    #[serde(default)]
    pub interval_seconds: Option<u64>,
    /// Sync a member within about a second of a change committed where it
    /// matters to it (the hub for members that download, the member for
    /// the hub), instead of waiting for `interval_seconds` (which still
    /// runs, as a safety net). PostgreSQL databases notify hubsync from
    /// their tracking triggers; the other engines are polled every
    /// `change_poll_milliseconds`; a member behind an agent is asked what
    /// waits after its anchors (at most once a second). Default: off.
    /// Under `hubsync serve` and `hubsync sync --watch`.
    #[serde(default)]
    pub follow_changes: bool,
    /// How often `follow_changes` asks a database without notifications
    /// (SQLite, MySQL/MariaDB, SQL Server) whether something changed: one
    /// cheap query per database (50 to 60,000; default 250).
    #[serde(default = "default_change_poll_milliseconds")]
    pub change_poll_milliseconds: u64,
    /// Changes read, settled and written per batch (1 to 1,000,000; default
    /// 10,000). Memory grows with this, not with table size.
    #[serde(default = "default_batch_rows")]
    pub batch_rows: usize,
    /// Bytes of row data read per batch at most (default 64 MiB; at least
    /// 1 MiB): with large rows a batch ends here before `batch_rows`. A
    /// batch always holds at least one row, so a row larger than this
    /// (up to what the databases accept) still travels alone. hubsync's
    /// memory follows this, not row or table size.
    #[serde(default = "default_batch_bytes")]
    pub batch_bytes: usize,
    /// Days a delete is remembered for members that have not synced yet
    /// (default 45, as in Data Sync). A member that has not synced for
    /// longer is out of date: it is not synced until `hubsync reinit`.
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
    /// Seconds to wait for a connection to the hub (and, unless a member
    /// sets its own, to each member) before failing with the cause
    /// (default 10).
    #[serde(default)]
    pub connect_timeout_seconds: Option<u64>,
    /// The longest one statement may run on the hub (and, unless a member
    /// sets its own, on each member), in seconds; absent keeps the server's
    /// limit. On SQLite it bounds the wait for another writer's lock.
    #[serde(default)]
    pub statement_timeout_seconds: Option<u64>,
}

fn default_retention_days() -> u32 {
    45
}

fn default_change_poll_milliseconds() -> u64 {
    250
}

fn default_batch_rows() -> usize {
    10_000
}

fn default_batch_bytes() -> usize {
    64 << 20
}

/// A member database of a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MemberConfig {
    /// The member's name in this group (same rules as group names; not `hub`).
    /// It names the member in history and status, whatever its database is called.
    pub name: String,
    /// The member database's URL (same forms as the hub's), or
    /// `agent://AGENT/DATABASE` for a database registered on a sync agent
    /// (reached through the agent's connection; served groups only).
    pub url: String,
    /// Which way changes flow. Default: `bidirectional`.
    #[serde(default)]
    pub direction: SyncDirection,
    /// A column-filter plugin deciding which columns of each table this
    /// member holds and which hub rows it receives (e.g. `builtin:column-filter`
    /// with a per-table configuration). Default: everything.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<PolicyConfig>))]
    pub column_filter: Option<PluginConfig>,
    /// A schema-map plugin giving this member's names and types for each
    /// table (e.g. `builtin:schema-map`). Default: the hub's.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<PolicyConfig>))]
    pub schema_map: Option<PluginConfig>,
    /// This member's connect timeout in seconds (default: the group's).
    #[serde(default)]
    pub connect_timeout_seconds: Option<u64>,
    /// This member's statement timeout in seconds (default: the group's).
    #[serde(default)]
    pub statement_timeout_seconds: Option<u64>,
}

/// Which way changes flow between the hub and a member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum SyncDirection {
    /// Both ways; conflicts go to the conflict policy.
    #[default]
    Bidirectional,
    /// Member changes go to the hub; hub changes never reach the member.
    ToHub,
    /// Hub changes go to the member; member changes never reach the hub.
    FromHub,
}

impl SyncDirection {
    /// Whether hub changes are applied to the member.
    pub fn downloads(self) -> bool {
        self != SyncDirection::ToHub
    }

    /// Whether member changes are applied to the hub.
    pub fn uploads(self) -> bool {
        self != SyncDirection::FromHub
    }
}

/// One table of the sync schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// The table's name on the hub.
    pub name: String,
    /// Its SQL schema on the hub (PostgreSQL); absent means the default one.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The columns to sync; empty (the default) means every column whose
    /// type hubsync supports. Must include every primary key column.
    #[serde(default)]
    pub columns: Vec<String>,
    /// A conflict policy for this table instead of the group's.
    #[serde(default)]
    pub conflict_policy: Option<PolicyConfig>,
}

/// A plugin and its configuration.
pub type PluginConfig = PolicyConfig;

/// A plugin (a conflict policy, column filter or schema map) and its configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// `builtin:NAME` (e.g. `hub-wins`, `member-wins`, `last-writer-wins`,
    /// `column-merge`, `column-filter`, `schema-map`), `stored:NAME` (a plugin
    /// uploaded to `hubsync serve`), or the path of a `.wasm` plugin
    /// (relative to the group file).
    pub plugin: String,
    /// The plugin's JSON configuration (in TOML: an inline table). Default: `{}`.
    #[serde(default = "empty_object")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: serde_json::Value,
    /// Limits of this plugin's own, where the runtime's defaults do not fit
    /// it (a Python or JavaScript plugin deciding large batches, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<PluginLimits>,
}

/// A plugin's own limits; each one left out keeps the runtime's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PluginLimits {
    /// Linear memory of one instance, in MiB (default 64; 1 to 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u32>,
    /// Fuel (roughly, wasm instructions) every call may use, whatever its
    /// size (default 100,000,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_per_call: Option<u64>,
    /// Extra fuel per conflict or row in a call (default 1,000,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_per_item: Option<u64>,
    /// Wall-clock deadline of one call, in milliseconds (default 1,000;
    /// 10 to 60,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
}

impl PluginLimits {
    /// What is wrong with these limits, one sentence each.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.memory_mib.is_some_and(|m| !(1..=1024).contains(&m)) {
            out.push("limits.memory_mib must be between 1 and 1024".to_owned());
        }
        if self.fuel_per_call == Some(0) || self.fuel_per_item == Some(0) {
            out.push("limits.fuel_per_call and fuel_per_item must be at least 1".to_owned());
        }
        if self.deadline_ms.is_some_and(|d| !(10..=60_000).contains(&d)) {
            out.push("limits.deadline_ms must be between 10 and 60000".to_owned());
        }
        out
    }
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig { plugin: "builtin:hub-wins".into(), config: empty_object(), limits: None }
    }
}

fn connect_options(connect: Option<u64>, statement: Option<u64>, batch_bytes: usize) -> crate::ConnectOptions {
    crate::ConnectOptions {
        connect_timeout: connect
            .map(std::time::Duration::from_secs)
            .unwrap_or(crate::ConnectOptions::DEFAULT_CONNECT_TIMEOUT),
        statement_timeout: statement.map(std::time::Duration::from_secs),
        // A read holds a batch while projections, lookups, plans, the
        // drivers' buffers and the allocator's slack hold several more
        // copies of its rows (measured: about 6; BENCHMARKS.md): an eighth
        // keeps the whole within `batch_bytes` plus a constant.
        read_bytes: (batch_bytes / 8).max(1),
    }
}

impl GroupConfig {
    /// How to connect to the hub.
    pub fn hub_connect_options(&self) -> crate::ConnectOptions {
        connect_options(self.connect_timeout_seconds, self.statement_timeout_seconds, self.batch_bytes)
    }

    /// How to connect to `member`: its own timeouts, else the group's.
    pub fn member_connect_options(&self, member: &MemberConfig) -> crate::ConnectOptions {
        connect_options(
            member.connect_timeout_seconds.or(self.connect_timeout_seconds),
            member.statement_timeout_seconds.or(self.statement_timeout_seconds),
            self.batch_bytes,
        )
    }
}

/// Whether `name` is a valid group or member name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// `name` as a valid group, member, agent or plugin name, or what a name
/// may hold (`what` says which name it is: "group name").
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(format!("{what} {name:?} is not valid: use 1 to 64 letters, digits, `_`, `-` or `.`"))
    }
}

impl SyncFile {
    /// Every problem of the definitions, one line each, saying what to fix.
    /// Empty when the file is usable.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut groups = HashSet::new();
        for g in &self.groups {
            out.extend(g.problems());
            if !groups.insert(g.name.as_str()) {
                out.push(format!("group {:?} is defined twice; give each group its own name", g.name));
            }
        }
        out
    }
}

impl GroupConfig {
    /// Every problem of this group, one line each.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let g = &self.name;
        if let Err(e) = check_name("group name", g) {
            out.push(e);
        }
        if self.members.is_empty() {
            out.push(format!("group {g:?} has no members; add at least one [[group.member]]"));
        }
        if self.tables.is_empty() {
            out.push(format!("group {g:?} syncs no tables; add at least one [[group.table]]"));
        }
        if self.interval_seconds == Some(0) {
            out.push(format!(
                "group {g:?}: interval_seconds must be at least 1 (leave it out to turn automatic sync off)"
            ));
        }
        if !(50..=60_000).contains(&self.change_poll_milliseconds) {
            out.push(format!(
                "group {g:?}: change_poll_milliseconds must be between 50 and 60000 (it is {}; default 250)",
                self.change_poll_milliseconds
            ));
        }
        if self.retention_days == 0 {
            out.push(format!("group {g:?}: retention_days must be at least 1"));
        }
        if !(1..=1_000_000).contains(&self.batch_rows) {
            out.push(format!("group {g:?}: batch_rows must be between 1 and 1000000"));
        }
        if self.batch_bytes < 1 << 20 {
            out.push(format!("group {g:?}: batch_bytes must be at least 1048576 (1 MiB)"));
        }
        let timeouts = [("", self.connect_timeout_seconds, self.statement_timeout_seconds)].into_iter().chain(
            self.members.iter().map(|m| (m.name.as_str(), m.connect_timeout_seconds, m.statement_timeout_seconds)),
        );
        for (member, connect, statement) in timeouts {
            let who =
                if member.is_empty() { format!("group {g:?}") } else { format!("group {g:?}, member {member:?}") };
            if connect == Some(0) || statement == Some(0) {
                out.push(format!(
                    "{who}: timeouts are at least 1 second (leave statement_timeout_seconds out for no limit)"
                ));
            }
        }
        let mut names = HashSet::new();
        let mut urls = HashSet::from([self.hub.as_str()]);
        if crate::connector::is_agent_url(&self.hub) {
            out.push(format!(
                "group {g:?}: the hub cannot be behind an agent (every member's sync goes through the hub); \
                 give the hub a URL the service reaches, and put members behind agents"
            ));
        }
        for m in &self.members {
            if crate::connector::is_agent_url(&m.url)
                && let Err(e) = crate::connector::parse_agent_url(&m.url)
            {
                out.push(format!("group {g:?}, member {:?}: {e}", m.name));
            }
            if !valid_name(&m.name) || m.name == "hub" {
                out.push(format!(
                    "group {g:?}: member name {:?} is not valid: use 1 to 64 letters, digits, `_`, `-` or `.`, and not `hub`",
                    m.name
                ));
            }
            if !names.insert(m.name.as_str()) {
                out.push(format!("group {g:?}: member {:?} is listed twice", m.name));
            }
            if !urls.insert(m.url.as_str()) {
                out.push(format!(
                    "group {g:?}: member {:?} uses a database already in the group (the hub or another member); \
                     each database can be in a group once",
                    m.name
                ));
            }
        }
        let policies = std::iter::once(("the conflict policy".to_owned(), Some(&self.conflict_policy)))
            .chain(
                self.tables
                    .iter()
                    .map(|t| (format!("table {:?}'s conflict policy", t.name), t.conflict_policy.as_ref())),
            )
            .chain(self.members.iter().flat_map(|m| {
                [
                    (format!("member {:?}'s column filter", m.name), m.column_filter.as_ref()),
                    (format!("member {:?}'s schema map", m.name), m.schema_map.as_ref()),
                ]
            }));
        for (what, policy) in policies {
            for p in policy.and_then(|p| p.limits).map(|l| l.problems()).unwrap_or_default() {
                out.push(format!("group {g:?}, {what}: {p}"));
            }
        }
        let mut tables = HashSet::new();
        for t in &self.tables {
            if t.name.is_empty() {
                out.push(format!("group {g:?}: a table has an empty name"));
            }
            if !tables.insert((t.namespace.as_deref(), t.name.as_str())) {
                out.push(format!("group {g:?}: table {:?} is listed twice", t.name));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugins_limits_are_read_and_checked() {
        let mut g = group();
        g.conflict_policy =
            serde_json::from_str(r#"{"plugin": "p.wasm", "limits": {"memory_mib": 128, "deadline_ms": 2000}}"#)
                .expect("limits parse");
        assert_eq!(
            g.conflict_policy.limits,
            Some(PluginLimits { memory_mib: Some(128), deadline_ms: Some(2000), ..PluginLimits::default() })
        );
        assert!(g.problems().is_empty(), "{:?}", g.problems());
        g.conflict_policy.limits = Some(PluginLimits { memory_mib: Some(4096), ..PluginLimits::default() });
        g.members[0].column_filter = Some(PolicyConfig {
            limits: Some(PluginLimits { deadline_ms: Some(1), fuel_per_item: Some(0), ..PluginLimits::default() }),
            ..PolicyConfig::default()
        });
        let problems = g.problems().join("\n");
        assert!(problems.contains("the conflict policy: limits.memory_mib must be between 1 and 1024"), "{problems}");
        assert!(problems.contains(r#"member "shop-1"'s column filter: limits.deadline_ms"#), "{problems}");
        assert!(problems.contains("fuel_per_item must be at least 1"), "{problems}");
        let unknown = serde_json::from_str::<PolicyConfig>(r#"{"plugin": "p.wasm", "limits": {"memory": 128}}"#);
        assert!(unknown.expect_err("unknown field").to_string().contains("memory_mib"));
    }

    fn group() -> GroupConfig {
        GroupConfig {
            name: "sales".into(),
            hub: "sqlite://hub.db".into(),
            members: vec![MemberConfig {
                name: "shop-1".into(),
                url: "sqlite://m1.db".into(),
                direction: SyncDirection::Bidirectional,
                column_filter: None,
                schema_map: None,
                connect_timeout_seconds: None,
                statement_timeout_seconds: None,
            }],
            tables: vec![TableConfig {
                name: "orders".into(),
                namespace: None,
                columns: vec![],
                conflict_policy: None,
            }],
            conflict_policy: PolicyConfig::default(),
            interval_seconds: Some(5),
            follow_changes: false,
            change_poll_milliseconds: 250,
            batch_rows: 10_000,
            batch_bytes: 64 << 20,
            retention_days: 45,
            connect_timeout_seconds: None,
            statement_timeout_seconds: None,
        }
    }

    #[test]
    fn a_good_group_has_no_problems_and_each_mistake_is_named() {
        assert!(SyncFile { metadata: None, groups: vec![group()] }.problems().is_empty());
        let mut g = group();
        g.name = "no spaces".into();
        g.members.push(g.members[0].clone());
        g.members.push(MemberConfig {
            name: "hub".into(),
            url: "sqlite://hub.db".into(),
            direction: SyncDirection::ToHub,
            column_filter: None,
            schema_map: None,
            connect_timeout_seconds: Some(0),
            statement_timeout_seconds: None,
        });
        g.interval_seconds = Some(0);
        g.change_poll_milliseconds = 10;
        g.tables.push(g.tables[0].clone());
        let p = GroupConfig::problems(&g).join("\n");
        for needle in [
            "not valid",
            "listed twice",
            "not `hub`",
            "already in the group",
            "at least 1",
            "\"orders\" is listed twice",
            "timeouts are at least 1 second",
            "change_poll_milliseconds must be between 50 and 60000 (it is 10",
        ] {
            assert!(p.contains(needle), "{needle:?} missing from:\n{p}");
        }
    }
}
