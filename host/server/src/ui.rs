//! The dashboard beside the API: the API's router called in process (so
//! every page acts through the same routes, layers and token checks as
//! any client), and the session key every instance shares, kept in the
//! metadata database.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use hubsync_client::{Local, LocalAnswer};
use hubsync_dashboard::SessionKey;
use tower::ServiceExt;

use crate::ServerError;
use crate::state::AppState;

/// The API's router, answering requests without a socket.
struct InProcess(Router);

impl Local for InProcess {
    fn call(&self, request: axum::http::Request<Bytes>) -> LocalAnswer {
        let router = self.0.clone();
        Box::pin(async move {
            let answer = match router.oneshot(request.map(Body::from)).await {
                Ok(a) => a,
                Err(never) => match never {},
            };
            let status = answer.status().as_u16();
            match axum::body::to_bytes(answer.into_body(), usize::MAX).await {
                Ok(body) => (status, body),
                Err(e) => (502, Bytes::from(format!("reading the API's answer failed: {e}"))),
            }
        })
    }
}

/// The key dashboard sessions are signed with: made once (32 random
/// bytes) by the first instance that needs it, shared by all.
pub(crate) async fn session_key(state: &AppState) -> Result<SessionKey, ServerError> {
    use ring::rand::SecureRandom;
    let mut fresh = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut fresh).map_err(|_| ServerError::Random)?;
    let hex: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
    let stored = state.engine.meta().setting_or_insert("dashboard-session-key", &hex).await?;
    Ok(SessionKey::new(stored.as_bytes()))
}

/// The API's router with the dashboard's pages in front of it.
pub(crate) fn with_dashboard(api: Router, key: SessionKey, tls: bool) -> Router {
    let local: Arc<dyn Local> = Arc::new(InProcess(api.clone()));
    hubsync_dashboard::router(local, hubsync_dashboard::Options { key, tls }, api)
}
