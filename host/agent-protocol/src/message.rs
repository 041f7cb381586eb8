//! The protocol's messages: the service asks the agent to run connector
//! calls against a database it registered; the agent answers them and says
//! which databases it has and whether they can be reached.

use hubsync_core::{
    Anchor, ApplyOp, ChangeBatch, ConnectorError, EngineKind, IndexInfo, KeyState, Row, TableInfo, TableRef,
    TableSchema,
};

use crate::ProtocolError;
use crate::codec::{Reader, Wire, Writer};

/// One connector call, as the service sends it. Every call but `Open`
/// names the connection (handle) an earlier `Open` made on the agent.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// Open the registered database `db` with these limits; answers
    /// [`Answer::Opened`].
    Open {
        /// The database's name on the agent.
        db: String,
        /// Connect timeout in milliseconds.
        connect_timeout_ms: u64,
        /// Statement timeout in milliseconds, if any.
        statement_timeout_ms: Option<u64>,
        /// Bytes one read batch holds at most.
        read_bytes: usize,
    },
    /// Drop a connection opened earlier (no answer is awaited).
    Close,
    /// [`hubsync_core::Connector::introspect`].
    Introspect,
    /// [`hubsync_core::Connector::provision`].
    Provision(TableSchema),
    /// [`hubsync_core::Connector::deprovision`].
    Deprovision(TableRef),
    /// [`hubsync_core::Connector::deprovision_all`].
    DeprovisionAll,
    /// [`hubsync_core::Connector::read_changes`].
    ReadChanges {
        /// The table.
        table: TableSchema,
        /// Read after this anchor.
        since: Anchor,
        /// At most this many changes.
        limit: usize,
    },
    /// [`hubsync_core::Connector::apply`].
    Apply {
        /// The table.
        table: TableSchema,
        /// The writes, in one transaction.
        ops: Vec<ApplyOp>,
        /// Who they come from.
        origin: String,
    },
    /// [`hubsync_core::Connector::lookup`].
    Lookup {
        /// The table.
        table: TableSchema,
        /// Changes after this anchor are reported.
        since: Anchor,
        /// The keys.
        keys: Vec<Row>,
    },
    /// [`hubsync_core::Connector::purge_tombstones`].
    Purge {
        /// The table.
        table: TableSchema,
        /// Every reader's anchor.
        read_up_to: Vec<Anchor>,
        /// Only deletes older than this, µs since the epoch.
        older_than_micros: i64,
    },
    /// [`hubsync_core::Connector::reannounce`].
    Reannounce {
        /// The table.
        table: TableSchema,
        /// The keys.
        keys: Vec<Row>,
    },
    /// [`hubsync_core::Connector::is_empty`].
    IsEmpty(TableRef),
    /// [`hubsync_core::Connector::scan`].
    Scan {
        /// The table.
        table: TableSchema,
        /// Keys after this one.
        after: Option<Row>,
        /// At most this many rows.
        limit: usize,
    },
    /// [`hubsync_core::Connector::create_table`].
    CreateTable {
        /// The table.
        table: TableSchema,
        /// Its indexes.
        indexes: Vec<IndexInfo>,
    },
    /// [`hubsync_core::Connector::identity`] (protocol 2).
    Identity,
    /// [`hubsync_core::Connector::pending`] (protocol 3).
    Pending {
        /// The table.
        table: TableSchema,
        /// Changes after this anchor are counted.
        since: Anchor,
        /// Counted up to this many.
        cap: u64,
    },
    /// [`hubsync_core::Connector::pending_many`] (protocol 4).
    PendingMany {
        /// The tables, each with the anchor its changes are counted after.
        tables: Vec<TableSchema>,
        /// One anchor per table, in the same order.
        anchors: Vec<Anchor>,
        /// Each count up to this many.
        cap: u64,
    },
    /// [`hubsync_core::Connector::read_changes_skipping`] (protocol 4).
    ReadChangesSkipping {
        /// The table.
        table: TableSchema,
        /// Changes after this anchor.
        since: Anchor,
        /// At most this many.
        limit: usize,
        /// The reader's own mark: such changes come without their rows.
        echo: Option<String>,
    },
    /// [`hubsync_core::Connector::writes_only_their_keys`] (protocol 5).
    WritesOnlyTheirKeys(TableSchema),
}

/// What a call gives back.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Done, nothing to return.
    Done,
    /// A connection was opened: its handle and the database's engine.
    Opened {
        /// The handle later calls name.
        handle: u64,
        /// The engine.
        engine: EngineKind,
    },
    /// The database's tables.
    Tables(Vec<TableInfo>),
    /// A batch of changes.
    Changes(ChangeBatch),
    /// Key states (lookup, scan).
    States(Vec<KeyState>),
    /// A count (tombstones purged).
    Count(u64),
    /// A yes or no (is empty; writes only their keys).
    Flag(bool),
    /// A database's identity, if it has one (protocol 2).
    Identity(Option<String>),
    /// How many changes wait, if the database can tell (protocol 3).
    Pending(Option<u64>),
    /// How many changes wait per table, where the database can tell (protocol 4).
    PendingMany(Vec<Option<u64>>),
}

