//! The sync metadata database on SQLite and on PostgreSQL: the same calls,
//! the same answers; migrations are idempotent and a newer store is refused.

mod common;

use hubsync_connectors::meta::{
    BatchCommit, ConflictRecord, MetaStore, Parked, QuarantineRecord, Scope, SessionRecord, Side,
};
use hubsync_core::Anchor;
use sqlx::{AssertSqlSafe, Executor};

fn scope(member: &str, table: &str) -> Scope {
    Scope { group: "g".into(), member: member.into(), table: table.into() }
}

async fn exercise(url: &str) {
    let m = MetaStore::open(url).await.expect("open");
    let s = scope("m0", "items");
    assert_eq!(m.anchor(&s, Side::Hub).await.expect("anchor"), Anchor::start());
    m.put_journal(&s, "[1]").await.expect("journal");
    m.put_journal(&s, "[2]").await.expect("journal again");
    assert_eq!(m.journal(&s).await.expect("journal").as_deref(), Some("[2]"));
    let conflict = ConflictRecord {
        at_micros: 5,
        key: r#"{"id":1}"#.into(),
        hub_row: Some(r#"{"id":1,"v":"h"}"#.into()),
        member_row: None,
        decision: "take-hub".into(),
        reason: None,
        plugin: "hub-wins 0.1.0".into(),
        plugin_sha256: "ab".into(),
        hub_changed_micros: Some(3),
        member_changed_micros: None,
    };
    let commit = BatchCommit {
        anchor: Some((Side::Hub, Anchor("42".into()))),
        conflicts: vec![conflict.clone()],
        park: vec![Parked { side: Side::Member, key_id: "k1".into(), image: "img".into() }],
        unpark: vec![],
        clear_journal: true,
        quarantine: vec![],
        release: vec![],
    };
    m.commit(&s, &commit).await.expect("commit");
    m.commit(&s, &BatchCommit { anchor: Some((Side::Hub, Anchor("43".into()))), ..Default::default() })
        .await
        .expect("commit again");
    assert_eq!(m.anchor(&s, Side::Hub).await.expect("anchor"), Anchor("43".into()));
    assert_eq!(m.anchor(&s, Side::Member).await.expect("anchor"), Anchor::start());
    assert_eq!(m.journal(&s).await.expect("journal"), None, "cleared with the batch");
    assert_eq!(m.parked(&s, Side::Member).await.expect("parked").len(), 1);
    let got = m.conflicts("g", 10).await.expect("conflicts");
    assert_eq!(got, vec![(s.clone(), conflict)]);
    m.commit(&s, &BatchCommit { unpark: vec![(Side::Member, "k1".into())], ..Default::default() })
        .await
        .expect("unpark");
    assert!(m.parked(&s, Side::Member).await.expect("parked").is_empty());

    // Quarantine: recorded with the batch, counted again when it fails again,
    // retried on request, released when it syncs, discarded on request.
    let q = |key: &str, at| QuarantineRecord {
        side: Side::Member,
        key_id: key.into(),
        key: Some(format!("{{\"id\": \"{key}\"}}")),
        stage: "reading it on member m0".into(),
        column: Some("at".into()),
        value: Some("yesterday-ish".into()),
        error: "not a timestamp".into(),
        at_micros: at,
    };
    let held = BatchCommit { quarantine: vec![q("k1", 10), q("k2", 10)], ..Default::default() };
    m.commit(&s, &held).await.expect("quarantine");
    m.commit(&s, &BatchCommit { quarantine: vec![q("k1", 20)], ..Default::default() }).await.expect("again");
    let list = m.quarantine(Some("g")).await.expect("list");
    assert_eq!(list.len(), 2);
    assert_eq!((list[0].attempts, list[0].first_micros, list[0].record.at_micros), (2, 10, 20));
    assert_eq!(m.retry_quarantined("g", Some(&[list[0].id])).await.expect("retry"), 1);
    let held = m.quarantined(&s, Side::Member).await.expect("held");
    assert!(held.iter().any(|(k, _, retry)| k == "k1" && *retry) && held.iter().any(|(k, _, r)| k == "k2" && !*r));
    m.retried(&s, Side::Member).await.expect("retried");
    assert!(m.quarantined(&s, Side::Member).await.expect("held").iter().all(|(_, _, retry)| !*retry));
    m.commit(&s, &BatchCommit { release: vec![(Side::Member, "k1".into())], ..Default::default() })
        .await
        .expect("release");
    assert_eq!(m.quarantine(None).await.expect("list").len(), 1);
    assert_eq!(m.discard_quarantined("g", None).await.expect("discard"), 1);
    assert!(m.quarantine(Some("g")).await.expect("list").is_empty());

    for (ok, started) in [(true, 100), (false, 200)] {
        let r = SessionRecord {
            scope: s.clone(),
            started_micros: started,
            duration_ms: 3,
            ok,
            rows_down: 1,
            rows_up: 2,
            conflicts: 1,
            message: (!ok).then(|| "boom".into()),
            warnings: 0,
            holder: None,
        };
        m.record_session(&r).await.expect("session");
    }
    let status = m.status(Some("g")).await.expect("status");
    assert_eq!(status.len(), 1);
    assert_eq!((status[0].last.ok, status[0].last_success_micros), (false, Some(100)));
    assert_eq!(m.status(None).await.expect("status").len(), 1);
    m.member_synced("g", "m0", 7).await.expect("synced");
    m.member_synced("g", "m0", 8).await.expect("synced");
    assert_eq!(m.member_last_success("g", "m0").await.expect("last"), Some(8));
    m.set_group_definition("g", "{}", 1).await.expect("definition");
    m.set_group_definition("g", "{\"x\":1}", 2).await.expect("definition");
    assert_eq!(m.group_definition("g").await.expect("definition").as_deref(), Some("{\"x\":1}"));
    m.forget("g", Some("m0"), None).await.expect("forget");
    assert_eq!(m.anchor(&s, Side::Hub).await.expect("anchor"), Anchor::start());
    assert_eq!(m.member_last_success("g", "m0").await.expect("last"), None);
    // Members behind an agent are claimed only where the agent is connected.
    let members = [("direct".to_owned(), None), ("far".to_owned(), Some("a1".to_owned()))];
    m.sync_leases("lg", &members, 0).await.expect("leases");
    let claim = |agents: Vec<String>| {
        let m = &m;
        async move { m.claim_due("i1", 10, 1_000_000, &agents).await.expect("claim") }
    };
    assert_eq!(claim(vec![]).await, Some(("lg".into(), "direct".into())));
    assert_eq!(claim(vec![]).await, None, "the agent member waits for its agent");
    assert_eq!(claim(vec!["other".into()]).await, None);
    assert_eq!(claim(vec!["other".into(), "a1".into()]).await, Some(("lg".into(), "far".into())));
    // Databases an agent reported: replaced as a whole, kept per agent.
    let db = |name: &str, reachable: bool| hubsync_connectors::meta::AgentDatabase {
        agent: "a1".into(),
        name: name.into(),
        engine: Some("SQLite".into()),
        reachable,
        error: (!reachable).then(|| "no credentials".into()),
        tables: vec!["items".into()],
        updated_micros: 0,
    };
    m.set_agent_databases("a1", &[db("x", true), db("y", false)], 5).await.expect("databases");
    m.set_agent_databases("a1", &[db("y", false)], 6).await.expect("databases");
    let got = m.agent_databases(Some("a1")).await.expect("read");
    assert_eq!((got.len(), got[0].name.as_str(), got[0].reachable), (1, "y", false));
    assert_eq!(got[0].tables, ["items"]);
    assert!(m.agent_databases(Some("a2")).await.expect("read").is_empty());

    // Activity: table syncs summed per member and interval.
    for (member, at, down, ok) in [("a", 1_000, 5, true), ("a", 1_500, 7, false), ("b", 2_500, 1, true)] {
        let r = SessionRecord {
            scope: Scope { group: "act".into(), member: member.into(), table: "t".into() },
            started_micros: at,
            duration_ms: 10,
            ok,
            rows_down: down,
            rows_up: 1,
            conflicts: 2,
            message: None,
            warnings: 0,
            holder: None,
        };
        m.record_session(&r).await.expect("record");
    }
    let act = m.activity("act", 0, 1_000).await.expect("activity");
    let got: Vec<(&str, i64, i64, i64, i64, i64)> = act
        .iter()
        .map(|b| (b.member.as_str(), b.start_micros, b.syncs, b.rows_down, b.errors, b.duration_ms))
        .collect();
    assert_eq!(got, [("a", 1_000, 2, 12, 1, 20), ("b", 2_000, 1, 1, 0, 10)]);
    assert!(m.activity("act", 3_000, 1_000).await.expect("activity").is_empty());

    // A shared setting: the first value stored stays.
    assert_eq!(m.setting_or_insert("k", "first").await.expect("setting"), "first");
    assert_eq!(m.setting_or_insert("k", "second").await.expect("setting"), "first");

    // A running sync's progress is written into its lease and cleared
    // when the lease is given back.
    m.sync_leases("lg", &[("lm".into(), None)], 0).await.expect("leases");
    assert_eq!(m.claim_due("i1", 10, 1_000_000, &[]).await.expect("claim"), Some(("lg".into(), "lm".into())));
    assert_eq!(m.renew_lease("i1", "lg", "lm", 2_000_000, Some("{\"p\":1}")).await.expect("renew"), Some(false));
    assert_eq!(m.renew_lease("i1", "lg", "lm", 2_000_000, None).await.expect("renew"), Some(false));
    let lease = m.leases().await.expect("leases").into_iter().find(|l| l.group == "lg").expect("lease");
    assert_eq!((lease.started_micros, lease.progress.as_deref()), (Some(10), Some("{\"p\":1}")));
    m.release_lease("i1", "lg", "lm", 99).await.expect("release");
    let lease = m.leases().await.expect("leases").into_iter().find(|l| l.group == "lg").expect("lease");
    assert_eq!((lease.holder, lease.progress), (None, None));

    // A session that wrote into the hub makes the group's other members
    // due now, not itself.
    let later = i64::MAX / 2;
    m.sync_leases("og", &[("a".into(), None), ("b".into(), None), ("c".into(), None)], later).await.expect("leases");
    assert_eq!(m.claim_due("i1", 10, 1_000_000, &[]).await.expect("claim"), None, "nobody is due yet");
    assert_eq!(m.request_sync_others("og", "a").await.expect("others"), 2);
    let mut claimed = Vec::new();
    while let Some((g, member)) = m.claim_due("i1", 10, 1_000_000, &[]).await.expect("claim") {
        claimed.push((g, member));
    }
    claimed.sort();
    assert_eq!(claimed, [("og".into(), "b".into()), ("og".into(), "c".into())]);

    drop(m);
    // Opening again migrates nothing and keeps the history.
    let m = MetaStore::open(url).await.expect("reopen");
    assert_eq!(m.conflicts("g", 10).await.expect("conflicts").len(), 1);
}

#[tokio::test]
async fn sqlite_metadata_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("meta.db").display());
    exercise(&url).await;
    // A store from a newer hubsync is refused, not damaged.
    let pool = sqlx::SqlitePool::connect(&url).await.expect("raw");
    pool.execute("UPDATE meta_version SET version = 99").await.expect("bump");
    let err = MetaStore::open(&url).await.err().expect("refused").to_string();
    assert!(err.contains("newer hubsync"), "{err}");
}

#[tokio::test]
async fn postgresql_metadata_store() {
    let db = common::dbs::PgDb::new().await;
    let url = db.url();
    exercise(&url).await;
    db.raw.execute(AssertSqlSafe("UPDATE meta_version SET version = 99".to_owned())).await.expect("bump");
    assert!(MetaStore::open(&url).await.is_err());
    let err = MetaStore::open("mysql://root@127.0.0.1/x").await.err().expect("refused").to_string();
    assert!(err.contains("sqlite://PATH or postgres://"), "{err}");
}
