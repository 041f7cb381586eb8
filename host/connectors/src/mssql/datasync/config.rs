//! Data Sync's scope configuration (`scope_config_dss.config_data`): the
//! Sync Framework `SqlSyncProviderScopeConfiguration` XML, one `Adapter`
//! per table with the names of every object made for it and a `Col` per
//! synced column. Read as text and parsed here: Babelfish has no XQuery.

use hubsync_core::datasync::{DsColumn, DsTable};

/// `[a].[b]` (or `a.b`, or `[b]`) as its parts, `]]` undoubled.
pub(crate) fn split_name(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut chars = s.trim().chars().peekable();
    let mut cur = String::new();
    let mut bracket = false;
    while let Some(c) = chars.next() {
        match c {
            '[' if !bracket && cur.is_empty() => bracket = true,
            ']' if bracket => {
                if chars.peek() == Some(&']') {
                    chars.next();
                    cur.push(']');
                } else {
                    bracket = false;
                }
            }
            '.' if !bracket => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}

/// `[schema].[name]` of a name given with or without its schema.
pub(crate) fn schema_and_name(s: &str, default_schema: &str) -> (String, String) {
    let mut p = split_name(s);
    let name = p.pop().unwrap_or_default();
    (p.pop().unwrap_or_else(|| default_schema.to_owned()), name)
}

/// The tables of one configuration, or why it cannot be read.
pub(crate) fn parse(xml: &str) -> Result<Vec<DsTable>, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("the scope configuration is not XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "SqlSyncProviderScopeConfiguration" {
        return Err(format!(
            "the scope configuration's root is <{}>, not <SqlSyncProviderScopeConfiguration>",
            root.tag_name().name()
        ));
    }
    let mut out = Vec::new();
    for a in root.children().filter(|n| n.is_element() && n.tag_name().name() == "Adapter") {
        let attr = |k: &str| a.attribute(k).map(str::to_owned);
        let global = attr("GlobalName").or_else(|| attr("Name")).ok_or("an <Adapter> has no GlobalName")?;
        let (namespace, name) = schema_and_name(&global, "dbo");
        let columns = a
            .children()
            .filter(|n| n.is_element() && n.tag_name().name() == "Col")
            .map(|c| DsColumn {
                name: c.attribute("name").unwrap_or_default().to_owned(),
                data_type: c.attribute("type").unwrap_or_default().to_owned(),
                size: c.attribute("size").map(str::to_owned),
                nullable: c.attribute("null").is_some_and(|v| v.eq_ignore_ascii_case("true")),
                key: c.attribute("pk").is_some_and(|v| v.eq_ignore_ascii_case("true")),
            })
            .collect();
        let procedures = [
            "SelChngProc",
            "SelRowProc",
            "InsProc",
            "UpdProc",
            "DelProc",
            "InsMetaProc",
            "UpdMetaProc",
            "DelMetaProc",
            "BulkInsProc",
            "BulkUpdProc",
            "BulkDelProc",
        ]
        .iter()
        .filter_map(|k| attr(k))
        .collect();
        out.push(DsTable {
            tracking_table: attr("TrackingTable").unwrap_or_else(|| format!("[DataSync].[{name}_dss_tracking]")),
            triggers: ["InsTrig", "UpdTrig", "DelTrig"].iter().filter_map(|k| attr(k)).collect(),
            procedures,
            bulk_type: attr("BulkTableType"),
            namespace,
            name,
            columns,
            exists: false,
            left_out_not_null: Vec::new(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_on_dots_outside_brackets() {
        assert_eq!(split_name("[dbo].[Customer]"), vec!["dbo", "Customer"]);
        assert_eq!(split_name("[DataSync].[a.b]]c_dss_tracking]"), vec!["DataSync", "a.b]c_dss_tracking"]);
        assert_eq!(split_name("dbo.t"), vec!["dbo", "t"]);
        assert_eq!(schema_and_name("[t]", "dbo"), ("dbo".into(), "t".into()));
    }

    #[test]
    fn a_configuration_gives_tables_columns_and_object_names() {
        let xml = r#"<?xml version="1.0" encoding="utf-16"?>
<SqlSyncProviderScopeConfiguration xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" IsTemplate="false">
  <Adapter Name="[sales].[Order]" GlobalName="[sales].[Order]" TrackingTable="[DataSync].[Order_dss_tracking]"
     SelChngProc="[DataSync].[Order_dss_selectchanges_1-2]" InsMetaProc="[DataSync].[Order_dss_insertmetadata]"
     BulkTableType="[DataSync].[Order_dss_BulkType_1-2]" InsTrig="[sales].[Order_dss_insert_trigger]"
     UpdTrig="[sales].[Order_dss_update_trigger]" DelTrig="[sales].[Order_dss_delete_trigger]">
    <Col name="Region" type="nvarchar" size="10" param="@P_1" pk="true" />
    <Col name="Id" type="int" param="@P_2" pk="true" />
    <Col name="Note" type="nvarchar" size="max" null="true" param="@P_3" />
  </Adapter>
</SqlSyncProviderScopeConfiguration>"#;
        let t = parse(xml).expect("parses");
        assert_eq!(t.len(), 1);
        assert_eq!((t[0].namespace.as_str(), t[0].name.as_str()), ("sales", "Order"));
        assert_eq!(t[0].columns.iter().filter(|c| c.key).count(), 2);
        assert!(t[0].columns[2].nullable && t[0].columns[2].size.as_deref() == Some("max"));
        assert_eq!(t[0].triggers.len(), 3);
        assert_eq!(t[0].procedures.len(), 2);
        assert!(parse("<Other/>").expect_err("another root is refused").contains("SqlSyncProviderScopeConfiguration"));
        assert!(parse("not xml").is_err());
    }
}
