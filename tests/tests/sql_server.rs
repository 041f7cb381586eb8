//! A SQL Server hub (Babelfish here, `HUBSYNC_TEST_MSSQL` elsewhere) with a
//! PostgreSQL and a SQLite member, driven by `hubsync sync` as separate
//! processes while applications write all three through their own clients
//! (pymssql, `psql`, the system `sqlite3`); and the `hubsync db` commands
//! on SQL Server, with an ADO.NET connection string as users paste them.

use hubsync_tests::{Db, Engine, Workspace, hubsync, mssql_available, sync_settled};

const ITEMS: &str = "CREATE TABLE items (id int NOT NULL PRIMARY KEY, name varchar(40), qty int, price decimal(12,2));";

/// Every row of `items`, prices compared by value (the SQLite member's own
/// table stores `1.50` as the number 1.5).
fn rows(db: &Db) -> Vec<Vec<String>> {
    let mut rows = db.query("SELECT id, name, qty, CAST(price AS varchar(20)) FROM items ORDER BY id;");
    for r in &mut rows {
        if r[3].contains('.') {
            r[3] = r[3].trim_end_matches('0').trim_end_matches('.').to_owned();
        }
    }
    rows
}

#[test]
fn sql_server_hub_with_postgres_and_sqlite_members_converges_across_processes() {
    if !mssql_available() {
        return;
    }
    let (hub, pg, lite, ws) =
        (Db::new(Engine::Mssql), Db::new(Engine::Postgres), Db::new(Engine::Sqlite), Workspace::new());
    hub.exec(ITEMS);
    hub.exec(
        "INSERT INTO items VALUES (1, N'héllo ''quoted'' \"x\"', 1, 1.50), (2, 'two', 2, 2.25), (3, 'three', 3, NULL)",
    );
    // The SQLite member holds a row of its own already.
    lite.exec(&format!("{ITEMS} INSERT INTO items VALUES (50, 'lite only', 5, 5.05);"));
    let file = ws.group_file(&format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\n\n[[group.member]]\nname = \"pg\"\nurl = \"{}\"\n\n\
         [[group.member]]\nname = \"lite\"\nurl = \"{}\"\n\n[[group.table]]\nname = \"items\"\n",
        hub.url, pg.url, lite.url
    ));
    let sync = |what: &str| {
        let out = sync_settled(&file).0;
        assert!(out.ok, "{what}:\n{}\n{}", out.stdout, out.stderr);
        assert!(!out.stdout.contains("quarantined"), "{what}: nothing quarantined:\n{}", out.stdout);
    };
    sync("first sync");
    sync("second process");
    let want = rows(&hub);
    assert_eq!(want.len(), 4, "{want:?}");
    assert_eq!(rows(&pg), want);
    assert_eq!(rows(&lite), want);

    // Changes on all three, written by the applications' own clients.
    hub.exec("UPDATE items SET qty = 100 WHERE id = 1; DELETE FROM items WHERE id = 2; INSERT INTO items VALUES (4, 'from sql server', 4, 4.40)");
    pg.exec("UPDATE items SET name = 'renamed on pg' WHERE id = 3; INSERT INTO items VALUES (5, 'from pg', 5, 0.01);");
    lite.exec("DELETE FROM items WHERE id = 50; INSERT INTO items VALUES (6, 'from sqlite', 6, 6.60);");
    sync("sync of changes everywhere");
    sync("a second process after it");
    let want = rows(&hub);
    let ids: Vec<&str> = want.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["1", "3", "4", "5", "6"], "{want:?}");
    assert_eq!(want[0][2], "100");
    assert_eq!(want[1][1], "renamed on pg");
    assert_eq!(rows(&pg), want);
    assert_eq!(rows(&lite), want);
    let out = hubsync(&["verify", "--config", &file]);
    assert!(out.ok, "verify finds the three the same:\n{}\n{}", out.stdout, out.stderr);
}

#[test]
fn db_commands_work_on_sql_server_with_an_ado_net_connection_string() {
    if !mssql_available() {
        return;
    }
    let db = Db::new(Engine::Mssql);
    db.exec(&format!(
        "{ITEMS} CREATE TABLE odd (id int PRIMARY KEY, v sql_variant, rv rowversion, total AS (id * 2)); \
         CREATE TABLE nokey (a int);"
    ));
    // mssql://USER:PASSWORD@HOST:PORT/DB?… → Server=…;Database=…;User ID=…;Password=…
    let rest = db.url.strip_prefix("mssql://").expect("url");
    let (userinfo, after) = rest.split_once('@').expect("user");
    let (user, password) = userinfo.split_once(':').expect("password");
    let (hostport, dbq) = after.split_once('/').expect("db");
    let name = dbq.split('?').next().expect("name");
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "1433"));
    let ado = format!(
        "Server=tcp:{host},{port};Initial Catalog={name};User ID={user};Password={password};Encrypt=True;\
         TrustServerCertificate=True"
    );
    let out = hubsync(&["db", "introspect", &ado]);
    assert!(out.ok, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("items"), "{}", out.stdout);
    assert!(out.stdout.contains("sql_variant") && out.stdout.contains("computed"), "limits reported:\n{}", out.stdout);
    assert!(!out.stdout.contains(password) && !out.stderr.contains(password), "password shown");
    let bad = hubsync(&["db", "introspect", &ado.replace(password, "wrong-password")]);
    assert!(!bad.ok);
    assert!(!bad.stderr.contains("wrong-password"), "password shown in: {}", bad.stderr);
    assert!(bad.stderr.contains("login") || bad.stderr.contains("password"), "says why: {}", bad.stderr);
    let p = hubsync(&["db", "provision", &db.url, "items"]);
    assert!(p.ok, "{}\n{}", p.stdout, p.stderr);
    db.exec("INSERT INTO items VALUES (1, 'a', 1, 1.00)");
    let c = hubsync(&["db", "changes", &db.url, "items"]);
    assert!(c.ok, "{}\n{}", c.stdout, c.stderr);
    let v: serde_json::Value = serde_json::from_str(&c.stdout).expect("changes as JSON");
    let changes = v["changes"].as_array().expect("a list of changes");
    assert_eq!(changes.len(), 1, "{v}");
    assert_eq!(changes[0]["key"]["id"], 1, "{v}");
    assert_eq!(changes[0]["row"]["name"], "a", "{v}");
    assert_eq!(changes[0]["origin"], serde_json::Value::Null, "an application's write: {v}");
    let d = hubsync(&["db", "deprovision", &db.url, "--all"]);
    assert!(d.ok, "{}\n{}", d.stdout, d.stderr);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM sys.schemas WHERE name = 'hubsync'"), "0", "hubsync's schema is gone");
    assert_eq!(db.scalar("SELECT COUNT(*) FROM sys.triggers"), "0", "no trigger is left");
}
