//! Cross-engine fidelity: for every source engine and every destination
//! engine, a table holding every declared type of the README's type tables
//! (with length, precision and scale variants, as values and as keys) is
//! created on the member by hubsync, introspected again by a new process,
//! and synced both ways with extreme values; `hubsync verify` then finds
//! hub and member equal, and the created types keep the declared limits.

use hubsync_tests::{Db, Engine, Workspace, hubsync, sync_settled};

const ENGINES: [Engine; 3] = [Engine::Sqlite, Engine::Postgres, Engine::Mariadb];

fn at(e: Engine) -> usize {
    match e {
        Engine::Sqlite => 0,
        Engine::Postgres => 1,
        Engine::Mariadb => 2,
        Engine::Mssql => 3,
    }
}

/// One declared type: its spelling on SQLite, PostgreSQL, MariaDB and SQL
/// Server, and
/// values as literals of each engine. The first value is moderate (it fits
/// every engine's range, so members write it too); the rest are extremes
/// written on the hub.
struct Case {
    name: &'static str,
    decl: [&'static str; 4],
    values: &'static [[&'static str; 4]],
    /// Whether it is tried as a primary key too.
    key: bool,
}

const fn same(v: &'static str) -> [&'static str; 4] {
    [v, v, v, v]
}

/// A text literal: T-SQL needs `N'…'` for characters beyond its code page.
const fn text(v: &'static str, n: &'static str) -> [&'static str; 4] {
    [v, v, v, n]
}

