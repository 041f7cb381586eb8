//! What one member sees of one hub table: the columns its column filter
//! keeps, the rows its row filter lets through, and the names and types
//! its schema map gives them. Sessions compare and settle conflicts in the
//! hub's terms (the *hub view*) and convert at the member's boundary.

use std::sync::Arc;

use hubsync_core::{ApplyOp, CapturedChange, Direction, KeyState, Row, TableSchema, Value};
use hubsync_plugin_host::Plugin;

use crate::EngineError;

/// One member's view of one hub table.
pub(crate) struct View {
    /// Member name, for plugin calls and messages.
    member: String,
    /// The full hub table (as selected in the sync schema).
    pub(crate) hub_schema: TableSchema,
    /// Indexes of `hub_schema` columns the member receives (ascending, keys included).
    keep: Vec<usize>,
    /// The hub table restricted to `keep`: the terms of comparisons and conflicts.
    pub(crate) hub_view: TableSchema,
    /// The table as the member has it.
    pub(crate) member_schema: TableSchema,
    /// The member's column filter (its row filter applies to downloads).
    filter: Option<Arc<Plugin>>,
    /// The member's schema map.
    map: Option<Arc<Plugin>>,
}

impl View {
    /// The member's filter and map plugins for this table.
    pub(crate) fn plugins(&self) -> impl Iterator<Item = Arc<Plugin>> + '_ {
        self.filter.iter().chain(self.map.iter()).cloned()
    }
}

fn plugin_err(member: &str, table: &str, what: &str) -> impl FnOnce(hubsync_plugin_host::PluginError) -> EngineError {
    let context = format!("member {member}, table {table}: {what}");
    move |cause| EngineError::Plugin { context, cause }
}

impl View {
    /// Work out the view through the member's plugins. `engine_namespace`
    /// says whether the member's engine has SQL schemas (PostgreSQL).
    pub(crate) async fn new(
        member: &str,
        hub_schema: &TableSchema,
        filter: Option<Arc<Plugin>>,
        map: Option<Arc<Plugin>>,
        engine_namespace: bool,
    ) -> Result<View, EngineError> {
        let name = hub_schema.name.clone();
        let mut keep: Vec<usize> = match &filter {
            Some(f) => {
                f.filter_columns(hub_schema, member).await.map_err(plugin_err(member, &name, "choosing columns"))?
            }
            None => (0..hub_schema.columns.len()).collect(),
        };
        // Keys always travel, whatever the filter says.
        keep.extend(hub_schema.primary_key.iter().copied());
        keep.sort_unstable();
        keep.dedup();
        let mut hub_view = hub_schema.clone();
        hub_view.columns = keep.iter().map(|&i| hub_schema.columns[i].clone()).collect();
        hub_view.primary_key = hub_schema.primary_key.iter().filter_map(|k| keep.iter().position(|i| i == k)).collect();
        let mut member_schema = match &map {
            Some(m) => {
                m.map_schema(&hub_view, member).await.map_err(plugin_err(member, &name, "mapping the schema"))?
            }
            None => hub_view.clone(),
        };
        if !engine_namespace && map.is_none() {
            member_schema.namespace = None;
        }
        // A declared type is the hub engine's spelling: the member's table
        // takes its types from the kind and the facets. Only a type the
        // schema map chose names the member's own type.
        for (i, c) in member_schema.columns.iter_mut().enumerate() {
            let Some(h) = hub_view.columns.get(i) else { continue };
            if c.declared_type == h.declared_type {
                c.declared_type = None;
            }
            if c.kind == h.kind && c.facets.is_empty() {
                c.facets = h.facets;
            }
            c.folding = None;
        }
        if member_schema.primary_key.len() != hub_view.primary_key.len() {
            return Err(EngineError::Schema(format!(
                "member {member}, table {name}: the schema map changes the number of key columns; keys must map one to one"
            )));
        }
        Ok(View {
            member: member.to_owned(),
            hub_schema: hub_schema.clone(),
            keep,
            hub_view,
            member_schema,
            filter,
            map,
        })
    }

    /// Whether the member gets every column and row unchanged.
    pub(crate) fn is_identity(&self) -> bool {
        self.filter.is_none() && self.map.is_none() && self.keep.len() == self.hub_schema.columns.len()
    }

    /// A full hub row restricted to the member's columns.
    pub(crate) fn project(&self, row: &[Value]) -> Row {
        self.keep.iter().map(|&i| row[i].clone()).collect()
    }

    /// Hub changes (full rows) → changes in hub-view terms for the member.
    /// A row the member's row filter rejects becomes a delete: a row that
    /// leaves the member's scope leaves the member.
    pub(crate) async fn hub_changes(&self, changes: Vec<CapturedChange>) -> Result<Vec<CapturedChange>, EngineError> {
        let pass: Vec<bool> = if self.filter.is_some() {
            let rows: Vec<Row> = changes.iter().filter_map(|c| c.row.clone()).collect();
            let mut verdicts = self.passes(&rows).await?.into_iter();
            // Deletes always pass: a key the member never had is a no-op.
            changes.iter().map(|c| c.row.is_none() || verdicts.next().unwrap_or(false)).collect()
        } else {
            vec![true; changes.len()]
        };
        // Every column kept: rows as they are, not copies.
        let all = self.keep.len() == self.hub_schema.columns.len();
        Ok(changes
            .into_iter()
            .zip(pass)
            .map(|(mut c, passes)| {
                c.row = if !passes {
                    None
                } else if all {
                    c.row
                } else {
                    c.row.map(|r| self.project(&r))
                };
                c
            })
            .collect())
    }

