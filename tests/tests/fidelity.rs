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
    }
}

/// One declared type: its spelling on SQLite, PostgreSQL and MariaDB, and
/// values as literals of each engine. The first value is moderate (it fits
/// every engine's range, so members write it too); the rest are extremes
/// written on the hub.
struct Case {
    name: &'static str,
    decl: [&'static str; 3],
    values: &'static [[&'static str; 3]],
    /// Whether it is tried as a primary key too.
    key: bool,
}

const fn same(v: &'static str) -> [&'static str; 3] {
    [v, v, v]
}

const CASES: &[Case] = &[
    Case {
        name: "c_int",
        decl: ["INTEGER", "bigint", "bigint"],
        values: &[same("42"), same("-9223372036854775808"), same("9223372036854775807")],
        key: true,
    },
    Case {
        name: "c_small",
        decl: ["SMALLINT", "smallint", "smallint"],
        values: &[same("-32768"), same("32767")],
        key: false,
    },
    Case {
        name: "c_i32",
        decl: ["INT", "integer", "int"],
        values: &[same("-2147483648"), same("2147483647")],
        key: false,
    },
    Case {
        name: "c_ubig",
        decl: ["DECIMAL(20,0)", "numeric(20,0)", "bigint unsigned"],
        values: &[same("'42'"), same("'18446744073709551615'")],
        key: false,
    },
    Case {
        name: "c_clob",
        decl: ["CLOB", "text", "mediumtext"],
        values: &[same("'clob'"), same("'line one\nline two'")],
        key: false,
    },
    Case {
        name: "c_varbin",
        decl: ["BLOB", "bytea", "varbinary(16)"],
        values: &[
            ["X'0102'", "'\\x0102'::bytea", "X'0102'"],
            [
                "X'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF'",
                "'\\xffffffffffffffffffffffffffffffff'::bytea",
                "X'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF'",
            ],
        ],
        key: false,
    },
    Case {
        name: "c_dt",
        decl: ["DATETIME", "timestamp(0)", "datetime"],
        values: &[same("'2024-01-01 10:11:12'"), same("'1999-12-31 23:59:59'")],
        key: false,
    },
    Case {
        name: "c_bool",
        decl: ["BOOLEAN", "boolean", "tinyint(1)"],
        values: &[["1", "true", "1"], ["0", "false", "0"]],
        key: false,
    },
    Case {
        name: "c_float",
        decl: ["REAL", "double precision", "double"],
        values: &[same("0.1"), same("1.7976931348623157e308"), same("-2.2250738585072014e-308")],
        key: false,
    },
    Case { name: "c_real", decl: ["FLOAT", "real", "float"], values: &[same("1.5"), same("-0.25")], key: false },
    Case {
        name: "c_dec",
        decl: ["DECIMAL(12,2)", "numeric(12,2)", "decimal(12,2)"],
        values: &[same("'12.50'"), same("'9999999999.99'"), same("'-9999999999.99'")],
        key: true,
    },
    Case {
        name: "c_num",
        decl: ["NUMERIC", "numeric", "decimal(65,30)"],
        values: &[same("'1.5'"), same("'12345678901234567890123456789.123456789012345678901234567'")],
        key: false,
    },
    Case {
        name: "c_text",
        decl: ["TEXT", "text", "longtext"],
        values: &[same("'plain'"), same("''"), same("'ü ✓ 😀 it''s  '")],
        key: true,
    },
    Case {
        name: "c_vc",
        decl: ["VARCHAR(20)", "varchar(20)", "varchar(20)"],
        values: &[same("'short'"), same("'😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀'"), same("'a  '")],
        key: true,
    },
    Case {
        name: "c_char",
        decl: ["CHAR(5)", "char(5)", "char(5)"],
        values: &[same("'abcde'"), same("'ÄÖÜßé'")],
        key: false,
    },
    Case {
        name: "c_bytes",
        decl: ["BLOB", "bytea", "longblob"],
        values: &[["X'00FF'", "'\\x00ff'::bytea", "X'00FF'"], ["X''", "'\\x'::bytea", "X''"]],
        key: true,
    },
    Case {
        name: "c_date",
        decl: ["DATE", "date", "date"],
        values: &[same("'2024-02-29'"), same("'1000-01-01'"), same("'9999-12-31'")],
        key: true,
    },
    Case {
        name: "c_time",
        decl: ["TIME", "time", "time(6)"],
        values: &[same("'12:30:00'"), same("'00:00:00'"), same("'23:59:59.999999'")],
        key: false,
    },
    Case {
        name: "c_ts",
        decl: ["TIMESTAMP", "timestamp", "datetime(6)"],
        // SQLite keeps what the application wrote: a key of a time type is
        // found only in hubsync's spelling (README: SQLite keys).
        values: &[
            ["'2024-02-29 12:00:00.500000'", "'2024-02-29 12:00:00.5'", "'2024-02-29 12:00:00.5'"],
            same("'1000-01-01 00:00:00'"),
            same("'9999-12-31 23:59:59.999999'"),
        ],
        key: true,
    },
    Case {
        name: "c_ts3",
        decl: ["TIMESTAMP(3)", "timestamp(3)", "datetime(3)"],
        values: &[same("'2020-02-29 12:34:56.789'")],
        key: false,
    },
    Case {
        name: "c_tstz",
        decl: ["TIMESTAMPTZ", "timestamptz", "timestamp(6) NULL"],
        values: &[
            ["'2024-02-29 12:00:00+00:00'", "'2024-02-29 12:00:00+00'", "'2024-02-29 12:00:00'"],
            ["'1970-01-01 00:00:01+00:00'", "'1970-01-01 00:00:01+00'", "'1970-01-01 00:00:01'"],
            ["'2038-01-19 03:14:07.999999+00:00'", "'2038-01-19 03:14:07.999999+00'", "'2038-01-19 03:14:07.999999'"],
        ],
        key: true,
    },
    Case {
        name: "c_uuid",
        decl: ["UUID", "uuid", "uuid"],
        values: &[
            same("'123e4567-e89b-12d3-a456-426614174000'"),
            same("'00000000-0000-0000-0000-000000000000'"),
            same("'ffffffff-ffff-ffff-ffff-ffffffffffff'"),
        ],
        key: true,
    },
    Case {
        name: "c_json",
        decl: ["JSON", "jsonb", "json"],
        values: &[same("'{\"a\": [1, 2.5, null, true], \"é\": \"😀\"}'"), same("'[]'")],
        key: false,
    },
    Case { name: "c_json2", decl: ["JSON", "json", "json"], values: &[same("'{\"k\": {\"n\": -1}}'")], key: false },
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
    let id = ["INTEGER", "bigint", "bigint"][i];
    s.push_str(&format!("CREATE TABLE wide (id {id} NOT NULL PRIMARY KEY, {});\n", cols.join(", ")));
    for c in CASES.iter().filter(|c| c.key) {
        // A text or bytes key on MariaDB needs a bounded type; keys compare
        // exactly when the application's table says so (nopad_bin).
        let decl = match (e, c.name) {
            (Engine::Mariadb, "c_vc") => "varchar(20) COLLATE utf8mb4_nopad_bin",
            (Engine::Mariadb, "c_text") => "varchar(200) COLLATE utf8mb4_nopad_bin",
            (Engine::Mariadb, "c_bytes") => "varbinary(64)",
            (Engine::Mariadb, "c_tstz") => "timestamp(6)",
            _ => c.decl[i],
        };
        s.push_str(&format!("CREATE TABLE k_{} (k {decl} NOT NULL PRIMARY KEY, v {id});\n", c.name));
    }
    s
}

