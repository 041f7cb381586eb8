//! `/new`: Data Sync's three-step set-up as one form: (1) create the sync
//! group (name, hub, automatic sync and its frequency, conflict
//! resolution), (2) add members (a name, a database URL or a database
//! registered on an agent, a direction), (3) *Refresh schema*, tick tables
//! and untick columns (the key stays ticked; what hubsync cannot sync is
//! shown disabled with the reason); then a **preview** of what saving
//! does on each database (`POST /api/v1/plan`), and *Save*
//! (`POST /api/v1/groups`). Everything typed travels in the form, so a
//! failed step keeps it, and the API's error shows beside its field.

use std::collections::BTreeSet;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;
use hubsync_api::{GroupPlan, InspectRequest, SchemaTable};
use hubsync_core::GroupConfig;
use serde_json::json;

use super::{Chrome, seg};
use crate::web::{Posted, Signed, Ui, done, page, shown};

pub(crate) fn routes() -> Router<Arc<Ui>> {
    Router::new().route("/new", get(start).post(step))
}

/// One member row of step 2.
#[derive(Default, Clone)]
struct MemberRow {
    name: String,
    url: String,
    /// `agent://AGENT/DATABASE` picked from the registered ones, or empty.
    agent: String,
    direction: String,
}

/// A column of step 3.
struct ColumnRow {
    name: String,
    /// `table/column`, percent-encoded parts: the checkbox's value.
    value: String,
    declared: String,
    key: bool,
    ticked: bool,
    /// Why it cannot be synced (shown disabled).
    reason: Option<String>,
}

/// A table of step 3.
struct TableRow {
    name: String,
    ticked: bool,
    /// Why it cannot be synced (shown disabled).
    problem: Option<String>,
    columns: Vec<ColumnRow>,
}

/// What the form holds, as posted (every step's fields).
#[derive(Default)]
struct Draft {
    name: String,
    hub: String,
    auto: bool,
    /// Follow changes (sync within about a second of one).
    follow: bool,
    every: String,
    unit: String,
    policy: String,
    members: Vec<MemberRow>,
    /// Ticked tables, and `table/column` values ticked.
    tables: BTreeSet<String>,
    columns: BTreeSet<String>,
    /// Whether step 3 was shown before (else every column starts ticked).
    seen_tables: bool,
}

impl Draft {
    fn parse(fields: &[(String, String)]) -> Draft {
        let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
        let count: usize = get("members").parse().unwrap_or(1).clamp(1, 50);
        let members = (0..count)
            .map(|i| MemberRow {
                name: get(&format!("m_name_{i}")),
                url: get(&format!("m_url_{i}")),
                agent: get(&format!("m_agent_{i}")),
                direction: get(&format!("m_dir_{i}")),
            })
            .collect();
        let all = |k: &str| fields.iter().filter(|(n, _)| n == k).map(|(_, v)| v.clone()).collect::<BTreeSet<_>>();
        Draft {
            name: get("name"),
            hub: get("hub"),
            auto: get("auto") == "on",
            follow: get("follow") == "on",
            every: get("every"),
            unit: get("unit"),
            policy: get("policy"),
            members,
            tables: all("t"),
            columns: all("c"),
            seen_tables: get("seen_tables") == "1",
        }
    }

    /// The interval in seconds, when automatic sync is on.
    fn interval(&self) -> Result<Option<u64>, String> {
        if !self.auto {
            return Ok(None);
        }
        let n: u64 = self.every.parse().map_err(|_| "the frequency is a whole number, at least 1".to_owned())?;
        let unit = match self.unit.as_str() {
            "minutes" => 60,
            "hours" => 3600,
            "days" => 86_400,
            _ => 1,
        };
        (n > 0).then_some(Some(n * unit)).ok_or_else(|| "the frequency is at least 1".to_owned())
    }

