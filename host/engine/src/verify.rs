//! `hubsync verify`: prove that members hold what the hub holds. Each table
//! is walked in key-ordered pages on the hub (what the member should hold)
//! and on the member (what it should not hold), each page compared row by
//! row with the other side's rows for the same keys, read without locks
//! (as pt-table-checksum walks tables in chunks). Keys changed since the
//! last sync on either side are *pending*, not differences. `--repair`
//! sends the hub's state of each differing key the normal way: the hub
//! re-announces its rows, so the next sync carries them (policy, history);
//! a row the member holds and the hub never had is deleted on the member
//! as a hub write would delete it.

use std::collections::{BTreeMap, HashMap, HashSet};

use hubsync_connectors::meta::{Scope, Side};
use hubsync_core::cases::row_to_json;
use hubsync_core::{ApplyOp, Connector, KeyState, Row, Value, key_id};

use crate::error::Context;
use crate::group::{Group, Member, SyncTable};
use crate::{Engine, EngineError};

/// Rows per page of a walk, at most.
const PAGE_ROWS: usize = 1000;

/// The rows of the next page, from the bytes of the last one: pages start
/// small and grow to `budget` bytes.
fn next_page(rows: usize, bytes: usize, budget: usize) -> usize {
    if rows == 0 {
        return 4;
    }
    (budget / (bytes / rows).max(1)).clamp(1, PAGE_ROWS)
}

/// Whether a key changed after the reader's anchor by someone other than
/// hubsync for this pair (`ours`): on its way, so not compared.
fn pending(s: &KeyState, ours: &str) -> bool {
    s.change.as_ref().is_some_and(|c| c.origin.as_deref() != Some(ours))
}

/// Bytes of a page of states, roughly.
fn page_bytes(page: &[KeyState]) -> usize {
    page.iter().map(|s| s.row.as_ref().map_or(64, |r| r.iter().map(Value::memory_bytes).sum::<usize>() + 24)).sum()
}

/// What to verify and whether to repair.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Only this member.
    pub member: Option<String>,
    /// Only this table (the hub's name, `namespace.name` or `name`).
    pub table: Option<String>,
    /// At most this many differences listed per table (all are counted).
    pub show: usize,
    /// Re-announce the hub's state of every differing key.
    pub repair: bool,
}

/// One key whose rows differ, as JSON objects of column → value (the
/// format of `hubsync plugin test` cases).
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// The key, in the hub's terms.
    pub key: serde_json::Value,
    /// The hub's row (what the member should hold), `None` if the hub has none.
    pub hub: Option<serde_json::Value>,
    /// The member's row, in the hub's terms; `None` if the member has none.
    pub member: Option<serde_json::Value>,
}

/// A difference found in a walk, in the hub's terms.
struct Difference {
    key: Row,
    hub: Option<Row>,
    member: Option<Row>,
}

/// The verdict on one table of one member.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableVerdict {
    /// The member.
    pub member: String,
    /// The table, as the hub names it.
    pub table: String,
    /// Hub rows the member should hold (after its filters).
    pub hub_rows: u64,
    /// Rows the member holds.
    pub member_rows: u64,
    /// Hub rows the member lacks.
    pub missing: u64,
    /// Member rows the hub does not have.
    pub extra: u64,
    /// Keys both hold with different values.
    pub differ: u64,
    /// Keys changed since the last sync (on either side): not compared.
    pub pending: u64,
    /// Unreadable rows (quarantine material): not compared.
    pub unreadable: u64,
    /// The first differences.
    pub shown: Vec<Shown>,
    /// Keys re-announced or deleted by `--repair`.
    pub repaired: u64,
    /// Why the table could not be verified, if it could not.
    pub error: Option<String>,
}

impl TableVerdict {
    /// Whether the member holds exactly what it should.
    pub fn converged(&self) -> bool {
        self.error.is_none() && self.missing + self.extra + self.differ == 0
    }
}

/// Values equal as sync sees them ([`Value::same`]: JSON as documents).
fn same(a: &[Value], b: &[Value]) -> bool {
    hubsync_core::same_row(Some(a), Some(b))
}

