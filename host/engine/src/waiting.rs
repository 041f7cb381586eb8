//! What waits for a member's sync, asked before its first batch: the
//! changes after each table's anchors on the hub and on the member, counted
//! in one statement per database. The counts are the progress total, and a
//! table with nothing to read on either side (and nothing unfinished in the
//! metadata) is not synced at all: an idle member costs one metadata read
//! and one query per database, whatever its number of tables.

use hubsync_connectors::meta::{MemberState, Side};
use hubsync_core::{Anchor, TableSchema};
use tracing::debug;

use crate::group::{Group, Member, SyncControl};
use crate::session::PENDING_CAP;

/// The answer for one member: per table (group order) whether its sync
/// can be skipped, and the total waiting (`None` when a database could not
/// count).
pub(crate) struct Waiting {
    /// Per table: nothing to read on the sides its direction reads, and no
    /// journal or retry pending.
    pub(crate) idle: Vec<bool>,
    /// Changes waiting over every table and side, up to [`PENDING_CAP`] each.
    pub(crate) total: Option<u64>,
}

/// Count what waits for `m`'s tables (recorded as `control`'s budgets).
pub(crate) async fn waiting(group: &Group, m: &Member, state: &MemberState, control: &SyncControl) -> Waiting {
    let direction = m.config.direction;
    let n = group.tables.len();
    let anchors: Vec<(Anchor, Anchor)> =
        group.tables.iter().map(|t| (state.anchor(&t.name, Side::Hub), state.anchor(&t.name, Side::Member))).collect();
    let hub_asks: Vec<(&TableSchema, &Anchor)> = if direction.downloads() {
        m.views.iter().zip(&anchors).map(|(v, (h, _))| (&v.hub_view, h)).collect()
    } else {
        Vec::new()
    };
    let member_asks: Vec<(&TableSchema, &Anchor)> = if direction.uploads() {
        m.views.iter().zip(&anchors).map(|(v, (_, mm))| (&v.member_schema, mm)).collect()
    } else {
        Vec::new()
    };
    let (hub, member) = tokio::join!(
        ask(group.hub.as_ref(), &hub_asks, n, direction.downloads()),
        ask(m.db.as_ref(), &member_asks, n, direction.uploads())
    );
    let mut idle = Vec::with_capacity(n);
    let mut total = Some(0u64);
    for (i, t) in group.tables.iter().enumerate() {
        let mut quiet = !state.unfinished.contains(&t.name);
        for (counts, is_hub) in [(&hub, true), (&member, false)] {
            let Some(counts) = counts else { continue };
            match counts[i] {
                Some(k) => {
                    control.budget((m.config.name.clone(), t.name.clone(), is_hub), k);
                    total = total.map(|s| s + k);
                    quiet &= k == 0;
                }
                None => {
                    total = None;
                    quiet = false;
                }
            }
        }
        idle.push(quiet);
    }
    debug!(group = %group.config.name, member = %m.config.name, idle = idle.iter().filter(|&&b| b).count(),
           tables = n, "counted what waits");
    Waiting { idle, total }
}

/// The counts of one database: `None` when its side is not read; a count
/// of `None` (unknown: an error here, an older agent) for every table
/// when it cannot answer, so those tables sync and say why.
async fn ask(
    db: &dyn hubsync_core::Connector,
    asks: &[(&TableSchema, &Anchor)],
    n: usize,
    read: bool,
) -> Option<Vec<Option<u64>>> {
    if !read {
        return None;
    }
    match db.pending_many(asks, PENDING_CAP).await {
        Ok(c) if c.len() == n => Some(c),
        Ok(_) => Some(vec![None; n]),
        Err(e) => {
            debug!(error = %e, "counting what waits failed; every table syncs");
            Some(vec![None; n])
        }
    }
}
