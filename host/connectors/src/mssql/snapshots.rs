//! Snapshot tests: every statement of the SQL Server path, generated for
//! sample tables and compared with the committed text in `snapshots/`.
//! SQL Server itself is not on this machine (Babelfish runs the other
//! path live), so these pin what SQL Server and Azure SQL receive.
//! `HUBSYNC_UPDATE_SNAPSHOTS=1 cargo test -p hubsync-connectors snapshots`
//! rewrites them after a deliberate change; review the diff.

use hubsync_core::TableRef;

use super::tsql::{self, Flavor, Shape};
use super::types::DbCol;

/// A catalog column; text in a binary collation, as hubsync creates keys.
fn col(name: &str, base: &str, max_length: i32, precision: i32, scale: i32) -> DbCol {
    let mut c = DbCol::example(name, base, max_length, precision, scale);
    c.collation = matches!(base, "varchar" | "nvarchar").then(|| "Latin1_General_100_BIN2".into());
    c
}

/// `sales.order lines]` (an awkward name): a composite key of text and
/// binary, an identity column, money, datetime and a datetimeoffset.
pub(crate) fn sample() -> Shape {
    let mut id = col("line no", "int", 4, 10, 0);
    id.identity = true;
    let cols = [
        col("region", "nvarchar", 64, 0, 0),
        col("tag", "varbinary", 16, 0, 0),
        id,
        col("price", "money", 8, 19, 4),
        col("placed", "datetime", 8, 23, 3),
        col("at", "datetimeoffset", 10, 34, 7),
        col("note", "varchar", -1, 0, 0),
    ];
    Shape {
        table: TableRef { namespace: Some("sales".into()), name: "order lines]".into() },
        cols: cols.iter().map(DbCol::sql).collect(),
        keys: vec![0, 1],
    }
}

/// A one-column-key table in `dbo`.
pub(crate) fn simple() -> Shape {
    Shape {
        table: TableRef { namespace: None, name: "orders".into() },
        cols: [col("id", "bigint", 8, 19, 0), col("amount", "decimal", 9, 12, 2)].iter().map(DbCol::sql).collect(),
        keys: vec![0],
    }
}

fn render(f: Flavor) -> String {
    let mut out = String::new();
    let mut put = |title: &str, stmts: Vec<String>| section(&mut out, title, stmts);
    put("ensure_meta", tsql::ensure_meta());
    put("identity", tsql::identity());
    put("registry", vec![tsql::REGISTERED.into(), tsql::REGISTER.into(), tsql::REREGISTER.into()]);
    for (name, s) in [("sample", sample()), ("simple", simple())] {
        put(&format!("{name}: provision (new)"), tsql::provision(f, &s, 7, false, false));
        put(&format!("{name}: provision (key changed)"), tsql::provision(f, &s, 7, true, false));
        put(&format!("{name}: provision (columns changed)"), tsql::provision(f, &s, 7, false, true));
        put(&format!("{name}: read_changes"), vec![tsql::read_changes(f, &s, 7)]);
        put(&format!("{name}: upsert"), vec![tsql::staging(&s), tsql::upsert(&s)]);
        put(&format!("{name}: delete"), vec![tsql::delete(f, &s)]);
        put(&format!("{name}: lookup"), vec![tsql::lookup(f, &s, 7)]);
        put(&format!("{name}: scan"), vec![tsql::scan(f, &s, false), tsql::scan(f, &s, true)]);
        put(&format!("{name}: purge"), vec![tsql::purge(f, 7)]);
        put(&format!("{name}: reannounce"), vec![tsql::reannounce(f, &s, 7)]);
        put(&format!("{name}: is_empty"), vec![tsql::is_empty(&s.table)]);
        put(&format!("{name}: deprovision"), tsql::deprovision(&s.table, 7));
    }
    put(
        "create_table",
        tsql::create_table(
            &sample().table,
            &["[region] nvarchar(200) COLLATE Latin1_General_100_BIN2 NOT NULL".into(), "[n] bigint NULL".into()],
            &["region"],
            &[("by n".into(), false, vec!["n".into()]), ("u".into(), true, vec!["n".into(), "region".into()])],
            &["doc"],
        ),
    );
    put("deprovision_all", {
        let mut v = vec![tsql::TRIGGERS.to_owned(), tsql::OWN_TABLES.to_owned()];
        v.extend(tsql::drop_meta());
        v
    });
    put("introspection", vec![tsql::COLUMNS.into(), tsql::INDEXES.into(), tsql::FOREIGN_KEYS.into()]);
    put("pending", vec![tsql::pending(f, 7)]);
    put("watch_poll", vec![tsql::watch_poll(f, &[(7, 0), (8, 42)])]);
    out
}

/// Append a titled list of statements to a snapshot.
pub(crate) fn section(out: &mut String, title: &str, stmts: Vec<String>) {
    out.push_str(&format!("-- {title}\n"));
    for s in stmts {
        out.push_str(&s);
        out.push_str("\n;\n");
    }
    out.push('\n');
}

pub(crate) fn check(file: &str, got: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mssql/snapshots").join(file);
    if std::env::var_os("HUBSYNC_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, got).expect("write snapshot");
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if want != got {
        let first = want.lines().zip(got.lines()).position(|(a, b)| a != b).unwrap_or(0);
        panic!(
            "the T-SQL of {file} changed (first difference at line {}):\n  was: {}\n  now: {}\n\
             if deliberate, rerun with HUBSYNC_UPDATE_SNAPSHOTS=1 and review the diff",
            first + 1,
            want.lines().nth(first).unwrap_or(""),
            got.lines().nth(first).unwrap_or("")
        );
    }
}

#[test]
fn sql_server_statements_are_pinned() {
    check("sqlserver.sql", &render(Flavor::SqlServer));
}

#[test]
fn babelfish_statements_are_pinned() {
    check("babelfish.sql", &render(Flavor::Babelfish));
}