impl Engine {
    /// Compare every (or the chosen) member's tables with the hub.
    pub async fn verify(&self, group: &Group, options: &VerifyOptions) -> Result<Vec<TableVerdict>, EngineError> {
        if let Some(m) = &options.member
            && !group.config.members.iter().any(|c| &c.name == m)
        {
            return Err(EngineError::NotFound(format!("group {} has no member {m:?}", group.config.name)));
        }
        if let Some(t) = &options.table
            && !group.tables.iter().any(|s| &s.name == t)
        {
            return Err(EngineError::NotFound(format!(
                "group {} does not sync a table {t:?}; it syncs {}",
                group.config.name,
                group.tables.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        let mut out = Vec::new();
        for (name, reason) in group.unprepared() {
            if options.member.as_deref().is_none_or(|m| m == name) {
                for t in group.tables.iter().filter(|t| options.table.as_ref().is_none_or(|n| n == &t.name)) {
                    out.push(TableVerdict {
                        member: name.to_owned(),
                        table: t.name.clone(),
                        error: Some(reason.to_owned()),
                        ..Default::default()
                    });
                }
            }
        }
        for m in group.members.iter().filter(|m| options.member.as_ref().is_none_or(|n| n == &m.config.name)) {
            for (i, t) in group.tables.iter().enumerate() {
                if options.table.as_ref().is_some_and(|n| n != &t.name) {
                    continue;
                }
                let mut v = TableVerdict { member: m.config.name.clone(), table: t.name.clone(), ..Default::default() };
                if let Err(e) = self.verify_table(group, m, i, t, options, &mut v).await {
                    v.error = Some(e.to_string());
                }
                out.push(v);
            }
        }
        Ok(out)
    }

    async fn verify_table(
        &self,
        group: &Group,
        m: &Member,
        i: usize,
        t: &SyncTable,
        options: &VerifyOptions,
        v: &mut TableVerdict,
    ) -> Result<(), EngineError> {
        let view = &m.views[i];
        let g = &group.config.name;
        let scope = Scope { group: g.clone(), member: m.config.name.clone(), table: t.name.clone() };
        let hub_anchor = self.meta.anchor(&scope, Side::Hub).await.ctx(|| "reading anchors".into())?;
        let member_anchor = self.meta.anchor(&scope, Side::Member).await.ctx(|| "reading anchors".into())?;
        let hub_mark = m.mark.clone();
        let member_mark = group.hub_mark.clone();
        let downloads = m.config.direction.downloads();
        // A page, the other side's rows for its keys and the drivers' copies
        // of both: a sixteenth of the group's batch_bytes each.
        let budget = (group.config.batch_bytes / 16).max(1 << 16);
        let hub_db = group.hub.as_ref();
        let member_db = m.db.as_ref();
        let view_key = |r: &Row| -> Row { view.hub_view.primary_key.iter().map(|&k| r[k].clone()).collect() };
        let mut differences: Vec<Difference> = Vec::new();
        let mut reannounce: Vec<Row> = Vec::new();
        let mut delete_on_member: Vec<Row> = Vec::new();
        let mut upload_again: Vec<Row> = Vec::new();

        // Pass 1: the hub's rows the member should hold.
        let mut after: Option<Row> = None;
        let mut size = next_page(0, 0, budget);
        loop {
            let page = hub_db
                .scan(&t.hub_schema, after.as_ref(), size)
                .await
                .ctx(|| format!("reading {} on the hub", t.name))?;
            let full = page.len() == size;
            size = next_page(page.len(), page_bytes(&page), budget);
            after = page.iter().rev().find(|s| s.unreadable.is_none()).map(|s| s.key.clone()).or(after);
            v.unreadable += page.iter().filter(|s| s.unreadable.is_some()).count() as u64;
            let rows: Vec<Row> = page.into_iter().filter_map(|s| s.row).collect();
            let passes = view.passes(&rows).await?;
            let expected: Vec<Row> =
                rows.iter().zip(passes).filter(|(_, p)| *p).map(|(r, _)| view.project(r)).collect();
            if downloads && !expected.is_empty() {
                v.hub_rows += expected.len() as u64;
                let keys: Vec<Row> = expected.iter().map(view_key).collect();
                let member_keys = view.keys_to_member(&keys).await?;
                let states = member_db
                    .lookup(&view.member_schema, &member_anchor, &member_keys)
                    .await
                    .ctx(|| format!("reading {} on member {}", t.name, m.config.name))?;
                let states = view.member_states(states).await?;
                let found: HashMap<String, KeyState> = states.into_iter().map(|s| (key_id(&s.key), s)).collect();
                let mut odd = Vec::new();
                for row in &expected {
                    let key = view_key(row);
                    let st = found.get(&key_id(&key));
                    if st.is_some_and(|s| s.unreadable.is_some()) {
                        v.unreadable += 1;
                        continue;
                    }
                    if st.is_some_and(|s| pending(s, &member_mark)) {
                        v.pending += 1;
                        continue;
                    }
                    let member_row = st.and_then(|s| s.row.clone());
                    if member_row.as_deref().is_none_or(|mr| !same(mr, row)) {
                        odd.push(Difference { key, hub: Some(row.clone()), member: member_row });
                    }
                }
                self.settle(hub_db, t, &hub_anchor, &hub_mark, odd, v, &mut differences, &mut reannounce).await?;
            }
            if !full {
                break;
            }
        }

        // Pass 2: the member's rows the hub does not have (or, for a member
        // that only uploads, has otherwise).
        let mut after: Option<Row> = None;
        let mut size = next_page(0, 0, budget);
        loop {
            let page = member_db
                .scan(&view.member_schema, after.as_ref(), size)
                .await
                .ctx(|| format!("reading {} on member {}", t.name, m.config.name))?;
            let full = page.len() == size;
            size = next_page(page.len(), page_bytes(&page), budget);
            after = page.iter().rev().find(|s| s.unreadable.is_none()).map(|s| s.key.clone()).or(after);
            v.member_rows += page.len() as u64;
            let page = view.member_states(page.into_iter().filter(|s| s.unreadable.is_none()).collect()).await?;
            let keys: Vec<Row> = page.iter().map(|s| s.key.clone()).collect();
            // The hub's full key is the view's key (keys always travel).
            let hub_states = hub_db
                .lookup(&t.hub_schema, &hub_anchor, &keys)
                .await
                .ctx(|| format!("reading {} on the hub", t.name))?;
            let on_hub: BTreeMap<String, KeyState> = hub_states.into_iter().map(|s| (key_id(&s.key), s)).collect();
            let mut odd = Vec::new();
            for s in page {
                let Some(row) = s.row else { continue };
                let h = on_hub.get(&key_id(&s.key));
                if h.is_some_and(|h| pending(h, &hub_mark) || h.unreadable.is_some()) {
                    continue;
                }
                match h.and_then(|h| h.row.as_ref()) {
                    Some(hub_row) if !downloads => {
                        if !same(&view.project(hub_row), &row) {
                            odd.push(Difference { key: s.key, hub: Some(view.project(hub_row)), member: Some(row) });
                        }
                    }
                    Some(_) => {} // compared in pass 1 (or outside the member's filter)
                    None => odd.push(Difference { key: s.key, hub: None, member: Some(row) }),
                }
            }
            if !odd.is_empty() {
                // Member changes not uploaded yet are pending, not extra.
                let keys = view.keys_to_member(&odd.iter().map(|d| d.key.clone()).collect::<Vec<_>>()).await?;
                let states = member_db
                    .lookup(&view.member_schema, &member_anchor, &keys)
                    .await
                    .ctx(|| format!("reading {} on member {}", t.name, m.config.name))?;
                let states = view.member_states(states).await?;
                let changed: HashSet<String> =
                    states.iter().filter(|s| pending(s, &member_mark)).map(|s| key_id(&s.key)).collect();
                for d in odd {
                    if changed.contains(&key_id(&d.key)) {
                        v.pending += 1;
                        continue;
                    }
                    if d.hub.is_none() {
                        v.extra += 1;
                    } else {
                        v.differ += 1;
                    }
                    if downloads {
                        delete_on_member.push(d.key.clone());
                    } else {
                        upload_again.push(d.key.clone());
                    }
                    differences.push(d);
                }
            }
            if !full {
                break;
            }
        }
        let cols = &view.hub_view.columns;
        let key_cols: Vec<hubsync_core::Column> = view.hub_view.primary_key.iter().map(|&k| cols[k].clone()).collect();
        v.shown = differences
            .into_iter()
            .take(options.show)
            .map(|d| Shown {
                key: row_to_json(&key_cols, &d.key),
                hub: d.hub.map(|r| row_to_json(cols, &r)),
                member: d.member.map(|r| row_to_json(cols, &r)),
            })
            .collect();
        if options.repair {
            if !reannounce.is_empty() {
                hub_db
                    .reannounce(&t.hub_schema, &reannounce)
                    .await
                    .ctx(|| format!("repairing {} on the hub", t.name))?;
            }
            if !upload_again.is_empty() {
                let keys = view.keys_to_member(&upload_again).await?;
                member_db
                    .reannounce(&view.member_schema, &keys)
                    .await
                    .ctx(|| format!("repairing {} on member {}", t.name, m.config.name))?;
            }
            if !delete_on_member.is_empty() {
                let ops: Vec<ApplyOp> = delete_on_member.iter().cloned().map(ApplyOp::Delete).collect();
                let ops = view.ops_to_member(&ops).await?;
                member_db
                    .apply(&view.member_schema, &ops, &member_mark)
                    .await
                    .ctx(|| format!("repairing {} on member {}", t.name, m.config.name))?;
            }
            v.repaired = (reannounce.len() + upload_again.len() + delete_on_member.len()) as u64;
        }
        Ok(())
    }

    /// Count pass-1 differences, leaving out keys the hub changed since the
    /// member last downloaded (pending), and collect them for repair.
    #[allow(clippy::too_many_arguments)]
    async fn settle(
        &self,
        hub_db: &dyn Connector,
        t: &SyncTable,
        hub_anchor: &hubsync_core::Anchor,
        hub_mark: &str,
        odd: Vec<Difference>,
        v: &mut TableVerdict,
        differences: &mut Vec<Difference>,
        reannounce: &mut Vec<Row>,
    ) -> Result<(), EngineError> {
        if odd.is_empty() {
            return Ok(());
        }
        let keys: Vec<Row> = odd.iter().map(|d| d.key.clone()).collect();
        let states =
            hub_db.lookup(&t.hub_schema, hub_anchor, &keys).await.ctx(|| format!("reading {} on the hub", t.name))?;
        let changed: HashSet<String> = states.iter().filter(|s| pending(s, hub_mark)).map(|s| key_id(&s.key)).collect();
        for d in odd {
            if changed.contains(&key_id(&d.key)) {
                v.pending += 1;
                continue;
            }
            if d.member.is_none() {
                v.missing += 1;
            } else {
                v.differ += 1;
            }
            reannounce.push(d.key.clone());
            differences.push(d);
        }
        Ok(())
    }
}
