//! The agent's side of the connection: run the service's connector calls
//! against the databases the agent registered, several at once (up to
//! [`MAX_IN_FLIGHT`]), and send each answer back as soon as it is ready.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hubsync_core::{Anchor, ConnectOptions, Connector, ConnectorError, Opener, TableSchema};
use tokio::sync::{Semaphore, mpsc};

use crate::codec::{decode, encode};
use crate::message::{Answer, Call, ToAgent, ToService};
use crate::{MAX_IN_FLIGHT, ProtocolError};

/// Runs calls for one connection to the service.
pub struct Executor {
    /// Opens a registered database by name (the agent maps names to the
    /// URLs in its state folder).
    databases: Arc<dyn Opener>,
    handles: Mutex<HashMap<u64, Arc<dyn Connector>>>,
    next_handle: AtomicU64,
    slots: Arc<Semaphore>,
}

/// What a frame from the service asked of the agent, besides calls (which
/// the executor answers itself).
#[derive(Debug, PartialEq)]
pub enum Received {
    /// The database names the service knows this agent by.
    Welcome(Vec<String>),
    /// A call, being answered.
    Call,
}

impl Executor {
    /// An executor opening databases by name through `databases`.
    pub fn new(databases: Arc<dyn Opener>) -> Arc<Executor> {
        Arc::new(Executor {
            databases,
            handles: Mutex::default(),
            next_handle: AtomicU64::new(1),
            slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        })
    }

    /// Take in a frame from the service. A call runs on its own task once
    /// one of the slots is free (waiting here is the backpressure: the
    /// transport reads no further frames meanwhile); its answer goes to `out`.
    pub async fn receive(
        self: &Arc<Self>,
        frame: &[u8],
        out: &mpsc::Sender<Vec<u8>>,
    ) -> Result<Received, ProtocolError> {
        match decode::<ToAgent>(frame)? {
            ToAgent::Welcome { databases } => Ok(Received::Welcome(databases)),
            ToAgent::Request { handle, call: Call::Close, .. } => {
                self.handles.lock().unwrap_or_else(|p| p.into_inner()).remove(&handle);
                Ok(Received::Call)
            }
            ToAgent::Request { id, handle, call } => {
                let slot = self.slots.clone().acquire_owned().await.map_err(|_| {
                    ProtocolError::Malformed("the executor was shut down".into()) // never closed
                })?;
                let me = self.clone();
                let out = out.clone();
                tokio::spawn(async move {
                    let result = me.run(handle, call).await;
                    // The connection may be gone; the service then fails the call itself.
                    let _ = out.send(encode(&ToService::Response { id, result })).await;
                    drop(slot);
                });
                Ok(Received::Call)
            }
        }
    }

    /// Drop every open database connection (the service connection ended).
    pub fn close_all(&self) {
        self.handles.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn connector(&self, handle: u64) -> Result<Arc<dyn Connector>, ConnectorError> {
        self.handles.lock().unwrap_or_else(|p| p.into_inner()).get(&handle).cloned().ok_or_else(|| {
            ConnectorError::Connect {
                url: "agent".into(),
                cause: format!(
                    "the agent has no open connection {handle} (it restarted); the next sync opens it again"
                ),
            }
        })
    }

    /// Run one call.
    pub async fn run(&self, handle: u64, call: Call) -> Result<Answer, ConnectorError> {
        if let Call::Open { db, connect_timeout_ms, statement_timeout_ms, read_bytes } = call {
            let options = ConnectOptions {
                connect_timeout: Duration::from_millis(connect_timeout_ms),
                statement_timeout: statement_timeout_ms.map(Duration::from_millis),
                read_bytes,
            };
            let db = self.databases.open(&db, &options).await?;
            let engine = db.engine();
            let handle = self.next_handle.fetch_add(1, Ordering::Relaxed);
            self.handles.lock().unwrap_or_else(|p| p.into_inner()).insert(handle, Arc::from(db));
            return Ok(Answer::Opened { handle, engine });
        }
        let db = self.connector(handle)?;
        Ok(match call {
            Call::Open { .. } | Call::Close => Answer::Done,
            Call::Introspect => Answer::Tables(db.introspect().await?),
            Call::Provision(t) => {
                db.provision(&t).await?;
                Answer::Done
            }
            Call::Deprovision(t) => {
                db.deprovision(&t).await?;
                Answer::Done
            }
            Call::DeprovisionAll => {
                db.deprovision_all().await?;
                Answer::Done
            }
            Call::ReadChanges { table, since, limit } => Answer::Changes(db.read_changes(&table, &since, limit).await?),
            Call::Apply { table, ops, origin } => {
                db.apply(&table, &ops, &origin).await?;
                Answer::Done
            }
            Call::Lookup { table, since, keys } => Answer::States(db.lookup(&table, &since, &keys).await?),
            Call::Purge { table, read_up_to, older_than_micros } => {
                Answer::Count(db.purge_tombstones(&table, &read_up_to, older_than_micros).await?)
            }
            Call::Reannounce { table, keys } => {
                db.reannounce(&table, &keys).await?;
                Answer::Done
            }
            Call::IsEmpty(t) => Answer::Flag(db.is_empty(&t).await?),
            Call::Scan { table, after, limit } => Answer::States(db.scan(&table, after.as_ref(), limit).await?),
            Call::CreateTable { table, indexes } => {
                db.create_table(&table, &indexes).await?;
                Answer::Done
            }
            Call::Identity => Answer::Identity(db.identity().await?),
            Call::Pending { table, since, cap } => Answer::Pending(db.pending(&table, &since, cap).await?),
            Call::WritesOnlyTheirKeys(table) => Answer::Flag(db.writes_only_their_keys(&table).await?),
            Call::PendingMany { tables, anchors, cap } => {
                if tables.len() != anchors.len() {
                    return Err(ConnectorError::Invalid(format!(
                        "{} tables but {} anchors to count changes after",
                        tables.len(),
                        anchors.len()
                    )));
                }
                let asks: Vec<(&TableSchema, &Anchor)> = tables.iter().zip(&anchors).collect();
                Answer::PendingMany(db.pending_many(&asks, cap).await?)
            }
            Call::ReadChangesSkipping { table, since, limit, echo } => {
                Answer::Changes(db.read_changes_skipping(&table, &since, limit, echo.as_deref()).await?)
            }
        })
    }
}
