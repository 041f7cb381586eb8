//! The agent's end of its connection to the service: a WebSocket the
//! agent opens (it never listens) with its credential, over which it
//! answers the service's connector calls with an [`Executor`] until the
//! connection ends, and says why it ended. The service's end is
//! `hubsync-server`'s `tunnel`; the wire contract both read is
//! [`hubsync_api::agent_link`].

use std::sync::Arc;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use hubsync_agent_protocol::codec::encode;
use hubsync_agent_protocol::executor::Received;
pub use hubsync_agent_protocol::{DatabaseState, Executor};
use hubsync_agent_protocol::{PROTOCOL_MAX, PROTOCOL_MIN, ToService};
use hubsync_api::agent_link::{
    CONNECT_PATH, DEAD_AFTER, PING_EVERY, PROTOCOL_HEADER, REPLACED, REPLACED_CODE, RETIRED, RETIRED_CODE,
    VERSION_HEADER,
};
use tokio::sync::mpsc;

use crate::Client;

/// Why an agent's connection ended.
#[derive(Debug)]
pub enum Ended {
    /// The service retired the agent (key regenerated, agent removed):
    /// connecting again cannot work.
    Retired(String),
    /// Agent and service speak no common protocol version.
    Incompatible(String),
    /// Another agent process connected with the same credential.
    Replaced(String),
    /// The connection could not be made or was lost: try again.
    Lost(String),
}

/// Agent side: connect to the service with `client`'s credential and
/// answer calls with `executor` until the connection ends. `welcome` gets
/// the database names the service knows; `reports` are sent on as they
/// come (the agent's databases, when they change).
pub async fn run_agent(
    client: &Client,
    executor: &Arc<Executor>,
    welcome: impl FnOnce(Vec<String>),
    reports: &mut mpsc::Receiver<Vec<DatabaseState>>,
    connected: impl FnOnce(),
) -> Ended {
    let socket = match client
        .websocket(
            CONNECT_PATH,
            &[
                (PROTOCOL_HEADER, format!("{PROTOCOL_MIN}-{PROTOCOL_MAX}")),
                (VERSION_HEADER, env!("CARGO_PKG_VERSION").to_owned()),
            ],
        )
        .await
    {
        Ok(s) => s,
        Err(e) if e.status == 401 => return Ended::Retired(e.message),
        Err(e) if e.status == 426 => return Ended::Incompatible(e.message),
        Err(e) => return Ended::Lost(e.message),
    };
    connected();
    let (mut sink, mut stream) = socket.split();
    let (answers, mut outgoing) = mpsc::channel::<Vec<u8>>(hubsync_agent_protocol::MAX_IN_FLIGHT * 2);
    let mut welcome = Some(welcome);
    let mut heard = Instant::now();
    let mut ticks = tokio::time::interval(PING_EVERY);
    let mut pending_pong = false;
    let mut reporting = true;
    let ended = loop {
        // Frames to write first: answers, then reports.
        let out = tokio::select! {
            biased;
            f = outgoing.recv() => f.map(|f| tokio_tungstenite::tungstenite::Message::Binary(f.into())),
            r = reports.recv(), if reporting => match r {
                Some(d) => Some(tokio_tungstenite::tungstenite::Message::Binary(encode(&ToService::Databases(d)).into())),
                None => {
                    // No more reports: stop polling the closed channel.
                    reporting = false;
                    None
                }
            },
            m = stream.next() => {
                use tokio_tungstenite::tungstenite::Message as M;
                match m {
                    Some(Ok(M::Binary(frame))) => {
                        heard = Instant::now();
                        match executor.receive(&frame, &answers).await {
                            Ok(Received::Welcome(names)) => {
                                if let Some(w) = welcome.take() {
                                    w(names);
                                }
                            }
                            Ok(Received::Call) => {}
                            Err(e) => break Ended::Lost(e.to_string()),
                        }
                        None
                    }
                    Some(Ok(M::Ping(_))) => {
                        heard = Instant::now();
                        pending_pong = true;
                        None
                    }
                    Some(Ok(M::Pong(_))) => {
                        heard = Instant::now();
                        None
                    }
                    Some(Ok(M::Close(frame))) => match frame {
                        Some(f) if u16::from(f.code) == RETIRED_CODE => break Ended::Retired(RETIRED.into()),
                        Some(f) if u16::from(f.code) == REPLACED_CODE => break Ended::Replaced(REPLACED.into()),
                        _ => break Ended::Lost("the service closed the connection".into()),
                    },
                    Some(Ok(_)) => None,
                    Some(Err(e)) => break Ended::Lost(format!("the connection failed: {e}")),
                    None => break Ended::Lost("the service closed the connection".into()),
                }
            }
            _ = ticks.tick() => {
                if heard.elapsed() > DEAD_AFTER {
                    break Ended::Lost(format!("nothing heard from the service for {} s", DEAD_AFTER.as_secs()));
                }
                Some(tokio_tungstenite::tungstenite::Message::Ping(Vec::new().into()))
            }
        };
        if pending_pong {
            // Pongs are queued by the reader and go out with the next write.
            pending_pong = false;
            if sink.flush().await.is_err() {
                break Ended::Lost("the connection failed while answering a ping".into());
            }
        }
        if let Some(m) = out
            && let Err(e) = sink.send(m).await
        {
            break Ended::Lost(format!("the connection failed: {e}"));
        }
    };
    executor.close_all();
    ended
}
