//! The agents connected to this instance: each one's live link and what
//! stops its loop. The engine opens `agent://AGENT/DATABASE` URLs through
//! them; a link ends when its agent is retired or replaced.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hubsync_agent_protocol::Link;
use hubsync_api::agent_link::{RETIRED, RETIRED_CODE};
use hubsync_core::{ConnectOptions, Connector, ConnectorError, Opener, parse_agent_url};
use tokio::sync::Notify;

/// Why a connection is being stopped from outside its loop: the close
/// code and message the agent gets.
#[derive(Default)]
pub(crate) struct Stop {
    pub(crate) wake: Notify,
    pub(crate) order: Mutex<Option<(u16, &'static str)>>,
}

impl Stop {
    pub(crate) fn stop(&self, code: u16, message: &'static str) {
        *self.order.lock().unwrap_or_else(|p| p.into_inner()) = Some((code, message));
        self.wake.notify_one();
    }
}

/// A live connection and what stops its loop.
pub(crate) type Live = (Arc<Link>, Arc<Stop>);

/// The agent connections of this instance.
#[derive(Default)]
pub struct AgentLinks {
    live: Mutex<HashMap<String, Live>>,
}

impl AgentLinks {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The agents connected to this instance.
    pub fn connected(&self) -> Vec<String> {
        let mut v: Vec<String> = self.lock().keys().cloned().collect();
        v.sort();
        v
    }

    /// The live link of `agent`, if it is connected here.
    pub fn get(&self, agent: &str) -> Option<Arc<Link>> {
        self.lock().get(agent).map(|(l, _)| l.clone())
    }

    /// Disconnect `agent` at once (its key was regenerated, it was removed).
    pub fn retire(&self, agent: &str) {
        if let Some((link, stop)) = self.lock().remove(agent) {
            link.close("the agent was retired");
            stop.stop(RETIRED_CODE, RETIRED);
        }
    }
}

#[async_trait::async_trait]
impl Opener for AgentLinks {
    async fn open(&self, url: &str, options: &ConnectOptions) -> Result<Box<dyn Connector>, ConnectorError> {
        let (agent, db) = parse_agent_url(url)?;
        let Some(link) = self.get(agent) else {
            return Err(ConnectorError::Connect {
                url: url.to_owned(),
                cause: format!(
                    "agent {agent} is not connected to this service; start it next to the database \
                     (`hubsync agent connect --state DIR`) and check `hubsync agent show {agent}`"
                ),
            });
        };
        let remote = link.open(db, options).await.map_err(|e| match e {
            ConnectorError::Connect { cause, .. } => ConnectorError::Connect { url: url.to_owned(), cause },
            other => other,
        })?;
        Ok(Box::new(remote))
    }
}
