//! `hubsync verify` proves convergence: on every engine pair it finds a
//! member changed behind hubsync's back (rows edited, deleted and added
//! with capture off, a TRUNCATE on MariaDB, which fires no trigger), lists
//! the keys with both row images, and `--repair` sends the hub's rows again
//! so the next sync fixes them. A TRUNCATE on a PostgreSQL hub converges by
//! itself. Also here: one member's problem does not stop the others, and an
//! existing member table whose key collation folds is refused.

use hubsync_tests::{Db, Engine, Workspace, hubsync, sync_settled};

const ENGINES: [Engine; 3] = [Engine::Sqlite, Engine::Postgres, Engine::Mariadb];

fn group(hub: &Db, members: &[(&str, &Db)], table: &str) -> String {
    let mut s = format!("[[group]]\nname = \"g\"\nhub = \"{}\"\n", hub.url);
    for (name, db) in members {
        s.push_str(&format!("\n[[group.member]]\nname = \"{name}\"\nurl = \"{}\"\n", db.url));
    }
    s.push_str(&format!("\n[[group.table]]\nname = \"{table}\"\n"));
    s
}

/// Write on `db` without hubsync capturing it.
fn behind_hubsyncs_back(db: &Db, sql: &str) {
    match db.engine {
        // Triggers do not fire for replicas.
        Engine::Postgres => db.exec(&format!("SET session_replication_role = replica;\n{sql}")),
        // Take the triggers away, write, put them back.
        Engine::Sqlite => {
            let triggers: Vec<String> = db
                .query("SELECT name || char(31) || sql FROM sqlite_master WHERE type = 'trigger';")
                .into_iter()
                .map(|r| r.join("\u{1f}"))
                .collect();
            let mut script = String::from("BEGIN;\n");
            for t in &triggers {
                let (name, _) = t.split_once('\u{1f}').expect("name and sql");
                script.push_str(&format!("DROP TRIGGER \"{name}\";\n"));
            }
            script.push_str(sql);
            for t in &triggers {
                let (_, create) = t.split_once('\u{1f}').expect("name and sql");
                script.push_str(&format!("\n{create};\n"));
            }
            script.push_str("COMMIT;\n");
            db.exec(&script);
        }
        // Marked as hubsync's own write from the hub: recorded, never sent back.
        Engine::Mariadb => db.exec(&format!("SET @hubsync_origin = 'g/hub';\n{sql}")),
        Engine::Mssql => db.exec(&format!("EXEC sp_set_session_context N'hubsync.origin', N'g/hub';\n{sql}")),
    }
}

fn verify_json(file: &str, extra: &[&str]) -> (bool, serde_json::Value) {
    let mut args = vec!["verify", "--config", file, "--json"];
    args.extend_from_slice(extra);
    let out = hubsync(&args);
    (out.ok, serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("json: {e}\n{}", out.stdout)))
}

fn pair(source: Engine, dest: Engine) {
    let (hub, member, ws) = (Db::new(source), Db::new(dest), Workspace::new());
    let label = format!("{source:?} hub → {dest:?} member");
    hub.exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY, note varchar(40), n int);
         INSERT INTO t VALUES (1, 'one', 1), (2, 'two', 2), (3, 'three', 3), (4, 'four', 4), (5, 'five', 5);",
    );
    let file = ws.group_file(&group(&hub, &[("m", &member)], "t"));
    sync_settled(&file).0.expect_ok(&label);
    let (ok, _) = verify_json(&file, &[]);
    assert!(ok, "{label}: equal after the sync");

    behind_hubsyncs_back(
        &member,
        "UPDATE t SET note = 'edited' WHERE id = 2;\nDELETE FROM t WHERE id = 3;\nINSERT INTO t VALUES (9, 'stray', 9);\n",
    );
    let text = hubsync(&["verify", "--config", &file]);
    assert!(!text.ok, "{label}: verify exits non-zero on differences:\n{}", text.stdout);
    assert!(text.stdout.contains("1 missing on the member, 1 extra, 1 with other values"), "{label}:\n{}", text.stdout);
    assert!(
        text.stdout.contains(r#""note":"edited""#) && text.stdout.contains(r#""note":"two""#),
        "{label}: both images:\n{}",
        text.stdout
    );
    let (_, v) = verify_json(&file, &[]);
    assert_eq!(
        (v[0]["missing"].as_u64(), v[0]["extra"].as_u64(), v[0]["differ"].as_u64()),
        (Some(1), Some(1), Some(1)),
        "{label}: {v}"
    );

    // A plain sync does not see what was never captured; repair sends the hub's rows again.
    let (ok, v) = verify_json(&file, &["--repair"]);
    assert!(!ok && v[0]["repaired"].as_u64() == Some(3), "{label}: {v}");
    sync_settled(&file).0.expect_ok(&label);
    let (ok, v) = verify_json(&file, &[]);
    assert!(ok, "{label}: repaired: {v}");
    assert_eq!(member.scalar("SELECT note FROM t WHERE id = 2;"), "two", "{label}");
    assert_eq!(member.scalar("SELECT count(*) FROM t;"), "5", "{label}");

    if matches!(dest, Engine::Mariadb | Engine::Mssql) {
        // TRUNCATE fires no trigger on MySQL/MariaDB and SQL Server.
        member.exec("TRUNCATE TABLE t;");
        let (ok, v) = verify_json(&file, &["--repair"]);
        assert!(!ok && v[0]["missing"].as_u64() == Some(5), "{label}: truncated member: {v}");
        sync_settled(&file).0.expect_ok(&label);
        assert!(verify_json(&file, &[]).0, "{label}: repaired after TRUNCATE");
    }
}

