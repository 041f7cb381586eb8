//! `hubsync datasync import`: a group file from what Azure says of a sync
//! group and its members, and from the hub's own scope configuration.
//! Azure's JSON comes three ways, all read: the REST resources (`az rest`
//! on `…/syncGroups/G` and `…/syncGroups/G/syncMembers`, fields under
//! `properties`, lists under `value`), the SDK models flattened (camelCase,
//! as the REST reference names the fields), and PowerShell's
//! `Get-AzSqlSyncGroup` / `Get-AzSqlSyncMember | ConvertTo-Json`
//! (PascalCase, `IntervalInSeconds`, `SyncMemberName`, …). Azure's types
//! are read leniently (unknown fields ignored): Azure adds fields over
//! time, and an export from any version should import.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use hubsync_connectors::DataSyncDb;
use hubsync_core::{GroupConfig, MemberConfig, PolicyConfig, SyncDirection, TableConfig};
use serde::Deserialize;

use crate::output::toml_of;

/// The arguments of `hubsync datasync import`.
#[derive(clap::Args)]
pub struct ImportArgs {
    /// The sync group as JSON: the REST `syncGroups` resource (`az rest`) or
    /// `Get-AzSqlSyncGroup | ConvertTo-Json`.
    #[arg(long)]
    group_json: Option<PathBuf>,
    /// Its members as JSON: the REST list (`{"value": […]}`) or
    /// `Get-AzSqlSyncMember | ConvertTo-Json`.
    #[arg(long)]
    members_json: Option<PathBuf>,
    /// The hub's URL: its tables and columns are read from Data Sync's scope
    /// configuration (and it becomes the group's hub).
    #[arg(long)]
    hub: Option<String>,
    /// The group's name (default: the sync group's).
    #[arg(long)]
    name: Option<String>,
    /// Write the group file here (default: print it).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// A sync group as Azure describes it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct AzGroup {
    #[serde(alias = "SyncGroupName")]
    name: Option<String>,
    #[serde(alias = "ResourceId")]
    id: Option<String>,
    #[serde(alias = "IntervalInSeconds")]
    interval: Option<i64>,
    #[serde(alias = "ConflictResolutionPolicy")]
    conflict_resolution_policy: Option<String>,
    #[serde(alias = "HubDatabaseUserName")]
    hub_database_user_name: Option<String>,
    #[serde(alias = "LastSyncTime")]
    last_sync_time: Option<String>,
    #[serde(alias = "SyncState")]
    sync_state: Option<String>,
    schema: Option<AzSchema>,
    enable_conflict_logging: Option<bool>,
    conflict_logging_retention_in_days: Option<i64>,
    use_private_link_connection: Option<bool>,
    properties: Option<Box<AzGroup>>,
}

/// The sync schema: tables with quoted names.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct AzSchema {
    tables: Vec<AzTable>,
    master_sync_member_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct AzTable {
    quoted_name: String,
    columns: Vec<AzColumn>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct AzColumn {
    quoted_name: String,
    data_type: Option<String>,
    data_size: Option<String>,
}

/// A sync member as Azure describes it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct AzMember {
    #[serde(alias = "SyncMemberName")]
    name: Option<String>,
    #[serde(alias = "MemberDatabaseType")]
    database_type: Option<String>,
    #[serde(alias = "MemberServerName")]
    server_name: Option<String>,
    #[serde(alias = "MemberDatabaseName")]
    database_name: Option<String>,
    #[serde(alias = "MemberDatabaseUserName")]
    user_name: Option<String>,
    #[serde(alias = "SyncDirection")]
    sync_direction: Option<String>,
    #[serde(alias = "SyncAgentId")]
    sync_agent_id: Option<String>,
    #[serde(alias = "SqlServerDatabaseId")]
    sql_server_database_id: Option<String>,
    #[serde(alias = "SyncState")]
    sync_state: Option<String>,
    properties: Option<Box<AzMember>>,
}

/// A member list: an array, or the REST API's `{"value": […]}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum AzMembers {
    List(Vec<AzMember>),
    Page { value: Vec<AzMember> },
}

/// `[a].[b]` → (Some(a), b); `[b]` → (None, b).
fn unquote(q: &str) -> (Option<String>, String) {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut inside = false;
    let mut chars = q.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '[' if !inside => inside = true,
            ']' if inside && chars.peek() == Some(&']') => {
                chars.next();
                cur.push(']');
            }
            ']' if inside => inside = false,
            '.' if !inside => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    let name = parts.pop().unwrap_or_default();
    (parts.pop(), name)
}