/// A database the agent has registered, as it reports it to the service.
/// It carries no URL or credential: those stay in the agent's state folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseState {
    /// The name members refer to (`agent://AGENT/NAME`).
    pub name: String,
    /// Its engine, once it was reached.
    pub engine: Option<EngineKind>,
    /// Whether the agent reached it at its last check.
    pub reachable: bool,
    /// Why not, when it was not (or "no credentials on this agent").
    pub error: Option<String>,
    /// Its tables (qualified names), as introspection found them.
    pub tables: Vec<String>,
}

/// What the service sends the agent.
#[derive(Debug, Clone, PartialEq)]
pub enum ToAgent {
    /// The first message on a connection: the names of the databases the
    /// service knows this agent by (a moved agent learns them back).
    Welcome {
        /// Database names registered earlier.
        databases: Vec<String>,
    },
    /// A connector call to run.
    Request {
        /// Matches the answer to the call.
        id: u64,
        /// The connection the call runs on (0 for `Open`).
        handle: u64,
        /// The call.
        call: Call,
    },
}

/// What the agent sends the service.
#[derive(Debug)]
pub enum ToService {
    /// Its databases (sent after the welcome and whenever they change).
    Databases(Vec<DatabaseState>),
    /// The answer to a call.
    Response {
        /// The call's id.
        id: u64,
        /// Its result.
        result: Result<Answer, ConnectorError>,
    },
}