const CASES: &[Case] = &[
    Case {
        name: "c_int",
        decl: ["INTEGER", "bigint", "bigint", "bigint"],
        values: &[same("42"), same("-9223372036854775808"), same("9223372036854775807")],
        key: true,
    },
    Case {
        name: "c_small",
        decl: ["SMALLINT", "smallint", "smallint", "smallint"],
        values: &[same("-32768"), same("32767")],
        key: false,
    },
    Case {
        name: "c_i32",
        decl: ["INT", "integer", "int", "int"],
        values: &[same("-2147483648"), same("2147483647")],
        key: false,
    },
    Case {
        name: "c_ubig",
        decl: ["DECIMAL(20,0)", "numeric(20,0)", "bigint unsigned", "decimal(20,0)"],
        values: &[same("'42'"), same("'18446744073709551615'")],
        key: false,
    },
    Case {
        name: "c_clob",
        decl: ["CLOB", "text", "mediumtext", "nvarchar(max)"],
        values: &[same("'clob'"), same("'line one\nline two'")],
        key: false,
    },
    Case {
        name: "c_varbin",
        decl: ["BLOB", "bytea", "varbinary(16)", "varbinary(16)"],
        values: &[
            ["X'0102'", "'\\x0102'::bytea", "X'0102'", "0x0102"],
            [
                "X'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF'",
                "'\\xffffffffffffffffffffffffffffffff'::bytea",
                "X'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF'",
                "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
            ],
        ],
        key: false,
    },
    Case {
        name: "c_dt",
        decl: ["DATETIME", "timestamp(0)", "datetime", "datetime"],
        values: &[same("'2024-01-01 10:11:12'"), same("'1999-12-31 23:59:59'")],
        key: false,
    },
    Case {
        name: "c_bool",
        decl: ["BOOLEAN", "boolean", "tinyint(1)", "bit"],
        values: &[["1", "true", "1", "1"], ["0", "false", "0", "0"]],
        key: false,
    },
    Case {
        name: "c_float",
        decl: ["REAL", "double precision", "double", "float"],
        values: &[same("0.1"), same("1.7976931348623157e308"), same("-2.2250738585072014e-308")],
        key: false,
    },
    Case {
        name: "c_real",
        decl: ["FLOAT", "real", "float", "real"],
        values: &[same("1.5"), same("-0.25")],
        key: false,
    },
    Case {
        name: "c_dec",
        decl: ["DECIMAL(12,2)", "numeric(12,2)", "decimal(12,2)", "decimal(12,2)"],
        values: &[same("'12.50'"), same("'9999999999.99'"), same("'-9999999999.99'")],
        key: true,
    },
    Case {
        name: "c_num",
        decl: ["NUMERIC", "numeric", "decimal(65,30)", "decimal(38,10)"],
        values: &[same("'1.5'"), same("'12345678901234567890123456789.123456789012345678901234567'")],
        key: false,
    },
    Case {
        name: "c_text",
        decl: ["TEXT", "text", "longtext", "nvarchar(max)"],
        values: &[same("'plain'"), same("''"), text("'ü ✓ 😀 it''s  '", "N'ü ✓ 😀 it''s  '")],
        key: true,
    },
    Case {
        name: "c_vc",
        decl: ["VARCHAR(20)", "varchar(20)", "varchar(20)", "nvarchar(40)"],
        values: &[
            same("'short'"),
            text("'😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀'", "N'😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀'"),
            same("'a  '"),
        ],
        key: true,
    },
    Case {
        name: "c_char",
        decl: ["CHAR(5)", "char(5)", "char(5)", "nchar(5)"],
        values: &[same("'abcde'"), text("'ÄÖÜßé'", "N'ÄÖÜßé'")],
        key: false,
    },
    Case {
        name: "c_bytes",
        decl: ["BLOB", "bytea", "longblob", "varbinary(max)"],
        values: &[["X'00FF'", "'\\x00ff'::bytea", "X'00FF'", "0x00FF"], ["X''", "'\\x'::bytea", "X''", "0x"]],
        key: true,
    },
    Case {
        name: "c_date",
        decl: ["DATE", "date", "date", "date"],
        values: &[same("'2024-02-29'"), same("'1000-01-01'"), same("'9999-12-31'")],
        key: true,
    },
    Case {
        name: "c_time",
        decl: ["TIME", "time", "time(6)", "time(7)"],
        values: &[same("'12:30:00'"), same("'00:00:00'"), same("'23:59:59.999999'")],
        key: false,
    },
    Case {
        name: "c_ts",
        decl: ["TIMESTAMP", "timestamp", "datetime(6)", "datetime2(7)"],
        // SQLite keeps what the application wrote; hubsync finds the key
        // by value however it is spelled (README: SQLite keys).
        values: &[same("'2024-02-29T12:00:00.5'"), same("'1000-01-01 00:00:00'"), same("'9999-12-31 23:59:59.999999'")],
        key: true,
    },
    Case {
        name: "c_ts3",
        decl: ["TIMESTAMP(3)", "timestamp(3)", "datetime(3)", "datetime2(3)"],
        values: &[same("'2020-02-29 12:34:56.789'")],
        key: false,
    },
    Case {
        name: "c_tstz",
        decl: ["TIMESTAMPTZ", "timestamptz", "timestamp(6) NULL", "datetimeoffset(6)"],
        values: &[
            [
                "'2024-02-29 12:00:00+00:00'",
                "'2024-02-29 12:00:00+00'",
                "'2024-02-29 12:00:00'",
                "'2024-02-29 14:00:00 +02:00'",
            ],
            [
                "'1970-01-01 00:00:01+00:00'",
                "'1970-01-01 00:00:01+00'",
                "'1970-01-01 00:00:01'",
                "'1970-01-01 00:00:01 +00:00'",
            ],
            [
                "'2038-01-19 03:14:07.999999+00:00'",
                "'2038-01-19 03:14:07.999999+00'",
                "'2038-01-19 03:14:07.999999'",
                "'2038-01-18 22:14:07.999999 -05:00'",
            ],
        ],
        key: true,
    },
    Case {
        name: "c_uuid",
        decl: ["UUID", "uuid", "uuid", "uniqueidentifier"],
        values: &[
            same("'123e4567-e89b-12d3-a456-426614174000'"),
            same("'00000000-0000-0000-0000-000000000000'"),
            same("'ffffffff-ffff-ffff-ffff-ffffffffffff'"),
        ],
        key: true,
    },
    Case {
        name: "c_json",
        decl: ["JSON", "jsonb", "json", "nvarchar(max)"],
        values: &[
            text("'{\"a\": [1, 2.5, null, true], \"é\": \"😀\"}'", "N'{\"a\": [1, 2.5, null, true], \"é\": \"😀\"}'"),
            same("'[]'"),
        ],
        key: false,
    },
    Case {
        name: "c_json2",
        decl: ["JSON", "json", "json", "nvarchar(max)"],
        values: &[same("'{\"k\": {\"n\": -1}}'")],
        key: false,
    },
];

/// Keys that every engine keeps apart (case, accents, trailing spaces).
const TEXT_KEYS: [&str; 6] = ["'abc'", "'ABC'", "'a'", "'a '", "'é'", "'e'"];

