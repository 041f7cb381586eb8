//! Wide tables onto a MariaDB member: tables of up to 1,000 columns of
//! generated type mixes (Data Sync's limit), made on a PostgreSQL hub with
//! `psql`, are created on the member by hubsync within InnoDB's row-size
//! rules and filled; a row whose values cannot fit an InnoDB page is
//! quarantined with the server's message and the other rows sync.

use hubsync_tests::{Db, Engine, Workspace, hubsync};

/// A PostgreSQL column type, a value of it for `row`, and a long value.
fn kind(pick: u64, row: usize) -> (&'static str, String) {
    match pick % 9 {
        0 => ("int", format!("{}", row * 7)),
        1 => ("text", format!("'text {row}'")),
        2 => ("numeric(10,2)", format!("{row}.25")),
        3 => ("varchar(30)", format!("'v{row}'")),
        4 => ("bigint", format!("{}", row as i64 * 1_000_000_007)),
        5 => ("timestamptz", "'2026-12-03 10:00:00+00'".into()),
        6 => ("boolean", "true".into()),
        7 => ("varchar(200)", format!("'long varchar {row}'")),
        _ => ("uuid", format!("'00000000-0000-0000-0000-{row:012}'")),
    }
}

/// `n` columns: the mix (int, text, numeric, varchar(30) in turn)
/// when `seed` is 0, else a mix drawn from `seed`.
fn columns(n: usize, seed: u64) -> Vec<u64> {
    let mut x = seed;
    (0..n)
        .map(|i| {
            if seed == 0 {
                return [0, 1, 2, 3][i % 4];
            }
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            x >> 33
        })
        .collect()
}

fn create(hub: &Db, table: &str, cols: &[u64], rows: usize) {
    let defs: Vec<String> = cols.iter().enumerate().map(|(i, &k)| format!("c{i} {}", kind(k, 0).0)).collect();
    let mut sql = format!("CREATE TABLE {table} (id int PRIMARY KEY, {});\n", defs.join(", "));
    for r in 1..=rows {
        // Most columns NULL, as in real wide tables; every tenth filled.
        let vals: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, &k)| if i % 10 == r % 10 { kind(k, r).1 } else { "NULL".into() })
            .collect();
        sql.push_str(&format!("INSERT INTO {table} VALUES ({r}, {});\n", vals.join(", ")));
    }
    hub.exec(&sql);
}

#[test]
fn wide_tables_of_any_mix_are_created_and_synced_on_mariadb() {
    let (hub, member, ws) = (Db::new(Engine::Postgres), Db::new(Engine::Mariadb), Workspace::new());
    // uuids: 300 uuid columns, 16 bytes each on PostgreSQL, 36 on MariaDB.
    let tables = [
        ("issue_mix", columns(400, 0)),
        ("mix_a", columns(1000, 7)),
        ("mix_b", columns(700, 11)),
        ("uuids", vec![8; 300]),
    ];
    for (name, cols) in &tables {
        create(&hub, name, cols, 20);
    }
    // A row of uuids with every value set: PostgreSQL holds it, no InnoDB page does.
    let full: Vec<String> = (0..300).map(|i| format!("'00000000-0000-0000-0000-{i:012}'")).collect();
    hub.exec(&format!("INSERT INTO uuids VALUES (999, {});", full.join(", ")));
    let mut file = format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\n\n[[group.member]]\nname = \"m\"\nurl = \"{}\"\n",
        hub.url, member.url
    );
    for (name, _) in &tables {
        file.push_str(&format!("\n[[group.table]]\nname = \"{name}\"\n"));
    }
    let file = ws.group_file(&file);
    let run = hubsync_tests::sync_settled(&file).0;
    run.expect_ok("sync of wide tables");
    for (name, cols) in &tables {
        let n: usize = member
            .scalar(&format!(
                "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{name}';"
            ))
            .parse()
            .expect("a count");
        assert_eq!(n, cols.len() + 1, "{name}: every column created");
        assert_eq!(member.scalar(&format!("SELECT COUNT(*) FROM {name} WHERE id < 999;")), "20", "{name}");
    }
    // The short varchars the page could not hold became TEXT with a length check.
    let checks = member.scalar(
        "SELECT COUNT(*) FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() \
         AND TABLE_NAME = 'issue_mix';",
    );
    assert!(checks.parse::<u32>().expect("count") > 0, "length checks on issue_mix");
    let last_varchar = "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
                        AND TABLE_NAME = 'issue_mix' AND COLUMN_NAME = 'c399';";
    assert_eq!(member.scalar(last_varchar), "text", "the last varchar(30) moved off-page");
    let too_long = member.try_exec(&format!("UPDATE issue_mix SET c399 = '{}' WHERE id = 1;", "z".repeat(31)));
    assert!(too_long.is_err(), "its check still refuses 31 characters");
    // The row no page holds is quarantined with MariaDB's message.
    let held = hubsync(&["quarantine", "--config", &file, "--json"]);
    let text = held.expect_ok("quarantine").to_owned();
    assert!(text.contains("Row size too large") && text.contains("999"), "{text}");
    assert_eq!(member.scalar("SELECT COUNT(*) FROM uuids WHERE id = 999;"), "0");
    // Values arrive as written.
    assert_eq!(member.scalar("SELECT c2 FROM issue_mix WHERE id = 2;"), "2.25");
    assert_eq!(member.scalar("SELECT c1 FROM issue_mix WHERE id = 1;"), "text 1");
    hub.exec("DELETE FROM uuids WHERE id = 999;");
    hubsync_tests::sync_settled(&file).0.expect_ok("second sync");
    hubsync(&["verify", "--config", &file]).expect_ok("verify");
}
