//! Taking a group over from Azure SQL Data Sync without a re-copy: after
//! Data Sync's last sync the hub and the members hold the same rows except
//! those changed since. For each table of each database, hubsync's capture
//! replaces Data Sync's triggers in one transaction (see
//! `hubsync_connectors::DataSyncDb::take_over`), every row is recorded (a
//! member added later still gets them all), and only the rows Data Sync
//! recorded as changed after its last sync are numbered after the anchor
//! each pair then starts from. So the first hubsync sync moves only those
//! rows, and a row both sides changed goes to the policy like any conflict.
//!
//! Which member a hub scope serves: Data Sync gives both ends of a
//! hub–member pair the same scope name. A hub row Data Sync applied from a
//! member carries that member's mark, so it is not sent back to it (and a
//! change the member made since is not taken for a conflict with itself).

use hubsync_connectors::meta::{BatchCommit, Scope, Side};
use hubsync_connectors::{Announce, DataSyncDb};
use hubsync_core::datasync::{DsScope, DsTakeover};
use hubsync_core::{Anchor, GroupConfig, TableRef};
use tracing::info;

use crate::error::Context;
use crate::group::in_default_namespace;
use crate::view::View;
use crate::{Engine, EngineError};

/// What a takeover did, per database.
#[derive(Debug, Clone, Default)]
pub struct TakeoverReport {
    /// `hub` or the member's name, with each table's outcome.
    pub databases: Vec<(String, Vec<DsTakeover>)>,
    /// What the user should know (scopes not matched, tables left to a full compare).
    pub notes: Vec<String>,
}

/// Scope names of a database, lowercase.
fn names(scopes: &[DsScope]) -> Vec<String> {
    scopes.iter().map(|s| s.name.to_lowercase()).collect()
}

