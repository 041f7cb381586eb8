//! The dashboard in a real browser (Debian's chromium, headless, through
//! chromedriver) against `hubsync serve` run as a user runs it, with the
//! databases written by their own clients: signing in, the overview, a
//! sync started with *Sync now* and watched to the end with a total known
//! from the start, a conflict's two sides and a replay preview, a reader
//! who sees no button that changes anything, an agent's one-time key and
//! the agent coming online, and markup in data shown as text. Screenshots
//! of the pages land in `target/screenshots/`.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use hubsync_tests::browser::{Browser, http, screenshots};
use hubsync_tests::{Db, Engine, Served, Workspace, spawn_agent, wait_for};

/// The browser tests take turns: side by side on two cores, a sync in one
/// (300,000 rows) starved another's page waits, and their free ports could
/// meet (CI saw both, never a run on its own).
fn one_browser_at_a_time() -> MutexGuard<'static, ()> {
    static ONE: Mutex<()> = Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The port of a served URL.
fn port_of(s: &Served) -> u16 {
    s.url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
}

/// Sign in with `token` and land on the overview.
fn sign_in(b: &Browser, s: &Served, token: &str) {
    b.goto(&format!("{}/", s.url));
    assert!(b.url().contains("/sign-in"), "an anonymous visitor is sent to sign in: {}", b.url());
    b.fill("#token", token);
    b.click("form button[type=submit]");
    b.wait_text("h1", "Sync groups", 20);
}

/// The session cookie and CSRF token of a browser signed in with `token`,
/// got the way a browser gets them (for requests no page would make).
fn session_of(port: u16, token: &str) -> (String, String) {
    let a = http(
        port,
        "POST",
        "/sign-in",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!("token={token}&next=/"),
    );
    assert_eq!(a.status, 303, "sign-in answered {}: {}", a.status, a.body);
    let cookie = a.header("set-cookie").expect("a session cookie").split(';').next().expect("cookie").to_owned();
    let set = a.header("set-cookie").unwrap_or_default();
    for attribute in ["HttpOnly", "SameSite=Strict", "Max-Age="] {
        assert!(set.contains(attribute), "the session cookie has {attribute}: {set}");
    }
    let page = http(port, "GET", "/", &[("Cookie", &cookie)], "");
    let csrf = page.body.split("data-csrf=\"").nth(1).and_then(|r| r.split('"').next()).expect("csrf").to_owned();
    (cookie, csrf)
}