#[test]
fn verify_finds_and_repairs_changes_made_behind_hubsyncs_back_on_every_pair() {
    for source in ENGINES {
        for dest in ENGINES {
            pair(source, dest);
        }
    }
}

#[test]
fn verify_finds_and_repairs_on_every_pair_with_sql_server() {
    if !hubsync_tests::mssql_available() {
        return;
    }
    for (source, dest) in hubsync_tests::sql_server_pairs(&ENGINES) {
        pair(source, dest);
    }
}

#[test]
fn a_truncate_on_a_postgres_hub_reaches_every_member() {
    let (hub, lite, maria, ws) =
        (Db::new(Engine::Postgres), Db::new(Engine::Sqlite), Db::new(Engine::Mariadb), Workspace::new());
    hub.exec("CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');");
    let file = ws.group_file(&group(&hub, &[("lite", &lite), ("maria", &maria)], "t"));
    sync_settled(&file).0.expect_ok("first sync");
    hub.exec("TRUNCATE t; INSERT INTO t VALUES (4, 'd');");
    let out = sync_settled(&file).0;
    out.expect_ok("sync after TRUNCATE");
    for m in [&lite, &maria] {
        assert_eq!(m.query("SELECT id, note FROM t;"), [["4", "d"]], "{:?}", m.engine);
    }
    assert!(verify_json(&file, &[]).0);
}

#[test]
fn one_member_that_cannot_be_prepared_does_not_stop_the_others() {
    let (hub, lite, maria, ws) =
        (Db::new(Engine::Postgres), Db::new(Engine::Sqlite), Db::new(Engine::Mariadb), Workspace::new());
    hub.exec(
        "CREATE TABLE tags (name varchar(20) PRIMARY KEY, n int);
         INSERT INTO tags VALUES ('abc', 1), ('ABC', 2), ('a', 3), ('a ', 4), ('é', 5), ('e', 6);",
    );
    // The application made the member's table itself, in MariaDB's default collation.
    maria.exec("CREATE TABLE tags (name varchar(20) NOT NULL PRIMARY KEY, n int) DEFAULT CHARSET=utf8mb4;");
    let file = ws.group_file(&group(&hub, &[("maria", &maria), ("lite", &lite)], "tags"));
    let out = sync_settled(&file).0;
    assert!(!out.ok, "the member that cannot hold the keys fails the run:\n{}", out.stdout);
    assert!(
        out.stdout.contains("collation")
            && out.stdout.contains("utf8mb4_nopad_bin")
            && out.stdout.contains("g / maria / tags: FAILED"),
        "the refusal names the collation and the fix:\n{}",
        out.stdout
    );
    assert!(out.stdout.contains("g / lite / tags: 6 down"), "the other member synced:\n{}", out.stdout);
    assert_eq!(lite.scalar("SELECT count(*) FROM tags;"), "6");
    assert_eq!(maria.scalar("SELECT count(*) FROM tags;"), "0", "nothing merged");
    let status = hubsync(&["status", "--config", &file]);
    assert!(status.stdout.contains("maria"), "status shows the failing member:\n{}", status.stdout);

    // The fix the message names works.
    maria.exec("ALTER TABLE tags MODIFY name varchar(20) COLLATE utf8mb4_nopad_bin NOT NULL;");
    sync_settled(&file).0.expect_ok("after the fix");
    assert_eq!(maria.scalar("SELECT count(*) FROM tags;"), "6", "six keys, six rows");
    assert!(verify_json(&file, &[]).0);
}

