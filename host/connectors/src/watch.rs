//! Watching a database for changes (`follow_changes`): what is the same
//! for every engine that is polled. An engine says, in one query, where
//! its tracking tables stand; the watch asks again every period and
//! returns when the answer shows a change that was not the asking group's.
//! PostgreSQL does not poll: its tracking triggers notify.

use std::time::Duration;

use hubsync_core::{ChangeWatch, ConnectorError};

/// One engine's question to a database it polls.
#[async_trait::async_trait]
pub(crate) trait Poll: Send {
    /// Whether a change the watch is for committed since the last call
    /// (the first call, made when the watch opens, only takes its bearings
    /// and its answer is ignored).
    async fn changed(&mut self) -> Result<bool, ConnectorError>;
}

/// A [`ChangeWatch`] that asks a [`Poll`] every `every`.
pub(crate) struct Polling<P> {
    poll: P,
    every: Duration,
}

impl<P: Poll> Polling<P> {
    /// Open the watch: ask once to know where the tables stand now.
    pub(crate) async fn open(mut poll: P, every: Duration) -> Result<Self, ConnectorError> {
        poll.changed().await?;
        Ok(Polling { poll, every })
    }
}

#[async_trait::async_trait]
impl<P: Poll> ChangeWatch for Polling<P> {
    async fn changed(&mut self) -> Result<(), ConnectorError> {
        loop {
            tokio::time::sleep(self.every).await;
            if self.poll.changed().await? {
                return Ok(());
            }
        }
    }

    fn how(&self) -> String {
        format!("polling every {} ms", self.every.as_millis())
    }
}

/// The SQL condition "this tracking entry was not written by `own`'s
/// writers": an application's entry has no origin; another group's has
/// an origin with another prefix. `origin` is the origin column and
/// `param` the placeholder the caller binds `own` to.
pub(crate) fn foreign(origin: &str, param: &str) -> String {
    format!("({origin} IS NULL OR substr({origin}, 1, length({param})) <> {param})")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Script(Vec<bool>);

    #[async_trait::async_trait]
    impl Poll for Script {
        async fn changed(&mut self) -> Result<bool, ConnectorError> {
            Ok(if self.0.is_empty() { false } else { self.0.remove(0) })
        }
    }

    #[tokio::test]
    async fn a_watch_returns_at_the_first_poll_that_saw_a_change_and_ignores_its_bearings() {
        // The opening answer (true) is where the tables stood: not a change.
        let mut w =
            Polling::open(Script(vec![true, false, false, true]), Duration::from_millis(20)).await.expect("opens");
        let start = std::time::Instant::now();
        w.changed().await.expect("changed");
        // Three periods: two quiet answers, then the change.
        assert!(start.elapsed() >= Duration::from_millis(60), "{:?}", start.elapsed());
        assert!(w.poll.0.is_empty());
        assert_eq!(w.how(), "polling every 20 ms");
    }
}
