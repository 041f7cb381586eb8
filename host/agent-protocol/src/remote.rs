//! The service's side of an agent connection: a [`Link`] matches calls to
//! answers, and a [`RemoteConnector`] is a [`Connector`] whose every call
//! is one round trip to the agent. The engine syncs a member behind an
//! agent exactly as it syncs any other: the contract is batched already, so
//! one batch is one frame each way.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hubsync_core::{
    Anchor, ApplyOp, ChangeBatch, ConnectOptions, Connector, ConnectorError, EngineKind, IndexInfo, KeyState, Row,
    TableInfo, TableRef, TableSchema,
};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::codec::{decode, encode};
use crate::message::{Answer, Call, DatabaseState, ToAgent, ToService};
use crate::{MAX_IN_FLIGHT, ProtocolError};

type Reply = oneshot::Sender<Result<Answer, ConnectorError>>;

#[derive(Default)]
struct Calls {
    waiting: HashMap<u64, Reply>,
    /// Why the connection ended, once it has.
    closed: Option<String>,
}

/// One live agent connection, service side.
pub struct Link {
    agent: String,
    /// The protocol version agreed with the agent.
    version: u32,
    out: mpsc::Sender<Vec<u8>>,
    calls: Mutex<Calls>,
    next_id: AtomicU64,
    slots: Semaphore,
    databases: Mutex<Vec<DatabaseState>>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link").field("agent", &self.agent).finish_non_exhaustive()
    }
}

impl Link {
    /// A link to `agent` whose frames to the agent go to `out` (the
    /// transport writes them; a bounded channel, so a slow agent slows
    /// the callers down instead of filling memory).
    /// `version` is the protocol version agreed with the agent.
    pub fn new(agent: &str, version: u32, out: mpsc::Sender<Vec<u8>>) -> Arc<Link> {
        Arc::new(Link {
            agent: agent.to_owned(),
            version,
            out,
            calls: Mutex::default(),
            next_id: AtomicU64::new(1),
            slots: Semaphore::new(MAX_IN_FLIGHT),
            databases: Mutex::default(),
        })
    }

    /// The agent's name.
    pub fn agent(&self) -> &str {
        &self.agent
    }

    /// The databases the agent reported last.
    pub fn databases(&self) -> Vec<DatabaseState> {
        self.databases.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The first frame of a connection: the database names the service
    /// knows this agent by.
    pub fn welcome(databases: Vec<String>) -> Vec<u8> {
        encode(&ToAgent::Welcome { databases })
    }

    /// Take in a frame from the agent: an answer goes to its caller; a
    /// database report is kept and returned so the caller can store it.
    pub fn receive(&self, frame: &[u8]) -> Result<Option<Vec<DatabaseState>>, ProtocolError> {
        match decode::<ToService>(frame)? {
            ToService::Response { id, result } => {
                let reply = self.calls.lock().unwrap_or_else(|p| p.into_inner()).waiting.remove(&id);
                // A caller that gave up (its future dropped) no longer waits.
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
                Ok(None)
            }
            ToService::Databases(d) => {
                *self.databases.lock().unwrap_or_else(|p| p.into_inner()) = d.clone();
                Ok(Some(d))
            }
        }
    }

    /// End the link: every call waiting fails with `why`, later calls too.
    pub fn close(&self, why: &str) {
        let waiting = {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            calls.closed.get_or_insert_with(|| why.to_owned());
            std::mem::take(&mut calls.waiting)
        };
        for (_, reply) in waiting {
            let _ = reply.send(Err(self.lost(why)));
        }
    }

    /// Whether the link has ended.
    pub fn is_closed(&self) -> bool {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).closed.is_some()
    }

    fn lost(&self, why: &str) -> ConnectorError {
        ConnectorError::Connect {
            url: format!("agent://{}", self.agent),
            cause: format!(
                "the connection to agent {} ended ({why}); the next sync resumes from where this one stopped",
                self.agent
            ),
        }
    }