    /// The group definition the form describes, checked by the API's own rules.
    fn definition(&self, schema: &[SchemaTable]) -> Result<GroupConfig, String> {
        let members: Vec<serde_json::Value> = self
            .members
            .iter()
            .filter(|m| !m.name.is_empty() || !m.url.is_empty() || !m.agent.is_empty())
            .map(|m| {
                json!({
                    "name": m.name,
                    "url": if m.agent.is_empty() { &m.url } else { &m.agent },
                    "direction": if m.direction.is_empty() { "bidirectional" } else { &m.direction },
                })
            })
            .collect();
        let tables: Vec<serde_json::Value> = self
            .tables
            .iter()
            .map(|t| {
                let live = schema.iter().find(|s| &s.table == t);
                let all: Vec<&str> = live
                    .map(|s| s.columns.iter().filter(|c| c.unsupported.is_none()).map(|c| c.name.as_str()).collect())
                    .unwrap_or_default();
                let chosen: Vec<&str> = all
                    .iter()
                    .copied()
                    .filter(|c| {
                        let key = live.is_some_and(|s| s.columns.iter().any(|x| x.name == *c && x.key));
                        key || self.columns.contains(&column_value(t, c))
                    })
                    .collect();
                // Every column ticked: leave the list out (new columns on the
                // hub then join the sync schema when the group is refreshed).
                let columns: Vec<&str> = if chosen.len() == all.len() { Vec::new() } else { chosen };
                json!({"name": t, "columns": columns})
            })
            .collect();
        let policy = if self.policy == "member-wins" { "builtin:member-wins" } else { "builtin:hub-wins" };
        let config: GroupConfig = serde_json::from_value(json!({
            "name": self.name,
            "hub": self.hub,
            "member": members,
            "table": tables,
            "conflict_policy": {"plugin": policy},
            "interval_seconds": self.interval()?,
            "follow_changes": self.follow,
        }))
        .map_err(|e| e.to_string())?;
        Ok(config)
    }
}

fn column_value(table: &str, column: &str) -> String {
    format!("{}/{}", seg(table), seg(column))
}

/// Errors beside the fields they concern.
#[derive(Default)]
struct Errors {
    name: Option<String>,
    hub: Option<String>,
    every: Option<String>,
    members: Option<String>,
    tables: Option<String>,
    save: Option<String>,
}

#[derive(Template)]
#[template(path = "new_group.html")]
struct NewGroup {
    chrome: Chrome,
    d: Draft,
    /// 1, 2 or 3: how far the form has come (4: the preview is shown).
    stage: u8,
    errors: Errors,
    agent_databases: Vec<String>,
    tables: Vec<TableRow>,
    plan: Option<GroupPlan>,
    cli: String,
}

async fn start(s: Signed) -> Response {
    let d =
        Draft { unit: "minutes".into(), every: "5".into(), members: vec![MemberRow::default()], ..Draft::default() };
    render(&s, d, 1, Errors::default(), Vec::new(), None).await
}

async fn render(
    s: &Signed,
    d: Draft,
    stage: u8,
    errors: Errors,
    schema: Vec<SchemaTable>,
    plan: Option<GroupPlan>,
) -> Response {
    let chrome = Chrome::of(s, "New sync group", "overview");
    let agent_databases = match s.api.agents().await {
        Ok(agents) => agents
            .into_iter()
            .flat_map(|a| a.databases.into_iter().map(move |db| format!("agent://{}/{}", a.name, db.name)))
            .collect(),
        Err(_) => Vec::new(),
    };
    let tables = schema
        .iter()
        .map(|t| TableRow {
            name: t.table.clone(),
            ticked: d.tables.contains(&t.table),
            problem: t.problem.clone(),
            columns: t
                .columns
                .iter()
                .map(|c| {
                    let value = column_value(&t.table, &c.name);
                    ColumnRow {
                        ticked: c.unsupported.is_none() && (c.key || !d.seen_tables || d.columns.contains(&value)),
                        name: c.name.clone(),
                        value,
                        declared: c.declared_type.clone().unwrap_or_default(),
                        key: c.key,
                        reason: c.unsupported.clone(),
                    }
                })
                .collect(),
        })
        .collect();
    let cli = chrome.cli(&format!("apply {}.toml", if d.name.is_empty() { "GROUP" } else { &d.name }));
    shown(page(&NewGroup { chrome, d, stage, errors, agent_databases, tables, plan, cli }), s)
}