    async fn map_rows(&self, direction: Direction, rows: &[Row]) -> Result<Vec<Row>, EngineError> {
        let (Some(map), false) = (&self.map, rows.is_empty()) else { return Ok(rows.to_vec()) };
        map.map_rows(&self.hub_view, &self.member, direction, rows).await.map_err(plugin_err(
            &self.member,
            &self.hub_schema.name,
            "mapping rows",
        ))
    }

    /// Keys travel through the map inside rows padded with NULLs.
    async fn map_keys(&self, direction: Direction, keys: &[Row]) -> Result<Vec<Row>, EngineError> {
        if self.map.is_none() || keys.is_empty() {
            return Ok(keys.to_vec());
        }
        let (from, to) = match direction {
            Direction::ToMember => (&self.hub_view, &self.member_schema),
            Direction::ToHub => (&self.member_schema, &self.hub_view),
        };
        let padded: Vec<Row> = keys
            .iter()
            .map(|k| {
                let mut row = vec![Value::Null; from.columns.len()];
                for (v, &i) in k.iter().zip(&from.primary_key) {
                    row[i] = v.clone();
                }
                row
            })
            .collect();
        let mapped = self.map_rows(direction, &padded).await?;
        Ok(mapped.iter().map(|r| to.primary_key.iter().map(|&i| r[i].clone()).collect()).collect())
    }

    /// Member rows → hub-view rows.
    pub(crate) async fn rows_to_hub(&self, rows: &[Row]) -> Result<Vec<Row>, EngineError> {
        self.map_rows(Direction::ToHub, rows).await
    }

    /// Hub-view keys → member keys.
    pub(crate) async fn keys_to_member(&self, keys: &[Row]) -> Result<Vec<Row>, EngineError> {
        self.map_keys(Direction::ToMember, keys).await
    }

    /// Member keys → hub-view keys.
    pub(crate) async fn keys_to_hub(&self, keys: &[Row]) -> Result<Vec<Row>, EngineError> {
        self.map_keys(Direction::ToHub, keys).await
    }

    /// Member changes → hub-view changes.
    pub(crate) async fn member_changes(
        &self,
        mut changes: Vec<CapturedChange>,
    ) -> Result<Vec<CapturedChange>, EngineError> {
        if self.map.is_none() {
            return Ok(changes);
        }
        let keys: Vec<Row> = changes.iter().map(|c| c.key.clone()).collect();
        let keys = self.map_keys(Direction::ToHub, &keys).await?;
        let rows: Vec<Row> = changes.iter().filter_map(|c| c.row.clone()).collect();
        let mut rows = self.rows_to_hub(&rows).await?.into_iter();
        for (c, k) in changes.iter_mut().zip(keys) {
            c.key = k;
            if c.row.is_some() {
                c.row = rows.next();
            }
        }
        Ok(changes)
    }

    /// Member key states → hub-view key states.
    pub(crate) async fn member_states(&self, mut states: Vec<KeyState>) -> Result<Vec<KeyState>, EngineError> {
        if self.map.is_none() {
            return Ok(states);
        }
        let keys: Vec<Row> = states.iter().map(|s| s.key.clone()).collect();
        let keys = self.map_keys(Direction::ToHub, &keys).await?;
        let rows: Vec<Row> = states.iter().filter_map(|s| s.row.clone()).collect();
        let mut rows = self.rows_to_hub(&rows).await?.into_iter();
        for (s, k) in states.iter_mut().zip(keys) {
            s.key = k;
            if s.row.is_some() {
                s.row = rows.next();
            }
        }
        Ok(states)
    }

    /// Hub-view writes → member writes.
    pub(crate) async fn ops_to_member(&self, ops: &[ApplyOp]) -> Result<Vec<ApplyOp>, EngineError> {
        if self.map.is_none() {
            return Ok(ops.to_vec());
        }
        let rows: Vec<Row> =
            ops.iter().filter_map(|o| if let ApplyOp::Upsert(r) = o { Some(r.clone()) } else { None }).collect();
        let keys: Vec<Row> =
            ops.iter().filter_map(|o| if let ApplyOp::Delete(k) = o { Some(k.clone()) } else { None }).collect();
        let mut rows = self.map_rows(Direction::ToMember, &rows).await?.into_iter();
        let mut keys = self.map_keys(Direction::ToMember, &keys).await?.into_iter();
        Ok(ops
            .iter()
            .filter_map(|o| match o {
                ApplyOp::Upsert(_) => rows.next().map(ApplyOp::Upsert),
                ApplyOp::Delete(_) => keys.next().map(ApplyOp::Delete),
            })
            .collect())
    }

    /// Whether a full hub row reaches the member (its row filter).
    pub(crate) async fn passes(&self, rows: &[Row]) -> Result<Vec<bool>, EngineError> {
        match &self.filter {
            Some(f) => f.filter_rows(&self.hub_schema, &self.member, rows).await.map_err(plugin_err(
                &self.member,
                &self.hub_schema.name,
                "filtering rows",
            )),
            None => Ok(vec![true; rows.len()]),
        }
    }
}
