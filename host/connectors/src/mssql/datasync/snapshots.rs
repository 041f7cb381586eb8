//! Snapshot tests of the T-SQL `hubsync datasync` runs: a takeover of the
//! connector's sample tables and the removals of a hub with two scopes
//! (one scope, then everything with the leftovers), for SQL Server and
//! Babelfish. `HUBSYNC_UPDATE_SNAPSHOTS=1` rewrites them.

use hubsync_core::datasync::{DsColumn, DsScope, DsTable};

use super::super::snapshots::{check, sample, section, simple};
use super::super::tsql::Flavor;
use super::{Found, Trigger, plan_removal, tsql};

/// A table of a scope with the objects Data Sync names for it.
fn table(schema: &str, name: &str, guid: &str) -> DsTable {
    let p = |k: &str| format!("[DataSync].[{name}_dss_{k}_{guid}]");
    let shared = |k: &str| format!("[DataSync].[{name}_dss_{k}]");
    DsTable {
        namespace: schema.into(),
        name: name.into(),
        columns: vec![DsColumn { name: "Id".into(), data_type: "int".into(), key: true, ..Default::default() }],
        tracking_table: format!("[DataSync].[{name}_dss_tracking]"),
        triggers: ["insert", "update", "delete"]
            .iter()
            .map(|k| format!("[{schema}].[{name}_dss_{k}_trigger]"))
            .collect(),
        procedures: [
            "selectchanges",
            "selectrow",
            "insert",
            "update",
            "delete",
            "bulkinsert",
            "bulkupdate",
            "bulkdelete",
        ]
        .iter()
        .map(|k| p(k))
        .chain(["insertmetadata", "updatemetadata", "deletemetadata"].iter().map(|k| shared(k)))
        .collect(),
        bulk_type: Some(format!("[DataSync].[{name}_dss_BulkType_{guid}]")),
        exists: true,
        left_out_not_null: Vec::new(),
    }
}

/// A hub with scopes 1 and 2 over `dbo.Customer` and `sales.Order`, a user
/// trigger on Customer, a leftover trigger and procedure, a stale marker.
fn hub() -> Found {
    let g1 = "11111111-1111-1111-1111-111111111111";
    let g2 = "22222222-2222-2222-2222-222222222222";
    let scope = |id: i64, g: &str| DsScope {
        local_id: id,
        name: g.into(),
        config_id: format!("c0nf{id}"),
        status: Some("C".into()),
        tables: vec![table("dbo", "Customer", g), table("sales", "Order", g)],
    };
    let scopes = vec![scope(1, g1), scope(2, g2)];
    let mut objects = Vec::new();
    for s in &scopes {
        for t in &s.tables {
            objects.push((super::last(&t.tracking_table), "U".to_owned()));
            objects.extend(t.procedures.iter().map(|p| (super::last(p), "P".to_owned())));
            objects.push((super::last(t.bulk_type.as_deref().unwrap_or_default()), "TT".to_owned()));
        }
    }
    objects.push(("Gone_dss_selectchanges_x".into(), "P".into()));
    objects.push(("my_report".into(), "P".into()));
    objects.sort();
    objects.dedup();
    let trig = |schema: &str, name: &str, table: &str| Trigger {
        schema: schema.into(),
        name: name.into(),
        table: table.into(),
        disabled: false,
        parent_id: 10,
        body: None,
    };
    let mut triggers = Vec::new();
    for (s, t) in [("dbo", "Customer"), ("sales", "Order")] {
        for k in ["insert", "update", "delete"] {
            triggers.push(trig(s, &format!("{t}_dss_{k}_trigger"), t));
        }
    }
    triggers.push(trig("dbo", "Gone_dss_insert_trigger", "Gone"));
    Found {
        schema: true,
        scopes,
        objects,
        triggers,
        tables: vec![
            ("dbo".into(), "Customer".into(), 10),
            ("sales".into(), "Order".into(), 11),
            ("dbo".into(), "Gone".into(), 12),
        ],
        markers: vec![(10, 0), (11, 0), (10, 1), (99, 0)],
        captured: Default::default(),
        problems: Vec::new(),
    }
}

