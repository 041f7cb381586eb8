//! Replaying recorded conflicts through another conflict policy: "what
//! would this policy have decided?", without touching any database.

use std::collections::{BTreeMap, HashMap};

use hubsync_core::cases::{row_from_json, row_to_json};
use hubsync_core::{Change, Conflict, ConflictBatch, PluginRole, PolicyConfig, Resolution, Row, TableSchema};

use crate::error::Context;
use crate::{Engine, EngineError, Group};

/// One recorded conflict and what the other policy decides for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayedConflict {
    /// The member.
    pub member: String,
    /// The table (hub name).
    pub table: String,
    /// When it was settled, µs since the Unix epoch.
    pub at_micros: i64,
    /// The key (JSON).
    pub key: String,
    /// The recorded decision (`take-hub`, `take-member`, `merged`, `skip`).
    pub recorded: String,
    /// The recorded merged row or skip reason.
    pub recorded_detail: Option<String>,
    /// The plugin that decided then.
    pub recorded_plugin: String,
    /// The replayed decision.
    pub replayed: String,
    /// The replayed merged row or skip reason.
    pub replayed_detail: Option<String>,
}

impl ReplayedConflict {
    /// Whether the replay decided otherwise (a different decision, or a
    /// different merged row).
    pub fn differs(&self) -> bool {
        self.recorded != self.replayed || (self.recorded == "merged" && self.recorded_detail != self.replayed_detail)
    }
}

fn named(schema: &TableSchema, r: &Resolution) -> (String, Option<String>) {
    match r {
        Resolution::TakeHub => ("take-hub".into(), None),
        Resolution::TakeMember => ("take-member".into(), None),
        Resolution::Merged(row) => ("merged".into(), Some(row_to_json(&schema.columns, row).to_string())),
        Resolution::Skip(why) => ("skip".into(), Some(why.clone())),
    }
}

impl Engine {
    /// Run the latest `limit` recorded conflicts of `group` through
    /// `policy` and return each with both decisions. Conflicts of tables
    /// the group no longer syncs, or whose recorded rows no longer fit the
    /// table, are left out.
    pub async fn replay_conflicts(
        &self,
        group: &Group,
        policy: &PolicyConfig,
        limit: i64,
    ) -> Result<Vec<ReplayedConflict>, EngineError> {
        let g = &group.config.name;
        let plugin = self
            .load_plugin(
                &mut HashMap::new(),
                policy,
                PluginRole::ConflictPolicy,
                &format!("group {g}: loading the replay policy"),
            )
            .await?;
        let records = self.meta.conflicts(g, limit).await.ctx(|| "reading conflict history".into())?;
        // Batched per member and table, as the engine settles them.
        let mut batches: BTreeMap<(String, String), Vec<(Conflict, &hubsync_connectors::meta::ConflictRecord)>> =
            BTreeMap::new();
        let mut schemas: HashMap<(String, String), TableSchema> = HashMap::new();
        for (scope, rec) in &records {
            let Some(i) = group.tables.iter().position(|t| t.name == scope.table) else { continue };
            let schema = group
                .members
                .iter()
                .find(|m| m.config.name == scope.member)
                .map(|m| m.views[i].hub_view.clone())
                .unwrap_or_else(|| group.tables[i].hub_schema.clone());
            let mut key_schema = schema.clone();
            key_schema.columns = schema.primary_key.iter().map(|&k| schema.columns[k].clone()).collect();
            key_schema.primary_key = (0..key_schema.columns.len()).collect();
            let parse = |s: &TableSchema, text: &str| -> Option<Row> {
                serde_json::from_str(text).ok().and_then(|j| row_from_json(s, &j).ok())
            };
            let Some(key) = parse(&key_schema, &rec.key) else { continue };
            let side = |row: &Option<String>| -> Option<Option<Row>> {
                match row {
                    None => Some(None),
                    Some(text) => parse(&schema, text).map(Some),
                }
            };
            let (Some(hub_row), Some(member_row)) = (side(&rec.hub_row), side(&rec.member_row)) else { continue };
            let conflict = Conflict {
                key,
                hub: Change {
                    row: hub_row,
                    changed_at_micros: rec.hub_changed_micros.unwrap_or(rec.at_micros),
                    origin: "hub".into(),
                },
                member: Change {
                    row: member_row,
                    changed_at_micros: rec.member_changed_micros.unwrap_or(rec.at_micros),
                    origin: scope.member.clone(),
                },
            };
            let k = (scope.member.clone(), scope.table.clone());
            schemas.entry(k.clone()).or_insert(schema);
            batches.entry(k).or_default().push((conflict, rec));
        }
        let mut out = Vec::new();
        for ((member, table), items) in batches {
            let schema = &schemas[&(member.clone(), table.clone())];
            let batch = ConflictBatch {
                table: schema.clone(),
                member: member.clone(),
                conflicts: items.iter().map(|(c, _)| c.clone()).collect(),
            };
            let decisions = plugin.resolve(&batch).await.map_err(|cause| EngineError::Plugin {
                context: format!("group {g}, table {table}, member {member}: replaying {} conflicts", items.len()),
                cause,
            })?;
            for ((_, rec), d) in items.iter().zip(decisions) {
                let (replayed, replayed_detail) = named(schema, &d);
                out.push(ReplayedConflict {
                    member: member.clone(),
                    table: table.clone(),
                    at_micros: rec.at_micros,
                    key: rec.key.clone(),
                    recorded: rec.decision.clone(),
                    recorded_detail: rec.reason.clone(),
                    recorded_plugin: rec.plugin.clone(),
                    replayed,
                    replayed_detail,
                });
            }
        }
        out.sort_by_key(|c| std::cmp::Reverse(c.at_micros));
        Ok(out)
    }
}