/// The DDL of the wide table and the key tables on `e`.
fn ddl(e: Engine) -> String {
    let i = at(e);
    let mut s = String::new();
    if e == Engine::Mariadb {
        s.push_str("SET NAMES utf8mb4; SET time_zone = '+00:00';\n");
    }
    let cols: Vec<String> = CASES.iter().map(|c| format!("{} {}", c.name, c.decl[i])).collect();
    let id = ["INTEGER", "bigint", "bigint", "bigint"][i];
    s.push_str(&format!("CREATE TABLE wide (id {id} NOT NULL PRIMARY KEY, {});\n", cols.join(", ")));
    for c in CASES.iter().filter(|c| c.key) {
        // A text or bytes key on MariaDB needs a bounded type; keys compare
        // exactly when the application's table says so (nopad_bin).
        let decl = match (e, c.name) {
            (Engine::Mariadb, "c_vc") => "varchar(20) COLLATE utf8mb4_nopad_bin",
            (Engine::Mariadb, "c_text") => "varchar(200) COLLATE utf8mb4_nopad_bin",
            (Engine::Mariadb, "c_bytes") => "varbinary(64)",
            (Engine::Mariadb, "c_tstz") => "timestamp(6)",
            // SQL Server: a binary collation compares keys exactly; keys hold 900 bytes.
            (Engine::Mssql, "c_vc") => "nvarchar(40) COLLATE Latin1_General_100_BIN2",
            (Engine::Mssql, "c_text") => "nvarchar(200) COLLATE Latin1_General_100_BIN2",
            (Engine::Mssql, "c_bytes") => "varbinary(64)",
            _ => c.decl[i],
        };
        s.push_str(&format!("CREATE TABLE k_{} (k {decl} NOT NULL PRIMARY KEY, v {id});\n", c.name));
    }
    s
}

/// Rows: `n` rows of the wide table, each column cycling through its values
/// (from `first`), ids from `id0`; key tables get every value as a key.
/// With `sql_server` (a pair with SQL Server), values SQL Server cannot
/// hold are left out: decimals beyond 38 digits, and text keys that differ
/// only in trailing spaces (SQL Server compares `'a'` and `'a '` equal).
fn inserts(e: Engine, id0: i64, moderate_only: bool, sql_server: bool) -> String {
    let i = at(e);
    let mut s = String::new();
    if e == Engine::Mariadb {
        s.push_str("SET NAMES utf8mb4; SET time_zone = '+00:00';\n");
    }
    let rows = if moderate_only { 1 } else { CASES.iter().map(|c| c.values.len()).max().unwrap_or(1) };
    for r in 0..rows {
        let vals: Vec<&str> = CASES
            .iter()
            .map(|c| {
                let v = r % c.values.len();
                let v = if sql_server && c.name == "c_num" { 0 } else { v };
                c.values[v][i]
            })
            .collect();
        s.push_str(&format!("INSERT INTO wide VALUES ({}, {});\n", id0 + r as i64, vals.join(", ")));
    }
    // A row of NULLs.
    s.push_str(&format!(
        "INSERT INTO wide VALUES ({}, {});\n",
        id0 + rows as i64,
        vec!["NULL"; CASES.len()].join(", ")
    ));
    for c in CASES.iter().filter(|c| c.key) {
        let mut keys: Vec<String> =
            if moderate_only { vec![] } else { c.values.iter().map(|v| v[i].to_owned()).collect() };
        if c.name == "c_vc" && !moderate_only {
            // ('a  ' is a value already: SQL Server keeps neither 'a' nor 'a ' apart from it.)
            keys.extend(
                TEXT_KEYS.iter().filter(|k| !(sql_server && matches!(**k, "'a'" | "'a '"))).map(|k| k.to_string()),
            );
        }
        if moderate_only {
            // Members write keys the hub does not have.
            keys.push(match c.name {
                "c_int" => "7".into(),
                "c_dec" => "'7.25'".into(),
                "c_vc" | "c_text" => "'member'".into(),
                "c_bytes" => ["X'0707'", "'\\x0707'::bytea", "X'0707'", "0x0707"][i].into(),
                "c_date" => "'2001-07-07'".into(),
                "c_ts" => "'2001-07-07 07:07:07'".into(),
                "c_tstz" => [
                    "'2001-07-07 07:07:07+00:00'",
                    "'2001-07-07 07:07:07+00'",
                    "'2001-07-07 07:07:07'",
                    "'2001-07-07 07:07:07 +00:00'",
                ][i]
                    .into(),
                "c_uuid" => "'77777777-7777-7777-7777-777777777777'".into(),
                other => panic!("no member key for {other}"),
            });
        }
        for (n, k) in keys.iter().enumerate() {
            s.push_str(&format!("INSERT INTO k_{} VALUES ({k}, {});\n", c.name, id0 + n as i64));
        }
    }
    s
}

fn group_file(ws: &Workspace, hub: &Db, member: &Db) -> String {
    let mut toml = format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\n\n[[group.member]]\nname = \"m\"\nurl = \"{}\"\n\n[[group.table]]\nname = \"wide\"\n",
        hub.url, member.url
    );
    for c in CASES.iter().filter(|c| c.key) {
        toml.push_str(&format!("\n[[group.table]]\nname = \"k_{}\"\n", c.name));
    }
    ws.group_file(&toml)
}

fn verify_same(file: &str, when: &str) {
    let out = hubsync(&["verify", "--config", file]);
    assert!(out.ok, "{when}: verify finds differences:\n{}\n{}", out.stdout, out.stderr);
}