#[test]
fn verify_covers_members_that_only_upload_and_members_behind_a_schema_map() {
    let (hub, up, mapped, ws) =
        (Db::new(Engine::Postgres), Db::new(Engine::Sqlite), Db::new(Engine::Mariadb), Workspace::new());
    hub.exec("CREATE TABLE t (id int PRIMARY KEY, note varchar(40)); INSERT INTO t VALUES (1, 'one'), (2, 'two');");
    let file = ws.group_file(&format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\n\n\
         [[group.member]]\nname = \"up\"\nurl = \"{}\"\ndirection = \"to-hub\"\n\n\
         [[group.member]]\nname = \"mapped\"\nurl = \"{}\"\n\
         schema_map = {{ plugin = \"builtin:schema-map\", config = {{ tables = {{ t = {{ name = \"t_m\", columns = {{ note = {{ name = \"remark\" }} }} }} }} }} }}\n\n\
         [[group.table]]\nname = \"t\"\n",
        hub.url, up.url, mapped.url
    ));
    sync_settled(&file).0.expect_ok("first sync");
    up.exec("INSERT INTO t VALUES (10, 'from up');");
    sync_settled(&file).0.expect_ok("upload");
    assert_eq!(mapped.scalar("SELECT remark FROM t_m WHERE id = 10;"), "from up");
    assert!(verify_json(&file, &[]).0, "all converged");

    // Behind hubsync's back: the uploading member edits its row, the mapped one loses one.
    behind_hubsyncs_back(&up, "UPDATE t SET note = 'edited on up' WHERE id = 10;\n");
    mapped.exec("SET @hubsync_origin = 'g/hub'; DELETE FROM t_m WHERE id = 1;");
    let (ok, v) = verify_json(&file, &[]);
    assert!(!ok, "{v}");
    let of = |m: &str| v.as_array().expect("array").iter().find(|x| x["member"] == m).expect("member").clone();
    assert_eq!(of("up")["differ"].as_u64(), Some(1), "{v}");
    assert_eq!(of("mapped")["missing"].as_u64(), Some(1), "{v}");
    assert_eq!(of("mapped")["differences"][0]["hub"]["note"], "one", "in the hub's terms: {v}");

    // The uploading member's row goes up again; the hub's row goes down again.
    verify_json(&file, &["--repair"]);
    sync_settled(&file).0.expect_ok("repairing sync");
    assert_eq!(hub.scalar("SELECT note FROM t WHERE id = 10;"), "edited on up");
    assert_eq!(mapped.scalar("SELECT remark FROM t_m WHERE id = 1;"), "one");
    let (ok, v) = verify_json(&file, &[]);
    assert!(ok, "{v}");
}

#[test]
fn under_watch_a_member_that_could_not_be_opened_joins_when_it_can() {
    let (hub, lite, ws) = (Db::new(Engine::Sqlite), Db::new(Engine::Sqlite), Workspace::new());
    hub.exec("CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, 'a');");
    // The late member's directory does not exist yet: it cannot be opened.
    let later = ws.dir().join("later");
    let file = ws.group_file(&format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\ninterval_seconds = 1\n\n\
         [[group.member]]\nname = \"lite\"\nurl = \"{}\"\n\n\
         [[group.member]]\nname = \"late\"\nurl = \"sqlite://{}/late.db?mode=rwc\"\n\n\
         [[group.table]]\nname = \"t\"\n",
        hub.url,
        lite.url,
        later.display()
    ));
    let mut watch = hubsync_tests::spawn_hubsync(&["sync", "--config", &file, "--watch"]);
    let count = |path: &std::path::Path| {
        std::process::Command::new("sqlite3")
            .arg(path)
            .arg("SELECT count(*) FROM t;")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let wait = std::time::Duration::from_secs(60);
    assert!(hubsync_tests::wait_for(wait, || count(lite.path()).as_deref() == Some("1")), "the other member syncs");
    std::fs::create_dir(&later).expect("mkdir");
    let joined = hubsync_tests::wait_for(wait, || count(&later.join("late.db")).as_deref() == Some("1"));
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(joined, "the member joined once it could be opened");
}