/// The groups the server holds.
fn groups(s: &Served) -> Vec<hubsync_api::GroupSummary> {
    let out = s.cli(&["group", "list", "--json"]);
    serde_json::from_str(out.expect_ok("group list")).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

fn shot(b: &Browser, name: &str) {
    b.screenshot(&screenshots().join(format!("{name}.png")));
}

#[test]
fn a_new_user_sets_up_a_group_in_three_steps_syncs_it_and_watches_the_progress_to_the_end() {
    let _one = one_browser_at_a_time();
    let Some(b) = Browser::start("dashboard: set-up, sync now with progress") else { return };
    let ws = Workspace::new();
    let (hub, lite, maria) = (Db::new(Engine::Postgres), Db::new(Engine::Sqlite), Db::new(Engine::Mariadb));
    hub.exec(
        "CREATE TABLE customers (id INT PRIMARY KEY, name TEXT NOT NULL, secret TEXT); \
         INSERT INTO customers SELECT i, 'customer ' || i, 'hidden' FROM generate_series(1, 2000) i; \
         CREATE TABLE orders (id INT PRIMARY KEY, customer INT NOT NULL, amount NUMERIC(10,2)); \
         INSERT INTO orders SELECT i, 1 + i % 2000, i / 100.0 FROM generate_series(1, 300000) i; \
         CREATE TABLE audit (at TIMESTAMP, what TEXT);",
    );
    let served = Served::start(&ws, "dash");
    sign_in(&b, &served, &served.token);
    assert!(b.text("main").contains("No sync group yet"), "{}", b.text("main"));
    b.click("a[href='/new']");
    b.wait_text("h1", "New sync group", 10);

    // (c) A hub that cannot be reached: the API's error beside the field,
    // nothing created, what was typed kept.
    b.fill("#name", "shop");
    b.fill("#hub", "postgres://postgres@127.0.0.1:1/nowhere");
    b.click("button[value=members]");
    b.wait_text("#hub-error", "127.0.0.1:1", 20);
    assert_eq!(b.value("#name"), "shop");
    assert_eq!(b.value("#hub"), "postgres://postgres@127.0.0.1:1/nowhere");
    shot(&b, "setup-bad-hub");
    assert!(groups(&served).is_empty(), "nothing was created");

    // Step 1 again, right; step 2: two members, the second added.
    b.fill("#hub", &hub.url);
    b.click("button[value=members]");
    b.wait_text("legend", "Create sync group", 10);
    b.fill("#m_name_0", "store-lite");
    b.fill("#m_url_0", &lite.url);
    b.click("button[value=add-member]");
    b.fill("#m_name_1", "store-maria");
    b.fill("#m_url_1", &maria.url);
    assert_eq!(b.value("#m_name_0"), "store-lite", "the first member was kept");
    b.click("button[value=tables]");
    // Step 3: the hub's tables; the key locked, a table without a key disabled.
    b.wait_text("main", "Configure sync group", 10);
    assert!(b.has("input[name=t][value=audit][disabled]"), "a table without a key cannot be ticked");
    assert!(b.text("main").contains("no primary key"), "and says why");
    b.click("input[name=t][value=customers]");
    b.click("input[name=t][value=orders]");
    b.click("input[name=c][value='customers/secret']");
    shot(&b, "setup-tables");
    b.click("button[value=preview]");
    b.wait_text("main", "What saving will do", 20);
    let plan = b.text(".plan");
    assert!(plan.contains("store-maria") && plan.contains("created with columns id, name"), "{plan}");
    assert!(plan.contains("change tracking added"), "{plan}");
    b.js("document.querySelector('.plan').scrollIntoView()", vec![]);
    shot(&b, "setup-preview");
    assert!(groups(&served).is_empty(), "a preview saves nothing");
    b.click("button[value=save]");
    b.wait_text("main", "created", 20);
    b.wait_text("h1", "shop", 10);
    b.click("form[action='/groups/shop/sync'] button");
    // The bar shows a total from the start: "N of T changes". (300,000
    // orders: with bulk loads a smaller first sync ended before the page
    // had shown it.)
    let mut saw_total = false;
    let mut seen = Vec::new();
    let finished = wait_for(Duration::from_secs(120), || {
        let label = b.text(".bar-label");
        if label.contains(" of ") {
            saw_total = true;
            seen.push(label);
        }
        let t = b.text("main");
        t.matches("Succeeded").count() >= 2 && !t.contains("Syncing")
    });
    assert!(finished, "both members finished:\n{}", b.text("main"));
    assert!(saw_total, "a progress bar with a known total showed while the sync ran");
    let (first, last) = (seen.first().cloned().unwrap_or_default(), seen.last().cloned().unwrap_or_default());
    let total = |l: &str| l.split(" of ").nth(1).and_then(|r| r.split(' ').next()).map(|n| n.replace(',', ""));
    assert_eq!(total(&first), total(&last), "the total was known from the first reading: {seen:?}");
    shot(&b, "group-synced");
    // The charts: the rows just synced, one colour per member, by day and week.
    b.goto(&format!("{}/groups/shop", served.url));
    assert!(
        b.count("svg.chart-svg rect.s0") > 0 && b.count("svg.chart-svg rect.s1") > 0,
        "both members' bars are drawn"
    );
    let rows_chart = b.js("return document.querySelector('.chart svg').getAttribute('aria-label')", vec![]);
    assert!(rows_chart.as_str().unwrap_or_default().contains("604,000 rows in all"), "{rows_chart}");
    b.js("document.getElementById('activity').scrollIntoView()", vec![]);
    shot(&b, "group-activity");
    b.goto(&format!("{}/groups/shop?range=week", served.url));
    assert!(b.count("svg.chart-svg rect.s1") > 0, "the week shows them too");

    // The rows are in both members; the unticked column is not.
    assert_eq!(lite.scalar("SELECT count(*) FROM orders"), "300000");
    assert_eq!(maria.scalar("SELECT count(*) FROM orders"), "300000");
    assert_eq!(maria.scalar("SELECT count(*) FROM customers"), "2000");
    assert!(lite.try_exec("SELECT secret FROM customers").is_err(), "the unticked column was not created");

    // The log shows the syncs; the overview the group as Good.
    b.goto(&format!("{}/logs?group=shop", served.url));
    b.wait_text("main", "store-maria", 10);
    shot(&b, "logs");
    b.goto(&format!("{}/", served.url));
    b.wait_text("main", "Good", 10);
    shot(&b, "overview");
    b.size(390, 844);
    shot(&b, "overview-phone");
    // Dark mode: the page follows the system's colours.
    b.dark();
    b.goto(&format!("{}/groups/shop", served.url));
    let bg = b.js("return getComputedStyle(document.body).backgroundColor", vec![]);
    assert_eq!(bg, serde_json::json!("rgb(15, 18, 22)"), "dark background");
    shot(&b, "group-dark-phone");
}

#[test]
fn a_conflict_shows_both_sides_marked_and_a_replay_previews_member_wins() {
    let _one = one_browser_at_a_time();
    let Some(b) = Browser::start("dashboard: conflicts") else { return };
    let ws = Workspace::new();
    let (hub, member) = (Db::new(Engine::Postgres), Db::new(Engine::Sqlite));
    hub.exec("CREATE TABLE notes (id INT PRIMARY KEY, body TEXT, stars INT); INSERT INTO notes VALUES (1, 'first', 1), (2, 'second', 2);");
    let file = ws.group_file(&format!(
        "[[group]]\nname = \"notes\"\nhub = \"{}\"\n\n[[group.member]]\nname = \"desk\"\nurl = \"{}\"\n\n\
         [[group.table]]\nname = \"notes\"\n",
        hub.url, member.url
    ));
    let served = Served::start(&ws, "conflicts");
    served.cli(&["apply", &file]).expect_ok("apply");
    served.cli(&["sync", "now", "notes", "--wait"]).expect_ok("first sync");
    // Both sides change row 1 before the next sync; the member's value is markup.
    hub.exec("UPDATE notes SET body = 'hub edit', stars = 5 WHERE id = 1;");
    member.exec("UPDATE notes SET body = '<img src=x onerror=alert(1)>' WHERE id = 1;");
    served.cli(&["sync", "now", "notes", "--wait"]).expect_ok("sync with a conflict");

    sign_in(&b, &served, &served.token);
    b.goto(&format!("{}/groups/notes/conflicts", served.url));
    b.wait_text("main", "take-hub", 10);
    assert!(b.has("table.sides tr.differs"), "the differing columns are marked");
    let sides = b.text("table.sides");
    assert!(
        sides.contains("hub edit") && sides.contains("<img src=x onerror=alert(1)>"),
        "both images, markup as text:\n{sides}"
    );
    assert_eq!(b.count("main img"), 0, "no element was made from the data");
    assert!(b.dialog().is_none(), "no script from the data ran");
    assert!(b.text("main").contains("builtin:hub-wins"), "the plugin that decided is named");
    shot(&b, "conflicts");

    b.js("document.querySelector(\"select[name=policy]\").value = 'builtin:member-wins'", vec![]);
    b.click("form[action='/groups/notes/conflicts/replay'] button");
    b.wait_text("main", "decided the same", 20);
    assert!(b.text("main").contains("1 otherwise"), "member-wins decides the conflict otherwise:\n{}", b.text("main"));
    assert!(b.text("main").contains("take-member"));
    assert_eq!(hub.scalar("SELECT body FROM notes WHERE id = 1"), "hub edit", "a replay writes nothing");
    shot(&b, "conflicts-replay");
}

#[test]
fn a_reader_sees_everything_and_no_button_that_changes_anything() {
    let _one = one_browser_at_a_time();
    let Some(b) = Browser::start("dashboard: reader") else { return };
    let ws = Workspace::new();
    let (hub, member) = (Db::new(Engine::Sqlite), Db::new(Engine::Sqlite));
    hub.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items VALUES (1, 'one');");
    let file = ws.group_file(&format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\n\n[[group.member]]\nname = \"m\"\nurl = \"{}\"\n\n[[group.table]]\nname = \"items\"\n",
        hub.url, member.url
    ));
    let served = Served::start(&ws, "reader");
    served.cli(&["apply", &file]).expect_ok("apply");
    served.cli(&["sync", "now", "g", "--wait"]).expect_ok("sync");
    let reader = served.cli(&["token", "create", "viewer", "--role", "reader"]);
    let reader = reader.expect_ok("reader token").trim().to_owned();

    sign_in(&b, &served, &reader);
    for page in ["/", "/groups/g", "/groups/g/conflicts", "/groups/g/quarantine", "/logs", "/agents"] {
        b.goto(&format!("{}{page}", served.url));
        b.wait_text("body", "hubsync", 10);
        let changing = b.count("main form[method=post]:not([action$='/conflicts/replay'])");
        assert_eq!(changing, 0, "{page} shows a reader {changing} forms that change something");
    }
    assert!(!b.has("a[href='/tokens']"), "a reader is not offered the tokens page");
    b.goto(&format!("{}/groups/g", served.url));
    shot(&b, "group-reader");

    // Forced, with a valid session and CSRF token: the API refuses.
    let port = port_of(&served);
    let (cookie, csrf) = session_of(port, &reader);
    let forced = http(
        port,
        "POST",
        "/groups/g/sync",
        &[("Cookie", &cookie), ("Content-Type", "application/x-www-form-urlencoded")],
        &format!("csrf={csrf}"),
    );
    assert_eq!(forced.status, 303);
    let flash = forced.headers.iter().filter(|(n, _)| n == "set-cookie").map(|(_, v)| v.clone()).collect::<String>();
    assert!(flash.contains("reader"), "the API's refusal is what the page shows: {flash}");
    let api = http(
        port,
        "POST",
        "/api/v1/groups/g/sync",
        &[("Authorization", &format!("Bearer {reader}")), ("Content-Type", "application/json")],
        "{}",
    );
    assert_eq!(api.status, 403, "{}", api.body);
}