/// Every step posts the whole form; `go` says which step was asked for.
async fn step(p: Posted<Vec<(String, String)>>) -> Response {
    let s = &p.signed;
    let go = p.form.iter().find(|(n, _)| n == "go").map(|(_, v)| v.clone()).unwrap_or_default();
    let mut d = Draft::parse(&p.form);
    let mut errors = Errors::default();

    // Step 1, checked whatever was asked: the name by the API's own rule,
    // the hub by reading it, the frequency by its number.
    if let Err(e) = hubsync_core::config::check_name("group name", &d.name) {
        errors.name = Some(e);
    }
    if let Err(e) = d.interval() {
        errors.every = Some(e);
    }
    let hub_schema = if d.hub.is_empty() {
        errors.hub = Some("give the hub database's URL, e.g. postgres://user:password@host/db".into());
        Vec::new()
    } else {
        match s.api.inspect(&InspectRequest { url: d.hub.clone() }).await {
            Ok(t) => t,
            Err(e) => {
                errors.hub = Some(e.message);
                Vec::new()
            }
        }
    };
    if errors.name.is_some() || errors.hub.is_some() || errors.every.is_some() {
        return render(s, d, 1, errors, Vec::new(), None).await;
    }
    if go == "members" {
        return render(s, d, 2, errors, Vec::new(), None).await;
    }
    if go == "add-member" {
        d.members.push(MemberRow::default());
        return render(s, d, 2, errors, Vec::new(), None).await;
    }

    // Step 2: at least one member, each with a name and a database.
    let listed: Vec<&MemberRow> =
        d.members.iter().filter(|m| !m.name.is_empty() || !m.url.is_empty() || !m.agent.is_empty()).collect();
    let incomplete = listed.iter().find(|m| m.name.is_empty() || (m.url.is_empty() && m.agent.is_empty()));
    if listed.is_empty() {
        errors.members = Some("add at least one member: a name and its database".into());
    } else if let Some(m) = incomplete {
        errors.members =
            Some(format!("member {:?}: give it a name and a database (a URL or an agent's database)", m.name));
    } else if let Some(m) = listed.iter().find(|m| hubsync_core::config::check_name("member name", &m.name).is_err()) {
        errors.members = hubsync_core::config::check_name("member name", &m.name).err();
    }
    if errors.members.is_some() {
        return render(s, d, 2, errors, Vec::new(), None).await;
    }
    // The tables are shown (again, for *Refresh schema*) before anything
    // is previewed or saved; the first time, every column starts ticked.
    if go == "tables" || go == "refresh" || !d.seen_tables {
        return render(s, d, 3, errors, hub_schema, None).await;
    }

    // Step 3: at least one table; then the preview, or the save.
    if d.tables.is_empty() {
        errors.tables = Some("tick at least one table".into());
        return render(s, d, 3, errors, hub_schema, None).await;
    }
    let definition = match d.definition(&hub_schema) {
        Ok(c) => c,
        Err(e) => {
            errors.save = Some(e);
            return render(s, d, 3, errors, hub_schema, None).await;
        }
    };
    if go == "save" {
        return match s.api.create_group(&definition).await {
            Ok(v) => done(
                &format!("/groups/{}", seg(&v.definition.name)),
                Ok(format!("sync group {} created; press Sync now to run its first sync", v.definition.name)),
            ),
            Err(e) => {
                errors.save = Some(e.message);
                render(s, d, 3, errors, hub_schema, None).await
            }
        };
    }
    match s.api.plan(&definition).await {
        Ok(plan) => render(s, d, 4, errors, hub_schema, Some(plan)).await,
        Err(e) => {
            errors.save = Some(e.message);
            render(s, d, 3, errors, hub_schema, None).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::decode;

    #[test]
    fn a_table_with_every_column_ticked_lists_none() {
        let schema: Vec<SchemaTable> = serde_json::from_value(json!([{
            "table": "orders", "problem": null,
            "columns": [
                {"name": "id", "type": "int", "declared_type": "int", "nullable": false, "key": true, "unsupported": null},
                {"name": "note", "type": "text", "declared_type": "text", "nullable": true, "key": false, "unsupported": null}
            ]
        }]))
        .expect("schema");
        let fields = |extra: &[(&str, &str)]| {
            let mut f: Vec<(String, String)> = [
                ("name", "g"),
                ("hub", "sqlite:///h.db"),
                ("members", "1"),
                ("m_name_0", "m"),
                ("m_url_0", "sqlite:///m.db"),
                ("t", "orders"),
            ]
            .iter()
            .chain(extra)
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
            f.push(("seen_tables".into(), "1".into()));
            f
        };
        let all = Draft::parse(&fields(&[("c", "orders/note")])).definition(&schema).expect("valid");
        assert!(all.tables[0].columns.is_empty());
        let some = Draft::parse(&fields(&[])).definition(&schema).expect("valid");
        assert_eq!(some.tables[0].columns, ["id"], "the key stays");
        assert!(!some.follow_changes, "following changes is asked for, not assumed");
        let follows = Draft::parse(&fields(&[("follow", "on")])).definition(&schema).expect("valid");
        assert!(follows.follow_changes && follows.interval_seconds.is_none(), "the box ticked follows changes");
        assert_eq!(decode("orders%2Fx"), "orders/x");
    }
}