/// An environment variable name from a member's name: `MEMBER_1_PASSWORD`.
fn password_var(name: &str) -> String {
    let up: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("{up}_PASSWORD")
}

/// The SQL Server URL of an Azure database, password left to `${VAR}`.
fn azure_url(server: &str, database: &str, user: &str, var: &str) -> String {
    let host = if server.contains('.') { server.to_owned() } else { format!("{server}.database.windows.net") };
    format!("Server=tcp:{host},1433;Database={database};User ID={user};Password=${{{var}}};Encrypt=true")
}

/// The `lastSyncTime` of a sync group's JSON (any of the three shapes).
pub(super) fn last_sync_time(json: &str) -> Result<String> {
    let g: AzGroup = serde_json::from_str(json).context("this is not a sync group's JSON")?;
    g.last_sync_time
        .or_else(|| g.properties.and_then(|p| p.last_sync_time))
        .context("the sync group's JSON has no lastSyncTime (Data Sync never synced it?): give --since")
}

/// What the import made, and every choice that did not carry over.
struct Imported {
    group: GroupConfig,
    notes: Vec<String>,
}

fn import(
    group: Option<AzGroup>,
    members: Vec<AzMember>,
    hub_tables: Option<Vec<TableConfig>>,
    hub_url: Option<&str>,
    name: Option<&str>,
) -> Result<Imported> {
    let group = group.map(|g| match g.properties {
        Some(p) => AzGroup { name: g.name.or(p.name.clone()), id: g.id.or(p.id.clone()), ..*p },
        None => g,
    });
    let mut notes = Vec::new();
    let g = group.unwrap_or_default();
    let name =
        name.map(str::to_owned).or(g.name.clone()).context("give the group a name with --name (no --group-json)")?;
    // The hub: from --hub, else from the sync group's resource id.
    let hub = match hub_url {
        Some(u) => u.to_owned(),
        None => {
            let id = g.id.clone().context("give --hub URL (the sync group JSON has no id to take the hub from)")?;
            let seg = |k: &str| id.split('/').skip_while(|s| !s.eq_ignore_ascii_case(k)).nth(1).map(str::to_owned);
            let (server, db) =
                seg("servers").zip(seg("databases")).context("the sync group's id names no server and database")?;
            notes.push("hub: its password is ${HUB_PASSWORD} in the file; set that variable (or write the URL)".into());
            azure_url(&server, &db, g.hub_database_user_name.as_deref().unwrap_or("USER"), "HUB_PASSWORD")
        }
    };
    let conflict_policy = match g.conflict_resolution_policy.as_deref() {
        Some("MemberWin") => PolicyConfig { plugin: "builtin:member-wins".into(), ..Default::default() },
        Some("HubWin") | None => PolicyConfig::default(),
        Some(other) => {
            notes.push(format!("conflict resolution {other:?} is not Data Sync's HubWin/MemberWin: hub-wins is used"));
            PolicyConfig::default()
        }
    };
    let interval_seconds = match g.interval {
        Some(i) if i > 0 => {
            if i < 300 {
                notes.push(format!(
                    "interval {i} s: below Data Sync's 5-minute minimum, which hubsync does not have: kept"
                ));
            }
            Some(i as u64)
        }
        Some(_) => {
            notes.push(
                "automatic sync was off (interval -1): the group has no interval_seconds; sync it on demand".into(),
            );
            None
        }
        None => None,
    };
    if g.enable_conflict_logging == Some(true) {
        notes.push(format!(
            "conflict logging (retention {} days): hubsync always records conflicts with both rows; history is pruned by \
             `hubsync serve`'s retention, not per group",
            g.conflict_logging_retention_in_days.unwrap_or(0)
        ));
    }
    if g.use_private_link_connection == Some(true) {
        notes
            .push("private link: hubsync connects from where it runs; run it (or an agent) inside that network".into());
    }
    if let Some(m) = g.schema.as_ref().and_then(|s| s.master_sync_member_name.as_deref()) {
        notes.push(format!("the sync schema was read from member {m} in Azure; hubsync reads tables on the hub"));
    }
    if let Some(t) = &g.last_sync_time {
        notes.push(format!("last sync {t}: pass it to `hubsync datasync takeover --since {t}`"));
    }
    if let Some(s) = g.sync_state.as_deref().filter(|s| *s != "Good") {
        notes.push(format!("the sync group's state is {s}: run a last successful Data Sync sync before the takeover"));
    }
    // Tables: the hub's scope configuration where given (it is what Data
    // Sync installed), else Azure's schema.
    let tables = match hub_tables {
        Some(t) => t,
        None => g
            .schema
            .as_ref()
            .map(|s| {
                s.tables
                    .iter()
                    .map(|t| {
                        let (ns, n) = unquote(&t.quoted_name);
                        TableConfig {
                            name: n,
                            namespace: ns.filter(|s| s != "dbo"),
                            columns: t.columns.iter().map(|c| unquote(&c.quoted_name).1).collect(),
                            conflict_policy: None,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    if tables.is_empty() {
        bail!("no tables: give --hub URL (its Data Sync scope configuration) or a --group-json with a schema");
    }
    let mut out_members = Vec::new();
    for m in members {
        let m = match m.properties {
            Some(p) => AzMember { name: m.name.or(p.name.clone()), ..*p },
            None => m,
        };
        let mname = m.name.clone().context("a sync member has no name")?;
        let direction = match m.sync_direction.as_deref() {
            Some("OneWayMemberToHub") => SyncDirection::ToHub,
            Some("OneWayHubToMember") => SyncDirection::FromHub,
            Some("Bidirectional") | None => SyncDirection::Bidirectional,
            Some(other) => bail!("member {mname}: sync direction {other:?} is not one Data Sync has"),
        };
        let var = password_var(&mname);
        let user = m.user_name.clone().unwrap_or_else(|| "USER".into());
        let url = match m.database_type.as_deref() {
            Some("SqlServerDatabase") => {
                notes.push(format!(
                    "member {mname}: an on-premises database behind Data Sync's agent ({}): write its URL (or run \
                     `hubsync agent` there and use agent://NAME/DB); password in ${{{var}}}",
                    m.sync_agent_id.as_deref().or(m.sql_server_database_id.as_deref()).unwrap_or("agent")
                ));
                format!(
                    "Server=tcp:ON-PREMISES-HOST,1433;Database={};User ID={user};Password=${{{var}}}",
                    m.database_name.as_deref().unwrap_or("DATABASE")
                )
            }
            _ => {
                notes.push(format!("member {mname}: password in ${{{var}}}"));
                azure_url(
                    m.server_name.as_deref().unwrap_or("SERVER"),
                    m.database_name.as_deref().unwrap_or("DATABASE"),
                    &user,
                    &var,
                )
            }
        };
        if let Some(s) = m.sync_state.as_deref().filter(|s| !matches!(*s, "SyncSucceeded" | "Good")) {
            notes.push(format!("member {mname}: Azure reports {s}; make its last sync succeed before the takeover"));
        }
        out_members.push(MemberConfig {
            name: mname,
            url,
            direction,
            column_filter: None,
            schema_map: None,
            connect_timeout_seconds: None,
            statement_timeout_seconds: None,
        });
    }
    let mut group: GroupConfig = serde_json::from_value(serde_json::json!({"name": name, "hub": hub}))?;
    group.members = out_members;
    group.tables = tables;
    group.conflict_policy = conflict_policy;
    group.interval_seconds = interval_seconds;
    Ok(Imported { group, notes })
}

impl ImportArgs {
    /// Run it.
    pub async fn execute(self) -> Result<()> {
        let read = |p: &PathBuf| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
        let group: Option<AzGroup> = match &self.group_json {
            Some(p) => Some(
                serde_json::from_str(&read(p)?).with_context(|| format!("{} is not sync group JSON", p.display()))?,
            ),
            None => None,
        };
        let members = match &self.members_json {
            Some(p) => match serde_json::from_str::<AzMembers>(&read(p)?)
                .with_context(|| format!("{} is not a sync member list", p.display()))?
            {
                AzMembers::List(v) | AzMembers::Page { value: v } => v,
            },
            None => Vec::new(),
        };
        let hub_tables = match &self.hub {
            Some(url) => {
                let db = DataSyncDb::open(url).await?;
                let found = db.inspect(None).await?;
                // Names as the catalog spells them (the configuration may
                // differ in case, and the group file must match the catalog).
                let infos = db.connector().introspect().await?;
                let mut tables: Vec<TableConfig> = Vec::new();
                for t in found.scopes.iter().flat_map(|s| &s.tables) {
                    let info = infos.iter().find(|i| {
                        i.schema.name.eq_ignore_ascii_case(&t.name)
                            && i.schema.namespace.as_deref().unwrap_or("dbo").eq_ignore_ascii_case(&t.namespace)
                    });
                    let Some(info) = info else {
                        eprintln!(
                            "note: table {}.{} of the scope configuration is not in the hub: left out",
                            t.namespace, t.name
                        );
                        continue;
                    };
                    if tables.iter().any(|x| x.name == info.schema.name && x.namespace == info.schema.namespace) {
                        continue; // one scope per member, the same tables
                    }
                    let columns = t
                        .columns
                        .iter()
                        .map(|c| {
                            info.schema
                                .columns
                                .iter()
                                .find(|d| d.name.eq_ignore_ascii_case(&c.name))
                                .map_or_else(|| c.name.clone(), |d| d.name.clone())
                        })
                        .collect();
                    tables.push(TableConfig {
                        name: info.schema.name.clone(),
                        namespace: info.schema.namespace.clone(),
                        columns,
                        conflict_policy: None,
                    });
                }
                if tables.is_empty() {
                    bail!(
                        "the hub holds no Data Sync scope configuration (`hubsync datasync inspect` shows what is there)"
                    );
                }
                Some(tables)
            }
            None => None,
        };
        let imported = import(group, members, hub_tables, self.hub.as_deref(), self.name.as_deref())?;
        if imported.group.members.is_empty() {
            eprintln!("note: no members (give --members-json): add [[group.member]] entries");
        }
        let text = toml_of(std::slice::from_ref(&imported.group))?;
        match &self.output {
            Some(p) => {
                std::fs::write(p, &text).with_context(|| format!("writing {}", p.display()))?;
                println!("Wrote {}.", p.display());
            }
            None => print!("{text}"),
        }
        for n in &imported.notes {
            eprintln!("note: {n}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SDK model flattened (fields as the REST reference names them).
    const GROUP: &str = r#"{
      "conflictLoggingRetentionInDays": 30, "conflictResolutionPolicy": "MemberWin", "enableConflictLogging": false,
      "hubDatabasePassword": null, "hubDatabaseUserName": "syncadmin",
      "id": "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Sql/servers/hubsrv/databases/hubdb/syncGroups/sales",
      "interval": 60, "lastSyncTime": "2026-12-01T09:30:00+00:00", "name": "sales", "privateEndpointName": null,
      "resourceGroup": "rg",
      "schema": {"masterSyncMemberName": null, "tables": [
        {"columns": [{"dataSize": "4", "dataType": "int", "quotedName": "[Id]"}, {"dataSize": "100", "dataType": "nvarchar", "quotedName": "[Name]"}],
         "quotedName": "[sales].[Customer]"}]},
      "sku": null, "syncDatabaseId": "/subscriptions/0000/.../databases/syncmeta", "syncState": "Good",
      "type": "Microsoft.Sql/servers/databases/syncGroups", "usePrivateLinkConnection": false
    }"#;

    /// The members, flattened likewise.
    const MEMBERS: &str = r#"[
      {"databaseName": "shop1", "databaseType": "AzureSqlDatabase", "id": "…/syncMembers/shop-1", "name": "shop-1",
       "password": null, "resourceGroup": "rg", "serverName": "membersrv.database.windows.net", "sqlServerDatabaseId": null,
       "syncAgentId": null, "syncDirection": "OneWayHubToMember", "syncMemberAzureDatabaseResourceId": null,
       "syncState": "SyncSucceeded", "type": "Microsoft.Sql/servers/databases/syncGroups/syncMembers", "userName": "admin"},
      {"databaseName": "erp", "databaseType": "SqlServerDatabase", "name": "onprem", "sqlServerDatabaseId": "1234",
       "syncAgentId": "/…/syncAgents/agent1", "syncDirection": "Bidirectional", "syncState": "SyncSucceededWithWarnings", "userName": "sa"}
    ]"#;

    #[test]
    fn azure_cli_json_becomes_a_group() {
        let g: AzGroup = serde_json::from_str(GROUP).expect("the test input reads");
        let m = match serde_json::from_str::<AzMembers>(MEMBERS).expect("the test input reads") {
            AzMembers::List(v) | AzMembers::Page { value: v } => v,
        };
        let i = import(Some(g), m, None, None, None).expect("the test input reads");
        assert_eq!(i.group.name, "sales");
        assert!(i.group.hub.contains("hubsrv.database.windows.net") && i.group.hub.contains("Database=hubdb"));
        assert!(i.group.hub.contains("${HUB_PASSWORD}"));
        assert_eq!(i.group.conflict_policy.plugin, "builtin:member-wins");
        assert_eq!(i.group.interval_seconds, Some(60));
        assert_eq!(i.group.tables[0].namespace.as_deref(), Some("sales"));
        assert_eq!(i.group.tables[0].columns, vec!["Id", "Name"]);
        assert_eq!(i.group.members[0].direction, SyncDirection::FromHub);
        assert!(i.group.members[0].url.contains("${SHOP_1_PASSWORD}"));
        assert!(i.group.members[1].url.contains("ON-PREMISES-HOST"));
        assert!(i.notes.iter().any(|n| n.contains("5-minute minimum")), "{:?}", i.notes);
        assert!(i.notes.iter().any(|n| n.contains("--since 2026-12-01T09:30:00+00:00")));
        assert!(i.notes.iter().any(|n| n.contains("onprem: Azure reports SyncSucceededWithWarnings")));
        assert!(i.group.problems().is_empty(), "{:?}", i.group.problems());
    }

    /// Shaped like `Get-AzSqlSyncGroup | ConvertTo-Json` and `Get-AzSqlSyncMember | ConvertTo-Json`.
    #[test]
    fn powershell_json_becomes_the_same_group() {
        let g: AzGroup = serde_json::from_str(
            r#"{"ResourceId": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Sql/servers/hubsrv/databases/hubdb/syncGroups/sales",
                "ResourceGroupName": "rg", "ServerName": "hubsrv", "DatabaseName": "hubdb", "SyncGroupName": "sales",
                "SyncDatabaseId": "x", "IntervalInSeconds": -1, "ConflictResolutionPolicy": "HubWin",
                "HubDatabaseUserName": "syncadmin", "HubDatabasePassword": null, "SyncState": "Good",
                "LastSyncTime": "2026-12-01T09:30:00Z", "Schema": null}"#,
        )
        .expect("the test input reads");
        let m = match serde_json::from_str::<AzMembers>(
            r#"[{"ResourceId": "x", "SyncMemberName": "shop-1", "SyncDirection": "OneWayMemberToHub",
                 "MemberDatabaseType": "AzureSqlDatabase", "MemberServerName": "membersrv", "MemberDatabaseName": "shop1",
                 "MemberDatabaseUserName": "admin", "SyncState": "SyncSucceeded"}]"#,
        )
        .expect("the test input reads")
        {
            AzMembers::List(v) | AzMembers::Page { value: v } => v,
        };
        let tables =
            vec![TableConfig { name: "t".into(), namespace: None, columns: Vec::new(), conflict_policy: None }];
        let i = import(Some(g), m, Some(tables), None, None).expect("the test input reads");
        assert_eq!(i.group.name, "sales");
        assert!(i.group.hub.contains("hubsrv.database.windows.net"), "{}", i.group.hub);
        assert_eq!(i.group.interval_seconds, None, "automatic sync was off");
        assert!(i.notes.iter().any(|n| n.contains("automatic sync was off")));
        assert_eq!(i.group.members[0].direction, SyncDirection::ToHub);
        assert!(
            i.group.members[0].url.contains("membersrv.database.windows.net")
                && i.group.members[0].url.contains("Database=shop1")
        );
    }

    #[test]
    fn the_rest_shape_nests_properties() {
        let g: AzGroup = serde_json::from_str(&format!(r#"{{"name": "sales", "id": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Sql/servers/s/databases/d/syncGroups/sales", "properties": {GROUP}}}"#)).expect("the test input reads");
        let m = match serde_json::from_str::<AzMembers>(&format!(r#"{{"value": {MEMBERS}}}"#))
            .expect("the test input reads")
        {
            AzMembers::List(v) | AzMembers::Page { value: v } => v,
        };
        let i = import(Some(g), m, None, None, Some("renamed")).expect("the test input reads");
        assert_eq!(i.group.name, "renamed");
        assert_eq!(i.group.members.len(), 2);
        assert!(import(None, Vec::new(), None, None, None).is_err(), "no name, no tables");
        assert_eq!(unquote("[a]]b].[c.d]"), (Some("a]b".into()), "c.d".into()));
    }
}