/// Rows: `n` rows of the wide table, each column cycling through its values
/// (from `first`), ids from `id0`; key tables get every value as a key.
fn inserts(e: Engine, id0: i64, moderate_only: bool) -> String {
    let i = at(e);
    let mut s = String::new();
    if e == Engine::Mariadb {
        s.push_str("SET NAMES utf8mb4; SET time_zone = '+00:00';\n");
    }
    let rows = if moderate_only { 1 } else { CASES.iter().map(|c| c.values.len()).max().unwrap_or(1) };
    for r in 0..rows {
        let vals: Vec<&str> = CASES.iter().map(|c| c.values[r % c.values.len()][i]).collect();
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
            keys.extend(TEXT_KEYS.iter().map(|k| k.to_string()));
        }
        if moderate_only {
            // Members write keys the hub does not have.
            keys.push(match c.name {
                "c_int" => "7".into(),
                "c_dec" => "'7.25'".into(),
                "c_vc" | "c_text" => "'member'".into(),
                "c_bytes" => ["X'0707'", "'\\x0707'::bytea", "X'0707'"][i].into(),
                "c_date" => "'2001-07-07'".into(),
                "c_ts" => "'2001-07-07 07:07:07'".into(),
                "c_tstz" => {
                    ["'2001-07-07 07:07:07+00:00'", "'2001-07-07 07:07:07+00'", "'2001-07-07 07:07:07'"][i].into()
                }
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
    }
    .to_lowercase()
}

fn pair(source: Engine, dest: Engine) {
    let (hub, member, ws) = (Db::new(source), Db::new(dest), Workspace::new());
    hub.exec(&ddl(source));
    hub.exec(&inserts(source, 1, false));
    let file = group_file(&ws, &hub, &member);
    let label = format!("{source:?} hub → {dest:?} member");
    let first = sync_settled(&file).0;
    assert!(first.ok, "{label}: first sync (creates the member's tables):\n{}\n{}", first.stdout, first.stderr);
    // A new process introspects the tables hubsync created: same types.
    let second = sync_settled(&file).0;
    assert!(second.ok, "{label}: second sync, a new process:\n{}\n{}", second.stdout, second.stderr);
    verify_same(&file, &format!("{label}, after the first syncs"));
    assert_eq!(member.scalar("SELECT count(*) FROM k_c_vc;"), "9", "{label}: six text keys stay six rows");

    // Limits carry over.
    let dec = member_type(&member, "wide", "c_dec");
    assert!(dec.contains("12,2"), "{label}: numeric(12,2) became {dec}");
    let vc = member_type(&member, "wide", "c_vc");
    assert!(vc.contains("20"), "{label}: varchar(20) became {vc}");
    let ts3 = member_type(&member, "wide", "c_ts3");
    assert!(ts3.contains('3'), "{label}: timestamp(3) became {ts3}");

    // The member's own application writes; the rows go up.
    member.exec(&inserts(dest, 100, true));
    let up = sync_settled(&file).0;
    assert!(up.ok, "{label}: sync of member writes:\n{}\n{}", up.stdout, up.stderr);
    assert!(!up.stdout.contains("quarantined"), "{label}: nothing quarantined:\n{}", up.stdout);
    verify_same(&file, &format!("{label}, after member writes"));
    assert_eq!(hub.scalar("SELECT count(*) FROM wide WHERE id >= 100;"), "2", "{label}");
}

#[test]
fn every_type_round_trips_from_sqlite() {
    for dest in ENGINES {
        pair(Engine::Sqlite, dest);
    }
}

#[test]
fn every_type_round_trips_from_postgres() {
    for dest in ENGINES {
        pair(Engine::Postgres, dest);
    }
}

#[test]
fn every_type_round_trips_from_mariadb() {
    for dest in ENGINES {
        pair(Engine::Mariadb, dest);
    }
}
