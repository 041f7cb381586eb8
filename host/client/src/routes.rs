//! One method per route of `/api/v1`, taking and returning `hubsync-api`'s
//! types, in the order of the server's resources. A name in a path is
//! percent-encoded; a query is the route's query type, serialized.

use hubsync_api::{
    Accepted, Activity, ActivityQuery, AgentKey, AgentView, ConflictQuery, ConflictView, Count, CreatedToken,
    GroupPlan, GroupState, GroupSummary, GroupUpdate, GroupView, Heartbeat, HeartbeatAnswer, HistoryPage, HistoryQuery,
    Identity, InspectRequest, Join, Joined, MemberUpdate, MemberView, NewAgent, NewToken, PluginView, QuarantineAction,
    QuarantineView, RemoveQuery, ReplayReport, ReplayRequest, SchemaQuery, SchemaTable, SyncRequest, TokenView,
    UploadQuery,
};
use hubsync_core::{GroupConfig, MemberConfig, TableConfig};
use serde::Serialize;

use crate::transport::{CallError, Client, segment};

/// `path?query`, the query serialized from its type (absent fields left out).
fn with_query<Q: Serialize>(path: String, q: &Q) -> Result<String, CallError> {
    let query = serde_urlencoded::to_string(q).map_err(|e| CallError { status: 0, message: e.to_string() })?;
    Ok(if query.is_empty() { path } else { format!("{path}?{query}") })
}

fn group_path(group: &str) -> String {
    format!("/api/v1/groups/{}", segment(group))
}

fn member_path(group: &str, member: &str) -> String {
    format!("{}/members/{}", group_path(group), segment(member))
}

/// A call whose answer has no body (204).
async fn no_answer(c: &Client, method: &str, path: &str) -> Result<(), CallError> {
    c.call(method, path, None).await.map(|_| ())
}

impl Client {
    // --- groups ---

    /// `GET /api/v1/groups`
    pub async fn list_groups(&self) -> Result<Vec<GroupSummary>, CallError> {
        self.get("/api/v1/groups").await
    }

    /// `POST /api/v1/groups`
    pub async fn create_group(&self, definition: &GroupConfig) -> Result<GroupView, CallError> {
        self.send("POST", "/api/v1/groups", Some(definition)).await
    }

    /// `GET /api/v1/groups/{group}`
    pub async fn group(&self, group: &str) -> Result<GroupView, CallError> {
        self.get(&group_path(group)).await
    }

    /// `PUT /api/v1/groups/{group}`
    pub async fn update_group(&self, group: &str, update: &GroupUpdate) -> Result<GroupView, CallError> {
        self.send("PUT", &group_path(group), Some(update)).await
    }

    /// `DELETE /api/v1/groups/{group}`
    pub async fn delete_group(&self, group: &str, q: &RemoveQuery) -> Result<(), CallError> {
        no_answer(self, "DELETE", &with_query(group_path(group), q)?).await
    }

    // --- members ---

    /// `GET /api/v1/groups/{group}/members`
    pub async fn members(&self, group: &str) -> Result<Vec<MemberConfig>, CallError> {
        self.get(&format!("{}/members", group_path(group))).await
    }

    /// `POST /api/v1/groups/{group}/members`
    pub async fn add_member(&self, group: &str, member: &MemberConfig) -> Result<MemberView, CallError> {
        self.send("POST", &format!("{}/members", group_path(group)), Some(member)).await
    }

    /// `GET /api/v1/groups/{group}/members/{member}`
    pub async fn member(&self, group: &str, member: &str) -> Result<MemberView, CallError> {
        self.get(&member_path(group, member)).await
    }

    /// `PATCH /api/v1/groups/{group}/members/{member}`
    pub async fn update_member(&self, group: &str, member: &str, u: &MemberUpdate) -> Result<MemberView, CallError> {
        self.send("PATCH", &member_path(group, member), Some(u)).await
    }

    /// `DELETE /api/v1/groups/{group}/members/{member}`
    pub async fn remove_member(&self, group: &str, member: &str, q: &RemoveQuery) -> Result<(), CallError> {
        no_answer(self, "DELETE", &with_query(member_path(group, member), q)?).await
    }

