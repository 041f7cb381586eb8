//! Which database a hub or member is, and the origin mark of its current
//! incarnation (see `hubsync_connectors::meta::DatabaseRecord`).
//!
//! hubsync skips a change whose origin is its own mark for the side it
//! reads: it wrote it there from the other side. That is only true of the
//! database it wrote to. A member pointed at another database (re-created,
//! restored empty, moved) must not take the rows its predecessor uploaded
//! for echoes, so each start from scratch gets a mark of its own; a hub
//! replaced under a group that synced is refused (the members' anchors
//! refer to the old one).
//!
//! A member seen for the first time gets a mark of its own too (its
//! predecessor's rows may sit on the hub under the plain `g/m` from a
//! metadata store since lost); only a member of a store from before
//! identities, which has anchors but no record, keeps `g/m`. The hub's
//! first incarnation keeps `g/hub`.

use hubsync_connectors::meta::{DatabaseRecord, HUB};
use hubsync_core::{Connector, GroupConfig};
use tracing::warn;

use crate::error::Context;
use crate::group::now_micros;
use crate::{Engine, EngineError};

/// The plain mark hubsync writes on the hub for `member` (stores from before identities).
pub(crate) fn member_base(g: &str, member: &str) -> String {
    format!("{g}/{member}")
}

/// The hub's first incarnation's mark, which hubsync writes on the members.
pub(crate) fn hub_base(g: &str) -> String {
    format!("{g}/hub")
}

/// The name an origin mark of group `g` stands for (`m` for `g/m` and
/// `g/m@…`), or `None` for another group's mark.
pub(crate) fn marked_name<'a>(g: &str, origin: &'a str) -> Option<&'a str> {
    let rest = origin.strip_prefix(g)?.strip_prefix('/')?;
    Some(rest.split_once('@').map_or(rest, |(name, _)| name))
}

/// What the store's record says of a database now seen with identity `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    /// The database synced before: its mark.
    Same(String),
    /// The database the store knows, whose identity it records now (a
    /// store from before identities, or an agent that could not tell).
    Learnt(String),
    /// A new incarnation: first seen, or its state was forgotten.
    New(String),
    /// Another database than the one synced before.
    Replaced {
        /// The new incarnation's mark.
        mark: String,
        /// The identity recorded before.
        was: String,
    },
}

impl Seen {
    /// The mark of the incarnation to sync.
    pub(crate) fn mark(&self) -> &str {
        match self {
            Seen::Same(m) | Seen::Learnt(m) | Seen::New(m) | Seen::Replaced { mark: m, .. } => m,
        }
    }
}

