//! Group definitions as the API reads and writes them: loaded from the
//! metadata store by name, stored at a revision (optimistic concurrency),
//! and shown with passwords masked.

use axum::http::StatusCode;
use hubsync_core::{GroupConfig, MemberConfig};

use crate::extract::{ApiResult, check_name};
use crate::now_micros;
use crate::problem::ApiError;
use crate::state::AppState;

/// A URL with its password replaced by `***`.
pub(crate) fn mask(url: &str) -> String {
    hubsync_connectors::redact(url)
}

/// A URL as given in an update: a masked URL equal to the stored one
/// (what `GET` returned) keeps the stored password.
pub(crate) fn unmask(given: &str, stored: Option<&str>) -> String {
    match stored {
        Some(old) if given.contains("***") && mask(old) == given => old.to_owned(),
        _ => given.to_owned(),
    }
}

/// The definition with every URL's password masked.
pub(crate) fn masked(g: &GroupConfig) -> GroupConfig {
    let mut g = g.clone();
    g.hub = mask(&g.hub);
    for m in &mut g.members {
        m.url = mask(&m.url);
    }
    g
}

/// One member, its URL's password masked.
pub(crate) fn masked_member(member: MemberConfig) -> MemberConfig {
    MemberConfig { url: mask(&member.url), ..member }
}

/// The stored definition of `group` and its revision; 404 when there is none.
pub(crate) async fn load(state: &AppState, group: &str) -> ApiResult<(GroupConfig, i64)> {
    check_name("group name", group)?;
    let Some((json, revision)) = state.engine.meta().spec(group).await? else {
        return Err(ApiError::not_found(format!("there is no group {group:?}; `GET /api/v1/groups` lists them")));
    };
    let config = serde_json::from_str(&json)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("stored group {group:?}: {e}")))?;
    Ok((config, revision))
}

/// `member` of `config`; 404 when the group has no such member.
pub(crate) fn member_of<'a>(config: &'a mut GroupConfig, member: &str) -> ApiResult<&'a mut MemberConfig> {
    check_name("member name", member)?;
    let g = config.name.clone();
    config
        .members
        .iter_mut()
        .find(|m| m.name == member)
        .ok_or_else(|| ApiError::not_found(format!("group {g:?} has no member {member:?}")))
}

/// Validate and store `config` (at `revision`, or new), then schedule it.
pub(crate) async fn store(state: &AppState, config: &GroupConfig, revision: Option<i64>) -> ApiResult<i64> {
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(ApiError::bad(format!("the group definition has problems: {}", problems.join("; "))));
    }
    let meta = state.engine.meta();
    let Some(rev) = put(meta, config, revision).await? else {
        return Err(match revision {
            None => ApiError::conflict(format!(
                "group {:?} exists already; change it with PUT /api/v1/groups/{}",
                config.name, config.name
            )),
            Some(_) => ApiError::conflict(format!(
                "group {:?} was changed by someone else meanwhile; read it again and repeat the change",
                config.name
            )),
        });
    };
    state.wake.notify_waiters();
    state.definitions.notify_one();
    Ok(rev)
}

/// Store a checked definition and schedule its members: new ones are due
/// now when the group syncs on an interval, else on request only.
pub(crate) async fn put(
    meta: &hubsync_connectors::meta::MetaStore,
    config: &GroupConfig,
    revision: Option<i64>,
) -> Result<Option<i64>, hubsync_core::ConnectorError> {
    let json = serde_json::to_string(config).unwrap_or_default();
    let Some(rev) = meta.put_spec(&config.name, &json, revision, now_micros()).await? else { return Ok(None) };
    let due = if config.interval_seconds.is_some() { now_micros() } else { i64::MAX };
    let members: Vec<(String, Option<String>)> = config
        .members
        .iter()
        .map(|m| (m.name.clone(), hubsync_core::parse_agent_url(&m.url).ok().map(|(a, _)| a.to_owned())))
        .collect();
    meta.sync_leases(&config.name, &members, due).await?;
    Ok(Some(rev))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_url_sent_back_keeps_the_stored_password_and_a_new_one_replaces_it() {
        let stored = "postgres://app:s3cret@db1/sales";
        assert_eq!(mask(stored), "postgres://app:***@db1/sales");
        assert_eq!(unmask("postgres://app:***@db1/sales", Some(stored)), stored);
        assert_eq!(unmask("postgres://app:new@db1/sales", Some(stored)), "postgres://app:new@db1/sales");
        // A masked URL for another database is not given the stored password.
        assert_eq!(unmask("postgres://app:***@db2/sales", Some(stored)), "postgres://app:***@db2/sales");
        assert_eq!(unmask("sqlite:///x.db", None), "sqlite:///x.db");
    }
}
