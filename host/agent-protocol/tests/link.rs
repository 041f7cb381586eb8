//! A link and an executor joined by channels, as the transport joins them:
//! every connector call made on the service's side runs on a real SQLite
//! database on the agent's side, errors keep their kind, and a connection
//! that ends fails the calls in flight instead of hanging them.

use std::sync::Arc;
use std::time::Duration;

use hubsync_agent_protocol::executor::Received;
use hubsync_agent_protocol::{Executor, Link};
use hubsync_core::{
    Anchor, ApplyOp, ColumnType, ConnectOptions, Connector, ConnectorError, Opener, TableRef, TableSchema, Value,
};
use tokio::sync::mpsc;

/// The agent's databases: one name, one SQLite file.
struct OneFile(String);

#[async_trait::async_trait]
impl Opener for OneFile {
    async fn open(&self, db: &str, options: &ConnectOptions) -> Result<Box<dyn Connector>, ConnectorError> {
        if db != "shop" {
            return Err(ConnectorError::Connect { url: db.into(), cause: "not registered on this agent".into() });
        }
        hubsync_connectors::open_with(&self.0, options).await
    }
}

/// Join a link and an executor through two bounded channels.
fn joined(url: String) -> (Arc<Link>, tokio::task::JoinHandle<()>) {
    joined_on(url, hubsync_agent_protocol::PROTOCOL_MAX)
}

/// [`joined`], the link speaking protocol `version`.
fn joined_on(url: String, version: u32) -> (Arc<Link>, tokio::task::JoinHandle<()>) {
    let (to_agent, mut agent_in) = mpsc::channel::<Vec<u8>>(4);
    let (to_service, mut service_in) = mpsc::channel::<Vec<u8>>(4);
    let link = Link::new("a1", version, to_agent);
    let executor = Executor::new(Arc::new(OneFile(url)));
    let agent = tokio::spawn(async move {
        while let Some(frame) = agent_in.recv().await {
            let r = executor.receive(&frame, &to_service).await.expect("well-formed frame");
            assert!(matches!(r, Received::Call | Received::Welcome(_)));
        }
    });
    let l = link.clone();
    tokio::spawn(async move {
        while let Some(frame) = service_in.recv().await {
            l.receive(&frame).expect("well-formed frame");
        }
        l.close("the agent went away");
    });
    (link, agent)
}

/// Every change from the start, batch after batch.
async fn read_all(db: &dyn Connector) -> Vec<hubsync_core::CapturedChange> {
    let mut out = Vec::new();
    let mut at = Anchor::start();
    loop {
        let b = db.read_changes(&schema(), &at, 5000).await.expect("read");
        out.extend(b.changes);
        at = b.next;
        if !b.more {
            return out;
        }
    }
}

fn schema() -> TableSchema {
    TableSchema::new("items").key("id", ColumnType::Int).column("name", ColumnType::Text)
}