    /// `POST /api/v1/groups/{group}/members/{member}/reinit`
    pub async fn reinit(&self, group: &str, member: &str) -> Result<Count, CallError> {
        self.send::<(), _>("POST", &format!("{}/reinit", member_path(group, member)), None).await
    }

    // --- schema ---

    /// `GET /api/v1/groups/{group}/tables`
    pub async fn tables(&self, group: &str) -> Result<Vec<TableConfig>, CallError> {
        self.get(&format!("{}/tables", group_path(group))).await
    }

    /// `PUT /api/v1/groups/{group}/tables`
    pub async fn set_tables(&self, group: &str, tables: &[TableConfig]) -> Result<GroupView, CallError> {
        self.send("PUT", &format!("{}/tables", group_path(group)), Some(&tables)).await
    }

    /// `GET /api/v1/groups/{group}/schema`
    pub async fn schema(&self, group: &str, q: &SchemaQuery) -> Result<Vec<SchemaTable>, CallError> {
        self.get(&with_query(format!("{}/schema", group_path(group)), q)?).await
    }

    // --- sync ---

    /// `POST /api/v1/groups/{group}/sync`
    pub async fn sync_now(&self, group: &str, r: &SyncRequest) -> Result<Accepted, CallError> {
        self.send("POST", &format!("{}/sync", group_path(group)), Some(r)).await
    }

    /// `POST /api/v1/groups/{group}/cancel`
    pub async fn cancel(&self, group: &str, r: &SyncRequest) -> Result<Accepted, CallError> {
        self.send("POST", &format!("{}/cancel", group_path(group)), Some(r)).await
    }

    // --- status and history ---

    /// `GET /api/v1/groups/{group}/status`
    pub async fn status(&self, group: &str) -> Result<GroupState, CallError> {
        self.get(&format!("{}/status", group_path(group))).await
    }

    /// `GET /api/v1/history`
    pub async fn history(&self, q: &HistoryQuery) -> Result<HistoryPage, CallError> {
        self.get(&with_query("/api/v1/history".into(), q)?).await
    }

    // --- conflicts ---

    /// `GET /api/v1/groups/{group}/conflicts`
    pub async fn conflicts(&self, group: &str, q: &ConflictQuery) -> Result<Vec<ConflictView>, CallError> {
        self.get(&with_query(format!("{}/conflicts", group_path(group)), q)?).await
    }

    /// `POST /api/v1/groups/{group}/conflicts/replay`
    pub async fn replay(&self, group: &str, r: &ReplayRequest) -> Result<ReplayReport, CallError> {
        self.send("POST", &format!("{}/conflicts/replay", group_path(group)), Some(r)).await
    }

    // --- quarantine ---

    /// `GET /api/v1/groups/{group}/quarantine`
    pub async fn quarantine(&self, group: &str) -> Result<Vec<QuarantineView>, CallError> {
        self.get(&format!("{}/quarantine", group_path(group))).await
    }

    /// `POST /api/v1/groups/{group}/quarantine/retry`
    pub async fn retry_quarantine(&self, group: &str, a: &QuarantineAction) -> Result<Count, CallError> {
        self.send("POST", &format!("{}/quarantine/retry", group_path(group)), Some(a)).await
    }

    /// `POST /api/v1/groups/{group}/quarantine/discard`
    pub async fn discard_quarantine(&self, group: &str, a: &QuarantineAction) -> Result<Count, CallError> {
        self.send("POST", &format!("{}/quarantine/discard", group_path(group)), Some(a)).await
    }

    // --- plugins ---

    /// `POST /api/v1/plugins` with the component's bytes.
    pub async fn upload_plugin(&self, q: &UploadQuery, component: Vec<u8>) -> Result<PluginView, CallError> {
        let path = with_query("/api/v1/plugins".into(), q)?;
        let (_, answer) = self.call_as("POST", &path, Some(component), "application/octet-stream").await?;
        crate::transport::decode(&answer)
    }

    /// `GET /api/v1/plugins`
    pub async fn plugins(&self) -> Result<Vec<PluginView>, CallError> {
        self.get("/api/v1/plugins").await
    }

    /// `GET /api/v1/plugins/{plugin}`
    pub async fn plugin(&self, name: &str) -> Result<PluginView, CallError> {
        self.get(&format!("/api/v1/plugins/{}", segment(name))).await
    }