impl Wire for Call {
    fn put(&self, w: &mut Writer) {
        match self {
            Call::Open { db, connect_timeout_ms, statement_timeout_ms, read_bytes } => {
                w.u8(0);
                db.put(w);
                connect_timeout_ms.put(w);
                statement_timeout_ms.put(w);
                read_bytes.put(w);
            }
            Call::Close => w.u8(1),
            Call::Introspect => w.u8(2),
            Call::Provision(t) => {
                w.u8(3);
                t.put(w);
            }
            Call::Deprovision(t) => {
                w.u8(4);
                t.put(w);
            }
            Call::DeprovisionAll => w.u8(5),
            Call::ReadChanges { table, since, limit } => {
                w.u8(6);
                table.put(w);
                since.put(w);
                limit.put(w);
            }
            Call::Apply { table, ops, origin } => {
                w.u8(7);
                table.put(w);
                ops.put(w);
                origin.put(w);
            }
            Call::Lookup { table, since, keys } => {
                w.u8(8);
                table.put(w);
                since.put(w);
                keys.put(w);
            }
            Call::Purge { table, read_up_to, older_than_micros } => {
                w.u8(9);
                table.put(w);
                read_up_to.put(w);
                older_than_micros.put(w);
            }
            Call::Reannounce { table, keys } => {
                w.u8(10);
                table.put(w);
                keys.put(w);
            }
            Call::IsEmpty(t) => {
                w.u8(11);
                t.put(w);
            }
            Call::Scan { table, after, limit } => {
                w.u8(12);
                table.put(w);
                after.put(w);
                limit.put(w);
            }
            Call::CreateTable { table, indexes } => {
                w.u8(13);
                table.put(w);
                indexes.put(w);
            }
            Call::Identity => w.u8(14),
            Call::Pending { table, since, cap } => {
                w.u8(15);
                table.put(w);
                since.put(w);
                cap.put(w);
            }
            Call::PendingMany { tables, anchors, cap } => {
                w.u8(16);
                tables.put(w);
                anchors.put(w);
                cap.put(w);
            }
            Call::ReadChangesSkipping { table, since, limit, echo } => {
                w.u8(17);
                table.put(w);
                since.put(w);
                limit.put(w);
                echo.put(w);
            }
            Call::WritesOnlyTheirKeys(table) => {
                w.u8(18);
                table.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        Ok(match r.u8()? {
            0 => Call::Open {
                db: Wire::get(r)?,
                connect_timeout_ms: Wire::get(r)?,
                statement_timeout_ms: Wire::get(r)?,
                read_bytes: Wire::get(r)?,
            },
            1 => Call::Close,
            2 => Call::Introspect,
            3 => Call::Provision(Wire::get(r)?),
            4 => Call::Deprovision(Wire::get(r)?),
            5 => Call::DeprovisionAll,
            6 => Call::ReadChanges { table: Wire::get(r)?, since: Wire::get(r)?, limit: Wire::get(r)? },
            7 => Call::Apply { table: Wire::get(r)?, ops: Wire::get(r)?, origin: Wire::get(r)? },
            8 => Call::Lookup { table: Wire::get(r)?, since: Wire::get(r)?, keys: Wire::get(r)? },
            9 => Call::Purge { table: Wire::get(r)?, read_up_to: Wire::get(r)?, older_than_micros: Wire::get(r)? },
            10 => Call::Reannounce { table: Wire::get(r)?, keys: Wire::get(r)? },
            11 => Call::IsEmpty(Wire::get(r)?),
            12 => Call::Scan { table: Wire::get(r)?, after: Wire::get(r)?, limit: Wire::get(r)? },
            13 => Call::CreateTable { table: Wire::get(r)?, indexes: Wire::get(r)? },
            14 => Call::Identity,
            15 => Call::Pending { table: Wire::get(r)?, since: Wire::get(r)?, cap: Wire::get(r)? },
            16 => Call::PendingMany { tables: Wire::get(r)?, anchors: Wire::get(r)?, cap: Wire::get(r)? },
            17 => Call::ReadChangesSkipping {
                table: Wire::get(r)?,
                since: Wire::get(r)?,
                limit: Wire::get(r)?,
                echo: Wire::get(r)?,
            },
            18 => Call::WritesOnlyTheirKeys(Wire::get(r)?),
            t => return Err(ProtocolError::Malformed(format!("unknown call tag {t}"))),
        })
    }
}

impl Wire for Answer {
    fn put(&self, w: &mut Writer) {
        match self {
            Answer::Done => w.u8(0),
            Answer::Opened { handle, engine } => {
                w.u8(1);
                handle.put(w);
                engine.put(w);
            }
            Answer::Tables(t) => {
                w.u8(2);
                t.put(w);
            }
            Answer::Changes(b) => {
                w.u8(3);
                b.put(w);
            }
            Answer::States(s) => {
                w.u8(4);
                s.put(w);
            }
            Answer::Count(n) => {
                w.u8(5);
                n.put(w);
            }
            Answer::Flag(b) => {
                w.u8(6);
                b.put(w);
            }
            Answer::Identity(id) => {
                w.u8(7);
                id.put(w);
            }
            Answer::Pending(n) => {
                w.u8(8);
                n.put(w);
            }
            Answer::PendingMany(n) => {
                w.u8(9);
                n.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        Ok(match r.u8()? {
            0 => Answer::Done,
            1 => Answer::Opened { handle: Wire::get(r)?, engine: Wire::get(r)? },
            2 => Answer::Tables(Wire::get(r)?),
            3 => Answer::Changes(Wire::get(r)?),
            4 => Answer::States(Wire::get(r)?),
            5 => Answer::Count(Wire::get(r)?),
            6 => Answer::Flag(Wire::get(r)?),
            7 => Answer::Identity(Wire::get(r)?),
            8 => Answer::Pending(Wire::get(r)?),
            9 => Answer::PendingMany(Wire::get(r)?),
            t => return Err(ProtocolError::Malformed(format!("unknown answer tag {t}"))),
        })
    }
}

impl Wire for DatabaseState {
    fn put(&self, w: &mut Writer) {
        self.name.put(w);
        self.engine.put(w);
        self.reachable.put(w);
        self.error.put(w);
        self.tables.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        Ok(DatabaseState {
            name: Wire::get(r)?,
            engine: Wire::get(r)?,
            reachable: Wire::get(r)?,
            error: Wire::get(r)?,
            tables: Wire::get(r)?,
        })
    }
}

impl Wire for ToAgent {
    fn put(&self, w: &mut Writer) {
        match self {
            ToAgent::Welcome { databases } => {
                w.u8(0);
                databases.put(w);
            }
            ToAgent::Request { id, handle, call } => {
                w.u8(1);
                id.put(w);
                handle.put(w);
                call.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        Ok(match r.u8()? {
            0 => ToAgent::Welcome { databases: Wire::get(r)? },
            1 => ToAgent::Request { id: Wire::get(r)?, handle: Wire::get(r)?, call: Wire::get(r)? },
            t => return Err(ProtocolError::Malformed(format!("unknown message tag {t}"))),
        })
    }
}

impl Wire for ToService {
    fn put(&self, w: &mut Writer) {
        match self {
            ToService::Databases(d) => {
                w.u8(0);
                d.put(w);
            }
            ToService::Response { id, result } => {
                w.u8(1);
                id.put(w);
                match result {
                    Ok(a) => {
                        w.u8(0);
                        a.put(w);
                    }
                    Err(e) => {
                        w.u8(1);
                        e.put(w);
                    }
                }
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, ProtocolError> {
        Ok(match r.u8()? {
            0 => ToService::Databases(Wire::get(r)?),
            1 => {
                let id = Wire::get(r)?;
                let result = match r.u8()? {
                    0 => Ok(Answer::get(r)?),
                    1 => Err(ConnectorError::get(r)?),
                    t => return Err(ProtocolError::Malformed(format!("unknown result tag {t}"))),
                };
                ToService::Response { id, result }
            }
            t => return Err(ProtocolError::Malformed(format!("unknown message tag {t}"))),
        })
    }
}