impl Engine {
    /// Take `config` over from Data Sync, whose last successful sync of
    /// every member started at `since_utc` (`YYYY-MM-DDTHH:MM:SS`, UTC;
    /// Data Sync's `lastSyncTime`, or earlier to be safe: earlier only
    /// announces more rows, which the first sync finds already equal).
    /// Run once, before the group's first sync; running it again redoes
    /// nothing.
    pub async fn take_over(&self, config: &GroupConfig, since_utc: &str) -> Result<TakeoverReport, EngineError> {
        let g = &config.name;
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(EngineError::Invalid(problems));
        }
        let mut report = TakeoverReport::default();
        let hub = DataSyncDb::open(&config.hub).await.ctx(|| format!("group {g}: opening the hub"))?;
        let hub_conn = hub.connector();
        let config = &in_default_namespace(config, hub_conn.engine());
        let infos = hub_conn.introspect().await.ctx(|| format!("group {g}: reading the hub's tables"))?;
        self.hub_incarnation(config, hub_conn).await?;
        let hub_scopes = hub.scopes().await.ctx(|| format!("group {g}: reading Data Sync's scopes on the hub"))?;
        let mut schemas = Vec::new();
        for t in &config.tables {
            let r = TableRef { namespace: t.namespace.clone(), name: t.name.clone() };
            let info = infos
                .iter()
                .find(|i| TableRef::of(&i.schema) == r)
                .ok_or_else(|| EngineError::Schema(format!("group {g}: table {r} is not on the hub")))?;
            schemas.push(info.select(&t.columns).ctx(|| format!("group {g}: the sync schema of {r}"))?);
        }
        // Members first: their marks go on the hub's rows.
        let mut members = Vec::new();
        let mut marks = Vec::new();
        for m in &config.members {
            if m.column_filter.is_some() || m.schema_map.is_some() {
                return Err(EngineError::Invalid(vec![format!(
                    "group {g}, member {}: a takeover keeps Data Sync's tables as they are; add the column filter or \
                     schema map after the first sync",
                    m.name
                )]));
            }
            let db = DataSyncDb::open(&m.url).await.ctx(|| {
                format!(
                    "group {g}, member {}: opening it (a takeover needs SQL Server members it can reach directly)",
                    m.name
                )
            })?;
            let (mark, _, _) = self.member_incarnation(g, &m.name, db.connector()).await?;
            let scopes =
                db.scopes().await.ctx(|| format!("group {g}, member {}: reading Data Sync's scopes", m.name))?;
            // The pair's scope: the hub scope of the same name.
            let pair = scopes.iter().find(|s| names(&hub_scopes).contains(&s.name.to_lowercase()));
            let pair = match (pair, scopes.as_slice()) {
                (Some(s), _) => Some(s),
                (None, [only]) => {
                    report.notes.push(format!(
                        "member {}: its scope {} has no namesake on the hub; taken as this group's (its only scope)",
                        m.name, only.name
                    ));
                    Some(only)
                }
                (None, _) => {
                    report.notes.push(format!(
                        "member {}: none of its Data Sync scopes is also on the hub: every local change since {since_utc} \
                         is announced, and changes Data Sync applied to the hub from it carry no mark",
                        m.name
                    ));
                    None
                }
            };
            if let Some(p) = pair
                && let Some(h) = hub_scopes.iter().find(|h| h.name.eq_ignore_ascii_case(&p.name))
            {
                marks.push((h.local_id, mark.clone()));
            }
            members.push((m, db, pair.map(|p| p.local_id)));
        }
        for h in &hub_scopes {
            if !marks.iter().any(|(id, _)| *id == h.local_id) {
                report.notes.push(format!(
                    "hub scope {} ({}) serves no member of this group: changes Data Sync applied through it are \
                     announced to every member",
                    h.name, h.local_id
                ));
            }
        }
        let announce_hub = Announce { since_utc: since_utc.to_owned(), skip: Vec::new(), marks };
        let mut done = Vec::new();
        for schema in &schemas {
            let r = TableRef::of(schema);
            let t =
                hub.take_over(schema, &announce_hub).await.ctx(|| format!("group {g}: taking {r} over on the hub"))?;
            for (m, _, _) in &members {
                self.start_at(g, &m.name, &r, Side::Hub, &t.anchor).await?;
            }
            info!(group = %g, table = %r, announced = t.announced, "hub taken over");
            done.push(t);
        }
        report.databases.push(("hub".into(), done));
        for (m, db, pair) in &members {
            let announce =
                Announce { since_utc: since_utc.to_owned(), skip: pair.iter().copied().collect(), marks: Vec::new() };
            let mut done = Vec::new();
            for hub_schema in &schemas {
                let has_namespaces = db.connector().engine().has_namespaces();
                let view = View::new(&m.name, hub_schema, None, None, has_namespaces).await?;
                let r = TableRef::of(&view.member_schema);
                let t = db
                    .take_over(&view.member_schema, &announce)
                    .await
                    .ctx(|| format!("group {g}, member {}: taking {r} over", m.name))?;
                self.start_at(g, &m.name, &TableRef::of(hub_schema), Side::Member, &t.anchor).await?;
                info!(group = %g, member = %m.name, table = %r, announced = t.announced, "member taken over");
                done.push(t);
            }
            report.databases.push((m.name.clone(), done));
        }
        Ok(report)
    }

    /// Start a pair's side at `anchor`, unless it has moved already.
    async fn start_at(
        &self,
        g: &str,
        member: &str,
        table: &TableRef,
        side: Side,
        anchor: &str,
    ) -> Result<(), EngineError> {
        let scope = Scope { group: g.to_owned(), member: member.to_owned(), table: table.to_string() };
        let ctx = || format!("group {g}, member {member}: recording where {table} starts");
        if self.meta.anchor(&scope, side).await.ctx(ctx)? != Anchor::start() {
            return Ok(());
        }
        let commit = BatchCommit { anchor: Some((side, Anchor(anchor.to_owned()))), ..Default::default() };
        self.meta.commit(&scope, &commit).await.ctx(ctx)
    }
}