/// What a created column's type is, from the member's own catalog.
fn member_type(member: &Db, table: &str, column: &str) -> String {
    match member.engine {
        Engine::Sqlite => member.scalar(&format!("SELECT type FROM pragma_table_info('{table}') WHERE name = '{column}';")),
        Engine::Postgres => member.scalar(&format!(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '{table}'::regclass AND attname = '{column}';"
        )),
        Engine::Mariadb => member.scalar(&format!(
            "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}' AND COLUMN_NAME = '{column}';"
        )),
        Engine::Mssql => member.scalar(&format!(
            "SELECT CAST(TYPE_NAME(c.user_type_id) AS varchar(40)) + CASE \
               WHEN TYPE_NAME(c.user_type_id) IN ('nvarchar', 'nchar') THEN '(' + CAST(c.max_length / 2 AS varchar(10)) + ')' \
               WHEN TYPE_NAME(c.user_type_id) IN ('decimal', 'numeric') THEN '(' + CAST(c.precision AS varchar(10)) + ',' + CAST(c.scale AS varchar(10)) + ')' \
               WHEN TYPE_NAME(c.user_type_id) IN ('datetime2', 'time', 'datetimeoffset') THEN '(' + CAST(c.scale AS varchar(10)) + ')' \
               ELSE '' END FROM sys.columns c WHERE c.object_id = OBJECT_ID('{table}') AND c.name = '{column}'"
        )),
    }
    .to_lowercase()
}

fn pair(source: Engine, dest: Engine) {
    let (hub, member, ws) = (Db::new(source), Db::new(dest), Workspace::new());
    let sql_server = source == Engine::Mssql || dest == Engine::Mssql;
    hub.exec(&ddl(source));
    hub.exec(&inserts(source, 1, false, sql_server));
    let file = group_file(&ws, &hub, &member);
    let label = format!("{source:?} hub → {dest:?} member");
    let first = sync_settled(&file).0;
    assert!(first.ok, "{label}: first sync (creates the member's tables):\n{}\n{}", first.stdout, first.stderr);
    // A new process introspects the tables hubsync created: same types.
    let second = sync_settled(&file).0;
    assert!(second.ok, "{label}: second sync, a new process:\n{}\n{}", second.stdout, second.stderr);
    verify_same(&file, &format!("{label}, after the first syncs"));
    let text_keys = if sql_server { "7" } else { "9" };
    assert_eq!(
        member.scalar("SELECT count(*) FROM k_c_vc;"),
        text_keys,
        "{label}: distinct text keys stay distinct rows"
    );

    // Limits carry over.
    let dec = member_type(&member, "wide", "c_dec");
    assert!(dec.contains("12,2"), "{label}: numeric(12,2) became {dec}");
    // SQL Server's nvarchar counts UTF-16 code units: 20 characters take
    // 40 (the hub's nvarchar(40) may hold 40 characters: 80 on a member).
    let vc = member_type(&member, "wide", "c_vc");
    let length = match (source, dest) {
        (Engine::Mssql, Engine::Mssql) => "80",
        _ if sql_server => "40",
        _ => "20",
    };
    assert!(vc.contains(length), "{label}: varchar(20) became {vc}");
    let ts3 = member_type(&member, "wide", "c_ts3");
    assert!(ts3.contains('3'), "{label}: timestamp(3) became {ts3}");

    // The member's own application writes; the rows go up.
    member.exec(&inserts(dest, 100, true, sql_server));
    let up = sync_settled(&file).0;
    assert!(up.ok, "{label}: sync of member writes:\n{}\n{}", up.stdout, up.stderr);
    assert!(!up.stdout.contains("quarantined"), "{label}: nothing quarantined:\n{}", up.stdout);
    verify_same(&file, &format!("{label}, after member writes"));
    assert_eq!(hub.scalar("SELECT count(*) FROM wide WHERE id >= 100;"), "2", "{label}");
}

/// The destinations: the three engines, and SQL Server when one runs.
fn destinations() -> Vec<Engine> {
    let mut d = ENGINES.to_vec();
    if hubsync_tests::mssql_available() {
        d.push(Engine::Mssql);
    }
    d
}

#[test]
fn every_type_round_trips_from_sqlite() {
    for dest in destinations() {
        pair(Engine::Sqlite, dest);
    }
}

#[test]
fn every_type_round_trips_from_postgres() {
    for dest in destinations() {
        pair(Engine::Postgres, dest);
    }
}

#[test]
fn every_type_round_trips_from_mariadb() {
    for dest in destinations() {
        pair(Engine::Mariadb, dest);
    }
}

#[test]
fn every_type_round_trips_from_sql_server() {
    if !hubsync_tests::mssql_available() {
        return;
    }
    for dest in destinations() {
        pair(Engine::Mssql, dest);
    }
}
