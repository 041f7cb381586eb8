//! One table's sync session between the hub and one member: replay an
//! interrupted batch's decisions, download hub changes, upload member
//! changes.
//!
//! Each pass reads the source's changes after its anchor in bounded
//! batches, looks up the same keys on the destination, and sorts every
//! change into: already there (nothing to write), a plain write, or a
//! conflict (the destination changed the key too since its own anchor) for
//! the policy. A batch's anchor is committed to the metadata only after its
//! writes are committed, so an interrupted batch is read again and its
//! writes, being upserts and deletes of final row states, repeat harmlessly.
//!
//! The one write that cannot simply be repeated is a *merged* row, which
//! goes to both sides: once one side holds it (marked as hubsync's), a
//! re-run would no longer see a conflict and the other side's change would
//! win. So merged rows go to the decision journal first, and the next run
//! finishes them before anything else.
//!
//! One bad row never stops the others: a change whose row cannot be read
//! or converted, or that the destination rejects (a constraint, a value too
//! long), is *quarantined*: set aside with its key, column, value and the
//! database's message, while the rest of its batch is written. A rejected
//! batch is split in halves until the rejected rows are found, so good rows
//! still land in set-based writes. A quarantined change syncs again when its
//! row changes (or on `hubsync quarantine --retry`), and leaves the
//! quarantine when it goes through.
//!
//! Origins: hubsync marks what it writes to the hub for member `m` of group
//! `g` as `g/m`, and what it writes to a member as `g/hub`. Downloads skip
//! hub changes marked `g/m` (they came from this member), uploads skip
//! member changes marked `g/hub`; so a change reaches every other member
//! exactly once and never returns to where it came from.

use std::collections::{HashMap, HashSet};

use hubsync_connectors::meta::{BatchCommit, ConflictRecord, Parked, QuarantineRecord, Scope, Side};
use hubsync_core::cases::{row_from_json, row_to_json};
use hubsync_core::{
    Anchor, ApplyOp, BadRow, CapturedChange, Change, ChangeBatch, Conflict, ConflictBatch, Connector, KeyState,
    Resolution, Row, SyncDirection, TableSchema, key_id, same_row,
};
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};

use crate::error::Context;
use crate::group::{Engine, Group, Member, SyncControl, SyncTable, now_micros};
use crate::view::View;
use crate::{EngineError, TableReport};

/// The most changes counted per table and side for progress: counting
/// stops there (ten million index entries, about a second on PostgreSQL),
/// so a progress total is at most this per table and side.
pub(crate) const PENDING_CAP: u64 = 10_000_000;

/// A merged row on its way to both sides, with what each side held when
/// the decision was taken.
#[derive(Debug, Serialize, Deserialize)]
struct JournalEntry {
    /// The merged row (JSON object by column).
    merged: serde_json::Value,
    /// The hub's row at decision time ([`image`]).
    hub_image: String,
    /// The member's row at decision time ([`image`]).
    member_image: String,
}

/// A row state as a string that compares exactly.
fn image(row: Option<&Row>) -> String {
    format!("{:?}", row.map(|r| r.iter().map(|v| v.canonical()).collect::<Vec<_>>()))
}

/// The table sync of one member.
pub(crate) struct Pair<'a> {
    engine: &'a Engine,
    hub: &'a dyn Connector,
    member: &'a Member,
    table: &'a SyncTable,
    /// What the member sees of the table.
    view: &'a View,
    scope: Scope,
    /// Cancel and progress, shared with whoever started the sync.
    control: &'a SyncControl,
    batch_rows: usize,
    /// What hubsync writes on the hub for this member.
    hub_mark: String,
    /// What hubsync writes on the member.
    member_mark: String,
}

/// What was looked up on the destination for a batch read ahead, while
/// the batch before it was written.
#[derive(Default)]
struct LookedUp {
    /// The states found, by key id.
    states: HashMap<String, KeyState>,
    /// Every key id looked up (found or not): the rest wait for the write.
    keys: HashSet<String>,
}

/// What one batch decided to write.
#[derive(Default)]
struct Plan {
    /// Conflicts settled, by decision (`take-hub`, `merged`, …).
    decisions: std::collections::BTreeMap<&'static str, u64>,
    to_dest: Vec<ApplyOp>,
    to_source: Vec<ApplyOp>,
    journal: Vec<JournalEntry>,
    commit: BatchCommit,
    conflicts: u64,
    skipped: u64,
    /// The writes to the destination are an initial sync's into a table
    /// that started empty: written by the destination's bulk path.
    bulk: bool,
}

/// Whether a failure is the rows' fault (so it is narrowed down to them
/// and they are quarantined) rather than the database's or a plugin's.
fn row_level(e: &EngineError) -> bool {
    match e {
        EngineError::Database { cause, .. } => cause.is_row_level(),
        // A schema map refusing a value (an inexact cast) answers with an error.
        EngineError::Plugin { cause: hubsync_plugin_host::PluginError::Failed { .. }, .. } => true,
        _ => false,
    }
}

