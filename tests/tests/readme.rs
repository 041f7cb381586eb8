//! The README's examples, run as written: the code blocks are read from
//! README.md itself, only their placeholders (hosts, ports, paths, the
//! printed token) are filled in by the test. A documented example that
//! fails is a bug users meet first (`namespace = "public"` did).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use hubsync_tests::{Db, Engine, Workspace, built_plugin, free_port, hubsync_bin, hubsync_cmd, wait_for};

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The code blocks of the README fenced as `lang`, in order.
fn blocks(lang: &str) -> Vec<String> {
    let text = readme();
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim_end() == format!("```{lang}") => current = Some(String::new()),
            Some(block) if line.starts_with("```") => {
                out.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    out
}

/// Replace `from` (which must occur) by `to`.
fn fill(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the README example no longer contains {from:?}:\n{text}");
    text.replace(from, to)
}

#[test]
fn the_group_file_example_syncs_as_written() {
    let (hub, reporting, ws) = (Db::new(Engine::Postgres), Db::new(Engine::Mariadb), Workspace::new());
    hub.exec(
        "CREATE TABLE orders (id int PRIMARY KEY, customer text, region text, amount numeric(10,2), note text);
         INSERT INTO orders VALUES (1, 'ada', 'EU', 10.00, 'call first'), (2, 'bob', 'US', 20.00, NULL),
                                   (3, 'cy', 'EU', 30.00, 'fragile');",
    );
    let toml = blocks("toml").into_iter().next().expect("the README has a group file example");
    // The hub's password comes from the environment, as the example shows.
    let hub_url = hub.url.replacen("postgres://postgres@", "postgres://postgres:${HUB_PASSWORD}@", 1);
    assert_ne!(hub_url, hub.url, "the test hub URL has the form postgres://postgres@HOST/DB");
    let toml = fill(&toml, "postgres://sync:${HUB_PASSWORD}@db1/sales", &hub_url);
    let toml = fill(&toml, "mysql://sync@db2/reporting", &reporting.url);
    let file = ws.group_file(&toml);
    std::fs::create_dir_all(ws.dir().join("policies")).expect("mkdir");
    std::fs::copy(built_plugin("keep_larger_amount"), ws.dir().join("policies/keep-larger-amount.wasm"))
        .expect("copy the example policy");

    let run = |args: &[&str]| {
        let out = hubsync_cmd(args).env("HUB_PASSWORD", "not-checked-by-trust-auth").output().expect("run");
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["sync", "--config", &file]);
    // shop-1: a SQLite file beside the group file, every row.
    let shop = ws.dir().join("shop1.db");
    assert!(shop.exists(), "sqlite://shop1.db is relative to the group file");
    let sqlite = |sql: &str| {
        let out = Command::new("sqlite3").arg(&shop).arg(sql).output().expect("sqlite3");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(sqlite("SELECT group_concat(id) FROM (SELECT id FROM orders ORDER BY id);"), "1,2,3");
    // reporting: only EU orders, without the note column, called eu_orders.
    assert_eq!(reporting.scalar("SELECT GROUP_CONCAT(id ORDER BY id) FROM eu_orders;"), "1,3");
    let note = reporting.scalar(
        "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
         AND TABLE_NAME = 'eu_orders' AND COLUMN_NAME = 'note';",
    );
    assert_eq!(note, "0", "the note column is filtered out");
    // The table's own policy (keep-larger-amount) settles a conflict.
    hub.exec("UPDATE orders SET amount = 11.00 WHERE id = 1;");
    sqlite("UPDATE orders SET amount = 99.00 WHERE id = 1;");
    run(&["sync", "--config", &file]);
    assert_eq!(hub.scalar("SELECT amount FROM orders WHERE id = 1;"), "99.00", "the larger amount wins");
    run(&["verify", "--config", &file, "--member", "shop-1"]);
}

/// Run one line of a README `sh` block through `sh`, with `hubsync` on the
/// PATH and the environment the block exported; its standard output.
fn sh(line: &str, env: &[(&str, &str)]) -> String {
    let bin_dir = hubsync_bin().parent().expect("bin dir").to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut c = Command::new("sh");
    c.args(["-c", line]).env("PATH", path).stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("sh");
    assert!(
        out.status.success(),
        "README line failed: {line}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The lines of a block that are commands (comments and blank lines out,
/// `\` continuations joined).
fn commands(block: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut pending = String::new();
    for line in block.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => pending.push_str(head),
            None => {
                pending.push_str(line);
                out.push(std::mem::take(&mut pending));
            }
        }
    }
    out
}

#[test]
fn the_service_quick_start_and_its_curl_calls_run_as_written() {
    let (hub, ws) = (Db::new(Engine::Postgres), Workspace::new());
    hub.exec(
        "CREATE TABLE orders (id int PRIMARY KEY, total int); INSERT INTO orders VALUES (1, 10), (2, 20);
         CREATE TABLE customers (id int PRIMARY KEY, name text, secret text); INSERT INTO customers VALUES (1, 'ada', 'x');",
    );
    let blocks = blocks("sh");
    let quick = blocks.iter().find(|b| b.contains("hubsync serve --metadata")).expect("the quick start block");
    let curl = blocks.iter().find(|b| b.contains("curl -s")).expect("the curl block");
    let port = free_port().to_string();
    let shop = ws.dir().join("shop1.db");
    let fill_all = |s: &str| {
        let s = s.replace("127.0.0.1:7070", &format!("127.0.0.1:{port}"));
        let s = s.replace("postgres://sync:pw@db1/sales", &hub.url);
        let s = s.replace("sqlite:///srv/shop1.db", &format!("sqlite://{}", shop.display()));
        s.replace("sqlite://hubsync-meta.db", &format!("sqlite://{}", ws.dir().join("meta.db").display()))
    };
    let lines = commands(&fill_all(quick));
    assert!(lines[0].starts_with("hubsync serve"), "{lines:?}");
    // The first line starts the service; its first start prints the admin token.
    let mut serve = hubsync_cmd(&lines[0].split_whitespace().skip(1).collect::<Vec<_>>())
        .env("HUBSYNC_SECRET_KEY", "aHVic3luYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut out = serve.stdout.take().expect("stdout");
    let token = {
        use std::io::Read;
        let mut seen = String::new();
        let mut buf = [0u8; 256];
        while !seen.lines().any(|l| l.starts_with("hst_")) {
            let n = out.read(&mut buf).expect("read serve's output");
            assert!(n > 0, "serve printed no token: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        seen.lines().find(|l| l.starts_with("hst_")).expect("token").trim().to_owned()
    };
    let port_n: u16 = port.parse().expect("port");
    assert!(wait_for(Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port_n)).is_ok()));
    let server = format!("http://127.0.0.1:{port}");
    let env = [("HUBSYNC_SERVER", server.as_str()), ("HUBSYNC_TOKEN", token.as_str())];
    // The export line is what `env` does here.
    assert!(lines[1].starts_with("export HUBSYNC_SERVER="), "{lines:?}");
    for line in &lines[2..] {
        let line = line.split(" # ").next().unwrap_or(line).trim();
        sh(line, &env);
    }
    assert_eq!(
        Command::new("sqlite3")
            .arg(&shop)
            .arg("SELECT count(*) FROM orders;")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .expect("sqlite3"),
        "2"
    );
    let curls = commands(&fill_all(curl));
    assert_eq!(curls.len(), 2, "{curls:?}");
    for line in &curls {
        let answer = sh(line, &env);
        let json: serde_json::Value =
            serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{line}: not JSON ({e}): {answer}"));
        // A problem+json answer (an error) has a title and a status.
        assert!(json.get("title").is_none(), "{line}: {answer}");
    }
    assert!(sh(&curls[0], &env).contains("\"sales\""), "the group list names the group");
    // The events stream's example: its first lines are the snapshot.
    let events = blocks.iter().find(|b| b.contains("/api/v1/events")).expect("the events example");
    let events = commands(&fill_all(events));
    assert_eq!(events.len(), 1, "{events:?}");
    let first = sh(&events[0], &env);
    assert!(first.starts_with("event: snapshot\ndata: {\"type\":\"snapshot\""), "{first}");
    // The dashboard is at `/`: an anonymous visitor is sent to sign in.
    let page = sh(&format!("curl -s -o /dev/null -w '%{{redirect_url}}' {server}/"), &env);
    assert!(page.ends_with("/sign-in?next=/"), "{page}");
    let _ = serve.kill();
    let _ = serve.wait();
}

#[test]
fn the_data_sync_migration_steps_run_as_written() {
    use hubsync_tests::datasync::{Provisioning, Table, is_babelfish};
    if !hubsync_tests::mssql_available() {
        return;
    }
    let (hub, member, ws) = (Db::new(Engine::Mssql), Db::new(Engine::Mssql), Workspace::new());
    let table = Table {
        schema: "dbo",
        name: "Customer",
        columns: vec![("Id", "int", true, false), ("Name", "nvarchar(100)", false, true)],
    };
    const SCOPE: &str = "0f1e2d3c-0000-4000-8000-00000000beef";
    for db in [&hub, &member] {
        db.exec("CREATE TABLE dbo.Customer (Id int PRIMARY KEY, Name nvarchar(100))");
        db.exec("INSERT INTO dbo.Customer VALUES (1, N'one'), (2, N'two'), (3, N'three')");
        Provisioning {
            tables: vec![table.clone()],
            scopes: vec![SCOPE],
            old_layout: false,
            babelfish: is_babelfish(db),
        }
        .apply(db);
    }
    std::thread::sleep(Duration::from_millis(1200));
    let since = format!("{}Z", hub.scalar("SELECT CONVERT(varchar(23), GETUTCDATE(), 126)"));
    std::thread::sleep(Duration::from_millis(1200));
    hub.exec("UPDATE dbo.Customer SET Name = N'hub, after the last sync' WHERE Id = 1");
    member.exec("UPDATE dbo.Customer SET Name = N'member, after the last sync' WHERE Id = 2");
    // What PowerShell's Get-AzSqlSyncGroup / Get-AzSqlSyncMember | ConvertTo-Json give.
    std::fs::write(
        ws.dir().join("group.json"),
        serde_json::json!({"SyncGroupName": "sales", "IntervalInSeconds": 300, "ConflictResolutionPolicy": "HubWin",
            "LastSyncTime": since, "SyncState": "Good", "HubDatabaseUserName": "hubsync"})
        .to_string(),
    )
    .expect("group.json");
    std::fs::write(
        ws.dir().join("members.json"),
        serde_json::json!([{"SyncMemberName": "shop-1", "MemberDatabaseType": "AzureSqlDatabase",
            "MemberServerName": "127.0.0.1", "MemberDatabaseName": member.name(), "MemberDatabaseUserName": "hubsync",
            "SyncDirection": "Bidirectional", "SyncState": "SyncSucceeded"}])
        .to_string(),
    )
    .expect("members.json");
    let block = blocks("sh").into_iter().find(|b| b.contains("hubsync datasync import")).expect("the migration block");
    let lines = commands(&fill(&block, "2026-12-01T09:30:00Z", &since));
    let dir = ws.dir().display().to_string();
    let env =
        [("HUB_URL", hub.url.as_str()), ("MEMBER_URL", member.url.as_str()), ("SHOP_1_PASSWORD", "Hubsync-Test-1")];
    for line in &lines {
        sh(&format!("cd '{dir}' && {line}"), &env);
        if line.contains("datasync import") {
            // What the README asks of the user: the member's URL (this server's certificate is self-signed).
            let file = ws.dir().join("hubsync.toml");
            let toml = std::fs::read_to_string(&file).expect("the imported group file");
            std::fs::write(&file, fill(&toml, ";Encrypt=true", ";Encrypt=true;TrustServerCertificate=true"))
                .expect("edit");
        }
    }
    let rows = |db: &Db| db.query("SELECT Id, Name FROM dbo.Customer ORDER BY Id");
    assert_eq!(rows(&member), rows(&hub));
    assert_eq!(hub.scalar("SELECT Name FROM dbo.Customer WHERE Id = 2"), "member, after the last sync");
    assert_eq!(member.scalar("SELECT Name FROM dbo.Customer WHERE Id = 1"), "hub, after the last sync");
    for db in [&hub, &member] {
        assert_eq!(db.scalar("SELECT COUNT(*) FROM sys.schemas WHERE name = 'DataSync'"), "0");
    }
}

#[test]
fn the_plugin_loop_runs_as_written() {
    if !hubsync_tests::plugin_langs::available("the_plugin_loop_runs_as_written") {
        return;
    }
    let block =
        blocks("sh").into_iter().find(|b| b.contains("hubsync plugin new my-policy")).expect("the plugin block");
    let ws = Workspace::new();
    for line in commands(&block) {
        // The block's paths are relative to where the user stands: here, the workspace.
        sh(&format!("cd {} && {line}", ws.dir().display()), &[("PIP_DISABLE_PIP_VERSION_CHECK", "1")]);
    }
    assert!(ws.dir().join("my-policy/my-policy.wasm").exists());
}

#[test]
fn the_cases_example_passes_plugin_test_with_its_expectations() {
    let cases = blocks("json").into_iter().find(|b| b.contains("\"expect\"")).expect("the cases example");
    let ws = Workspace::new();
    let file = ws.dir().join("cases.json");
    std::fs::write(&file, &cases).expect("write");
    let policy = built_plugin("keep_larger_amount");
    let args = ["plugin", "test", policy.to_str().expect("utf-8"), "--cases", file.to_str().expect("utf-8")];
    let run = hubsync_tests::hubsync(&args);
    run.expect_ok("plugin test of the README's cases");
    // The same cases through a policy that answers otherwise fail, saying where.
    let run = hubsync_tests::hubsync(&["plugin", "test", "builtin:hub-wins", "--cases", file.to_str().expect("utf-8")]);
    assert!(!run.ok, "hub-wins met the expectations of keep-larger-amount");
    assert!(
        run.stderr.contains(r#"unmet: .decisions[0].decision: expected "take-member", found "take-hub""#),
        "{}",
        run.stderr
    );
}

#[test]
fn the_plugin_limits_example_is_a_valid_policy_line() {
    let line = blocks("toml").into_iter().find(|b| b.contains("limits = { memory_mib")).expect("the limits example");
    let (hub, member, ws) = (Db::new(Engine::Postgres), Db::new(Engine::Sqlite), Workspace::new());
    hub.exec("CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2)); INSERT INTO orders VALUES (1, 10.00);");
    std::fs::create_dir_all(ws.dir().join("policies")).expect("mkdir");
    std::fs::copy(built_plugin("keep_larger_amount"), ws.dir().join("policies/keep-larger-amount.wasm"))
        .expect("copy the policy");
    let file = ws.group_file(&format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\n{line}\n[[group.member]]\nname = \"m\"\nurl = \"{}\"\n\n[[group.table]]\nname = \"orders\"\n",
        hub.url, member.url
    ));
    hubsync_tests::hubsync(&["sync", "--config", &file]).expect_ok("sync with the limits example");
    assert_eq!(member.scalar("SELECT COUNT(*) FROM orders"), "1");
    // A limit out of range is refused before anything runs, saying which.
    std::fs::write(
        &file,
        std::fs::read_to_string(&file).expect("read").replace("memory_mib = 128", "memory_mib = 4096"),
    )
    .expect("write");
    let run = hubsync_tests::hubsync(&["sync", "--config", &file]);
    assert!(!run.ok && run.stderr.contains("limits.memory_mib must be between 1 and 1024"), "{}", run.stderr);
}

/// The commands of the README's tables (`| \`hubsync …\` | …`), each as
/// its subcommand path (alternatives like `create\|list` expanded) and the
/// flags the README gives it.
fn documented_commands() -> Vec<(Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    for line in readme().lines() {
        let Some(rest) = line.strip_prefix("| `hubsync ") else { continue };
        let Some((usage, _)) = rest.split_once('`') else { continue };
        let mut paths: Vec<Vec<String>> = vec![Vec::new()];
        for word in usage.split_whitespace() {
            let choices: Vec<&str> = word.split("\\|").collect();
            let is_word = |w: &&str| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase());
            if !choices.iter().all(is_word) {
                break;
            }
            paths = paths
                .iter()
                .flat_map(|p| choices.iter().map(move |c| [p.clone(), vec![c.to_string()]].concat()))
                .collect();
        }
        let flags: Vec<String> = usage
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| w.starts_with("--") && w.len() > 2)
            .map(str::to_owned)
            .collect();
        out.extend(paths.into_iter().map(|p| (p, flags.clone())));
    }
    out
}

/// Every command the README's tables list exists, and takes every flag the
/// README gives it (a renamed flag or a forgotten `--lang` is caught here).
#[test]
fn every_command_in_the_readme_tables_exists_with_its_flags() {
    let documented = documented_commands();
    assert!(documented.len() >= 35, "the tables were read: {documented:?}");
    let mut wrong = Vec::new();
    for (path, flags) in &documented {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = hubsync_cmd(&args).output().expect("hubsync --help");
        let help = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            wrong.push(format!(
                "hubsync {}: no such command\n{}",
                path.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        for flag in flags.iter().filter(|f| !help.contains(&format!("{f} ")) && !help.contains(&format!("{f}\n"))) {
            wrong.push(format!("hubsync {}: the README gives {flag}, which --help does not list", path.join(" ")));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
