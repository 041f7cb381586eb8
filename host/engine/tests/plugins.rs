//! Column filters and schema maps inside sync sessions: a member that holds
//! some columns and rows only, and a member whose table has other names and
//! types; changes flow both ways through them.

mod common;

use common::{Db, Kind, engine, group, sync_until_quiet};
use hubsync_core::PluginConfig;
use serde_json::json;

#[tokio::test]
async fn filtered_and_mapped_members_sync_both_ways() {
    let (hub, filtered, mapped) =
        (Db::new(Kind::Postgres).await, Db::new(Kind::Sqlite).await, Db::new(Kind::Mysql).await);
    hub.create_items().await;
    hub.exec("INSERT INTO items VALUES (1, 'small', 5, 1.50), (2, 'big', 50, 2.50), (3, 'bigger', 500, 3.50)").await;
    let e = engine().await;
    let mut config = group("g", &hub, &[&filtered, &mapped], "builtin:hub-wins", json!({}));
    config.members[0].column_filter = Some(PluginConfig {
        plugin: "builtin:column-filter".into(),
        config: json!({"tables": {"items": {"exclude": ["price"], "where": "qty >= 10"}}}),
        limits: None,
    });
    config.members[1].schema_map = Some(PluginConfig {
        plugin: "builtin:schema-map".into(),
        config: json!({"tables": {"items": {"name": "stock", "columns": {
            "name": {"name": "title"}, "qty": {"name": "amount", "type": "text"}}}}}),
        limits: None,
    });
    let g = e.engine.prepare(&config).await.expect("prepare");
    sync_until_quiet(&e.engine, &g, 4).await;
    assert!(g.compare().await.expect("compare").is_empty());

    let f_rows = || filtered.scalar("SELECT COUNT(*) FROM items");
    assert_eq!(f_rows().await, 2, "only rows with qty >= 10");
    assert_eq!(
        filtered.scalar("SELECT COUNT(*) FROM pragma_table_info('items') WHERE name = 'price'").await,
        0,
        "the filtered-out column is not created"
    );
    assert_eq!(mapped.scalar("SELECT COUNT(*) FROM stock WHERE amount = '500' AND title = 'bigger'").await, 1);

    // Changes come back through the map and the filter.
    mapped.exec("UPDATE stock SET title = 'renamed', amount = '7' WHERE id = 3").await;
    filtered.exec("UPDATE items SET name = 'from the filtered member' WHERE id = 2").await;
    hub.exec("UPDATE items SET qty = 99 WHERE id = 1").await; // now passes the filter
    sync_until_quiet(&e.engine, &g, 4).await;
    assert!(g.compare().await.expect("compare").is_empty(), "{:?}", g.compare().await);
    let hub_rows = hub.items().await;
    assert_eq!((hub_rows[&3].name.as_deref(), hub_rows[&3].qty), (Some("renamed"), Some(7)));
    assert_eq!(hub_rows[&2].name.as_deref(), Some("from the filtered member"));
    assert_eq!(hub_rows[&2].price.as_deref(), Some("2.5"), "a filtered member's update leaves other columns alone");
    assert_eq!(f_rows().await, 2, "row 3 left the filter (qty 7) and the member, row 1 entered both");
    assert_eq!(filtered.scalar("SELECT COUNT(*) FROM items WHERE id = 3").await, 0);
    assert_eq!(filtered.scalar("SELECT qty FROM items WHERE id = 1").await, 99);
    assert_eq!(mapped.scalar("SELECT COUNT(*) FROM stock WHERE title = 'from the filtered member'").await, 1);
}