/// Failed policy calls tolerated per batch while looking for the conflicts
/// a policy fails on: enough to isolate a few bad conflicts in a batch of
/// any size, few enough that a policy failing on everything (or timing
/// out) fails the batch quickly.
const RESOLVE_FAILURES: u32 = 24;

/// The last line of an error: its cause without the context hubsync added.
fn cause_of(e: &EngineError) -> (String, Option<String>) {
    match e {
        EngineError::Database { cause: hubsync_core::ConnectorError::Rejected { cause, column, .. }, .. } => {
            (cause.clone(), column.clone())
        }
        EngineError::Database { cause: hubsync_core::ConnectorError::BadValue { column, reason, .. }, .. } => {
            (reason.clone(), Some(column.clone()))
        }
        EngineError::Plugin { cause, .. } => (cause.to_string(), None),
        other => (other.to_string(), None),
    }
}

impl<'a> Pair<'a> {
    pub(crate) fn new(
        engine: &'a Engine,
        group: &'a Group,
        member: &'a Member,
        table: &'a SyncTable,
        view: &'a View,
        scope: Scope,
        control: &'a SyncControl,
    ) -> Pair<'a> {
        Pair {
            engine,
            hub: group.hub.as_ref(),
            member,
            table,
            view,
            hub_mark: member.mark.clone(),
            member_mark: group.hub_mark.clone(),
            scope,
            control,
            batch_rows: group.config.batch_rows,
        }
    }

    fn db(&self, side: Side) -> &'a dyn Connector {
        match side {
            Side::Hub => self.hub,
            Side::Member => self.member.db.as_ref(),
        }
    }

    /// The table as hubsync reads and writes it on `side` for this member.
    fn schema(&self, side: Side) -> &'a TableSchema {
        match side {
            Side::Hub => &self.view.hub_view,
            Side::Member => &self.view.member_schema,
        }
    }

    /// Changes of `side` after `since`, in hub-view terms (hub rows the
    /// member's row filter rejects left out), and the batch's anchor.
    /// Changes that cannot be read or converted are returned as quarantine
    /// records instead.
    async fn read(&self, side: Side, since: &Anchor) -> Result<(ChangeBatch, Vec<QuarantineRecord>), EngineError> {
        let full = match side {
            Side::Hub => &self.view.hub_schema,
            Side::Member => &self.view.member_schema,
        };
        let mut batch = self
            .db(side)
            .read_changes_skipping(full, since, self.batch_rows, Some(self.mark(side)))
            .await
            .ctx(|| self.where_(side))?;
        let mut bad = Vec::new();
        for b in std::mem::take(&mut batch.unreadable) {
            // Member keys in the hub's terms where the map allows.
            let key = match (&b.key, side) {
                (Some(k), Side::Member) => {
                    self.view.keys_to_hub(std::slice::from_ref(k)).await.ok().and_then(|mut v| v.pop())
                }
                (k, _) => k.clone(),
            };
            bad.push(self.quarantine_record(side, key.as_ref(), format!("reading it on {}", self.side_name(side)), b));
        }
        let changes = std::mem::take(&mut batch.changes);
        // Only plugin calls (row filter, schema map) can fail here; keep a
        // copy to narrow a failure down only when the view has any.
        let copy = (!self.view.is_identity()).then(|| changes.clone());
        batch.changes = match self.convert(side, changes).await {
            Ok(c) => c,
            Err(e) if row_level(&e) => {
                let Some(changes) = copy else { return Err(e) };
                // Convert one by one to find the changes at fault.
                let mut kept = Vec::with_capacity(changes.len());
                for c in changes {
                    match self.convert(side, vec![c.clone()]).await {
                        Ok(mut one) => kept.append(&mut one),
                        Err(e) if row_level(&e) => {
                            let (error, column) = cause_of(&e);
                            let stage = format!("converting it from {}", self.side_name(side));
                            bad.push(self.quarantine_record(
                                side,
                                Some(&c.key),
                                stage,
                                BadRow { key: Some(c.key.clone()), column, value: None, error },
                            ));
                        }
                        Err(e) => return Err(e),
                    }
                }
                kept
            }
            Err(e) => return Err(e),
        };
        Ok((batch, bad))
    }

    /// Changes read on `side` into hub-view terms.
    async fn convert(&self, side: Side, changes: Vec<CapturedChange>) -> Result<Vec<CapturedChange>, EngineError> {
        match side {
            Side::Hub => self.view.hub_changes(changes).await,
            Side::Member => self.view.member_changes(changes).await,
        }
    }

    /// Write hub-view `ops` on `side`.
    async fn apply(&self, side: Side, ops: &[ApplyOp]) -> Result<(), EngineError> {
        self.write_ops(side, ops, false).await
    }

    /// Write hub-view `ops` on `side`, by its bulk path ([`Connector::load`])
    /// when `bulk`.
    ///
    /// [`Connector::load`]: hubsync_core::Connector::load
    async fn write_ops(&self, side: Side, ops: &[ApplyOp], bulk: bool) -> Result<(), EngineError> {
        let converted;
        let ops = match side {
            Side::Member if !self.view.is_identity() => {
                converted = self.view.ops_to_member(ops).await?;
                &converted[..]
            }
            _ => ops,
        };
        let (db, schema, mark) = (self.db(side), self.schema(side), self.mark(side));
        match bulk {
            true => db.load(schema, ops, mark).await.ctx(|| self.where_(side)),
            false => db.apply(schema, ops, mark).await.ctx(|| self.where_(side)),
        }
    }

    /// Write hub-view `ops` on `side`; when the database rejects the data,
    /// split the ops in halves until the rejected ones are found, so the
    /// others are written (in as few set-based writes as the split allows).
    /// Returns the rejected ops' indexes with the database's message.
    /// The first attempt goes by the bulk path when `bulk`; the halves of a
    /// split go row by row as usual.
    async fn apply_isolating(
        &self,
        side: Side,
        ops: &[ApplyOp],
        bulk: bool,
    ) -> Result<Vec<(usize, EngineError)>, EngineError> {
        match self.write_ops(side, ops, bulk).await {
            Ok(()) => Ok(Vec::new()),
            Err(e) if row_level(&e) && ops.len() == 1 => Ok(vec![(0, e)]),
            Err(e) if row_level(&e) => {
                let mid = ops.len() / 2;
                let mut bad = Box::pin(self.apply_isolating(side, &ops[..mid], false)).await?;
                let rest = Box::pin(self.apply_isolating(side, &ops[mid..], false)).await?;
                bad.extend(rest.into_iter().map(|(i, e)| (i + mid, e)));
                Ok(bad)
            }
            Err(e) => Err(e),
        }
    }

    /// The origin hubsync writes on `side` for this pair.
    fn mark(&self, side: Side) -> &str {
        match side {
            Side::Hub => &self.hub_mark,
            Side::Member => &self.member_mark,
        }
    }

    /// How messages name a side: `the hub` or `member NAME`.
    fn side_name(&self, side: Side) -> String {
        match side {
            Side::Hub => "the hub".into(),
            Side::Member => format!("member {}", self.member.config.name),
        }
    }

    /// A quarantine record for the change of `key` (hub-view terms) read from `source`.
    fn quarantine_record(&self, source: Side, key: Option<&Row>, stage: String, bad: BadRow) -> QuarantineRecord {
        let schema = &self.view.hub_view;
        let key_cols: Vec<hubsync_core::Column> =
            schema.primary_key.iter().map(|&i| schema.columns[i].clone()).collect();
        let key = key.or(bad.key.as_ref());
        info!(group = %self.scope.group, member = %self.scope.member, table = %self.scope.table,
              key = ?key, column = ?bad.column, error = %bad.error, "change quarantined: {stage}");
        QuarantineRecord {
            side: source,
            key_id: key.map(|k| key_id(k)).unwrap_or_else(|| format!("unreadable: {}", bad.error)),
            key: key.filter(|k| k.len() == key_cols.len()).map(|k| row_to_json(&key_cols, k).to_string()),
            stage,
            column: bad.column,
            value: bad.value,
            error: bad.error,
            at_micros: now_micros(),
        }
    }

    fn where_(&self, side: Side) -> String {
        match side {
            Side::Hub => format!("table {} on the hub", self.table.name),
            Side::Member => format!("table {} on member {}", self.table.name, self.member.config.name),
        }
    }

    /// This pair's key in the progress budgets.
    fn budget_key(&self, side: Side) -> crate::group::Budget {
        (self.scope.member.clone(), self.scope.table.clone(), side == Side::Hub)
    }

    /// Replay, download, upload.
    pub(crate) async fn run(&self, report: &mut TableReport) -> Result<(), EngineError> {
        self.replay(report).await?;
        let direction = self.member.config.direction;
        if direction.downloads() {
            self.pass(Side::Hub, report).await?;
        }
        if direction.uploads() {
            self.pass(Side::Member, report).await?;
        }
        Ok(())
    }

    /// Finish the merged rows of a batch that was interrupted.
    async fn replay(&self, report: &mut TableReport) -> Result<(), EngineError> {
        let Some(text) = self.engine.meta.journal(&self.scope).await.ctx(|| self.where_(Side::Hub))? else {
            return Ok(());
        };
        let entries: Vec<JournalEntry> = serde_json::from_str(&text)
            .map_err(|e| EngineError::Metadata(format!("journal of {:?}: {e}", self.scope)))?;
        let schema = &self.view.hub_view;
        let mut merged = Vec::with_capacity(entries.len());
        for e in &entries {
            merged.push(
                row_from_json(schema, &e.merged)
                    .map_err(|m| EngineError::Metadata(format!("journal of {:?}: {m}", self.scope)))?,
            );
        }
        let keys: Vec<Row> =
            merged.iter().map(|r| schema.primary_key.iter().map(|&i| r[i].clone()).collect()).collect();
        info!(group = %self.scope.group, member = %self.scope.member, table = %self.scope.table, rows = entries.len(),
              "finishing merged rows of an interrupted sync");
        for side in [Side::Hub, Side::Member] {
            let anchor = self.engine.meta.anchor(&self.scope, side).await.ctx(|| self.where_(side))?;
            let states = self.lookup(side, &anchor, &keys).await?;
            let mut ops = Vec::new();
            for ((e, row), key) in entries.iter().zip(&merged).zip(&keys) {
                let st = states.get(&key_id(key));
                let current = st.and_then(|s| s.row.as_ref());
                let held = match side {
                    Side::Hub => &e.hub_image,
                    Side::Member => &e.member_image,
                };
                // Write only where the side still holds what the decision saw:
                // a later change there is newer than the merge and stays.
                let foreign_change =
                    st.and_then(|s| s.change.as_ref()).is_some_and(|c| c.origin.as_deref() != Some(self.mark(side)));
                if !same_row(current.map(|r| r.as_slice()), Some(row)) && foreign_change && image(current) == *held {
                    ops.push(ApplyOp::Upsert(row.clone()));
                }
            }
            if !ops.is_empty() {
                self.apply(side, &ops).await?;
                match side {
                    Side::Hub => report.rows_up += ops.len() as u64,
                    Side::Member => report.rows_down += ops.len() as u64,
                }
            }
        }
        let done = BatchCommit { clear_journal: true, ..Default::default() };
        self.engine.meta.commit(&self.scope, &done).await.ctx(|| "recording sync progress".into())
    }

    /// Rows and change marks of hub-view `keys` on `side`, by hub key.
    async fn lookup(&self, side: Side, since: &Anchor, keys: &[Row]) -> Result<HashMap<String, KeyState>, EngineError> {
        let found = match side {
            Side::Hub => self.db(side).lookup(self.schema(side), since, keys).await.ctx(|| self.where_(side))?,
            Side::Member => {
                let keys = self.view.keys_to_member(keys).await?;
                let found = self.db(side).lookup(self.schema(side), since, &keys).await.ctx(|| self.where_(side))?;
                self.view.member_states(found).await?
            }
        };
        Ok(found.into_iter().map(|s| (key_id(&s.key), s)).collect())
    }

    /// Carry `source`'s changes to the other side, batch by batch.
    async fn pass(&self, source: Side, report: &mut TableReport) -> Result<(), EngineError> {
        let dest = match source {
            Side::Hub => Side::Member,
            Side::Member => Side::Hub,
        };
        let meta = &self.engine.meta;
        let held = meta.quarantined(&self.scope, source).await.ctx(|| self.where_(source))?;
        self.retry(source, &held).await?;
        let mut quarantined: HashSet<String> = held.into_iter().map(|(id, _, _)| id).collect();
        let parked: HashMap<String, String> = meta
            .parked(&self.scope, source)
            .await
            .ctx(|| self.where_(source))?
            .into_iter()
            .map(|p| (p.key_id, p.image))
            .collect();
        let dest_anchor = meta.anchor(&self.scope, dest).await.ctx(|| self.where_(dest))?;
        // Only this loop moves the source anchor (each batch commits it), so
        // it is read once and carried along.
        let mut since = meta.anchor(&self.scope, source).await.ctx(|| self.where_(source))?;
        // A member joining empty takes every hub row without lookups.
        let bulk = source == Side::Hub
            && dest_anchor == Anchor::start()
            && since == Anchor::start()
            && self
                .db(dest)
                .is_empty(&hubsync_core::TableRef::of(self.schema(dest)))
                .await
                .ctx(|| self.where_(dest))?;
        if bulk {
            debug!(table = %self.table.name, member = %self.member.config.name, "initial sync into an empty table");
        }
        // Where a write changes only the rows of its keys, the next batch's
        // keys are looked up while this batch is written (those the two
        // batches share wait for the write, so they are compared with what
        // it wrote).
        let early = !bulk && self.db(dest).writes_only_their_keys(self.schema(dest)).await.ctx(|| self.where_(dest))?;
        // The batch read ahead while the previous one was written, and
        // what was looked up for it then.
        let mut ahead: Option<(ChangeBatch, Vec<QuarantineRecord>, LookedUp)> = None;
        loop {
            let clock = std::time::Instant::now();
            let (batch, unreadable, looked_up) = match ahead.take() {
                Some(read) => read,
                None => {
                    let (batch, unreadable) = self.read(source, &since).await?;
                    (batch, unreadable, LookedUp::default())
                }
            };
            let read_ms = clock.elapsed().as_millis();
            let mut plan = Plan {
                commit: BatchCommit {
                    anchor: Some((source, batch.next.clone())),
                    quarantine: unreadable,
                    ..Default::default()
                },
                ..Default::default()
            };
            let mut work: Vec<&CapturedChange> = Vec::with_capacity(batch.changes.len());
            for c in &batch.changes {
                if c.origin.as_deref() == Some(self.mark(source)) {
                    continue; // hubsync wrote it there from the other side
                }
                let id = key_id(&c.key);
                if let Some(held) = parked.get(&id) {
                    plan.commit.unpark.push((source, id));
                    if *held == image(c.row.as_ref()) {
                        continue; // a skipped conflict: leave it where it is
                    }
                }
                work.push(c);
            }
            // The next batch is read while this one is looked up, planned and
            // written: two batches in flight at most, each bounded by
            // `batch_bytes`. Its lookup waits for this write, so a key changed
            // again in between is compared with what this batch wrote, and
            // anchors still move only as batches commit.
            let settle = async {
                let states = if bulk || work.is_empty() {
                    HashMap::new()
                } else {
                    let LookedUp { mut states, keys: done } = looked_up;
                    let keys: Vec<Row> =
                        work.iter().filter(|c| !done.contains(&key_id(&c.key))).map(|c| c.key.clone()).collect();
                    if !keys.is_empty() {
                        states.extend(self.lookup(dest, &dest_anchor, &keys).await?);
                    }
                    states
                };
                // A destination answering a key with a row stored under another
                // key compares keys loosely (case, accents, trailing spaces):
                // writing would merge two source rows into one. Quarantined.
                let pk = &self.view.hub_view.primary_key;
                let mut folded: HashMap<String, Row> = HashMap::new();
                for (id, s) in &states {
                    if let Some(r) = &s.row {
                        let stored: Row = pk.iter().map(|&i| r[i].clone()).collect();
                        if key_id(&stored) != *id {
                            folded.insert(id.clone(), stored);
                        }
                    }
                }
                if !folded.is_empty() {
                    let mut kept = Vec::with_capacity(work.len());
                    for c in work {
                        match folded.get(&key_id(&c.key)) {
                            Some(stored) => {
                                let error = format!(
                                    "{} holds this row under the key {stored:?}, which it treats as equal to {:?}: its key \
                                     compares case, accents or trailing spaces loosely, so two distinct keys would become \
                                     one row; give the key column an exact (binary, no-pad) collation",
                                    self.side_name(dest),
                                    c.key
                                );
                                let stage = format!("writing it to {}", self.side_name(dest));
                                let bad = BadRow { key: Some(c.key.clone()), column: None, value: None, error };
                                plan.commit.quarantine.push(self.quarantine_record(source, Some(&c.key), stage, bad));
                            }
                            None => kept.push(c),
                        }
                    }
                    work = kept;
                }
                let looked_up_ms = clock.elapsed().as_millis();
                self.plan(source, &work, &states, bulk, &mut plan).await?;
                plan.bulk = bulk;
                let planned_ms = clock.elapsed().as_millis();
                let writes = plan.to_dest.len() + plan.to_source.len();
                let keys: Vec<String> = work.iter().map(|c| key_id(&c.key)).collect();
                self.write(source, plan, &keys, &mut quarantined, report).await?;
                debug!(
                    table = %self.table.name, member = %self.member.config.name, ?source, changes = batch.changes.len(),
                    work = work.len(), writes, read_ms, looked_up_ms, planned_ms, total_ms = clock.elapsed().as_millis(),
                    "batch"
                );
                Ok::<(), EngineError>(())
            };
            let writing: HashSet<String> = if early && batch.more {
                batch.changes.iter().map(|c| key_id(&c.key)).collect()
            } else {
                HashSet::new()
            };
            let read_ahead = async {
                if !batch.more || self.control.cancelled() {
                    return None;
                }
                Some(
                    async {
                        let (next, unreadable) = self.read(source, &batch.next).await?;
                        let looked_up = if early {
                            self.look_up_ahead(source, &dest_anchor, &next, &writing).await?
                        } else {
                            LookedUp::default()
                        };
                        Ok((next, unreadable, looked_up))
                    }
                    .await,
                )
            };
            let (settled, read) = tokio::join!(settle, read_ahead);
            settled?;
            ahead = read.transpose()?;
            since = batch.next.clone();
            self.control.progress_of(&self.budget_key(source), batch.changes.len() as u64);
            if !batch.more {
                report.pending |= batch.pending;
                return Ok(());
            }
            // Between batches: everything read so far is committed, so
            // stopping here loses nothing (the next sync goes on from here).
            if self.control.cancelled() {
                return Err(EngineError::Cancelled);
            }
        }
    }

    /// Look up on the destination the keys of `next` (a batch read ahead)
    /// that the batch being written does not hold (`writing`); echoes need
    /// no lookup.
    async fn look_up_ahead(
        &self,
        source: Side,
        dest_anchor: &Anchor,
        next: &ChangeBatch,
        writing: &HashSet<String>,
    ) -> Result<LookedUp, EngineError> {
        let dest = if source == Side::Hub { Side::Member } else { Side::Hub };
        let keys: Vec<Row> = next
            .changes
            .iter()
            .filter(|c| c.origin.as_deref() != Some(self.mark(source)))
            .map(|c| &c.key)
            .filter(|k| !writing.contains(&key_id(k)))
            .cloned()
            .collect();
        if keys.is_empty() {
            return Ok(LookedUp::default());
        }
        let states = self.lookup(dest, dest_anchor, &keys).await?;
        Ok(LookedUp { states, keys: keys.iter().map(|k| key_id(k)).collect() })
    }

    /// Announce again, on `source`, the quarantined changes a retry was
    /// asked for, so this pass reads them like any change.
    async fn retry(&self, source: Side, held: &[(String, Option<String>, bool)]) -> Result<(), EngineError> {
        if !held.iter().any(|(_, _, retry)| *retry) {
            return Ok(());
        }
        let hub_view = &self.view.hub_view;
        let mut key_schema = hub_view.clone();
        key_schema.columns = hub_view.primary_key.iter().map(|&i| hub_view.columns[i].clone()).collect();
        key_schema.primary_key = (0..key_schema.columns.len()).collect();
        let keys: Vec<Row> = held
            .iter()
            .filter(|(_, _, retry)| *retry)
            .filter_map(|(_, key, _)| key.as_deref())
            .filter_map(|k| serde_json::from_str::<serde_json::Value>(k).ok())
            .filter_map(|k| row_from_json(&key_schema, &k).ok())
            .collect();
        if !keys.is_empty() {
            let (keys, full) = match source {
                Side::Hub => (keys, &self.view.hub_schema),
                Side::Member => (self.view.keys_to_member(&keys).await?, &self.view.member_schema),
            };
            info!(group = %self.scope.group, member = %self.scope.member, table = %self.scope.table, rows = keys.len(),
                  "retrying quarantined changes");
            self.db(source).reannounce(full, &keys).await.ctx(|| self.where_(source))?;
        }
        self.engine.meta.retried(&self.scope, source).await.ctx(|| "recording retries".into())
    }

    /// Sort a batch's changes into writes and conflicts, and settle the conflicts.
    async fn plan(
        &self,
        source: Side,
        work: &[&CapturedChange],
        states: &HashMap<String, KeyState>,
        bulk: bool,
        plan: &mut Plan,
    ) -> Result<(), EngineError> {
        let dest = if source == Side::Hub { Side::Member } else { Side::Hub };
        let schema = &self.view.hub_view;
        let two_way = self.member.config.direction == SyncDirection::Bidirectional;
        let mut conflicts: Vec<(Conflict, Option<Row>)> = Vec::new();
        for c in work {
            let st = states.get(&key_id(&c.key));
            if let Some(bad) = st.and_then(|s| s.unreadable.as_ref()) {
                let theirs =
                    st.and_then(|s| s.change.as_ref()).filter(|m| m.origin.as_deref() != Some(self.mark(dest)));
                // The destination changed the key too, but its row cannot be
                // read: the conflict cannot be settled. (Otherwise the change
                // simply overwrites the unreadable row.)
                if theirs.is_some() && two_way {
                    let stage = format!("settling a conflict with the row on {}", self.side_name(dest));
                    let error = format!("the row on {} cannot be read: {}", self.side_name(dest), bad.error);
                    let bad = BadRow { key: None, column: bad.column.clone(), value: bad.value.clone(), error };
                    plan.commit.quarantine.push(self.quarantine_record(source, Some(&c.key), stage, bad));
                    continue;
                }
            }
            let there = st.and_then(|s| s.row.as_ref());
            if same_row(there.map(|r| r.as_slice()), c.row.as_deref()) {
                continue; // already there
            }
            let dest_change =
                st.and_then(|s| s.change.as_ref()).filter(|m| m.origin.as_deref() != Some(self.mark(dest)));
            match dest_change {
                Some(mark) if two_way => {
                    let theirs = Change {
                        row: there.cloned(),
                        changed_at_micros: mark.changed_at_micros,
                        origin: self.origin_name(dest, mark.origin.as_deref()),
                    };
                    let ours = Change {
                        row: c.row.clone(),
                        changed_at_micros: c.changed_at_micros,
                        origin: self.origin_name(source, c.origin.as_deref()),
                    };
                    let (hub, member) = if source == Side::Hub { (ours, theirs) } else { (theirs, ours) };
                    conflicts.push((Conflict { key: c.key.clone(), hub, member }, there.cloned()));
                }
                // Nothing to delete in a table that started empty.
                _ if bulk && c.row.is_none() => {}
                _ => plan.to_dest.push(op(c.key.clone(), c.row.clone())),
            }
        }
        if conflicts.is_empty() {
            return Ok(());
        }
        let policy = &self.table.policy;
        let all: Vec<Conflict> = conflicts.iter().map(|(c, _)| c.clone()).collect();
        let mut failures_left = RESOLVE_FAILURES;
        let decisions = self.resolve_isolating(&all, &mut failures_left).await?;
        let info = policy.info();
        let now = now_micros();
        let key_cols: Vec<hubsync_core::Column> =
            schema.primary_key.iter().map(|&i| schema.columns[i].clone()).collect();
        for ((conflict, dest_row), decision) in conflicts.into_iter().zip(decisions) {
            // The policy could not decide this one conflict: it waits in
            // the quarantine (its row as it is on both sides) while the
            // others are settled.
            let decision = match decision {
                Ok(Resolution::Merged(row)) if schema.primary_key.iter().map(|&i| &row[i]).ne(conflict.key.iter()) => {
                    Err(format!(
                        "plugin {}: a merged row changes the conflict's key; a merge must keep the key",
                        info.name
                    ))
                }
                other => other,
            };
            let decision = match decision {
                Ok(d) => d,
                Err(error) => {
                    let stage = "settling a conflict (the policy failed on it)".to_owned();
                    let bad = BadRow { key: None, column: None, value: None, error };
                    plan.commit.quarantine.push(self.quarantine_record(source, Some(&conflict.key), stage, bad));
                    continue;
                }
            };
            let source_row = if source == Side::Hub { &conflict.hub.row } else { &conflict.member.row };
            let take_source = matches!(
                (source, &decision),
                (Side::Hub, Resolution::TakeHub) | (Side::Member, Resolution::TakeMember)
            );
            let (name, reason) = match &decision {
                Resolution::TakeHub => ("take-hub", None),
                Resolution::TakeMember => ("take-member", None),
                Resolution::Merged(r) => ("merged", Some(row_to_json(&schema.columns, r).to_string())),
                Resolution::Skip(why) => ("skip", Some(why.clone())),
            };
            match decision {
                _ if take_source => plan.to_dest.push(op(conflict.key.clone(), source_row.clone())),
                // The destination's change travels in its own pass (this
                // session's upload, or the next session's download).
                Resolution::TakeHub | Resolution::TakeMember => {}
                Resolution::Merged(row) => {
                    plan.journal.push(JournalEntry {
                        merged: row_to_json(&schema.columns, &row),
                        hub_image: image(conflict.hub.row.as_ref()),
                        member_image: image(conflict.member.row.as_ref()),
                    });
                    plan.to_dest.push(ApplyOp::Upsert(row.clone()));
                    plan.to_source.push(ApplyOp::Upsert(row));
                }
                Resolution::Skip(_) => {
                    plan.skipped += 1;
                    plan.commit.park.push(Parked {
                        side: dest,
                        key_id: key_id(&conflict.key),
                        image: image(dest_row.as_ref()),
                    });
                }
            }
            plan.conflicts += 1;
            *plan.decisions.entry(name).or_default() += 1;
            let json = |r: &Option<Row>| r.as_ref().map(|r| row_to_json(&schema.columns, r).to_string());
            plan.commit.conflicts.push(ConflictRecord {
                at_micros: now,
                key: row_to_json(&key_cols, &conflict.key).to_string(),
                hub_row: json(&conflict.hub.row),
                member_row: json(&conflict.member.row),
                decision: name.into(),
                reason,
                plugin: format!("{} {}", info.name, info.version),
                plugin_sha256: info.sha256.clone(),
                hub_changed_micros: Some(conflict.hub.changed_at_micros),
                member_changed_micros: Some(conflict.member.changed_at_micros),
            });
        }
        Ok(())
    }

    /// The policy's decisions on `conflicts`, in order. A call that fails is
    /// split in halves until the conflicts it fails on are found: each of
    /// those answers its error, the others are decided. More than
    /// `failures_left` failed calls (a policy failing on everything) fail
    /// the batch instead.
    async fn resolve_isolating(
        &self,
        conflicts: &[Conflict],
        failures_left: &mut u32,
    ) -> Result<Vec<Result<Resolution, String>>, EngineError> {
        let batch = ConflictBatch {
            table: self.view.hub_view.clone(),
            member: self.member.config.name.clone(),
            conflicts: conflicts.to_vec(),
        };
        match self.table.policy.resolve(&batch).await {
            Ok(decisions) => Ok(decisions.into_iter().map(Ok).collect()),
            Err(cause) if *failures_left == 0 => Err(EngineError::Plugin {
                context: format!(
                    "table {}, member {}: settling {} conflicts (the policy failed on more than {RESOLVE_FAILURES} \
                     calls of this batch)",
                    self.table.name,
                    self.member.config.name,
                    conflicts.len()
                ),
                cause,
            }),
            Err(cause) => {
                *failures_left -= 1;
                if conflicts.len() == 1 {
                    warn!(group = %self.scope.group, member = %self.scope.member, table = %self.scope.table,
                          error = %cause, "the conflict policy failed on one conflict; it is quarantined");
                    return Ok(vec![Err(cause.to_string())]);
                }
                let mid = conflicts.len() / 2;
                let mut out = Box::pin(self.resolve_isolating(&conflicts[..mid], failures_left)).await?;
                out.extend(Box::pin(self.resolve_isolating(&conflicts[mid..], failures_left)).await?);
                Ok(out)
            }
        }
    }

    /// Journal, write both sides (quarantining rejected rows), then commit
    /// the anchor, history and quarantine. `keys` are the batch's changes
    /// worked on; those quarantined before and not again leave the quarantine.
    async fn write(
        &self,
        source: Side,
        plan: Plan,
        keys: &[String],
        quarantined: &mut HashSet<String>,
        report: &mut TableReport,
    ) -> Result<(), EngineError> {
        let dest = if source == Side::Hub { Side::Member } else { Side::Hub };
        let meta = &self.engine.meta;
        let mut commit = plan.commit;
        if !plan.journal.is_empty() {
            let text = serde_json::to_string(&plan.journal).unwrap_or_default();
            meta.put_journal(&self.scope, &text).await.ctx(|| "writing the decision journal".into())?;
            commit.clear_journal = true;
        }
        // Rows rejected on the destination and on the source.
        let mut rejected = [0usize; 2];
        for (n, (side, ops)) in [(dest, &plan.to_dest), (source, &plan.to_source)].into_iter().enumerate() {
            if ops.is_empty() {
                continue;
            }
            let bulk = plan.bulk && side == dest;
            for (i, e) in self.apply_isolating(side, ops, bulk).await? {
                rejected[n] += 1;
                let key = op_key(&self.view.hub_view, &ops[i]);
                let (error, column) = cause_of(&e);
                if matches!(
                    &e,
                    EngineError::Database {
                        cause: hubsync_core::ConnectorError::Rejected { foreign_key: true, .. },
                        ..
                    }
                ) {
                    report.deferred += 1;
                }
                let value = match (&ops[i], &column) {
                    (ApplyOp::Upsert(row), Some(c)) => {
                        self.view.hub_view.index_of(c).map(|j| row[j].to_text().unwrap_or_else(|| "NULL".into()))
                    }
                    _ => None,
                };
                let stage = format!("writing it to {}", self.side_name(side));
                let bad = BadRow { key: None, column, value, error };
                commit.quarantine.push(self.quarantine_record(source, Some(&key), stage, bad));
            }
        }
        let now_held: HashSet<&str> = commit.quarantine.iter().map(|q| q.key_id.as_str()).collect();
        for k in keys {
            if !now_held.contains(k.as_str()) && quarantined.remove(k) {
                commit.release.push((source, k.clone()));
            }
        }
        quarantined.extend(commit.quarantine.iter().map(|q| q.key_id.clone()));
        report.quarantined += commit.quarantine.len() as u64;
        meta.commit(&self.scope, &commit).await.ctx(|| "recording sync progress".into())?;
        let (to_dest, to_source) = (plan.to_dest.len() - rejected[0], plan.to_source.len() - rejected[1]);
        let (down, up) = match source {
            Side::Hub => (to_dest, to_source),
            Side::Member => (to_source, to_dest),
        };
        report.rows_down += down as u64;
        report.rows_up += up as u64;
        report.conflicts += plan.conflicts;
        for (d, n) in &plan.decisions {
            *report.decisions.entry(d).or_default() += n;
        }
        report.skipped += plan.skipped;
        Ok(())
    }

    /// How a plugin is told where a change was first made: `hub`, a member's
    /// name, or the raw origin for changes from other groups.
    fn origin_name(&self, side: Side, origin: Option<&str>) -> String {
        match (side, origin) {
            (Side::Hub, None) => "hub".into(),
            (Side::Member, None) => self.member.config.name.clone(),
            (_, Some(o)) => crate::identity::marked_name(&self.scope.group, o).unwrap_or(o).to_owned(),
        }
    }
}

/// The key an op writes, in `table`'s key order.
fn op_key(table: &TableSchema, op: &ApplyOp) -> Row {
    match op {
        ApplyOp::Upsert(row) => table.primary_key.iter().map(|&i| row[i].clone()).collect(),
        ApplyOp::Delete(key) => key.clone(),
    }
}

/// The write that brings a key to `row` (`None`: deleted).
fn op(key: Row, row: Option<Row>) -> ApplyOp {
    match row {
        Some(r) => ApplyOp::Upsert(r),
        None => ApplyOp::Delete(key),
    }
}