#[test]
fn markup_in_data_is_text_and_a_cross_site_post_is_refused() {
    let _one = one_browser_at_a_time();
    let Some(b) = Browser::start("dashboard: XSS and CSRF") else { return };
    let ws = Workspace::new();
    let (hub, member) = (Db::new(Engine::Sqlite), Db::new(Engine::Sqlite));
    hub.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items VALUES (1, 'ok'), (2, 'bad');");
    // The member refuses one row; the database's message (naming its
    // constraint, which holds markup) lands in the log and the quarantine.
    member.exec(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, \
         CONSTRAINT \"<img src=x onerror=alert(2)>\" CHECK (name <> 'bad'));",
    );
    let file = ws.group_file(&format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\n\n[[group.member]]\nname = \"m\"\nurl = \"{}\"\n\n[[group.table]]\nname = \"items\"\n",
        hub.url, member.url
    ));
    let served = Served::start(&ws, "xss");
    served.cli(&["apply", &file]).expect_ok("apply");
    served.cli(&["sync", "now", "g", "--wait"]).expect_ok("sync");
    // Names cannot hold markup at all: the API says so and changes nothing.
    let refused = served.cli(&["member", "add", "g", "<b>x</b>", "--url", &member.url]);
    assert!(!refused.ok && refused.stderr.contains("name"), "a member name with markup is refused: {}", refused.stderr);

    sign_in(&b, &served, &served.token);
    for page in ["/", "/groups/g", "/groups/g/quarantine", "/logs?level=warning"] {
        b.goto(&format!("{}{page}", served.url));
        b.wait_text("body", "hubsync", 10);
        assert_eq!(b.count("main img"), 0, "{page}: no element was made from data");
        assert!(b.dialog().is_none(), "{page}: no script from data ran");
    }
    let all_text = b.js("return document.getElementById('main').textContent", vec![]);
    assert!(
        all_text.as_str().unwrap_or_default().contains("<img src=x onerror=alert(2)>"),
        "the log shows the markup as text"
    );
    b.goto(&format!("{}/groups/g/quarantine", served.url));
    assert!(
        b.text("main").contains("<img src=x onerror=alert(2)>"),
        "the quarantine shows it as text:\n{}",
        b.text("main")
    );
    shot(&b, "quarantine");

    // Pages carry a CSP without inline scripts and refuse framing.
    let port = port_of(&served);
    let (cookie, csrf) = session_of(port, &served.token);
    let page = http(port, "GET", "/", &[("Cookie", &cookie)], "");
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));

    // A post from another site: refused whatever it carries.
    let form = [("Cookie", cookie.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
    let from = |origin: &'static str| [form[0], form[1], ("Origin", origin)];
    let forged = http(port, "POST", "/groups/g/sync", &from("http://evil.example"), &format!("csrf={csrf}"));
    assert_eq!(forged.status, 403, "another origin: {}", forged.body);
    let no_token = http(port, "POST", "/groups/g/sync", &form, "");
    assert_eq!(no_token.status, 403, "no CSRF token: {}", no_token.body);
    let cross = http(
        port,
        "POST",
        "/groups/g/sync",
        &[form[0], form[1], ("Sec-Fetch-Site", "cross-site")],
        &format!("csrf={csrf}"),
    );
    assert_eq!(cross.status, 403, "a cross-site fetch: {}", cross.body);
    // The same post from this site goes through.
    let same = format!("http://127.0.0.1:{port}");
    let own = http(port, "POST", "/groups/g/sync", &[form[0], form[1], ("Origin", &same)], &format!("csrf={csrf}"));
    assert_eq!(own.status, 303, "{}", own.body);

    // Failed sign-ins are limited per address.
    let tries: Vec<u16> = (0..7)
        .map(|_| {
            http(
                port,
                "POST",
                "/sign-in",
                &[("Content-Type", "application/x-www-form-urlencoded")],
                "token=hst_no_such",
            )
            .status
        })
        .collect();
    assert_eq!(tries.last(), Some(&429), "{tries:?}");
}

#[test]
fn an_agent_is_created_its_key_shown_once_and_it_comes_online_with_its_database() {
    let _one = one_browser_at_a_time();
    let Some(b) = Browser::start("dashboard: agents") else { return };
    let ws = Workspace::new();
    let served = Served::start(&ws, "agents");
    sign_in(&b, &served, &served.token);
    b.goto(&format!("{}/agents", served.url));
    // A bad name: the API's error beside the field, what was typed kept.
    b.fill("#agent-name", "bad name!");
    b.click("form[action='/agents'] button");
    b.wait_text("#agent-name-error", "name", 10);
    assert_eq!(b.value("#agent-name"), "bad name!");
    b.fill("#agent-name", "branch-office");
    b.click("form[action='/agents'] button");
    b.wait_text("main", "Shown this once", 10);
    let key = b.value("#agent-key");
    assert!(key.starts_with("hsa_"), "the key: {key}");
    shot(&b, "agent-key");
    b.goto(&format!("{}/agents", served.url));
    assert!(!b.text("body").contains(&key) && !b.has("#agent-key"), "the key is shown once");

    let db = Db::new(Engine::Sqlite);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY);");
    let state = ws.dir().join("agent-state").display().to_string();
    let mut agent = spawn_agent(&ws, "agent.log", &["--service", &served.url, "--key", &key, "--state", &state]);
    let joined = wait_for(Duration::from_secs(30), || std::path::Path::new(&state).join("agent.json").exists());
    assert!(joined, "the agent joined with the key from the page");
    hubsync_tests::hubsync(&["agent", "db", "register", "books", "--url", &db.url, "--state", &state])
        .expect_ok("register");
    let online = wait_for(Duration::from_secs(30), || {
        b.goto(&format!("{}/agents", served.url));
        b.text("main").contains("Online") && b.text("main").contains("agent://branch-office/books")
    });
    shot(&b, "agents");
    let _ = agent.kill();
    let _ = agent.wait();
    assert!(online, "the agent shows online with its database:\n{}", b.text("main"));
}