    /// One call, answered by the agent.
    async fn call(&self, handle: u64, call: Call) -> Result<Answer, ConnectorError> {
        let _slot = self.slots.acquire().await.map_err(|_| self.lost("closed"))?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(why) = &calls.closed {
                return Err(self.lost(why));
            }
            calls.waiting.insert(id, tx);
        }
        // Forget the call if this future is dropped before its answer.
        struct Forget<'a>(&'a Link, u64);
        impl Drop for Forget<'_> {
            fn drop(&mut self) {
                self.0.calls.lock().unwrap_or_else(|p| p.into_inner()).waiting.remove(&self.1);
            }
        }
        let _forget = Forget(self, id);
        if self.out.send(encode(&ToAgent::Request { id, handle, call })).await.is_err() {
            return Err(self.lost("the connection closed"));
        }
        rx.await.unwrap_or_else(|_| Err(self.lost("the connection closed")))
    }

    /// Open database `db` on the agent with `options`.
    pub async fn open(self: &Arc<Self>, db: &str, options: &ConnectOptions) -> Result<RemoteConnector, ConnectorError> {
        let call = Call::Open {
            db: db.to_owned(),
            connect_timeout_ms: options.connect_timeout.as_millis() as u64,
            statement_timeout_ms: options.statement_timeout.map(|t| t.as_millis() as u64),
            read_bytes: options.read_bytes,
        };
        match self.call(0, call).await? {
            Answer::Opened { handle, engine } => Ok(RemoteConnector { link: self.clone(), handle, engine }),
            other => Err(unexpected(&other, "open")),
        }
    }
}

fn unexpected(a: &Answer, call: &str) -> ConnectorError {
    ConnectorError::Connect {
        url: "agent".into(),
        cause: format!("the agent answered {call} with {a:?}; agent and service disagree on the protocol"),
    }
}

/// A database behind an agent, as a [`Connector`].
#[derive(Debug)]
pub struct RemoteConnector {
    link: Arc<Link>,
    handle: u64,
    engine: EngineKind,
}

impl Drop for RemoteConnector {
    fn drop(&mut self) {
        // Release the agent's connection; if the channel is full or gone
        // the agent drops it when the link ends.
        let _ = self.link.out.try_send(encode(&ToAgent::Request { id: 0, handle: self.handle, call: Call::Close }));
    }
}

impl RemoteConnector {
    async fn call(&self, call: Call) -> Result<Answer, ConnectorError> {
        self.link.call(self.handle, call).await
    }
    async fn done(&self, call: Call, name: &str) -> Result<(), ConnectorError> {
        match self.call(call).await? {
            Answer::Done => Ok(()),
            other => Err(unexpected(&other, name)),
        }
    }
    async fn states(&self, call: Call, name: &str) -> Result<Vec<KeyState>, ConnectorError> {
        match self.call(call).await? {
            Answer::States(s) => Ok(s),
            other => Err(unexpected(&other, name)),
        }
    }
}

#[async_trait::async_trait]
impl Connector for RemoteConnector {
    fn engine(&self) -> EngineKind {
        self.engine
    }

    async fn identity(&self) -> Result<Option<String>, ConnectorError> {
        // An agent on protocol 1 was not built to be asked.
        if self.link.version < 2 {
            return Ok(None);
        }
        match self.call(Call::Identity).await? {
            Answer::Identity(id) => Ok(id),
            other => Err(unexpected(&other, "identity")),
        }
    }

    async fn pending(&self, table: &TableSchema, since: &Anchor, cap: u64) -> Result<Option<u64>, ConnectorError> {
        // An agent before protocol 3 cannot count: progress shows no total.
        if self.link.version < 3 {
            return Ok(None);
        }
        match self.call(Call::Pending { table: table.clone(), since: since.clone(), cap }).await? {
            Answer::Pending(n) => Ok(n),
            other => Err(unexpected(&other, "pending")),
        }
    }

    async fn pending_many(
        &self,
        asks: &[(&TableSchema, &Anchor)],
        cap: u64,
    ) -> Result<Vec<Option<u64>>, ConnectorError> {
        // Before protocol 4: a call per table.
        if self.link.version < 4 {
            let mut out = Vec::with_capacity(asks.len());
            for (table, since) in asks {
                out.push(self.pending(table, since, cap).await?);
            }
            return Ok(out);
        }
        let tables = asks.iter().map(|(t, _)| (*t).clone()).collect();
        let anchors = asks.iter().map(|(_, a)| (*a).clone()).collect();
        match self.call(Call::PendingMany { tables, anchors, cap }).await? {
            Answer::PendingMany(n) if n.len() == asks.len() => Ok(n),
            other => Err(unexpected(&other, "pending many")),
        }
    }