fn render(f: Flavor) -> String {
    let mut out = String::new();
    let mut put = |title: &str, stmts: Vec<String>| section(&mut out, title, stmts);
    put(
        "reading",
        vec![
            tsql::SCHEMA.into(),
            tsql::SCOPES.into(),
            tsql::OBJECTS.into(),
            tsql::TRIGGERS.into(),
            tsql::TABLES.into(),
            tsql::MARKERS.into(),
        ],
    );
    put("tracking counts", vec![tsql::tracking_counts("Customer_dss_tracking", Some("2026-12-03T10:00:00"))]);
    put("takeover record", vec![tsql::ADOPTED_TABLE.into(), tsql::ADOPTED.into(), tsql::ADOPT.into()]);
    let to_hub = tsql::Announce {
        since_utc: "2026-12-03T10:00:00".into(),
        skip: Vec::new(),
        marks: vec![(1, "g/m1@k2".into()), (2, "g/m'2".into())],
    };
    let member = tsql::Announce { since_utc: "2026-12-03T10:00:00.250".into(), skip: vec![3], marks: Vec::new() };
    let triggers = ["[dbo].[orders_dss_insert_trigger]".to_owned(), "[dbo].[orders_dss_update_trigger]".into()];
    for (name, shape, a) in [("hub: sample", sample(), &to_hub), ("member: simple", simple(), &member)] {
        let t = tsql::takeover(f, &shape, 7, &triggers, "orders_dss_tracking", a);
        let mut all = t.setup;
        all.push(t.anchor);
        all.extend(t.announce);
        put(&format!("takeover, {name}"), all);
    }
    let found = hub();
    let (one, reasons) = plan_removal(&found, Some("1"), false).expect("scope 1");
    put(&format!("remove scope 1 (live on: {})", reasons.join(", ")), tsql::removal(&one));
    let (all, _) = plan_removal(&found, None, true).expect("all");
    put("remove everything, leftovers too", tsql::removal(&all));
    out
}

#[test]
fn sql_server_statements_are_pinned() {
    check("datasync-sqlserver.sql", &render(Flavor::SqlServer));
}

#[test]
fn babelfish_statements_are_pinned() {
    check("datasync-babelfish.sql", &render(Flavor::Babelfish));
}

#[test]
fn removal_names_only_data_sync_objects_and_keeps_what_another_scope_uses() {
    let found = hub();
    let (one, reasons) = plan_removal(&found, Some("1"), false).expect("scope 1");
    let sql = tsql::removal(&one).join("\n");
    assert!(sql.contains("Customer_dss_bulkinsert_11111111"), "scope 1's own procedures go");
    assert!(!sql.contains("22222222"), "scope 2's objects stay: {sql}");
    assert!(
        !sql.contains("DROP TRIGGER") && !sql.contains("_dss_tracking]"),
        "shared objects stay while scope 2 uses them"
    );
    assert!(!sql.contains("my_report"), "a user procedure is never touched");
    assert_eq!(reasons.len(), 2, "both tables' triggers fire and hubsync does not capture them");
    let (all, _) = plan_removal(&found, None, true).expect("all");
    let sql = tsql::removal(&all);
    let at =
        |needle: &str| sql.iter().position(|s| s.contains(needle)).unwrap_or_else(|| panic!("{needle} in {sql:?}"));
    assert!(at("DROP TRIGGER") < at("DROP PROCEDURE"));
    assert!(at("DROP PROCEDURE") < at("DROP TYPE"), "procedures take the types: they go first");
    assert!(at("DROP TYPE") < at("DROP TABLE [DataSync].[Customer_dss_tracking]"));
    assert!(at("Gone_dss_insert_trigger") < sql.len() && at("Gone_dss_selectchanges_x") < sql.len(), "leftovers go");
    assert!(!sql.iter().any(|s| s.contains("my_report")));
    assert!(sql.iter().any(|s| s.contains("DROP TABLE IF EXISTS [DataSync].[provision_marker_dss]")));
    let (stale, _) = plan_removal(&found, Some("2"), true).expect("scope 2 and the leftovers");
    assert!(tsql::removal(&stale).iter().any(|s| s.ends_with("object_id IN (99)")), "a marker of a gone table goes");
    assert!(plan_removal(&found, Some("nope"), false).is_err());
}

#[test]
fn a_trigger_reading_the_marker_of_another_object_id_is_a_leftover() {
    let mut found = hub();
    found.triggers[0].body = Some(
        "CREATE TRIGGER [dbo].[Customer_dss_insert_trigger] ON [dbo].[Customer] FOR INSERT AS BEGIN \
         SELECT @x = 1 FROM [DataSync].[provision_marker_dss] WHERE [object_id] = 1490104349 AND \
         [owner_scope_local_id] = 0 END"
            .into(),
    );
    found.triggers[1].body = Some("... WHERE [object_id] = 10 AND ...".into());
    let stale: Vec<_> = found.leftovers().into_iter().filter(|l| l.reason.contains("provision marker")).collect();
    assert_eq!(stale.len(), 1, "only the trigger whose literal differs from its table's id: {stale:?}");
    assert!(stale[0].object.contains("Customer_dss_insert_trigger") && stale[0].reason.contains("1490104349"));
}