#[tokio::test]
async fn calls_run_on_the_agents_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("shop.db").display());
    let (link, _agent) = joined(url.clone());
    let db = link.open("shop", &ConnectOptions::default()).await.expect("open");
    assert_eq!(db.engine(), hubsync_core::EngineKind::Sqlite);
    db.create_table(&schema(), &[]).await.expect("create");
    db.provision(&schema()).await.expect("provision");
    let rows: Vec<ApplyOp> =
        (0..1000).map(|i| ApplyOp::Upsert(vec![Value::Int(i), Value::Text(format!("item {i}"))])).collect();
    db.apply(&schema(), &rows, "hub").await.expect("apply");
    let all = read_all(&db).await;
    assert_eq!(all.len(), 1000);
    assert!(all.iter().all(|c| c.origin.as_deref() == Some("hub")));
    let found = db.lookup(&schema(), &Anchor::start(), &[vec![Value::Int(7)]]).await.expect("lookup");
    assert_eq!(found[0].row.as_ref().map(|r| r[1].clone()), Some(Value::Text("item 7".into())));
    assert!(!db.is_empty(&TableRef::of(&schema())).await.expect("empty"));
    let tables = db.introspect().await.expect("introspect");
    assert!(tables.iter().any(|t| t.schema.name == "items"));
    // The database's identity crosses too; the same one on a direct connection.
    let id = db.identity().await.expect("identity").expect("protocol 2 tells it");
    let direct = hubsync_connectors::open(&url).await.expect("open directly");
    assert_eq!(direct.identity().await.expect("identity"), Some(id));
    // A link on protocol 1 (an older agent) cannot ask: unknown, not an error.
    let (old, _agent) = joined_on(url.clone(), 1);
    let old_db = old.open("shop", &ConnectOptions::default()).await.expect("open");
    assert_eq!(old_db.identity().await.expect("identity"), None);
    // The changes waiting cross on protocol 3 (capped), and are unknown before.
    assert_eq!(db.pending(&schema(), &Anchor::start(), 10_000).await.expect("pending"), Some(1000));
    assert_eq!(db.pending(&schema(), &Anchor::start(), 10).await.expect("pending"), Some(10));
    let (v2, _agent) = joined_on(url.clone(), 2);
    let v2_db = v2.open("shop", &ConnectOptions::default()).await.expect("open");
    assert_eq!(v2_db.pending(&schema(), &Anchor::start(), 10).await.expect("pending"), None);
    // Protocol 4 counts several tables in one call and reads echoes
    // without their rows; protocol 3 counts table by table, older links
    // cannot count, and echoes come whole before 4.
    let (t, a) = (schema(), Anchor::start());
    let asks = [(&t, &a), (&t, &a)];
    assert_eq!(db.pending_many(&asks, 10).await.expect("pending many"), vec![Some(10), Some(10)]);
    assert_eq!(v2_db.pending_many(&asks, 10).await.expect("pending many"), vec![None, None]);
    let (v3, _agent) = joined_on(url.clone(), 3);
    let v3_db = v3.open("shop", &ConnectOptions::default()).await.expect("open");
    assert_eq!(v3_db.pending_many(&asks, 10).await.expect("pending many"), vec![Some(10), Some(10)]);
    let echoes = db.read_changes_skipping(&t, &a, 5, Some("hub")).await.expect("read");
    // (A run of echoes may come as its last entry.)
    assert!(
        (1..=5).contains(&echoes.changes.len()) && echoes.changes.iter().all(|c| c.row.is_none()) && echoes.more,
        "{echoes:?}"
    );
    let whole = v3_db.read_changes_skipping(&t, &a, 5, Some("hub")).await.expect("read");
    assert!(whole.changes.iter().all(|c| c.row.is_some()) && whole.next == echoes.next);
    // Protocol 5 asks whether writes change only their keys (the agent's
    // SQLite answers yes for this plain table); before, the answer is no.
    assert!(db.writes_only_their_keys(&t).await.expect("ask"));
    let (v4, _agent) = joined_on(url.clone(), 4);
    let v4_db = v4.open("shop", &ConnectOptions::default()).await.expect("open");
    assert!(!v4_db.writes_only_their_keys(&t).await.expect("ask"));
    // Many calls at once share the connection's slots and all come back.
    let db = Arc::new(db);
    let reads: Vec<_> = (0..20)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { read_all(&*db).await.len() })
        })
        .collect();
    for r in reads {
        assert_eq!(r.await.expect("task"), 1000);
    }
    // Errors keep their kind across the wire.
    let err = link.open("nope", &ConnectOptions::default()).await.expect_err("unknown database");
    assert!(matches!(err, ConnectorError::Connect { .. }) && err.to_string().contains("not registered"), "{err}");
    let missing = TableSchema::new("missing").key("id", ColumnType::Int);
    let err = db.read_changes(&missing, &Anchor::start(), 10).await.expect_err("not provisioned");
    assert!(!err.to_string().is_empty());
}

#[tokio::test]
async fn a_closed_link_fails_calls_in_flight_and_later_ones() {
    // An agent that never answers.
    let (to_agent, mut agent_in) = mpsc::channel::<Vec<u8>>(4);
    let link = Link::new("a2", hubsync_agent_protocol::PROTOCOL_MAX, to_agent);
    tokio::spawn(async move { while agent_in.recv().await.is_some() {} });
    let l = link.clone();
    let call = tokio::spawn(async move { l.open("shop", &ConnectOptions::default()).await.map(|_| ()) });
    tokio::time::sleep(Duration::from_millis(100)).await;
    link.close("heartbeats stopped");
    let err = tokio::time::timeout(Duration::from_secs(5), call).await.expect("not hung").expect("task");
    let err = err.expect_err("fails");
    assert!(err.to_string().contains("heartbeats stopped") && err.to_string().contains("resumes"), "{err}");
    let err = link.open("shop", &ConnectOptions::default()).await.expect_err("closed");
    assert!(matches!(err, ConnectorError::Connect { .. }));
}