#[test]
fn a_plugin_is_checked_on_upload_listed_with_its_use_and_removed() {
    let _one = one_browser_at_a_time();
    let Some(b) = Browser::start("dashboard: plugins") else { return };
    let ws = Workspace::new();
    let served = Served::start(&ws, "plugins");
    sign_in(&b, &served, &served.token);
    b.goto(&format!("{}/plugins", served.url));
    // Not a component: the server's check says so beside the field.
    let junk = ws.dir().join("junk.wasm");
    std::fs::write(&junk, b"not a component").expect("junk");
    b.fill("#plugin-file", &junk.display().to_string());
    b.fill("#plugin-name", "junk");
    b.click("form[action='/plugins'] button");
    assert!(wait_for(Duration::from_secs(10), || b.has("#plugin-file-error")), "{}", b.text("main"));
    assert!(!b.text("#plugin-file-error").is_empty());
    assert!(b.text("main").contains("No plugin uploaded"), "nothing was stored");
    assert_eq!(b.value("#plugin-name"), "junk", "what was typed is kept");
    // A real one: accepted, with its role and hash.
    let plugin = hubsync_tests::built_plugin("keep_larger_amount");
    b.fill("#plugin-file", &plugin.display().to_string());
    b.fill("#plugin-name", "larger");
    b.click("form[action='/plugins'] button");
    b.wait_text("main", "Plugin larger accepted", 20);
    assert!(b.text("main").contains("conflict-policy"), "{}", b.text("main"));
    shot(&b, "plugins");
    b.click("form[action='/plugins/larger/remove'] button");
    if b.dialog().is_some() {
        b.accept_dialog();
    }
    b.wait_text("main", "plugin larger removed", 10);
    assert!(!b.has("form[action='/plugins/larger/remove']"));
}