    async fn writes_only_their_keys(&self, table: &TableSchema) -> Result<bool, ConnectorError> {
        // Before protocol 5 the agent cannot be asked: no, which is safe.
        if self.link.version < 5 {
            return Ok(false);
        }
        match self.call(Call::WritesOnlyTheirKeys(table.clone())).await? {
            Answer::Flag(b) => Ok(b),
            other => Err(unexpected(&other, "writes only their keys")),
        }
    }

    async fn introspect(&self) -> Result<Vec<TableInfo>, ConnectorError> {
        match self.call(Call::Introspect).await? {
            Answer::Tables(t) => Ok(t),
            other => Err(unexpected(&other, "introspect")),
        }
    }

    async fn provision(&self, table: &TableSchema) -> Result<(), ConnectorError> {
        self.done(Call::Provision(table.clone()), "provision").await
    }

    async fn deprovision(&self, table: &TableRef) -> Result<(), ConnectorError> {
        self.done(Call::Deprovision(table.clone()), "deprovision").await
    }

    async fn deprovision_all(&self) -> Result<(), ConnectorError> {
        self.done(Call::DeprovisionAll, "deprovision").await
    }

    async fn read_changes(
        &self,
        table: &TableSchema,
        since: &Anchor,
        limit: usize,
    ) -> Result<ChangeBatch, ConnectorError> {
        match self.call(Call::ReadChanges { table: table.clone(), since: since.clone(), limit }).await? {
            Answer::Changes(b) => Ok(b),
            other => Err(unexpected(&other, "read changes")),
        }
    }

    async fn read_changes_skipping(
        &self,
        table: &TableSchema,
        since: &Anchor,
        limit: usize,
        echo: Option<&str>,
    ) -> Result<ChangeBatch, ConnectorError> {
        // Before protocol 4 echoes come whole (the engine skips them still).
        if self.link.version < 4 || echo.is_none() {
            return self.read_changes(table, since, limit).await;
        }
        let call = Call::ReadChangesSkipping {
            table: table.clone(),
            since: since.clone(),
            limit,
            echo: echo.map(str::to_owned),
        };
        match self.call(call).await? {
            Answer::Changes(b) => Ok(b),
            other => Err(unexpected(&other, "read changes")),
        }
    }

    async fn apply(&self, table: &TableSchema, ops: &[ApplyOp], origin: &str) -> Result<(), ConnectorError> {
        self.done(Call::Apply { table: table.clone(), ops: ops.to_vec(), origin: origin.to_owned() }, "apply").await
    }

    async fn lookup(&self, table: &TableSchema, since: &Anchor, keys: &[Row]) -> Result<Vec<KeyState>, ConnectorError> {
        self.states(Call::Lookup { table: table.clone(), since: since.clone(), keys: keys.to_vec() }, "lookup").await
    }

    async fn purge_tombstones(
        &self,
        table: &TableSchema,
        read_up_to: &[Anchor],
        older_than_micros: i64,
    ) -> Result<u64, ConnectorError> {
        let call = Call::Purge { table: table.clone(), read_up_to: read_up_to.to_vec(), older_than_micros };
        match self.call(call).await? {
            Answer::Count(n) => Ok(n),
            other => Err(unexpected(&other, "purge")),
        }
    }

    async fn reannounce(&self, table: &TableSchema, keys: &[Row]) -> Result<(), ConnectorError> {
        self.done(Call::Reannounce { table: table.clone(), keys: keys.to_vec() }, "reannounce").await
    }

    async fn is_empty(&self, table: &TableRef) -> Result<bool, ConnectorError> {
        match self.call(Call::IsEmpty(table.clone())).await? {
            Answer::Flag(b) => Ok(b),
            other => Err(unexpected(&other, "is empty")),
        }
    }

    async fn scan(
        &self,
        table: &TableSchema,
        after: Option<&Row>,
        limit: usize,
    ) -> Result<Vec<KeyState>, ConnectorError> {
        self.states(Call::Scan { table: table.clone(), after: after.cloned(), limit }, "scan").await
    }

    async fn create_table(&self, table: &TableSchema, indexes: &[IndexInfo]) -> Result<(), ConnectorError> {
        self.done(Call::CreateTable { table: table.clone(), indexes: indexes.to_vec() }, "create table").await
    }
}