    /// `DELETE /api/v1/plugins/{plugin}`
    pub async fn delete_plugin(&self, name: &str) -> Result<(), CallError> {
        no_answer(self, "DELETE", &format!("/api/v1/plugins/{}", segment(name))).await
    }

    /// `GET /api/v1/groups/{group}/activity`
    pub async fn activity(&self, group: &str, q: &ActivityQuery) -> Result<Activity, CallError> {
        self.get(&with_query(format!("{}/activity", group_path(group)), q)?).await
    }

    /// `POST /api/v1/inspect`
    pub async fn inspect(&self, r: &InspectRequest) -> Result<Vec<SchemaTable>, CallError> {
        self.send("POST", "/api/v1/inspect", Some(r)).await
    }

    /// `POST /api/v1/plan`
    pub async fn plan(&self, definition: &GroupConfig) -> Result<GroupPlan, CallError> {
        self.send("POST", "/api/v1/plan", Some(definition)).await
    }

    // --- tokens ---

    /// `GET /api/v1/whoami`
    pub async fn whoami(&self) -> Result<Identity, CallError> {
        self.get("/api/v1/whoami").await
    }

    /// `GET /api/v1/tokens`
    pub async fn tokens(&self) -> Result<Vec<TokenView>, CallError> {
        self.get("/api/v1/tokens").await
    }

    /// `POST /api/v1/tokens`
    pub async fn create_token(&self, new: &NewToken) -> Result<CreatedToken, CallError> {
        self.send("POST", "/api/v1/tokens", Some(new)).await
    }

    /// `DELETE /api/v1/tokens/{token}` (an id or a name)
    pub async fn revoke_token(&self, id_or_name: &str) -> Result<(), CallError> {
        no_answer(self, "DELETE", &format!("/api/v1/tokens/{}", segment(id_or_name))).await
    }

    // --- agents ---

    /// `GET /api/v1/agents`
    pub async fn agents(&self) -> Result<Vec<AgentView>, CallError> {
        self.get("/api/v1/agents").await
    }

    /// `POST /api/v1/agents`
    pub async fn create_agent(&self, new: &NewAgent) -> Result<AgentKey, CallError> {
        self.send("POST", "/api/v1/agents", Some(new)).await
    }

    /// `GET /api/v1/agents/{agent}`
    pub async fn agent(&self, name: &str) -> Result<AgentView, CallError> {
        self.get(&format!("/api/v1/agents/{}", segment(name))).await
    }

    /// `POST /api/v1/agents/{agent}/regenerate-key`
    pub async fn regenerate_key(&self, name: &str) -> Result<AgentKey, CallError> {
        self.send::<(), _>("POST", &format!("/api/v1/agents/{}/regenerate-key", segment(name)), None).await
    }

    /// `DELETE /api/v1/agents/{agent}`
    pub async fn delete_agent(&self, name: &str) -> Result<(), CallError> {
        no_answer(self, "DELETE", &format!("/api/v1/agents/{}", segment(name))).await
    }

    /// `POST /api/v1/agent-join`: an agent exchanges its one-time key for
    /// its credential (no token needed).
    pub async fn join(&self, j: &Join) -> Result<Joined, CallError> {
        self.send("POST", "/api/v1/agent-join", Some(j)).await
    }

    /// `POST /api/v1/agent-heartbeat` with the agent's credential as the token.
    pub async fn heartbeat(&self, h: &Heartbeat) -> Result<HeartbeatAnswer, CallError> {
        self.send("POST", "/api/v1/agent-heartbeat", Some(h)).await
    }

    // --- the service itself ---

    /// `GET /metrics`: Prometheus text.
    pub async fn metrics(&self) -> Result<String, CallError> {
        self.get_text("/metrics").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_leave_absent_fields_out_and_names_cannot_change_the_route() {
        let q = HistoryQuery { group: Some("a b".into()), limit: Some(5), ..Default::default() };
        assert_eq!(with_query("/h".into(), &q).expect("query"), "/h?group=a+b&limit=5");
        assert_eq!(with_query("/h".into(), &HistoryQuery::default()).expect("query"), "/h");
        assert_eq!(member_path("g/1", "m?x"), "/api/v1/groups/g%2F1/members/m%3Fx");
    }
}