/// Decide, for a database of identity `id` (`None`: it cannot tell) whose
/// plain mark is `base`, from its record. A database without a record gets
/// the plain mark when `plain_first` (the hub; a member that synced before
/// identities were kept), else a mark of its own: `base@` and the time its
/// incarnation starts, in base 36, as every later incarnation.
pub(crate) fn seen(
    record: Option<&DatabaseRecord>,
    id: Option<&str>,
    base: &str,
    plain_first: bool,
    now_micros: i64,
) -> Seen {
    let later = || format!("{base}@{}", base36(now_micros.max(0) as u64));
    match record {
        None if plain_first => Seen::New(base.to_owned()),
        None => Seen::New(later()),
        Some(r) if r.fresh => Seen::New(later()),
        Some(r) => match (r.database_id.as_deref(), id) {
            (Some(was), Some(now)) if was != now => Seen::Replaced { mark: later(), was: was.to_owned() },
            (None, Some(_)) => Seen::Learnt(r.mark.clone()),
            _ => Seen::Same(r.mark.clone()),
        },
    }
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A short form of an identity for messages.
fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

impl Engine {
    /// The hub's mark on the members; refuses a hub that is not the
    /// database the group synced with, unless nothing refers to the old one.
    pub(crate) async fn hub_incarnation(
        &self,
        config: &GroupConfig,
        hub: &dyn Connector,
    ) -> Result<String, EngineError> {
        let g = &config.name;
        let ctx = || format!("group {g}: reading which database the hub is");
        let id = hub.identity().await.ctx(ctx)?;
        let record = self.meta.database(g, HUB).await.ctx(ctx)?;
        let seen = seen(record.as_ref(), id.as_deref(), &hub_base(g), true, now_micros());
        if let Seen::Replaced { was, .. } = &seen
            && self.meta.has_anchors(g, None).await.ctx(ctx)?
        {
            let members: Vec<&str> = config.members.iter().map(|m| m.name.as_str()).collect();
            return Err(EngineError::Invalid(vec![format!(
                "group {g}: the hub is not the database this group synced with: it was replaced or re-created \
                 (its hubsync identity is {} where the group recorded {}), and the members' sync state refers \
                 to the old hub, so nothing was synced. If this hub is the one to keep, start every member over \
                 against it: `hubsync reinit --group {g} --member NAME` for each of {}; if not, point the group \
                 back at the old hub",
                short(id.as_deref().unwrap_or_default()),
                short(was),
                members.join(", ")
            )]));
        }
        if !matches!(seen, Seen::Same(_)) {
            self.meta.set_database(g, HUB, id.as_deref(), seen.mark(), now_micros()).await.ctx(ctx)?;
        }
        Ok(seen.mark().to_owned())
    }

    /// A member's mark on the hub and its identity. A member whose database
    /// was replaced forgets its sync state and starts over, with a new
    /// mark; the notice says so.
    pub(crate) async fn member_incarnation(
        &self,
        g: &str,
        member: &str,
        db: &dyn Connector,
    ) -> Result<(String, Option<String>, Option<String>), EngineError> {
        let ctx = || format!("group {g}, member {member}: reading which database it is");
        let id = db.identity().await.ctx(ctx)?;
        let record = self.meta.database(g, member).await.ctx(ctx)?;
        // Anchors but no record: it synced before identities were kept, under `g/m`.
        let before_identities = record.is_none() && self.meta.has_anchors(g, Some(member)).await.ctx(ctx)?;
        let seen = seen(record.as_ref(), id.as_deref(), &member_base(g, member), before_identities, now_micros());
        let mut notice = None;
        if let Seen::Replaced { was, .. } = &seen {
            let message = format!(
                "member {member} now points at a different database: syncing it from scratch (its hubsync identity \
                 is {} where {} was synced before)",
                short(id.as_deref().unwrap_or_default()),
                short(was)
            );
            warn!(group = %g, member = %member, "{message}");
            self.meta.forget(g, Some(member), None).await.ctx(ctx)?;
            notice = Some(message);
        } else if let (Seen::New(_), Some(_)) = (&seen, &record) {
            notice = Some(format!(
                "member {member} starts from scratch (re-initialized, or pointed at another database): every row \
                 is compared again"
            ));
        }
        if !matches!(seen, Seen::Same(_)) {
            self.meta.set_database(g, member, id.as_deref(), seen.mark(), now_micros()).await.ctx(ctx)?;
        }
        Ok((seen.mark().to_owned(), id, notice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: Option<&str>, mark: &str, fresh: bool) -> DatabaseRecord {
        DatabaseRecord { database_id: id.map(str::to_owned), mark: mark.into(), fresh }
    }

    #[test]
    fn a_database_keeps_its_mark_until_it_is_replaced_or_forgotten() {
        let base = member_base("g", "m");
        assert_eq!(seen(None, Some("a"), &base, false, 5), Seen::New("g/m@5".into()), "first seen: a mark of its own");
        assert_eq!(seen(None, Some("a"), &base, true, 5), Seen::New("g/m".into()), "synced before identities");
        let known = record(Some("a"), "g/m", false);
        assert_eq!(seen(Some(&known), Some("a"), &base, false, 5), Seen::Same("g/m".into()));
        assert_eq!(seen(Some(&known), None, &base, false, 5), Seen::Same("g/m".into()), "cannot tell: unchanged");
        assert_eq!(
            seen(Some(&known), Some("b"), &base, false, 36 * 36),
            Seen::Replaced { mark: "g/m@100".into(), was: "a".into() }
        );
        let forgotten = record(Some("a"), "g/m", true);
        assert_eq!(seen(Some(&forgotten), Some("a"), &base, true, 35), Seen::New("g/m@z".into()));
        let unknown_id = record(None, "g/m", false);
        assert_eq!(seen(Some(&unknown_id), Some("a"), &base, false, 5), Seen::Learnt("g/m".into()));
    }

    #[test]
    fn marks_name_their_member() {
        assert_eq!(marked_name("g", "g/m"), Some("m"));
        assert_eq!(marked_name("g", "g/m@k2j"), Some("m"));
        assert_eq!(marked_name("g", "g/hub@x"), Some("hub"));
        assert_eq!(marked_name("g", "other/m"), None);
        assert_eq!(marked_name("g", "gx/m"), None);
    }
}
