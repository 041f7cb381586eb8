//! `/api/v1/events` as a client reads it: a snapshot first, then syncs
//! starting, progressing and ending and their history entries; every
//! instance of a deployment sharing a PostgreSQL metadata database serves
//! the same events, whichever instance ran the sync; a client that comes
//! back (to another instance, after one was killed) with `Last-Event-ID`
//! gets the entries it missed.

use std::process::{Child, Stdio};
use std::time::Duration;

use hubsync_api::Event;
use hubsync_tests::browser::{EventStream, SseEvent};
use hubsync_tests::{Db, Engine, Workspace, free_port, hubsync, hubsync_cmd, wait_for};

fn serve(ws: &Workspace, name: &str, meta: &str) -> (Child, u16) {
    let port = free_port();
    let child = hubsync_cmd(&[
        "serve",
        "--metadata",
        meta,
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--instance",
        name,
        "--lease-seconds",
        "3",
    ])
    .env("HUBSYNC_SECRET_KEY", "aHVic3luYy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=")
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(ws.dir().join(format!("{name}.log"))).expect("log"))
    .spawn()
    .expect("serve");
    assert!(wait_for(Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()));
    (child, port)
}

fn parsed(e: &SseEvent) -> Event {
    let ev: Event = serde_json::from_str(&e.data).unwrap_or_else(|err| panic!("{err}: {}", e.data));
    assert_eq!(ev.name(), e.name, "the SSE name is the event's type");
    ev
}

#[test]
fn every_instance_streams_the_same_events_and_a_client_resumes_elsewhere() {
    let ws = Workspace::new();
    let meta = Db::new(Engine::Postgres);
    let hub = Db::new(Engine::Postgres);
    // Rows enough for a sync of some seconds: progress is written each second.
    hub.exec("CREATE TABLE items (id INT PRIMARY KEY, name TEXT); INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 150000) i;");
    let member = Db::new(Engine::Sqlite);
    let file = ws.group_file(&format!(
        "[[group]]\nname = \"g\"\nhub = \"{}\"\nbatch_rows = 500\n\n[[group.member]]\nname = \"m\"\nurl = \"{}\"\n\n\
         [[group.table]]\nname = \"items\"\n",
        hub.url, member.url
    ));
    let token = hubsync(&["token", "create", "ops", "--role", "admin", "--metadata", &meta.url]);
    let token = token.expect_ok("token").trim().to_owned();
    let reader = hubsync(&["token", "create", "watch", "--role", "reader", "--metadata", &meta.url]);
    let reader = reader.expect_ok("reader token").trim().to_owned();
    let (mut a, port_a) = serve(&ws, "a", &meta.url);
    let (mut b, port_b) = serve(&ws, "b", &meta.url);
    let server_a = format!("http://127.0.0.1:{port_a}");
    hubsync(&["apply", &file, "--server", &server_a, "--token", &token]).expect_ok("apply");

    // No token: refused. A reader token: the stream, a snapshot first.
    let refused = EventStream::open(port_b, "/api/v1/events", &[]);
    assert_eq!(refused.status, 401);
    let auth = format!("Bearer {reader}");
    let mut on_b = EventStream::open(port_b, "/api/v1/events", &[("Authorization", &auth)]);
    assert_eq!(on_b.status, 200);
    let first = on_b.next(Duration::from_secs(10)).expect("a first event");
    assert!(matches!(parsed(&first), Event::Snapshot { .. }), "{first:?}");

    // A sync asked of instance a (run by whichever instance claims it):
    // instance b's stream shows it start, progress with a total, end, and
    // its history entry, in that order.
    hubsync(&["sync", "now", "g", "--server", &server_a, "--token", &token]).expect_ok("sync now");
    let (seen, ended) = on_b.until(Duration::from_secs(120), |e| e.name == "history");
    let events: Vec<Event> = seen.iter().map(parsed).collect();
    assert!(ended, "a history entry arrived: {events:?}");
    let pos = |f: &dyn Fn(&Event) -> bool| events.iter().position(f);
    let started = pos(&|e| matches!(e, Event::SyncStarted { sync } if sync.group == "g" && sync.member == "m"))
        .expect("sync-started");
    let ended_at = pos(&|e| matches!(e, Event::SyncEnded { member, .. } if member == "m"));
    let history = pos(&|e| matches!(e, Event::History { entry } if entry.member == "m" && entry.table == "items"))
        .expect("history");
    assert!(started < history && ended_at.is_none_or(|x| started < x), "{events:?}");
    let totals: Vec<(u64, Option<u64>)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Progress { sync } => Some((sync.changes_done, sync.changes_total)),
            _ => None,
        })
        .collect();
    assert!(totals.iter().any(|(_, t)| *t == Some(150_000)), "progress carried the total: {totals:?}\n{events:?}");
    assert!(totals.windows(2).all(|w| w[0].0 <= w[1].0), "progress only grows: {totals:?}");
    let last_id = seen.iter().rev().find_map(|e| e.id.clone()).expect("history events have ids");

    // b dies; the client comes back to a with the last id it saw, and gets
    // only what it missed: the entry of a second sync made meanwhile.
    let _ = b.kill();
    let _ = b.wait();
    drop(on_b);
    hub.exec("UPDATE items SET name = 'changed' WHERE id = 1;");
    hubsync(&["sync", "now", "g", "--wait", "--server", &server_a, "--token", &token]).expect_ok("second sync");
    let mut on_a =
        EventStream::open(port_a, "/api/v1/events", &[("Authorization", &auth), ("Last-Event-ID", &last_id)]);
    let (again, got) = on_a.until(Duration::from_secs(20), |e| e.name == "history");
    assert!(got, "the missed entry was replayed: {again:?}");
    let missed: Vec<Event> = again.iter().filter(|e| e.name == "history").map(parsed).collect();
    assert!(
        missed
            .iter()
            .all(|e| matches!(e, Event::History { entry } if entry.id > last_id.parse::<i64>().expect("id") && entry.rows_down == 1)),
        "only entries after {last_id}: {missed:?}"
    );
    let _ = a.kill();
    let _ = a.wait();
}
